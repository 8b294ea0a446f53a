/* The state the boot vCPU starts in, and the GDT and page tables in guest
 * memory that this state refers to. boot_load() writes the GDT and page
 * tables; the core then calls boot_vcpu_state() for the BSP. */
#ifndef KFV_BOOT_ENTRY_STATE_H
#define KFV_BOOT_ENTRY_STATE_H

#include <linux/kvm.h>

#include "boot.h"

/* Writes the boot GDT at KFV_GDT_ADDR: null, null, KFV_BOOT_CS (32-bit flat
 * code for PVH, 64-bit code for Linux), KFV_BOOT_DS (flat data, base 0,
 * limit 4 GiB). boot_load() already calls it for the entry mode it chose;
 * exported for a core that resets a guest. 0, -EINVAL or -EFAULT. */
int boot_write_gdt(const struct guest_mem *gm, enum boot_entry_mode mode)
	__attribute__((warn_unused_result));

/* Writes identity page tables at KFV_PML4_ADDR covering [0, 4 GiB) with
 * 2 MiB pages: one PML4, one PDPT, four PDs ending at KFV_PAGE_TABLES_END.
 * boot_load() already calls it. 0 or -EFAULT. */
int boot_write_page_tables(const struct guest_mem *gm) __attribute__((warn_unused_result));

/* Pure function: fills the BSP's registers for `e` on top of sregs that
 * KVM_GET_SREGS returned (TR, LDT, APIC base and the interrupt bitmap are
 * kept). regs is overwritten entirely. The segment caches equal the
 * descriptors boot_write_gdt() writes.
 *   PVH32:   CR0 = PE|ET, no paging, CS 0x10 32-bit flat, DS/ES/FS/GS/SS
 *            0x18, %ebx = start info, EFLAGS = 2.
 *   LINUX64: CR0 = PE|ET|PG, CR4 = PAE, EFER = LME|LMA, CR3 = KFV_PML4_ADDR,
 *            CS 0x10 64-bit, data 0x18, %rsi = boot_params, EFLAGS = 2.
 * 0, or -EINVAL for a NULL pointer, an unknown mode, or an entry point or
 * argument at or above 4 GiB (neither mode can reach it). */
int boot_vcpu_state(const struct boot_entry *e, struct kvm_regs *regs, struct kvm_sregs *sregs)
	__attribute__((warn_unused_result));

#endif
