#!/usr/bin/env bash
# Packs dist/ as it is into authgate-<version>.tgz at the repository root (npm pack), then
# checks the tarball holds what ships and nothing else: package.json, README.md, LICENSE,
# CHANGELOG.md, the modules with their .d.ts/.d.cts, the wasm, and every file
# package.json points at. Prints the tarball's path on the last line.
#   bash scripts/pack.sh          (make pack builds the release dist/ first)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -f dist/package.json ] || { echo "pack: dist/ is missing; run make dist first" >&2; exit 1; }

version=$(node -p 'require("./dist/package.json").version')
tarball="authgate-$version.tgz"
rm -f "$tarball"
(cd dist && npm pack --pack-destination "$root" --silent --loglevel=error >/dev/null)
[ -f "$tarball" ] || { echo "pack: npm pack did not write $tarball" >&2; exit 1; }

node --input-type=module - "$tarball" <<'JS'
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
const tarball = process.argv[2];
const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
  .split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
const pkg = JSON.parse(fs.readFileSync('dist/package.json', 'utf8'));
const problems = [];
for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'authgate-core.wasm', 'authgate-core-oidc.wasm', 'index.js', 'core.js'])
  if (!files.includes(f)) problems.push(`missing ${f}`);
const shipped = /^(?:[a-z-]+\.(?:js|d\.ts|d\.cts)|authgate-core(?:-oidc)?\.wasm|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/;
for (const f of files) if (!shipped.test(f)) problems.push(`unexpected ${f}`);
const targets = [];
const walk = (v) => (typeof v === 'string' ? targets.push(v) : v && typeof v === 'object' && Object.values(v).forEach(walk));
walk(pkg.exports);
walk(pkg.typesVersions);
for (const k of ['main', 'module', 'types']) if (pkg[k]) targets.push(pkg[k]);
for (const t of new Set(targets)) {
  const f = t.replace(/^\.\//, '');
  if (!f.includes('*') && !files.includes(f)) problems.push(`package.json points at ${t}, not in the tarball`);
}
if (problems.length) {
  console.error(`pack: ${tarball}: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`pack: ${tarball}: ${files.length} files, ${(fs.statSync(tarball).size / 1024).toFixed(1)} KB`);
JS
echo "$root/$tarball"
