/* Constants shared by the guest runtime's C and assembly sources, the
 * linker script's assumptions and the bzImage wrapper: where the image
 * lives, where its entry points sit, the GDT selectors and the low-memory
 * page the AP trampoline is copied to. Keep this file free of C syntax so
 * GNU as can include it through the preprocessor. */
#ifndef GUEST_RUNTIME_IMAGE_H
#define GUEST_RUNTIME_IMAGE_H

/* The image is linked (and must be loaded) at 1 MiB physical. */
#define IMAGE_BASE            0x100000
/* Offsets from IMAGE_BASE fixed by the Linux boot protocol (startup_32 at
 * 0, startup_64 at 0x200) and by our setup header (kernel_info). */
#define STARTUP32_OFFSET      0x000
#define KERNEL_INFO_OFFSET    0x100
#define STARTUP64_OFFSET      0x200

/* How the runtime was entered (value of boot_kind). */
#define BOOT_KIND_PVH         1  /* 32-bit PVH entry, %ebx = hvm_start_info */
#define BOOT_KIND_LINUX32     2  /* Linux 32-bit protocol, %esi = boot_params */
#define BOOT_KIND_LINUX64     3  /* Linux 64-bit protocol, %rsi = boot_params */

/* Our GDT. 0x10/0x18 match the Linux boot protocol's __BOOT_CS/__BOOT_DS. */
#define SEL_CODE32            0x08
#define SEL_CODE64            0x10
#define SEL_DATA              0x18
#define SEL_USER_CODE         0x20  /* used with RPL 3: 0x23 */
#define SEL_USER_DATA         0x28  /* used with RPL 3: 0x2b */
#define SEL_TSS               0x30  /* 16-byte system descriptor */
#define GDT_ENTRIES           8

/* The AP start-up trampoline is copied here; the SIPI vector is its page
 * number. 0x8000-0x8fff is the only low page kfv leaves free below its
 * page tables (0x9000-0xefff). */
#define AP_TRAMPOLINE_ADDR    0x8000
#define AP_TRAMPOLINE_MAX     0x1000

/* Per-CPU limits and stack sizes. 255 CPUs is all xAPIC ids can name
 * (0xff is the broadcast id), and what kfv's tables can describe. */
#define MAX_CPUS              255
#define BOOT_STACK_SIZE       0x4000
#define AP_STACK_SHIFT        12     /* 4 KiB per AP */
#define TRAP_STACK_SIZE       0x2000 /* TSS.rsp0: traps taken from ring 3 */
#define USER_STACK_SIZE       0x4000

/* Architectural bits the entry code needs. */
#define CR0_PE                0x00000001
#define CR0_ET                0x00000010
#define CR0_NE                0x00000020
#define CR0_WP                0x00010000
#define CR0_PG                0x80000000
/* The whole of CR0 in long mode: a loader's (or, on an AP, the reset
 * value's) CD/NW bits are dropped so caching is on. */
#define CR0_LONG_MODE         (CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE)
#define CR4_PAE               0x00000020
#define MSR_EFER              0xc0000080
#define EFER_LME              0x00000100
#define RFLAGS_RESERVED       0x00000002
#define RFLAGS_IOPL3          0x00003000

/* The IDT vector ring-3 code uses to hand control back to ring 0. */
#define USER_RETURN_VECTOR    0x80

#endif
