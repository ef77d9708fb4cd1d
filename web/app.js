// The authgate demo page: a live gate (state, token lifetime, next refresh,
// trusted origins), a timeline of every request, and five incidents replayed
// the plain way and through authgate. The page never shows a token: the
// recorder redacts anything token-like, and the token bar reads only
// gate.session (expiresAt, refreshAt): the core's figures, never re-derived here.

import { Recorder, nativeFetch, redact } from './recorder.js';
import { FASTAPI, INCIDENTS, setAccessTtl } from './incidents.js';

const LIVE_KEY = 'authgate-demo';
const ME_URL = '/api/v1/auth/me';
const SKEW_S = 5;
const HISTORY_LENGTH = 6;
const MAX_GROUPS = 400;

// scripts/demo.sh and the tests pass ?api=, ?flask=, ?flaskCors=, ?idp= and ?rs=; otherwise the
// ones this tab saw last (the provider redirects back without them), else the ports demo.sh uses.
const SERVERS_KEY = 'authgate-demo-servers';
const params = new URLSearchParams(location.search);
const onHost = (port) => `${location.protocol}//${location.hostname}:${port}`;
const saved = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(SERVERS_KEY) ?? '{}') ?? {};
  } catch {
    return {};
  }
})();
const pick = (param, key, port) => params.get(param) ?? saved[key] ?? onHost(port);
const servers = {
  fastapi: pick('api', 'fastapi', 8000),
  flask: pick('flask', 'flask', 8001),
  flaskCors: pick('flaskCors', 'flaskCors', 8002),
  idp: pick('idp', 'idp', 8003),
  resource: pick('rs', 'resource', 8004),
};
sessionStorage.setItem(SERVERS_KEY, JSON.stringify(servers));
const SERVER_NAMES = { fastapi: 'FastAPI', flask: 'Flask', flaskCors: 'Flask (CORS without Authorization)' };

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const loadedAt = performance.now();

// ---- rendering, batched to one per frame ------------------------------------------------------

const dirty = new Set();
let frame = 0;
function schedule(what) {
  dirty.add(what);
  if (!frame) frame = requestAnimationFrame(flush);
}
function flush() {
  frame = 0;
  if (dirty.has('log')) renderLog();
  if (dirty.has('gantt')) for (const id of ran) renderGantts(id);
  dirty.clear();
}

const recorder = new Recorder(() => {
  schedule('log');
  schedule('gantt');
});

// ---- the timeline ----------------------------------------------------------------------------

const sortTime = (row) => row.attempts[0]?.sentAt ?? row.issuedAt;

function groupKey(row) {
  return [row.source, row.kind, row.method, row.url, row.did, row.status].join('\u0000');
}

function renderLog() {
  const rows = [...recorder.rows].sort((a, b) => sortTime(a) - sortTime(b));
  const groups = [];
  for (const row of rows) {
    const last = groups.at(-1);
    if (last && groupKey(last.rows[0]) === groupKey(row)) last.rows.push(row);
    else groups.push({ rows: [row] });
  }
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.replaceChildren(...groups.slice(-MAX_GROUPS).map(renderGroup));
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function renderGroup({ rows }) {
  const row = rows[0];
  const n = rows.length;
  const durations = rows.filter((r) => r.endAt !== null).map((r) => Math.round(r.endAt - r.issuedAt));
  const ms = durations.length === 0 ? '…'
    : n === 1 ? `${durations[0]} ms` : `${Math.min(...durations)}–${Math.max(...durations)} ms`;
  const url = splitUrl(row.url);
  const item = el('li', { className: `entry ${row.kind} ${row.outcome}${row.plain ? ' plain' : ''}` },
    el('span', { className: 'time', textContent: `${((sortTime(row) - loadedAt) / 1000).toFixed(2)} s` }),
    el('span', { className: 'req' },
      el('span', { className: 'who', textContent: row.source }),
      n > 1 ? el('b', { className: 'count', textContent: `${n} × ` }) : null,
      row.method ? el('span', { className: 'method', textContent: `${row.method} ` }) : null,
      el('span', { className: 'origin', textContent: url.origin }),
      el('wbr'),
      url.rest),
    el('span', { className: 'did', textContent: redact(row.did) }),
    el('span', { className: 'status', textContent: row.status ?? (row.kind === 'note' ? '' : '…') }),
    el('span', { className: 'ms', textContent: row.kind === 'note' ? '' : ms }));
  return item;
}

function splitUrl(url) {
  try {
    const u = new URL(url);
    return { origin: u.origin, rest: u.href.slice(u.origin.length) };
  } catch {
    return { origin: '', rest: url };
  }
}

// ---- the live gate ---------------------------------------------------------------------------

let shownState = null;
function renderState(state) {
  if (state === shownState) return;
  shownState = state;
  $('state').textContent = state;
  $('state').dataset.state = state;
  const signedIn = state === 'authenticated' || state === 'refreshing';
  $('login-form').hidden = signedIn;
  $('signed-in').hidden = !signedIn;
  const time = new Date().toLocaleTimeString([], { hour12: false });
  $('state-history').prepend(el('li', { textContent: `${time}  ${state}` }));
  while ($('state-history').childElementCount > HISTORY_LENGTH) $('state-history').lastElementChild.remove();
  renderToken();
}

// The countdown reads the gate's session: its expiry and the moment the core will refresh, the
// same in every tab whichever tab refreshed. Nothing here re-derives when a refresh is due.
let liveGate = null;
let seen = { expiresAt: null, at: 0 };
function renderToken() {
  const state = shownState;
  const session = liveGate?.session ?? null;
  const exp = session?.expiresAt ?? null;
  if (exp !== seen.expiresAt) seen = { expiresAt: exp, at: Date.now() };
  const fill = $('token-fill');
  const mark = $('token-mark');
  if (exp === null) {
    fill.style.width = '0%';
    mark.hidden = true;
    $('token-left').textContent = state === 'initializing' ? 'Restoring the session…' : 'No token. Sign in to get one.';
    $('token-next').textContent = '';
    return;
  }
  const now = Date.now();
  // The bar spans the token's own life when its claims say it (whole seconds, as the server wrote them);
  // else from when this page first saw it.
  const { iat, exp: expClaim } = session.claims ?? {};
  const born = typeof iat === 'number' ? iat * 1000 : seen.at;
  const life = typeof iat === 'number' && typeof expClaim === 'number' ? (expClaim - iat) * 1000 : Math.max(exp - born, 1);
  const left = exp - now;
  const due = session.refreshAt ?? exp;
  const early = exp - due;
  fill.style.width = `${Math.max(0, Math.min(100, (left / life) * 100))}%`;
  fill.classList.toggle('low', now >= due);
  mark.hidden = false;
  mark.style.left = `${Math.max(0, Math.min(100, (early / life) * 100))}%`;
  $('token-left').textContent = left > 0
    ? `${(left / 1000).toFixed(1)} s left of ${Math.round(life / 1000)} s`
    : 'expired';
  $('token-next').textContent = state === 'refreshing' ? 'Refreshing now…'
    : now < due ? `Next refresh in ${((due - now) / 1000).toFixed(1)} s (${(early / 1000).toFixed(early % 1000 ? 1 : 0)} s before expiry, at the mark)`
      : 'Refresh due: the next call or the timer renews it.';
}

async function startLiveGate(createAuthGate) {
  const api = servers.fastapi;
  $('api-base').textContent = api;
  $('trusted').textContent = new URL(api).origin;
  $('second-tab').href = location.href;

  const gate = createAuthGate({
    baseUrl: api,
    login: { url: FASTAPI.login },
    refresh: { url: FASTAPI.refresh },
    public: [FASTAPI.login, FASTAPI.refresh, FASTAPI.health],
    storage: 'local', // shared with a second tab of this page
    storageKey: LIVE_KEY,
    refreshSkewSeconds: SKEW_S,
    fetch: recorder.instrument('live', { base: api, ...FASTAPI }),
  });
  liveGate = gate;
  gate.subscribe(renderState);
  gate.onSession(renderToken);
  renderState(gate.state);
  gate.ready().catch((error) => showFatal(`The gate did not start: ${error.message}`));
  setInterval(renderToken, 200);

  // Another tab of this page refreshed, signed in or logged out: say so on this tab's timeline.
  addEventListener('storage', (event) => {
    if (event.key !== LIVE_KEY) return;
    recorder.note('live · other tab', event.newValue === null
      ? 'the other tab logged out: this tab signs out too, nothing sent'
      : 'new tokens from the other tab (it refreshed or signed in): adopted, nothing sent from here');
  });

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const submit = form.querySelector('button');
    submit.disabled = true;
    try {
      await gate.login({ username: form.username.value, password: form.password.value });
      $('result').textContent = 'Signed in.';
      $('call-me').focus(); // the form just disappeared: keep keyboard users somewhere useful
    } catch (error) {
      $('result').textContent = redact(error.code ? `${error.code}: ${error.message}` : error.message);
    } finally {
      submit.disabled = false;
    }
  });

  $('call-me').addEventListener('click', async () => {
    try {
      const res = await recorder.call(gate, 'live', api, ME_URL);
      const body = await res.json().catch(() => null);
      $('result').textContent = redact(`${res.status} ${res.ok ? `you are ${body?.username}` : (body?.detail ?? res.statusText)}`);
    } catch (error) {
      $('result').textContent = redact(error.code ? `${error.code}: ${error.message}` : error.message);
    }
  });

  const foreign = new URL('/api/health', servers.flask).href;
  $('call-foreign').textContent = `Call :${new URL(foreign).port}/api/health (not trusted)`;
  $('call-foreign').title = foreign;
  $('call-foreign').addEventListener('click', async () => {
    try {
      const res = await recorder.call(gate, 'live', api, foreign);
      $('result').textContent = `${res.status}: sent without the token, ${new URL(foreign).origin} is not trusted.`;
    } catch (error) {
      $('result').textContent = redact(error.code ? `${error.code}: ${error.message}` : `${error.message} (is the Flask server running?)`);
    }
  });

  $('logout').addEventListener('click', async () => {
    await gate.logout();
    $('result').textContent = 'Logged out, here and in any other tab of this page.';
    $('login-form').querySelector('button').focus();
  });

  $('ttl-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const seconds = Number($('ttl').value);
    try {
      await setAccessTtl(api, seconds);
      $('ttl-status').textContent = `FastAPI now issues ${seconds} s tokens (from the next sign-in or refresh); `
        + 'the mark on the bar shows when the gate renews them.';
    } catch (error) {
      $('ttl-status').textContent = `Could not set it: ${error.message}`;
    }
  });

  $('clear-log').addEventListener('click', () => recorder.clear());

}

// ---- sign-in through the OpenID provider ---------------------------------------------------------

// Names the provider's requests on the timeline (display only: the gate decides what it sends).
function oidcStep(path, init) {
  if (path === '/.well-known/openid-configuration') return { kind: 'login', did: 'discovery: the provider\'s endpoints' };
  if (path === '/token/revocation') return { kind: 'login', did: 'logout: the refresh token revoked at the provider' };
  if (path !== '/token') return null;
  const grant = new URLSearchParams(typeof init?.body === 'string' || init?.body instanceof URLSearchParams
    ? String(init.body) : '').get('grant_type');
  return grant === 'refresh_token'
    ? { kind: 'refresh', did: 'refresh_token grant: one request; the refresh token rotates' }
    : { kind: 'login', did: 'code exchange with the PKCE verifier, once' };
}

async function startOidcGate(createAuthGate) {
  const here = new URL('./', location.href).href; // this page without its query: the registered redirect URI
  const status = (text) => { $('oidc-status').textContent = redact(text); };
  const failed = (error) => status(`${error.code ?? error.name ?? 'Error'}: ${error.message}`);
  let gate;
  try {
    gate = createAuthGate({
      baseUrl: servers.resource,
      oidc: { issuer: servers.idp, clientId: 'authgate-spa', redirectUri: here, postLogoutRedirectUri: here },
      storage: 'session',
      storageKey: 'authgate-demo-oidc',
      refreshSkewSeconds: SKEW_S,
      fetch: recorder.instrument('openid', { base: servers.idp, classify: oidcStep }),
    });
  } catch (error) {
    $('oidc-login').disabled = true;
    failed(error);
    return;
  }
  const show = (state) => {
    const signedIn = state === 'authenticated' || state === 'refreshing';
    $('oidc-login').hidden = signedIn;
    $('oidc-call').hidden = !signedIn;
    $('oidc-logout').hidden = !signedIn;
    if (signedIn) status(`Signed in at the provider as ${gate.session?.claims?.sub ?? 'someone'}; the API takes its tokens.`);
  };
  gate.subscribe(show);
  const callMe = async () => {
    try {
      const res = await recorder.call(gate, 'openid', servers.resource, '/api/me');
      const body = await res.json().catch(() => null);
      status(`GET /api/me → ${res.status} ${res.ok ? `you are ${body?.sub}` : (body?.detail ?? res.statusText)}`);
    } catch (error) {
      failed(error);
    }
  };
  // Whatever goes wrong (a refusal, or a build of the package without OpenID support) is said on the page.
  const attempt = (action) => async () => {
    try {
      await action();
    } catch (error) {
      failed(error);
    }
  };
  $('oidc-login').addEventListener('click', attempt(() => gate.loginWithRedirect()));
  $('oidc-call').addEventListener('click', callMe);
  $('oidc-logout').addEventListener('click', attempt(() => gate.logout({ redirect: true })));
  const back = new URLSearchParams(location.search);
  if (back.has('state') && (back.has('code') || back.has('error'))) {
    recorder.note('openid', 'back from the provider: the gate checks state and iss, then exchanges the code');
    try {
      await gate.handleRedirectCallback();
      await callMe();
    } catch (error) {
      failed(error);
    }
  }
}

// ---- the incidents ---------------------------------------------------------------------------

const ran = new Set();
let busy = false;

function renderIncidents(ctx) {
  const list = $('incident-list');
  for (const incident of INCIDENTS) {
    const titleId = `incident-${incident.id}-title`;
    const run = el('button', { type: 'button', className: 'run', textContent: 'Run both ways' });
    run.setAttribute('aria-describedby', titleId);
    const article = el('article', { className: 'card incident', id: `incident-${incident.id}` },
      el('div', { className: 'incident-head' },
        el('div', {},
          el('p', { className: 'stack', textContent: incident.stack }),
          el('h3', { id: titleId, textContent: incident.title })),
        run),
      el('p', { className: 'story', textContent: incident.story }),
      el('div', { className: 'sides' }, side(incident, 'plain'), side(incident, 'gate')));
    article.dataset.incident = incident.id;
    article.dataset.state = 'idle';
    article.setAttribute('aria-labelledby', titleId);
    run.addEventListener('click', () => runIncident(ctx, incident, article));
    list.append(article);
  }
}

function side(incident, which) {
  const spec = incident[which];
  const counters = el('dl', { className: 'counters' }, ...incident.counters.map(([key, label]) => {
    const box = el('div', {}, el('dt', { textContent: label }), el('dd', { textContent: '–' }));
    box.dataset.counter = key;
    return box;
  }));
  const section = el('section', { className: `side ${which}` },
    el('h4', {},
      el('span', { className: `badge ${which}`, textContent: which === 'plain' ? 'without' : 'with authgate' }),
      ` ${spec.title}`),
    el('pre', {}, el('code', { textContent: spec.code })),
    el('div', { className: 'outcome' },
      el('p', { className: 'verdict', textContent: 'Not run yet.' }),
      el('div', { className: 'details' })),
    el('p', { className: 'counted muted small', textContent: 'The server counted:' }),
    counters,
    el('div', { className: 'gantt' }));
  section.querySelector('.gantt').setAttribute('aria-hidden', 'true');
  section.querySelector('.outcome').setAttribute('role', 'status');
  section.dataset.side = which;
  section.setAttribute('aria-label', `${which === 'plain' ? 'Without authgate' : 'With authgate'}: ${incident.title}`);
  return section;
}

const BAD_COUNTERS = new Set(['status_401', 'status_403', 'refreshes_refused']);

async function runIncident(ctx, incident, article) {
  if (busy) return;
  busy = true;
  for (const button of document.querySelectorAll('button.run')) button.disabled = true;
  article.dataset.state = 'running';
  ran.add(incident.id);
  const origin = servers[incident.server];
  for (const which of ['plain', 'gate']) {
    const section = article.querySelector(`[data-side="${which}"]`);
    section.querySelector('.verdict').textContent = 'Not run yet.';
    section.querySelector('.details').replaceChildren();
    section.dataset.state = 'idle';
    for (const dd of section.querySelectorAll('.counters dd')) dd.textContent = '–';
  }
  try {
    for (const which of ['plain', 'gate']) {
      const section = article.querySelector(`[data-side="${which}"]`);
      section.dataset.state = 'running';
      section.querySelector('.verdict').textContent = 'Running…';
      try {
        const result = await incident[which].run(ctx, origin, incident);
        section.querySelector('.verdict').textContent = redact(result.verdict);
        section.querySelector('.details').replaceChildren(
          ...(result.details ?? []).filter(Boolean).map((text) => el('p', { className: 'detail', textContent: redact(text) })));
        for (const box of section.querySelectorAll('[data-counter]')) {
          const value = result.counts[box.dataset.counter];
          box.querySelector('dd').textContent = String(value);
          box.classList.toggle('bad', BAD_COUNTERS.has(box.dataset.counter) && value > 0);
        }
        section.dataset.state = result.good ? 'good' : 'bad';
      } catch (error) {
        section.dataset.state = 'error';
        section.querySelector('.verdict').textContent = redact(`Could not run it: ${error.message}. `
          + `Is the ${SERVER_NAMES[incident.server]} server up at ${origin}? scripts/demo.sh starts all three.`);
      }
    }
  } finally {
    article.dataset.state = 'done';
    busy = false;
    for (const button of document.querySelectorAll('button.run')) button.disabled = false;
    schedule('gantt');
  }
}

function renderGantts(id) {
  const article = $(`incident-${id}`);
  for (const which of ['plain', 'gate']) {
    const prefix = `${id} ${which}`;
    // Sign-ins are set-up, not the incident: left out, so the axis is the incident's own.
    const rows = recorder.rows
      .filter((r) => r.source.startsWith(prefix) && !['note', 'login', 'probe'].includes(r.kind) && !r.source.includes('previous visit'))
      .sort((a, b) => sortTime(a) - sortTime(b));
    renderGantt(article.querySelector(`[data-side="${which}"] .gantt`), rows);
  }
}

function renderGantt(box, rows) {
  if (rows.length === 0) {
    box.replaceChildren();
    return;
  }
  const start = Math.min(...rows.map((r) => r.issuedAt));
  const end = Math.max(...rows.map((r) => r.endAt ?? performance.now()), start + 1);
  const span = end - start;
  const lane = Math.max(2, Math.min(14, Math.floor(160 / rows.length)));
  const pct = (t) => `${((t - start) / span) * 100}%`;
  const width = (a, b) => `${Math.max(((b - a) / span) * 100, 0.6)}%`;
  const bars = [];
  rows.forEach((row, i) => {
    const top = `${i * lane}px`;
    const height = `${Math.max(lane - 1, 2)}px`;
    const firstSent = row.attempts[0]?.sentAt ?? row.endAt ?? performance.now();
    if (firstSent - row.issuedAt > 2) {
      bars.push(el('i', { className: 'seg wait', style: `left:${pct(row.issuedAt)};width:${width(row.issuedAt, firstSent)};top:${top};height:${height}` }));
    }
    for (const attempt of row.attempts) {
      const status = attempt.status;
      const kind = row.kind === 'refresh' ? (status === 200 ? 'refresh' : 'bad')
        : typeof status === 'number' && status < 300 ? 'ok' : status === undefined ? 'pending' : 'bad';
      const stop = attempt.endAt ?? performance.now();
      bars.push(el('i', { className: `seg ${kind}`, style: `left:${pct(attempt.sentAt)};width:${width(attempt.sentAt, stop)};top:${top};height:${height}` }));
    }
    if (row.attempts.length === 0 && row.endAt !== null) { // refused before it was sent
      bars.push(el('i', { className: 'seg refused', style: `left:${pct(row.endAt)};width:0.6%;top:${top};height:${height}` }));
    }
  });
  const requests = rows.reduce((n, r) => n + r.attempts.length, 0);
  const plot = el('div', { className: 'plot', style: `height:${rows.length * lane}px` }, ...bars);
  const axis = el('p', { className: 'axis' },
    el('span', { textContent: `${requests} request${requests === 1 ? '' : 's'} (sign-ins not drawn)` }),
    el('span', { textContent: `${Math.round(span)} ms` }));
  box.replaceChildren(plot, axis);
}

// ---- start -------------------------------------------------------------------------------------

function showFatal(message) {
  $('fatal').textContent = redact(message);
  $('fatal').hidden = false;
}

async function main() {
  const { createAuthGate } = await import('../dist/index.js').catch((error) => {
    throw new Error(`Could not load the authgate package from /dist/ (${error.message}). Run "make dist", then reload.`);
  });
  await startLiveGate(createAuthGate);
  startOidcGate(createAuthGate).catch((error) => { $('oidc-status').textContent = redact(error.message); });
  // axios for the "plain" side of the incidents whose apps used it (a root devDependency).
  const axios = await import('../node_modules/axios/dist/esm/axios.min.js').then((m) => m.default, () => null);
  const ctx = {
    recorder,
    createAuthGate,
    get axios() {
      if (!axios) throw new Error('axios is not installed (npm ci at the repository root)');
      return axios;
    },
    nativeFetch,
  };
  renderIncidents(ctx);
}

main().catch((error) => showFatal(error.message));
