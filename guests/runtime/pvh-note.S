/* The PVH entry note: name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY (18),
 * description = the 32-bit physical address of pvh_start. The linker
 * script puts .note.Xen in a PT_NOTE segment.
 *
 * The description is 4 bytes as the Xen ABI says. Some loaders (QEMU)
 * read 8, so an empty note (all zero) follows: the 4 bytes after the
 * address are then zero and the note list stays well-formed. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long	2f - 1f            /* namesz */
	.long	4f - 3f            /* descsz */
	.long	XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz	"Xen"
2:	.balign 4
3:	.long	pvh_start
4:	.balign 4
	/* empty note: namesz 0, descsz 0, type 0 */
	.long	0, 0, 0

	.section .note.GNU-stack, "", @progbits
