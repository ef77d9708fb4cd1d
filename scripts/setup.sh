#!/usr/bin/env bash
# Prepares a Debian 12 machine (as root) to build and test authgate. Idempotent and
# non-interactive (CI has no stdin); a second run does nothing that is already done.
#   1. Debian packages (scripts/setup-system.sh; it also enables deb-src)
#   2. Debian's cJSON source, patches applied, in .deps/cjson/ (git-ignored);
#      .deps/cjson/source points at it (AUTHGATE_CJSON_SOURCE_DIR for the wasm build)
#   3. npm ci at the root, in bench/ and in tests/servers/oidc/, each skipped when its
#      node_modules matches its lockfile
# It is the one step that installs anything; the build and test targets only check.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# 1. System packages
bash scripts/setup-system.sh

# 2. cJSON source for the WebAssembly build (never copied into the repository)
cjson_dir="$root/.deps/cjson"
if [ ! -f "$cjson_dir/source/cJSON.c" ]; then
  echo "setup: fetching Debian's cjson source into .deps/cjson"
  rm -rf "$cjson_dir"
  mkdir -p "$cjson_dir"
  # apt downloads as the unprivileged _apt user when it can write the folder.
  if id _apt >/dev/null 2>&1; then chown _apt "$cjson_dir"; fi
  fetch() { (cd "$cjson_dir" && apt-get source -qq cjson >/dev/null); }
  if ! fetch; then
    # The deb-src lists may be missing or stale (e.g. the sources file already existed).
    apt-get update -qq
    fetch
  fi
  src=$(find "$cjson_dir" -mindepth 1 -maxdepth 1 -type d -name 'cjson-*' | sort | tail -n1)
  if [ -z "$src" ] || [ ! -f "$src/cJSON.c" ]; then
    echo "setup: apt-get source cjson did not unpack a cjson-*/cJSON.c" >&2
    exit 1
  fi
  ln -sfn "$(basename "$src")" "$cjson_dir/source"
fi

# 3. Node packages from the committed lockfiles: the root, the benchmarks' anchors, and
#    the OpenID provider the browser tests sign in against (tests/servers/oidc/, its own lockfile)
npm_ci() {
  local dir=$1
  [ -f "$dir/package-lock.json" ] || return 0
  local stamp="$dir/node_modules/.authgate-lock.sha256"
  local want
  want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: npm ci ($dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}
npm_ci .
npm_ci bench
npm_ci tests/servers/oidc
