# authgate — top-level build.
#   make setup   system packages, Debian's cJSON source, npm ci (idempotent)
#   make build   native library (build/) + wasm release (build-wasm/)
#   make dist    the publishable package in dist/ (release wasm)
#   make test    native tests, ASan/UBSan tests, wasm debug + dist, Node, types, Playwright
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

.PHONY: setup build dist test demo clean distclean \
        native wasm wasm-debug asan \
        test-native test-asan test-wasm test-node test-types test-browser

setup:
	bash scripts/setup.sh

build: setup native wasm

dist: build
	bash scripts/build-dist.sh build-wasm

# Prerequisites run left to right (.NOTPARALLEL); the first failure stops make.
test: setup test-native test-asan test-wasm test-node test-types test-browser
	@printf '\n==== all tests passed ====\n'

demo: setup dist
	bash scripts/demo.sh

clean:
	rm -rf build build-wasm build-wasm-debug build-asan dist test-results playwright-report

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
	@ls -l build-wasm/authgate-core.js build-wasm/authgate-core.wasm

wasm-debug:
	$(call step,wasm debug build (build-wasm-debug/))
	emcmake cmake -S . -B build-wasm-debug -DCMAKE_BUILD_TYPE=Debug -DAUTHGATE_CJSON_SOURCE_DIR=$(CJSON_SOURCE)
	$(CMAKE_BUILD) build-wasm-debug --parallel $(JOBS)

# ---------------------------------------------------------------- test steps

test-native: native
	$(call step,native unit tests (ctest build/))
	$(CTEST) build

test-asan: asan
	$(call step,native unit tests under ASan/UBSan (ctest build-asan/))
	$(CTEST) build-asan

# The tests run against dist/ holding the debug wasm (assertions on).
test-wasm: wasm-debug
	$(call step,dist/ with the debug wasm)
	bash scripts/build-dist.sh build-wasm-debug

test-node:
	$(call step,Node tests (tests/js/))
	@if [ -n "$$(find tests/js -type f \( -name '*.js' -o -name '*.mjs' \) 2>/dev/null)" ]; then \
	  echo "node --test tests/js/"; node --test tests/js/; \
	else echo "skipped: no tests in tests/js/"; fi

test-types:
	$(call step,type check (tests/types/))
	@if [ -f tests/types/tsconfig.json ] && [ -n "$$(find tests/types -name '*.ts' -o -name '*.tsx')" ]; then \
	  echo "npx tsc --noEmit -p tests/types"; npx --no-install tsc --noEmit -p tests/types; \
	else echo "skipped: no .ts files in tests/types/"; fi

test-browser:
	$(call step,browser tests (Playwright))
	@if [ -f playwright.config.js ]; then \
	  echo "npx playwright test"; npx --no-install playwright test; \
	else echo "skipped: no playwright.config.js"; fi
