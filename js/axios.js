/**
 * authgate/axios: routes an axios instance (the default `axios` too) through
 * gate.fetch, so its requests follow the gate's rules: the bearer attached by
 * the core, the guard, the wait for readiness, single-flight refresh and one
 * replay after a 401. Every instance routed to one gate shares one token
 * store: a second instance can no longer go out without the bearer.
 *
 *   const api = axios.create({ baseURL: 'https://api.example' });
 *   const unroute = routeThroughGate(api, gate);
 *
 * Importing this module touches no browser global (SSR-safe).
 */
import { AxiosError, CanceledError } from 'axios';

/**
 * Replaces `instance.defaults.adapter` with one that sends through `gate`.
 * Returns the uninstaller, which restores the previous adapter.
 */
export function routeThroughGate(instance, gate) {
  if (!instance?.defaults || typeof instance.getUri !== 'function') {
    throw new TypeError('authgate/axios: routeThroughGate(instance, gate) needs an axios instance (axios or axios.create()).');
  }
  if (!gate || typeof gate.fetch !== 'function') {
    throw new TypeError('authgate/axios: routeThroughGate(instance, gate) needs a gate from createAuthGate().');
  }
  const previous = instance.defaults.adapter;
  const adapter = (config) => sendThroughGate(instance, gate, config);
  instance.defaults.adapter = adapter;
  return () => {
    if (instance.defaults.adapter === adapter) instance.defaults.adapter = previous;
  };
}

async function sendThroughGate(instance, gate, config) {
  const method = (config.method ?? 'get').toUpperCase();
  // getUri applies baseURL, params and paramsSerializer exactly as axios does.
  const url = instance.getUri(config);
  const request = { method, url }; // error.request: what was asked for
  const headers = requestHeaders(config.headers);
  let body = method === 'GET' || method === 'HEAD' ? undefined : (config.data ?? undefined);
  // The browser writes the multipart boundary itself.
  if (typeof FormData !== 'undefined' && body instanceof FormData) delete headers['content-type'];

  const init = { method, headers };
  if (body !== undefined) init.body = body;
  if (config.withCredentials) init.credentials = 'include';

  const { signal, cleanup, timedOut } = cancellation(config);
  if (signal) init.signal = signal;

  let response;
  try {
    response = await gate.fetch(url, init);
  } catch (error) {
    cleanup();
    if (timedOut()) throw timeoutError(config, request);
    if (signal?.aborted || error?.name === 'AbortError') {
      throw new CanceledError(null, config, request);
    }
    if (error?.name === 'AuthGateError') throw error; // the gate's verdict, as the gate said it
    throw AxiosError.from(error, AxiosError.ERR_NETWORK, config, request);
  }

  let data;
  try {
    data = await responseData(response, config.responseType);
  } catch (error) {
    cleanup();
    if (timedOut()) throw timeoutError(config, request);
    if (signal?.aborted) throw new CanceledError(null, config, request);
    throw AxiosError.from(error, AxiosError.ERR_NETWORK, config, request);
  }
  cleanup();

  const result = {
    data,
    status: response.status,
    statusText: response.statusText,
    headers: Object.fromEntries(response.headers),
    config,
    request,
  };
  // axios' settle(): HTTP errors follow validateStatus.
  const validate = config.validateStatus;
  if (!result.status || !validate || validate(result.status)) return result;
  throw new AxiosError(
    `Request failed with status code ${result.status}`,
    result.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST,
    config,
    request,
    result,
  );
}

/** axios' headers (AxiosHeaders or a plain object), minus unset values, as a plain object. */
function requestHeaders(headers) {
  const plain = typeof headers?.toJSON === 'function' ? headers.toJSON() : { ...headers };
  const out = {};
  for (const [name, value] of Object.entries(plain)) {
    if (value === undefined || value === null || value === false) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** config.signal, config.cancelToken and config.timeout folded into one AbortSignal. */
function cancellation(config) {
  const sources = [];
  if (config.signal) sources.push(config.signal);
  let controller = null;
  let timer = null;
  let expired = false;
  let unsubscribe = () => {};
  if (config.cancelToken || config.timeout > 0) {
    controller = new AbortController();
    sources.push(controller.signal);
    if (config.cancelToken) {
      const onCancel = (reason) => controller.abort(reason);
      config.cancelToken.subscribe(onCancel);
      unsubscribe = () => config.cancelToken.unsubscribe?.(onCancel);
    }
    if (config.timeout > 0) {
      timer = setTimeout(() => {
        expired = true;
        controller.abort();
      }, config.timeout);
    }
  }
  const signal = sources.length > 1 ? AbortSignal.any(sources) : sources[0];
  return {
    signal,
    timedOut: () => expired,
    cleanup() {
      clearTimeout(timer);
      unsubscribe();
    },
  };
}

function timeoutError(config, request) {
  const clarify = config.transitional?.clarifyTimeoutError;
  return new AxiosError(
    config.timeoutErrorMessage ?? `timeout of ${config.timeout}ms exceeded`,
    clarify ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED,
    config,
    request,
  );
}

/** The body as axios' responseType asks; 'json' stays text for axios' own transformResponse to parse. */
async function responseData(response, responseType) {
  switch (responseType) {
    case 'arraybuffer':
      return response.arrayBuffer();
    case 'blob':
      return response.blob();
    case 'formdata':
      return response.formData();
    case 'stream':
      return response.body;
    default:
      return response.text();
  }
}
