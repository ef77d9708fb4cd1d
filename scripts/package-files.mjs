// The files dist/ holds besides the code: README.md, LICENSE and CHANGELOG.md from the
// repository root, and a CommonJS view of every declaration file (X.d.cts beside X.d.ts).
//
// Why the .d.cts: the package is ES modules ("type": "module"), so TypeScript reads every
// .d.ts as an ES module, and a CommonJS TypeScript project importing it gets TS1479. The
// "require" types condition in package.json points such projects at X.d.cts instead: the
// same declarations, with relative imports rewritten to the .cjs names so the CommonJS
// view stays self-contained. The .d.ts files stay the one hand-written source.
//   node scripts/package-files.mjs DIST_DIR
import fs from 'node:fs';
import path from 'node:path';

const dist = process.argv[2];
if (!dist || !fs.existsSync(dist)) {
  console.error('package-files: usage: node scripts/package-files.mjs DIST_DIR (an existing folder)');
  process.exit(1);
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

for (const doc of ['README.md', 'LICENSE', 'CHANGELOG.md']) {
  fs.copyFileSync(path.join(root, doc), path.join(dist, doc));
}

const relativeJs = /(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]+)\.js\2/g;
for (const name of fs.readdirSync(dist)) {
  if (!name.endsWith('.d.ts')) continue;
  const esm = fs.readFileSync(path.join(dist, name), 'utf8');
  const cjs = esm.replace(relativeJs, (_, lead, quote, stem) => `${lead}${quote}${stem}.cjs${quote}`);
  fs.writeFileSync(path.join(dist, name.replace(/\.d\.ts$/, '.d.cts')), cjs);
}
