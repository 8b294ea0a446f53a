/* Ring-3 round trip.
 *
 * uint64_t user_enter_asm(uint64_t (*fn)(uint64_t), uint64_t arg,
 *                         uint64_t user_rsp, uint64_t rflags);
 *
 * Saves the callee-saved registers and the ring-0 stack pointer, then
 * iretq's to user_thunk in ring 3 (CS 0x23, SS 0x2b) with the given stack
 * and RFLAGS. user_thunk calls fn(arg) and raises USER_RETURN_VECTOR with
 * the result in %rdi. That gate (DPL 3) lands in user_return_gate on the
 * TSS.rsp0 stack, which drops the trap frame, restores the saved ring-0
 * state and returns the result to user_enter_asm's caller.
 *
 * A hypervisor that runs guest ring 3 as host user code (PVM) does not
 * deliver that int through our IDT: it raises #UD at the int instead.
 * user_return_trap() (user.c) takes a #UD from ring 3 at user_return_int,
 * or at the ud2 after it should the int fall through, as the return.
 *
 * Only one ring-3 excursion can be active at a time, on the BSP. */
#include "image.h"

	.text
	.code64
	.globl user_enter_asm
user_enter_asm:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, user_saved_rsp(%rip)
	pushq	$(SEL_USER_DATA | 3)    /* SS */
	pushq	%rdx                    /* RSP */
	pushq	%rcx                    /* RFLAGS */
	pushq	$(SEL_USER_CODE | 3)    /* CS */
	leaq	user_thunk(%rip), %rax
	pushq	%rax                    /* RIP */
	movq	%rdi, %rax              /* fn */
	movq	%rsi, %rdi              /* arg */
	movl	$(SEL_USER_DATA | 3), %ecx
	movw	%cx, %ds
	movw	%cx, %es
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	iretq

	/* Runs in ring 3. The stack is 16-byte aligned here. */
user_thunk:
	call	*%rax
	movq	%rax, %rdi
	.globl user_return_int
user_return_int:
	int	$USER_RETURN_VECTOR
	.globl user_return_fallback
user_return_fallback:
	ud2

	/* Runs in ring 0 on TSS.rsp0 with interrupts off. */
	.globl user_return_gate
user_return_gate:
	movq	%rdi, %rax
	movl	$SEL_DATA, %ecx
	movw	%cx, %ds
	movw	%cx, %es
	movw	%cx, %ss
	movq	user_saved_rsp(%rip), %rsp
	/* Drop IOPL 3 (and anything else ring 3 set) in ring 0. */
	pushq	$RFLAGS_RESERVED
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

	.section .bss
	.balign 8
user_saved_rsp:
	.quad	0

	.section .note.GNU-stack, "", @progbits
