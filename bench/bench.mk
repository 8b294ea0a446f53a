# Benchmark helpers:
#   build/bench/raw_exit_loop   the raw KVM_RUN floor, linked against kfv's loader
#   build/bench/measure         timing and RSS sampling of one command
#   build/bench/exittime.elf    guest that times each port exit with the TSC,
#                               linked against the guest kit's runtime
#
# Works two ways:
#   * included from the top-level Makefile (`-include bench/bench.mk`, after
#     guests/guests.mk), where BUILD, CC, LIBS, REL_OBJS and GUEST_RT_OBJS
#     come from there and `make bench-tools` builds what they need first;
#   * on its own, as bench/run-all.sh uses it: `make -f bench/bench.mk
#     bench-tools` after `make`, taking the objects already in build/.
ifndef KFV_BENCH_MK
KFV_BENCH_MK := 1

BUILD ?= build
CC    ?= gcc

BENCH_OUT    := $(BUILD)/bench
BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
                -Wstrict-prototypes -Wvla -Isrc -MMD -MP
# Everything of kfv but its main(); the archive lets the linker take only
# the loader, guest memory and what they call.
BENCH_KFV_OBJS := $(filter-out %/cli/main.o,$(or $(REL_OBJS),$(shell find $(BUILD)/obj/src -name '*.o' 2>/dev/null | sort)))

# The guest kit's flags (docs/guest-kit.md, "Build flags") and runtime.
BENCH_GUEST_CC      := $(or $(GUEST_CC),gcc)
BENCH_GUEST_CFLAGS  := -std=gnu11 -O2 -g -m64 -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
	-fno-tree-loop-distribute-patterns -nostdinc \
	-isystem $(shell $(BENCH_GUEST_CC) -print-file-name=include) -Iguests -MMD -MP \
	-Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wvla
BENCH_GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guests/runtime/link.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--fatal-warnings
BENCH_GUEST_RT_OBJS := $(or $(GUEST_RT_OBJS),$(sort $(wildcard $(BUILD)/guests/obj/runtime/*.o)))

.PHONY: bench-tools
bench-tools: $(BENCH_OUT)/raw_exit_loop $(BENCH_OUT)/measure $(BENCH_OUT)/exittime.elf

$(BENCH_OUT)/libkfv.a: $(BENCH_KFV_OBJS)
	@mkdir -p $(dir $@)
	@test -n "$^" || { echo "bench: no objects in $(BUILD)/obj; run make first" >&2; exit 1; }
	@rm -f $@
	ar rcs $@ $^

$(BENCH_OUT)/raw_exit_loop: bench/raw_exit_loop.c $(BENCH_OUT)/libkfv.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_OUT)/libkfv.a $(or $(LIBS),-lpthread)

$(BENCH_OUT)/measure: bench/measure.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_OUT)/exittime.o: bench/exittime/main.c
	@mkdir -p $(dir $@)
	$(BENCH_GUEST_CC) $(BENCH_GUEST_CFLAGS) -c $< -o $@

$(BENCH_OUT)/exittime.elf: $(BENCH_OUT)/exittime.o $(BENCH_GUEST_RT_OBJS) guests/runtime/link.ld
	@test -n "$(BENCH_GUEST_RT_OBJS)" || { echo "bench: no guest runtime objects; run make first" >&2; exit 1; }
	$(BENCH_GUEST_CC) $(BENCH_GUEST_LDFLAGS) -o $@ $(BENCH_OUT)/exittime.o $(BENCH_GUEST_RT_OBJS)

-include $(wildcard $(BENCH_OUT)/*.d)
endif
