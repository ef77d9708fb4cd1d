import 'server-only';

// Read when a request is served (the layout is dynamic), so one build serves any backend:
// API_URL=http://127.0.0.1:8000 next start. NEXT_PUBLIC_API_URL is the build-time fallback.
export const apiUrl = () => process.env.API_URL ?? process.env.NEXT_PUBLIC_API_URL ?? 'http://127.0.0.1:8000';

/** The httpOnly cookie the server actions keep the access token in. */
export const TOKEN_COOKIE = 'access_token';
