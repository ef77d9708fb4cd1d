// Cold start, one mode per page load (?mode=...), in a fresh browser context:
//   authgate-anon     import → createAuthGate → ready() (no stored session: 'anonymous')
//   authgate-session  import → createAuthGate → ready() ('authenticated' from the persisted blob)
//                     → the first authorized response
//   authgate-bundled  the same as authgate-session, dist/index.js as an app bundles it (esbuild --minify)
//   ky                import ky (minified bundle) → the first authorized response, token from localStorage
//   fetch             the first authorized response with a bare fetch (no import at all)
// The wasm is timed by wrapping WebAssembly.instantiateStreaming: the .wasm
// download, then compile and instantiate measured apart.
const mode = new URLSearchParams(location.search).get('mode');
const wasm = { fetchMs: 0, compileMs: 0, instantiateMs: 0 };

const streaming = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = async (source, imports) => {
  const t0 = performance.now();
  const bytes = await (await source).arrayBuffer();
  const t1 = performance.now();
  const module = await WebAssembly.compile(bytes);
  const t2 = performance.now();
  const instance = await WebAssembly.instantiate(module, imports);
  const t3 = performance.now();
  Object.assign(wasm, { fetchMs: t1 - t0, compileMs: t2 - t1, instantiateMs: t3 - t2, bytes: bytes.byteLength });
  WebAssembly.instantiateStreaming = streaming;
  return { module, instance };
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
