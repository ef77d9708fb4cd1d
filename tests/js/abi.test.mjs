// The ABI between the shim and the core is written twice, in include/authgate.h and
// in js/core.js: this test reads the header and fails on any difference, so a
// change on one side cannot ship without the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

import * as core from '../../dist/core.js';

const header = readFileSync(new URL('../../include/authgate.h', import.meta.url), 'utf8').replace(
  /\/\*[\s\S]*?\*\//g,
  '',
);

/** enum ag_<name> as { AG_X: value }. */
function enumOf(name) {
  const body = header.match(new RegExp(`enum\\s+ag_${name}\\s*\\{([^}]*)\\}`))?.[1];
  assert.ok(body, `enum ag_${name} is in authgate.h`);
  const members = {};
  let next = 0;
  for (const item of body.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [, key, value] = item.match(/^(AG_\w+)\s*(?:=\s*(-?\d+))?$/) ?? [];
    assert.ok(key, `enum ag_${name}: cannot read "${item}"`);
    next = value === undefined ? next : Number(value);
    members[key] = next++;
  }
  return members;
}

/** The members with `prefix`, renamed without it: AG_ACTION_SEND -> SEND. */
const stripped = (members, prefix) =>
  Object.fromEntries(
    Object.entries(members)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value]),
  );

test('action types, wake events, storage, verdicts and guard modes match the header', () => {
  const actions = stripped(enumOf('action_type'), 'AG_ACTION_');
  delete actions.NONE;
  assert.deepEqual({ ...core.ACTION }, actions);
  assert.deepEqual({ ...core.WAKE }, stripped(enumOf('wake'), 'AG_WAKE_'));
  assert.deepEqual({ ...core.STORAGE }, stripped(enumOf('storage'), 'AG_STORAGE_'));
  assert.deepEqual({ ...core.VERDICT }, stripped(enumOf('guard_verdict'), 'AG_GUARD_'));
  const modes = stripped(enumOf('guard_mode'), 'AG_GUARD_MODE_');
  assert.deepEqual({ ...core.GUARD_MODE }, Object.fromEntries(Object.entries(modes).map(([k, v]) => [k.toLowerCase(), v])));
});

test('single constants match the header', () => {
  const send = enumOf('send_kind');
  assert.equal(core.SEND_CALL, send.AG_SEND_CALL);
  assert.equal(core.SEND_REVOKE, send.AG_SEND_REVOKE);
  assert.equal(core.NAVIGATE_REPLACE, enumOf('navigate').AG_NAVIGATE_REPLACE);
  assert.equal(core.STATE_INITIALIZING, enumOf('state').AG_STATE_INITIALIZING);
  const err = enumOf('err');
  assert.equal(core.AG_ERR_NOMEM, err.AG_ERR_NOMEM);
  assert.equal(core.AG_ERR_BAD_CONFIG, err.AG_ERR_BAD_CONFIG);
  assert.equal(core.AG_ERR_BAD_TOKENS, err.AG_ERR_BAD_TOKENS);
  const cred = enumOf('credentials');
  assert.deepEqual(
    core.CREDENTIALS_NAMES.map((name, value) => [name, value]).slice(1),
    [
      ['omit', cred.AG_CRED_OMIT],
      ['same-origin', cred.AG_CRED_SAME_ORIGIN],
      ['include', cred.AG_CRED_INCLUDE],
    ],
  );
});

/** The field names of `typedef struct ag_<name> {...} ag_<name>;`, in order. */
function structFields(name) {
  const body = header.match(new RegExp(`typedef\\s+struct\\s+ag_${name}\\s*\\{([^}]*)\\}\\s*ag_${name}\\s*;`))?.[1];
  assert.ok(body, `struct ag_${name} is in authgate.h`);
  return body
    .split(';')
    .map((decl) => decl.trim())
    .filter(Boolean)
    .map((decl) => decl.match(/(\w+)$/)[1]);
}

for (const [name, count, fields, layout] of [
  ['action', 'AG_ACTION_FIELDS', core.ACTION_FIELDS, core.ACTION_FIELD],
  ['settings', 'AG_SETTINGS_FIELDS', core.SETTINGS_FIELDS, core.SETTINGS_FIELD],
]) {
  test(`the ag_${name} layout the shim reads is the struct in the header, field by field`, () => {
    const inHeader = structFields(name);
    assert.equal(Number(header.match(new RegExp(`#define\\s+${count}\\s+(\\d+)`))[1]), inHeader.length);
    assert.equal(fields, inHeader.length);
    assert.deepEqual(Object.entries(layout), inHeader.map((field, i) => [field, i]));
  });
}

test('the buffer sizes and random-byte counts the shim hands the core match the header', async () => {
  const define = (name) => Number(header.match(new RegExp(`#define\\s+${name}\\s+(\\d+)`))?.[1]);
  assert.equal(core.GUARD_URL_CAP, define('AG_GUARD_URL_CAP'));
  // oidc.js and dpop.js are bundled into dist/index.js without exporting these: read the sources.
  const { RANDOM_BYTES } = await import('../../js/oidc.js');
  const { SEED_BYTES } = await import('../../js/dpop.js');
  assert.equal(RANDOM_BYTES, define('AG_OIDC_RANDOM_BYTES'));
  assert.equal(SEED_BYTES, define('AG_DPOP_SEED_BYTES'));
});
