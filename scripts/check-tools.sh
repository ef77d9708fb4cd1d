#!/usr/bin/env bash
# Says which tools a build step needs and which of them are missing, before the step
# fails somewhere deep inside CMake or npm. Installs nothing: `make setup` does that
# on Debian 12 (as root); elsewhere, install the tools named here.
#   bash scripts/check-tools.sh native|asan|wasm|node|valgrind|format|browser|servers ...
set -uo pipefail
root="$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)"
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 ($2)"); }
# The cJSON source the build compiles: AUTHGATE_CJSON_SOURCE_DIR (as make passes it), else .deps/.
cjson_checked=0
cjson_source() {
  local dir="${AUTHGATE_CJSON_SOURCE_DIR:-$root/.deps/cjson/source}"
  [ "$cjson_checked" = 1 ] && return
  cjson_checked=1
  [ -f "$dir/cJSON.c" ] ||
    missing+=("cJSON.c in $dir (make setup fetches Debian's; or make AUTHGATE_CJSON_SOURCE_DIR=<a cJSON 1.7.x checkout>)")
}

for group in "$@"; do
  case "$group" in
    native) need cmake 'cmake'; need cc 'a C11 compiler, e.g. gcc'; cjson_source ;;
    asan) need cmake 'cmake'; need clang 'clang 14 or later, with its sanitizer and libFuzzer runtimes'; cjson_source ;;
    wasm)
      need emcmake 'Emscripten 3.1.x'; need emcc 'Emscripten 3.1.x'; need node 'Node.js 18 or later'; cjson_source ;;
    node)
      need node 'Node.js 18 or later'; need npm 'npm'
      [ -d "$root/node_modules/typescript" ] || missing+=("node_modules (npm ci at the repository root)") ;;
    valgrind) need valgrind 'valgrind' ;;
    format) need clang-format 'clang-format 14 (the committed .clang-format)' ;;
    browser) [ -x /usr/bin/chromium ] || missing+=("/usr/bin/chromium (Debian's chromium package)") ;;
    servers) need nginx 'nginx'; [ -x /usr/bin/python3 ] || missing+=("/usr/bin/python3 with FastAPI, Flask, Django (see scripts/setup-system.sh)") ;;
    *) echo "check-tools: unknown group '$group'" >&2; exit 2 ;;
  esac
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "missing for '$*':" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "On Debian 12, as root: make setup (installs all of them). Elsewhere: install the above." >&2
  exit 1
fi
