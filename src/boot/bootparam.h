/* Byte offsets of the Linux/x86 boot protocol structures we read and write
 * (Documentation/arch/x86/boot.rst, arch/x86/include/uapi/asm/bootparam.h).
 * The loader works on offsets rather than a packed struct because the image
 * is untrusted and unaligned: every access goes through the get_le and
 * put_le helpers of bytes.h. */
#ifndef KFV_BOOT_BOOTPARAM_H
#define KFV_BOOT_BOOTPARAM_H

/* Setup header fields: offsets in the bzImage file and in boot_params alike. */
#define BP_HDR_START          0x1f1
#define BP_SETUP_SECTS        0x1f1 /* u8, 0 means 4 */
#define BP_SYSSIZE            0x1f4 /* u32, protected-mode code in 16-byte units */
#define BP_BOOT_FLAG          0x1fe /* u16, 0xaa55 */
#define BP_JUMP               0x200 /* u16; byte 0x201 + 0x202 = end of the header */
#define BP_HEADER             0x202 /* "HdrS" */
#define BP_VERSION            0x206 /* u16, 0x020c = 2.12 */
#define BP_TYPE_OF_LOADER     0x210 /* u8 */
#define BP_LOADFLAGS          0x211 /* u8 */
#define BP_RAMDISK_IMAGE      0x218 /* u32 */
#define BP_RAMDISK_SIZE       0x21c /* u32 */
#define BP_HEAP_END_PTR       0x224 /* u16 */
#define BP_CMD_LINE_PTR       0x228 /* u32 */
#define BP_INITRD_ADDR_MAX    0x22c /* u32, highest byte address the initrd may use */
#define BP_KERNEL_ALIGNMENT   0x230 /* u32 */
#define BP_RELOCATABLE        0x234 /* u8 */
#define BP_XLOADFLAGS         0x236 /* u16 */
#define BP_CMDLINE_SIZE       0x238 /* u32, without the NUL */
#define BP_SETUP_DATA         0x250 /* u64, list of setup_data; we pass none */
#define BP_PREF_ADDRESS       0x258 /* u64 */
#define BP_INIT_SIZE          0x260 /* u32 */
#define BP_HDR_MIN_END        0x264 /* a 2.12 header reaches at least past init_size */

/* boot_params fields outside the setup header. */
#define BP_ACPI_RSDP_ADDR     0x070 /* u64 */
#define BP_EXT_RAMDISK_IMAGE  0x0c0 /* u32 */
#define BP_EXT_RAMDISK_SIZE   0x0c4 /* u32 */
#define BP_EXT_CMD_LINE_PTR   0x0c8 /* u32 */
#define BP_E820_ENTRIES       0x1e8 /* u8 */
#define BP_HDR_MAX_END        0x290 /* edd_mbr_sig_buffer: the header may not reach it */
#define BP_E820_TABLE         0x2d0 /* 128 x {u64 addr, u64 size, u32 type} */
#define BP_E820_ENTRY_SIZE    20
#define BP_E820_MAX           128
#define BP_SIZE               0x1000

#define BP_BOOT_FLAG_MAGIC    0xaa55
#define BP_MIN_VERSION        0x020c

/* loadflags */
#define BP_LOADED_HIGH        0x01
#define BP_CAN_USE_HEAP       0x80
/* xloadflags */
#define BP_XLF_KERNEL_64      0x0001

/* The 64-bit entry point is 0x200 bytes into the protected-mode kernel. */
#define BP_ENTRY64_OFFSET     0x200
/* End of the setup heap, relative to the real-mode code (the value other
 * loaders use); meaningless for a 64-bit entry but part of the contract. */
#define BP_HEAP_END           0xfe00
#define BP_LOADER_UNDEFINED   0xff

#endif
