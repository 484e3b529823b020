# awstopo -- build, test, install.
#
#   make              build ./awstopo
#   make test         every test (unit, conformance, integration, mappings)
#   make test-asan    the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make lint         luacheck on mappings/
#   make bench        benchmarks (figures, not pass/fail)
#   make demo         scan the bundled demo account into out/
#   make install PREFIX=/usr/local
#
# Every core/*.c except main.c goes into build/libawstopo.a; each
# tests/unit/test_*.c links against it as its own program.

PKGS    := lua5.4 libcurl libcjson libcrypto expat zlib
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
CORE_OBJ  := $(CORE_SRC:core/%.c=$(BUILD)/core/%.o) $(BUILD)/gen/engine_lua.o
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
BIN       := $(if $(filter build,$(BUILD)),awstopo,$(BUILD)/awstopo)

.PHONY: all test test-asan lint bench install clean models demo FORCE
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

# core/engine.lua is compiled into the binary (see tools/embed.sh).
$(BUILD)/gen/engine_lua.c: core/engine.lua tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh engine_lua $< > $@

$(BUILD)/gen/engine_lua.o: $(BUILD)/gen/engine_lua.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libawstopo.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/core/main.o $(BUILD)/libawstopo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testlib.h $(BUILD)/libawstopo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libawstopo.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libawstopo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libawstopo.a $(LDFLAGS) $(LDLIBS)

test: $(BIN) $(TEST_BIN)
	AWSTOPO_BIN=$(abspath $(BIN)) AWSTOPO_BUILD=$(abspath $(BUILD)) tests/run

test-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

lint:
	luacheck --codes mappings/

bench: $(BIN) $(BENCH_BIN)
	AWSTOPO_BIN=$(abspath $(BIN)) AWSTOPO_BUILD=$(abspath $(BUILD)) bench/run

models:
	python3 tools/gen-models.py

# The main job on the bundled demo account: no AWS account, no StackState.
demo: $(BIN)
	@mkdir -p out
	./$(BIN) scan --demo --output out/intake.json --format json --output out/topology.json --output out/topology.dot
	@if command -v dot >/dev/null; then dot -Tsvg out/topology.dot > out/topology.svg && echo "wrote out/topology.svg"; fi

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/awstopo
	for d in mappings models policies views deploy demo; do \
	    [ -d $$d ] && cp -R $$d $(DESTDIR)$(DATADIR)/ ; done; true

clean:
	rm -rf build build-asan awstopo
