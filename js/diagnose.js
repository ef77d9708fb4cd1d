/**
 * diagnose(url): three probes the browser alone can run, read by the core.
 * The probes never carry the real token: the third one sends a dummy bearer,
 * which is enough to make the browser preflight exactly as the gate's calls do.
 */
const PROBE_TIMEOUT_MS = 5000;
const DUMMY_AUTHORIZATION = 'Bearer authgate-diagnose-probe';

/**
 * @param {{client(): Promise<import('./core.js').CoreClient>, fetchImpl(): typeof fetch}} exec
 * @param {string} url
 */
export async function diagnose(exec, url) {
  const plan = (await exec.client()).plan(String(url));
  if (plan === null) throw new TypeError(`authgate: diagnose(${url}): not an http(s) URL the gate can resolve.`);
  const { url: target, credentials } = JSON.parse(plan);
  const fetch = exec.fetchImpl();

  const [opaque, simple, asSent] = await Promise.all([
    probe(fetch, target, { mode: 'no-cors', credentials: 'omit' }),
    probe(fetch, target, { mode: 'cors', credentials: 'omit' }),
    probe(fetch, target, {
      mode: 'cors',
      headers: { Authorization: DUMMY_AUTHORIZATION },
      // 'default': the gate leaves the request's own mode (AG_CRED_UNSET), so does the probe.
      ...(credentials === 'default' ? {} : { credentials }),
    }),
  ]);
  const diagnosis = (await exec.client()).diagnose(String(url), opaque !== null, simple ?? 0, asSent ?? 0);
  if (diagnosis === null) throw new Error(`authgate: diagnose(${url}): the core could not build a diagnosis.`);
  return JSON.parse(diagnosis);
}

/** The response status (0 for an opaque one), or null when the request failed or timed out. */
async function probe(fetch, url, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    const response = await fetch.call(globalThis, url, {
      ...init,
      method: 'GET',
      cache: 'no-store',
      signal: controller.signal,
    });
    response.body?.cancel().catch(() => {});
    return response.status;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
