/* The identity map every CPU runs on: 0..4 GiB in 2 MiB pages, built at
 * link time so no code has to run before paging is on.
 *
 * Every level has U/S set: test guests run workloads in ring 3 and need
 * their code, data and stacks reachable from there (SMEP/SMAP stay off).
 * The 32-bit MMIO hole (0xc0000000..4 GiB: virtio-mmio windows, IOAPIC at
 * 0xfec00000, LAPIC at 0xfee00000) is mapped uncached (PCD|PWT). */
#define PTE_P     0x001
#define PTE_RW    0x002
#define PTE_US    0x004
#define PTE_PWT   0x008
#define PTE_PCD   0x010
#define PTE_PS    0x080
#define TABLE     (PTE_P | PTE_RW | PTE_US)
#define LARGE_WB  (PTE_P | PTE_RW | PTE_US | PTE_PS)
#define LARGE_UC  (LARGE_WB | PTE_PCD | PTE_PWT)
#define HOLE_FIRST_PDE 1536   /* 0xc0000000 >> 21 */

	.section .data.pagetables, "aw"
	.balign 4096
	.globl pml4
pml4:
	.quad	pdpt + TABLE
	.fill	511, 8, 0

	.balign 4096
pdpt:
	.quad	pd + 0x0000 + TABLE
	.quad	pd + 0x1000 + TABLE
	.quad	pd + 0x2000 + TABLE
	.quad	pd + 0x3000 + TABLE
	.fill	508, 8, 0

	.balign 4096
pd:
	pde = 0
	.rept	HOLE_FIRST_PDE
	.quad	(pde << 21) + LARGE_WB
	pde = pde + 1
	.endr
	.rept	2048 - HOLE_FIRST_PDE
	.quad	(pde << 21) + LARGE_UC
	pde = pde + 1
	.endr

	.section .note.GNU-stack, "", @progbits
