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

CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP \
             -Iinclude -Isrc -Ibpf -I$(BUILD) -DTCPSHAKE_VERSION=\"$(VERSION)\"
LDLIBS    += -lbpf -lelf -lz -lmicrohttpd -ljson-c -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -Wall -Wextra -Werror -MMD -MP \
             -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux -Ibpf

APP_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c))
APP_OBJS  := $(APP_SRCS:src/%.c=$(BUILD)/src/%.o)
BPF_OBJ   := $(BUILD)/tcpshake.bpf.o
SKEL      := $(BUILD)/tcpshake.skel.h

COMMON_OBJS := $(BUILD)/tests/common/craft.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/bpf/%)
HARNESS   := $(BUILD)/tests/bpf/harness.o
BENCH_BIN := $(BUILD)/tests/bpf/bench

.PHONY: all deps run check test-unit test-bpf test-integration test-deploy bench \
        vmlinux install uninstall clean help

all: tcpshake-mon

help:
	@echo "make              build ./tcpshake-mon"
	@echo "sudo make run     install missing packages, build, run on IFACE=$(IFACE)"
	@echo "sudo make check   install missing packages, build, run every test"
	@echo "sudo make bench   per-packet cost of each packet class (BPF_PROG_TEST_RUN)"
	@echo "make vmlinux      regenerate vmlinux/vmlinux.h from the running kernel"
	@echo "make install      PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)"

deps:
	@scripts/install-deps.sh

run: deps all
	./tcpshake-mon $(RUN_OPTS) $(IFACE)

HOOKS_BIN := $(BUILD)/tests/hooks

check: deps all $(UNIT_BINS) $(BPFT_BINS) $(HOOKS_BIN)
	@scripts/run-tests.sh $(BUILD)

test-unit: $(UNIT_BINS)
	@scripts/run-tests.sh $(BUILD) unit

test-bpf: $(BPFT_BINS)
	@scripts/run-tests.sh $(BUILD) bpf

test-integration: all $(HOOKS_BIN)
	@scripts/run-tests.sh $(BUILD) integration

test-deploy:
	@scripts/run-tests.sh $(BUILD) deploy

bench: deps $(BENCH_BIN)
	$(BENCH_BIN)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# ---- BPF object and skeleton ----

$(BPF_OBJ): bpf/tcpshake.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name tcpshake_bpf > $@.tmp && mv $@.tmp $@

# ---- user space ----

$(BUILD)/src/%.o: src/%.c $(SKEL) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tcpshake-mon: $(BUILD)/src/main.o $(APP_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

tcpshake-mon: $(BUILD)/tcpshake-mon
	cp -f $< $@

# ---- tests ----

$(BUILD)/tests/common/%.o: tests/common/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/common -c $< -o $@

$(HOOKS_BIN): tests/common/hooks.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -lbpf

$(BUILD)/tests/unit/%: tests/unit/%.c $(APP_OBJS) $(COMMON_OBJS) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-override-init -Itests/common $< $(APP_OBJS) $(COMMON_OBJS) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/tests/bpf/%.o: tests/bpf/%.c $(SKEL) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-override-init -Itests/common -Itests/bpf -c $< -o $@

$(BUILD)/tests/bpf/test_%: $(BUILD)/tests/bpf/test_%.o $(HARNESS) $(APP_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bench.bpf.o: tests/bpf/bench.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench.skel.h: $(BUILD)/bench.bpf.o
	$(BPFTOOL) gen skeleton $< name bench_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/bpf/bench.o: tests/bpf/bench.c $(BUILD)/bench.skel.h $(SKEL) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/common -Itests/bpf -c $< -o $@

$(BENCH_BIN): $(BUILD)/tests/bpf/bench.o $(HARNESS) $(APP_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

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

check test-integration: $(IT_TOOLS)

$(BUILD)/tests/%: tests/integration/tools/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(IT_TOOL_CFLAGS) $(CFLAGS) $< -o $@

$(BUILD):
	@mkdir -p $(BUILD)

clean:
	rm -rf $(BUILD) tcpshake-mon

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
