#!/usr/bin/env bash
# Writes dist/, the publishable package:
#   js/*.js and js/*.d.ts (flat), authgate-core.wasm and authgate-core-oidc.wasm from a
#   wasm build folder,
#   README.md, LICENSE, CHANGELOG.md, X.d.cts beside each X.d.ts
#   (scripts/package-files.mjs), and package.json (from js/package.json).
# Usage: scripts/build-dist.sh [WASM_BUILD_DIR]   (default build-wasm, the release build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
wasm_dir="${1:-build-wasm}"
dist=dist

for m in authgate-core authgate-core-oidc; do
  [ -f "$wasm_dir/$m.wasm" ] || { echo "build-dist: $wasm_dir/$m.wasm is missing (build the wasm first)" >&2; exit 1; }
done

rm -rf "$dist"
mkdir -p "$dist"
cp js/*.js js/*.d.ts "$dist/"
cp "$wasm_dir/authgate-core.wasm" "$wasm_dir/authgate-core-oidc.wasm" "$dist/"
# README.md, LICENSE, CHANGELOG.md and the CommonJS type views (X.d.cts).
node scripts/package-files.mjs "$dist"

# ---- bundling step (scripts/bundle-dist.mjs) ----
# index.js and the modules it imports become one ES module; the adapters stay
# separate files importing './index.js' (one core instance for every entry point).
node scripts/bundle-dist.mjs "$dist"
# ---- end of the bundling step ----

# package.json: js/package.json minus its dev-only fields.
node --input-type=module - "$dist" <<'EOF'
import fs from 'node:fs';
import path from 'node:path';
const dist = process.argv[2];
const has = (f) => fs.existsSync(path.join(dist, f));
const pkg = JSON.parse(fs.readFileSync('js/package.json', 'utf8'));
delete pkg.devDependencies;
delete pkg.scripts;
fs.writeFileSync(path.join(dist, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');

// Every file the package points at must be in dist/.
const targets = [];
const walk = (v) => {
  if (typeof v === 'string') targets.push(v);
  else if (v && typeof v === 'object') Object.values(v).forEach(walk);
};
walk(pkg.exports);
for (const k of ['main', 'module', 'types']) if (pkg[k]) targets.push(pkg[k]);
const missing = [...new Set(targets)].filter((t) => !t.includes('*') && !has(t));
if (missing.length) {
  console.error(`build-dist: package.json points at files not in ${dist}/: ${missing.join(', ')}`);
  process.exit(1);
}
EOF
echo "build-dist: wrote $dist/ ($(ls "$dist" | wc -l) files, wasm from $wasm_dir)"
