# authgate — top-level build.
#   make setup   system packages, Debian's cJSON source, npm ci (idempotent)
#   make build   native library (build/) + wasm release (build-wasm/)
#   make dist    the publishable package in dist/ (release wasm)
#   make test    native tests, ASan/UBSan tests, fuzz smoke runs, valgrind, wasm debug + dist, Node, types, Playwright
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (default 60) each
#   make demo    dist, then the demo page
#   make clean   build outputs; make distclean also .deps/ and node_modules/

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := build

# emcc 3.1.6 from Debian needs Debian's node modules (acorn) on NODE_PATH.
export NODE_PATH := /usr/share/nodejs

CJSON_SOURCE := $(CURDIR)/.deps/cjson/source
JOBS := $(shell nproc 2>/dev/null || echo 2)
CMAKE_BUILD := cmake --build
CTEST := ctest --output-on-failure -j $(JOBS) --test-dir

step = @printf '\n==== %s ====\n' '$(1)'

.PHONY: setup build dist test demo clean distclean bench bench-quick bench-deps bench-native \
        native wasm wasm-debug asan fuzz-build fuzz \
        test-native test-asan test-fuzz test-valgrind test-wasm test-node test-types test-servers test-examples test-browser

setup:
	bash scripts/setup.sh

build: setup native wasm

dist: build
	bash scripts/build-dist.sh build-wasm

# Prerequisites run left to right (.NOTPARALLEL); the first failure stops make.
test: setup test-native test-asan test-fuzz test-valgrind test-wasm test-node test-types test-servers test-examples test-browser bench-quick
	@printf '\n==== all tests passed ====\n'

demo: setup dist
	bash scripts/demo.sh

clean:
	rm -rf build build-wasm build-wasm-debug build-asan build-bench build-fuzz dist test-results playwright-report

# Also forget the fetched cJSON source and node_modules (make setup brings them back).
distclean: clean
	rm -rf .deps node_modules

# ---------------------------------------------------------------- builds

native:
	$(call step,native build (build/))
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug
	$(CMAKE_BUILD) build --parallel $(JOBS)

asan:
	$(call step,native ASan/UBSan build (build-asan/))
	cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DAUTHGATE_SANITIZE=ON
	$(CMAKE_BUILD) build-asan --parallel $(JOBS)

wasm:
	$(call step,wasm release build (build-wasm/))
	emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
	$(CMAKE_BUILD) build-wasm --parallel $(JOBS)
	@ls -l build-wasm/authgate-core.wasm

wasm-debug:
	$(call step,wasm debug build (build-wasm-debug/))
	emcmake cmake -S . -B build-wasm-debug -DCMAKE_BUILD_TYPE=Debug -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
	$(CMAKE_BUILD) build-wasm-debug --parallel $(JOBS)

fuzz-build:
	$(call step,libFuzzer targets (build-fuzz/))
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DAUTHGATE_FUZZ=ON -DAUTHGATE_BUILD_TESTS=OFF
	$(CMAKE_BUILD) build-fuzz --parallel $(JOBS)

# ---------------------------------------------------------------- fuzzing
# Targets are tests/fuzz/fuzz_*.c; seeds are committed in tests/fuzz/corpus/<target>/.
# New inputs go to build-fuzz/corpus/<target>/ (the first, writable corpus folder), never
# into the committed seeds; crashes to build-fuzz/artifacts/. To keep a finding as a seed,
# copy it into tests/fuzz/corpus/<target>/ (libFuzzer's -merge=1 keeps only new coverage).
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_RUNS ?= 3000
FUZZ_TARGETS := $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

fuzz: fuzz-build
	@mkdir -p build-fuzz/artifacts
	@for t in $(FUZZ_TARGETS); do \
	  printf '\n==== fuzz %s for %ss ====\n' "$$t" '$(FUZZ_SECONDS)'; \
	  mkdir -p "build-fuzz/corpus/$$t"; \
	  if $(FUZZ_ENV) "build-fuzz/$$t" "build-fuzz/corpus/$$t" "tests/fuzz/corpus/$$t" \
	       -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	       -artifact_prefix="build-fuzz/artifacts/$$t-" > "build-fuzz/$$t.fuzz.log" 2>&1; then \
	    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' "build-fuzz/$$t.fuzz.log" || true; \
	  else echo "fuzz: $$t failed (artifact in build-fuzz/artifacts/)"; tail -n 60 "build-fuzz/$$t.fuzz.log"; exit 1; fi; \
	done

# ---------------------------------------------------------------- test steps

test-native: native
	$(call step,native unit tests (ctest build/))
	$(CTEST) build

test-asan: asan
	$(call step,native unit tests under ASan/UBSan (ctest build-asan/))
	$(CTEST) build-asan

# Each fuzz target over its committed seeds plus a bounded number of mutations
# (fixed seed: the same runs every time). A scratch folder comes first so
# nothing is written into tests/fuzz/corpus/.
test-fuzz: fuzz-build
	$(call step,fuzz smoke runs ($(FUZZ_SMOKE_RUNS) runs per target))
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf "build-fuzz/smoke/$$t"; mkdir -p "build-fuzz/smoke/$$t" build-fuzz/artifacts; \
	  printf '%-24s' "$$t"; \
	  if $(FUZZ_ENV) "build-fuzz/$$t" "build-fuzz/smoke/$$t" "tests/fuzz/corpus/$$t" \
	       -runs=$(FUZZ_SMOKE_RUNS) -seed=1 -timeout=10 -artifact_prefix="build-fuzz/artifacts/$$t-" \
	       > "build-fuzz/smoke/$$t.log" 2>&1; then \
	    grep -E '^Done [0-9]+ runs' "build-fuzz/smoke/$$t.log" || echo ok; \
	  else echo FAILED; tail -n 40 "build-fuzz/smoke/$$t.log"; exit 1; fi; \
	done

# The native unit tests (build/) under valgrind: no invalid access, no definite or indirect leak.
# tests/c/driver.h keeps a 1.6 MB action log on the stack; valgrind would take a frame that
# large for a stack switch (and report bogus invalid writes) without --max-stackframe.
VALGRIND := valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --max-stackframe=16777216 --main-stacksize=67108864 --suppressions=tests/valgrind.supp
test-valgrind: native
	$(call step,native unit tests under valgrind)
	@for t in $$(find build -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort); do \
	  printf '%-24s' "$$(basename $$t)"; \
	  if $(VALGRIND) "$$t" > "$$t.valgrind.log" 2>&1; then echo ok; \
	  else echo FAILED; tail -n 60 "$$t.valgrind.log"; exit 1; fi; \
	done

# The tests run against dist/ holding the debug wasm (assertions on).
test-wasm: wasm-debug
	$(call step,dist/ with the debug wasm)
	bash scripts/build-dist.sh build-wasm-debug

test-node:
	$(call step,Node tests (tests/js/))
	node --test tests/js/

test-types:
	$(call step,type check (tests/types/))
	npx --no-install tsc --noEmit -p tests/types

# The example apps (examples/): npm ci from their lockfiles when those or dist/ changed, then build.
test-examples:
	$(call step,example apps (examples/: install and build))
	bash examples/install.sh

test-servers:
	$(call step,real backends self-check (FastAPI, Flask, nginx, Django, recorder))
	node tests/servers/check_servers.mjs

test-browser:
	$(call step,browser tests (Playwright))
	npx --no-install playwright test

# ---------------------------------------------------------------- benchmarks (bench/, issue 5)
#   make bench        every group, < 10 min: tables, bench/results/latest.json, README's Benchmarks tables
#   make bench-quick  the same groups with few iterations (part of make test; nothing timed is asserted)

BENCH_NATIVE := build-bench/native_bench

bench: setup dist bench-deps bench-native
	$(call step,benchmarks (node bench/run.mjs --readme))
	node bench/run.mjs --readme

# Runs against dist/ as it is (make test leaves the debug wasm there).
bench-quick: bench-deps bench-native
	$(call step,quick benchmarks (node bench/run.mjs --quick))
	@[ -f dist/index.js ] || $(MAKE) dist
	node bench/run.mjs --quick

# The anchors (axios, ky, ofetch, the auth SDKs) and esbuild, from bench/package-lock.json.
bench-deps:
	@want=$$(cat bench/package.json bench/package-lock.json | sha256sum | cut -d' ' -f1); \
	stamp=bench/node_modules/.authgate-lock.sha256; \
	if [ "$$(cat $$stamp 2>/dev/null)" != "$$want" ]; then \
	  echo "bench: npm ci (bench/)"; (cd bench && npm ci --no-audit --no-fund --loglevel=error); \
	  echo "$$want" > $$stamp; \
	fi

# The core built -O2 (build-bench/) and bench/native_bench.c linked with it, for callgrind.
bench-native:
	@command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DAUTHGATE_BUILD_TESTS=OFF >/dev/null
	@$(CMAKE_BUILD) build-bench --parallel $(JOBS) >/dev/null
	cc -O2 -Wall -Wextra -Werror -Iinclude bench/native_bench.c build-bench/libauthgate.a \
	  build-bench/libauthgate_cjson.a -o $(BENCH_NATIVE)
