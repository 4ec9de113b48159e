# flag_eval: PGXS build of the extension, plus the project's drivers:
#   make up     install dependencies, build, install, start the local topology (make down stops it)
#   make test   every test: lint, unit tests (conformance included), pg_regress, TAP, a short fuzz
#               run, then the same tests under ASan + UBSan (make test-sanitize)
#   make lint   clang-format, the SQL-literal check and shellcheck
#   make bench  benchmarks, results in bench/RESULTS.md
#   make drill  failure drills under load, results in docs/resilience.md

EXTENSION   = flag_eval
MODULE_big  = flag_eval
CORE_SRCS   = $(sort $(wildcard src/core/*.cpp))
PG_SRCS     = $(sort $(wildcard src/pg/*.cpp))
OBJS        = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
DATA        = $(sort $(wildcard sql/flag_eval--*.sql))
# sql/ holds install and upgrade scripts only; pg_regress reads test/sql/<test>.sql and compares
# with test/expected/<test>.out.
REGRESS     = $(sort $(notdir $(basename $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=$(BUILD)/regress

LIBS_CORE   = -lre2 -lxxhash -lcrypto -lboost_json
PG_CPPFLAGS = -Isrc
# -Wno-register: PostgreSQL headers (s_lock.h) use the C storage class C++17 removed.
PG_CXXFLAGS = -std=c++20 -fvisibility=hidden -Wno-missing-field-initializers -Wno-register
SHLIB_LINK  = $(LIBS_CORE) -lstdc++
PG_CONFIG ?= pg_config
# Quiet when pg_config is missing: on a fresh machine `make up` and `make test` install it first
# (the deps target), then build in a sub-make that finds it.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# PGXS also emits LLVM bitcode with clang; it needs the same C++ dialect. PGXS defines the
# command only when unset, so this must follow the include.
COMPILE.cxx.bc += $(PG_CXXFLAGS)

# PGXS tracks no header dependencies: rebuild the extension's objects when any header changes
# (a stale object after a core signature change leaves flag_eval.so with an undefined symbol).
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/core/*.hpp src/pg/*.hpp)

# ---- core unit tests (GoogleTest), built apart from the extension's objects ----
BUILD        ?= build
# Aggregates (answers, contexts) leave trailing members to their defaults, as the extension does.
UNIT_CXXFLAGS = -std=c++20 -O2 -g -Wall -Wextra -Wno-missing-field-initializers -Isrc $(SANITIZE)
UNIT_SRCS     = $(sort $(wildcard test/unit/*.cpp))
UNIT_OBJS     = $(patsubst %.cpp,$(BUILD)/%.o,$(CORE_SRCS) $(UNIT_SRCS))

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(UNIT_CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/unit_tests: $(UNIT_OBJS)
	$(CXX) $(UNIT_CXXFLAGS) -o $@ $^ -lgtest -lgtest_main -pthread $(LIBS_CORE)

-include $(UNIT_OBJS:.o=.d)

# ---- the decide service (src/decide) and its GoogleTest suite (test/decide) ----
# One binary, build/flag-decide: src/core + src/decide, Boost.Asio/Beast/JSON, libpq, zlib,
# TCMalloc.
PG_INCLUDEDIR  := $(shell $(PG_CONFIG) --includedir 2>/dev/null)
DECIDE_SRCS     = $(filter-out src/decide/main.cpp,$(sort $(wildcard src/decide/*.cpp src/decide/*/*.cpp)))
DECIDE_TEST_SRCS = $(sort $(wildcard test/decide/*.cpp))
LIBS_DECIDE     = $(LIBS_CORE) -lboost_url -lpq -lz -pthread
DECIDE_BIN      = $(BUILD)/flag-decide
DECIDE_OBJS     = $(patsubst %.cpp,$(BUILD)/%.o,$(CORE_SRCS) $(DECIDE_SRCS))
DECIDE_TEST_OBJS = $(patsubst %.cpp,$(BUILD)/%.o,$(DECIDE_TEST_SRCS))

# GCC 12 warns falsely that Asio's coroutine frames are freed by a mismatched delete (GCC PR
# 109224: unsized class operator new paired with sized delete).
$(BUILD)/src/decide/%.o $(BUILD)/test/decide/%.o: UNIT_CXXFLAGS += -I$(PG_INCLUDEDIR) -Wno-mismatched-new-delete

# The service allocates and frees a few kB per request on every thread: glibc's malloc took about
# a tenth of its CPU (perf; bench/SERVICE_PROFILE.md), TCMalloc's per-thread caches much less.
# Linked by file name: its -dev package would pull in a libunwind that conflicts with LLVM's.
# Not under the sanitizers, which bring an allocator of their own.
DECIDE_ALLOCATOR = $(if $(SANITIZE),,-l:libtcmalloc_minimal.so.4)

$(DECIDE_BIN): $(DECIDE_OBJS) $(BUILD)/src/decide/main.o
	$(CXX) $(UNIT_CXXFLAGS) -o $@ $^ $(LIBS_DECIDE) $(DECIDE_ALLOCATOR)

$(BUILD)/decide_tests: $(DECIDE_OBJS) $(DECIDE_TEST_OBJS)
	$(CXX) $(UNIT_CXXFLAGS) -o $@ $^ -lgtest -lgtest_main $(LIBS_DECIDE)

-include $(DECIDE_OBJS:.o=.d) $(DECIDE_TEST_OBJS:.o=.d) $(BUILD)/src/decide/main.d

.PHONY: decide decide-unit
decide: $(DECIDE_BIN)

# The service's unit tests; those that need PostgreSQL get a throw-away cluster (PGHOST etc.).
decide-unit: $(BUILD)/decide_tests
	scripts/with-temp-cluster.sh $(BUILD)/decide_tests

.PHONY: deps check-checkout lint unit regress test up down bench
# Stops at once, with what to do, when the postgres account could not read this checkout.
check-checkout:
	@scripts/check-checkout.sh

deps: check-checkout
	scripts/install-deps.sh

# The style and the rules no compiler checks (the first stage of make test).
lint:
	scripts/lint.sh

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# pg_regress against a throw-away cluster that runs as the unprivileged postgres account.
regress: all
	$(MAKE) install
	@mkdir -p $(BUILD)/regress
	scripts/with-temp-cluster.sh $(MAKE) installcheck

# TAP tests (test/t/*.pl, PostgreSQL::Test::Cluster: primary + streaming standby), run by prove
# as the unprivileged postgres account; logs in $(BUILD)/tap/log. PROVE_TESTS picks files.
.PHONY: tap
tap: all decide
	$(MAKE) install
	PG_CONFIG='$(PG_CONFIG)' scripts/run-tap.sh $(PROVE_TESTS)

test: deps
	scripts/run-tests.sh

# The local topology (deploy/): a primary, two standbys, a PgBouncer per standby, flag-decide
# with sample data; prints how to use it. Running it again does no harm; `make down` stops it.
up: deps
	$(MAKE) all decide
	$(MAKE) install
	deploy/up.sh

down:
	deploy/down.sh

# The failure drills (test/drill/; never part of `make test`, whose short form is
# test/t/020_drill_short.pl): faults under steady /flags traffic at 70 % of the measured
# capacity, a 10-minute soak with the faults cycling, then the faults at 400/s with a busy loop
# per core; figures in docs/resilience.md. About 15 minutes.
.PHONY: drill
drill: check-checkout all decide
	$(MAKE) install
	/usr/bin/python3 test/drill/drill.py --soak 600 --report docs/resilience.md

clean: clean-build
clean-build:
	rm -rf $(BUILD)

# ---- benchmarks (never part of `make test`): figures in bench/RESULTS.md ----
# The core benchmark: src/core and bench/own/core_bench.cpp at -O2 in their own object directory
# (never sanitized, never shared with the unit tests' objects), plus Google Benchmark.
BENCH_CORE     = $(BUILD)/bench/core_bench
BENCH_CXXFLAGS = -std=c++20 -O2 -g -Wall -Wextra -Isrc
BENCH_OBJS     = $(patsubst %.cpp,$(BUILD)/bench/obj/%.o,$(CORE_SRCS) bench/own/core_bench.cpp)

$(BUILD)/bench/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(BENCH_CXXFLAGS) -MMD -MP -c $< -o $@

$(BENCH_CORE): $(BENCH_OBJS)
	$(CXX) $(BENCH_CXXFLAGS) -o $@ $^ -lbenchmark -lbenchmark_main -pthread $(LIBS_CORE)

-include $(BENCH_OBJS:.o=.d)

bench: deps
	$(MAKE) all decide install
	$(MAKE) $(BENCH_CORE)
	BENCH_CORE=$(BENCH_CORE) bench/run.sh

# ---- libFuzzer targets (test/fuzz/; never the g++ objects): clang-14, ASan + UBSan ----
# build/fuzz/<target> for each test/fuzz/<target>.cpp; `make fuzz` runs each for FUZZ_SECONDS, `make
# fuzz-short` is the short run of `make test`. Seeds come from the conformance corpus at run time.
FUZZ_CXX       ?= clang++-14
FUZZ_SECONDS   ?= 120
FUZZ_SANITIZE   = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CXXFLAGS   = -std=c++20 -O1 -g -Wall -Wextra -Isrc -I$(PG_INCLUDEDIR) $(FUZZ_SANITIZE)
FUZZ_TARGETS    = $(sort $(notdir $(basename $(wildcard test/fuzz/*_fuzz.cpp))))
FUZZ_BINS       = $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
FUZZ_CORE_OBJS  = $(patsubst %.cpp,$(BUILD)/fuzz/obj/%.o,$(CORE_SRCS))
FUZZ_DECIDE_OBJS = $(patsubst %,$(BUILD)/fuzz/obj/src/decide/%.o,http/request_body api/decide_request api/local_evaluation)

# Engine and service code get coverage instrumentation; only the target links libFuzzer's main.
$(BUILD)/fuzz/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(BUILD)/fuzz/flag_definition_fuzz $(BUILD)/fuzz/property_matching_fuzz: $(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/test/fuzz/%.o $(FUZZ_CORE_OBJS)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS_CORE)

$(BUILD)/fuzz/request_body_fuzz: $(BUILD)/fuzz/obj/test/fuzz/request_body_fuzz.o $(FUZZ_DECIDE_OBJS) $(FUZZ_CORE_OBJS)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS_CORE) -lz

-include $(patsubst %.cpp,$(BUILD)/fuzz/obj/%.d,$(CORE_SRCS) $(wildcard test/fuzz/*.cpp)) $(FUZZ_DECIDE_OBJS:.o=.d)

.PHONY: fuzz-build fuzz fuzz-short
fuzz-build: $(FUZZ_BINS)

# Replays test/fuzz/regressions/<target>/ first, then fuzzes from the conformance seeds.
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=$(BUILD) test/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-short: fuzz-build
	FUZZ_SECONDS=10 BUILD=$(BUILD) test/fuzz/run.sh $(FUZZ_TARGETS)

# ---- sanitizers (the last stage of `make test`): unit, service, pg_regress and TAP tests under
# AddressSanitizer + UndefinedBehaviorSanitizer (the extension under UBSan only: see the script), everything in build/sanitize (a private copy of
# the PostgreSQL installation included: the system's extension directory is never touched).
.PHONY: test-sanitize
test-sanitize: deps
	scripts/test-sanitize.sh
