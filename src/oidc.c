/*
 * oidc.c — the OAuth 2.0 / OpenID Connect rules of the core (see oidc.h):
 * authorization code with PKCE S256 (RFC 7636), state and nonce, the
 * authorization server issuer identifier (RFC 9207), discovery (OpenID
 * Connect Discovery 1.0), token requests (RFC 6749 section 4.1.3, 6),
 * revocation (RFC 7009), RP-initiated logout, and the ID token's claims
 * (OpenID Connect Core 1.0 section 3.1.3.7).
 *
 * The ID token's signature is deliberately not verified. It arrives in the
 * token endpoint's response, over TLS, to a request the client itself made
 * with the PKCE verifier; OpenID Connect Core section 3.1.3.7 lets a client
 * use the TLS server validation in place of the signature then, which is
 * what browser SDKs (auth0-spa-js, oidc-client-ts) rely on too. The claims
 * are still checked: they say whom the token is for and that it answers
 * this sign-in (nonce).
 */
#include "oidc.h"
#include "json.h"

#include <string.h>

#define OPTION_MAX 2048
#define PARAM_VALUE_MAX 2048
#define CALLBACK_PARAMS_MAX 64
#define CALLBACK_VALUE_MAX 4096
#define PROVIDER_TEXT_MAX 300

static const char default_scope[] = "openid offline_access";

/* Parameters of the authorization request that only the core writes (dpop_jkt: its DPoP key). */
static const char *const reserved[] = {
    "response_type", "client_id",      "redirect_uri",          "scope",    "state",
    "nonce",         "code_challenge", "code_challenge_method", "dpop_jkt", NULL};

/* ---- messages ---- */

/* A refusal: *msg gets a + b + c (NULL parts skipped). */
static int refuse(int code, char **msg, const char *a, const char *b, const char *c) {
  ag_buf m = {0};
  ag_buf_puts(&m, a);
  if (b) ag_buf_puts(&m, b);
  if (c) ag_buf_puts(&m, c);
  *msg = ag_buf_take(&m);
  return *msg ? code : AG_ERR_NOMEM;
}

/* Provider text (error, error_description) as printable ASCII, bounded: it ends up in messages. */
static void put_provider_text(ag_buf *b, const char *s) {
  size_t i = 0;
  for (; s[i] && i < PROVIDER_TEXT_MAX; i++)
    ag_buf_putc(b, (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?');
  if (s[i]) ag_buf_puts(b, "...");
}

static const char *json_string(const cJSON *obj, const char *name) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

static char *dup(const char *s) { return ag_strndup(s, strlen(s)); }

static bool is_reserved(const char *name) {
  for (int i = 0; reserved[i]; i++)
    if (!strcmp(name, reserved[i])) return true;
  return false;
}

/* ---- URLs ---- */

bool ag_oidc_is_loopback(const char *host) {
  return !strcmp(host, "127.0.0.1") || !strcmp(host, "[::1]") || !strcmp(host, "localhost");
}

/* An endpoint or issuer: https, or http on a loopback host, without a fragment. */
static bool secure_url(const ag_url *u) {
  if (u->fragment) return false;
  return !strcmp(u->scheme, "https") || ag_oidc_is_loopback(u->host);
}

/* Parses and checks an endpoint; *out gets it serialized. false when not acceptable. */
static int endpoint(char **out, const char *s, bool *ok) {
  ag_url u;
  *ok = false;
  *out = NULL;
  if (!s || ag_url_parse(&u, s, strlen(s)) != AG_OK) return AG_OK;
  if (secure_url(&u)) {
    *ok = true;
    *out = ag_url_serialize(&u);
  }
  ag_url_free(&u);
  return (*ok && !*out) ? AG_ERR_NOMEM : AG_OK;
}

/* Appends `name=value` form-encoded, with '?' or '&' before it as `url` needs. */
static void put_param(ag_buf *b, const char *name, const char *value) {
  char last = b->len ? b->data[b->len - 1] : '\0';
  bool has_query = b->data && memchr(b->data, '?', b->len);
  if (last != '?' && last != '&') ag_buf_putc(b, has_query ? '&' : '?');
  ag_buf_put_form(b, name);
  ag_buf_putc(b, '=');
  ag_buf_put_form(b, value);
}

/* ---- the oidc option ---- */

static const char *const option_keys[] = {
    "issuer", "clientId", "redirectUri", "scope", "postLogoutRedirectUri", "params", NULL};

static const char *option_string(const cJSON *oidc, const char *name, const char **why,
                                 const char *bad) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(oidc, name);
  if (!item) return NULL;
  if (!cJSON_IsString(item) || !item->valuestring[0] || strlen(item->valuestring) > OPTION_MAX)
    *why = bad;
  return *why ? NULL : item->valuestring;
}

/* An absolute URL, or a path resolved against the page origin. */
static int page_url(char **out, const char *s, const ag_url *page) {
  ag_url u;
  int rc = page ? ag_url_resolve(&u, page, s, strlen(s)) : ag_url_parse(&u, s, strlen(s));
  if (rc != AG_OK) return AG_ERR_BAD_CONFIG;
  *out = ag_url_serialize(&u);
  ag_url_free(&u);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

/* True when the space-separated `list` holds `word` (scope tokens, RFC 6749 section 3.3). */
static bool has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; *p;) {
    size_t len = 0;
    while (p[len] && p[len] != ' ') len++;
    if (len == n && !memcmp(p, word, n)) return true;
    p += len;
    while (*p == ' ') p++;
  }
  return false;
}

static bool response_mode_ok(const char *name, const char *value) {
  return strcmp(name, "response_mode") || !strcmp(value, "query") || !strcmp(value, "fragment");
}

/*
 * Checks a params object (of the option or of one call): strings only, at
 * most AG_OIDC_MAX_PARAMS, none reserved. NULL when fine, else the reason,
 * worded for the option; skip its first PARAMS_PREFIX bytes ("oidc.") for a call.
 */
#define PARAMS_PREFIX 5
static const char *params_problem(const cJSON *params) {
  if (!cJSON_IsObject(params)) return "oidc.params must be an object of strings";
  if (cJSON_GetArraySize(params) > AG_OIDC_MAX_PARAMS) return "oidc.params has too many entries";
  const cJSON *el;
  cJSON_ArrayForEach(el, params) {
    if (!cJSON_IsString(el) || !el->string[0] || strlen(el->valuestring) > PARAM_VALUE_MAX)
      return "oidc.params must be an object of strings";
    if (is_reserved(el->string))
      return "oidc.params cannot set response_type, client_id, redirect_uri, scope, state, nonce, "
             "code_challenge(_method) or dpop_jkt: the core writes them";
    if (!response_mode_ok(el->string, el->valuestring))
      return "oidc.params.response_mode must be 'query' or 'fragment'";
  }
  return NULL;
}

static int copy_params(ag_oidc_options *o, const cJSON *params) {
  o->params = ag_calloc(2 * (size_t)cJSON_GetArraySize(params) + 1, sizeof(char *));
  if (!o->params) return AG_ERR_NOMEM;
  const cJSON *el;
  cJSON_ArrayForEach(el, params) {
    o->params[o->n_params] = dup(el->string);
    o->params[o->n_params + 1] = dup(el->valuestring);
    o->n_params += 2;
    if (!o->params[o->n_params - 2] || !o->params[o->n_params - 1]) return AG_ERR_NOMEM;
  }
  return AG_OK;
}

static int discovery_url(ag_oidc_options *o) {
  size_t n = strlen(o->issuer);
  if (n && o->issuer[n - 1] == '/') n--; /* Discovery 1.0 section 4: no double slash */
  ag_buf b = {0};
  ag_buf_put(&b, o->issuer, n);
  ag_buf_puts(&b, "/.well-known/openid-configuration");
  o->discovery_url = ag_buf_take(&b);
  return o->discovery_url ? AG_OK : AG_ERR_NOMEM;
}

static const char *check_issuer(const char *issuer) {
  ag_url u;
  if (!issuer) return "oidc.issuer is required";
  /* It is compared byte for byte (discovery, iss) and the discovery URL is built from it as
   * written: a space or control the URL parser would trim or drop cannot be in it. */
  for (const char *p = issuer; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f)
      return "oidc.issuer must not contain spaces or control characters: write it exactly as "
             "the provider names itself (its discovery document's \"issuer\")";
  if (ag_url_parse(&u, issuer, strlen(issuer)) != AG_OK)
    return "oidc.issuer must be an absolute https URL";
  bool ok = secure_url(&u) && !u.query;
  ag_url_free(&u);
  return ok ? NULL
            : "oidc.issuer must be https (http only on 127.0.0.1, [::1] or localhost), without "
              "query or fragment";
}

static const char *check_keys(const cJSON *oidc) {
  const cJSON *el;
  cJSON_ArrayForEach(el, oidc) {
    bool known = false;
    for (int i = 0; option_keys[i] && !known; i++) known = !strcmp(el->string, option_keys[i]);
    if (!known)
      return "oidc accepts only issuer, clientId, redirectUri, scope, postLogoutRedirectUri, "
             "params";
  }
  return NULL;
}

static int fill_options(ag_oidc_options *o, const cJSON *oidc, const ag_url *page,
                        const char **why) {
  const char *issuer = option_string(oidc, "issuer", why, "oidc.issuer must be a string");
  const char *client = option_string(oidc, "clientId", why, "oidc.clientId must be a string");
  const char *redirect =
      option_string(oidc, "redirectUri", why, "oidc.redirectUri must be a string");
  const char *scope = option_string(oidc, "scope", why, "oidc.scope must be a non-empty string");
  const char *post = option_string(oidc, "postLogoutRedirectUri", why,
                                   "oidc.postLogoutRedirectUri must be a string");
  const cJSON *params = cJSON_GetObjectItemCaseSensitive(oidc, "params");
  if (*why || (*why = check_issuer(issuer)) != NULL) return AG_ERR_BAD_CONFIG;
  if (!client || !ag_token_is_valid(client, strlen(client)))
    *why = "oidc.clientId is required: printable ASCII without spaces";
  else if (!redirect) *why = "oidc.redirectUri is required";
  else if (scope && !has_word(scope, "openid")) *why = "oidc.scope must include 'openid'";
  else if (params) *why = params_problem(params);
  if (*why) return AG_ERR_BAD_CONFIG;
  o->issuer = dup(issuer);
  o->client_id = dup(client);
  o->scope = dup(scope ? scope : default_scope);
  if (!o->issuer || !o->client_id || !o->scope || discovery_url(o) != AG_OK) return AG_ERR_NOMEM;
  int rc = page_url(&o->redirect_uri, redirect, page);
  if (rc == AG_OK && post) rc = page_url(&o->post_logout_redirect_uri, post, page);
  if (rc == AG_ERR_BAD_CONFIG)
    *why = page ? "oidc.redirectUri and postLogoutRedirectUri must be http(s) URLs or paths"
                : "oidc.redirectUri and postLogoutRedirectUri must be absolute outside a page";
  if (rc == AG_OK && params) rc = copy_params(o, params);
  return rc;
}

int ag_oidc_options_parse(ag_oidc_options **out, const cJSON *root, const ag_url *page,
                          const char **why) {
  const cJSON *oidc = cJSON_GetObjectItemCaseSensitive(root, "oidc");
  *out = NULL;
  *why = NULL;
  if (!oidc) return AG_OK;
  if (!cJSON_IsObject(oidc)) *why = "oidc must be an object";
  else if (cJSON_GetObjectItemCaseSensitive(root, "login") ||
           cJSON_GetObjectItemCaseSensitive(root, "refresh"))
    *why = "oidc cannot be combined with login or refresh: the provider's token endpoint signs "
           "in and refreshes";
  else *why = check_keys(oidc);
  if (*why) return AG_ERR_BAD_CONFIG;
  ag_oidc_options *o = ag_calloc(1, sizeof *o);
  if (!o) return AG_ERR_NOMEM;
  int rc = fill_options(o, oidc, page, why);
  if (rc != AG_OK) {
    ag_oidc_options_free(o);
    if (!*why) *why = "out of memory";
    return rc;
  }
  *out = o;
  return AG_OK;
}

void ag_oidc_options_free(ag_oidc_options *o) {
  if (!o) return;
  ag_free(o->issuer);
  ag_free(o->client_id);
  ag_free(o->redirect_uri);
  ag_free(o->scope);
  ag_free(o->post_logout_redirect_uri);
  for (size_t i = 0; i < o->n_params; i++) ag_free(o->params[i]);
  ag_free(o->params);
  ag_free(o->discovery_url);
  ag_free(o);
}

/* ---- discovery ---- */

static bool offers_s256(const cJSON *methods) {
  const cJSON *el;
  cJSON_ArrayForEach(el, methods) {
    if (cJSON_IsString(el) && !strcmp(el->valuestring, "S256")) return true;
  }
  return false;
}

/* One endpoint of the document: required or not; *msg names it when it is not acceptable. */
static int take_endpoint(char **out, const cJSON *doc, const char *name, bool required,
                         char **msg) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, name);
  bool ok;
  if (!item && !required) return AG_OK;
  int rc = endpoint(out, cJSON_IsString(item) ? item->valuestring : NULL, &ok);
  if (rc != AG_OK || ok) return rc;
  return refuse(AG_CODE_PROVIDER_ERROR, msg, "the discovery document's ", name,
                required ? " is missing or not an https URL (http only on loopback hosts)"
                         : " is not an https URL (http only on loopback hosts)");
}

static int discovery_from_json(ag_oidc_provider *p, const ag_oidc_options *o, const cJSON *doc,
                               char **msg) {
  const char *issuer = json_string(doc, "issuer");
  if (!cJSON_IsObject(doc))
    return refuse(AG_CODE_PROVIDER_ERROR, msg, "the discovery document at ", o->discovery_url,
                  " is not a JSON object");
  if (!issuer || strcmp(issuer, o->issuer))
    return refuse(AG_CODE_PROVIDER_ERROR, msg,
                  "the discovery document's issuer is not exactly the oidc.issuer option ",
                  o->issuer, " (a provider must name itself as configured)");
  const cJSON *methods = cJSON_GetObjectItemCaseSensitive(doc, "code_challenge_methods_supported");
  if (methods && (!cJSON_IsArray(methods) || !offers_s256(methods)))
    return refuse(AG_CODE_PROVIDER_ERROR, msg, "the provider ", o->issuer,
                  " does not offer PKCE with S256 (code_challenge_methods_supported)");
  int rc = take_endpoint(&p->authorization_endpoint, doc, "authorization_endpoint", true, msg);
  if (rc == AG_OK) rc = take_endpoint(&p->token_endpoint, doc, "token_endpoint", true, msg);
  if (rc == AG_OK)
    rc = take_endpoint(&p->end_session_endpoint, doc, "end_session_endpoint", false, msg);
  if (rc == AG_OK)
    rc = take_endpoint(&p->revocation_endpoint, doc, "revocation_endpoint", false, msg);
  p->iss_parameter_supported = cJSON_IsTrue(
      cJSON_GetObjectItemCaseSensitive(doc, "authorization_response_iss_parameter_supported"));
  return rc;
}

int ag_oidc_discovery_parse(ag_oidc_provider *out, const ag_oidc_options *o, const char *body,
                            size_t len, char **msg) {
  memset(out, 0, sizeof *out);
  *msg = NULL;
  cJSON *doc = ag_json_parse(body, len);
  int rc = doc ? discovery_from_json(out, o, doc, msg)
               : refuse(AG_CODE_PROVIDER_ERROR, msg, "the discovery document at ", o->discovery_url,
                        " is not JSON (or too large or deep)");
  ag_json_free(doc);
  if (rc != AG_OK) ag_oidc_provider_free(out);
  return rc;
}

void ag_oidc_provider_free(ag_oidc_provider *p) {
  if (!p) return;
  ag_free(p->authorization_endpoint);
  ag_free(p->token_endpoint);
  ag_free(p->end_session_endpoint);
  ag_free(p->revocation_endpoint);
  memset(p, 0, sizeof *p);
}

/* ---- the authorization request ---- */

/* 32 random bytes as 43 base64url characters (RFC 7636 section 4.1: 256 bits of entropy). */
static char *random_text(const unsigned char *bytes) {
  ag_buf b = {0};
  ag_buf_put_base64url(&b, bytes, 32);
  return ag_buf_take(&b);
}

static bool overridden(const cJSON *call_params, const char *name) {
  return call_params && cJSON_GetObjectItemCaseSensitive(call_params, name);
}

/* The option's params not replaced by the call's, then the call's; *fragment from response_mode. */
static void put_extra_params(ag_buf *b, const ag_oidc_options *o, const cJSON *call_params,
                             bool *fragment) {
  for (size_t i = 0; i + 1 < o->n_params; i += 2) {
    if (overridden(call_params, o->params[i])) continue;
    put_param(b, o->params[i], o->params[i + 1]);
    if (!strcmp(o->params[i], "response_mode")) *fragment = !strcmp(o->params[i + 1], "fragment");
  }
  const cJSON *el;
  cJSON_ArrayForEach(el, call_params) {
    put_param(b, el->string, el->valuestring);
    if (!strcmp(el->string, "response_mode")) *fragment = !strcmp(el->valuestring, "fragment");
  }
}

static char *challenge_of(const char *verifier) {
  unsigned char digest[AG_SHA256_SIZE];
  ag_sha256(verifier, strlen(verifier), digest);
  ag_buf b = {0};
  ag_buf_put_base64url(&b, digest, sizeof digest);
  ag_wipe(digest, sizeof digest);
  return ag_buf_take(&b);
}

static char *authorization_url(const ag_oidc_options *o, const ag_oidc_provider *p,
                               const ag_oidc_transaction *t, const cJSON *call_params,
                               bool *fragment) {
  char *challenge = challenge_of(t->verifier);
  if (!challenge) return NULL;
  ag_buf b = {0};
  ag_buf_puts(&b, p->authorization_endpoint);
  put_param(&b, "response_type", "code");
  put_param(&b, "client_id", o->client_id);
  put_param(&b, "redirect_uri", o->redirect_uri);
  put_param(&b, "scope", o->scope);
  put_param(&b, "state", t->state);
  put_param(&b, "nonce", t->nonce);
  put_param(&b, "code_challenge", challenge);
  put_param(&b, "code_challenge_method", "S256");
  put_extra_params(&b, o, call_params, fragment);
  ag_free(challenge);
  return ag_buf_take(&b);
}

static void put_json_field(ag_buf *b, const char *name, const char *value) {
  ag_buf_putc(b, b->len ? ',' : '{');
  ag_buf_put_json_string(b, name);
  ag_buf_putc(b, ':');
  if (value) ag_buf_put_json_string(b, value);
  else ag_buf_puts(b, "null");
}

static char *transaction_blob(const ag_oidc_transaction *t) {
  ag_buf b = {0};
  ag_buf_puts(&b, "{\"v\":1");
  put_json_field(&b, "verifier", t->verifier);
  put_json_field(&b, "state", t->state);
  put_json_field(&b, "nonce", t->nonce);
  put_json_field(&b, "returnTo", t->return_to);
  put_json_field(&b, "redirectUri", t->redirect_uri);
  put_json_field(&b, "issuer", t->issuer);
  put_json_field(&b, "clientId", t->client_id);
  put_json_field(&b, "mode", t->fragment ? "fragment" : "query");
  ag_buf_puts(&b, ",\"createdAt\":");
  ag_buf_put_uint(&b, t->created_at > 0 ? (uint64_t)t->created_at : 0);
  ag_buf_putc(&b, '}');
  return ag_buf_take(&b);
}

static int parse_call_params(cJSON **out, const char *json, size_t len, char **msg) {
  *out = NULL;
  if (!json || !len) return AG_OK;
  *out = ag_json_parse(json, len);
  const char *why = *out ? params_problem(*out) : "oidc.params must be an object of strings";
  return why ? refuse(AG_CODE_BAD_CONFIG, msg, "loginWithRedirect: ", why + PARAMS_PREFIX, NULL)
             : AG_OK;
}

/* The transaction's fields that do not come from random bytes (borrowed, not owned). */
static void borrow_fields(ag_oidc_transaction *t, const ag_oidc_options *o) {
  t->redirect_uri = o->redirect_uri;
  t->issuer = o->issuer;
  t->client_id = o->client_id;
}

int ag_oidc_authorize(const ag_oidc_options *o, const ag_oidc_provider *p,
                      const unsigned char *random, size_t random_len, const char *return_to,
                      size_t return_to_len, const char *params_json, size_t params_len, ag_ms now,
                      char **url, char **transaction, char **msg) {
  *url = *transaction = *msg = NULL;
  if (!random || random_len < AG_OIDC_RANDOM_BYTES) return AG_ERR_INVALID;
  if (return_to && (return_to_len > AG_MAX_URL || memchr(return_to, '\0', return_to_len)))
    return refuse(AG_CODE_BAD_CONFIG, msg,
                  "loginWithRedirect: returnTo must be a string of at "
                  "most 8192 characters",
                  NULL, NULL);
  cJSON *call_params;
  int rc = parse_call_params(&call_params, params_json, params_len, msg);
  ag_oidc_transaction t = {0};
  if (rc == AG_OK) {
    t.verifier = random_text(random);
    t.state = random_text(random + 32);
    t.nonce = random_text(random + 64);
    t.return_to = return_to ? ag_strndup(return_to, return_to_len) : NULL;
    t.created_at = now;
    borrow_fields(&t, o);
    rc = t.verifier && t.state && t.nonce && (t.return_to || !return_to) ? AG_OK : AG_ERR_NOMEM;
  }
  if (rc == AG_OK) *url = authorization_url(o, p, &t, call_params, &t.fragment);
  if (rc == AG_OK) *transaction = transaction_blob(&t);
  if (rc == AG_OK && (!*url || !*transaction)) rc = AG_ERR_NOMEM;
  if (rc != AG_OK) ag_free_secret(*transaction), ag_free(*url), *url = *transaction = NULL;
  ag_free_secret(t.verifier);
  ag_free(t.state);
  ag_free(t.nonce);
  ag_free(t.return_to);
  ag_json_free(call_params);
  return rc;
}

/* ---- the transaction, read back ---- */

/* A value the core made (43 base64url characters), copied. */
static int copy_random_text(char **out, const cJSON *txn, const char *name) {
  const char *s = json_string(txn, name);
  if (!s || strlen(s) != 43) return AG_ERR_BAD_BLOB;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '-' || *p == '_'))
      return AG_ERR_BAD_BLOB;
  *out = dup(s);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

static int copy_optional(char **out, const cJSON *txn, const char *name) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(txn, name);
  if (!item || cJSON_IsNull(item)) return AG_OK;
  if (!cJSON_IsString(item)) return AG_ERR_BAD_BLOB;
  *out = dup(item->valuestring);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

static int transaction_from_json(ag_oidc_transaction *t, const ag_oidc_options *o,
                                 const cJSON *txn) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(txn, "v");
  const cJSON *created = cJSON_GetObjectItemCaseSensitive(txn, "createdAt");
  const char *mode = json_string(txn, "mode");
  const char *issuer = json_string(txn, "issuer"), *client = json_string(txn, "clientId");
  if (!cJSON_IsNumber(v) || v->valuedouble != 1 || !cJSON_IsNumber(created) || !mode ||
      (strcmp(mode, "query") && strcmp(mode, "fragment")) || !json_string(txn, "redirectUri"))
    return AG_ERR_BAD_BLOB;
  if (!issuer || !client || strcmp(issuer, o->issuer) || strcmp(client, o->client_id))
    return AG_ERR_STALE; /* a sign-in begun under other options */
  t->fragment = !strcmp(mode, "fragment");
  t->created_at = created->valuedouble;
  int rc = copy_random_text(&t->verifier, txn, "verifier");
  if (rc == AG_OK) rc = copy_random_text(&t->state, txn, "state");
  if (rc == AG_OK) rc = copy_random_text(&t->nonce, txn, "nonce");
  if (rc == AG_OK) rc = copy_optional(&t->return_to, txn, "returnTo");
  if (rc == AG_OK) rc = copy_optional(&t->redirect_uri, txn, "redirectUri");
  if (rc == AG_OK) rc = copy_optional(&t->issuer, txn, "issuer");
  if (rc == AG_OK) rc = copy_optional(&t->client_id, txn, "clientId");
  return rc;
}

int ag_oidc_transaction_read(ag_oidc_transaction *out, const ag_oidc_options *o, const char *blob,
                             size_t len, ag_ms now, char **msg) {
  memset(out, 0, sizeof *out);
  *msg = NULL;
  if (!blob || !len)
    return refuse(AG_CODE_LOGIN_REQUIRED, msg,
                  "no sign-in is under way in this tab (no stored transaction): the callback URL "
                  "was used already or comes from elsewhere; call loginWithRedirect() again",
                  NULL, NULL);
  cJSON *txn = ag_json_parse(blob, len);
  int rc = txn && cJSON_IsObject(txn) ? transaction_from_json(out, o, txn) : AG_ERR_BAD_BLOB;
  ag_json_free(txn);
  if (rc == AG_OK && !(now - out->created_at < AG_OIDC_TRANSACTION_MAX_AGE_MS))
    rc = refuse(AG_CODE_LOGIN_REQUIRED, msg,
                "the sign-in began more than an hour ago; call loginWithRedirect() again", NULL,
                NULL);
  else if (rc == AG_ERR_BAD_BLOB || rc == AG_ERR_STALE)
    rc = refuse(AG_CODE_LOGIN_REQUIRED, msg,
                rc == AG_ERR_STALE ? "the stored sign-in was begun for another issuer or client"
                                   : "the stored sign-in transaction is malformed",
                "; call loginWithRedirect() again", NULL);
  if (rc != AG_OK) ag_oidc_transaction_free(out);
  return rc;
}

void ag_oidc_transaction_free(ag_oidc_transaction *t) {
  if (!t) return;
  ag_free_secret(t->verifier);
  ag_free(t->state);
  ag_free(t->nonce);
  ag_free(t->return_to);
  ag_free(t->redirect_uri);
  ag_free(t->issuer);
  ag_free(t->client_id);
  memset(t, 0, sizeof *t);
}

/* ---- the callback ---- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Form-decodes s[0..n) ('+' is a space) into *out; AG_ERR_BAD_URL on a bad escape or a NUL. */
static int form_decode(char **out, const char *s, size_t n) {
  char *d = ag_malloc(n + 1);
  size_t o = 0;
  if (!d) return AG_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    int c = s[i] == '+' ? ' ' : (unsigned char)s[i];
    if (c == '%') {
      int hi = n - i >= 3 ? hex_value(s[i + 1]) : -1, lo = n - i >= 3 ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) c = 0;
      else c = hi * 16 + lo, i += 2;
    }
    if (c == 0) {
      ag_wipe(d, o);
      ag_free(d);
      return AG_ERR_BAD_URL;
    }
    d[o++] = (char)c;
  }
  d[o] = '\0';
  *out = d;
  return AG_OK;
}

/* The slot of a parameter the core reads, or NULL for others (session_state, ...). */
static char **slot_of(ag_oidc_callback *cb, const char *name) {
  if (!strcmp(name, "code")) return &cb->code;
  if (!strcmp(name, "state")) return &cb->state;
  if (!strcmp(name, "iss")) return &cb->iss;
  if (!strcmp(name, "error")) return &cb->error;
  if (!strcmp(name, "error_description")) return &cb->error_description;
  return NULL;
}

typedef struct param_list {
  char *names[CALLBACK_PARAMS_MAX];
  size_t n;
} param_list;

/* One name=value pair. AG_ERR_BAD_URL: malformed or repeated (RFC 6749 section 3.1). */
static int take_pair(ag_oidc_callback *cb, param_list *seen, const char *s, size_t n) {
  const char *eq = memchr(s, '=', n);
  size_t name_len = eq ? (size_t)(eq - s) : n;
  char *name = NULL, *value = NULL;
  if (seen->n == CALLBACK_PARAMS_MAX || n - name_len > CALLBACK_VALUE_MAX) return AG_ERR_TOO_LARGE;
  int rc = form_decode(&name, s, name_len);
  for (size_t i = 0; rc == AG_OK && i < seen->n; i++)
    if (!strcmp(seen->names[i], name)) rc = AG_ERR_BAD_URL;
  if (rc != AG_OK) return ag_free(name), rc;
  seen->names[seen->n++] = name;
  char **slot = slot_of(cb, name);
  if (!slot) return AG_OK;
  rc = eq ? form_decode(&value, eq + 1, n - name_len - 1) : form_decode(&value, "", 0);
  if (rc == AG_OK) *slot = value;
  return rc;
}

static int split_params(ag_oidc_callback *cb, const char *s) {
  param_list seen = {{0}, 0};
  int rc = AG_OK;
  while (rc == AG_OK && *s) {
    size_t left = strlen(s);
    const char *amp = memchr(s, '&', left);
    size_t n = amp ? (size_t)(amp - s) : left;
    if (n) rc = take_pair(cb, &seen, s, n);
    s += amp ? n + 1 : n;
  }
  for (size_t i = 0; i < seen.n; i++) ag_free(seen.names[i]);
  return rc;
}

static bool login_required_error(const char *e) {
  return !strcmp(e, "login_required") || !strcmp(e, "interaction_required") ||
         !strcmp(e, "consent_required") || !strcmp(e, "access_denied");
}

static int provider_refused(const ag_oidc_callback *cb, char **msg) {
  ag_buf m = {0};
  ag_buf_puts(&m, "the provider refused the sign-in: ");
  put_provider_text(&m, cb->error);
  if (cb->error_description && cb->error_description[0]) {
    ag_buf_puts(&m, " (");
    put_provider_text(&m, cb->error_description);
    ag_buf_putc(&m, ')');
  }
  *msg = ag_buf_take(&m);
  if (!*msg) return AG_ERR_NOMEM;
  return login_required_error(cb->error) ? AG_CODE_LOGIN_REQUIRED : AG_CODE_PROVIDER_ERROR;
}

static int check_callback(const ag_oidc_callback *cb, const ag_oidc_transaction *t,
                          const ag_oidc_provider *p, char **msg) {
  if (!cb->state || strcmp(cb->state, t->state))
    return refuse(AG_CODE_LOGIN_REQUIRED, msg,
                  cb->state ? "the callback's state does not match the sign-in under way in this "
                              "tab (a replayed or foreign callback URL)"
                            : "the callback URL carries no state: it is not a sign-in answer",
                  "; call loginWithRedirect() again", NULL);
  if (cb->iss && strcmp(cb->iss, t->issuer))
    return refuse(AG_CODE_PROVIDER_ERROR, msg, "the callback's iss is not the issuer ", t->issuer,
                  " (RFC 9207: the answer came from another provider)");
  if (!cb->iss && p && p->iss_parameter_supported)
    return refuse(AG_CODE_PROVIDER_ERROR, msg, "the callback has no iss though the provider ",
                  t->issuer, " says it sends one (RFC 9207)");
  if (cb->error) return provider_refused(cb, msg);
  if (!cb->code || !cb->code[0])
    return refuse(AG_CODE_PROVIDER_ERROR, msg, "the callback carries neither a code nor an error",
                  NULL, NULL);
  return AG_OK;
}

int ag_oidc_callback_parse(ag_oidc_callback *out, const char *url, size_t len,
                           const ag_oidc_transaction *t, const ag_oidc_provider *p, char **msg) {
  memset(out, 0, sizeof *out);
  *msg = NULL;
  ag_url u;
  int rc = ag_url_parse(&u, url, len);
  if (rc != AG_OK)
    return refuse(AG_CODE_LOGIN_REQUIRED, msg,
                  rc == AG_ERR_TOO_LARGE ? "the callback URL is too long"
                                         : "the callback URL is not an http(s) URL",
                  NULL, NULL);
  const char *part = t->fragment ? u.fragment : u.query;
  rc = split_params(out, part ? part : "");
  ag_url_free(&u);
  if (rc == AG_ERR_NOMEM) return ag_oidc_callback_free(out), rc;
  if (rc != AG_OK)
    rc = refuse(AG_CODE_LOGIN_REQUIRED, msg,
                rc == AG_ERR_TOO_LARGE ? "the callback URL has too many or too long parameters"
                                       : "the callback URL repeats a parameter or is malformed",
                NULL, NULL);
  else rc = check_callback(out, t, p, msg);
  if (rc != AG_OK) ag_oidc_callback_free(out);
  return rc;
}

void ag_oidc_callback_free(ag_oidc_callback *cb) {
  if (!cb) return;
  ag_free_secret(cb->code);
  ag_free(cb->state);
  ag_free(cb->iss);
  ag_free(cb->error);
  ag_free(cb->error_description);
  memset(cb, 0, sizeof *cb);
}

/* ---- token requests and the end-session URL ---- */

/* A form body: pairs of name, value (NULL values skipped), NULL-terminated. */
static char *form(const char *const *pairs) {
  ag_buf b = {0};
  for (size_t i = 0; pairs[i]; i += 2) {
    if (!pairs[i + 1]) continue;
    if (b.len) ag_buf_putc(&b, '&');
    ag_buf_put_form(&b, pairs[i]);
    ag_buf_putc(&b, '=');
    ag_buf_put_form(&b, pairs[i + 1]);
  }
  return ag_buf_take(&b);
}

char *ag_oidc_code_body(const ag_oidc_options *o, const char *code, const char *verifier,
                        const char *redirect_uri) {
  const char *pairs[] = {"grant_type", "authorization_code", "code",   code,        "redirect_uri",
                         redirect_uri, "code_verifier",      verifier, "client_id", o->client_id,
                         NULL};
  return form(pairs);
}

char *ag_oidc_refresh_body(const ag_oidc_options *o, const char *refresh_token) {
  const char *pairs[] = {"grant_type",  "refresh_token", "refresh_token",
                         refresh_token, "client_id",     o->client_id,
                         NULL};
  return form(pairs);
}

char *ag_oidc_revoke_body(const ag_oidc_options *o, const char *refresh_token) {
  const char *pairs[] = {
      "token", refresh_token, "token_type_hint", "refresh_token", "client_id", o->client_id, NULL};
  return form(pairs);
}

char *ag_oidc_end_session_url(const ag_oidc_options *o, const ag_oidc_provider *p,
                              const char *id_token) {
  if (!p->end_session_endpoint) return NULL;
  ag_buf b = {0};
  ag_buf_puts(&b, p->end_session_endpoint);
  if (id_token) put_param(&b, "id_token_hint", id_token);
  if (o->post_logout_redirect_uri)
    put_param(&b, "post_logout_redirect_uri", o->post_logout_redirect_uri);
  put_param(&b, "client_id", o->client_id);
  return ag_buf_take(&b);
}

/* ---- the ID token ---- */

static bool aud_has(const cJSON *aud, const char *client_id, int *count) {
  bool found = false;
  *count = 0;
  if (cJSON_IsString(aud)) return (*count = 1), !strcmp(aud->valuestring, client_id);
  const cJSON *el;
  cJSON_ArrayForEach(el, aud) {
    if (!cJSON_IsString(el)) return false;
    found = found || !strcmp(el->valuestring, client_id);
    (*count)++;
  }
  return found;
}

/* The first failed check's name, or NULL when the claims pass. */
static const char *claims_problem(const ag_oidc_options *o, const cJSON *c, const char *nonce,
                                  const char *expect_sub, ag_ms now) {
  const char *iss = json_string(c, "iss"), *sub = json_string(c, "sub");
  const char *azp = json_string(c, "azp"), *got_nonce = json_string(c, "nonce");
  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(c, "aud");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
  const cJSON *iat = cJSON_GetObjectItemCaseSensitive(c, "iat");
  int audiences;
  if (!iss || strcmp(iss, o->issuer)) return "iss is not the issuer";
  if (!cJSON_IsArray(aud) && !cJSON_IsString(aud)) return "aud is missing";
  if (!aud_has(aud, o->client_id, &audiences)) return "aud does not contain the clientId";
  if (azp ? strcmp(azp, o->client_id) != 0 : audiences > 1)
    return "azp is not the clientId (required with several audiences)";
  if (cJSON_GetObjectItemCaseSensitive(c, "azp") && !azp) return "azp is not a string";
  if (!cJSON_IsNumber(exp) || !(now < exp->valuedouble * 1000.0)) return "exp has passed";
  if (!cJSON_IsNumber(iat) || !(iat->valuedouble * 1000.0 <= now + AG_OIDC_IAT_SKEW_MS))
    return "iat is missing or in the future";
  if (!sub || !sub[0]) return "sub is missing";
  if (expect_sub && strcmp(sub, expect_sub)) return "sub is not the signed-in user's";
  if (nonce && (!got_nonce || strcmp(got_nonce, nonce))) return "nonce does not match the sign-in";
  return NULL;
}

int ag_oidc_id_token_check(const ag_oidc_options *o, const char *id_token, size_t len,
                           const char *nonce, const char *expect_sub, ag_ms now, char **claims,
                           char **msg) {
  size_t n;
  *claims = *msg = NULL;
  unsigned char *payload = ag_jwt_payload(id_token, len, &n);
  cJSON *c = payload ? ag_json_parse((const char *)payload, n) : NULL;
  const char *why = !c || !cJSON_IsObject(c) ? "it is not a JWT with a JSON object payload"
                                             : claims_problem(o, c, nonce, expect_sub, now);
  ag_json_free(c);
  int rc =
      why ? refuse(AG_CODE_PROVIDER_ERROR, msg, "the ID token failed a check: ", why, NULL) : AG_OK;
  if (rc == AG_OK) *claims = (char *)payload;
  else if (payload) ag_wipe(payload, n), ag_free(payload);
  return rc;
}

/* ---- token responses: the OIDC extras, and refusals ---- */

/* token_type is case-insensitive (RFC 6749 section 5.1). */
static bool same_word_ignoring_case(const char *s, const char *lower) {
  for (; *s && *lower; s++, lower++)
    if ((*s >= 'A' && *s <= 'Z' ? *s + 32 : *s) != *lower) return false;
  return !*s && !*lower;
}

int ag_oidc_grant_parse(ag_oidc_grant *out, const char *body, size_t len, bool need_id_token,
                        char **msg) {
  memset(out, 0, sizeof *out);
  *msg = NULL;
  cJSON *r = ag_json_parse(body, len);
  const char *id = json_string(r, "id_token"), *scope = json_string(r, "scope");
  const char *type = json_string(r, "token_type");
  const char *why = NULL;
  if (!r) why = "it is not JSON";
  else if (need_id_token && !id) why = "it carries no id_token (scope openid was asked for)";
  else if (id && !ag_token_is_valid(id, strlen(id))) why = "its id_token is malformed";
  else if (type && !same_word_ignoring_case(type, "bearer") && strcmp(type, "DPoP"))
    why = "its token_type is neither Bearer nor DPoP";
  int rc = AG_OK;
  if (!why) {
    out->id_token = id ? dup(id) : NULL;
    out->scope = scope ? dup(scope) : NULL;
    out->token_type = dup(type && !strcmp(type, "DPoP") ? "DPoP" : "Bearer");
    if ((id && !out->id_token) || (scope && !out->scope) || !out->token_type) rc = AG_ERR_NOMEM;
  } else {
    rc = refuse(AG_CODE_BAD_TOKEN_RESPONSE, msg, "the token endpoint's answer is unusable: ", why,
                NULL);
  }
  ag_json_free(r);
  if (rc != AG_OK) ag_oidc_grant_free(out);
  return rc;
}

void ag_oidc_grant_free(ag_oidc_grant *g) {
  if (!g) return;
  ag_free_secret(g->id_token);
  ag_free(g->scope);
  ag_free(g->token_type);
  memset(g, 0, sizeof *g);
}

char *ag_oidc_token_error(const char *what, int status, const char *body, size_t len,
                          bool *invalid_grant) {
  cJSON *r = ag_json_parse(body, len);
  const char *error = json_string(r, "error"), *desc = json_string(r, "error_description");
  *invalid_grant = error && !strcmp(error, "invalid_grant");
  ag_buf m = {0};
  ag_buf_puts(&m, what);
  ag_buf_puts(&m, ": the provider answered ");
  ag_buf_put_uint(&m, status > 0 ? (uint64_t)status : 0);
  if (error) {
    ag_buf_putc(&m, ' ');
    put_provider_text(&m, error);
  }
  if (desc && desc[0]) {
    ag_buf_puts(&m, ": ");
    put_provider_text(&m, desc);
  }
  ag_json_free(r);
  return ag_buf_take(&m);
}

/* ---- the address bar after a callback ---- */

static bool is_response_param(const char *s, size_t n) {
  const char *eq = memchr(s, '=', n);
  char *name = NULL;
  if (form_decode(&name, s, eq ? (size_t)(eq - s) : n) != AG_OK) return false;
  bool hit = !strcmp(name, "code") || !strcmp(name, "state") || !strcmp(name, "iss");
  ag_free(name);
  return hit;
}

char *ag_oidc_clean_url(const char *url, size_t len, bool fragment, bool *changed) {
  const char *hash = memchr(url, '#', len);
  const char *q = fragment ? hash : memchr(url, '?', hash ? (size_t)(hash - url) : len);
  const char *end = fragment || !hash ? url + len : hash;
  ag_buf b = {0};
  *changed = false;
  if (!q) {
    ag_buf_put(&b, url, len);
    return ag_buf_take(&b);
  }
  ag_buf_put(&b, url, (size_t)(q - url));
  bool first = true;
  for (const char *p = q + 1; p <= end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    size_t n = amp ? (size_t)(amp - p) : (size_t)(end - p);
    if (n && is_response_param(p, n)) *changed = true;
    else if (n) {
      ag_buf_putc(&b, first ? *q : '&');
      ag_buf_put(&b, p, n);
      first = false;
    }
    p += n + 1;
  }
  ag_buf_put(&b, end, (size_t)(url + len - end));
  return ag_buf_take(&b);
}
