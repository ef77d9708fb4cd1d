#!/usr/bin/env node
// make bench / make bench-quick: authgate against plain fetch and the libraries
// apps use today, in Debian's Chromium against a loopback backend (bench/server.mjs).
//
//   node bench/run.mjs            full run (< 10 min): tables, bench/results/latest.json + latest.md
//   node bench/run.mjs --readme   also replaces the table between the bench markers in README.md
//   node bench/run.mjs --quick    few iterations (make test): tables, bench/results/tmp/quick.json
//   node bench/run.mjs --dist DIR --build-wasm DIR   measure another build (e.g. an older one, side by side)
//   node bench/run.mjs --size     the size groups only (seconds)
//   node bench/run.mjs --out DIR  write latest.json and latest.md there instead of bench/results/
//
// Groups: 1 per-call cost, 2 refresh storm, 3 tabs, 4 cold start, 5 size, 6 wasm memory,
// 7 native instructions (callgrind). Nothing here asserts on time: a target that is missed
// is reported as missed, and the run only fails when a benchmark cannot run at all.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { startBenchServer } from './server.mjs';
import { breakdown, LIBC } from './wasm-size.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const argv = process.argv.slice(2);
const args = new Set(argv);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
// The release build: dist/ as make dist writes it, and the wasm build folder it came from
// (authgate-core.names.wasm there gives the size by source file and function).
const dist = option('--dist', join(root, 'dist'));
const wasmBuild = option('--build-wasm', join(root, 'build-wasm'));
const tmp = join(here, 'results', 'tmp');
const vendor = join(tmp, 'vendor');
const QUICK = args.has('--quick');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const NATIVE = process.env.NATIVE_BENCH ?? join(root, 'build-bench', 'native_bench');

const P = QUICK
  ? { n: 200, repsNet: 2, repsStub: 3, stormNet: [100], stormFake: [100, 1000], tabs: [2], tabReps: 1, coldReps: 2, memory: 1000, native: [100, 1000] }
  : { n: 2000, repsNet: 3, repsStub: 15, stormNet: [100], stormFake: [100, 10000], tabs: [2, 5, 10], tabReps: 3, coldReps: 10, memory: 10000, native: [1000, 10000] };

const CLIENTS = ['fetch', 'authgate', 'axios', 'ky', 'ofetch'];
const LABEL = {
  fetch: 'raw fetch (hand-set bearer)',
  authgate: 'authgate gate.fetch',
  axios: 'axios + interceptor + axios-auth-refresh',
  ky: 'ky + beforeRequest/afterResponse hooks',
  ofetch: 'ofetch + onRequest/onResponseError',
};

const t0 = Date.now();
const log = (...a) => console.error(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 2) => (x == null || Number.isNaN(x) ? '—' : Number(x).toFixed(d));
const kb = (b) => (b / 1024).toFixed(1);

/** A plain-text table (also used, with pipes, for the README). */
function table(title, head, rows) {
  const cells = [head, ...rows].map((r) => r.map((c) => String(c)));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(`\n${title}\n${'-'.repeat(title.length)}\n${line(cells[0])}\n${cells.slice(1).map(line).join('\n')}`);
  const md = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of cells.slice(1)) md.push(`| ${r.join(' | ')} |`);
  return `**${title}**\n\n${md.join('\n')}\n`;
}

const results = { quick: QUICK, params: P };
const markdown = [];

// ---------------------------------------------------------------- bundles (esbuild)

const ANCHORS = {
  'axios + axios-auth-refresh': "import axios from 'axios'; import refresh from 'axios-auth-refresh'; export { axios, refresh };",
  ky: "export { default } from 'ky';",
  ofetch: "export { ofetch } from 'ofetch';",
  'oidc-client-ts': "export { UserManager } from 'oidc-client-ts';",
  '@supabase/auth-js': "export { AuthClient } from '@supabase/auth-js';",
  '@auth0/auth0-spa-js': "export { createAuth0Client } from '@auth0/auth0-spa-js';",
  '@azure/msal-browser': "export { PublicClientApplication } from '@azure/msal-browser';",
};
const ADAPTERS = ['axios', 'react', 'vue', 'next'];
const EXTERNAL = ['./index.js', './core.js', 'react', 'react/*', 'react-dom', 'vue', 'axios', 'next', 'next/*', 'pinia'];

async function bundle({ entry, contents, outfile, external = [], metafile = false }) {
  const common = {
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    external,
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile,
  };
  const out = await esbuild.build(
    contents ? { ...common, stdin: { contents, resolveDir: here, loader: 'js' } } : { ...common, entryPoints: [entry] },
  );
  const code = Buffer.from(out.outputFiles[0].contents);
  if (outfile) {
    mkdirSync(dirname(outfile), { recursive: true });
    writeFileSync(outfile, code);
  }
  return metafile ? { code, metafile: out.metafile } : code;
}

/**
 * An app's bundle of `contents` with code splitting, as Vite/Rollup and webpack
 * split dynamic imports: `first` is what the page downloads before any lazy
 * import (the entry chunk and its static imports), `lazy` the chunks fetched on
 * first use. sizes() of each chunk are summed: they are separate downloads.
 */
async function splitBundle(contents) {
  const out = await esbuild.build({
    stdin: { contents, resolveDir: here, loader: 'js' },
    bundle: true,
    splitting: true,
    outdir: join(tmp, 'split'),
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = out.metafile.outputs;
  const byPath = new Map(out.outputFiles.map((f) => [f.path, Buffer.from(f.contents)]));
  const abs = (p) => join(root, p);
  const entry = Object.keys(outputs).find((p) => outputs[p].entryPoint);
  const first = new Set();
  const visit = (p) => {
    if (first.has(p)) return;
    first.add(p);
    for (const i of outputs[p].imports) if (i.kind === 'import-statement' && outputs[i.path]) visit(i.path);
  };
  visit(entry);
  const sum = (paths) => {
    const parts = paths.filter((p) => p.endsWith('.js')).map((p) => sizes(byPath.get(abs(p)) ?? byPath.get(p)));
    return { min: parts.reduce((n, x) => n + x.min, 0), gzip: parts.reduce((n, x) => n + x.gzip, 0), brotli: parts.reduce((n, x) => n + x.brotli, 0) };
  };
  const rest = Object.keys(outputs).filter((p) => !first.has(p) && p.endsWith('.js'));
  const inputs = {};
  for (const p of first) Object.assign(inputs, outputs[p].inputs);
  // Each lazy chunk by the module files it holds (dpop.js: fetched by a gate with dpop only).
  const holds = (p, name) => Object.keys(outputs[p].inputs).some((file) => file.split('/').pop() === name);
  const lazyDpop = rest.filter((p) => holds(p, 'dpop.js'));
  const lazyInputs = {};
  for (const p of lazyDpop) Object.assign(lazyInputs, outputs[p].inputs);
  return {
    first: sum([...first]),
    lazy: sum(rest.filter((p) => !lazyDpop.includes(p))),
    lazyDpop: sum(lazyDpop),
    inputs,
    lazyInputs,
  };
}

/**
 * What an app's bundler ships for authgate: every public export of dist/index.js
 * (names starting with __ are the tests' handle on the core, which an app's
 * bundler drops as unused), bundled and minified.
 */
async function appEntry(dir = dist) {
  const names = Object.keys(await import(pathToFileURL(join(dist, 'index.js')).href)).filter((n) => !n.startsWith('__'));
  return `export { ${names.join(', ')} } from ${JSON.stringify(join(dir, 'index.js'))};`;
}

const gzip = (b) => zlib.gzipSync(b, { level: 9 }).length;
const brotli = (b) =>
  zlib.brotliCompressSync(b, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length },
  }).length;
const sizes = (b) => ({ min: b.length, gzip: gzip(b), brotli: brotli(b) });

async function buildVendor() {
  await bundle({ entry: join(here, 'vendor-entry.js'), outfile: join(vendor, 'clients.js') });
  await bundle({ contents: ANCHORS.ky, outfile: join(vendor, 'ky.js') });
  // authgate as one file, for the cold-start comparison (the glue finds the .wasm next to it).
  await bundle({ contents: await appEntry(), outfile: join(vendor, 'authgate.js') });
  for (const f of ['authgate-core.wasm', 'authgate-core-oidc.wasm']) copyFileSync(join(dist, f), join(vendor, f));
}

// ---------------------------------------------------------------- group 5: size

async function groupSize() {
  const app = await splitBundle(await appEntry());
  // The same modules from js/ (dist/index.js is already one file): esbuild's bytes per module.
  const bySource = await splitBundle(await appEntry(join(root, 'js')));
  const wasm = readFileSync(join(dist, 'authgate-core.wasm'));
  const j = app.first;
  const w = sizes(wasm);
  const wo = sizes(readFileSync(join(dist, 'authgate-core-oidc.wasm')));
  const plus = (a, b) => ({ min: a.min + b.min, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli });
  const rows = [];
  const out = {
    // With oidc and dpop the page also fetches the DPoP key store (a lazy chunk).
    authgate: { js: j, lazy: app.lazy, jsDpop: app.lazyDpop, wasm: w, wasmOidc: wo, total: plus(j, w), totalOidc: plus(plus(j, app.lazyDpop), wo) },
    adapters: {},
    anchors: {},
  };
  rows.push(['authgate: JS (the public exports of dist/index.js, as an app bundles them)', kb(j.min), kb(j.gzip), kb(j.brotli)]);
  rows.push(['authgate: JS loaded on first use only (diagnose)', kb(app.lazy.min), kb(app.lazy.gzip), kb(app.lazy.brotli)]);
  rows.push(['authgate: authgate-core.wasm (a gate without oidc)', kb(w.min), kb(w.gzip), kb(w.brotli)]);
  rows.push(['authgate: total shipped without oidc (JS + authgate-core.wasm)', kb(out.authgate.total.min), kb(out.authgate.total.gzip), kb(out.authgate.total.brotli)]);
  rows.push(['authgate: authgate-core-oidc.wasm (a gate with oidc, dpop)', kb(wo.min), kb(wo.gzip), kb(wo.brotli)]);
  rows.push(['authgate: JS a gate with dpop loads besides (dpop.js)', kb(app.lazyDpop.min), kb(app.lazyDpop.gzip), kb(app.lazyDpop.brotli)]);
  rows.push(['authgate: total shipped with oidc and dpop (JS + dpop.js + authgate-core-oidc.wasm)', kb(out.authgate.totalOidc.min), kb(out.authgate.totalOidc.gzip), kb(out.authgate.totalOidc.brotli)]);
  for (const name of ADAPTERS) {
    const file = join(dist, `${name}.js`);
    if (!existsSync(file)) {
      out.adapters[name] = null;
      rows.push([`authgate/${name} (adapter alone)`, 'not built', '', '']);
      continue;
    }
    const s = sizes(await bundle({ entry: file, external: EXTERNAL }));
    out.adapters[name] = s;
    rows.push([`authgate/${name} (adapter alone)`, kb(s.min), kb(s.gzip), kb(s.brotli)]);
  }
  for (const [name, contents] of Object.entries(ANCHORS)) {
    const s = sizes(await bundle({ contents }));
    out.anchors[name] = s;
    rows.push([name, kb(s.min), kb(s.gzip), kb(s.brotli)]);
  }
  results.size = out;
  markdown.push(table('5. Size (KB; esbuild --bundle --minify, gzip -9, brotli q11)', ['what', 'min', 'gzip -9', 'brotli'], rows));
  sizeByModule(bySource.inputs, bySource.first.min, j, w, bySource.lazyInputs, bySource.lazyDpop, app.lazyDpop);
}

/**
 * Where the shipped bytes go: the JS by module (esbuild's bytes in the minified
 * output) and the wasm by source file (bench/wasm-size.mjs). The gzip column is
 * each row's share of its file's gzip size, proportional to its bytes: gzip
 * sizes do not add up by part, so it is an estimate.
 */
function sizeByModule(inputs, jsMin, j, w, dpopInputs = {}, dpopSource = null, dpopShipped = null) {
  const out = { js: [], wasm: null };
  const rows = [];
  const jsRows = Object.entries(inputs)
    .map(([file, v]) => ({ module: file.split('/').pop(), bytes: v.bytesInOutput }))
    .filter((r) => r.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  const jsBytes = jsRows.reduce((n, r) => n + r.bytes, 0);
  for (const r of jsRows) {
    r.gzip = Math.round((r.bytes / jsMin) * j.gzip);
    out.js.push(r);
    rows.push([`JS ${r.module}`, String(r.bytes), '', String(r.gzip)]);
  }
  rows.push(['JS bundle glue (esbuild)', String(jsMin - jsBytes), '', String(Math.round(((jsMin - jsBytes) / jsMin) * j.gzip))]);
  for (const [file, v] of Object.entries(dpopInputs)) {
    if (!v.bytesInOutput || !dpopSource?.min) continue;
    const gzipShare = Math.round((v.bytesInOutput / dpopSource.min) * (dpopShipped?.gzip ?? dpopSource.gzip));
    rows.push([`JS, with dpop only: ${file.split('/').pop()}`, String(v.bytesInOutput), '', String(gzipShare)]);
  }
  let note = '';
  try {
    const b = breakdown(wasmBuild, [join(root, 'src'), join(root, 'src', 'wasm'), join(root, '.deps', 'cjson', 'source')]);
    if (b.total !== w.min) throw new Error(`${wasmBuild} holds a ${b.total} B module, dist/ a ${w.min} B one`);
    out.wasm = b;
    for (const r of b.files) rows.push([`wasm ${r.file === LIBC ? r.file : r.file.startsWith('other') ? r.file : `src ${r.file}`}`, String(r.code), String(r.data), String(r.gzip)]);
    // What authgate-core-oidc.wasm has besides: the files only the OpenID module holds.
    const bo = breakdown(wasmBuild, [join(root, 'src'), join(root, 'src', 'wasm'), join(root, '.deps', 'cjson', 'source')], 'authgate-core-oidc');
    out.wasmOidc = bo;
    const base = new Set(b.files.map((r) => r.file));
    for (const r of bo.files.filter((f) => !base.has(f.file))) {
      rows.push([`wasm, OpenID module only: src ${r.file}`, String(r.code), String(r.data), String(r.gzip)]);
    }
    const top = b.functions.slice(0, 12).map((f) => `${f.name} ${f.bytes}`).join(', ');
    note = `\nLargest wasm functions (bytes of code): ${top}.\n`;
  } catch (error) {
    note = `\nwasm by source file: not measured (${error.message}).\n`;
  }
  results.sizeByModule = out;
  console.log(note.trim());
  markdown.push(
    table('5b. Where the shipped bytes go (bytes; code and strings per source file; gzip ≈ share of the file\'s gzip -9)', ['part', 'code / min', 'strings', '≈ gzip -9'], rows) + note,
  );
}

// ---------------------------------------------------------------- group 7: native (callgrind)

function callgrind(n) {
  const file = join(tmp, `callgrind.${n}.out`);
  execFileSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${file}`, NATIVE, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const text = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ir = {};
  for (const m of text.matchAll(/^\s*([\d,]+)\s+\([^)]*\)\s+\S*:(bench_\w+)/gm)) ir[m[2]] = Number(m[1].replaceAll(',', ''));
  return ir;
}

function groupNative() {
  if (!existsSync(NATIVE)) throw new Error(`${NATIVE} is missing: build it with make bench-native`);
  const out = {};
  const rows = [];
  for (const n of P.native) {
    const ir = callgrind(n);
    const r = {
      sequential: ir.bench_sequential / n,
      plannedCall: ir.bench_calls / n,
      processedResponse: ir.bench_responses / n,
      stormPerCall: ir.bench_storm / n,
    };
    out[n] = r;
    rows.push([String(n), fmt(r.plannedCall, 0), fmt(r.processedResponse, 0), fmt(r.sequential, 0), fmt(r.stormPerCall, 0)]);
  }
  const [a, b] = P.native;
  out.stormGrowth = out[b].stormPerCall / out[a].stormPerCall;
  results.native = out;
  markdown.push(
    table(
      '7. Native instructions (callgrind, -O2, per call)',
      ['calls n', 'planned call (n in flight)', 'processed response', 'call+response (1 in flight)', 'storm: per call incl. refresh'],
      rows,
    ) + `\nStorm cost per call grows ${fmt(out.stormGrowth)}× from ${a} to ${b} calls (1.00× = linear).\n`,
  );
}

// ---------------------------------------------------------------- browser groups

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function openBenchPage(context, origin) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${origin}/bench/page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15000 }).catch(() => {
    throw new Error(`the bench page did not load: ${errors.join('; ') || 'no error reported'}`);
  });
  return page;
}

async function groupPerCall(browser, origin) {
  const context = await browser.newContext();
  const page = await openBenchPage(context, origin);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  results.timer = await page.evaluate(() => window.bench.timerResolution());
  log('timer', JSON.stringify(results.timer));

  const out = {};
  for (const stub of [false, true]) {
    const mode = stub ? 'stub' : 'loopback';
    const reps = stub ? P.repsStub : P.repsNet;
    const runs = Object.fromEntries(CLIENTS.map((c) => [c, []]));
    for (const c of CLIENTS) await page.evaluate(([name, s]) => window.bench.prepare(name, s), [c, stub]);
    for (let rep = 0; rep < reps; rep++) {
      const order = CLIENTS.map((_, i) => CLIENTS[(i + rep) % CLIENTS.length]); // rotate: A B C, B C A, ...
      for (const c of order) {
        const before = await metrics();
        const wall = await withTimeout(
          page.evaluate(([name, s, n]) => window.bench.loop(name, s, n), [c, stub, P.n]),
          180000,
          `${c} ${mode} loop`,
        );
        const after = await metrics();
        const per = (k) => ((after[k] - before[k]) * 1e6) / P.n; // seconds → µs per call
        runs[c].push({ wallUs: (wall * 1000) / P.n, taskUs: per('TaskDuration'), scriptUs: per('ScriptDuration'), processUs: per('ProcessTime') });
      }
    }
    const summary = {};
    for (const c of CLIENTS) {
      summary[c] = {
        wallUs: median(runs[c].map((r) => r.wallUs)),
        taskUs: median(runs[c].map((r) => r.taskUs)),
        scriptUs: median(runs[c].map((r) => r.scriptUs)),
        processUs: median(runs[c].map((r) => r.processUs)),
        wallSpread: spread(runs[c].map((r) => r.wallUs)),
        taskSpread: spread(runs[c].map((r) => r.taskUs)),
        runs: runs[c],
      };
    }
    const base = summary.fetch;
    for (const c of CLIENTS) {
      const s = summary[c];
      s.wallRatio = s.wallUs / base.wallUs;
      s.taskRatio = s.taskUs / base.taskUs;
      s.ownUs = s.wallUs - base.wallUs;
    }
    out[mode] = summary;
    const rows = CLIENTS.map((c) => {
      const s = summary[c];
      return [LABEL[c], fmt(s.wallUs, 1), `±${fmt(s.wallSpread * 100, 0)}%`, fmt(s.wallRatio), fmt(s.taskUs, 1), `±${fmt(s.taskSpread * 100, 0)}%`, fmt(s.taskRatio), fmt(s.scriptUs, 1)];
    });
    markdown.push(
      table(
        `1${stub ? 'b' : 'a'}. Per call, ${stub ? 'in-page stub fetch (the library\'s own cost)' : 'loopback server'}: ${P.n} sequential GETs × ${reps} interleaved runs, medians`,
        ['client', 'wall µs', 'spread', '× fetch', 'renderer CPU µs', 'spread', '× fetch', 'script µs'],
        rows,
      ),
    );
  }
  results.perCall = out;
  await context.close();
}

/** Half the interquartile range relative to the median: how much a run varies. */
function spread(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length < 3) return (s[s.length - 1] - s[0]) / 2 / median(s);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return (q(0.75) - q(0.25)) / 2 / median(s);
}

async function groupStorm(browser, origin) {
  const context = await browser.newContext();
  const page = await openBenchPage(context, origin);
  const variants = [
    ['authgate', 'server', 'authgate (server revoked the token: 401 → refresh → replay)'],
    ['authgate', 'known', 'authgate (expiry known to the gate: refresh before sending)'],
    ['axios', 'server', LABEL.axios],
    ['ky', 'server', `${LABEL.ky}, shared refresh promise`],
    ['ofetch', 'server', `${LABEL.ofetch}, shared refresh promise`],
  ];
  const out = { net: {}, fake: {} };
  for (const where of ['net', 'fake']) {
    const sizes = where === 'net' ? P.stormNet : P.stormFake;
    const rows = [];
    for (const [name, expiry, label] of variants) {
      const key = `${name}:${expiry}`;
      const r = (out[where][key] = {});
      for (const n of sizes) {
        r[n] = await withTimeout(
          page.evaluate(([c, k, e, w]) => window.bench.storm(c, k, e, w), [name, n, expiry, where]),
          240000,
          `${key} storm of ${n} (${where})`,
        );
        log(`storm ${where} ${key} ${n}: ${r[n].ok}/${n} ok, ${r[n].server.refreshServed}+${r[n].server.refreshRefused} refreshes, ${fmt(r[n].ms, 0)} ms`);
      }
      const row = [label];
      for (const n of sizes) row.push(`${r[n].server.refreshServed}+${r[n].server.refreshRefused}`, `${r[n].ok}/${n}`, fmt(r[n].ms, 0));
      if (sizes.length > 1) {
        const [a, b] = [sizes[0], sizes[sizes.length - 1]];
        r.growth = r[b].ms / r[a].ms;
        r.perCallGrowth = r[b].ms / b / (r[a].ms / a);
        row.push(fmt(r.growth, 1), fmt(r.perCallGrowth));
      }
      rows.push(row);
    }
    const head = ['client'];
    for (const n of sizes) head.push(`refreshes ${n} (served+refused)`, `ok ${n}`, `ms ${n}`);
    if (sizes.length > 1) head.push('time ×', 'per-call ×');
    const title =
      where === 'net'
        ? `2a. Refresh storm against the loopback server: ${sizes.join(' and ')} concurrent calls, access token expired (refresh takes 20 ms, refresh tokens rotate)`
        : `2b. Refresh storm against an in-page fake of the same server (answers a task later; refresh 20 ms): ${sizes.join(' and ')} concurrent calls`;
    const note =
      sizes.length > 1
        ? `\nper-call × is (ms per call at ${sizes[sizes.length - 1]}) ÷ (ms per call at ${sizes[0]}): about 1 or below is linear growth, well above 1 is superlinear.\n`
        : '';
    markdown.push(table(title, head, rows) + note);
  }
  results.storm = out;
  await context.close();
}

async function groupTabs(browser, origin) {
  const out = {};
  const rows = [];
  for (const count of P.tabs) {
    const reps = [];
    for (let rep = 0; rep < P.tabReps; rep++) {
      const context = await browser.newContext();
      const pages = [];
      for (let i = 0; i < count; i++) pages.push(await openBenchPage(context, origin));
      const first = await pages[0].evaluate(() => window.bench.tabOpen({ first: true }));
      const states = [first];
      for (const p of pages.slice(1)) states.push(await p.evaluate(() => window.bench.tabOpen({ first: false })));
      await fetch(`${origin}/__expire`, { method: 'POST' });
      await fetch(`${origin}/__reset`, { method: 'POST' });
      const at = Date.now() + 300;
      const fired = await withTimeout(
        Promise.all(pages.map((p) => p.evaluate((when) => window.bench.tabFire(when), at))),
        60000,
        `${count} tabs`,
      );
      const server = await (await fetch(`${origin}/__counters`)).json();
      const start = Math.min(...fired.map((f) => f.start));
      reps.push({
        states,
        ok: fired.filter((f) => f.ok).length,
        errors: fired.filter((f) => !f.ok).map((f) => f.error),
        refreshServed: server.refreshServed,
        refreshRefused: server.refreshRefused,
        allTabsMs: Math.max(...fired.map((f) => f.done)) - start,
      });
      await context.close();
    }
    out[count] = {
      reps,
      refreshesMax: Math.max(...reps.map((r) => r.refreshServed + r.refreshRefused)),
      allTabsMs: median(reps.map((r) => r.allTabsMs)),
      ok: Math.min(...reps.map((r) => r.ok)),
    };
    log(`tabs ${count}: ${JSON.stringify(reps.map((r) => [r.refreshServed, r.refreshRefused, r.ok, Math.round(r.allTabsMs)]))}`);
    rows.push([
      String(count),
      reps.map((r) => `${r.refreshServed}+${r.refreshRefused}`).join(', '),
      `${out[count].ok}/${count}`,
      fmt(out[count].allTabsMs, 1),
    ]);
  }
  results.tabs = out;
  markdown.push(
    table(
      `3. Tabs: every tab needs a refresh at once (storage 'local', crossTab), ${P.tabReps} run(s) each`,
      ['tabs', 'refreshes per run (served+refused)', 'tabs ok (worst run)', 'ms until every tab has the new token (median)'],
      rows,
    ),
  );
}

async function groupCold(browser, origin, mainPage) {
  const session = await mainPage.evaluate(async () => {
    const r = await fetch('/api/auth/login', { method: 'POST', body: '{}' });
    const t = await r.json();
    const { createAuthGate } = await import('/dist/index.js');
    const gate = createAuthGate({
      baseUrl: location.origin,
      public: ['/api/auth/'],
      refresh: { url: '/api/auth/refresh' },
      storage: 'local',
      storageKey: 'bench-session',
      crossTab: false,
    });
    gate.setTokens({ access: t.access_token, refresh: t.refresh_token, expiresIn: t.expires_in });
    await gate.ready();
    const blob = localStorage.getItem('bench-session');
    gate.destroy();
    return { blob, token: t.access_token };
  });
  if (!session.blob) throw new Error('cold start: the gate persisted no blob with storage "local"');
  const modes = ['fetch', 'ky', 'authgate-anon', 'authgate-session', 'authgate-bundled'];
  const runs = Object.fromEntries(modes.map((m) => [m, []]));
  for (let rep = 0; rep < P.coldReps; rep++) {
    for (const mode of modes) {
      const context = await browser.newContext();
      await context.addInitScript(({ blob, token }) => {
        localStorage.setItem('bench-session', blob);
        localStorage.setItem('bench-token', token);
      }, session);
      const page = await context.newPage();
      await page.goto(`${origin}/bench/cold.html?mode=${mode}`);
      const r = await withTimeout(page.evaluate(() => window.coldResult), 30000, `cold start ${mode}`);
      await context.close();
      if (r.error) throw new Error(`cold start ${mode}: ${r.error}`);
      runs[mode].push(r);
    }
  }
  const m = (mode, f) => median(runs[mode].map(f).filter((x) => x != null));
  const out = {};
  for (const mode of modes) {
    out[mode] = {
      importMs: m(mode, (r) => r.importMs),
      readyMs: m(mode, (r) => r.readyMs),
      firstResponseMs: m(mode, (r) => r.firstResponseMs),
      wasmUntilAskedMs: m(mode, (r) => r.wasm?.untilAskedMs),
      wasmRequestMs: m(mode, (r) => r.wasm?.requestMs),
      wasmCompileInstantiateMs: m(mode, (r) => r.wasm?.compileInstantiateMs),
      gateStartMs: m(mode, (r) => r.wasm?.startMs),
      state: runs[mode][0].state ?? null,
      runs: runs[mode],
    };
  }
  results.cold = out;
  const rows = [
    ['raw fetch (no import)', '—', '—', fmt(out.fetch.firstResponseMs), '—', '—', '—', '—'],
    ['ky (minified bundle)', fmt(out.ky.importMs), '—', fmt(out.ky.firstResponseMs), '—', '—', '—', '—'],
    ...[
      ['authgate, anonymous (nothing stored)', 'authgate-anon'],
      ['authgate, persisted session', 'authgate-session'],
      ['authgate, persisted session, JS bundled into one file', 'authgate-bundled'],
    ].map(([name, mode]) => {
      const o = out[mode];
      return [name, fmt(o.importMs), fmt(o.readyMs), mode === 'authgate-anon' ? '—' : fmt(o.firstResponseMs),
        fmt(o.wasmUntilAskedMs), fmt(o.wasmRequestMs), fmt(o.wasmCompileInstantiateMs), fmt(o.gateStartMs)];
    }),
  ];
  markdown.push(
    table(
      `4. Cold start, fresh browser context each time (ms from the import, median of ${P.coldReps})`,
      ['case', 'import', 'ready()', 'first authorized response', 'import → .wasm asked', '.wasm request', 'compile + instantiate', 'gate start'],
      rows,
    ) + `\nThe last four columns split the time from the import to ready(): until core.js asks for the .wasm (at the first createAuthGate()), the .wasm request on loopback until its response, the streaming compile and instantiation, and the gate's start (options, storage, the persisted session; V8 compiles wasm functions lazily, on their first call, so most of the compile lands here). dist/index.js is one bundled module; "bundled into one file" is the app's minified bundle of it.\n`,
  );
}

async function groupDpop(browser, origin) {
  const context = await browser.newContext();
  const page = await openBenchPage(context, origin);
  const n = QUICK ? 50 : 1000;
  const runs = [];
  for (let rep = 0; rep < (QUICK ? 1 : 5); rep++) runs.push(await page.evaluate((k) => window.bench.dpopSign(k), n));
  results.dpop = { signMs: median(runs), runs, n };
  markdown.push(
    table(
      `8. DPoP: one ES256 proof signature per call (WebCrypto, non-extractable P-256 key): ${n} signatures × ${runs.length} runs, median`,
      ['what', 'ms per call'],
      [['crypto.subtle.sign', fmt(results.dpop.signMs, 3)]],
    ),
  );
  await context.close();
}

async function groupMemory(browser, origin) {
  const context = await browser.newContext();
  const page = await openBenchPage(context, origin);
  const r = await withTimeout(page.evaluate((n) => window.bench.memory(n), P.memory), 120000, 'memory');
  await context.close();
  results.memory = r;
  const row = (what, s) => [what, kb(s.heapBytes), String(s.liveBlocks)];
  markdown.push(
    table(
      `6. wasm linear memory (HEAPU8.length) with ${P.memory} calls queued behind a refresh`,
      ['when', 'KB', 'live core allocations'],
      [
        row('core loaded, no client', r.atLoad),
        row('one client, idle', r.start),
        row(`${P.memory} calls queued`, r.queued),
        row('after they drained', r.drained),
        row(`after a second storm of ${P.memory}`, r.again),
      ],
    ) + `\n${r.ok}/${P.memory} queued calls succeeded; ${r.again.refreshes} refresh request(s) in all. wasm memory grows but never shrinks: after draining it stays at its peak, and a second storm needs no more.\n`,
  );
}

// ---------------------------------------------------------------- targets

function targets() {
  const t = [];
  const add = (what, goal, measured, met) => t.push({ what, goal, measured, met });
  const pc = results.perCall;
  if (pc) {
    const net = pc.loopback.authgate;
    const stub = pc.stub;
    add('renderer CPU per call vs raw fetch (loopback)', '≤ 1.05×', `${fmt(net.taskRatio)}× (axios ${fmt(pc.loopback.axios.taskRatio)}×, ky ${fmt(pc.loopback.ky.taskRatio)}×, ofetch ${fmt(pc.loopback.ofetch.taskRatio)}×)`, net.taskRatio <= 1.05);
    add('wall time per call vs raw fetch (loopback)', `not slower beyond noise (±${fmt(pc.loopback.fetch.wallSpread * 100, 0)}%)`, `${fmt(net.wallRatio)}×`, net.wallRatio - 1 <= Math.max(0.03, 2 * pc.loopback.fetch.wallSpread));
    const peers = ['axios', 'ky', 'ofetch'];
    const cheapest = peers.reduce((a, b) => (stub[b].wallUs < stub[a].wallUs ? b : a));
    add("library's own in-page cost per call", `≤ the cheapest peer's (${cheapest} ${fmt(stub[cheapest].wallUs, 1)} µs)`, `${fmt(stub.authgate.wallUs, 1)} µs`, stub.authgate.wallUs <= stub[cheapest].wallUs);
  }
  const st = results.storm;
  if (st) {
    for (const [where, sizes] of [['net', P.stormNet], ['fake', P.stormFake]]) {
      for (const k of ['authgate:server', 'authgate:known']) {
        const r = st[where][k];
        const how = `${k.endsWith('known') ? 'expiry known' : '401 path'}, ${where === 'net' ? 'loopback' : 'in-page fake'}`;
        for (const n of sizes) {
          const linear = n === sizes[sizes.length - 1] && sizes.length > 1;
          const refreshes = r[n].server.refreshServed + r[n].server.refreshRefused;
          add(
            `storm of ${n} (${how})`,
            `1 refresh, ${n}/${n} ok${linear ? ', linear' : ''}`,
            `${refreshes} refresh(es), ${r[n].ok}/${n} ok${linear ? `, per-call ×${fmt(r.perCallGrowth)}` : ''}`,
            refreshes === 1 && r[n].ok === n && (!linear || r.perCallGrowth <= 1.5),
          );
        }
      }
    }
  }
  if (results.tabs) {
    for (const [count, r] of Object.entries(results.tabs)) {
      add(`${count} tabs`, '1 refresh, every tab ok', `${r.refreshesMax} refresh(es) (worst run), ${r.ok}/${count} ok`, r.refreshesMax === 1 && r.ok === Number(count));
    }
  }
  const cold = results.cold;
  if (cold) {
    const session = cold['authgate-session'];
    add('cold start to the first authorized response vs ky', `≤ ky (${fmt(cold.ky.firstResponseMs)} ms)`, `${fmt(session.firstResponseMs)} ms`, session.firstResponseMs <= cold.ky.firstResponseMs);
    const afterImport = session.readyMs - session.importMs;
    add('ready() for a persisted session after the import finished', '≤ 5 ms', `${fmt(afterImport)} ms`, afterImport <= 5);
  }
  const size = results.size;
  if (size) {
    const total = size.authgate.total.gzip;
    const sdks = ['oidc-client-ts', '@supabase/auth-js', '@auth0/auth0-spa-js', '@azure/msal-browser', 'axios + axios-auth-refresh'];
    const smallest = sdks.reduce((a, b) => (size.anchors[b].gzip < size.anchors[a].gzip ? b : a));
    const sdk = size.anchors[smallest].gzip;
    add('total shipped size without oidc, gzip -9 (JS + wasm)', `≤ 12,288 B and < every auth SDK (smallest ${smallest} ${sdk} B)`, `${total} B (JS ${size.authgate.js.gzip} + wasm ${size.authgate.wasm.gzip})`, total <= 12288 && total < sdk);
    const withOidc = size.authgate.totalOidc.gzip;
    add('total shipped size with oidc and dpop, gzip -9', '≤ 16,384 B', `${withOidc} B (JS ${size.authgate.js.gzip} + dpop.js ${size.authgate.jsDpop.gzip} + wasm ${size.authgate.wasmOidc.gzip})`, withOidc <= 16384);
  }
  const mem = results.memory;
  if (mem) {
    add('wasm memory at load', '≤ 256 KB', `${kb(mem.atLoad.heapBytes)} KB`, mem.atLoad.heapBytes <= 256 * 1024);
    add(`wasm memory with ${P.memory} calls queued`, '≤ 1 MB (1024 KB)', `${kb(mem.queued.heapBytes)} KB`, mem.queued.heapBytes <= 1 << 20);
    add('wasm memory at steady state (a second storm)', `no growth (${kb(mem.drained.heapBytes)} KB), live blocks back to ${mem.start.liveBlocks}`, `${kb(mem.again.heapBytes)} KB, ${mem.again.liveBlocks} live blocks`, mem.again.heapBytes === mem.drained.heapBytes && mem.again.liveBlocks === mem.start.liveBlocks && mem.drained.liveBlocks === mem.start.liveBlocks);
  }
  const nat = results.native;
  if (nat) {
    const n = P.native[P.native.length - 1];
    add('native instructions per planned call', '≤ 4,000', `${fmt(nat[n].plannedCall, 0)} (response ${fmt(nat[n].processedResponse, 0)})`, nat[n].plannedCall <= 4000);
    add('native storm cost per call, linear', `per-call × ≈ 1 from ${P.native[0]} to ${n}`, `×${fmt(nat.stormGrowth)}`, nat.stormGrowth <= 1.5);
  }
  results.targets = t;
  markdown.push(table('Targets', ['target', 'goal', 'measured', 'met'], t.map((x) => [x.what, x.goal, x.measured, x.met ? 'yes' : 'NO'])));
}

// ---------------------------------------------------------------- main

async function main() {
  mkdirSync(tmp, { recursive: true });
  for (const f of ['index.js', 'core.js', 'authgate-core.wasm', 'authgate-core-oidc.wasm']) {
    if (!existsSync(join(dist, f))) throw new Error(`dist/${f} is missing: run make dist first`);
  }
  log(QUICK ? 'quick run' : 'full run', JSON.stringify(P));
  await buildVendor();
  await groupSize();
  log('size done');
  if (args.has('--size')) {
    targets();
    return;
  }
  groupNative();
  log('native done');

  const server = await startBenchServer({ '/dist/': dist, '/bench/': here, '/vendor/': vendor });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--no-sandbox', '--disable-gpu'],
  });
  results.machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    chromium: browser.version(),
    loadAverage: os.loadavg()[0],
  };
  try {
    await groupPerCall(browser, server.origin);
    log('per-call done');
    const context = await browser.newContext();
    const mainPage = await openBenchPage(context, server.origin);
    await groupCold(browser, server.origin, mainPage);
    await context.close();
    log('cold start done');
    await groupMemory(browser, server.origin);
    log('memory done');
    await groupStorm(browser, server.origin);
    log('storm done');
    await groupTabs(browser, server.origin);
    log('tabs done');
    await groupDpop(browser, server.origin);
    log('dpop done');
  } finally {
    await browser.close();
    await server.stop();
  }
  targets();
  results.date = new Date().toISOString();
  results.durationSeconds = (Date.now() - t0) / 1000;

  const m = results.machine;
  const header =
    `Measured ${results.date.slice(0, 10)} on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; ` +
    `Chromium ${m.chromium} headless, Node ${m.node}; \`make bench\` took ${Math.round(results.durationSeconds)} s. ` +
    `Timer resolution in the page: ${fmt(results.timer?.resolutionMs * 1000, 0)} µs (crossOriginIsolated: ${results.timer?.crossOriginIsolated}). ` +
    `Load average at the start: ${fmt(m.loadAverage, 1)} (${m.cores} cores; timed figures stretch with it, sizes, memory and instruction counts do not).\n`;
  const md = `${header}\n${markdown.join('\n')}`;
  if (QUICK) {
    writeFileSync(join(tmp, 'quick.json'), JSON.stringify(results, null, 2));
    console.log(`\nbench-quick: ${results.targets.length} targets read (not asserted), ${Math.round(results.durationSeconds)} s; results in bench/results/tmp/quick.json`);
    return;
  }
  const outDir = option('--out', join(here, 'results'));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(outDir, 'latest.md'), md);
  console.log(`\nwrote ${join(outDir, 'latest.json')} and latest.md (${Math.round(results.durationSeconds)} s)`);
  if (args.has('--readme')) updateReadme(md);
}

function updateReadme(md) {
  const file = join(root, 'README.md');
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin (written by make bench) -->';
  const end = '<!-- bench:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) {
    console.log('README.md has no bench markers: the tables are in bench/results/latest.md');
    return;
  }
  writeFileSync(file, `${text.slice(0, i + begin.length)}\n${md}\n${text.slice(j)}`);
  console.log('README.md: Benchmarks tables updated');
}

main().catch((error) => {
  console.error(`bench: ${error?.stack ?? error}`);
  process.exit(1);
});
