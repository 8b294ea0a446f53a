/* Interrupt and exception entry stubs.
 *
 * isr_stubs holds 256 stubs, 16 bytes apart (stub N at isr_stubs + 16*N).
 * Each pushes a zero error code where the CPU pushes none, then its vector,
 * and jumps to isr_common, which saves the general registers in the layout
 * of struct trap_frame (idt.h) and calls trap_dispatch(frame). */
#include "image.h"

	.text
	.code64
	.balign 16
	.globl isr_stubs
isr_stubs:
	vector = 0
	.rept 256
	.balign 16
	/* vectors that push an error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX */
	.if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || \
	    (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || \
	    (vector == 29) || (vector == 30)
	.else
	pushq	$0
	.endif
	pushq	$vector
	jmp	isr_common
	vector = vector + 1
	.endr

isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	/* The CPU aligned %rsp to 16 before pushing the 5-word frame; with
	 * 2 + 15 words more it is still aligned, as the ABI wants at a call. */
	movq	%rsp, %rdi
	call	trap_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
