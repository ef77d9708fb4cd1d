/*
 * authgate.h — the one public header of the authgate core.
 *
 * The core is sans-I/O: it performs no network, storage or timer work and
 * reads no clock. The embedder (the JavaScript shim, or a test) feeds it
 * events, each stamped with the current time, and then drains actions with
 * ag_client_next_action() until there are none. The core keeps one deadline
 * (ag_client_next_deadline); the embedder arms a single timer for it and
 * calls ag_client_tick() when it fires.
 *
 * Ownership and lifetime
 *  - ag_client is opaque. ag_client_new() creates it, ag_client_free()
 *    releases it; freeing NULL does nothing.
 *  - Every string the core returns (in an ag_action, from ag_client_diagnose,
 *    ag_client_settings) belongs to the client and stays valid until the next
 *    call on that client. Copy what you keep.
 *  - Input strings are taken as (pointer, length); they need no NUL
 *    terminator and are copied when kept.
 *
 * Time is `ag_ms`: milliseconds since the Unix epoch (Date.now()), an
 * integral value carried in a double so it crosses the wasm boundary as one
 * number. Persisted expiries are absolute, so the clock must be wall time.
 *
 * Errors are negative `enum ag_err` values; ag_strerror() names them.
 *
 * Out of memory (AG_ERR_NOMEM) never breaks the promise. An entry point for
 * something the embedder starts (call, call_opts, token, login, set_tokens,
 * logout, start, message, tick, wake, cancel) then changed nothing: no call
 * was made, the event may be fed again. One that reports what already
 * happened took the path a known failure takes, and its actions say so: a
 * login answer rejects the login AG_CODE_OUT_OF_MEMORY, a refresh answer or a
 * lock grant leaves the refresh backing off with the old tokens (the lock
 * handed back). A getAccessToken request whose token cannot be copied when it
 * is due rejects AG_CODE_OUT_OF_MEMORY; a refused login's message may lack
 * the server's own words. When the answer to an app call, a network error or
 * a lock grant returns it with nothing emitted, nothing changed: fail that
 * call and cancel it (or report the grant again). Actions left undrained may need the ring to grow, so
 * drain before feeding the next event.
 * Two clients never share state. The only process-wide setting is the
 * allocator (ag_set_allocator), which also installs cJSON's hooks.
 */
#ifndef AUTHGATE_H
#define AUTHGATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef double ag_ms;

/* Random bytes one loginWithRedirect takes (PKCE verifier, state, nonce: 32 each). */
#define AG_OIDC_RANDOM_BYTES 96
typedef struct ag_client ag_client;

enum ag_err {
  AG_OK = 0,
  AG_ERR_NOMEM = -1,      /* an allocation failed: see "Out of memory" above */
  AG_ERR_BAD_CONFIG = -2, /* options are malformed or contradictory */
  AG_ERR_BAD_TOKENS = -3, /* a token response or setTokens input is unusable */
  AG_ERR_BAD_BLOB = -4,   /* a stored blob or cross-tab message is malformed */
  AG_ERR_STALE = -5,      /* a blob or message older than what the client has */
  AG_ERR_BAD_URL = -6,    /* a URL that cannot be parsed or resolved */
  AG_ERR_INVALID = -7,    /* a NULL handle, bad enum value or unknown call id */
  AG_ERR_TOO_LARGE = -8   /* input larger than the core's caps */
};

/* A static, never-NULL description of an ag_err (or "unknown error"). */
const char *ag_strerror(int err);

/* Why a call (or login) is rejected. The names match AuthGateError.code. */
enum ag_code {
  AG_CODE_NONE = 0,
  AG_CODE_NO_TOKEN = 1,
  AG_CODE_SESSION_EXPIRED = 2,
  AG_CODE_FOREIGN_ORIGIN = 3,
  AG_CODE_READY_TIMEOUT = 4,
  AG_CODE_CORS_OR_NETWORK = 5,
  AG_CODE_REFRESH_FAILED = 6,
  AG_CODE_BAD_CONFIG = 7,
  AG_CODE_BAD_TOKEN_RESPONSE = 8,
  AG_CODE_LOGIN_FAILED = 9,
  AG_CODE_LOGIN_REQUIRED =
      10,               /* the sign-in must start again (provider login_required, bad state) */
  AG_CODE_TIMEOUT = 11, /* an attempt took longer than timeoutMs */
  AG_CODE_PROVIDER_ERROR =
      12, /* the OpenID provider's discovery or token endpoint refused, or a check failed */
  AG_CODE_OUT_OF_MEMORY =
      13 /* the gate ran out of memory handling the call; nothing was sent bare */
};

/* "NO_TOKEN", ...; "" for AG_CODE_NONE or an unknown value. */
const char *ag_code_name(int code);

enum ag_state {
  AG_STATE_INITIALIZING = 0,
  AG_STATE_AUTHENTICATED = 1,
  AG_STATE_ANONYMOUS = 2,
  AG_STATE_REFRESHING = 3
};

/* "initializing", "authenticated", "anonymous", "refreshing". */
const char *ag_state_name(int state);

enum ag_credentials {
  AG_CRED_UNSET =
      0, /* as an input: the caller did not choose; as an output: leave the request's own */
  AG_CRED_OMIT = 1,
  AG_CRED_SAME_ORIGIN = 2,
  AG_CRED_INCLUDE = 3
};

enum ag_action_type {
  AG_ACTION_NONE = 0,
  AG_ACTION_SEND = 1,    /* perform request `id` (see the fields below) */
  AG_ACTION_RESOLVE = 2, /* settle call `id` with its response (login: nothing; token: `text`) */
  AG_ACTION_REJECT = 3,  /* reject call `id` with `code` and the message in `text` */
  AG_ACTION_LOCK = 4,   /* ask for the cross-tab refresh lock; answer with ag_client_lock_granted */
  AG_ACTION_UNLOCK = 5, /* release the cross-tab refresh lock; `text` (may be NULL): the
                           generation of the tokens just shared, decimal, to announce through
                           the lock manager before releasing (see ag_client_lock_granted) */
  AG_ACTION_PERSIST = 6,       /* store `text` (a blob) under the storage key */
  AG_ACTION_CLEAR_STORAGE = 7, /* remove the stored blob */
  AG_ACTION_BROADCAST = 8,     /* post `text` to the other tabs */
  AG_ACTION_STATE = 9,         /* the state changed to `code` (enum ag_state) */
  AG_ACTION_SESSION = 10,      /* the session changed: `text` is its JSON (see ag_client_session) */
  AG_ACTION_ABORT = 11, /* abort request `id` now (its deadline passed); its outcome follows */
  AG_ACTION_TRANSACTION =
      12, /* keep `text` as the sign-in transaction (sessionStorage); none: remove it */
  AG_ACTION_NAVIGATE = 13, /* go to `text`: code AG_NAVIGATE_ASSIGN or AG_NAVIGATE_REPLACE */
  AG_ACTION_SIGN =
      14,            /* sign `text` with the DPoP key for request `id` (ag_client_dpop_signature) */
  AG_ACTION_KEY = 15 /* load (or make) the DPoP key and give it with ag_client_dpop_key */
};

enum ag_navigate {
  AG_NAVIGATE_ASSIGN = 0, /* location.assign(text): leave the page */
  AG_NAVIGATE_REPLACE = 1 /* history.replaceState(.., text): rewrite the address bar only */
};

enum ag_send_kind {
  AG_SEND_CALL =
      0, /* an app call: the shim keeps the caller's request and adds what is said here */
  AG_SEND_LOGIN =
      1, /* the core's own request: method, url, body, content type; pass the body back */
  AG_SEND_REFRESH = 2,   /* likewise */
  AG_SEND_DISCOVERY = 3, /* the core's own GET of the OpenID discovery document */
  AG_SEND_TOKEN = 4,     /* the code exchange at the token endpoint (form body) */
  AG_SEND_REVOKE = 5     /* RFC 7009 revocation on logout: send it with keepalive */
};

/*
 * One action. Every field is 32 bits wide on wasm32 (enums, uint32_t,
 * pointers, size_t), so the shim reads field i at byte offset 4*i; the
 * order below is part of the wasm ABI (AG_ACTION_FIELDS counts them).
 */
typedef struct ag_action {
  int32_t type;        /* enum ag_action_type */
  uint32_t id;         /* SEND, RESOLVE, REJECT, ABORT: the call id */
  int32_t code;        /* REJECT: enum ag_code; STATE: enum ag_state; SEND: enum ag_send_kind */
  int32_t credentials; /* SEND: enum ag_credentials (AG_CRED_UNSET: keep the request's own) */
  int32_t replay;      /* SEND: 1 when this is the one replay after a 401 */
  const char *method;  /* SEND: "GET", ... */
  const char *url;     /* SEND: the final absolute URL */
  const char
      *authorization; /* SEND: the Authorization value to set, or NULL to leave the request's own */
  const char *body;   /* SEND login/refresh: request body, `body_len` bytes (may be NULL) */
  uint32_t body_len;
  const char *content_type; /* SEND login/refresh: Content-Type of `body`, or NULL */
  const char *text;         /* REJECT: message; PERSIST, BROADCAST: the blob; SESSION: its JSON;
                       SIGN: the bytes to sign; RESOLVE of a token request: the access token
                       (a secret) */
  uint32_t text_len;
  const char *dpop;  /* SEND: the DPoP header's value (the proof), or NULL for none */
  int32_t abortable; /* SEND: 1 when the attempt has a deadline (an ABORT for it may follow) */
} ag_action;

#define AG_ACTION_FIELDS 15

/*
 * What the embedder needs from the options to execute, resolved with defaults.
 * The field order is part of the wasm ABI too (AG_SETTINGS_FIELDS words).
 */
enum ag_storage { AG_STORAGE_MEMORY = 0, AG_STORAGE_SESSION = 1, AG_STORAGE_LOCAL = 2 };

typedef struct ag_settings {
  int32_t storage;         /* enum ag_storage */
  int32_t cross_tab;       /* 1: use BroadcastChannel and the cross-tab lock */
  const char *storage_key; /* the storage key, also the channel and lock name */
  int32_t dpop;            /* 1: options.dpop (the core asks for the key with AG_ACTION_KEY) */
} ag_settings;

#define AG_SETTINGS_FIELDS 4

/*
 * Allocator used by the core and by cJSON, process-wide; NULL restores
 * malloc/free. Set it once, before the first client. `ag_live_allocations`
 * counts blocks the core holds now (for leak tests).
 */
void ag_set_allocator(void *(*malloc_fn)(size_t), void (*free_fn)(void *));
long ag_live_allocations(void);

/*
 * Creates a client from options JSON (the AuthGateOptions object).
 * `page_origin` is the page's origin ("https://app.example"), or empty when
 * there is none (Node): then baseUrl must be absolute. The client starts
 * `initializing` and stays so until ag_client_start().
 * On AG_ERR_BAD_CONFIG a one-line reason is written to `err` (NUL-terminated,
 * truncated to `err_cap`) when `err` is not NULL.
 * Returns AG_OK, AG_ERR_BAD_CONFIG, AG_ERR_NOMEM or AG_ERR_INVALID (out NULL).
 */
int ag_client_new(ag_client **out, const char *options_json, size_t options_len,
                  const char *page_origin, size_t page_origin_len, char *err, size_t err_cap);

void ag_client_free(ag_client *client);

/* Resolved settings; strings live as long as the client. */
void ag_client_settings(const ag_client *client, ag_settings *out);

/*
 * The stored blob was read (NULL or empty when there was none). This decides
 * the initial state: a valid access token → authenticated; an expired one
 * with a refresh token (or cookie refresh) → refresh first; else anonymous.
 * A malformed blob is discarded (CLEAR_STORAGE) and the client starts clean.
 * Returns AG_OK, AG_ERR_NOMEM or AG_ERR_INVALID (already started).
 */
int ag_client_start(ag_client *client, ag_ms now, const char *blob, size_t blob_len);

/*
 * An app call. `authorization` is the caller's own Authorization header value
 * (NULL if none); `credentials` the caller's explicit choice or AG_CRED_UNSET.
 * Writes the new call id to `id_out`. The outcome comes as actions: SEND now,
 * later (after readiness or a refresh), or REJECT.
 * Returns AG_OK, AG_ERR_NOMEM, AG_ERR_TOO_LARGE or AG_ERR_INVALID.
 */
int ag_client_call(ag_client *client, ag_ms now, const char *method, size_t method_len,
                   const char *url, size_t url_len, const char *authorization,
                   size_t authorization_len, int credentials, uint32_t *id_out);

/*
 * ag_client_call with per-call options: `options_json` is NULL or the
 * `authgate` member of the call's init, {"timeoutMs"?: n, "retry"?: false |
 * {limit, methods, statuses, maxRetryAfterMs}}; what it sets overrides the
 * client's options for this call. Bad options reject the call BAD_CONFIG.
 * Returns as ag_client_call.
 */
int ag_client_call_opts(ag_client *client, ag_ms now, const char *method, size_t method_len,
                        const char *url, size_t url_len, const char *authorization,
                        size_t authorization_len, int credentials, const char *options_json,
                        size_t options_len, uint32_t *id_out);

/*
 * getAccessToken(): a request for the access token, queued like a protected
 * call (it waits for readiness, and for a refresh when the token is due or
 * expired). Answered with RESOLVE of `id_out` carrying the token in `text`,
 * or REJECT (NO_TOKEN when anonymous, SESSION_EXPIRED, REFRESH_FAILED,
 * READY_TIMEOUT). Returns AG_OK, AG_ERR_NOMEM or AG_ERR_INVALID.
 */
int ag_client_token(ag_client *client, ag_ms now, uint32_t *id_out);

/*
 * Call `id` received a response with `status`. For SEND_LOGIN / SEND_REFRESH
 * pass the body; for app calls the body is not needed (NULL, 0).
 * Returns AG_OK, AG_ERR_NOMEM or AG_ERR_INVALID (unknown id: ignored).
 */
int ag_client_response(ag_client *client, ag_ms now, uint32_t id, int status, const char *body,
                       size_t body_len);

/*
 * ag_client_response with the response's Retry-After header value (NULL when
 * absent or unreadable), which a retried call may wait for.
 */
int ag_client_response_ex(ag_client *client, ag_ms now, uint32_t id, int status, const char *body,
                          size_t body_len, const char *retry_after, size_t retry_after_len);

/* Call `id` failed before any response (fetch threw a TypeError). */
int ag_client_network_error(ag_client *client, ag_ms now, uint32_t id);

/* The caller aborted call `id`; the core forgets it and emits nothing for it. */
int ag_client_cancel(ag_client *client, ag_ms now, uint32_t id);

/*
 * Password login with `credentials_json`, a JSON object of strings, encoded
 * as the options say. The login's outcome comes as RESOLVE or REJECT of
 * `id_out` (LOGIN_FAILED with the status, BAD_TOKEN_RESPONSE,
 * CORS_OR_NETWORK, BAD_CONFIG when no login URL is configured).
 */
int ag_client_login(ag_client *client, ag_ms now, const char *credentials_json,
                    size_t credentials_len, uint32_t *id_out);

/*
 * Tokens handed over by the app: JSON {"access": s, "refresh"?: s, "expiresIn"?: n}.
 * Returns AG_OK, AG_ERR_BAD_TOKENS (nothing changed) or AG_ERR_NOMEM.
 */
int ag_client_set_tokens(ag_client *client, ag_ms now, const char *json, size_t len);

/*
 * OpenID Connect (options.oidc). Discovery starts with ag_client_start, in
 * the background: a stored session serves calls meanwhile; these wait for it.
 *
 * loginWithRedirect: `random` is AG_OIDC_RANDOM_BYTES (96) bytes from
 * crypto.getRandomValues; `return_to` NULL when not given; `params_json` NULL
 * or a JSON object of strings. Answered with TRANSACTION (store it), NAVIGATE
 * (assign) and RESOLVE of `id_out`, or REJECT (BAD_CONFIG, PROVIDER_ERROR).
 */
int ag_client_login_redirect(ag_client *client, ag_ms now, const unsigned char *random,
                             size_t random_len, const char *return_to, size_t return_to_len,
                             const char *params_json, size_t params_len, uint32_t *id_out);

/*
 * handleRedirectCallback: `url` is the page's URL (empty: join the callback
 * already handled), `transaction` what sessionStorage holds (NULL if none).
 * Answered with NAVIGATE (replace: the URL without code/state/iss),
 * TRANSACTION (removed), SEND_TOKEN, then RESOLVE of `id_out` with `text`
 * {"returnTo": s|null}, or REJECT (LOGIN_REQUIRED, PROVIDER_ERROR,
 * BAD_TOKEN_RESPONSE, CORS_OR_NETWORK). A second call with the same URL, an
 * empty one or one without code/state/iss joins the first: it settles as the
 * first did (or will), and nothing is sent again.
 */
int ag_client_redirect_callback(ag_client *client, ag_ms now, const char *url, size_t url_len,
                                const char *transaction, size_t transaction_len, uint32_t *id_out);

/*
 * logout({redirect}): as ag_client_logout, then with oidc a SEND_REVOKE of
 * the refresh token when the provider has a revocation endpoint, and, once it
 * is answered or after 2 s (a deadline), NAVIGATE (assign) to the end-session
 * URL when `redirect` and the provider has one; then RESOLVE of `id_out`.
 */
int ag_client_logout_redirect(ag_client *client, ag_ms now, int redirect, uint32_t *id_out);

/* Forget the tokens here and in the other tabs; waiting calls reject NO_TOKEN. */
int ag_client_logout(ag_client *client, ag_ms now);

/*
 * A cross-tab message or a storage change from another tab. Older or
 * malformed messages are ignored (AG_ERR_STALE, AG_ERR_BAD_BLOB) and change
 * nothing.
 */
int ag_client_message(ag_client *client, ag_ms now, const char *msg, size_t len);

/*
 * The cross-tab lock asked for by AG_ACTION_LOCK is held. `blob` is what the
 * shared storage holds now (NULL if none): another tab may have refreshed
 * while this one waited, and then no refresh is sent. `newest_shared` is the
 * highest generation any tab announced with its UNLOCK (0 when none), read
 * from the lock manager after the grant: when it is newer than both what
 * this tab holds and `blob`, the read came before the other tab's tokens did,
 * and the client waits for them (a message or, after a short wait, a new
 * grant) instead of refreshing with a refresh token that was just rotated.
 */
int ag_client_lock_granted(ag_client *client, ag_ms now, const char *blob, size_t blob_len,
                           ag_ms newest_shared);

/*
 * Random bytes for the jitter of retry back-offs (crypto.getRandomValues).
 * Without them the jitter follows a fixed sequence. Returns AG_OK or
 * AG_ERR_INVALID.
 */
int ag_client_seed(ag_client *client, const unsigned char *bytes, size_t len);

/* Why the page may have slept: what the embedder saw. */
enum ag_wake {
  AG_WAKE_VISIBLE = 1, /* visibilitychange to visible */
  AG_WAKE_ONLINE = 2,  /* the online event: a refresh backing off is retried at once */
  AG_WAKE_PAGESHOW = 3 /* pageshow (also back from the back/forward cache) */
};

/*
 * The page woke up (a laptop lid, a throttled tab, the network back):
 * timers may not have fired. Handles every deadline at or before `now` as
 * ag_client_tick does, so a due refresh starts once. Returns AG_OK,
 * AG_ERR_NOMEM or AG_ERR_INVALID (bad reason).
 */
int ag_client_wake(ag_client *client, ag_ms now, int reason);

/*
 * The session as JSON: {"expiresAt": ms|null, "refreshAt": ms|null, "scope":
 * s|null, "tokenType": "Bearer", "claims": {...}|null}, or "null" while
 * initializing or anonymous. Never a token. NULL on allocation failure.
 * Valid until the next call on the client.
 */
const char *ag_client_session(ag_client *client);

/* The timer fired: handle every deadline at or before `now`. */
int ag_client_tick(ag_client *client, ag_ms now);

/* The earliest deadline, or -1 when there is none. Arm one timer for it. */
ag_ms ag_client_next_deadline(const ag_client *client);

/*
 * Drains one action into `out`. Returns 1 when an action was written, 0 when
 * there are none left. The action's strings stay valid until the next call
 * on the client.
 */
int ag_client_next_action(ag_client *client, ag_action *out);

int ag_client_state(const ag_client *client); /* enum ag_state */

/* AG_STATE_INITIALIZING while unknown, else AUTHENTICATED (also while refreshing) or ANONYMOUS. */
int ag_client_ready_state(const ag_client *client);

/*
 * DPoP (options.dpop, RFC 9449). The private key stays in WebCrypto; the
 * core writes every proof and asks for its signature with a SIGN action.
 *
 * ag_client_dpop_key: the answer to AG_ACTION_KEY: the public key (a JWK:
 * kty EC, crv P-256, x, y; no private member) and AG_DPOP_SEED_BYTES random
 * bytes, from which each proof's jti is derived. What waited for the key
 * (requests to sign, a loginWithRedirect) goes on. `jwk` NULL: the key could
 * not be had; what waited for it fails. The core asks again after a sign-out
 * (logout here or in another tab): the next session may be bound to a new
 * key. Returns AG_OK, AG_ERR_NOMEM or AG_ERR_INVALID (no dpop option, a bad
 * key, too few bytes; what waited still waits).
 *
 * ag_client_dpop_signature: the signature of a SIGN action's bytes, the 64
 * raw bytes r || s that WebCrypto's ECDSA gives (NULL, 0: signing failed).
 * The request then leaves (SEND with `dpop`), or a proof task resolves.
 *
 * ag_client_response_headers: the DPoP-Nonce and WWW-Authenticate values of
 * request `id`'s response (NULL when absent), given just before
 * ag_client_response. A use_dpop_nonce answer is then sent again, once,
 * with the new nonce, instead of being answered.
 *
 * ag_client_dpop_proof: getDpopProof({method, url}): a proof for the access
 * token getAccessToken() would give (ath) and `url`. It waits as
 * ag_client_token does (for readiness, a refresh under way, the refresh of a
 * due token), then SIGN, then RESOLVE of `id_out` with the proof in `text`;
 * or REJECT as ag_client_token would (NO_TOKEN, SESSION_EXPIRED, ...), or
 * BAD_CONFIG for a URL that is not http(s): a ws(s) URL is refused, saying to
 * pass its handshake's http(s) URL.
 */
#define AG_DPOP_SEED_BYTES 32
int ag_client_dpop_key(ag_client *client, ag_ms now, const char *jwk, size_t jwk_len,
                       const unsigned char *seed, size_t seed_len);
int ag_client_dpop_signature(ag_client *client, ag_ms now, uint32_t id, const unsigned char *sig,
                             size_t sig_len);
int ag_client_response_headers(ag_client *client, uint32_t id, const char *dpop_nonce,
                               size_t dpop_nonce_len, const char *www_authenticate,
                               size_t www_authenticate_len);
int ag_client_dpop_proof(ag_client *client, ag_ms now, const char *method, size_t method_len,
                         const char *url, size_t url_len, uint32_t *id_out);

/* What guardGlobalFetch does with a raw fetch. */
enum ag_guard_mode {
  AG_GUARD_MODE_REFUSE = 0,
  AG_GUARD_MODE_AUTHORIZE = 1,
  AG_GUARD_MODE_WARN = 2
};
enum ag_guard_verdict {
  AG_GUARD_PASS = 0,   /* not a protected call, or it carries its own bearer: leave it alone */
  AG_GUARD_REFUSE = 1, /* reject NO_TOKEN without sending */
  AG_GUARD_ROUTE = 2,  /* send it through the gate (ag_client_call) instead */
  AG_GUARD_WARN = 3    /* send it as it is, and warn */
};

/* The room ag_client_guard and ag_guard_unconfigured need in `out`: AG_MAX_URL + 1. */
#define AG_GUARD_URL_CAP 8193

/*
 * Verdict for a raw fetch of `url` (the caller's input as given) that
 * `has_authorization` or not, under `mode`. `url` resolves against
 * `page_url`, the document's base URL (NULL or unparsable: the page origin
 * given to ag_client_new, else none), as the browser resolves it: baseUrl
 * and its path prefix play no part. `href` is the browser's own resolution
 * (new URL(url, page_url).href), or NULL: it is used when the core refuses
 * `url` by its documented subset (IDNA, non-canonical IPv4, percent-encoded
 * hosts), and must name the same origin as the core's resolution otherwise;
 * when it does not, the verdict is AG_GUARD_REFUSE (fail closed).
 * `out` (at least AG_GUARD_URL_CAP bytes) receives the absolute URL judged,
 * fragment included: route exactly that through ag_client_call. It is ""
 * when nothing was judged (PASS: not an http(s) URL the core can read;
 * REFUSE: the disagreement above).
 * Returns an enum ag_guard_verdict, AG_ERR_NOMEM, or AG_ERR_INVALID (a bad
 * mode, `out` too small).
 */
int ag_client_guard(ag_client *client, const char *page_url, size_t page_len, const char *url,
                    size_t url_len, const char *href, size_t href_len, int has_authorization,
                    int mode, char *out, size_t out_cap);

/*
 * The guard of a gate whose options were refused (ag_client_new gave
 * AG_ERR_BAD_CONFIG), so no client exists. Stateless: reads `options_json`
 * best effort for what the gate was meant to protect — baseUrl's origin
 * (the page's when baseUrl is unusable) and the readable trustedOrigins —
 * and returns AG_GUARD_REFUSE for a call there without its own
 * Authorization (fail closed: the gate cannot authorize it), AG_GUARD_PASS
 * for everything else, whatever the mode. Arguments and `out` as for
 * ag_client_guard. Returns a verdict, AG_ERR_NOMEM or AG_ERR_INVALID.
 */
int ag_guard_unconfigured(const char *options_json, size_t options_len, const char *page_url,
                          size_t page_len, const char *url, size_t url_len, const char *href,
                          size_t href_len, int has_authorization, char *out, size_t out_cap);

/*
 * The request plan for `url` as JSON, for diagnose(): {"url","origin" (the
 * URL's),"pageOrigin","crossOrigin","protected" (the token goes there),
 * "credentials"}. NULL on a bad URL
 * or allocation failure. Valid until the next call on the client.
 */
const char *ag_client_plan(ag_client *client, const char *url, size_t url_len);

/*
 * Interprets diagnose() probes of `url` into a Diagnosis JSON object.
 * `reachable`: a no-cors request got an (opaque) answer. `simple_status`: the
 * status of a simple CORS GET (0 when the browser blocked it).
 * `auth_status`: the status of the request as the gate sends it, with an
 * Authorization header and its credentials mode (0 when blocked).
 * NULL on a bad URL or allocation failure. Valid until the next call.
 */
const char *ag_client_diagnose(ag_client *client, const char *url, size_t url_len, int reachable,
                               int simple_status, int auth_status);

#ifdef __cplusplus
}
#endif

#endif /* AUTHGATE_H */
