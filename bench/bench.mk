# Benchmark helpers: build/bench/raw_exit_loop (the raw KVM_RUN floor, linked
# against kfv's loader) and build/bench/measure (timing and RSS sampling).
#
# Works two ways:
#   * included from the top-level Makefile (`-include bench/bench.mk`), where
#     BUILD, CC and REL_OBJS come from there and `make bench-tools` builds
#     kfv's objects first;
#   * on its own, as bench/run-all.sh uses it: `make -f bench/bench.mk
#     bench-tools` after `make`, taking the objects already in build/obj.
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

.PHONY: bench-tools
bench-tools: $(BENCH_OUT)/raw_exit_loop $(BENCH_OUT)/measure

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

-include $(wildcard $(BENCH_OUT)/*.d)
endif
