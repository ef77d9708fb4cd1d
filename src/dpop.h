/*
 * dpop.h — OAuth 2.0 DPoP (RFC 9449) as pure functions: the public key the
 * shim hands over, its RFC 7638 thumbprint, the proof's signing input and
 * the compact JWS finished from the signature, the per-origin nonce store,
 * and whether a response is a use_dpop_nonce challenge. No clock (time is
 * an argument), no randomness of its own (the shim's bytes are input), no
 * I/O. The private key never reaches the core: it stays in WebCrypto.
 * Private.
 */
#ifndef AUTHGATE_DPOP_H
#define AUTHGATE_DPOP_H

#include "internal.h"

/* Random bytes one proof's jti takes (from crypto.getRandomValues). */
#define AG_DPOP_JTI_BYTES 16
/* An ES256 JWS signature: r and s, 32 bytes each (WebCrypto's raw form). */
#define AG_DPOP_SIGNATURE_BYTES 64
/* Nonces kept (one per origin), and the longest one accepted. */
#define AG_DPOP_MAX_NONCES 8
#define AG_DPOP_MAX_NONCE 512
/* The longest WWW-Authenticate value read. */
#define AG_DPOP_MAX_CHALLENGE 8192

/* The public P-256 key, as the shim exported it. */
typedef struct ag_dpop_key {
  char *x, *y; /* base64url, 32 bytes each decoded */
  char *jwk;   /* {"crv":"P-256","kty":"EC","x":..,"y":..}: the proof header's jwk */
  char *jkt;   /* its RFC 7638 thumbprint (dpop_jkt) */
} ag_dpop_key;

/*
 * Reads a public JWK: kty "EC", crv "P-256", x and y canonical base64url of
 * 32 bytes each. A key carrying private material ("d", or any RSA private
 * member) is refused: the private key must never leave WebCrypto. Other
 * members (ext, key_ops, alg, use) are ignored. Returns AG_OK, AG_ERR_NOMEM
 * or AG_ERR_INVALID with a static reason in *why.
 */
int ag_dpop_key_parse(ag_dpop_key *out, const char *json, size_t len, const char **why);
void ag_dpop_key_free(ag_dpop_key *k);

/*
 * The RFC 7638 thumbprint of a JWK: the required members only (RSA: e, kty,
 * n; EC: crv, kty, x, y), in lexicographic order, no whitespace, SHA-256,
 * base64url. Returns AG_OK (*out a heap string), AG_ERR_NOMEM or
 * AG_ERR_INVALID (another kty, a missing or non-string member).
 */
int ag_jwk_thumbprint(const char *json, size_t len, char **out);

/* What one proof is about. */
typedef struct ag_dpop_claims {
  const char *method;       /* htm: the request's method */
  const char *url;          /* the absolute target URL; htu drops its query and fragment */
  const char *access_token; /* ath for resource calls; NULL at the token endpoint */
  const char *nonce;        /* the server's nonce for the URL's origin, or NULL */
  const unsigned char *jti; /* AG_DPOP_JTI_BYTES random bytes */
  ag_ms now;                /* iat, in whole seconds */
} ag_dpop_claims;

/*
 * The JWS signing input base64url(header) "." base64url(payload), header
 * {"typ":"dpop+jwt","alg":"ES256","jwk":<key>}, payload {jti, htm, htu, iat,
 * ath?, nonce?}. The methods fetch normalises (DELETE, GET, HEAD, OPTIONS,
 * POST, PUT, in any case) are written in upper case, others as given.
 * Returns AG_OK (*out heap), AG_ERR_NOMEM, AG_ERR_BAD_URL or AG_ERR_INVALID
 * (no method, no jti bytes).
 */
int ag_dpop_signing_input(const ag_dpop_key *k, const ag_dpop_claims *claims, char **out);

/*
 * The compact JWS: the signing input, ".", base64url of the signature, which
 * must be exactly AG_DPOP_SIGNATURE_BYTES (r || s). Returns AG_OK (*out heap),
 * AG_ERR_NOMEM or AG_ERR_INVALID (another length).
 */
int ag_dpop_finish(const char *signing_input, const unsigned char *sig, size_t sig_len, char **out);

/* The server nonces the tab has seen, by origin; the oldest goes when full. */
typedef struct ag_dpop_nonces {
  char *origin[AG_DPOP_MAX_NONCES];
  char *value[AG_DPOP_MAX_NONCES];
  size_t n;
} ag_dpop_nonces;

/*
 * Keeps a DPoP-Nonce header's value for `origin`, replacing the one before.
 * The value must be 1..AG_DPOP_MAX_NONCE NQCHARs (RFC 9449 section 8.1:
 * %x21 / %x23-5B / %x5D-7E); anything else is ignored. Returns AG_OK,
 * AG_ERR_INVALID (ignored) or AG_ERR_NOMEM (nothing changed).
 */
int ag_dpop_nonce_put(ag_dpop_nonces *s, const char *origin, const char *value, size_t len);
/* The nonce for `origin`, or NULL; valid until the store changes. */
const char *ag_dpop_nonce_get(const ag_dpop_nonces *s, const char *origin);
void ag_dpop_nonces_free(ag_dpop_nonces *s);

/*
 * True when a WWW-Authenticate value (RFC 9110 section 11.6.1: challenges,
 * auth-params with token or quoted-string values, token68) holds a DPoP
 * challenge whose error parameter is use_dpop_nonce. A malformed value, or a
 * DPoP challenge naming a parameter twice, is no challenge.
 */
bool ag_dpop_www_auth_wants_nonce(const char *value, size_t len);

/* True when a token endpoint answer is 400 with the JSON error use_dpop_nonce (section 8). */
bool ag_dpop_token_wants_nonce(int status, const char *body, size_t len);

/*
 * The once-only rule: a request is sent again with the new nonce when its
 * answer was a use_dpop_nonce challenge that came with a nonce, and only if
 * this send was not already that retry. Sets *retried when it says yes.
 */
bool ag_dpop_retry_with_nonce(bool challenge, bool got_nonce, bool *retried);

#endif
