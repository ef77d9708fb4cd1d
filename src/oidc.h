/*
 * oidc.h — OAuth 2.0 / OpenID Connect decisions as pure functions: the
 * `oidc` option, the discovery document, the authorization request and its
 * transaction, the callback, the token-endpoint form bodies, the end-session
 * URL and the ID token's claim checks. No state, no clock (time is an
 * argument), no I/O; client.c strings them together. Private.
 *
 * Checks that can refuse return an `int`: AG_OK (0) when the input passed,
 * a negative enum ag_err (AG_ERR_NOMEM, AG_ERR_INVALID), or a positive
 * enum ag_code (AG_CODE_PROVIDER_ERROR, AG_CODE_LOGIN_REQUIRED,
 * AG_CODE_BAD_CONFIG) with a heap message in *msg naming the check (the
 * caller frees it; NULL only when that allocation failed).
 */
#ifndef AUTHGATE_OIDC_H
#define AUTHGATE_OIDC_H

#include "internal.h"

struct cJSON;

/* An ID token's iat may be this far ahead of our clock (clock skew), no further. */
#define AG_OIDC_IAT_SKEW_MS 300000.0
/* A transaction older than this is refused: the sign-in is started again. */
#define AG_OIDC_TRANSACTION_MAX_AGE_MS 3600000.0
#define AG_OIDC_MAX_PARAMS 32

/* The `oidc` option, validated. */
typedef struct ag_oidc_options {
  char *issuer;
  char *client_id;
  char *redirect_uri;             /* absolute */
  char *scope;                    /* default "openid offline_access" */
  char *post_logout_redirect_uri; /* absolute, or NULL */
  char **params; /* name, value, name, value, ... (extra authorization parameters) */
  size_t n_params;
  char *discovery_url; /* <issuer>/.well-known/openid-configuration */
} ag_oidc_options;

/*
 * Reads options.oidc from the options object `root` (NULL *out when the
 * option is absent). `page` is the page origin parsed, or NULL when there is
 * none: a relative redirectUri then cannot be resolved. `oidc` together with
 * `login` or `refresh` is refused: the provider's token endpoint is then the
 * one login and refresh path. Returns AG_OK, AG_ERR_NOMEM, or
 * AG_ERR_BAD_CONFIG with a static reason in *why ("oidc.issuer must ...").
 */
int ag_oidc_options_parse(ag_oidc_options **out, const struct cJSON *root, const ag_url *page,
                          const char **why);
void ag_oidc_options_free(ag_oidc_options *o);

/* What the discovery document says, as far as the core needs it. */
typedef struct ag_oidc_provider {
  char *authorization_endpoint;
  char *token_endpoint;
  char *end_session_endpoint; /* NULL when none */
  char *revocation_endpoint;  /* NULL when none */
  bool iss_parameter_supported;
} ag_oidc_provider;

/*
 * Parses the discovery document for `o`. Its `issuer` must equal the
 * option exactly; the authorization and token endpoints are required; every
 * endpoint must be https, or http on a loopback host (127.0.0.1, [::1],
 * localhost); code_challenge_methods_supported, when present, must offer
 * S256. Returns AG_OK, AG_ERR_NOMEM or AG_CODE_PROVIDER_ERROR (*msg).
 */
int ag_oidc_discovery_parse(ag_oidc_provider *out, const ag_oidc_options *o, const char *body,
                            size_t len, char **msg);
void ag_oidc_provider_free(ag_oidc_provider *p);

/* One sign-in in progress, kept by the page (sessionStorage) across the redirect. */
typedef struct ag_oidc_transaction {
  char *verifier;     /* PKCE code_verifier, 43 characters (a secret) */
  char *state;        /* 43 characters */
  char *nonce;        /* 43 characters */
  char *return_to;    /* as given, or NULL */
  char *redirect_uri; /* the one sent: the token request repeats it */
  char *issuer;       /* the sign-in belongs to this provider and client */
  char *client_id;
  bool fragment; /* response_mode=fragment was asked for */
  ag_ms created_at;
} ag_oidc_transaction;

/*
 * Builds the authorization request URL and the transaction blob from
 * AG_OIDC_RANDOM_BYTES random bytes. `params_json` is the per-call params
 * object (NULL or empty: none); with the option's params they follow the
 * core's own, a per-call value replacing the option's of the same name; the
 * core's own (response_type, client_id, redirect_uri, scope, state, nonce,
 * code_challenge, code_challenge_method) cannot be given. response_mode may
 * be 'query' or 'fragment' only. `return_to` may be NULL.
 * Returns AG_OK (*url, *transaction heap strings), AG_ERR_NOMEM, AG_ERR_INVALID
 * (too few random bytes) or AG_CODE_BAD_CONFIG (*msg).
 */
int ag_oidc_authorize(const ag_oidc_options *o, const ag_oidc_provider *p,
                      const unsigned char *random, size_t random_len, const char *return_to,
                      size_t return_to_len, const char *params_json, size_t params_len, ag_ms now,
                      char **url, char **transaction, char **msg);

/*
 * Reads a transaction blob. A malformed one, one for another issuer or
 * client, or one older than AG_OIDC_TRANSACTION_MAX_AGE_MS is
 * AG_CODE_LOGIN_REQUIRED (*msg). Returns AG_OK, AG_ERR_NOMEM or that.
 */
int ag_oidc_transaction_read(ag_oidc_transaction *out, const ag_oidc_options *o, const char *blob,
                             size_t len, ag_ms now, char **msg);
void ag_oidc_transaction_free(ag_oidc_transaction *t);

/* The authorization response the provider redirected back with. */
typedef struct ag_oidc_callback {
  char *code; /* a secret */
  char *state;
  char *iss;
  char *error;
  char *error_description;
} ag_oidc_callback;

/*
 * Parses the callback URL's query (or its fragment when `fragment`) and
 * checks it against the transaction: no parameter twice, bounded sizes,
 * `state` equal, `iss` equal to the issuer when present and present when
 * `p` says the provider sends it (RFC 9207; `p` NULL: not known yet, that
 * rule is left for later), an `error` mapped (login_required,
 * interaction_required, consent_required, access_denied: LOGIN_REQUIRED;
 * others: PROVIDER_ERROR, with error_description), and a `code`.
 * Returns AG_OK (out filled), AG_ERR_NOMEM, AG_CODE_LOGIN_REQUIRED or
 * AG_CODE_PROVIDER_ERROR (*msg).
 */
int ag_oidc_callback_parse(ag_oidc_callback *out, const char *url, size_t len,
                           const ag_oidc_transaction *t, const ag_oidc_provider *p, char **msg);
void ag_oidc_callback_free(ag_oidc_callback *cb);

/* Token-endpoint and revocation form bodies (heap, secrets), NULL on ENOMEM. */
char *ag_oidc_code_body(const ag_oidc_options *o, const char *code, const char *verifier,
                        const char *redirect_uri);
char *ag_oidc_refresh_body(const ag_oidc_options *o, const char *refresh_token);
char *ag_oidc_revoke_body(const ag_oidc_options *o, const char *refresh_token);

/*
 * The end-session URL (OpenID Connect RP-Initiated Logout): id_token_hint
 * when there is an ID token, post_logout_redirect_uri when configured, and
 * client_id. NULL when the provider has no end_session_endpoint, or on ENOMEM.
 */
char *ag_oidc_end_session_url(const ag_oidc_options *o, const ag_oidc_provider *p,
                              const char *id_token);

/*
 * Checks an ID token's claims: iss equal to the issuer, aud (a string or an
 * array) containing clientId, azp equal to clientId when present and
 * required when there are several audiences, exp after `now`, iat a number
 * no more than AG_OIDC_IAT_SKEW_MS ahead, a non-empty sub (equal to
 * `expect_sub` when given: a refreshed ID token is the same user's), and
 * nonce equal to `nonce` (NULL on refresh: then a nonce, if any, is not
 * checked). The signature is not checked, see oidc.c.
 * Returns AG_OK with the payload JSON in *claims (heap), AG_ERR_NOMEM or
 * AG_CODE_PROVIDER_ERROR (*msg).
 */
int ag_oidc_id_token_check(const ag_oidc_options *o, const char *id_token, size_t len,
                           const char *nonce, const char *expect_sub, ag_ms now, char **claims,
                           char **msg);

/* What a successful token response carries beside the tokens ag_tokens_parse_response reads. */
typedef struct ag_oidc_grant {
  char *id_token;   /* NULL when none (a refresh need not return one) */
  char *scope;      /* NULL when the response names none (then: as requested) */
  char *token_type; /* "Bearer" (any case in the response) or "DPoP"; "Bearer" when absent */
} ag_oidc_grant;

/*
 * Reads id_token, scope and token_type from a token response. `need_id_token`:
 * the code exchange for scope openid must return one. An unknown token_type
 * is refused (RFC 6749 section 7.1: a client must not use a token type it
 * does not understand). Returns AG_OK, AG_ERR_NOMEM or
 * AG_CODE_BAD_TOKEN_RESPONSE (*msg).
 */
int ag_oidc_grant_parse(ag_oidc_grant *out, const char *body, size_t len, bool need_id_token,
                        char **msg);
void ag_oidc_grant_free(ag_oidc_grant *g);

/*
 * The message for a token or revocation endpoint's refusal `status` with an
 * OAuth error body (RFC 6749 section 5.2): "<what>: the provider answered
 * <status> <error>: <error_description>". *invalid_grant tells whether the
 * error was invalid_grant (a refresh token that is no longer valid). NULL
 * on ENOMEM.
 */
char *ag_oidc_token_error(const char *what, int status, const char *body, size_t len,
                          bool *invalid_grant);

/*
 * The callback URL with code, state and iss removed from its query (or its
 * fragment when `fragment`), for history.replaceState; *changed tells whether
 * it had any (a URL without them is no authorization response). NULL on ENOMEM.
 */
char *ag_oidc_clean_url(const char *url, size_t len, bool fragment, bool *changed);

/* True for "127.0.0.1", "[::1]" and "localhost": http is allowed there (RFC 8252 section 8.3). */
bool ag_oidc_is_loopback(const char *host);

#endif
