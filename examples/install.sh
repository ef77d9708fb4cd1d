#!/usr/bin/env bash
# Installs the example apps from their committed lockfiles (npm ci), authgate from the packed
# tarball (authgate-<version>.tgz at the repository root, written by make pack) exactly as from
# a registry, then type-checks the apps that have a typecheck script (vue-tsc) and builds each
# one (vite build / next build). Idempotent: an app is reinstalled only when its package.json,
# its lockfile or the tarball changed.
#   bash examples/install.sh [--no-build] [APP ...]     (default: vue-pinia react react-oidc next)
#
# The lockfiles record authgate's tarball without an integrity hash on purpose: the tarball is
# rebuilt from the working tree, so its hash changes with every edit, and npm ci would refuse it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
export NEXT_TELEMETRY_DISABLED=1 NEXT_IGNORE_INCORRECT_LOCKFILE=1

build=1
apps=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) apps+=("$arg") ;;
  esac
done
[ "${#apps[@]}" -gt 0 ] || apps=(vue-pinia react react-oidc next)

version=$(node -p 'require(process.argv[1]).version' "$root/js/package.json")
tarball="authgate-$version.tgz"
[ -f "$root/$tarball" ] || { echo "examples: $tarball is missing; run make pack first" >&2; exit 1; }
tarball_hash=$(sha256sum "$root/$tarball" | cut -d' ' -f1)

for app in "${apps[@]}"; do
  dir="$here/$app"
  grep -q "\"authgate\": \"file:../../$tarball\"" "$dir/package.json" ||
    { echo "examples/$app: package.json must depend on \"authgate\": \"file:../../$tarball\"" >&2; exit 1; }
  if node -e 'process.exit(require(process.argv[1]).packages["node_modules/authgate"].integrity ? 0 : 1)' \
       "$dir/package-lock.json"; then
    echo "examples/$app: package-lock.json pins authgate's integrity; remove it (see the top of this script)" >&2
    exit 1
  fi
  stamp="$dir/node_modules/.authgate-install.sha256"
  want=$({ cat "$dir/package.json" "$dir/package-lock.json"; echo "$tarball_hash"; } | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "examples/$app: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  else
    echo "examples/$app: installed, up to date"
  fi
  [ ! -L "$dir/node_modules/authgate" ] || { echo "examples/$app: node_modules/authgate is a link, not an install" >&2; exit 1; }
  if [ "$build" = 1 ] && node -e 'process.exit(require(process.argv[1]).scripts?.typecheck ? 0 : 1)' "$dir/package.json"; then
    (cd "$dir" && npm run --silent typecheck >"$dir/typecheck.log" 2>&1) || { cat "$dir/typecheck.log" >&2; exit 1; }
    echo "examples/$app: type-checked (log: examples/$app/typecheck.log)"
  fi
  if [ "$build" = 1 ]; then
    start=$(date +%s%N)
    (cd "$dir" && npm run --silent build >"$dir/build.log" 2>&1) || { cat "$dir/build.log" >&2; exit 1; }
    echo "examples/$app: built in $(( ($(date +%s%N) - start) / 1000000 )) ms (log: examples/$app/build.log)"
  fi
done
