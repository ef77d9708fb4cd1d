// The core's URL resolution (wasm, through the shim's CoreClient) against Node's WHATWG URL, on a
// seeded, generated corpus. For every input the core must either produce exactly Node's URL (so
// the same origin) or refuse it with a reason from the documented subset; never another origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ACTION, CoreClient, loadCore } from '../../dist/core.js';

const T = 1_700_000_000_000;
const INPUTS = 100_000; // the main pass: baseUrl without a path
const PREFIX_INPUTS = 20_000; // the second pass: baseUrl with a path (the prefix rule)
const PAGE = 'https://api.example/dir/page.html?x=1'; // what raw fetches (the guard) resolve against

// ---- a seeded generator -------------------------------------------------------

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCHEMES = ['http:', 'https:', 'HTTP:', 'HtTpS:', 'h\ttps:', 'ws:', 'ftp:', 'javascript:', 'file:', 'x-y+z.1:'];
const SLASHES = ['//', '//', '//', '', '/', '\\\\', '/\\', '\\/', '///', '\\'];
const USERINFO = ['@', ':@', 'user@', 'u:p@', '@@', 'a%40b@', ':pw@', '\t@'];
const HOSTS = [
  'api.example', 'API.Example', 'other.test', 'a-b_c.example', 'localhost', 'api.example.', 'a..b', '.',
  '127.0.0.1', '10.0.0.255', '0.0.0.0', '[::1]', '[0:0::1]', '[2001:DB8::A]', '[::ffff:1.2.3.4]', '[1:0:0:0:0:0:0:1]',
  '[::]', '[fe80::1%25eth0]', '[1::2::3]', '[::1', 'xn--fa-hia.example', 'XN--MNCHEN-3YA.de',
  // the refused subset, and what the standard itself rejects
  '0x7f.1', '127.1', '0177.0.0.1', '2130706433', '1.2.3.4.', '1.2.3.09', '999.1.1.1', 'example.0x',
  'faß.ExAmPlE', 'münchen.de', '日本.example', 'ＡＰＩ.example', '%61pi.example', 'a%2eb', 'a!b', 'a*b', 'a~b',
  'ex ample', 'a<b', 'a^b', 'a|b', '', 'api.example\u0000x',
];
const PORTS = ['', '', '', ':', ':80', ':443', ':8080', ':0080', ':00443', ':65535', ':65536', ':8a', ':-1', ':1:2'];
const SEGMENTS = [
  'a', 'users', 'v1', 'my file.txt', '.', '..', '%2e', '%2E%2e', '.%2e', '%2e.', '..%2f', 'é', '日本', '{x}', '`',
  '^|', '"q"', '<x>', "'", '%20', '%zz', '%', 'a\\b', '', '\u0000', '\u007f', '\u001b', '\uD800', '😀', '@', ':', ';=,',
  '~!$&()*+',
];
const QUERIES = ['', '', '?', '?q=hello world', "?a='b'", '?x=`{}`', '?é=ü', '?a?b', '?"<>"', '?%41\u0001', '?\\x/y'];
const FRAGMENTS = ['', '', '', '#', '#f', '#a b', '#`x`', '#é', '##', "#'{}'", '#"<>"', '#\u0000'];
const SPACE = [' ', '\t', '\n', '\r', '\u0000', '\u001f', '\u000c', '  '];

function generator(seed) {
  const r = rng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const maybe = (p, s) => (r() < p ? s : '');
  const path = () => {
    let out = '';
    const n = Math.floor(r() * 4);
    for (let i = 0; i < n; i++) out += (i > 0 ? (r() < 0.85 ? '/' : '\\') : '') + pick(SEGMENTS);
    return out;
  };
  const authority = () => {
    const user = r() < 0.06 ? pick(USERINFO) : '';
    // Three in four hosts are ordinary: the refused subset must not dominate the corpus.
    const host = r() < 0.75 ? pick(HOSTS.slice(0, 20)) : pick(HOSTS);
    return user + host + pick(PORTS);
  };
  const tail = () => maybe(0.9, '/' + path()) + pick(QUERIES) + pick(FRAGMENTS);
  const forms = [
    () => pick(SCHEMES.slice(0, 5)) + pick(SLASHES) + authority() + tail(), // absolute http(s)
    () => pick(SCHEMES.slice(0, 5)) + pick(SLASHES) + authority() + tail(),
    () => pick(SCHEMES) + pick(SLASHES) + authority() + tail(), // any scheme
    () => pick(['//', '\\\\', '/\\', '\\/']) + authority() + tail(), // scheme-relative
    () => '/' + path() + pick(QUERIES) + pick(FRAGMENTS), // absolute path
    () => pick(['\\', '/']) + path() + pick(QUERIES) + pick(FRAGMENTS),
    () => path() + pick(QUERIES) + pick(FRAGMENTS), // relative path
    () => pick(['', './', '../', '../../', '%2e%2e/']) + path() + pick(QUERIES),
    () => pick(QUERIES.slice(2)) + pick(FRAGMENTS), // query only
    () => pick(FRAGMENTS.slice(3)), // fragment only
    () => pick(['', ' ', '\t\n', '.', '..']),
  ];
  return () => {
    let s = pick(forms)();
    if (r() < 0.1) {
      // a tab or newline anywhere: the standard removes them
      const at = Math.floor(r() * (s.length + 1));
      s = s.slice(0, at) + pick(['\t', '\n', '\r']) + s.slice(at);
    }
    if (r() < 0.1) s = pick(SPACE) + s;
    if (r() < 0.1) s += pick(SPACE);
    return s;
  };
}

// ---- what the core says ---------------------------------------------------------

function openClient(core, baseUrl) {
  // Nothing is protected: every accepted call is sent at once, so its final URL shows.
  const options = JSON.stringify({ baseUrl, protect: ['/__nothing-is-protected'], crossTab: false });
  const client = new CoreClient(core, options, '');
  client.start(T, null);
  while (client.nextAction()) {
    // the start-up state change
  }
  return client;
}

/** The URL the core sends the call to, or {refused: reason}. */
function coreCall(client, input) {
  const id = client.call(T, 'GET', input, null, 0);
  let sent = null;
  let refused = null;
  for (let a = client.nextAction(); a; a = client.nextAction()) {
    if (a.type === ACTION.SEND && a.id === id) sent = a.url;
    if (a.type === ACTION.REJECT && a.id === id) refused = a.text;
  }
  if (sent !== null) {
    client.response(T, id, 200, null);
    while (client.nextAction()) {
      // the RESOLVE
    }
    return { url: sent };
  }
  return { refused: refused ?? '(no reason)' };
}

function node(input, base) {
  try {
    return new URL(input, base);
  } catch {
    return null;
  }
}

// The documented refused subset: each reason the core gives names one of these.
const CATEGORIES = [
  ['non-http(s) scheme', /only http: and https:/],
  ['credentials in the URL', /carries credentials/],
  ['non-ASCII host (IDNA)', /punycode/],
  ['percent-encoded host', /percent-encoded/],
  ['non-canonical IPv4', /dotted-decimal/],
  ['unusual host characters', /letters, digits/],
  ['host the standard rejects', /no URL host may contain|has no host|not a valid IPv6|port is not/],
];

function category(reason) {
  const hit = CATEGORIES.find(([, re]) => re.test(reason));
  return hit ? hit[0] : null;
}

/** Compares one input; returns null when fine, else a description of the disagreement. */
function judge(stats, input, core, expected) {
  // The first '#' of an href starts its fragment: it is encoded or a delimiter everywhere before.
  const noHash = (u) => u.href.split('#')[0];
  if (core.url !== undefined) {
    if (!expected) return `the core sent ${core.url}; Node refuses the input`;
    if (new URL(core.url).origin !== expected.origin) return `origin ${core.url} vs ${expected.origin}`;
    if (core.url !== noHash(expected)) return `URL ${core.url} vs ${noHash(expected)}`;
    stats.agree++;
    return null;
  }
  const why = category(core.refused);
  if (!why) return `refused without a documented reason: ${core.refused}`;
  if (!expected) {
    stats.bothRefuse++;
    return null;
  }
  if (why === 'host the standard rejects') return `refused as invalid (${core.refused}); Node gives ${expected.href}`;
  stats.refused[why] = (stats.refused[why] ?? 0) + 1;
  stats.subset++;
  return null;
}

const newStats = () => ({ agree: 0, bothRefuse: 0, subset: 0, refused: {}, guardAgree: 0 });

function report(title, n, stats) {
  console.log(`${title}: ${n} inputs, ${stats.agree} agree (URL and origin), ${stats.bothRefuse} refused by both,`);
  console.log(`  ${stats.subset} refused by the documented subset (Node accepts them):`);
  for (const [name, count] of Object.entries(stats.refused).sort((a, b) => b[1] - a[1])) {
    console.log(`    ${String(count).padStart(6)}  ${name}`);
  }
  if (stats.guardAgree) console.log(`  guard path (against the page, fragment included): ${stats.guardAgree} agree`);
}

/**
 * The refused share bound. The generator draws a subset form on purpose in about one input in
 * six (a non-ordinary host in a quarter of the authorities, userinfo in 6%, a non-http scheme in
 * a tenth of one form in eleven); measured, the subset is about 11% of the inputs Node accepts.
 * 20% leaves room for the seed and catches a parser that starts refusing ordinary input (a
 * regression refusing spaces or backslashes alone would add well over that).
 */
const MAX_SUBSET_SHARE = 0.2;

function checkShare(stats) {
  const accepted = stats.agree + stats.subset;
  const share = stats.subset / accepted;
  console.log(`  refused share of what Node accepts: ${(share * 100).toFixed(1)}% (bound ${MAX_SUBSET_SHARE * 100}%)`);
  assert.ok(share <= MAX_SUBSET_SHARE, `the core refuses ${(share * 100).toFixed(1)}% of inputs Node accepts`);
}

// ---- the passes ---------------------------------------------------------------------

test('the core agrees with the WHATWG URL parser, or refuses by the documented subset', async () => {
  const core = await loadCore();
  const client = openClient(core, 'https://api.example');
  const next = generator(20261122);
  const stats = newStats();
  const failures = [];
  for (let i = 0; i < INPUTS; i++) {
    const input = next();
    const call = coreCall(client, input);
    const bad = judge(stats, input, call, node(input, 'https://api.example/'));
    if (bad) failures.push(`${JSON.stringify(input)}: ${bad}`);
    // The guard resolves the same input against the page, as the browser does for a raw fetch;
    // no browser resolution is given, so the core's own parser answers alone.
    const guard = client.guard({ pageUrl: PAGE, url: input, href: null, hasAuthorization: false }, 0);
    const expected = node(input, PAGE);
    if (guard.url) {
      if (!expected || guard.url !== expected.href) {
        failures.push(`guard ${JSON.stringify(input)}: ${guard.url} vs ${expected?.href ?? 'refused by Node'}`);
      } else stats.guardAgree++;
    } else if (expected && call.url !== undefined) {
      failures.push(`guard ${JSON.stringify(input)}: judged nothing, Node gives ${expected.href}`);
    }
  }
  client.free();
  report('baseUrl https://api.example', INPUTS, stats);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} disagreements`);
  assert.ok(stats.agree > INPUTS / 2, 'most inputs are ordinary and must agree');
  checkShare(stats);
  for (const [name] of CATEGORIES.slice(0, 6)) assert.ok(stats.refused[name] > 0, `the corpus exercises: ${name}`);
});

/** The documented prefix rule, computed with Node's URL: what gate.fetch must send to. */
function prefixed(input, base) {
  // As the URL Standard does: a USVString first (lone surrogates become U+FFFD), then the cleaning.
  const cleaned = input.toWellFormed().replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(cleaned) || /^[\\/]{2}/.test(cleaned)) return node(input, base);
  const prefix = new URL(base).pathname.replace(/\/$/, '');
  return node(`${prefix}/${cleaned.replace(/^[\\/]/, '')}`, base);
}

test('a baseUrl with a path: the core follows the documented prefix rule', async () => {
  const core = await loadCore();
  for (const baseUrl of ['https://api.example/v2', 'https://api.example/v2/', 'https://api.example/a/b%20c']) {
    const client = openClient(core, baseUrl);
    const next = generator(7 + baseUrl.length);
    const stats = newStats();
    const failures = [];
    for (let i = 0; i < PREFIX_INPUTS / 2; i++) {
      const input = next();
      const bad = judge(stats, input, coreCall(client, input), prefixed(input, baseUrl));
      if (bad) failures.push(`${JSON.stringify(input)}: ${bad}`);
    }
    client.free();
    report(`baseUrl ${baseUrl}`, PREFIX_INPUTS / 2, stats);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} disagreements`);
    checkShare(stats);
  }
});
