# tcpshake-mon build. Out-of-tree objects in $(BUILD)/, the binary is also
# copied to the repository root. `make help` lists the targets.

VERSION   := 0.1.0
BUILD     ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
IFACE     ?= $(shell ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($$i == "dev") {print $$(i+1); exit}}')

# CFLAGS and LDFLAGS are the user's (make CFLAGS=-O0 keeps everything else);
# what the code needs to build at all is in the REQUIRED_ variables.
CFLAGS    ?= -O2 -g
REQUIRED_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP \
             -Iinclude -Isrc -Ibpf -I$(BUILD) -DTCPSHAKE_VERSION=\"$(VERSION)\"
ALL_CFLAGS = $(REQUIRED_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS)
LDLIBS    += -lbpf -lelf -lz -ljson-c -lm -lpthread

# make SANITIZE=1: user space and every test binary under AddressSanitizer
# (LeakSanitizer included) and UBSan, any report fatal. The BPF object is
# not affected. Objects go to build-asan/ unless BUILD says otherwise, so
# they never mix with uninstrumented ones.
SANITIZE  ?= 0
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ifeq ($(SANITIZE),1)
ifeq ($(origin BUILD),file)
BUILD     := build-asan
endif
ALL_CFLAGS  += $(SAN_FLAGS)
ALL_LDFLAGS += $(SAN_FLAGS)
endif
# The monitor is linked with link-time optimisation: --read's packet loop
# calls across files into the core (replay.c -> native_core.c, capture.c),
# and inlining there takes 8 % of the instructions per packet away
# (docs/performance.md). The objects are fat (ordinary code as well), so the
# test binaries link them as usual, without an LTO step each. make
# LTO_FLAGS= turns it off (e.g. for a compiler without fat LTO objects).
LTO_FLAGS ?= -flto=auto -ffat-lto-objects
ifeq ($(SANITIZE),1)
LTO_FLAGS :=
endif
# And with profile-guided optimisation: an instrumented build of the monitor
# reads a generated capture of short connections (tests/bench/gencap.c) with
# --events, and the objects are built again with that profile. Branches and
# inlining follow the packet loop: 15 % fewer instructions per packet, 0.8x
# the CPU time of --read (docs/performance.md). Code the training does not
# run (the live monitor, other link types) keeps its ordinary optimisation.
# make PGO=0 turns it off; it is off under SANITIZE=1.
PGO       ?= 1
ifeq ($(SANITIZE),1)
PGO       := 0
endif
PGO_DIR   := $(BUILD)/pgo
PGO_DATA  := $(abspath $(PGO_DIR)/data)
PGO_TRAIN_PACKETS ?= 3000000
# The UAPI headers (bpf/kernel.bpf.h) include <asm/types.h>, which lives in
# the host's multiarch directory.
MULTIARCH_INC := /usr/include/$(shell $(CC) -print-multiarch 2>/dev/null || echo $$(uname -m)-linux-gnu)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -Wall -Wextra -Werror -MMD -MP \
             -D__TARGET_ARCH_$(ARCH) -Iinclude -Ibpf -idirafter $(MULTIARCH_INC)

APP_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c))
APP_OBJS  := $(APP_SRCS:src/%.c=$(BUILD)/src/%.o)
BPF_OBJ   := $(BUILD)/tcpshake.bpf.o
SKEL      := $(BUILD)/tcpshake.skel.h
# Only the sources that include the skeleton wait for (and rebuild with) it.
SKEL_OBJS := $(patsubst src/%.c,$(BUILD)/src/%.o,$(shell grep -l '"tcpshake.skel.h"' src/*.c))

COMMON_OBJS := $(BUILD)/tests/common/craft.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/bpf/%)
HARNESS   := $(BUILD)/tests/bpf/harness.o
BENCH_BIN := $(BUILD)/tests/bpf/bench
# The bench programs the bpf test layer loads (bench load, evbench --load).
BENCH_LOADED := $(BENCH_BIN) $(BUILD)/tests/bench/evbench
HOOKS_BIN := $(BUILD)/tests/hooks
# Real-traffic, event-path and footprint benchmarks (tests/bench/run.sh).
BENCH_TOOLS := $(BUILD)/tests/bench/connrate $(BUILD)/tests/bench/evbench \
               $(BUILD)/tests/bench/classcount \
               $(BUILD)/tests/bench/footprint $(BUILD)/bench_xdp_pass.bpf.o
BENCH_ROUNDS  ?= 7
BENCH_SECONDS ?= 5

# libFuzzer harnesses (tests/fuzz/fuzz_*.c): always clang, over a library
# of the user-space objects built with coverage instrumentation.
FUZZ_SECONDS ?= 60
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_CFLAGS  = $(REQUIRED_CFLAGS) $(filter-out -fsanitize=% -O%,$(CFLAGS)) -O1 \
               -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
               -Itests/common
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_OBJS   := $(APP_SRCS:src/%.c=$(FUZZ_DIR)/src/%.o) $(FUZZ_DIR)/common/craft.o
FUZZ_LIB    := $(FUZZ_DIR)/libtcpshake.a

.DELETE_ON_ERROR:
.PHONY: all deps deps-test deps-bench run check test-bins test-unit test-bpf test-integration test-deploy \
        test-fuzz fuzz soak bench bench-replay install uninstall clean help tcpshake-mon

all: tcpshake-mon

help:
	@echo "make              build ./tcpshake-mon (link-time and profile-guided optimisation;"
	@echo "                  LTO_FLAGS= and PGO=0 turn them off)"
	@echo "make run          (as root or with sudo) install what it needs, build, run on IFACE=$(IFACE)"
	@echo "make check        (as root or with sudo) install the test tools too, build, run every test"
	@echo "                  (SANITIZE=1: under ASan and UBSan, in build-asan/)"
	@echo "make fuzz         each libFuzzer harness FUZZ_SECONDS=$(FUZZ_SECONDS) seconds"
	@echo "make soak MINUTES=30   (root) connection churn in namespaces, sampled every 10 s"
	@echo "sudo make bench   per-packet cost of each packet class (BPF_PROG_TEST_RUN), --read"
	@echo "                  against tshark (make bench-replay alone), then real traffic side by"
	@echo "                  side with no tool and tcpstates, the event path and the footprint"
	@echo "                  (BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_SECONDS=$(BENCH_SECONDS); docs/performance.md)"
	@echo "make install      PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"

deps:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh run test

deps-bench:
	@scripts/install-deps.sh run test bench

run: deps all
	./tcpshake-mon $(RUN_OPTS) $(IFACE)

test-bins: $(UNIT_BINS) $(BPFT_BINS) $(BENCH_LOADED) $(HOOKS_BIN) $(FUZZ_BINS)

check: deps-test all test-bins
	@scripts/run-tests.sh $(BUILD)

test-unit: $(UNIT_BINS) all
	@scripts/run-tests.sh $(BUILD) unit

test-bpf: $(BPFT_BINS) $(BENCH_LOADED)
	@scripts/run-tests.sh $(BUILD) bpf

test-integration: all $(HOOKS_BIN)
	@scripts/run-tests.sh $(BUILD) integration

test-deploy:
	@scripts/run-tests.sh $(BUILD) deploy

test-fuzz: $(FUZZ_BINS)
	@scripts/run-tests.sh $(BUILD) fuzz

fuzz: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzz.sh $(BUILD)

bench: deps-bench $(BENCH_BIN) bench-replay $(BENCH_TOOLS)
	tests/bench/run.sh --rounds $(BENCH_ROUNDS) --seconds $(BENCH_SECONDS) $(BUILD)

GENCAP := $(BUILD)/tests/bench/gencap

bench-replay: all $(GENCAP)
	tests/bench/replay.sh $(BUILD)

$(GENCAP): tests/bench/gencap.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@

# ---- BPF object and skeleton ----

$(BPF_OBJ): bpf/tcpshake.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name tcpshake_bpf > $@.tmp && mv $@.tmp $@

# ---- user space ----

$(SKEL_OBJS): $(SKEL)

ifeq ($(PGO),1)
# The instrumented build, in $(PGO_DIR)/. GCC names a file's profile, and
# tells its static functions apart, by the object's auxiliary name: the
# instrumented objects take the optimised ones' (-dumpdir $(BUILD)/src/).
PGO_PROFILE  := $(PGO_DIR)/profile.stamp
PGO_USE      := -fprofile-use=$(PGO_DATA) -fprofile-partial-training
PGO_GEN_OBJS := $(patsubst $(BUILD)/%,$(PGO_DIR)/%,$(BUILD)/src/main.o $(APP_OBJS))

$(patsubst $(BUILD)/%,$(PGO_DIR)/%,$(SKEL_OBJS)): $(SKEL)

$(PGO_DIR)/src/%.o: src/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fprofile-generate=$(PGO_DATA) \
		-dumpdir $(BUILD)/src/ -MF $(@:.o=.d) -c $< -o $@

$(PGO_DIR)/tcpshake-mon: $(PGO_GEN_OBJS)
	$(CC) $(ALL_LDFLAGS) -fprofile-generate $^ -o $@ $(LDLIBS)

# The training run reads the capture from a pipe (245 MB at 3 M packets),
# with a fixed hash seed, so the profile is the same each time. 3 M packets
# are 375,000 connections: enough that the flow table fills with TIME-WAIT
# records and its eviction path is trained as well.
$(PGO_PROFILE): $(PGO_DIR)/tcpshake-mon $(GENCAP)
	rm -rf $(PGO_DATA) $(PGO_DIR)/train.*
	bash -o pipefail -c '$(GENCAP) /dev/stdout $(PGO_TRAIN_PACKETS) | \
		$(PGO_DIR)/tcpshake-mon --read - -q --seed 1 \
		--prom-textfile $(PGO_DIR)/train.prom --events $(PGO_DIR)/train.events'
	rm -f $(PGO_DIR)/train.*
	touch $@
endif

$(BUILD)/src/%.o: src/%.c $(PGO_PROFILE) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LTO_FLAGS) $(PGO_USE) -c $< -o $@

$(BUILD)/tcpshake-mon: $(BUILD)/src/main.o $(APP_OBJS)
	$(CC) $(ALL_LDFLAGS) $(LTO_FLAGS) $^ -o $@ $(LDLIBS)

# Phony, so a SANITIZE=1 build never stays in place of the plain one.
tcpshake-mon: $(BUILD)/tcpshake-mon
	@cmp -s $< $@ || cp -f $< $@

# ---- tests ----

$(BUILD)/tests/common/%.o: tests/common/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/common -c $< -o $@

$(HOOKS_BIN): tests/common/hooks.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< -o $@ -lbpf

$(BUILD)/tests/unit/%: tests/unit/%.c $(APP_OBJS) $(COMMON_OBJS) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wno-override-init -Itests/common $< $(APP_OBJS) $(COMMON_OBJS) -o $@ \
		$(ALL_LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/tests/bpf/%.o: tests/bpf/%.c $(SKEL) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wno-override-init -Itests/common -Itests/bpf -c $< -o $@

$(BUILD)/tests/bpf/test_%: $(BUILD)/tests/bpf/test_%.o $(HARNESS) $(APP_OBJS) $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bench.bpf.o: tests/bpf/bench.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench.skel.h: $(BUILD)/bench.bpf.o
	$(BPFTOOL) gen skeleton $< name bench_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/bpf/bench.o: tests/bpf/bench.c $(BUILD)/bench.skel.h $(SKEL) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/common -Itests/bpf -c $< -o $@

$(BENCH_BIN): $(BUILD)/tests/bpf/bench.o $(BUILD)/tests/bpf/bench_run.o $(HARNESS) $(APP_OBJS) $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LDLIBS)

# ---- fuzzing: libFuzzer harnesses tests/fuzz/fuzz_*.c, always clang ----

$(FUZZ_DIR)/src/%.o: src/%.c $(SKEL) | $(BUILD)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/common/%.o: tests/common/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

# Harnesses include core headers for their checks: not every helper is used.
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(CLANG) $(FUZZ_CFLAGS) -Wno-unused-function -fsanitize=fuzzer $< $(FUZZ_LIB) -o $@ $(LDLIBS)

# ---- soak (not part of check) ----

MINUTES ?= 30
soak: deps-test all
	@bash tests/soak/soak.sh $(MINUTES)

$(BUILD)/tests/bench/connrate: tests/bench/connrate.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< -o $@

$(BUILD)/evgen.bpf.o: tests/bench/evgen.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench_xdp_pass.bpf.o: tests/bench/xdp_pass.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/evgen.skel.h: $(BUILD)/evgen.bpf.o
	$(BPFTOOL) gen skeleton $< name evgen_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/bench/%.o: tests/bench/%.c $(SKEL) $(BUILD)/evgen.skel.h | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/common -Itests/bench -c $< -o $@

# (valgrind's header, from make bench's packages)
$(BUILD)/tests/bench/classcount: tests/bench/classcount.c $(HARNESS) $(APP_OBJS) $(COMMON_OBJS) \
		| deps-bench
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/common -Itests/bpf $< $(HARNESS) $(APP_OBJS) $(COMMON_OBJS) \
		-o $@ $(ALL_LDFLAGS) $(LDLIBS)

$(BUILD)/tests/bench/evbench: $(BUILD)/tests/bench/evbench.o $(APP_OBJS) $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/bench/footprint: $(BUILD)/tests/bench/footprint.o $(BUILD)/tests/bench/drive.o \
		$(APP_OBJS) $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LDLIBS)

# ---- install ----

install: all
	install -D -m 0755 tcpshake-mon $(DESTDIR)$(PREFIX)/sbin/tcpshake-mon
	install -D -m 0644 docs/tcpshake-mon.8 $(DESTDIR)$(PREFIX)/share/man/man8/tcpshake-mon.8
	install -D -m 0644 deploy/systemd/tcpshake-mon@.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/tcpshake-mon@.service
	sed -i 's|/usr/local/sbin/tcpshake-mon|$(PREFIX)/sbin/tcpshake-mon|g' \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/tcpshake-mon@.service
	mkdir -p $(DESTDIR)$(PREFIX)/share/tcpshake-mon
	cp -r deploy $(DESTDIR)$(PREFIX)/share/tcpshake-mon/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/tcpshake-mon $(DESTDIR)$(PREFIX)/share/man/man8/tcpshake-mon.8 \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/tcpshake-mon@.service
	rm -rf $(DESTDIR)$(PREFIX)/share/tcpshake-mon

# ---- integration test tools ----

# Traffic generators of the integration tests, standalone programs
# (tests/integration/tools/*.c): built for check and test-integration.
IT_TOOLS := $(patsubst tests/integration/tools/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/tools/*.c))
IT_TOOL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror

check test-integration: $(IT_TOOLS) $(GENCAP)

$(BUILD)/tests/%: tests/integration/tools/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(IT_TOOL_CFLAGS) $(CFLAGS) $< -o $@

$(BUILD):
	@mkdir -p $(BUILD)

clean:
	rm -rf $(BUILD) tcpshake-mon

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
