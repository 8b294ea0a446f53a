/* Entry points of every guest image.
 *
 * The image is linked at IMAGE_BASE (1 MiB) and .head.text comes first, so
 * the offsets below are offsets into the bzImage protected-mode payload:
 *
 *   +0x000 startup_32  Linux 32-bit boot protocol (flat protected mode,
 *                      paging off, %esi = boot_params)
 *   +0x100 kernel_info Linux boot protocol 2.15 kernel_info ("LToP")
 *   +0x200 startup_64  Linux 64-bit boot protocol (long mode, identity
 *                      map, %rsi = boot_params)
 *   pvh_start          PVH (ELF note XEN_ELFNOTE_PHYS32_ENTRY): flat
 *                      protected mode, paging off, %ebx = hvm_start_info
 *
 * Every path records how it was entered (boot_kind, boot_arg), switches to
 * our own GDT and page tables, clears .bss, takes the boot stack and calls
 * runtime_start(). Nothing here touches memory below 1 MiB. */
#include "image.h"

	.section .head.text, "ax"

	.code32
	.globl startup_32
startup_32:
	cli
	cld
	movl	%esi, boot_arg
	movl	$BOOT_KIND_LINUX32, boot_kind
	jmp	enter_long_mode

	.org	KERNEL_INFO_OFFSET, 0xcc
	.globl kernel_info
kernel_info:
	.ascii	"LToP"                      /* header */
	.long	kernel_info_var - kernel_info /* size of the fixed part */
	.long	kernel_info_end - kernel_info /* size including variable data */
	.long	0                           /* setup_type_max: we read no setup_data */
kernel_info_var:
kernel_info_end:

	.org	STARTUP64_OFFSET, 0xcc
	.code64
	.globl startup_64
startup_64:
	cli
	cld
	/* The boot protocol promises no stack (kfv enters with %rsp = 0):
	 * take ours before the far return below pushes anything. */
	leaq	boot_stack_top(%rip), %rsp
	movq	%rsi, boot_arg(%rip)
	movl	$BOOT_KIND_LINUX64, boot_kind(%rip)
	lgdt	gdt_ptr(%rip)
	movl	$pml4, %eax
	movq	%rax, %cr3
	/* Reload CS from our GDT with a far return. */
	pushq	$SEL_CODE64
	leaq	long_mode_entry(%rip), %rax
	pushq	%rax
	lretq

	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	movl	%ebx, boot_arg
	movl	$BOOT_KIND_PVH, boot_kind
	/* fall through */

/* Flat 32-bit protected mode, paging off: enable PAE paging with our
 * identity map and long mode, then far-jump to 64-bit code. EFER and CR0
 * are written whole rather than read and modified: nothing a loader left
 * in them is wanted, and it saves an MSR read exit. */
enter_long_mode:
	lgdt	gdt_ptr
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
	ljmp	$SEL_CODE64, $long_mode_entry

	.code64
long_mode_entry:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%eax, %eax
	movw	%ax, %fs
	movw	%ax, %gs
	/* .bss is not part of a bzImage payload and loaders need not clear
	 * it: do it here, before anything in C runs. The stacks live in
	 * .bss.stack, which the linker script keeps out of .bss: they are
	 * large and need no zeroes. */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	shrl	$3, %ecx
	xorl	%eax, %eax
	rep stosq
	movl	$boot_stack_top, %esp
	xorl	%ebp, %ebp
	call	runtime_start
1:	cli
	hlt
	jmp	1b

	.section .data
	.balign 8
	.globl boot_arg, boot_kind
boot_arg:
	.quad	0
boot_kind:
	.long	0

	.section .bss.stack, "aw", @nobits
	.balign 16
boot_stack:
	.skip	BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
