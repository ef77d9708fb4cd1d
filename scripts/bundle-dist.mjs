#!/usr/bin/env node
// Bundles dist/index.js and every module it imports (core, executor, guard, ...)
// into one ES module, so a page loads one file before the wasm instead of a
// waterfall of nine. Called by scripts/build-dist.sh after it copied js/ into dist/.
//
//   node scripts/bundle-dist.mjs DIST
//
// - The adapters (react, vue, axios, next, next-server) stay separate files: they
//   import './index.js', so every entry point shares the one core instance.
// - The bundle keeps relative URLs only (the .wasm beside it), so dist/ still loads
//   as a plain <script type="module"> from any folder, and through Vite and
//   Next.js, which read the literal new URL('./authgate-core.wasm', import.meta.url).
// - It also exports `__core`, the namespace of the core bindings (not part of the
//   API, not in index.d.ts): dist/core.js re-exports its members, so the tests and
//   the bench read the same instance the app gets.
// - A module index.js imports only dynamically (diagnose.js) stays a file of its
//   own, fetched on first use; it must import nothing, or it would hold copies.
// - The modules absorbed into the bundle are removed from dist/, so nothing can
//   import a second copy of them by accident.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(process.argv[2] ?? path.join(root, 'dist'));
const fail = (message) => {
  console.error(`bundle-dist: ${message}`);
  process.exit(1);
};

let esbuild;
try {
  esbuild = createRequire(path.join(root, 'package.json'))('esbuild');
} catch {
  fail('esbuild is missing: run make setup (npm ci installs the root devDependencies)');
}

// Dynamic imports stay imports of the file beside the bundle.
const lazy = new Set();
const lazyModules = {
  name: 'lazy-modules',
  setup(build) {
    build.onResolve({ filter: /^\.\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      lazy.add(path.resolve(args.resolveDir, args.path));
      return { path: args.path, external: true };
    });
  },
};

const coreNames = Object.keys(await import(pathToFileURL(path.join(dist, 'core.js')).href));
const result = await esbuild.build({
  stdin: {
    contents: "export * from './index.js';\nexport * as __core from './core.js';\n",
    resolveDir: dist,
    sourcefile: 'bundle-entry.js',
    loader: 'js',
  },
  bundle: true,
  plugins: [lazyModules],
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  charset: 'utf8',
  write: false,
  metafile: true,
  logLevel: 'warning',
});

const absorbed = Object.keys(result.metafile.inputs)
  .filter((file) => path.basename(file) !== 'bundle-entry.js')
  .map((file) => path.resolve(root, file));
const outside = absorbed.filter((file) => path.dirname(file) !== dist);
if (outside.length) fail(`the bundle pulled in files outside ${dist}: ${outside.join(', ')}`);
for (const file of lazy) {
  const alone = await esbuild.build({ entryPoints: [file], bundle: true, write: false, metafile: true, logLevel: 'silent' });
  const inputs = Object.keys(alone.metafile.inputs);
  if (inputs.length !== 1) fail(`${path.basename(file)} is loaded lazily and must import nothing, but imports ${inputs.slice(1).join(', ')}`);
}
// A file left beside the bundle (an adapter) may import './index.js', never a module the
// bundle absorbed: that import would find no file, or a second copy of the core.
const absorbedNames = new Set(absorbed.map((file) => path.basename(file)).filter((n) => n !== 'index.js'));
for (const file of fs.readdirSync(dist).filter((f) => f.endsWith('.js'))) {
  if (absorbedNames.has(file) || file === 'index.js') continue;
  const text = fs.readFileSync(path.join(dist, file), 'utf8');
  for (const [, spec] of text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.\/[^'"]+)['"]/g)) {
    if (absorbedNames.has(spec.slice(2))) fail(`${file} imports ${spec}, which is inside the bundle: import it from './index.js'`);
  }
}
for (const file of absorbed) fs.rmSync(file, { force: true });

const banner = '// authgate: the shim and its modules in one file (scripts/bundle-dist.mjs).\n';
fs.writeFileSync(path.join(dist, 'index.js'), banner + result.outputFiles[0].text);
fs.writeFileSync(
  path.join(dist, 'core.js'),
  '// The core bindings of the one instance bundled in index.js, for tests and benchmarks.\n' +
    `import { __core } from './index.js';\n\nexport const { ${coreNames.join(', ')} } = __core;\n`,
);
const names = absorbed.map((file) => path.basename(file)).sort();
const kept = [...lazy].map((file) => path.basename(file)).sort();
console.log(`bundle-dist: index.js now holds ${names.join(', ')}; loaded on first use: ${kept.join(', ') || 'none'}; core.js re-exports its core bindings`);
