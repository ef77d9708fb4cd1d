#!/usr/bin/env bash
# Writes dist/, the publishable package:
#   js/*.js and js/*.d.ts (flat), authgate-core.js + authgate-core.wasm from a wasm
#   build folder, and package.json (from js/package.json, or generated).
# Usage: scripts/build-dist.sh [WASM_BUILD_DIR]   (default build-wasm, the release build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
wasm_dir="${1:-build-wasm}"
dist=dist

for f in authgate-core.js authgate-core.wasm; do
  [ -f "$wasm_dir/$f" ] || { echo "build-dist: $wasm_dir/$f is missing (build the wasm first)" >&2; exit 1; }
done

rm -rf "$dist"
mkdir -p "$dist"
shopt -s nullglob
js_files=(js/*.js js/*.d.ts)
shopt -u nullglob
if [ "${#js_files[@]}" -gt 0 ]; then
  cp "${js_files[@]}" "$dist/"
fi
cp "$wasm_dir/authgate-core.js" "$wasm_dir/authgate-core.wasm" "$dist/"

# package.json: js/package.json if the shim provides one (minus its dev-only fields),
# otherwise generated with an exports entry for each adapter present in js/.
node --input-type=module - "$dist" <<'EOF'
import fs from 'node:fs';
import path from 'node:path';
const dist = process.argv[2];
const has = (f) => fs.existsSync(path.join(dist, f));
let pkg;
if (fs.existsSync('js/package.json')) {
  pkg = JSON.parse(fs.readFileSync('js/package.json', 'utf8'));
  delete pkg.devDependencies;
  delete pkg.scripts;
} else {
  const entry = (base) => ({
    ...(has(`${base}.d.ts`) ? { types: `./${base}.d.ts` } : {}),
    import: `./${base}.js`,
    default: `./${base}.js`,
  });
  const exports = { '.': entry('index') };
  for (const name of ['react', 'vue', 'axios', 'next']) {
    if (has(`${name}.js`)) exports[`./${name}`] = entry(name);
  }
  exports['./authgate-core.wasm'] = './authgate-core.wasm';
  exports['./package.json'] = './package.json';
  pkg = {
    name: 'authgate',
    version: '0.1.0',
    description: 'Browser auth client: a C core compiled to WebAssembly with a small JS shim',
    type: 'module',
    main: './index.js',
    module: './index.js',
    types: './index.d.ts',
    exports,
    sideEffects: false,
    license: 'UNLICENSED',
  };
}
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
