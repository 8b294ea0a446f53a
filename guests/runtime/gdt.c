/* The GDT is static data because the 32-bit entry code and the AP
 * trampoline load it before any C runs; only the TSS descriptor, which
 * needs the TSS address split into pieces, is filled in at run time. */
#include "runtime/gdt.h"

#include <stddef.h>

#define DESC_CODE32     0x00cf9b000000ffffULL /* base 0, 4 GiB, D=1, present, DPL 0 */
#define DESC_CODE64     0x00af9b000000ffffULL /* L=1 */
#define DESC_DATA       0x00cf93000000ffffULL
#define DESC_USER_CODE  0x00affb000000ffffULL /* L=1, DPL 3 */
#define DESC_USER_DATA  0x00cff3000000ffffULL /* DPL 3 */
#define TSS_TYPE_AVAIL  0x89ULL               /* present, 64-bit TSS (available) */

uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16))) = {
	[SEL_CODE32 / 8] = DESC_CODE32,
	[SEL_CODE64 / 8] = DESC_CODE64,
	[SEL_DATA / 8] = DESC_DATA,
	[SEL_USER_CODE / 8] = DESC_USER_CODE,
	[SEL_USER_DATA / 8] = DESC_USER_DATA,
};

/* lgdt operand. In 32-bit code lgdt reads the limit and the low 4 bytes of
 * the base, in 64-bit code all 8: one layout serves both. */
struct __attribute__((packed)) {
	uint16_t limit;
	uint64_t base;
} gdt_ptr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t trap_stack[TRAP_STACK_SIZE] __attribute__((aligned(16), section(".bss.stack")));

void gdt_init_bsp(void)
{
	uint64_t base = (uintptr_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	tss.rsp[0] = tss_rsp0();
	tss.iomap_base = sizeof(tss); /* no I/O bitmap: ring-3 port access follows IOPL */

	gdt[SEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (TSS_TYPE_AVAIL << 40) |
			   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS) : "memory");
}

uint64_t tss_rsp0(void)
{
	return (uintptr_t)trap_stack + sizeof(trap_stack);
}
