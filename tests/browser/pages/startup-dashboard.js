// An app's start-up, in one module: the auth store's auto-login (a refresh
// token persisted by an earlier login) and the dashboard's data fetches start
// in the same tick, as a Vue app mounting its Dashboard does.
//
//   ?api=<origin>&mode=naive  the naive code: auto-login is not awaited, the
//                             dashboard reads whatever access token is stored
//   ?api=<origin>&mode=login  an earlier visit: sign in through the gate (storage 'local')
//   ?api=<origin>&mode=gate   the same start-up through authgate
// The outcome is window.dashboard: a promise of [{path, status | code}].
import { createAuthGate } from '../../../dist/index.js';

const params = new URLSearchParams(location.search);
const api = params.get('api');
const mode = params.get('mode');
const DASHBOARD = ['/api/dashboard/stats', '/api/dashboard/items', '/api/dashboard/stats'];
const show = (text) => {
  document.getElementById('state').textContent = text;
};

if (mode === 'naive') {
  // stores/auth.js
  const autoLogin = async () => {
    const refresh = localStorage.getItem('refresh_token');
    if (!refresh) return;
    const res = await fetch(`${api}/api/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh }),
    });
    const data = await res.json();
    localStorage.setItem('access_token', data.access_token);
    localStorage.setItem('refresh_token', data.refresh_token);
  };
  // services/api.js
  const apiGet = (path) => {
    const token = localStorage.getItem('access_token');
    return fetch(`${api}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  };
  // main.js: app.mount() does not wait for the auto-login...
  const login = autoLogin();
  // ...and Dashboard.vue's onMounted fetches at once.
  window.dashboard = Promise.all(DASHBOARD.map(async (path) => ({ path, status: (await apiGet(path)).status })));
  window.dashboard.then(() => login).then(() => show('done'));
} else {
  const gate = createAuthGate({
    baseUrl: api,
    public: ['/api/auth/', '/api/health'],
    login: { url: '/api/auth/login' },
    refresh: { url: '/api/auth/refresh' },
    storage: 'local',
    refreshSkewSeconds: 0,
  });
  window.gate = gate;
  if (mode === 'login') {
    window.dashboard = gate.login({ username: 'demo', password: 'demo' }).then(() => []);
  } else {
    // Same tick as createAuthGate: the wasm is still loading, the state unknown.
    window.dashboard = Promise.all(
      DASHBOARD.map((path) =>
        gate.fetch(path).then(
          (res) => ({ path, status: res.status }),
          (error) => ({ path, code: error.code ?? String(error) }),
        ),
      ),
    );
  }
  window.dashboard.then(() => show(gate.state));
}
