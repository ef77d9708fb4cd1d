# authgate — top-level build.
#   make setup   the one target that installs anything: Debian packages (as root), Debian's
#                cJSON source, npm ci at the root and in bench/ (idempotent)
#   make build   native library (build/) + wasm release (build-wasm/); the default goal.
#                Installs nothing and needs no root; says what is missing (scripts/check-tools.sh)
#   make dist    the publishable package in dist/ (release wasm)
#   make pack    dist/, then authgate-<version>.tgz (npm pack) at the root
#   make test    native tests, ASan/UBSan tests, fuzz smoke runs, valgrind, Node (debug, then release wasm), types,
#                the packed tarball in a fresh strict-TypeScript app and in the examples, Playwright (release)
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (default 60) each
#   make fuzz-campaign  every target for 10,000,000 runs (hours; the figures in SECURITY.md)
#   make demo    dist, then the demo page
#   make clean   build outputs; make distclean also .deps/ and node_modules/

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := build

# emcc 3.1.6 from Debian needs Debian's node modules (acorn) on NODE_PATH. Only the emcc
# steps get it: anywhere else it could hide a missing devDependency.
EMCC_ENV := NODE_PATH=/usr/share/nodejs$(if $(NODE_PATH),:$(NODE_PATH))

# The cJSON source every build compiles (make setup fetches Debian's); override it with
# make AUTHGATE_CJSON_SOURCE_DIR=/path/to/cJSON.
AUTHGATE_CJSON_SOURCE_DIR ?= $(CURDIR)/.deps/cjson/source
CJSON_SOURCE := $(AUTHGATE_CJSON_SOURCE_DIR)
CHECK_TOOLS := AUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE) bash scripts/check-tools.sh
JOBS := $(shell nproc 2>/dev/null || echo 2)
CMAKE_BUILD := cmake --build
CTEST := ctest --output-on-failure -j $(JOBS) --test-dir

step = @printf '\n==== %s ====\n' '$(1)'

.PHONY: setup build dist pack test demo clean distclean bench bench-quick bench-deps bench-native \
        native wasm wasm-debug dist-release asan fuzz-build fuzz fuzz-campaign \
        test-format test-native test-asan test-fuzz test-valgrind test-wasm test-node test-types test-servers test-pack \
        test-package test-examples test-browser

setup:
	bash scripts/setup.sh

build: native wasm

dist: wasm
	bash scripts/build-dist.sh build-wasm

pack: dist
	bash scripts/pack.sh

# Prerequisites run left to right (.NOTPARALLEL); the first failure stops make.
# make test and make demo run make setup first (it installs only what is missing).
test: setup test-format test-native test-asan test-fuzz test-valgrind test-wasm test-node test-types test-servers test-package test-examples test-browser bench-quick
	@for m in authgate-core authgate-core-oidc; do \
	  cmp -s build-wasm/$$m.wasm dist/$$m.wasm || { echo "make test: dist/ does not hold the release $$m.wasm"; exit 1; }; done
	@printf '\n==== all tests passed ====\n'

demo: setup dist
	bash scripts/demo.sh

clean:
	rm -rf build build-wasm build-wasm-debug build-asan build-bench build-fuzz build-fuzz-campaign build-pack dist authgate-*.tgz \
	  test-results playwright-report

# Also forget the fetched cJSON source and node_modules (make setup brings them back).
distclean: clean
	rm -rf .deps node_modules

# ---------------------------------------------------------------- builds

native:
	$(call step,native build (build/))
	@$(CHECK_TOOLS) native
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
	$(CMAKE_BUILD) build --parallel $(JOBS)

asan:
	$(call step,native ASan/UBSan build (build-asan/))
	@$(CHECK_TOOLS) asan
	cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DAUTHGATE_SANITIZE=ON \
	  -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
	$(CMAKE_BUILD) build-asan --parallel $(JOBS)

wasm:
	$(call step,wasm release build (build-wasm/))
	@$(CHECK_TOOLS) wasm
	$(EMCC_ENV) emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
	$(EMCC_ENV) $(CMAKE_BUILD) build-wasm --parallel $(JOBS)
	@ls -l build-wasm/authgate-core.wasm build-wasm/authgate-core-oidc.wasm

wasm-debug:
	$(call step,wasm debug build (build-wasm-debug/))
	@$(CHECK_TOOLS) wasm
	$(EMCC_ENV) emcmake cmake -S . -B build-wasm-debug -DCMAKE_BUILD_TYPE=Debug -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
	$(EMCC_ENV) $(CMAKE_BUILD) build-wasm-debug --parallel $(JOBS)

fuzz-build:
	$(call step,libFuzzer targets (build-fuzz/))
	@$(CHECK_TOOLS) asan
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DAUTHGATE_FUZZ=ON -DAUTHGATE_BUILD_TESTS=OFF -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
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

# The long campaign behind SECURITY.md's figures: RUNS (10,000,000) executions per target.
fuzz-campaign: setup
	bash scripts/fuzz-campaign.sh

# ---------------------------------------------------------------- test steps

# Every C file of the project in the committed style (.clang-format).
C_SOURCES = $(wildcard src/*.c src/*.h src/wasm/*.c include/*.h tests/c/*.c tests/c/*.h tests/fuzz/*.c tests/fuzz/*.h bench/*.c)
test-format:
	$(call step,C formatting (clang-format --dry-run --Werror))
	@$(CHECK_TOOLS) format
	clang-format --dry-run --Werror $(C_SOURCES)

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
	@$(CHECK_TOOLS) valgrind
	@for t in $$(find build -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort); do \
	  printf '%-24s' "$$(basename $$t)"; \
	  if $(VALGRIND) "$$t" > "$$t.valgrind.log" 2>&1; then echo ok; \
	  else echo FAILED; tail -n 60 "$$t.valgrind.log"; exit 1; fi; \
	done

# Both wasm builds; test-node installs each into dist/ in turn.
test-wasm: wasm-debug wasm

# The Node suite against the debug wasm (assertions on), then against the release wasm that
# ships; dist/ is left holding the release build, whatever the debug pass says.
# test-types, test-pack and test-browser use dist-release: what ships.
test-node: test-wasm
	$(call step,Node tests (tests/js/) against the debug wasm)
	@$(CHECK_TOOLS) node
	bash scripts/build-dist.sh build-wasm-debug
	node --test tests/js/ || { bash scripts/build-dist.sh build-wasm; exit 1; }
	$(call step,Node tests (tests/js/) against the release wasm)
	bash scripts/build-dist.sh build-wasm
	node --test tests/js/

# dist/ with the release wasm, for the suites that must run what ships.
dist-release: wasm
	bash scripts/build-dist.sh build-wasm

test-types: dist-release
	$(call step,type check (tests/types/))
	@$(CHECK_TOOLS) node
	npx --no-install tsc --noEmit -p tests/types

# dist/ packed as a stranger would get it: authgate-<version>.tgz (scripts/pack.sh checks its contents).
test-pack: dist-release
	$(call step,npm pack of dist/ (authgate-<version>.tgz))
	bash scripts/pack.sh

# A fresh strict-TypeScript Vite app installs the tarball: tsc --strict (bundler, CommonJS,
# moduleResolution node) and vite build (tests/package/run.sh).
test-package: test-pack
	$(call step,the tarball in a fresh strict-TypeScript Vite app (build-pack/app))
	bash tests/package/run.sh

# The example apps (examples/): npm ci from their lockfiles (authgate from the tarball) when
# those or the tarball changed, then type-check (vue-tsc) and build.
test-examples: test-pack
	$(call step,example apps (examples/: install the tarball, type-check and build))
	bash examples/install.sh

test-servers:
	$(call step,real backends self-check (FastAPI, Flask, nginx, Django, recorder, OpenID provider, resource server))
	@$(CHECK_TOOLS) servers
	node tests/servers/check_servers.mjs

# The example specs drive the built, installed examples: test-examples (a no-op when nothing changed).
test-browser: dist-release test-examples
	$(call step,browser tests (Playwright, release wasm))
	@$(CHECK_TOOLS) node browser
	npx --no-install playwright test

# ---------------------------------------------------------------- benchmarks (bench/)
#   make bench        every group, < 10 min: tables, bench/results/latest.json, README's Benchmarks tables
#   make bench-quick  the same groups with few iterations (part of make test; nothing timed is asserted)

BENCH_NATIVE := build-bench/native_bench

bench: dist bench-deps bench-native
	$(call step,benchmarks (node bench/run.mjs --readme))
	node bench/run.mjs --readme

# Runs against the release wasm, what ships.
bench-quick: dist-release bench-deps bench-native
	$(call step,quick benchmarks (node bench/run.mjs --quick))
	node bench/run.mjs --quick

# The anchors (axios, ky, ofetch, the auth SDKs) and esbuild: make setup installs them from
# bench/package-lock.json; this only checks they match the lockfile.
bench-deps:
	@want=$$(cat bench/package.json bench/package-lock.json | sha256sum | cut -d' ' -f1); \
	if [ "$$(cat bench/node_modules/.authgate-lock.sha256 2>/dev/null)" != "$$want" ]; then \
	  echo "bench: bench/node_modules is missing or older than bench/package-lock.json: run make setup" >&2; exit 1; \
	fi

# The core built -O2 (build-bench/) and bench/native_bench.c linked with it, for callgrind.
bench-native:
	@$(CHECK_TOOLS) native valgrind
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DAUTHGATE_BUILD_TESTS=OFF \
	  -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE) >/dev/null
	@$(CMAKE_BUILD) build-bench --parallel $(JOBS) >/dev/null
	cc -O2 -Wall -Wextra -Werror -Iinclude bench/native_bench.c build-bench/libauthgate.a \
	  build-bench/libauthgate_cjson.a -o $(BENCH_NATIVE)
