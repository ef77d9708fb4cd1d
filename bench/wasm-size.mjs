#!/usr/bin/env node
// Where the bytes of a wasm module go: by section, by source file (function
// bodies and the strings each file defines) and by function.
//
//   node bench/wasm-size.mjs [build-wasm] [authgate-core | authgate-core-oidc]   tables on stdout
//
// Reads BUILD/<module>.names.wasm (the release module with its names section,
// written by the CMake build beside <module>.wasm) and maps each
// function to the source file that defines it with llvm-nm over the build's
// object files. Inlined functions count in their caller's file; functions that
// no object of ours defines are Emscripten's libc.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const SECTION = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'];
export const LIBC = 'libc (Emscripten)';

/** Sections, function bodies (with names when present) and data segments of a wasm binary. */
export function parseWasm(buf) {
  let p = 8;
  const leb = () => {
    let result = 0;
    let shift = 0;
    let byte;
    do {
      byte = buf[p++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const name = () => {
    const n = leb();
    const s = buf.subarray(p, p + n).toString('utf8');
    p += n;
    return s;
  };
  const skipLimits = () => {
    const flags = leb();
    leb();
    if (flags & 1) leb();
  };
  const sections = [];
  const bodies = [];
  const data = [];
  const names = new Map();
  let imported = 0;
  while (p < buf.length) {
    const id = buf[p++];
    const size = leb();
    const end = p + size;
    let label = SECTION[id] ?? `unknown ${id}`;
    if (id === 0) {
      label = `custom "${name()}"`;
      if (label === 'custom "name"') {
        while (p < end) {
          const sub = buf[p++];
          const subEnd = leb() + p;
          if (sub === 1) for (let n = leb(); n > 0; n--) names.set(leb(), name());
          p = subEnd;
        }
      }
    } else if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        name();
        name();
        const kind = buf[p++];
        if (kind === 0) {
          leb();
          imported++;
        } else if (kind === 1) {
          p++;
          skipLimits();
        } else if (kind === 2) skipLimits();
        else p += 2;
      }
    } else if (id === 10) {
      for (let n = leb(); n > 0; n--) {
        const start = p;
        const len = leb();
        p += len;
        bodies.push({ index: imported + bodies.length, bytes: p - start, start, end: p });
      }
    } else if (id === 11) {
      for (let n = leb(); n > 0; n--) {
        const mode = leb();
        if (mode === 2) leb();
        if (mode !== 1) while (buf[p++] !== 0x0b); // the offset expression up to its `end`
        const len = leb();
        data.push({ start: p, end: p + len });
        p += len;
      }
    }
    sections.push({ name: label, bytes: end - p + (p - (end - size)) });
    p = end;
  }
  for (const body of bodies) body.name = names.get(body.index) ?? `function ${body.index}`;
  return { sections, bodies, data };
}

/**
 * function name → source file, from llvm-nm over the module's object files
 * under `dir`; `.sources` is the set of source files the module is built from.
 */
export function symbolFiles(dir, module = 'authgate-core') {
  // Only this module's objects (and cJSON's): the two modules define some names
  // in different files (src/wasm/no_oidc.c stands in for the OpenID files).
  const target = `${module.replace(/-/g, '_')}.dir`;
  const objects = [];
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.c.o')) objects.push(path);
    }
  };
  for (const d of [target, 'authgate_cjson.dir']) walk(join(dir, 'CMakeFiles', d));
  const files = new Map();
  files.sources = new Set();
  for (const object of objects) {
    const file = basename(object).replace(/\.o$/, '');
    files.sources.add(file);
    const text = execFileSync('llvm-nm', ['--defined-only', object], { encoding: 'utf8' });
    for (const line of text.split('\n')) {
      const [, type, symbol] = line.trim().split(/\s+/);
      if (symbol && /^[tT]$/.test(type) && !files.has(symbol)) files.set(symbol, file);
    }
  }
  return files;
}

/** The NUL-terminated strings of the data segments, each credited to the source file that spells it. */
function stringFiles(buf, data, sourceTexts) {
  const found = new Map();
  let unattributed = 0;
  for (const { start, end } of data) {
    let i = start;
    while (i < end) {
      let j = i;
      while (j < end && buf[j] !== 0) j++;
      const s = buf.subarray(i, j).toString('latin1');
      const bytes = j - i + (j < end ? 1 : 0);
      const key = s.length >= 4 && /^[\x20-\x7e]+$/.test(s) ? s.slice(0, 40) : null;
      const file = key && sourceTexts.find(([, text]) => text.includes(key))?.[0];
      if (file) found.set(file, (found.get(file) ?? 0) + bytes);
      else unattributed += bytes;
      i = j + 1;
    }
  }
  return { found, unattributed };
}

/**
 * Bytes by source file: function bodies and strings, and a gzip figure per row
 * that is the file's share of the module's gzip size (proportional to its
 * bytes: an estimate; gzip sizes do not add up by part).
 */
export function breakdown(buildDir, sourceDirs, module = 'authgate-core') {
  const named = join(buildDir, `${module}.names.wasm`);
  if (!existsSync(named)) throw new Error(`${named} is missing: build the wasm (make wasm)`);
  const buf = readFileSync(named);
  const { sections, bodies, data } = parseWasm(buf);
  const owner = symbolFiles(buildDir, module);
  const sourceTexts = [];
  for (const dir of sourceDirs) {
    for (const entry of readdirSync(dir)) {
      if (!entry.endsWith('.c') || !owner.sources.has(entry)) continue;
      // The file's string literals only (not its comments), joined.
      const literals = readFileSync(join(dir, entry), 'latin1').match(/"(?:[^"\\\n]|\\.)*"/g) ?? [];
      sourceTexts.push([entry, literals.map((l) => l.slice(1, -1)).join('\n')]);
    }
  }
  const rows = new Map();
  const row = (file) => {
    if (!rows.has(file)) rows.set(file, { file, code: 0, data: 0, functions: 0 });
    return rows.get(file);
  };
  for (const body of bodies) {
    const r = row(owner.get(body.name.replace(/\.\d+$/, '')) ?? LIBC);
    r.code += body.bytes;
    r.functions++;
  }
  const strings = stringFiles(buf, data, sourceTexts);
  for (const [file, bytes] of strings.found) row(file).data += bytes;
  const shipped = readFileSync(join(buildDir, `${module}.wasm`));
  const total = shipped.length;
  const gzip = zlib.gzipSync(shipped, { level: 9 }).length;
  const other = total - [...rows.values()].reduce((n, r) => n + r.code + r.data, 0);
  const list = [...rows.values()].sort((a, b) => b.code + b.data - (a.code + a.data));
  list.push({ file: 'other data (tables, numbers) and module structure (types, imports, exports)', code: 0, data: other, functions: 0 });
  for (const r of list) r.gzip = Math.round(((r.code + r.data) / total) * gzip);
  const functions = bodies
    .map((b) => ({ name: b.name, bytes: b.bytes, file: owner.get(b.name.replace(/\.\d+$/, '')) ?? LIBC }))
    .sort((a, b) => b.bytes - a.bytes);
  return { total, gzip, sections: sections.filter((s) => s.name !== 'custom "name"'), files: list, functions, stringsUnattributed: strings.unattributed };
}

function main() {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = join(here, '..');
  const buildDir = process.argv[2] ?? join(root, 'build-wasm');
  const module = process.argv[3] ?? 'authgate-core';
  const b = breakdown(buildDir, [join(root, 'src'), join(root, 'src', 'wasm'), join(root, '.deps', 'cjson', 'source')], module);
  console.log(`${module}.wasm: ${b.total} B, gzip -9 ${b.gzip} B\n`);
  console.log('section            bytes');
  for (const s of b.sections) console.log(`${s.name.padEnd(18)} ${String(s.bytes).padStart(6)}`);
  console.log('\nsource file                      code   data  ≈gzip  functions');
  for (const r of b.files) console.log(`${r.file.slice(0, 30).padEnd(30)} ${String(r.code).padStart(6)} ${String(r.data).padStart(6)} ${String(r.gzip).padStart(6)}  ${r.functions}`);
  console.log('\nlargest functions');
  for (const f of b.functions.slice(0, 30)) console.log(`${String(f.bytes).padStart(6)}  ${f.name}  (${f.file})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
