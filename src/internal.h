/*
 * internal.h — declarations shared between the core's modules. Not installed.
 *
 * Conventions: functions return AG_OK or a negative enum ag_err; strings are
 * (pointer, length) on input and NUL-terminated, heap-owned on output; the
 * caller frees what a function hands out with ag_free (or the module's
 * *_free). Nothing here reads a clock or does I/O.
 */
#ifndef AUTHGATE_INTERNAL_H
#define AUTHGATE_INTERNAL_H

#include "authgate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on what the core accepts (hostile input is refused, not parsed). */
#define AG_MAX_URL 8192
#define AG_MAX_TOKEN 16384
#define AG_MAX_JSON (64 * 1024)
#define AG_MAX_PREFIXES 64
#define AG_MAX_JSON_DEPTH 16
/* How long a refused refresh waits for another tab's newer tokens (see client.c). */
#define AG_REFUSAL_GRACE_MS 500
/*
 * How long a lock holder waits for tokens the previous holder said it shared
 * before asking for the lock again and rereading storage (see client.c).
 */
#define AG_LATE_TOKENS_MS 250
/* The deadline of the core's own login and refresh requests when timeoutMs is not set. */
#define AG_OWN_REQUEST_TIMEOUT_MS 30000
/* How much of a server's error message (detail, error_description) a rejection keeps. */
#define AG_MAX_SERVER_MESSAGE 200

/* ---- alloc.c: the one allocator, counted, with cJSON's hooks ---- */
void *ag_malloc(size_t n);
void *ag_calloc(size_t count, size_t size);
void ag_free(void *p);
/* Copies n bytes and a NUL; NULL on allocation failure. */
char *ag_strndup(const char *s, size_t n);
/*
 * Allocations that failed so far (process-wide, like the allocator). A parse
 * that returns "bad input" while this moved was out of memory: cJSON cannot
 * tell the two apart itself.
 */
unsigned long ag_alloc_failures(void);
/* Installs cJSON's hooks (idempotent); parsing calls it first. */
void ag_alloc_init(void);
/* Zeroes n bytes in a way the compiler keeps. */
void ag_wipe(void *p, size_t n);
/* Zeroes a NUL-terminated secret, then frees it. NULL is fine. */
void ag_free_secret(char *s);

/* ---- strtod.c: decimal text to double (also cJSON's strtod in the wasm build) ---- */
double ag_strtod(const char *s, char **end);

/* ---- json.c: the one hardened JSON parse ---- */
struct cJSON;
/*
 * Parses exactly one JSON value spanning s[0..len) (trailing whitespace
 * allowed), at most AG_MAX_JSON bytes, nesting at most AG_MAX_JSON_DEPTH,
 * with no NUL (raw or \u0000) and no raw control bytes in strings.
 * NULL on any of those, on bad JSON, or on ENOMEM.
 */
struct cJSON *ag_json_parse(const char *s, size_t len);
/* Wipes every string in the tree (they may be secrets), then deletes it. */
void ag_json_free(struct cJSON *root);

/* ---- buf.c: a growable string; after a failed append every later one is a no-op ---- */
typedef struct ag_buf {
  char *data;
  size_t len;
  size_t cap;
  bool failed;
} ag_buf;

void ag_buf_put(ag_buf *b, const char *s, size_t n);
void ag_buf_puts(ag_buf *b, const char *s);
void ag_buf_putc(ag_buf *b, char c);
void ag_buf_put_uint(ag_buf *b, uint64_t v);
/* Writes v in decimal to dst (room: AG_UINT_DIGITS, no NUL) and returns the length. */
#define AG_UINT_DIGITS 20
size_t ag_format_uint(char *dst, uint64_t v);
/* Appends s as a JSON string literal (quotes and escapes included). */
void ag_buf_put_json_string(ag_buf *b, const char *s);
/* Appends s percent-encoded for application/x-www-form-urlencoded. */
void ag_buf_put_form(ag_buf *b, const char *s);
/* Hands out the NUL-terminated string (caller frees), or NULL if any append failed. */
char *ag_buf_take(ag_buf *b);
void ag_buf_reset(ag_buf *b);

/* ---- url.c: the WHATWG URL Standard for http(s), with a documented refused subset ---- */
typedef struct ag_url {
  const char *scheme; /* "http" or "https": a static string, never freed */
  char *host;         /* ASCII lower case, canonical IPv4, or IPv6 compressed in brackets */
  int port; /* explicit port, or -1 for the scheme's default (80/443 written are normalised to -1) */
  char *path;     /* starts with '/', dot segments removed, percent-encoded, never empty */
  char *query;    /* without '?', NULL when absent ("" when '?' with nothing after) */
  char *fragment; /* without '#', NULL when absent */
} ag_url;

/*
 * Resolves the raw input `ref` against `base` (NULL: `ref` must be absolute)
 * as the URL Standard's basic URL parser does for special URLs: leading and
 * trailing C0-or-space trimmed, tab/LF/CR removed anywhere, '\' as '/',
 * "//host" and "http:\\host" given their own authority, "http:x" relative to
 * an http base, percent-encoding with the path, special-query and fragment
 * sets, dot segments (also %2e) removed, default ports dropped, hosts
 * lower-cased, IPv6 compressed.
 * Refused (AG_ERR_BAD_URL): schemes other than http(s), a relative `ref`
 * without base, non-empty userinfo, a missing host, a bad port, a host the
 * standard rejects, and the subset the core does not implement (non-ASCII
 * hosts, percent-encoded hosts, IPv4 not in canonical dotted decimal, host
 * characters other than letters, digits, '-', '_', '.'). AG_ERR_TOO_LARGE
 * for input or a result beyond AG_MAX_URL. *why (when not NULL) gets a
 * static one-line reason saying what to write instead, or NULL on success,
 * AG_ERR_NOMEM and AG_ERR_INVALID (out NULL, ref NULL with len > 0, or a base
 * that is not a parsed http(s) URL). On failure *out is zeroed (port -1).
 */
int ag_url_resolve_why(ag_url *out, const ag_url *base, const char *ref, size_t len,
                       const char **why);
int ag_url_resolve(ag_url *out, const ag_url *base, const char *ref, size_t len);
/* ag_url_resolve without a base: `s` must be an absolute http(s) URL. */
int ag_url_parse(ag_url *out, const char *s, size_t len);

/*
 * As ag_url_resolve_why, with base's path as a prefix (the baseUrl rule): when
 * base's path is more than "/" and `ref` has no scheme and no authority of its
 * own, `ref` less one leading '/' or '\' is resolved as "<base path without
 * its trailing '/'>/<ref>" on base's origin, so "/users", "users" → /v2/users,
 * "?q" → /v2/?q, "#f" → /v2/#f, "" → /v2/. Dot segments still apply to the
 * joined path ("../x" → /x). Base's query and fragment are never used.
 * Otherwise (base path "/", an absolute URL, "//host", "\\host") it is
 * ag_url_resolve_why.
 */
int ag_url_resolve_prefixed(ag_url *out, const ag_url *base, const char *ref, size_t len,
                            const char **why);

/* "scheme://host[:port]" with the default port omitted; NULL on ENOMEM. */
char *ag_url_origin(const ag_url *u);
/* The full URL without the fragment; NULL on ENOMEM. */
char *ag_url_serialize(const ag_url *u);
/* The full URL with the fragment (the standard's href); NULL on ENOMEM. */
char *ag_url_href(const ag_url *u);
bool ag_url_same_origin(const ag_url *a, const ag_url *b);
void ag_url_free(ag_url *u);

/*
 * True when `path` is `prefix` or lies under it on a segment boundary:
 * "/api" covers "/api", "/api/", "/api/x" but not "/apix". A prefix ending
 * in '/' covers everything below it. "/" covers every path.
 */
bool ag_path_has_prefix(const char *path, const char *prefix);

/* ---- base64url.c: RFC 4648 section 5 ---- */
/*
 * base64url decode into a fresh buffer (NUL-terminated for convenience).
 * Padding is optional (complete if present); only canonical encodings pass.
 * Returns NULL on bad input or ENOMEM; *out_len gets the decoded length.
 */
unsigned char *ag_base64url_decode(const char *s, size_t len, size_t *out_len);
/* Appends the unpadded base64url encoding of n bytes. */
void ag_buf_put_base64url(ag_buf *b, const unsigned char *s, size_t n);

/* ---- sha256.c: SHA-256 (FIPS 180-4), for PKCE S256 ---- */
#define AG_SHA256_SIZE 32
typedef struct ag_sha256_ctx {
  uint32_t h[8];
  uint64_t total; /* bytes hashed so far */
  unsigned char block[64];
  size_t used; /* bytes buffered in block */
} ag_sha256_ctx;
void ag_sha256_init(ag_sha256_ctx *s);
void ag_sha256_update(ag_sha256_ctx *s, const void *data, size_t n);
/* Writes the digest and wipes the state (what was hashed may be a secret). */
void ag_sha256_final(ag_sha256_ctx *s, unsigned char out[AG_SHA256_SIZE]);
void ag_sha256(const void *data, size_t n, unsigned char out[AG_SHA256_SIZE]);

/* ---- token.c: token responses, JWT expiry, the persisted/broadcast blob ---- */
typedef struct ag_tokens {
  char *access;     /* NULL when none */
  char *refresh;    /* NULL when none (or refresh by cookie) */
  ag_ms expires_at; /* absolute ms; 0 when unknown (opaque token, no expires_in) */
  char *id_token;   /* the OpenID provider's ID token (for id_token_hint), NULL when none */
} ag_tokens;

/* Which JSON fields carry the tokens (the tokenFields option), in order of preference. */
typedef struct ag_token_fields {
  char **access;
  size_t n_access; /* default access_token, access */
  char **refresh;
  size_t n_refresh; /* default refresh_token, refresh */
  char **expires_in;
  size_t n_expires_in; /* default expires_in */
} ag_token_fields;

/*
 * Parses a login/refresh response body. The access token must be a non-empty
 * string of printable ASCII without spaces (no header injection) and at most
 * AG_MAX_TOKEN bytes; the refresh token the same when present. Expiry:
 * expires_in (a number of seconds > 0, or a numeric string) → now + it; else
 * the JWT `exp` claim of the access token if it is a JWT; else 0.
 * Returns AG_OK, AG_ERR_BAD_TOKENS (with nothing allocated) or AG_ERR_NOMEM.
 */
int ag_tokens_parse_response(ag_tokens *out, const ag_token_fields *fields, ag_ms now,
                             const char *body, size_t len);

/* setTokens input: {"access": s, "refresh"?: s, "expiresIn"?: n}; same rules. */
int ag_tokens_parse_set(ag_tokens *out, ag_ms now, const char *json, size_t len);

/*
 * The `exp` claim (seconds) of a JWT as absolute ms, or 0 when `token` is not
 * a JWT with a numeric, positive, finite exp. Decodes base64url (no padding
 * required, padding accepted) and the payload with cJSON; never verifies the
 * signature (not the client's to verify).
 */
ag_ms ag_jwt_exp_ms(const char *token, size_t len);

/*
 * The decoded payload of a compact JWS (three non-empty-header parts, not a
 * five-part JWE), NUL-terminated; NULL on bad input or ENOMEM. Not verified.
 */
unsigned char *ag_jwt_payload(const char *token, size_t len, size_t *out_len);

/* True when s (len bytes) is usable as a token: 1..AG_MAX_TOKEN printable ASCII, no space. */
bool ag_token_is_valid(const char *s, size_t len);

/* Wipes and frees the strings; leaves *t zeroed. */
void ag_tokens_clear(ag_tokens *t);

/*
 * The blob that is persisted and broadcast:
 *   {"v":1,"type":"tokens","gen":G,"access":"..","refresh":"..","id":"..","exp":ms}
 *   {"v":1,"type":"logout","gen":G}
 * `t` NULL (or no access token) writes a logout message. Returns a heap
 * string or NULL on ENOMEM.
 */
char *ag_blob_write(const ag_tokens *t, uint64_t gen);

/*
 * Parses a blob or message. On AG_OK: *gen set, *is_logout set, and `out`
 * filled for a tokens blob (access required, valid tokens only).
 * Returns AG_OK, AG_ERR_BAD_BLOB (nothing allocated) or AG_ERR_NOMEM.
 */
int ag_blob_read(const char *s, size_t len, ag_tokens *out, uint64_t *gen, bool *is_logout);

/* ---- retry.c: which failures are retried, after how long ---- */
#define AG_RETRY_MAX_STATUSES 16

typedef struct ag_retry_policy {
  bool enabled;
  int limit;        /* retries after the first attempt (default 2) */
  uint32_t methods; /* bit i: ag_retry_method_names[i] */
  uint16_t statuses[AG_RETRY_MAX_STATUSES];
  size_t n_statuses;
  ag_ms max_retry_after_ms; /* a longer Retry-After is not waited for (default 60000) */
} ag_retry_policy;

/*
 * The `retry` option: false (off) or an object {limit, methods, statuses,
 * maxRetryAfterMs}, each defaulted as the README says. NULL `item`: leaves *out.
 * Returns AG_OK or AG_ERR_BAD_CONFIG with a static reason in *why.
 */
int ag_retry_policy_parse(ag_retry_policy *out, const struct cJSON *item, const char **why);
/* True when `method` (upper case as fetch normalises it) may be retried. */
bool ag_retry_allows_method(const ag_retry_policy *p, const char *method);
bool ag_retry_allows_status(const ag_retry_policy *p, int status);

/*
 * A Retry-After value: delay-seconds or an HTTP-date (IMF-fixdate, also the
 * obsolete RFC 850 and asctime forms). Returns the wait in ms from `now`
 * (0 for a date in the past), or -1 when the value is neither.
 */
ag_ms ag_retry_after_ms(const char *s, size_t len, ag_ms now);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t ag_days_from_civil(int64_t y, int m, int d);

/* The back-off before retry number `n` (1, 2, ...): capped exponential, half of it jittered. */
ag_ms ag_retry_backoff_ms(int n, uint64_t *rng);
/* Mixes seed bytes into a generator state; next: splitmix64. */
void ag_rng_seed(uint64_t *rng, const unsigned char *bytes, size_t len);
uint64_t ag_rng_next(uint64_t *rng);

/* ---- policy.c: options and the route policy ---- */
enum ag_refresh_send { AG_REFRESH_JSON = 0, AG_REFRESH_FORM = 1, AG_REFRESH_COOKIE = 2 };
enum ag_body_kind { AG_BODY_JSON = 0, AG_BODY_FORM = 1 };

typedef struct ag_config {
  ag_url base;
  char *base_url;    /* base serialized */
  char *page_origin; /* "" when none */
  ag_url page;       /* the page origin parsed (zeroed when none) */
  ag_url login;      /* login_url parsed (zeroed when none) */
  ag_url refresh;    /* refresh_url parsed (zeroed when none) */
  char **protect;
  size_t n_protect;
  char **public_;
  size_t n_public;
  char **trusted;
  size_t n_trusted;    /* serialized origins */
  char *login_url;     /* absolute, or NULL */
  int login_body;      /* enum ag_body_kind */
  char *refresh_url;   /* absolute, or NULL */
  int refresh_send;    /* enum ag_refresh_send */
  char *refresh_field; /* default "refresh" */
  ag_token_fields fields;
  int storage; /* enum ag_storage */
  char *storage_key;
  ag_ms refresh_skew_ms;
  ag_ms ready_timeout_ms;
  ag_ms timeout_ms;      /* per attempt of an app call; 0: none */
  ag_retry_policy retry; /* the default for app calls */
  int credentials;       /* enum ag_credentials for baseUrl's origin */
  bool cross_tab;
  bool dpop;                    /* options.dpop: tokens bound to the DPoP key (needs oidc) */
  struct ag_oidc_options *oidc; /* the oidc option (oidc.h), NULL without it */
} ag_config;

/* Parses options JSON; on AG_ERR_BAD_CONFIG writes a reason into err. */
int ag_config_parse(ag_config *out, const char *json, size_t len, const char *page_origin,
                    size_t page_origin_len, char *err, size_t err_cap);
void ag_config_free(ag_config *c);

enum ag_route {
  AG_ROUTE_PROTECTED = 0, /* a trusted origin, a protected path: needs the bearer */
  AG_ROUTE_PUBLIC = 1,    /* a trusted origin, not protected: never gets the bearer */
  AG_ROUTE_FOREIGN = 2    /* an untrusted origin: never gets the bearer */
};

/*
 * Resolves an app-supplied URL or path against baseUrl, baseUrl's path being a
 * prefix (ag_url_resolve_prefixed). *why as there.
 */
int ag_config_resolve(const ag_config *c, const char *ref, size_t len, ag_url *out,
                      const char **why);

/* Classifies a resolved URL. */
int ag_config_route(const ag_config *c, const ag_url *u);
/* The credentials mode the gate uses for a resolved URL, given the caller's choice. */
int ag_config_credentials(const ag_config *c, const ag_url *u, int requested);

/* ---- explain.c: words for failures, and diagnose() ---- */
/*
 * The server's own words in an error body: `error_description`, `detail`
 * (a string, or FastAPI's list of {"msg"}), `message` or `error`, with
 * control characters replaced and cut to AG_MAX_SERVER_MESSAGE bytes on a
 * character boundary. NULL when there are none (or on ENOMEM).
 */
char *ag_explain_server_message(const char *body, size_t len);

#endif /* AUTHGATE_INTERNAL_H */
