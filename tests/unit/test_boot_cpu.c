/* Entry state: boot_vcpu_state() register values for both modes, the GDT
 * they refer to (decoded back from guest memory), and the identity map. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "boot/entry_state.h"
#include "boot_fixtures.h"

#define RAM_SIZE (8 * FX_MIB)

/* What KVM_GET_SREGS returns for a fresh vCPU (reset state), roughly. */
static void reset_sregs(struct kvm_sregs *s)
{
	struct kvm_segment seg = { .limit = 0xffff, .type = 3, .present = 1, .s = 1 };

	memset(s, 0, sizeof(*s));
	s->cs = seg;
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	s->cs.type = 0xb;
	s->ds = s->es = s->fs = s->gs = s->ss = seg;
	s->tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	s->gdt.limit = s->idt.limit = 0xffff;
	s->cr0 = 0x60000010;
	s->apic_base = 0xfee00900;
	s->interrupt_bitmap[0] = 0x5a;
}

/* Decodes a GDT descriptor the way the CPU does on a selector load. */
static struct kvm_segment decode(uint64_t d, uint16_t sel)
{
	struct kvm_segment s = { 0 };
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));

	s.base = ((d >> 16) & 0xffffff) | ((d >> 56) << 24);
	s.g = (d >> 55) & 1;
	s.limit = s.g ? limit << 12 | 0xfff : limit;
	s.selector = sel;
	s.type = (d >> 40) & 0xf;
	s.s = (d >> 44) & 1;
	s.dpl = (d >> 45) & 3;
	s.present = (d >> 47) & 1;
	s.avl = (d >> 52) & 1;
	s.l = (d >> 53) & 1;
	s.db = (d >> 54) & 1;
	return s;
}

static void assert_seg_equal(const struct kvm_segment *a, const struct kvm_segment *b)
{
	assert_int_equal(a->base, b->base);
	assert_int_equal(a->limit, b->limit);
	assert_int_equal(a->selector, b->selector);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->present, b->present);
	assert_int_equal(a->dpl, b->dpl);
	assert_int_equal(a->db, b->db);
	assert_int_equal(a->s, b->s);
	assert_int_equal(a->l, b->l);
	assert_int_equal(a->g, b->g);
	assert_int_equal(a->unusable, 0);
}

static void assert_flat_data(const struct kvm_segment *s)
{
	assert_int_equal(s->selector, KFV_BOOT_DS);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffff);
	assert_int_equal(s->type, 3);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->db, 1);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->dpl, 0);
}

/* The segment caches must be what the guest gets by reloading the
 * selectors from the GDT in memory. */
static void assert_matches_gdt(const struct fx_ram *r, const struct kvm_sregs *s)
{
	const uint8_t *gdt = fx_at(r, KFV_GDT_ADDR, 32);
	struct kvm_segment cs = decode(get_le64(gdt + KFV_BOOT_CS), KFV_BOOT_CS);
	struct kvm_segment ds = decode(get_le64(gdt + KFV_BOOT_DS), KFV_BOOT_DS);

	assert_int_equal(get_le64(gdt), 0);
	assert_int_equal(get_le64(gdt + 8), 0);
	assert_seg_equal(&s->cs, &cs);
	assert_seg_equal(&s->ds, &ds);
	assert_seg_equal(&s->es, &ds);
	assert_seg_equal(&s->fs, &ds);
	assert_seg_equal(&s->gs, &ds);
	assert_seg_equal(&s->ss, &ds);
	assert_int_equal(s->gdt.base, KFV_GDT_ADDR);
	assert_int_equal(s->gdt.limit, 31);
}

static void assert_kept(const struct kvm_sregs *s)
{
	assert_int_equal(s->tr.type, 0xb);
	assert_int_equal(s->tr.present, 1);
	assert_int_equal(s->ldt.type, 2);
	assert_int_equal(s->apic_base, 0xfee00900);
	assert_int_equal(s->interrupt_bitmap[0], 0x5a);
}

static void test_pvh_state(void **state)
{
	struct boot_entry e = { .mode = BOOT_ENTRY_PVH32, .rip = 0x100040, .arg = KFV_PVH_INFO_ADDR };
	struct kvm_regs regs;
	struct kvm_sregs s;
	struct fx_ram r;

	(void)state;
	assert_true(fx_ram_init(&r, RAM_SIZE, 0xaa));
	assert_int_equal(boot_write_gdt(&r.gm, e.mode), 0);
	reset_sregs(&s);
	memset(&regs, 0xee, sizeof(regs));
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), 0);

	assert_int_equal(s.cr0, 0x11); /* PE | ET: no paging, caches on */
	assert_int_equal(s.cr3, 0);
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cs.selector, KFV_BOOT_CS);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.db, 1);
	assert_int_equal(s.cs.l, 0);
	assert_int_equal(s.cs.g, 1);
	assert_int_equal(s.cs.base, 0);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_flat_data(&s.ds);
	assert_flat_data(&s.ss);
	assert_matches_gdt(&r, &s);
	assert_kept(&s);

	assert_int_equal(regs.rip, 0x100040);
	assert_int_equal(regs.rbx, KFV_PVH_INFO_ADDR);
	assert_int_equal(regs.rflags, 2);
	assert_int_equal(regs.rsi, 0);
	assert_int_equal(regs.rax, 0);
	assert_int_equal(regs.rsp, 0);
	fx_ram_free(&r);
}

static void test_linux64_state(void **state)
{
	struct boot_entry e = { .mode = BOOT_ENTRY_LINUX64, .rip = 0x1000200,
				.arg = KFV_ZERO_PAGE_ADDR };
	struct kvm_regs regs;
	struct kvm_sregs s;
	struct fx_ram r;

	(void)state;
	assert_true(fx_ram_init(&r, RAM_SIZE, 0xaa));
	assert_int_equal(boot_write_gdt(&r.gm, e.mode), 0);
	reset_sregs(&s);
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), 0);

	assert_int_equal(s.cr0, 0x80000011); /* PG | ET | PE */
	assert_int_equal(s.cr3, KFV_PML4_ADDR);
	assert_int_equal(s.cr4, 0x20);       /* PAE */
	assert_int_equal(s.efer, 0x500);     /* LME | LMA */
	assert_int_equal(s.cs.selector, KFV_BOOT_CS);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.cs.present, 1);
	assert_flat_data(&s.ds);
	assert_flat_data(&s.es);
	assert_matches_gdt(&r, &s);
	assert_kept(&s);

	assert_int_equal(regs.rip, 0x1000200);
	assert_int_equal(regs.rsi, KFV_ZERO_PAGE_ADDR);
	assert_int_equal(regs.rbx, 0);
	assert_int_equal(regs.rflags, 2);
	fx_ram_free(&r);
}

static void test_invalid(void **state)
{
	struct boot_entry e = { .mode = BOOT_ENTRY_PVH32, .rip = 0x100000, .arg = 0x6000 };
	struct kvm_regs regs;
	struct kvm_sregs s;
	struct fx_ram r;

	(void)state;
	reset_sregs(&s);
	assert_int_equal(boot_vcpu_state(NULL, &regs, &s), -EINVAL);
	assert_int_equal(boot_vcpu_state(&e, NULL, &s), -EINVAL);
	assert_int_equal(boot_vcpu_state(&e, &regs, NULL), -EINVAL);
	e.mode = (enum boot_entry_mode)7;
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), -EINVAL);
	e.mode = BOOT_ENTRY_PVH32;
	e.rip = 0x100000000ULL;
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), -EINVAL);
	e.mode = BOOT_ENTRY_LINUX64;
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), -EINVAL);
	e.rip = 0x100000;
	e.arg = 0x100000000ULL;
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), -EINVAL);

	assert_true(fx_ram_init(&r, RAM_SIZE, 0));
	assert_int_equal(boot_write_gdt(&r.gm, (enum boot_entry_mode)7), -EINVAL);
	fx_ram_free(&r);
	/* Guest RAM that ends before the page tables. */
	assert_true(fx_ram_init(&r, 0x9000, 0));
	assert_int_equal(boot_write_page_tables(&r.gm), -EFAULT);
	assert_int_equal(boot_write_gdt(&r.gm, BOOT_ENTRY_PVH32), 0);
	fx_ram_free(&r);
}

/* Walks the tables the way the MMU would for a 2 MiB mapping. */
static uint64_t translate(const struct fx_ram *r, uint64_t va)
{
	uint64_t pml4e = get_le64(fx_at(r, KFV_PML4_ADDR + ((va >> 39) & 511) * 8, 8));
	uint64_t pdpte, pde;

	assert_int_equal(pml4e & 3, 3);
	pdpte = get_le64(fx_at(r, (pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8, 8));
	assert_int_equal(pdpte & 0x83, 3);
	pde = get_le64(fx_at(r, (pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8, 8));
	assert_int_equal(pde & 0x83, 0x83);
	return (pde & ~0x1fffffULL) + (va & 0x1fffff);
}

static void test_page_tables(void **state)
{
	struct fx_ram r;
	const uint8_t *pml4, *pdpt;

	(void)state;
	assert_true(fx_ram_init(&r, RAM_SIZE, 0xaa));
	assert_int_equal(boot_write_page_tables(&r.gm), 0);
	pml4 = fx_at(&r, KFV_PML4_ADDR, 4096);
	pdpt = fx_at(&r, KFV_PDPT_ADDR, 4096);
	for (unsigned i = 1; i < 512; i++)
		assert_int_equal(get_le64(pml4 + i * 8), 0);
	for (unsigned i = 4; i < 512; i++)
		assert_int_equal(get_le64(pdpt + i * 8), 0);
	for (uint64_t va = 0; va < 4 * FX_GIB; va += 0x1fffff + 0x1234)
		assert_int_equal(translate(&r, va), va);
	assert_int_equal(translate(&r, 4 * FX_GIB - 1), 4 * FX_GIB - 1);
	assert_int_equal(translate(&r, KFV_LAPIC_ADDR), KFV_LAPIC_ADDR);
	/* Nothing written past the last PD. */
	assert_int_equal(*fx_at(&r, KFV_PAGE_TABLES_END, 1), 0xaa);
	fx_ram_free(&r);
}

/* boot_load writes the GDT matching the mode it picked. */
static void test_boot_load_gdt_mode(void **state)
{
	struct fx_ram r;
	struct fx_bz_opts bo;
	struct fx_elf_opts eo;
	struct fx_elf elf;
	struct boot_config cfg;
	struct boot_entry e;
	struct boot_error err;
	struct kvm_regs regs;
	struct kvm_sregs s;
	uint8_t *bz;
	size_t bz_size;

	(void)state;
	assert_true(fx_ram_init(&r, 64 * FX_MIB, 0));
	fx_elf_default(&eo);
	fx_elf_build(&elf, &eo);
	cfg = fx_config(elf.img, elf.size);
	assert_int_equal(boot_load(&r.gm, &cfg, &e, &err), 0);
	reset_sregs(&s);
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), 0);
	assert_matches_gdt(&r, &s);
	assert_int_equal(s.cs.db, 1);

	fx_bz_default(&bo);
	bz = fx_bz_build(&bo, &bz_size);
	cfg = fx_config(bz, bz_size);
	assert_int_equal(boot_load(&r.gm, &cfg, &e, &err), 0);
	reset_sregs(&s);
	assert_int_equal(boot_vcpu_state(&e, &regs, &s), 0);
	assert_matches_gdt(&r, &s);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(translate(&r, e.rip), e.rip);
	free(bz);
	free(elf.img);
	fx_ram_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvh_state),
		cmocka_unit_test(test_linux64_state),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_page_tables),
		cmocka_unit_test(test_boot_load_gdt_mode),
	};

	return cmocka_run_group_tests_name("boot_cpu", tests, NULL, NULL);
}
