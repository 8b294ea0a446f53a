#!/usr/bin/env python3
"""Host-side checks of the guest images the kit builds.

  --elf FILE          an ELF64 guest: x86-64 executable, loaded at 1 MiB,
                      with a PVH note (name "Xen", type 18) whose entry lies
                      in an executable segment and equals e_entry, and with
                      startup_32/kernel_info/startup_64 at +0/+0x100/+0x200.
  --bzimage BZ:ELF    a Linux bzImage built from ELF: the setup header
                      fields of boot protocol 2.15 (Documentation/arch/x86/
                      boot.rst) and a payload equal to ELF's loadable bytes.

Prints one line per image; exits 1 if anything is wrong.
"""
import argparse
import struct
import sys

IMAGE_BASE = 0x100000
XEN_ELFNOTE_PHYS32_ENTRY = 18
PT_LOAD, PT_NOTE = 1, 4
PF_X = 1
EM_X86_64 = 62
LOADED_HIGH = 0x01
XLF_KERNEL_64 = 0x0001
XLF_CAN_BE_LOADED_ABOVE_4G = 0x0002
KFV_CMDLINE_MAX = 4096  # kfv's command-line area, NUL included


class Elf:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise ValueError("not a little-endian ELF64 file")
        (self.type, self.machine, _, self.entry, phoff, shoff, _, _, phentsize, phnum,
         shentsize, shnum, shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", d, 16)
        self.phdrs = []
        for i in range(phnum):
            self.phdrs.append(struct.unpack_from("<IIQQQQQQ", d, phoff + i * phentsize))
        self.sections = []
        for i in range(shnum):
            self.sections.append(struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize))
        self.symbols = self._symbols()

    def _symbols(self):
        syms = {}
        for (_, stype, _, _, off, size, link, _, _, entsize) in self.sections:
            if stype != 2 or entsize == 0:  # SHT_SYMTAB
                continue
            stroff = self.sections[link][4]
            for i in range(size // entsize):
                name, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", self.data, off + i * entsize)
                end = self.data.index(b"\0", stroff + name)
                syms[self.data[stroff + name:end].decode()] = value
        return syms

    def loads(self):
        return [p for p in self.phdrs if p[0] == PT_LOAD]

    def notes(self):
        for (ptype, _, off, _, _, filesz, _, align) in self.phdrs:
            if ptype != PT_NOTE:
                continue
            align = max(align, 4)
            pos, end = off, off + filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", self.data, pos)
                name_off = pos + 12
                desc_off = name_off + ((namesz + align - 1) & ~(align - 1))
                next_pos = desc_off + ((descsz + align - 1) & ~(align - 1))
                if next_pos > end:
                    raise ValueError("note overruns its PT_NOTE segment")
                name = self.data[name_off:name_off + namesz].rstrip(b"\0")
                yield name, ntype, desc_off, descsz
                pos = next_pos

    def image_bytes(self):
        """The loadable bytes from IMAGE_BASE to the end of the last file-backed part."""
        loads = [p for p in self.loads() if p[5]]
        end = max(p[4] + p[5] for p in loads)
        img = bytearray(end - IMAGE_BASE)
        for (_, _, off, _, paddr, filesz, _, _) in loads:
            img[paddr - IMAGE_BASE:paddr - IMAGE_BASE + filesz] = self.data[off:off + filesz]
        return bytes(img)


def check_elf(path, errors):
    def fail(msg):
        errors.append(f"{path}: {msg}")

    elf = Elf(path)
    if elf.machine != EM_X86_64 or elf.type != 2:
        fail(f"want an x86-64 ET_EXEC, got machine {elf.machine} type {elf.type}")
    loads = elf.loads()
    if not loads:
        fail("no PT_LOAD segments")
        return
    low = min(p[4] for p in loads)
    if low != IMAGE_BASE:
        fail(f"lowest load address 0x{low:x}, want 0x{IMAGE_BASE:x}")
    spans = sorted((p[4], p[4] + p[6]) for p in loads)
    for (a0, a1), (b0, _) in zip(spans, spans[1:]):
        if b0 < a1:
            fail("PT_LOAD segments overlap")
    for p in loads:
        if p[5] > p[6]:
            fail("a PT_LOAD segment has filesz > memsz")
        if p[4] + p[6] > 0x100000000:
            fail("a PT_LOAD segment ends above 4 GiB")

    pvh = [n for n in elf.notes() if n[0] == b"Xen" and n[1] == XEN_ELFNOTE_PHYS32_ENTRY]
    if len(pvh) != 1:
        fail(f"want exactly one Xen PHYS32_ENTRY note, found {len(pvh)}")
        return
    _, _, desc_off, descsz = pvh[0]
    if descsz not in (4, 8):
        fail(f"PVH note descsz {descsz}, want 4 (or 8)")
        return
    entry = struct.unpack_from("<I", elf.data, desc_off)[0]
    # Loaders that read the description as 64 bits must see the same value.
    entry64 = struct.unpack_from("<Q", elf.data, desc_off)[0]
    if entry64 != entry:
        fail("the 4 bytes after the PVH entry are not zero (an 8-byte read differs)")
    if not any(p[1] & PF_X and p[4] <= entry < p[4] + p[5] for p in loads):
        fail(f"PVH entry 0x{entry:x} is not in an executable, file-backed segment")
    if elf.entry != entry:
        fail(f"e_entry 0x{elf.entry:x} differs from the PVH entry 0x{entry:x}")
    for sym, off in (("startup_32", 0), ("kernel_info", 0x100), ("startup_64", 0x200)):
        if elf.symbols.get(sym) != IMAGE_BASE + off:
            fail(f"{sym} is not at 0x{IMAGE_BASE + off:x}")
    if "pvh_start" in elf.symbols and elf.symbols["pvh_start"] != entry:
        fail("the PVH note does not point at pvh_start")
    if not any(e.startswith(path) for e in errors):
        print(f"check-images: {path}: ok (PVH entry 0x{entry:x}, {len(loads)} load segments)")


def check_bzimage(path, elf_path, errors):
    def fail(msg):
        errors.append(f"{path}: {msg}")

    with open(path, "rb") as f:
        img = f.read()
    if len(img) < 0x400:
        fail("too short for a boot sector and a setup header")
        return

    def u8(o): return img[o]
    def u16(o): return struct.unpack_from("<H", img, o)[0]
    def u32(o): return struct.unpack_from("<I", img, o)[0]
    def u64(o): return struct.unpack_from("<Q", img, o)[0]

    setup_sects = u8(0x1f1) or 4
    setup_size = (setup_sects + 1) * 512
    payload = img[setup_size:]
    hdr_end = 0x202 + u8(0x201)
    expect = {
        "boot_flag (0x1fe)": (u16(0x1fe), 0xAA55),
        "jump opcode (0x200)": (u8(0x200), 0xEB),
        "header (0x202)": (img[0x202:0x206], b"HdrS"),
        "version (0x206)": (u16(0x206), 0x020F),
        "code32_start (0x214)": (u32(0x214), IMAGE_BASE),
        "relocatable_kernel (0x234)": (u8(0x234), 0),
        "pref_address (0x258)": (u64(0x258), IMAGE_BASE),
        "initrd_addr_max (0x22c)": (u32(0x22c), 0x7FFFFFFF),
        "cmd_line_ptr (0x228, filled by the loader)": (u32(0x228), 0),
        "ramdisk_image (0x218)": (u32(0x218), 0),
        "ramdisk_size (0x21c)": (u32(0x21c), 0),
        "setup_data (0x250)": (u64(0x250), 0),
        "handover_offset (0x264)": (u32(0x264), 0),
    }
    def show(v): return f"0x{v:x}" if isinstance(v, int) else repr(v)
    for name, (got, want) in expect.items():
        if got != want:
            fail(f"{name} is {show(got)}, want {show(want)}")
    if u8(0x1f1) == 0:
        fail("setup_sects is 0 (legacy meaning 4); set it explicitly")
    if len(img) <= setup_size:
        fail("no payload after the setup sectors")
        return
    # 0x202 + the jump's displacement is where loaders take the header to
    # end: past the 2.15 fields (0x26c), short of boot_params' EDD buffer (0x290).
    if not (0x26C <= hdr_end <= min(0x290, setup_size)):
        fail(f"jump target 0x{hdr_end:x} must lie in 0x26c..0x290 (end of the setup header)")
    if not u8(0x211) & LOADED_HIGH:
        fail("loadflags lacks LOADED_HIGH")
    xlf = u16(0x236)
    if not xlf & XLF_KERNEL_64:
        fail("xloadflags lacks XLF_KERNEL_64")
    if xlf & XLF_CAN_BE_LOADED_ABOVE_4G:
        fail("xloadflags claims XLF_CAN_BE_LOADED_ABOVE_4G but the image is not relocatable")
    align = u32(0x230)
    if align == 0 or align & (align - 1) or IMAGE_BASE % align:
        fail(f"kernel_alignment 0x{align:x} is not a power of two dividing 0x{IMAGE_BASE:x}")
    if align and (1 << u8(0x235)) > align:
        fail(f"min_alignment 2^{u8(0x235)} exceeds kernel_alignment 0x{align:x}")
    cmdline_size = u32(0x238)
    if not 0 < cmdline_size < KFV_CMDLINE_MAX:
        fail(f"cmdline_size {cmdline_size} outside 1..{KFV_CMDLINE_MAX - 1}")
    syssize = u32(0x1f4)
    if not syssize * 16 - 16 < len(payload) <= syssize * 16:
        fail(f"syssize {syssize} paragraphs does not match a {len(payload)}-byte payload")
    init_size = u32(0x260)
    if init_size < len(payload) or init_size % 4096:
        fail(f"init_size 0x{init_size:x} is smaller than the payload or not page-sized")
    kver = 0x200 + u16(0x20e)
    if not kver < setup_size or b"\0" not in img[kver:setup_size]:
        fail("kernel_version does not point at a string in the setup area")
    ki = u32(0x268)
    if ki + 16 > len(payload) or payload[ki:ki + 4] != b"LToP":
        fail(f"kernel_info_offset 0x{ki:x} does not point at \"LToP\" in the payload")
    else:
        size, size_total = struct.unpack_from("<II", payload, ki + 4)
        if size < 16 or size_total < size:
            fail(f"kernel_info sizes {size}/{size_total} are inconsistent")

    elf = Elf(elf_path)
    if payload != elf.image_bytes():
        fail(f"payload differs from the loadable bytes of {elf_path}")
    end = elf.symbols.get("_end")
    if end is None or init_size < end - IMAGE_BASE:
        fail(f"init_size 0x{init_size:x} does not cover {elf_path} up to _end")
    if not any(e.startswith(path) for e in errors):
        print(f"check-images: {path}: ok (protocol 2.15, setup_sects {setup_sects}, payload "
              f"{len(payload)} bytes, init_size 0x{init_size:x}, 64-bit entry 0x{IMAGE_BASE + 0x200:x})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--elf", action="append", default=[], metavar="FILE")
    ap.add_argument("--bzimage", action="append", default=[], metavar="BZ:ELF")
    args = ap.parse_args()
    errors = []
    for path in args.elf:
        try:
            check_elf(path, errors)
        except (OSError, ValueError, struct.error) as e:
            errors.append(f"{path}: {e}")
    for spec in args.bzimage:
        bz, _, elf = spec.partition(":")
        try:
            check_bzimage(bz, elf, errors)
        except (OSError, ValueError, struct.error) as e:
            errors.append(f"{bz}: {e}")
    for e in errors:
        print(f"check-images: FAIL {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
