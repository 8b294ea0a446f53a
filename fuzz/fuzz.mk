# libFuzzer harnesses (clang). Included by the top-level Makefile, which
# defines BUILD and Q.
#
#   make fuzz                   build the harnesses and run each for FUZZ_TIME seconds (default 60)
#   make fuzz FUZZ_TIME=10
#   make fuzz-build             build only: build/fuzz/fuzz_virtq, build/fuzz/fuzz_blk_req, build/fuzz/fuzz_policy,
#                               build/fuzz/fuzz_net_req, build/fuzz/fuzz_telemetry
#   make -s fuzz-names          print FUZZ_NAMES (tests/integration/host/fuzz_short.sh runs each)
#
# Each harness starts from its seed corpus in fuzz/corpus/NAME/ and writes
# what it discovers to build/fuzz/corpus/NAME/ (the repository's corpus is
# never modified); crashes land in build/fuzz/.
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_FLAGS   := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -Isrc -Ifuzz -Wall -Wextra -Werror -Wno-unused-parameter
FUZZ_NAMES   := virtq blk_req policy net_req telemetry
FUZZ_LIB_SRCS := src/devices/virtio/queue.c src/devices/virtio/blk_req.c src/devices/virtio/net_req.c \
                 src/vmm/guest_mem.c
FUZZ_BINS    := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-names
fuzz-build: $(FUZZ_BINS)

fuzz-names:
	@echo $(FUZZ_NAMES)

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_LIB_SRCS)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRCS)

# The policy parser and engine (fuzz_policy.c); links jansson.
FUZZ_POLICY_SRCS := src/defense/policy.c src/defense/policy_parse.c src/defense/event.c src/util/json_line.c \
                    src/util/file.c
$(BUILD)/fuzz/fuzz_policy: fuzz/fuzz_policy.c $(FUZZ_POLICY_SRCS)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_POLICY_SRCS) -ljansson

# The supervisor's reading of the telemetry page a compromised VMM writes
# (fuzz_telemetry.c): the sensor, deny/reset matching, the metrics file.
FUZZ_TELEMETRY_SRCS := src/defense/telemetry_read.c src/defense/agent_kind.c src/defense/metrics.c \
                       src/defense/event_log.c $(FUZZ_POLICY_SRCS) src/util/utf8.c src/util/log.c
$(BUILD)/fuzz/fuzz_telemetry: fuzz/fuzz_telemetry.c $(FUZZ_TELEMETRY_SRCS)
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_TELEMETRY_SRCS) -ljansson

fuzz: fuzz-build
	$(Q)for n in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$n && \
		echo "fuzz_$$n: $(FUZZ_TIME) s" && \
		$(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_TIME) -max_len=16384 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus/$$n fuzz/corpus/$$n || exit 1; \
	done
