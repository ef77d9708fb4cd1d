// A blank page with the package loaded, for specs that drive it with
// page.evaluate(). Everything lives on window.h:
//   h.createAuthGate, h.AuthGateError   the package, imported relatively from dist/
//   h.settle(promise)                   a plain, serialisable outcome of a call
//   h.axios()                           { axios, routeThroughGate } (loaded on demand)
//   h.gates                             gates a spec wants to keep between evaluate() calls
import { AuthGateError, createAuthGate } from '../../../dist/index.js';

/** What a fetch (or any promise) ended with, as plain data a spec can assert on. */
async function settle(promise) {
  try {
    const value = await promise;
    if (value instanceof Response) {
      const text = await value.text();
      let body = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { ok: true, status: value.status, url: value.url, body };
    }
    if (value && typeof value === 'object' && 'status' in value && 'data' in value) {
      return { ok: true, status: value.status, body: value.data }; // an axios response
    }
    return { ok: true, value: value ?? null };
  } catch (error) {
    return {
      ok: false,
      name: error?.name ?? null,
      code: error?.code ?? null,
      status: error?.status ?? error?.response?.status ?? null,
      message: String(error?.message ?? error),
      isAuthGateError: error instanceof AuthGateError,
    };
  }
}

let axiosModules = null;
async function loadAxios() {
  axiosModules ??= Promise.all([import('axios'), import('../../../dist/axios.js')]).then(([axios, adapter]) => ({
    axios: axios.default,
    routeThroughGate: adapter.routeThroughGate,
  }));
  return axiosModules;
}

window.h = { createAuthGate, AuthGateError, settle, axios: loadAxios, gates: {} };
document.documentElement.dataset.harness = 'ready';
