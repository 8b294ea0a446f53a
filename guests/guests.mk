# Freestanding test guests (see docs/guest-kit.md). Included by the
# top-level Makefile, which defines BUILD and Q. Everything here is
# prefixed GUEST_ / guests- so it cannot collide with the VMM's build.
#
#   make guests         build/guests/{hello,fault,exitloop,selftest}.elf, hello.bzimage
#   make guests-check   validate the images' PVH notes and bzImage header
#   make guests-qemu    boot the guests under QEMU (TCG) and check their output

GUEST_CC      ?= gcc
GUEST_OBJCOPY ?= objcopy
GUEST_NM      ?= nm
GUEST_PYTHON  ?= python3
GUEST_QEMU    ?= qemu-system-x86_64

GUEST_OUT := $(BUILD)/guests
GUEST_OBJ := $(GUEST_OUT)/obj
GUEST_LDS := guests/runtime/link.ld
# Every folder under guests/ is one guest, except the shared ones.
GUEST_NAMES := $(filter-out runtime bzimage tools,$(notdir $(patsubst %/,%,$(sort $(dir $(wildcard guests/*/*.c guests/*/*.S))))))
GUEST_BZIMAGES := hello

# -nostdinc keeps host libc headers out; the compiler's own freestanding
# headers (stdint.h, stdarg.h, ...) stay available. The loop-pattern pass
# is off so memcpy/memset are never compiled into calls to themselves.
GUEST_ARCH_FLAGS = -m64 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mno-sse -mno-mmx \
	-mno-80387 -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fcf-protection=none -fno-tree-loop-distribute-patterns
GUEST_CPPFLAGS = -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) -Iguests -MMD -MP
GUEST_CFLAGS = -std=gnu11 -O2 -g $(GUEST_ARCH_FLAGS) -Wall -Wextra -Werror -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla $(GUEST_CPPFLAGS)
GUEST_ASFLAGS = -m64 -g -Wa,--fatal-warnings $(GUEST_CPPFLAGS)
GUEST_LDFLAGS = -nostdlib -static -no-pie -Wl,-T,$(GUEST_LDS) -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--fatal-warnings

GUEST_RT_SRCS := $(sort $(wildcard guests/runtime/*.c guests/runtime/*.S))
GUEST_RT_OBJS := $(GUEST_RT_SRCS:guests/%=$(GUEST_OBJ)/%.o)

GUEST_IMAGES := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf) $(GUEST_BZIMAGES:%=$(GUEST_OUT)/%.bzimage)

.PHONY: guests guests-check guests-qemu
.SECONDARY: $(GUEST_BZIMAGES:%=$(GUEST_OUT)/%.bin) \
	$(GUEST_BZIMAGES:%=$(GUEST_OUT)/test/%-bzshim32.o) $(GUEST_BZIMAGES:%=$(GUEST_OUT)/test/%-bzshim64.o)
guests: $(GUEST_IMAGES)

$(GUEST_OBJ)/%.c.o: guests/%.c
	@mkdir -p $(dir $@)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJ)/%.S.o: guests/%.S
	@mkdir -p $(dir $@)
	$(Q)$(GUEST_CC) $(GUEST_ASFLAGS) -c $< -o $@

# One ELF per guest folder: its sources plus the whole runtime.
define GUEST_template
GUEST_$(1)_OBJS := $$(patsubst guests/%,$(GUEST_OBJ)/%.o,$$(sort $$(wildcard guests/$(1)/*.c guests/$(1)/*.S)))
$(GUEST_OUT)/$(1).elf: $$(GUEST_$(1)_OBJS) $(GUEST_RT_OBJS) $(GUEST_LDS)
	$$(Q)$$(GUEST_CC) $$(GUEST_LDFLAGS) -o $$@ $$(GUEST_$(1)_OBJS) $(GUEST_RT_OBJS)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call GUEST_template,$(g))))

# bzImage payload: the ELF's loadable bytes from 0x100000 on.
$(GUEST_OUT)/%.bin: $(GUEST_OUT)/%.elf
	$(Q)$(GUEST_OBJCOPY) -O binary $< $@

# bzImage: setup sectors with the header, then the payload. init_size
# comes from the ELF's _end so it covers .bss and the stacks.
$(GUEST_OUT)/%.bzimage: guests/bzimage/setup.S $(GUEST_OUT)/%.bin $(GUEST_OUT)/%.elf
	@mkdir -p $(GUEST_OBJ)/bzimage
	$(Q)end=$$($(GUEST_NM) -P $(GUEST_OUT)/$*.elf | awk '$$1 == "_end" { print $$3 }'); \
	size=$$(($$(wc -c < $(GUEST_OUT)/$*.bin))); \
	test -n "$$end" || { echo "$*.elf: no _end symbol" >&2; exit 1; }; \
	$(GUEST_CC) $(GUEST_ASFLAGS) -DPAYLOAD_BIN='"$(GUEST_OUT)/$*.bin"' \
		-DPAYLOAD_SIZE=$$size -DPAYLOAD_END=0x$$end \
		-c $< -o $(GUEST_OBJ)/bzimage/$*-setup.o && \
	$(GUEST_OBJCOPY) -O binary -j .text $(GUEST_OBJ)/bzimage/$*-setup.o $@

# Test-only: PVH shims that boot a bzImage through the 32-bit and the
# 64-bit Linux boot protocol under QEMU (tools/bzshim.S).
GUEST_TEST := $(GUEST_OUT)/test
GUEST_SHIMS := $(GUEST_BZIMAGES:%=$(GUEST_TEST)/%-bzshim32.elf) \
	$(GUEST_BZIMAGES:%=$(GUEST_TEST)/%-bzshim64.elf)

$(GUEST_TEST)/%-bzshim32.o: guests/tools/bzshim.S $(GUEST_OUT)/%.bzimage
	@mkdir -p $(dir $@)
	$(Q)$(GUEST_CC) $(GUEST_ASFLAGS) -DBZIMAGE='"$(GUEST_OUT)/$*.bzimage"' -c $< -o $@

$(GUEST_TEST)/%-bzshim64.o: guests/tools/bzshim.S $(GUEST_OUT)/%.bzimage
	@mkdir -p $(dir $@)
	$(Q)$(GUEST_CC) $(GUEST_ASFLAGS) -DMODE64 -DBZIMAGE='"$(GUEST_OUT)/$*.bzimage"' -c $< -o $@

$(GUEST_TEST)/%.elf: $(GUEST_TEST)/%.o guests/tools/bzshim.ld
	$(Q)$(GUEST_CC) -nostdlib -static -no-pie -Wl,-T,guests/tools/bzshim.ld -Wl,--build-id=none \
		-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -o $@ $<

guests-check: guests
	$(Q)$(GUEST_PYTHON) guests/tools/check-images.py \
		$(GUEST_NAMES:%=--elf $(GUEST_OUT)/%.elf) \
		$(foreach b,$(GUEST_BZIMAGES),--bzimage $(GUEST_OUT)/$(b).bzimage:$(GUEST_OUT)/$(b).elf)

guests-qemu: guests $(GUEST_SHIMS)
	$(Q)QEMU=$(GUEST_QEMU) guests/tools/qemu-smoke.sh $(GUEST_OUT)
