#include "runtime/user_io.h"

#include <stdbool.h>
#include <stdint.h>

#include "runtime/io.h"

#define GP_VECTOR        13
#define OPSIZE_PREFIX    0x66
#define CPL_MASK         3

uint64_t user_io_emulated;

/* One decoded in/out: which port, how wide, which way, how long. */
struct port_insn {
	uint16_t port;
	unsigned width; /* 1, 2 or 4 bytes */
	bool is_out;
	unsigned length;
};

/* Decodes the forms the guests use: in/out with the port in dx or in an
 * imm8, 8/16/32 bits. String forms (ins/outs) are not decoded: nothing in
 * ring 3 uses them, and they would also need the user's buffer checked. */
static bool decode_port_insn(const uint8_t *code, uint64_t rdx, struct port_insn *insn)
{
	unsigned at = 0;
	bool opsize16 = false;

	if (code[at] == OPSIZE_PREFIX) {
		opsize16 = true;
		at++;
	}
	uint8_t op = code[at++];
	bool imm8 = op >= 0xe4 && op <= 0xe7;
	bool via_dx = op >= 0xec && op <= 0xef;

	if (!imm8 && !via_dx)
		return false;
	insn->is_out = (op & 2) != 0;
	insn->width = (op & 1) ? (opsize16 ? 2 : 4) : 1;
	if (!(op & 1) && opsize16)
		return false; /* 0x66 on a byte form: not an encoding compilers emit */
	insn->port = imm8 ? code[at++] : (uint16_t)rdx;
	insn->length = at;
	return true;
}

static void perform(const struct port_insn *insn, struct trap_frame *f)
{
	switch (insn->width) {
	case 1:
		if (insn->is_out)
			outb(insn->port, (uint8_t)f->rax);
		else
			f->rax = (f->rax & ~0xffull) | inb(insn->port);
		break;
	case 2:
		if (insn->is_out)
			outw(insn->port, (uint16_t)f->rax);
		else
			f->rax = (f->rax & ~0xffffull) | inw(insn->port);
		break;
	default:
		if (insn->is_out)
			outl(insn->port, (uint32_t)f->rax);
		else
			f->rax = inl(insn->port); /* a 32-bit write zero-extends */
		break;
	}
}

bool user_io_emulate(struct trap_frame *f)
{
	struct port_insn insn;

	if (f->vector != GP_VECTOR || f->error != 0)
		return false;
	/* The frame's IOPL cannot tell: PVM shows ring 3 IOPL 0 whatever
	 * iretq asked for. Ring 3 is only ever entered by user_run(), which
	 * grants IOPL 3, so a fault from ring 3 is enough. */
	if ((f->cs & CPL_MASK) != 3)
		return false;
	/* The identity map makes every guest address readable here, and rip
	 * points at the instruction that faulted, so its bytes are ours. */
	if (!decode_port_insn((const uint8_t *)(uintptr_t)f->rip, f->rdx, &insn))
		return false;
	perform(&insn, f);
	f->rip += insn.length;
	__atomic_fetch_add(&user_io_emulated, 1, __ATOMIC_RELAXED);
	return true;
}
