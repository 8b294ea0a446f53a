/* AP start-up.
 *
 * ap_trampoline..ap_trampoline_end is copied to AP_TRAMPOLINE_ADDR and an
 * AP's SIPI vector points at it: the AP starts in real mode at CS:IP =
 * (AP_TRAMPOLINE_ADDR >> 4):0, loads our GDT, enters protected mode, turns
 * on PAE paging with the shared identity map and long mode, and jumps to
 * ap_entry64 in the image proper. Only the real-mode part needs to be
 * position-independent; everything after the first far jump uses absolute
 * addresses the linker resolved.
 *
 * ap_entry64 claims a stack slot with an atomic increment (APs may arrive
 * in any order and at the same time) and calls ap_main(slot). */
#include "image.h"

#define TRAMP(sym) (AP_TRAMPOLINE_ADDR + (sym) - ap_trampoline)

	.section .rodata.trampoline, "a"
	.balign 16
	.globl ap_trampoline, ap_trampoline_end

	.code16
ap_trampoline:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	tramp_gdt_ptr - ap_trampoline
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $TRAMP(tramp_pm32)

	.code32
tramp_pm32:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	movl	$EFER_LME, %eax
	xorl	%edx, %edx
	wrmsr
	movl	$CR0_LONG_MODE, %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $ap_entry64

	.balign 8
tramp_gdt_ptr:
	.word	GDT_ENTRIES * 8 - 1
	.long	gdt
ap_trampoline_end:

	.text
	.code64
ap_entry64:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	movl	$1, %eax
	lock xaddl %eax, ap_next_slot(%rip)
	cmpl	$MAX_CPUS, %eax
	jae	ap_park
	movl	%eax, %edi              /* ap_main(slot) */
	leal	1(%rax), %eax
	shlq	$AP_STACK_SHIFT, %rax
	leaq	ap_stacks(%rip), %rsp
	addq	%rax, %rsp
	xorl	%ebp, %ebp
	call	ap_main
ap_park:
	cli
	hlt
	jmp	ap_park

	.section .bss
	.balign 4
	.globl ap_next_slot
ap_next_slot:
	.long	0

	.section .bss.stack, "aw", @nobits
	.balign 4096
ap_stacks:
	.skip	MAX_CPUS << AP_STACK_SHIFT

	.section .note.GNU-stack, "", @progbits
