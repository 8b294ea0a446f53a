/* The state the BSP starts in: the boot GDT and identity page tables in
 * guest memory, and the register values that match them. The segment
 * caches loaded into KVM are decoded from the very descriptors written to
 * the GDT, so a guest that reloads a selector gets what it already had. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "entry_state.h"
#include "layout.h"

#define X86_CR0_PE   (1ULL << 0)
#define X86_CR0_ET   (1ULL << 4)
#define X86_CR0_PG   (1ULL << 31)
#define X86_CR4_PAE  (1ULL << 5)
#define EFER_LME     (1ULL << 8)
#define EFER_LMA     (1ULL << 10)
#define RFLAGS_FIXED 0x2ULL /* bit 1 always reads as 1 */

#define PTE_PRESENT  (1ULL << 0)
#define PTE_WRITE    (1ULL << 1)
#define PTE_HUGE     (1ULL << 7)

#define GDT_ENTRIES  4

/* Descriptor flag words, as in Linux's GDT_ENTRY(): G, D/B, L, then P, DPL,
 * S and type. Types carry the accessed bit so the CPU never writes back. */
#define DESC_CODE32  0xc09bULL /* G, D=1,  P, S, execute/read, accessed */
#define DESC_CODE64  0xa09bULL /* G, L=1,  P, S, execute/read, accessed */
#define DESC_DATA    0xc093ULL /* G, B=1,  P, S, read/write, accessed */

_Static_assert(KFV_GDT_ADDR + GDT_ENTRIES * 8 <= KFV_PVH_INFO_ADDR, "GDT overlaps start info");
_Static_assert(KFV_BOOT_DS / 8 < GDT_ENTRIES && KFV_BOOT_CS / 8 < GDT_ENTRIES, "selectors");
_Static_assert(KFV_PD_ADDR + 4 * BOOT_PAGE_SIZE == KFV_PAGE_TABLES_END, "four PDs for 4 GiB");

static uint64_t gdt_entry(uint64_t flags, uint64_t base, uint64_t limit)
{
	return ((base & 0xff000000ULL) << 32) | ((base & 0x00ffffffULL) << 16) |
	       (limit & 0xffffULL) | ((limit & 0xf0000ULL) << 32) | ((flags & 0xf0ffULL) << 40);
}

static uint64_t code_desc(enum boot_entry_mode mode)
{
	return gdt_entry(mode == BOOT_ENTRY_LINUX64 ? DESC_CODE64 : DESC_CODE32, 0, 0xfffff);
}

static uint64_t data_desc(void)
{
	return gdt_entry(DESC_DATA, 0, 0xfffff);
}

static void segment_from_desc(struct kvm_segment *s, uint64_t d, uint16_t selector)
{
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));

	memset(s, 0, sizeof(*s));
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->selector = selector;
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
}

int boot_write_gdt(const struct guest_mem *gm, enum boot_entry_mode mode)
{
	uint64_t gdt[GDT_ENTRIES] = { 0 };

	if (mode != BOOT_ENTRY_PVH32 && mode != BOOT_ENTRY_LINUX64)
		return -EINVAL;
	gdt[KFV_BOOT_CS / 8] = code_desc(mode);
	gdt[KFV_BOOT_DS / 8] = data_desc();
	return gm_write(gm, KFV_GDT_ADDR, gdt, sizeof(gdt));
}

int boot_write_page_tables(const struct guest_mem *gm)
{
	uint64_t table[512];
	int ret;

	memset(table, 0, sizeof(table));
	table[0] = KFV_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	ret = gm_write(gm, KFV_PML4_ADDR, table, sizeof(table));
	if (ret)
		return ret;

	memset(table, 0, sizeof(table));
	for (uint64_t i = 0; i < 4; i++)
		table[i] = (KFV_PD_ADDR + i * BOOT_PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	ret = gm_write(gm, KFV_PDPT_ADDR, table, sizeof(table));
	if (ret)
		return ret;

	/* PD i maps GiB i with 2 MiB pages. The MMIO hole is mapped too: a
	 * kernel may touch the APICs before it builds its own tables. */
	for (uint64_t i = 0; i < 4; i++) {
		for (uint64_t j = 0; j < 512; j++)
			table[j] = ((i << 30) + (j << 21)) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
		ret = gm_write(gm, KFV_PD_ADDR + i * BOOT_PAGE_SIZE, table, sizeof(table));
		if (ret)
			return ret;
	}
	return 0;
}

int boot_vcpu_state(const struct boot_entry *e, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	struct kvm_segment data;

	if (!e || !regs || !sregs)
		return -EINVAL;
	if (e->mode != BOOT_ENTRY_PVH32 && e->mode != BOOT_ENTRY_LINUX64)
		return -EINVAL;
	/* PVH starts with paging off and Linux with our 4 GiB identity map:
	 * either way nothing above 4 GiB is reachable at entry. */
	if (e->rip > UINT32_MAX || e->arg > UINT32_MAX)
		return -EINVAL;

	segment_from_desc(&sregs->cs, code_desc(e->mode), KFV_BOOT_CS);
	segment_from_desc(&data, data_desc(), KFV_BOOT_DS);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->gdt.base = KFV_GDT_ADDR;
	sregs->gdt.limit = GDT_ENTRIES * 8 - 1;
	/* No IDT yet: an exception before the guest installs one is a clean
	 * triple fault instead of a jump through real-mode vectors. */
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr2 = 0;

	memset(regs, 0, sizeof(*regs));
	regs->rflags = RFLAGS_FIXED; /* interrupts off */
	regs->rip = e->rip;

	if (e->mode == BOOT_ENTRY_PVH32) {
		/* Clearing CD/NW from the reset value too: caches on. */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
		regs->rbx = e->arg;
	} else {
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs->cr3 = KFV_PML4_ADDR;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer = EFER_LME | EFER_LMA;
		regs->rsi = e->arg;
	}
	return 0;
}
