// The authgate demo page: sign in, call a protected route through the gate,
// watch the gate's state change, and read a log of every call. The page never
// handles a token, and redacts anything token-like before showing text.

const LOGIN_URL = '/api/v1/auth/login';
const ME_URL = '/api/v1/auth/me';
const HISTORY_LENGTH = 8;

// scripts/demo.sh and the tests pass ?api=<origin>; otherwise port 8000 on this page's host.
const apiBase = new URLSearchParams(location.search).get('api') ?? `${location.protocol}//${location.hostname}:8000`;

const $ = (id) => document.getElementById(id);
const absolute = (path) => new URL(path, apiBase).href;

// A bearer value is long; "a Bearer token" in a sentence is left alone.
const redact = (text) => String(text)
  .replace(/Bearer\s+[\w.~+/-]{16,}=*/gi, 'Bearer [redacted]')
  .replace(/eyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted token]');

const clock = () => new Date().toLocaleTimeString([], { hour12: false });

function showFatal(message) {
  $('fatal').textContent = redact(message);
  $('fatal').hidden = false;
}

/** One line of the call log: what was asked, what came back, what it meant. */
function logCall({ method, url, status, note, outcome }) {
  const item = document.createElement('li');
  item.className = `entry ${outcome}`;
  const cells = [
    ['time', clock()],
    ['method', method],
    ['url', url],
    ['status', status],
    ['note', note],
  ];
  for (const [name, text] of cells) {
    const cell = document.createElement('span');
    cell.className = name;
    cell.textContent = redact(text);
    item.append(cell);
  }
  $('log').append(item);
  $('log').scrollTop = $('log').scrollHeight;
}

/** How a rejected gate call is logged: AuthGateErrors keep their code, which says why. */
function failure(method, url, error) {
  const gateError = error?.name === 'AuthGateError';
  return {
    method,
    url,
    status: gateError ? (error.status ?? error.code) : 'error',
    note: gateError ? `${error.code}: ${error.message}` : String(error?.message ?? error),
    outcome: gateError && error.code === 'NO_TOKEN' ? 'refused' : 'error',
  };
}

let shownState = null;

function renderState(state) {
  if (state === shownState) return; // main() renders the first state itself; subscribe may repeat it
  shownState = state;
  $('state').textContent = state;
  $('state').dataset.state = state;
  const signedIn = state === 'authenticated' || state === 'refreshing';
  $('login-form').hidden = signedIn;
  $('signed-in').hidden = !signedIn;
  const item = document.createElement('li');
  item.textContent = `${clock()}  ${state}`;
  $('state-history').prepend(item);
  while ($('state-history').childElementCount > HISTORY_LENGTH) $('state-history').lastElementChild.remove();
}

async function main() {
  $('api-base').textContent = apiBase;
  const { createAuthGate } = await import('../dist/index.js').catch((error) => {
    throw new Error(`Could not load the authgate package from /dist/ (${error.message}). Run "make dist", then reload.`);
  });
  const gate = createAuthGate({
    baseUrl: apiBase,
    login: { url: LOGIN_URL },
    refresh: { url: '/api/v1/auth/refresh' },
    public: [LOGIN_URL, '/api/v1/auth/refresh', '/health'],
  });
  gate.subscribe(renderState);
  renderState(gate.state);
  gate.ready().catch((error) => showFatal(`The gate did not start: ${error.message}`));

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const submit = form.querySelector('button');
    submit.disabled = true;
    try {
      await gate.login({ username: form.username.value, password: form.password.value });
      logCall({ method: 'POST', url: absolute(LOGIN_URL), status: 'ok', note: 'signed in; the gate keeps the tokens', outcome: 'ok' });
      $('call-me').focus(); // the form just disappeared: keep keyboard users somewhere useful
    } catch (error) {
      logCall(failure('POST', absolute(LOGIN_URL), error));
    } finally {
      submit.disabled = false;
    }
  });

  $('call-me').addEventListener('click', async () => {
    try {
      const res = await gate.fetch(ME_URL);
      const body = await res.json().catch(() => null);
      const note = res.ok ? `you are ${body?.username}` : (body?.detail ?? res.statusText);
      $('result').textContent = redact(`${res.status} ${note}`);
      logCall({ method: 'GET', url: absolute(ME_URL), status: res.status, note, outcome: res.ok ? 'ok' : 'error' });
    } catch (error) {
      const entry = failure('GET', absolute(ME_URL), error);
      $('result').textContent = redact(entry.note);
      logCall(entry);
    }
  });

  $('logout').addEventListener('click', async () => {
    await gate.logout();
    $('result').textContent = '';
    logCall({ method: '—', url: 'gate.logout()', status: 'ok', note: 'tokens forgotten here and in other tabs', outcome: 'ok' });
    $('login-form').querySelector('button').focus();
  });

  $('clear-log').addEventListener('click', () => $('log').replaceChildren());
}

main().catch((error) => showFatal(error.message));
