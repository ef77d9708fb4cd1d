#!/usr/bin/env bash
# The package as a stranger gets it: a fresh strict-TypeScript Vite app, made from
# tests/package/app/ in build-pack/app/, installs the packed tarball (npm ci from the
# committed lockfile; the tarball is a real install, not a link), then
#   1. tsc --strict (bundler resolution, exactOptionalPropertyTypes, ...) on src/
#   2. a CommonJS TypeScript project (module Node16) importing every entry point: no TS1479
#   3. moduleResolution "node" (node10) finding every entry point, authgate/next/server too
#   4. at run time, require() of every entry point gives what import gives (Node >= 20.19)
#   5. vite build, and the built app carries the wasm as an asset
# Needs authgate-<version>.tgz at the repository root (make pack, or scripts/pack.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
version=$(node -p 'require("./js/package.json").version')
tarball="authgate-$version.tgz"
[ -f "$tarball" ] || { echo "package test: $tarball is missing; run make pack (or scripts/pack.sh) first" >&2; exit 1; }
grep -q "\"file:../../$tarball\"" "$here/app/package.json" ||
  { echo "package test: tests/package/app/package.json must depend on file:../../$tarball (version $version)" >&2; exit 1; }

app="$root/build-pack/app"
rm -rf "$app"
mkdir -p "$(dirname "$app")"
cp -r "$here/app" "$app"
cd "$app"
echo "package test: npm ci in build-pack/app (authgate from $tarball)"
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
installed=$(node -p 'require("./node_modules/authgate/package.json").version')
[ "$installed" = "$version" ] || { echo "package test: installed authgate $installed, expected $version" >&2; exit 1; }
[ ! -L node_modules/authgate ] || { echo "package test: node_modules/authgate is a link, not an install" >&2; exit 1; }

run() { printf 'package test: %-52s' "$1"; shift; if out=$("$@" 2>&1); then echo ok; else echo FAILED; echo "$out" >&2; exit 1; fi; }
run 'tsc --strict, bundler resolution (src/)' npx --no-install tsc --strict --noEmit -p tsconfig.json
run 'tsc --strict, CommonJS project (cjs/)' npx --no-install tsc --strict --noEmit -p cjs/tsconfig.json
run 'tsc --strict, moduleResolution node (node10/)' npx --no-install tsc --strict --noEmit -p node10/tsconfig.json
run 'require() matches import, every entry point' node cjs/require-check.cjs
run 'vite build' npx --no-install vite build
ls dist/assets/*.wasm >/dev/null 2>&1 || { echo "package test: the Vite build carries no .wasm asset" >&2; exit 1; }
echo "package test: built $(ls dist/assets | wc -l) assets, wasm $(du -k dist/assets/*.wasm | cut -f1) KB"
