# memoria - plain GNU make + pkg-config. See docs/ARCHITECTURE.md.
#
#   make                      release build: build/release/memoria
#   make VARIANT=debug|asan|tsan
#   make test                 deps, unit tests (asan), wire tests (asan)
#   make test-reference       the same wire tests against Debian's memcached
#   make wire-sandbox         the wire tests with every server under the
#                             seccomp filter (-o drop_privileges), release
#   make run                  deps, build, serve on 127.0.0.1:11211
#   make fuzz                 libFuzzer targets in build/fuzz/
#   make bench                benchmarks side by side with memcached

VARIANT ?= release
CC      ?= cc
PYTHON  ?= /usr/bin/python3
BUILD   := build/$(VARIANT)

PKGS    := libevent
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Wimplicit-fallthrough \
           -Wpointer-arith
CPPFLAGS := -Isrc -D_GNU_SOURCE -MMD -MP
CFLAGS_release := -O2 -g -DNDEBUG -flto=auto
CFLAGS_debug   := -O0 -g3
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer \
                  -fsanitize=address,undefined -fno-sanitize-recover=all
CFLAGS_tsan    := -O1 -g -fsanitize=thread
CFLAGS  := $(WARN) $(CFLAGS_$(VARIANT)) -pthread \
           $(shell pkg-config --cflags $(PKGS) libssl 2>/dev/null)
LDFLAGS := $(filter -fsanitize% -flto%,$(CFLAGS_$(VARIANT))) -O2 -pthread
EVLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Cyrus SASL (cmd/sasl.c): everything that links the cmd layer needs it.
SASLLIBS := $(shell pkg-config --libs libsasl2 2>/dev/null || echo -lsasl2)
# libseccomp (the sandbox): what links the net layer needs it. OpenSSL
# (the TLS transport) is compiled against but not linked: net/tls_lib.c
# loads it with dlopen when -Z asks for TLS (libdl is part of libc).
NETLIBS := $(shell pkg-config --libs libseccomp 2>/dev/null \
             || echo -lseccomp)
# The TLS unit test is an OpenSSL client of its own: it links libssl, and
# tls_lib's dlopen then finds the copy already loaded.
SSLLIBS := $(shell pkg-config --libs libssl libcrypto 2>/dev/null \
             || echo -lssl -lcrypto)

LAYERS  := lib stats engine proto cmd net conf
src_of   = $(sort $(wildcard src/$(1)/*.c))
obj_of   = $(patsubst src/%.c,$(BUILD)/%.o,$(call src_of,$(1)))
ALL_OBJ := $(foreach l,$(LAYERS),$(call obj_of,$(l)))

# Which layers each unit test may link: the link line checks the
# architecture (a test of the engine that needs libevent breaks the build).
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
layers_lib    := lib
layers_engine := engine stats lib
layers_proto  := proto lib
layers_cmd    := cmd engine proto stats lib
layers_conf   := conf lib
layers_net    := net cmd engine proto stats lib
# test_<module>.c -> the layer that module lives in
layer_of = $(firstword $(foreach l,$(LAYERS),$(if $(wildcard src/$(l)/$(1).c),$(l))) lib)

.PHONY: all deps run test unit wire wire-sandbox test-reference tsan-test \
        fuzz fuzz-run \
        bench format format-check tidy clean
all: $(BUILD)/memoria

deps:
	@bash scripts/deps.sh

$(BUILD)/memoria: $(BUILD)/main.o $(ALL_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(EVLIBS) $(SASLLIBS) $(NETLIBS)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) \
	    $(shell pkg-config --cflags cmocka 2>/dev/null) -c -o $@ $<

.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o \
    $$(foreach l,$$(layers_$$(call layer_of,$$*)),$$(call obj_of,$$(l)))
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs cmocka) \
	    $(if $(filter net,$(call layer_of,$*)),$(EVLIBS) $(NETLIBS)) \
	    $(if $(filter cmd,$(layers_$(call layer_of,$*))),$(SASLLIBS)) \
	    $(if $(filter tls,$*),$(SSLLIBS))

# Like memcached, memoria refuses to run as root without -u: as root,
# `make run` serves as the unprivileged user nobody.
RUN_USER := $(if $(filter 0,$(shell id -u)),-u nobody)
run: deps
	$(MAKE) VARIANT=release
	./build/release/memoria -l 127.0.0.1 -p 11211 $(RUN_USER)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

test: deps
	$(MAKE) VARIANT=asan unit build/asan/memoria
	$(MAKE) VARIANT=tsan build/tsan/memoria
	$(MAKE) VARIANT=tsan unit
	$(MAKE) wire
	$(MAKE) wire-sandbox

# Wire tests: against our asan build (TEST_JOBS xdist workers), then the
# threaded ones under tsan.
wire:
	MEMORIA_BIN=$(CURDIR)/build/asan/memoria $(PYTHON) -m pytest -q \
	    -n $(TEST_JOBS) tests/proto
	MEMORIA_BIN=$(CURDIR)/build/tsan/memoria $(PYTHON) -m pytest -q \
	    -m threaded tests/proto

# The whole wire suite again, every memoria it starts under the seccomp
# filter (MEMORIA_SANDBOX=1 adds -o drop_privileges), on the release build:
# the sanitizers' runtimes need calls the filter forbids (LeakSanitizer
# ptraces the process at exit). The sandbox unit test too, whose thread
# case the sanitizer builds skip for the same reason.
wire-sandbox:
	$(MAKE) VARIANT=release build/release/memoria build/release/tests/test_sandbox
	build/release/tests/test_sandbox
	MEMORIA_SANDBOX=1 MEMORIA_BIN=$(CURDIR)/build/release/memoria \
	    $(PYTHON) -m pytest -q -n $(TEST_JOBS) tests/proto

# The wire suites mostly wait (memcached 1.6.18 takes up to a second to
# exit on SIGTERM): TEST_JOBS pytest-xdist workers share them.
TEST_JOBS ?= 2
test-reference: deps
	MEMCACHED_BIN=/usr/bin/memcached $(PYTHON) -m pytest -q -n $(TEST_JOBS) \
	    tests/proto

FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS := $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all
# The layers each target links: proto and lib unless it says otherwise.
fuzz_layers_conf := conf lib
fuzz: $(FUZZ_BIN)
build/fuzz/fuzz_%: fuzz/fuzz_%.c \
    $$(foreach l,$$(or $$(fuzz_layers_$$*),proto lib),$$(call src_of,$$(l)))
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# A bounded run of every fuzz target (FUZZ_SECONDS each), FUZZ_JOBS at a
# time: one rule per target (make fuzz-run-text runs one), run by a
# sub-make with -k, so every target runs and any failing one fails the
# run; -O keeps each target's output together.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_RUNS := $(patsubst build/fuzz/fuzz_%,fuzz-run-%,$(FUZZ_BIN))
.PHONY: $(FUZZ_RUNS)
fuzz-run: fuzz
	@$(MAKE) --no-print-directory -k -O -j$(FUZZ_JOBS) $(FUZZ_RUNS)
$(FUZZ_RUNS): fuzz-run-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus/$*
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    build/fuzz/corpus/$* fuzz/corpus/$*

bench: deps build/bench/loadgen
	$(MAKE) VARIANT=release
	$(PYTHON) bench/run.py

build/bench/loadgen: bench/loadgen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 $(WARN) -o $@ $< -lm -lssl -lcrypto

FMT_FILES := $(shell find src tests/unit fuzz bench -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(FMT_FILES)
format-check:
	clang-format --dry-run --Werror $(FMT_FILES)
tidy:
	clang-tidy --quiet $(filter %.c,$(FMT_FILES)) -- $(CPPFLAGS) -Itests/unit \
	    $(WARN) $(shell pkg-config --cflags $(PKGS) cmocka)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
