// Cold start, one mode per page load (?mode=...), in a fresh browser context:
//   authgate-anon     import → createAuthGate → ready() (no stored session: 'anonymous')
//   authgate-session  import → createAuthGate → ready() ('authenticated' from the persisted blob)
//                     → the first authorized response
//   authgate-bundled  the same as authgate-session, dist/index.js as an app bundles it (esbuild --minify)
//   ky                import ky (minified bundle) → the first authorized response, token from localStorage
//   fetch             the first authorized response with a bare fetch (no import at all)
// The start-up is profiled from outside, on the path that ships: fetch and
// WebAssembly.instantiateStreaming are wrapped only to note when they are
// called and when they answer. core.js asks for the .wasm, waits for the
// response, then compiles it streaming and instantiates it; the gate then
// starts (options, storage, the persisted session), and each wasm function
// runs for the first time then: V8 compiles wasm lazily, function by function,
// so that first-run cost lands in "gate start", not in "compile".
const mode = new URLSearchParams(location.search).get('mode');
const at = {};
const wasm = {};

const plainFetch = window.fetch;
window.fetch = function (input, init) {
  if (at.wasmAsked === undefined && String(input?.url ?? input).endsWith('.wasm')) at.wasmAsked = performance.now();
  return plainFetch.call(this, input, init);
};
const streaming = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = async (source, imports) => {
  at.wasmAnswered = performance.now(); // core.js hands over the response once it has it
  const result = await streaming(source, imports);
  at.wasmReady = performance.now();
  WebAssembly.instantiateStreaming = streaming;
  return result;
};

async function run() {
  const t0 = performance.now();
  const out = { mode };
  if (mode === 'fetch') {
    const r = await fetch('/api/data', { headers: { Authorization: `Bearer ${localStorage.getItem('bench-token')}` } });
    out.status = r.status;
    await r.json();
    out.firstResponseMs = performance.now() - t0;
    return out;
  }
  if (mode === 'ky') {
    const { default: ky } = await import('/vendor/ky.js');
    out.importMs = performance.now() - t0;
    const api = ky.create({
      prefixUrl: location.origin,
      hooks: {
        beforeRequest: [(request) => request.headers.set('Authorization', `Bearer ${localStorage.getItem('bench-token')}`)],
      },
    });
    await api.get('api/data').json();
    out.status = 200;
    out.firstResponseMs = performance.now() - t0;
    return out;
  }
  const { createAuthGate } = await import(mode === 'authgate-bundled' ? '/vendor/authgate.js' : '/dist/index.js');
  out.importMs = performance.now() - t0;
  const imported = performance.now();
  const gate = createAuthGate({
    baseUrl: location.origin,
    public: ['/api/auth/'],
    refresh: { url: '/api/auth/refresh' },
    storage: 'local',
    storageKey: mode === 'authgate-anon' ? 'bench-nothing-stored' : 'bench-session',
    crossTab: false,
  });
  out.state = await gate.ready();
  out.readyMs = performance.now() - t0;
  if (at.wasmReady !== undefined) {
    const readyAt = t0 + out.readyMs;
    Object.assign(wasm, {
      untilAskedMs: at.wasmAsked - imported,
      requestMs: at.wasmAnswered - at.wasmAsked,
      compileInstantiateMs: at.wasmReady - at.wasmAnswered,
      startMs: readyAt - at.wasmReady,
    });
  }
  if (out.state === 'authenticated') {
    const r = await gate.fetch('/api/data');
    out.status = r.status;
    await r.json();
    out.firstResponseMs = performance.now() - t0;
  }
  out.wasm = wasm;
  gate.destroy();
  return out;
}

window.coldResult = run().catch((error) => ({ mode, error: String(error?.stack ?? error) }));
