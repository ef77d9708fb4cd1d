#!/usr/bin/env bash
# Installs the example apps from their committed lockfiles (npm ci; .npmrc's install-links copies
# authgate from dist/ as the registry would), then builds each one (vite build / next build).
# Idempotent: an app is reinstalled only when its package.json, its lockfile or dist/ changed.
#   bash examples/install.sh [--no-build] [APP ...]     (default: vue-pinia react next)
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
[ "${#apps[@]}" -gt 0 ] || apps=(vue-pinia react next)

[ -f "$root/dist/package.json" ] || { echo "examples: dist/ is missing; run make dist first" >&2; exit 1; }
dist_hash=$(cd "$root/dist" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)

for app in "${apps[@]}"; do
  dir="$here/$app"
  stamp="$dir/node_modules/.authgate-install.sha256"
  want=$({ cat "$dir/package.json" "$dir/package-lock.json"; echo "$dist_hash"; } | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "examples/$app: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  else
    echo "examples/$app: installed, up to date"
  fi
  if [ "$build" = 1 ]; then
    start=$(date +%s%N)
    (cd "$dir" && npm run --silent build >"$dir/build.log" 2>&1) || { cat "$dir/build.log" >&2; exit 1; }
    echo "examples/$app: built in $(( ($(date +%s%N) - start) / 1000000 )) ms (log: examples/$app/build.log)"
  fi
done
