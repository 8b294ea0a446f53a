/* A test-only boot loader shim that lets QEMU run a bzImage through the
 * 32- or 64-bit Linux boot protocol (QEMU itself enters bzImages in real
 * mode). It is a PVH ELF, loaded at 32 MiB, that carries the bzImage
 * (.incbin BZIMAGE) and does what kfv's Linux loader does:
 *
 *   - builds boot_params at 0x7000: zeroed, setup header copied from the
 *     image (0x1f1 up to 0x202 + byte at 0x201), type_of_loader 0xff,
 *     cmd_line_ptr, acpi_rsdp_addr and the e820 table taken from the PVH
 *     hvm_start_info QEMU gives us;
 *   - copies the protected-mode payload ((setup_sects + 1) * 512 bytes
 *     into the file) to code32_start;
 *   - MODE64 undefined: jumps to code32_start in flat 32-bit protected
 *     mode, CS 0x10 / DS 0x18, %esi = boot_params (32-bit protocol);
 *     MODE64 defined: builds an identity map of 0..4 GiB at 0x9000
 *     (PML4, PDPT, 4 PDs as kfv does), enters long mode and jumps to
 *     code32_start + 0x200 with CS 0x10 (64-bit), DS/ES/SS 0x18,
 *     %rsi = boot_params (64-bit protocol);
 *   - either way, like kfv, leaves every other register zero: in 64-bit
 *     mode that includes %rsp, so an image that pushes before taking a
 *     stack of its own faults here as it would under kfv.
 *
 * It checks nothing about the image; tools/check-images.py does that. */
#define ZP            0x7000
#define PML4          0x9000
#define PDPT          0xa000
#define PD            0xb000
#define E820_MAX      128

	.section .note.Xen, "a", @note
	.balign 4
	.long	4, 4, 18
	.asciz	"Xen"
	.long	shim_start
	.long	0, 0, 0

	.text
	.code32
	.globl shim_start
shim_start:
	cli
	cld
	movl	%ebx, %ebp                  /* hvm_start_info */
	lgdt	shim_gdt_ptr
	ljmp	$0x08, $1f
1:	movw	$0x18, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	$shim_stack_top, %esp

	/* boot_params: zero it, copy the setup header in. */
	movl	$ZP, %edi
	movl	$1024, %ecx
	xorl	%eax, %eax
	rep stosl
	movzbl	image + 0x201, %ecx
	addl	$(0x202 - 0x1f1), %ecx
	movl	$(image + 0x1f1), %esi
	movl	$(ZP + 0x1f1), %edi
	rep movsb
	movb	$0xff, ZP + 0x210               /* type_of_loader: undefined */
	movl	24(%ebp), %eax                  /* cmdline_paddr */
	movl	%eax, ZP + 0x228                /* hdr.cmd_line_ptr */
	movl	32(%ebp), %eax                  /* rsdp_paddr */
	movl	%eax, ZP + 0x070
	movl	36(%ebp), %eax
	movl	%eax, ZP + 0x074

	/* e820: hvm_memmap_table_entry {u64 addr, u64 size, u32 type, u32 rsvd}
	 * to boot_e820_entry {u64 addr, u64 size, u32 type}. */
	xorl	%ecx, %ecx
	cmpl	$1, 4(%ebp)                     /* version >= 1 has a memmap */
	jb	3f
	movl	48(%ebp), %ecx
	cmpl	$E820_MAX, %ecx
	jbe	2f
	movl	$E820_MAX, %ecx
2:	movl	40(%ebp), %esi
3:	movb	%cl, ZP + 0x1e8
	movl	$(ZP + 0x2d0), %edi
	testl	%ecx, %ecx
	jz	5f
4:	movsl
	movsl
	movsl
	movsl
	movsl
	addl	$4, %esi
	decl	%ecx
	jnz	4b
5:
	/* Payload: from (setup_sects ? setup_sects : 4) + 1 sectors in. */
	movzbl	image + 0x1f1, %eax
	testl	%eax, %eax
	jnz	6f
	movl	$4, %eax
6:	incl	%eax
	shll	$9, %eax
	leal	image(%eax), %esi
	movl	$image_end, %ecx
	subl	%esi, %ecx
	movl	image + 0x214, %edi             /* code32_start */
	rep movsb

#ifndef MODE64
	/* 32-bit protocol: CS 0x10 must be a flat 32-bit code segment here. */
	/* Like kfv: every register but %esi is zero, no stack. */
	pushl	$0x10
	pushl	image + 0x214
	movl	$ZP, %esi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	lret	/* leaves %esp pointing at the (now unused) shim stack top */
#else
	/* Identity map 0..4 GiB with 2 MiB pages. */
	movl	$PML4, %edi
	movl	$(6 * 1024), %ecx
	xorl	%eax, %eax
	rep stosl
	movl	$(PDPT + 3), PML4
	movl	$(PD + 3), PDPT
	movl	$(PD + 0x1003), PDPT + 8
	movl	$(PD + 0x2003), PDPT + 16
	movl	$(PD + 0x3003), PDPT + 24
	movl	$PD, %edi
	movl	$0x83, %eax
	movl	$2048, %ecx
7:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	decl	%ecx
	jnz	7b
	movl	%cr4, %eax
	orl	$0x20, %eax
	movl	%eax, %cr4
	movl	$PML4, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$0x100, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax
	movl	%eax, %cr0
	lgdt	gdt64_ptr
	ljmp	$0x10, $8f
	.code64
8:	movw	$0x18, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	/* Like kfv: every register but %rsi is zero, no stack. */
	movl	image + 0x214, %eax
	addq	$0x200, %rax
	movq	%rax, %r15
	movl	$ZP, %esi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	xorl	%esp, %esp
	jmp	*%r15
#endif

	.data
	.balign 16
shim_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff      /* 0x08 code32 (the shim) */
	.quad	0x00cf9b000000ffff      /* 0x10 code32 (__BOOT_CS, 32-bit protocol) */
	.quad	0x00cf93000000ffff      /* 0x18 data (__BOOT_DS) */
shim_gdt_ptr:
	.word	4 * 8 - 1
	.long	shim_gdt

	.balign 16
gdt64:
	.quad	0
	.quad	0x00cf9b000000ffff      /* 0x08 code32 */
	.quad	0x00af9b000000ffff      /* 0x10 code64 (__BOOT_CS) */
	.quad	0x00cf93000000ffff      /* 0x18 data (__BOOT_DS) */
gdt64_ptr:
	.word	4 * 8 - 1
	.long	gdt64

	.balign 16
image:
	.incbin	BZIMAGE
image_end:

	.bss
	.balign 16
	.skip	4096
shim_stack_top:

	.section .note.GNU-stack, "", @progbits
