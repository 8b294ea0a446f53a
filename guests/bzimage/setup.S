/* Linux bzImage wrapper (Documentation/arch/x86/boot.rst, protocol 2.15)
 * around a guest image.
 *
 * The file is the boot sector and SETUP_SECTS setup sectors (512 bytes
 * each), carrying the setup header at 0x1f1, followed by the protected-mode
 * payload: the guest's loadable bytes, linked at 0x100000, with startup_32
 * at +0 and startup_64 at +0x200 (runtime/head.S). Loaders using the 32- or
 * 64-bit boot protocol never run the 16-bit code; if a BIOS or a real-mode
 * loader does, it halts.
 *
 * Built with, from the make rule:
 *   PAYLOAD_BIN   path of the payload (objcopy -O binary of the ELF)
 *   PAYLOAD_SIZE  its size in bytes
 *   PAYLOAD_END   the ELF's _end (so init_size covers .bss and stacks) */
#include "runtime/image.h"

#define SETUP_SECTS        1
#define BOOT_FLAG          0xaa55
#define PROTOCOL_VERSION   0x020f
#define LOADED_HIGH        0x01
#define XLF_KERNEL_64      0x0001
#define KERNEL_ALIGNMENT   0x100000 /* not relocatable: loaded at IMAGE_BASE */
#define MIN_ALIGNMENT_LG2  20
#define CMDLINE_SIZE       4095
#define INITRD_ADDR_MAX    0x7fffffff
#define INIT_SIZE          (((PAYLOAD_END) - IMAGE_BASE + 0xfff) & ~0xfff)
#define SYSSIZE            (((PAYLOAD_SIZE) + 15) / 16)

	.code16
	.section .text, "ax"
	.globl _start
_start:
	/* Boot sector: if a BIOS runs us, stop. */
	cli
1:	hlt
	jmp	1b

	.org	0x1f1
hdr:
setup_sects:		.byte	SETUP_SECTS
root_flags:		.word	0
syssize:		.long	SYSSIZE
ram_size:		.word	0
vid_mode:		.word	0xffff          /* NORMAL_VGA */
root_dev:		.word	0
boot_flag:		.word	BOOT_FLAG

	/* 0x200: offset 0 of the setup code, entered by real-mode loaders. */
jump:			.byte	0xeb, start_of_setup - 2f
2:
header:			.ascii	"HdrS"
version:		.word	PROTOCOL_VERSION
realmode_swtch:		.long	0
start_sys_seg:		.word	0x1000          /* obsolete */
kernel_version:		.word	version_string - 0x200
type_of_loader:		.byte	0
loadflags:		.byte	LOADED_HIGH
setup_move_size:	.word	0x8000
code32_start:		.long	IMAGE_BASE
ramdisk_image:		.long	0
ramdisk_size:		.long	0
bootsect_kludge:	.long	0
heap_end_ptr:		.word	0
ext_loader_ver:		.byte	0
ext_loader_type:	.byte	0
cmd_line_ptr:		.long	0
initrd_addr_max:	.long	INITRD_ADDR_MAX
kernel_alignment:	.long	KERNEL_ALIGNMENT
relocatable_kernel:	.byte	0
min_alignment:		.byte	MIN_ALIGNMENT_LG2
xloadflags:		.word	XLF_KERNEL_64
cmdline_size:		.long	CMDLINE_SIZE
hardware_subarch:	.long	0
hardware_subarch_data:	.quad	0
payload_offset:		.long	0
payload_length:		.long	0
setup_data:		.quad	0
pref_address:		.quad	IMAGE_BASE
init_size:		.long	INIT_SIZE
handover_offset:	.long	0
kernel_info_offset:	.long	KERNEL_INFO_OFFSET
	.if	. - hdr != 0x26c - 0x1f1
	.error	"setup header layout is off"
	.endif

	/* The jump lands right after the header, so 0x202 + its displacement
	 * (where loaders take the header to end) is exactly 0x26c. */
start_of_setup:
	/* Real-mode entry: this image has no 16-bit setup code. Stop. */
	cli
3:	hlt
	jmp	3b

version_string:
	.asciz	"kfv guest kit"

	.org	(SETUP_SECTS + 1) * 512
payload:
	.incbin	PAYLOAD_BIN
payload_end:
	.if	payload_end - payload != PAYLOAD_SIZE
	.error	"payload size does not match PAYLOAD_SIZE"
	.endif

	.section .note.GNU-stack, "", @progbits
