# KungFuVisor build. `make` builds the VMM and the guests; `make check` runs
# every test; `make bench` runs the benchmarks. See README.md.
CC      ?= gcc
BUILD   := build
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)

WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wformat=2 -Wno-format-nonliteral -Wundef -Wvla
HARDEN  := -fstack-protector-strong -fPIE -fstack-clash-protection -fcf-protection
CFLAGS_BASE := -std=gnu11 $(WARN) $(HARDEN) -g -MMD -MP -Isrc -Itests/unit
REL_CFLAGS  := $(CFLAGS_BASE) -O2 -D_FORTIFY_SOURCE=2
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := $(CFLAGS_BASE) -O1 $(SAN_FLAGS)
LDFLAGS_REL := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
LIBS    := -lpthread -lseccomp -luring -ljansson -lsodium

# The default policy (policy/default.json) is compiled in through a generated C file.
GEN_SRCS  := $(BUILD)/gen/default_policy.c
SRCS      := $(shell find src -name '*.c' | sort) $(GEN_SRCS)
MAIN_SRC  := src/cli/main.c
LIB_SRCS  := $(filter-out $(MAIN_SRC),$(SRCS))
REL_OBJS  := $(SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_OBJS := $(SRCS:%.c=$(BUILD)/asan/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/asan/%.o)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps demo demo-mini check unit integration bench fuzz clean help linux-guest
all: $(BUILD)/kfv $(BUILD)/asan/kfv $(BUILD)/test/kfv guests

help:
	@echo "make            build build/kfv, build/asan/kfv and the guests"
	@echo "make deps       install the Debian packages the build and tests need"
	@echo "make demo       boot the demo guest (jailed, guarded) and print its summary"
	@echo "make check      run every test (unit, integration, sanitizers)"
	@echo "make bench      run the benchmarks; each prints its ratio"

deps:
	$(Q)scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(BUILD)/gen/default_policy.c: policy/default.json
	@mkdir -p $(dir $@)
	$(Q){ echo '/* Generated from $< by the Makefile; edit $< instead. */'; \
	  echo 'extern const char policy_default_json[];'; \
	  echo 'const char policy_default_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } >$@.tmp && mv $@.tmp $@

$(BUILD)/kfv: $(REL_OBJS)
	$(Q)$(CC) $(REL_CFLAGS) $(LDFLAGS_REL) -o $@ $^ $(LIBS)

# The test build: the release objects plus the compromise-simulation port
# (src/devices/compromise_sim.c), which must never reach build/kfv.
SIM_SRCS := src/devices/compromise_sim.c src/cli/run.c src/guard/responder.c \
	src/devices/virtio/mmio.c src/devices/virtio/blk.c src/devices/virtio/blk_uring.c
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/sim/%.o)
$(BUILD)/sim/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) -DKFV_COMPROMISE_SIM -c $< -o $@

$(BUILD)/test/kfv: $(filter-out $(SIM_SRCS:%.c=$(BUILD)/obj/%.o),$(REL_OBJS)) $(SIM_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) $(LDFLAGS_REL) -o $@ $^ $(LIBS)

# The agent-cost benchmark's floor: kfv with every agent hook compiled out
# (-DKFV_NO_AGENTS, src/vmm/agent.h). Built by `make bench` only; never shipped.
NOAG_OBJS := $(SRCS:%.c=$(BUILD)/noagents/%.o)
$(BUILD)/noagents/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) -DKFV_NO_AGENTS -c $< -o $@

$(BUILD)/bench/kfv-noagents: $(NOAG_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) $(LDFLAGS_REL) -o $@ $^ $(LIBS)

# The guard against a stand-in VMM on hosts without KVM (tests/tools/guard-target.c):
# the guard, the sandbox and the responder's test-build hooks, no KVM code.
GUARD_TARGET := $(BUILD)/tools/guard-target
GUARD_TARGET_OBJS := $(filter $(BUILD)/obj/src/guard/% $(BUILD)/obj/src/sandbox/% $(BUILD)/obj/src/util/% \
	$(BUILD)/obj/src/vmm/guest_mem.o,$(filter-out $(BUILD)/obj/src/guard/responder.o,$(REL_OBJS))) \
	$(BUILD)/sim/src/guard/responder.o
$(GUARD_TARGET): tests/tools/guard-target.c $(GUARD_TARGET_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) -DKFV_COMPROMISE_SIM $(LDFLAGS_REL) -o $@ $< $(GUARD_TARGET_OBJS) $(LIBS)

$(BUILD)/asan/kfv: $(ASAN_OBJS)
	$(Q)$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(ASAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ASAN_CFLAGS) -o $@ $< $(ASAN_LIB_OBJS) $(LIBS) -lcmocka

unit: $(UNIT_BINS)

-include guests/guests.mk
-include fuzz/fuzz.mk

# The Linux test guest: an initramfs and an ext4 root disk around Debian's
# kernel (fetched by scripts/install-deps.sh). See guests/linux/build.sh.
LINUX_GUEST := $(BUILD)/guests/linux/initramfs.cpio.gz
LINUX_GUEST_SRCS := $(shell find guests/linux -type f 2>/dev/null)
$(LINUX_GUEST): $(LINUX_GUEST_SRCS)
	$(Q)guests/linux/build.sh $(BUILD)/guests/linux
linux-guest: $(LINUX_GUEST)

demo: all $(LINUX_GUEST)
	$(Q)scripts/demo.sh

demo-mini: all
	$(Q)scripts/demo.sh --mini

check: all unit $(GUARD_TARGET) $(LINUX_GUEST)
	$(Q)tests/run-all.sh

bench: all $(GUARD_TARGET) $(BUILD)/bench/kfv-noagents $(LINUX_GUEST)
	$(Q)bench/run-all.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
