// Pieces shared by the provider and the resource server: the READY line, list
// options, CORS answers and JSON replies for the test hooks.

/**
 * Prints the line the launchers wait for, then ties this process's life to its
 * parent's: a test run that is killed must not leave a server holding a port.
 */
export function announceReady(port) {
  console.log(`READY ${port}`);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 1000).unref();
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
}

/** Repeated and comma-separated values of one option, trimmed, empty ones dropped. */
export const listOption = (values) => values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);

/** CORS headers for a request from one of `origins` (a Set), none for any other origin. */
export function corsHeaders(req, origins) {
  const origin = req.headers.origin;
  if (!origin || !origins.has(origin)) return {};
  const headers = {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    Vary: 'Origin',
    'Access-Control-Expose-Headers': 'WWW-Authenticate, DPoP-Nonce',
  };
  if (req.method === 'OPTIONS') {
    headers['Access-Control-Allow-Methods'] = 'GET, HEAD, POST, PUT, PATCH, DELETE';
    headers['Access-Control-Allow-Headers'] = 'Authorization, Content-Type, DPoP';
    headers['Access-Control-Max-Age'] = '0'; // every preflight reaches the counters
  }
  return headers;
}

export function sendJson(res, status, body, headers = {}) {
  const data = body === null ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Cache-Control': 'no-store',
    ...(body !== null && { 'Content-Type': 'application/json' }),
    'Content-Length': Buffer.byteLength(data),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : data);
}

/** The request body parsed as JSON, or null when it is empty or not JSON. */
export async function readJson(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    return null;
  }
}
