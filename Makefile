# awstopo -- build, test, install.
#
#   make              build ./awstopo
#   make test         every test (unit, conformance, integration, mappings)
#   make test-asan    the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz         every libFuzzer harness FUZZ_SECONDS (default 60) each, or until
#                     FUZZ_RUNS executions when given (docs/fuzzing.md)
#   make fuzz-build   only builds them (clang, into build-fuzz/)
#   make lint         luacheck on mappings/ and core/*.lua
#   make bench        benchmarks (figures, not pass/fail)
#   make demo         scan the bundled demo account into out/
#   make templates    deploy/cloudformation/ from tools/gen-templates.py (docs/install.md)
#   make lambda       the AWS Lambda deployment zip, build/awstopo-lambda-<arch>.zip (docs/lambda.md)
#   make dist         the manual installation zip, build/awstopo-aws-install-<version>.zip (docs/install.md)
#   make install PREFIX=/usr/local
#
# Every core/*.c except main.c goes into build/libawstopo.a; each
# tests/unit/test_*.c links against it as its own program.

PKGS    := lua5.4 libcurl libcjson libssl libcrypto zlib
PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=

DATADIR  = $(PREFIX)/share/awstopo
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(SAN) -Wall -Wextra -Werror \
           $(shell pkg-config --cflags $(PKGS)) -iquote core
LDFLAGS += $(SAN)
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm

CORE_SRC  := $(filter-out core/main.c,$(wildcard core/*.c))
CORE_LUA  := $(wildcard core/*.lua)
CORE_OBJ  := $(CORE_SRC:core/%.c=$(BUILD)/core/%.o) $(CORE_LUA:core/%.lua=$(BUILD)/gen/%_lua.o)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# a fast endpoint the per-call micro-benchmark measures the client against
BENCH_TOOLS := $(BUILD)/bench/canned_endpoint
BIN       := $(if $(filter build,$(BUILD)),awstopo,$(BUILD)/awstopo)
# The fuzz harnesses (tests/fuzz/fuzz_*.c): replay programs built with $(CC)
# for make test, libFuzzer programs built with clang for make fuzz.
FUZZ_NAMES  := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_COMMON := tests/fuzz/lib.c tests/fuzz/aws_input.c
FUZZ_DEPS   := $(FUZZ_COMMON) $(wildcard tests/fuzz/*.h tests/fuzz/*.inc) $(BUILD)/libawstopo.a
REPLAY_BIN  := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)
FUZZ_BIN    := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
FUZZ_SEEDS  := $(BUILD)/fuzz-seeds/.done
FUZZ_SECONDS ?= 60
FUZZ_RUNS   ?=
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# expat is no part of awstopo: the tests and benchmarks use it as an XML reader
# independent of ours (test_protocol_input reads the XML requests with it,
# fuzz_xml_scan compares awstopo's reader with it, bench_decode times both).
TEST_LIBS   := $(shell pkg-config --libs expat)

.PHONY: all test test-asan fuzz fuzz-build fuzz-bins lint bench install clean models policies templates demo lambda dist FORCE
all: $(BIN)

$(BUILD)/core/%.o: core/%.c $(wildcard core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Where the installed data lives is compiled into cli.o; the header changes
# (and cli.o is rebuilt) only when PREFIX does.
$(BUILD)/gen/datadir.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define AWSTOPO_DATADIR "$(DATADIR)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/core/cli.o: $(BUILD)/gen/datadir.h
$(BUILD)/core/cli.o: CFLAGS += -iquote $(BUILD)/gen

FORCE:

# Each core/NAME.lua (engine.lua, metrics.lua, call.lua, account.lua) is
# compiled into the binary as NAME_lua (see tools/embed.sh and core/embedded.h).
$(BUILD)/gen/%_lua.c: core/%.lua tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh $*_lua $< > $@

.PRECIOUS: $(BUILD)/gen/%_lua.c
$(BUILD)/gen/%_lua.o: $(BUILD)/gen/%_lua.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libawstopo.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/core/main.o $(BUILD)/libawstopo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testlib.h $(BUILD)/libawstopo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libawstopo.a $(LDFLAGS) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libawstopo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libawstopo.a $(LDFLAGS) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_COMMON) $(BUILD)/libawstopo.a $(LDFLAGS) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(FUZZ_COMMON) $(BUILD)/libawstopo.a $(LDFLAGS) -fsanitize=fuzzer $(LDLIBS) $(TEST_LIBS)

# The seed corpus, from the conformance suites, demo/ and the fixtures.
$(FUZZ_SEEDS): tests/fuzz/seeds.py tests/fake/wire.py tests/fake/awsproto.py $(wildcard demo/*/*.json)
	/usr/bin/python3 tests/fuzz/seeds.py $(BUILD)/fuzz-seeds
	@touch $@

test: $(BIN) $(TEST_BIN) $(REPLAY_BIN) $(FUZZ_SEEDS)
	AWSTOPO_BIN=$(abspath $(BIN)) AWSTOPO_BUILD=$(abspath $(BUILD)) tests/run

test-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

# libFuzzer needs clang; the whole library is instrumented for coverage.
fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" fuzz-bins

fuzz-bins: $(FUZZ_BIN) $(FUZZ_SEEDS)

fuzz: fuzz-build
	FUZZ_RUNS="$(FUZZ_RUNS)" tests/fuzz/run build-fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

lint:
	luacheck --codes mappings/ core/

bench: $(BIN) $(BENCH_BIN) $(BENCH_TOOLS)
	AWSTOPO_BIN=$(abspath $(BIN)) AWSTOPO_BUILD=$(abspath $(BUILD)) bench/run

models:
	python3 tools/gen-models.py

# The scanning role's IAM policy, from the mappings' `calls`; the five install and
# uninstall policies from what those paths call against the fake account.
policies: $(BIN)
	AWSTOPO_BIN=$(abspath $(BIN)) python3 tools/gen-policies.py
	/usr/bin/python3 tools/gen-install-policies.py --binary $(abspath $(BIN))

# deploy/cloudformation/*.json: the CloudFormation templates (the cwevents rules
# from the mappings' events); test_templates.py fails when they are stale
templates: $(BIN)
	python3 tools/gen-templates.py --binary $(abspath $(BIN))

# The Lambda zip: bootstrap, the binary, mappings, models and every library it loads.
lambda: $(BIN)
	sh tools/make-lambda.sh $(BIN) $(BUILD)/awstopo-lambda-$(shell uname -m).zip

# The manual installation zip: install.sh, uninstall.sh, the templates, the Lambda
# zip, the IAM policies and a README (tools/make-dist.sh).
dist: lambda
	sh tools/make-dist.sh $(BIN) $(BUILD)/awstopo-lambda-$(shell uname -m).zip $(BUILD)

# The main job on the bundled demo account: no AWS account, no StackState.
# (demo/ is generated by tools/gen-demo.py.)
demo: $(BIN)
	@mkdir -p out
	./$(BIN) scan --demo --output out/intake.json --format intake --output out/topology.json --format json \
	    --output out/topology.dot
	@if command -v dot >/dev/null; then dot -Tsvg out/topology.dot > out/topology.svg && echo "wrote out/topology.svg"; fi

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/awstopo
	for d in mappings models policies views deploy demo; do \
	    [ -d $$d ] && cp -R $$d $(DESTDIR)$(DATADIR)/ ; done; true

clean:
	rm -rf build build-asan build-fuzz awstopo
