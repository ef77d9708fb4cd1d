/* test_oidc.c — oidc.c: the oidc option, discovery, the authorization request and its
 * transaction, the callback, token request bodies, the end-session URL, ID token claims. */
#include "check.h"
#include "json.h"
#include "oidc.h"

#include <stdio.h>
#include <stdlib.h>

#define NOW 1700000000000.0
#define ISSUER "https://id.example"
#define PAGE_ORIGIN "http://app.test"

/* ---- helpers ---- */

/* An exact-length heap copy with no NUL after it, so ASan catches any over-read. */
static char *exact(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  if (n) memcpy(p, s, n);
  return p;
}

/* Options JSON around an oidc object; err gets the BAD_CONFIG reason. */
static int open_options(ag_config *cfg, const char *json, const char *page, char *err) {
  return ag_config_parse(cfg, json, strlen(json), page, page ? strlen(page) : 0, err, 256);
}

#define BASE "{\"baseUrl\":\"http://api.test\","

static const char good_oidc[] =
    BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\",\"redirectUri\":\"/callback\"}}";

static int config_error(const char *json, const char *page, const char *want) {
  ag_config cfg;
  char err[256];
  int rc = open_options(&cfg, json, page, err);
  if (rc == AG_OK) ag_config_free(&cfg);
  if (rc == AG_ERR_BAD_CONFIG && strstr(err, want)) return 1;
  fprintf(stderr, "  rc %d, reason \"%s\", wanted \"%s\"\n", rc, err, want);
  return 0;
}

static const char good_doc[] =
    "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER "/auth\","
    "\"token_endpoint\":\"" ISSUER "/token\",\"end_session_endpoint\":\"" ISSUER "/session/end\","
    "\"revocation_endpoint\":\"" ISSUER "/token/revocation\","
    "\"code_challenge_methods_supported\":[\"S256\"],"
    "\"authorization_response_iss_parameter_supported\":true,\"jwks_uri\":\"" ISSUER "/jwks\"}";

typedef struct fixture {
  ag_config cfg;
  ag_oidc_provider p;
} fixture;

static int fixture_open(fixture *f, const char *options, const char *doc) {
  char err[256], *msg = NULL;
  memset(f, 0, sizeof *f);
  if (open_options(&f->cfg, options, PAGE_ORIGIN, err) != AG_OK) {
    fprintf(stderr, "  options: %s\n", err);
    return 0;
  }
  char *copy = exact(doc, strlen(doc));
  int rc = ag_oidc_discovery_parse(&f->p, f->cfg.oidc, copy, strlen(doc), &msg);
  free(copy);
  if (rc != AG_OK) fprintf(stderr, "  discovery: %s\n", msg ? msg : "?");
  ag_free(msg);
  return rc == AG_OK;
}

static void fixture_close(fixture *f) {
  ag_oidc_provider_free(&f->p);
  ag_config_free(&f->cfg);
}

static int discover(const ag_oidc_options *o, const char *doc, ag_oidc_provider *p, char **msg) {
  char *copy = exact(doc, strlen(doc));
  int rc = ag_oidc_discovery_parse(p, o, copy, strlen(doc), msg);
  free(copy);
  return rc;
}

static unsigned char random_bytes[AG_OIDC_RANDOM_BYTES];
static void fill_random(void) {
  for (int i = 0; i < AG_OIDC_RANDOM_BYTES; i++) random_bytes[i] = (unsigned char)(i * 7 + 3);
}

static char *b64(const unsigned char *s, size_t n) {
  ag_buf b = {0};
  ag_buf_put_base64url(&b, s, n);
  return ag_buf_take(&b);
}

/* A JWT (unsigned: the client does not verify) with the given payload. */
static char jwt_buf[4096];
static const char *jwt(const char *payload) {
  char *p = b64((const unsigned char *)payload, strlen(payload));
  snprintf(jwt_buf, sizeof jwt_buf, "eyJhbGciOiJSUzI1NiJ9.%s.c2ln", p);
  ag_free(p);
  return jwt_buf;
}

/* ---- the oidc option ---- */

static void oidc_option_resolves_redirect_uri_against_the_page(void) {
  ag_config cfg;
  char err[256];
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  CHECK(cfg.oidc != NULL);
  if (cfg.oidc) {
    CHECK_STR_EQ(cfg.oidc->issuer, ISSUER);
    CHECK_STR_EQ(cfg.oidc->client_id, "spa");
    CHECK_STR_EQ(cfg.oidc->redirect_uri, "http://app.test/callback");
    CHECK_STR_EQ(cfg.oidc->scope, "openid offline_access");
    CHECK(cfg.oidc->post_logout_redirect_uri == NULL && cfg.oidc->n_params == 0);
    CHECK_STR_EQ(cfg.oidc->discovery_url, ISSUER "/.well-known/openid-configuration");
  }
  ag_config_free(&cfg);
}

static void oidc_option_keeps_scope_params_and_post_logout_uri(void) {
  ag_config cfg;
  char err[256];
  const char *json = BASE "\"oidc\":{\"issuer\":\"http://127.0.0.1:9000/realms/x/\","
                          "\"clientId\":\"spa\",\"redirectUri\":\"https://app.example/cb\","
                          "\"scope\":\"openid profile\",\"postLogoutRedirectUri\":\"/bye\","
                          "\"params\":{\"audience\":\"api\",\"prompt\":\"login\"}}}";
  CHECK(open_options(&cfg, json, PAGE_ORIGIN, err) == AG_OK);
  if (cfg.oidc) {
    CHECK_STR_EQ(cfg.oidc->redirect_uri, "https://app.example/cb");
    CHECK_STR_EQ(cfg.oidc->post_logout_redirect_uri, "http://app.test/bye");
    CHECK_STR_EQ(cfg.oidc->scope, "openid profile");
    CHECK(cfg.oidc->n_params == 4);
    CHECK_STR_EQ(cfg.oidc->params[0], "audience");
    CHECK_STR_EQ(cfg.oidc->params[3], "login");
    /* The issuer is kept exactly; discovery drops the trailing slash before the well-known path. */
    CHECK_STR_EQ(cfg.oidc->issuer, "http://127.0.0.1:9000/realms/x/");
    CHECK_STR_EQ(cfg.oidc->discovery_url,
                 "http://127.0.0.1:9000/realms/x/.well-known/openid-configuration");
  }
  ag_config_free(&cfg);
}

static void no_oidc_option_leaves_it_null(void) {
  ag_config cfg;
  char err[256];
  CHECK(open_options(&cfg, "{\"baseUrl\":\"http://api.test\"}", PAGE_ORIGIN, err) == AG_OK);
  CHECK(cfg.oidc == NULL);
  ag_config_free(&cfg);
}

static void oidc_option_refuses_what_it_cannot_use(void) {
  CHECK(config_error(BASE "\"oidc\":true}", PAGE_ORIGIN, "oidc must be an object"));
  CHECK(config_error(BASE "\"oidc\":{\"clientId\":\"spa\",\"redirectUri\":\"/cb\"}}", PAGE_ORIGIN,
                     "oidc.issuer is required"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"http://id.example\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\"}}",
                     PAGE_ORIGIN, "oidc.issuer must be https"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"https://id.example/?x=1\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\"}}",
                     PAGE_ORIGIN, "without query or fragment"));
  /* The URL parser trims these, but discovery is built from the issuer as written (found by
   * fuzz_options: "https://id.example " made a discovery URL with a space in its host). */
  /* As JSON text: a tab and a newline written as the escapes \t and \n. */
  const char *spaced[] = {"https://id.example ", " https://id.example", "https://id.exa\\tmple",
                          "https://id.example/\\n"};
  for (size_t i = 0; i < sizeof spaced / sizeof *spaced; i++) {
    char json[256];
    snprintf(json, sizeof json,
             BASE "\"oidc\":{\"issuer\":\"%s\",\"clientId\":\"spa\",\"redirectUri\":\"/cb\"}}",
             spaced[i]);
    CHECK(config_error(json, PAGE_ORIGIN, "must not contain spaces or control characters"));
  }
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"redirectUri\":\"/cb\"}}",
                     PAGE_ORIGIN, "oidc.clientId is required"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"a b\","
                          "\"redirectUri\":\"/cb\"}}",
                     PAGE_ORIGIN, "oidc.clientId is required"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\"}}", PAGE_ORIGIN,
                     "oidc.redirectUri is required"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\",\"scope\":\"profile openidx\"}}",
                     PAGE_ORIGIN, "must include 'openid'"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\",\"clientSecret\":\"s\"}}",
                     PAGE_ORIGIN, "oidc accepts only"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"javascript:alert(1)\"}}",
                     PAGE_ORIGIN, "must be http(s) URLs or paths"));
}

static void a_relative_redirect_uri_needs_a_page(void) {
  CHECK(config_error(good_oidc, NULL, "must be absolute outside a page"));
}

static void oidc_with_login_or_refresh_is_contradictory(void) {
  CHECK(config_error(BASE "\"login\":{\"url\":\"/login\"},\"oidc\":{\"issuer\":\"" ISSUER
                          "\",\"clientId\":\"spa\",\"redirectUri\":\"/cb\"}}",
                     PAGE_ORIGIN, "oidc cannot be combined with login or refresh"));
  CHECK(config_error(BASE "\"refresh\":{\"url\":\"/refresh\"},\"oidc\":{\"issuer\":\"" ISSUER
                          "\",\"clientId\":\"spa\",\"redirectUri\":\"/cb\"}}",
                     PAGE_ORIGIN, "oidc cannot be combined with login or refresh"));
}

static void option_params_cannot_set_the_cores_own(void) {
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\",\"params\":{\"state\":\"fixed\"}}}",
                     PAGE_ORIGIN, "oidc.params cannot set"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\",\"params\":{\"code_challenge_method\":\"plain\"}"
                          "}}",
                     PAGE_ORIGIN, "oidc.params cannot set"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\",\"params\":{\"max_age\":0}}}",
                     PAGE_ORIGIN, "oidc.params must be an object of strings"));
  CHECK(config_error(BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                          "\"redirectUri\":\"/cb\",\"params\":{\"response_mode\":\"form_post\"}}}",
                     PAGE_ORIGIN, "response_mode must be 'query' or 'fragment'"));
  /* dpop_jkt names the gate's DPoP key (RFC 9449 section 10): only the core writes it. */
  static const char jkt[] = BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                                 "\"redirectUri\":\"/cb\",\"params\":{\"dpop_jkt\":\"x\"}}}";
  CHECK(config_error(jkt, PAGE_ORIGIN, "oidc.params cannot set"));
  CHECK(config_error(jkt, PAGE_ORIGIN, "dpop_jkt"));
}

/* ---- discovery ---- */

static void discovery_keeps_the_endpoints(void) {
  fixture f;
  CHECK(fixture_open(&f, good_oidc, good_doc));
  CHECK_STR_EQ(f.p.authorization_endpoint, ISSUER "/auth");
  CHECK_STR_EQ(f.p.token_endpoint, ISSUER "/token");
  CHECK_STR_EQ(f.p.end_session_endpoint, ISSUER "/session/end");
  CHECK_STR_EQ(f.p.revocation_endpoint, ISSUER "/token/revocation");
  CHECK(f.p.iss_parameter_supported);
  fixture_close(&f);
}

static void discovery_without_optional_endpoints_is_fine(void) {
  fixture f;
  CHECK(fixture_open(&f, good_oidc,
                     "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER "/a\","
                     "\"token_endpoint\":\"" ISSUER "/t\"}"));
  CHECK(f.p.end_session_endpoint == NULL && f.p.revocation_endpoint == NULL);
  CHECK(!f.p.iss_parameter_supported);
  fixture_close(&f);
}

static int discovery_refused(const char *doc, const char *want) {
  ag_config cfg;
  char err[256], *msg = NULL;
  ag_oidc_provider p;
  if (open_options(&cfg, good_oidc, PAGE_ORIGIN, err) != AG_OK) return 0;
  int rc = discover(cfg.oidc, doc, &p, &msg);
  int ok = rc == AG_CODE_PROVIDER_ERROR && msg && strstr(msg, want) &&
           p.authorization_endpoint == NULL && p.token_endpoint == NULL;
  if (!ok) fprintf(stderr, "  rc %d, \"%s\", wanted \"%s\"\n", rc, msg ? msg : "", want);
  ag_free(msg);
  if (rc == AG_OK) ag_oidc_provider_free(&p);
  ag_config_free(&cfg);
  return ok;
}

static void discovery_issuer_must_equal_the_option_exactly(void) {
  CHECK(discovery_refused("{\"issuer\":\"https://id.example/\",\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"" ISSUER "/t\"}",
                          "is not exactly the oidc.issuer option https://id.example"));
  CHECK(discovery_refused("{\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"" ISSUER "/t\"}",
                          "is not exactly the oidc.issuer"));
}

static void discovery_endpoints_must_be_https_or_loopback(void) {
  CHECK(discovery_refused("{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"http://id.example/t\"}",
                          "token_endpoint is missing or not an https URL"));
  CHECK(discovery_refused("{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER "/a\"}",
                          "token_endpoint is missing"));
  CHECK(discovery_refused("{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"" ISSUER
                          "/t\",\"revocation_endpoint\":\"http://evil.example/r\"}",
                          "revocation_endpoint is not an https URL"));
  CHECK(discovery_refused("{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/a#x\",\"token_endpoint\":\"" ISSUER "/t\"}",
                          "authorization_endpoint is missing or not an https URL"));
  fixture f;
  CHECK(fixture_open(&f, good_oidc,
                     "{\"issuer\":\"" ISSUER
                     "\",\"authorization_endpoint\":\"http://127.0.0.1:9/a\","
                     "\"token_endpoint\":\"http://[::1]:9/t\",\"end_session_endpoint\":"
                     "\"http://localhost:9/e\"}"));
  fixture_close(&f);
}

static void discovery_must_offer_s256_when_it_lists_methods(void) {
  CHECK(discovery_refused("{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"" ISSUER
                          "/t\",\"code_challenge_methods_supported\":[\"plain\"]}",
                          "does not offer PKCE with S256"));
  CHECK(discovery_refused("{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/a\",\"token_endpoint\":\"" ISSUER
                          "/t\",\"code_challenge_methods_supported\":\"S256\"}",
                          "does not offer PKCE with S256"));
}

static void discovery_that_is_not_json_is_refused(void) {
  CHECK(discovery_refused("<html>not found</html>", "is not JSON"));
  CHECK(discovery_refused("[1,2]", "is not a JSON object"));
  CHECK(discovery_refused("{\"issuer\":\"" ISSUER "\"", "is not JSON"));
}

/* ---- the authorization request ---- */

/* The value of `name` in the URL's query (raw, still encoded), copied into out. */
static const char *query_value(const char *url, const char *name, char *out, size_t cap) {
  size_t n = strlen(name);
  const char *q = strchr(url, '?');
  out[0] = '\0';
  for (const char *p = q; p; p = strchr(p + 1, '&')) {
    if (!strncmp(p + 1, name, n) && p[1 + n] == '=') {
      const char *v = p + 2 + n, *end = strchr(v, '&');
      size_t len = end ? (size_t)(end - v) : strlen(v);
      if (len >= cap) len = cap - 1;
      memcpy(out, v, len);
      out[len] = '\0';
      return out;
    }
  }
  return NULL;
}

static void authorization_request_has_pkce_state_and_nonce(void) {
  fixture f;
  char *url, *txn, *msg, v[256];
  fill_random();
  CHECK(fixture_open(&f, good_oidc, good_doc));
  CHECK(ag_oidc_authorize(f.cfg.oidc, &f.p, random_bytes, sizeof random_bytes, "/inbox", 6, NULL, 0,
                          NOW, &url, &txn, &msg) == AG_OK);
  char *verifier = b64(random_bytes, 32), *state = b64(random_bytes + 32, 32),
       *nonce = b64(random_bytes + 64, 32);
  CHECK(strlen(verifier) == 43);
  unsigned char digest[AG_SHA256_SIZE];
  ag_sha256(verifier, strlen(verifier), digest);
  char *challenge = b64(digest, sizeof digest);
  char want[1024];
  snprintf(want, sizeof want,
           ISSUER "/auth?response_type=code&client_id=spa&redirect_uri=http%%3A%%2F%%2Fapp.test%%2F"
                  "callback&scope=openid+offline_access&state=%s&nonce=%s&code_challenge=%s"
                  "&code_challenge_method=S256",
           state, nonce, challenge);
  CHECK_STR_EQ(url, want);
  CHECK(strstr(url, verifier) == NULL); /* the verifier never leaves the page */

  ag_oidc_transaction t;
  CHECK(ag_oidc_transaction_read(&t, f.cfg.oidc, txn, strlen(txn), NOW + 1000, &msg) == AG_OK);
  CHECK_STR_EQ(t.verifier, verifier);
  CHECK_STR_EQ(t.state, state);
  CHECK_STR_EQ(t.nonce, nonce);
  CHECK_STR_EQ(t.return_to, "/inbox");
  CHECK_STR_EQ(t.redirect_uri, "http://app.test/callback");
  CHECK(t.created_at == NOW && !t.fragment);
  CHECK(query_value(url, "state", v, sizeof v) && !strcmp(v, t.state));
  ag_oidc_transaction_free(&t);
  ag_free(verifier), ag_free(state), ag_free(nonce), ag_free(challenge);
  ag_free(url), ag_free(txn);
  fixture_close(&f);
}

static void authorization_request_encodes_and_orders_extra_params(void) {
  fixture f;
  char *url, *txn, *msg, v[256];
  fill_random();
  const char *options =
      BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\",\"redirectUri\":\"/cb\","
           "\"params\":{\"audience\":\"https://api.test/\",\"prompt\":\"login\"}}}";
  CHECK(fixture_open(&f, options,
                     "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                     "/auth?tenant=a\",\"token_endpoint\":\"" ISSUER "/t\"}"));
  const char *call = "{\"prompt\":\"none\",\"login_hint\":\"ana & bo=1 \xc3\xa9\"}";
  CHECK(ag_oidc_authorize(f.cfg.oidc, &f.p, random_bytes, sizeof random_bytes, NULL, 0, call,
                          strlen(call), NOW, &url, &txn, &msg) == AG_OK);
  CHECK(url && !strncmp(url, ISSUER "/auth?tenant=a&response_type=code&", 45));
  /* the option's audience, then the call's params; the call's prompt replaces the option's */
  CHECK(strstr(url, "&code_challenge_method=S256&audience=https%3A%2F%2Fapi.test%2F&prompt=none"
                    "&login_hint=ana+%26+bo%3D1+%C3%A9") != NULL);
  CHECK(strstr(url, "prompt=login") == NULL);
  CHECK(query_value(url, "client_id", v, sizeof v) && !strcmp(v, "spa"));
  ag_oidc_transaction t;
  CHECK(ag_oidc_transaction_read(&t, f.cfg.oidc, txn, strlen(txn), NOW, &msg) == AG_OK);
  CHECK(t.return_to == NULL);
  ag_oidc_transaction_free(&t);
  ag_free(url), ag_free(txn);
  fixture_close(&f);
}

static void call_params_cannot_set_the_cores_own(void) {
  fixture f;
  char *url, *txn, *msg;
  fill_random();
  CHECK(fixture_open(&f, good_oidc, good_doc));
  const char *bad[] = {"{\"redirect_uri\":\"https://evil.example/\"}",
                       "{\"nonce\":\"n\"}",
                       "{\"prompt\":1}",
                       "[\"x\"]",
                       "{\"response_mode\":\"web_message\"}",
                       "{\"dpop_jkt\":\"another-key\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = ag_oidc_authorize(f.cfg.oidc, &f.p, random_bytes, sizeof random_bytes, NULL, 0, bad[i],
                               strlen(bad[i]), NOW, &url, &txn, &msg);
    CHECK(rc == AG_CODE_BAD_CONFIG && url == NULL && txn == NULL);
    CHECK(msg && !strncmp(msg, "loginWithRedirect: params", 25));
    ag_free(msg);
  }
  CHECK(ag_oidc_authorize(f.cfg.oidc, &f.p, random_bytes, 95, NULL, 0, NULL, 0, NOW, &url, &txn,
                          &msg) == AG_ERR_INVALID);
  fixture_close(&f);
}

static void response_mode_fragment_is_kept_in_the_transaction(void) {
  fixture f;
  char *url, *txn, *msg;
  fill_random();
  CHECK(fixture_open(&f, good_oidc, good_doc));
  const char *call = "{\"response_mode\":\"fragment\"}";
  CHECK(ag_oidc_authorize(f.cfg.oidc, &f.p, random_bytes, sizeof random_bytes, NULL, 0, call,
                          strlen(call), NOW, &url, &txn, &msg) == AG_OK);
  ag_oidc_transaction t;
  CHECK(ag_oidc_transaction_read(&t, f.cfg.oidc, txn, strlen(txn), NOW, &msg) == AG_OK);
  CHECK(t.fragment);
  ag_oidc_transaction_free(&t);
  ag_free(url), ag_free(txn);
  fixture_close(&f);
}

/* ---- the transaction ---- */

static int transaction_refused(const ag_oidc_options *o, const char *blob, ag_ms now,
                               const char *want) {
  ag_oidc_transaction t;
  char *msg = NULL;
  int rc = ag_oidc_transaction_read(&t, o, blob, blob ? strlen(blob) : 0, now, &msg);
  int ok = rc == AG_CODE_LOGIN_REQUIRED && msg && strstr(msg, want) && t.verifier == NULL;
  if (!ok) fprintf(stderr, "  rc %d \"%s\", wanted \"%s\"\n", rc, msg ? msg : "", want);
  if (rc == AG_OK) ag_oidc_transaction_free(&t);
  ag_free(msg);
  return ok;
}

#define TXN_HEAD                                                                                   \
  "{\"v\":1,\"verifier\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"state\":"               \
  "\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\",\"nonce\":"                                     \
  "\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\",\"returnTo\":null,\"redirectUri\":"             \
  "\"http://app.test/callback\",\"mode\":\"query\","

static void a_missing_foreign_or_stale_transaction_is_login_required(void) {
  ag_config cfg;
  char err[256];
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  CHECK(transaction_refused(cfg.oidc, NULL, NOW, "no sign-in is under way in this tab"));
  CHECK(transaction_refused(cfg.oidc, "{\"v\":1}", NOW, "malformed"));
  CHECK(transaction_refused(cfg.oidc, "not json", NOW, "malformed"));
  CHECK(transaction_refused(cfg.oidc,
                            TXN_HEAD "\"issuer\":\"https://other.example\",\"clientId\":\"spa\","
                                     "\"createdAt\":1700000000000}",
                            NOW, "another issuer or client"));
  CHECK(transaction_refused(cfg.oidc,
                            TXN_HEAD "\"issuer\":\"" ISSUER "\",\"clientId\":\"other\","
                                     "\"createdAt\":1700000000000}",
                            NOW, "another issuer or client"));
  /* A verifier that is not 43 base64url characters was not made by the core. */
  CHECK(transaction_refused(cfg.oidc,
                            "{\"v\":1,\"verifier\":\"short\",\"state\":\"s\",\"nonce\":\"n\","
                            "\"redirectUri\":\"x\",\"mode\":\"query\",\"issuer\":\"" ISSUER
                            "\",\"clientId\":\"spa\",\"createdAt\":1}",
                            NOW, "malformed"));
  const char *ok = TXN_HEAD "\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                            "\"createdAt\":1700000000000}";
  /* an hour after it began it is refused; a millisecond before, it is not */
  CHECK(transaction_refused(cfg.oidc, ok, NOW + AG_OIDC_TRANSACTION_MAX_AGE_MS, "an hour ago"));
  ag_oidc_transaction t;
  char *msg = NULL;
  CHECK(ag_oidc_transaction_read(&t, cfg.oidc, ok, strlen(ok),
                                 NOW + AG_OIDC_TRANSACTION_MAX_AGE_MS - 1, &msg) == AG_OK);
  ag_oidc_transaction_free(&t);
  ag_config_free(&cfg);
}

/* ---- the callback ---- */

typedef struct cb_fixture {
  fixture f;
  ag_oidc_transaction t;
} cb_fixture;

static void cb_open(cb_fixture *x, const char *doc) {
  char *msg = NULL;
  const char *blob = TXN_HEAD "\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                              "\"createdAt\":1700000000000}";
  CHECK(fixture_open(&x->f, good_oidc, doc));
  CHECK(ag_oidc_transaction_read(&x->t, x->f.cfg.oidc, blob, strlen(blob), NOW, &msg) == AG_OK);
}

static void cb_close(cb_fixture *x) {
  ag_oidc_transaction_free(&x->t);
  fixture_close(&x->f);
}

#define STATE "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define CB "http://app.test/callback?"

/* Parses `url` (an exact-length copy); returns the code, or checks the refusal. */
static int callback(cb_fixture *x, const char *url, bool known_provider, ag_oidc_callback *cb,
                    char **msg) {
  char *copy = exact(url, strlen(url));
  int rc =
      ag_oidc_callback_parse(cb, copy, strlen(url), &x->t, known_provider ? &x->f.p : NULL, msg);
  free(copy);
  return rc;
}

static int callback_refused(cb_fixture *x, const char *url, int code, const char *want) {
  ag_oidc_callback cb;
  char *msg = NULL;
  int rc = callback(x, url, true, &cb, &msg);
  int ok = rc == code && msg && strstr(msg, want) && cb.code == NULL;
  if (!ok) fprintf(stderr, "  rc %d \"%s\", wanted \"%s\"\n", rc, msg ? msg : "", want);
  if (rc == AG_OK) ag_oidc_callback_free(&cb);
  ag_free(msg);
  return ok;
}

static void callback_with_matching_state_gives_the_code(void) {
  cb_fixture x;
  ag_oidc_callback cb;
  char *msg = NULL;
  cb_open(&x, good_doc);
  CHECK(callback(&x, CB "code=c%2F1+x&state=" STATE "&iss=https%3A%2F%2Fid.example&session_state=z",
                 true, &cb, &msg) == AG_OK);
  CHECK_STR_EQ(cb.code, "c/1 x");
  CHECK_STR_EQ(cb.iss, ISSUER);
  ag_oidc_callback_free(&cb);
  cb_close(&x);
}

static void callback_state_must_match(void) {
  cb_fixture x;
  cb_open(&x, good_doc);
  CHECK(callback_refused(&x, CB "code=c&state=forged&iss=" ISSUER, AG_CODE_LOGIN_REQUIRED,
                         "state does not match"));
  CHECK(callback_refused(&x, CB "code=c&iss=" ISSUER, AG_CODE_LOGIN_REQUIRED, "carries no state"));
  CHECK(
      callback_refused(&x, "http://app.test/callback", AG_CODE_LOGIN_REQUIRED, "carries no state"));
  cb_close(&x);
}

static void callback_without_code_is_a_provider_error(void) {
  cb_fixture x;
  cb_open(&x, good_doc);
  CHECK(callback_refused(&x, CB "state=" STATE "&iss=" ISSUER, AG_CODE_PROVIDER_ERROR,
                         "neither a code nor an error"));
  CHECK(callback_refused(&x, CB "code=&state=" STATE "&iss=" ISSUER, AG_CODE_PROVIDER_ERROR,
                         "neither a code nor an error"));
  cb_close(&x);
}

static void provider_errors_are_login_required_or_provider_error(void) {
  cb_fixture x;
  cb_open(&x, good_doc);
  CHECK(callback_refused(
      &x, CB "error=access_denied&error_description=The+user+said+no&state=" STATE "&iss=" ISSUER,
      AG_CODE_LOGIN_REQUIRED, "access_denied (The user said no)"));
  CHECK(callback_refused(&x, CB "error=login_required&state=" STATE "&iss=" ISSUER,
                         AG_CODE_LOGIN_REQUIRED, "login_required"));
  CHECK(callback_refused(&x, CB "error=interaction_required&state=" STATE "&iss=" ISSUER,
                         AG_CODE_LOGIN_REQUIRED, "interaction_required"));
  CHECK(callback_refused(&x, CB "error=consent_required&state=" STATE "&iss=" ISSUER,
                         AG_CODE_LOGIN_REQUIRED, "consent_required"));
  CHECK(callback_refused(
      &x, CB "error=server_error&error_description=%0Aboom%07&state=" STATE "&iss=" ISSUER,
      AG_CODE_PROVIDER_ERROR, "server_error (?boom?)"));
  /* an error with a forged state is a foreign URL, not the provider's answer */
  CHECK(callback_refused(&x, CB "error=access_denied&state=x", AG_CODE_LOGIN_REQUIRED,
                         "state does not match"));
  cb_close(&x);
}

static void callback_iss_must_be_the_issuer(void) {
  cb_fixture x;
  cb_open(&x, good_doc);
  CHECK(callback_refused(&x, CB "code=c&state=" STATE "&iss=https%3A%2F%2Fevil.example",
                         AG_CODE_PROVIDER_ERROR, "iss is not the issuer"));
  /* the document says the provider sends iss (RFC 9207): its absence is refused */
  CHECK(callback_refused(&x, CB "code=c&state=" STATE, AG_CODE_PROVIDER_ERROR,
                         "has no iss though the provider"));
  ag_oidc_callback cb;
  char *msg = NULL;
  CHECK(callback(&x, CB "code=c&state=" STATE, false, &cb, &msg) == AG_OK); /* not known yet */
  ag_oidc_callback_free(&cb);
  cb_close(&x);
  cb_open(&x, "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
              "/a\",\"token_endpoint\":\"" ISSUER "/t\"}");
  CHECK(callback(&x, CB "code=c&state=" STATE, true, &cb, &msg) == AG_OK);
  ag_oidc_callback_free(&cb);
  CHECK(callback_refused(&x, CB "code=c&state=" STATE "&iss=https://id.example/",
                         AG_CODE_PROVIDER_ERROR, "iss is not the issuer"));
  cb_close(&x);
}

static void callback_refuses_repeated_parameters(void) {
  cb_fixture x;
  cb_open(&x, good_doc);
  CHECK(callback_refused(&x, CB "code=a&code=b&state=" STATE "&iss=" ISSUER, AG_CODE_LOGIN_REQUIRED,
                         "repeats a parameter"));
  CHECK(callback_refused(&x, CB "code=a&state=" STATE "&st%61te=" STATE "&iss=" ISSUER,
                         AG_CODE_LOGIN_REQUIRED, "repeats a parameter"));
  CHECK(callback_refused(&x, CB "code=a&x=1&x=2&state=" STATE "&iss=" ISSUER,
                         AG_CODE_LOGIN_REQUIRED, "repeats a parameter"));
  CHECK(callback_refused(&x, CB "code=a%zz&state=" STATE, AG_CODE_LOGIN_REQUIRED, "malformed"));
  CHECK(callback_refused(&x, CB "code=a%00b&state=" STATE, AG_CODE_LOGIN_REQUIRED, "malformed"));
  CHECK(callback_refused(&x, CB "code=a%4&state=" STATE, AG_CODE_LOGIN_REQUIRED, "malformed"));
  cb_close(&x);
}

static void callback_sizes_are_bounded(void) {
  cb_fixture x;
  cb_open(&x, good_doc);
  static char huge[AG_MAX_URL + 100];
  snprintf(huge, sizeof huge, CB "state=" STATE "&iss=" ISSUER "&code=");
  size_t n = strlen(huge);
  memset(huge + n, 'c', sizeof huge - n - 1);
  huge[sizeof huge - 1] = '\0';
  CHECK(callback_refused(&x, huge, AG_CODE_LOGIN_REQUIRED, "too long"));
  /* 5000 characters fit in a URL but not in one parameter */
  huge[n + 5000] = '\0';
  CHECK(callback_refused(&x, huge, AG_CODE_LOGIN_REQUIRED, "too many or too long"));
  ag_buf b = {0};
  ag_buf_puts(&b, CB "code=c&state=" STATE);
  for (int i = 0; i < 70; i++) {
    ag_buf_puts(&b, "&p");
    ag_buf_put_uint(&b, (uint64_t)i);
  }
  char *many = ag_buf_take(&b);
  CHECK(callback_refused(&x, many, AG_CODE_LOGIN_REQUIRED, "too many or too long"));
  ag_free(many);
  cb_close(&x);
}

static void fragment_mode_reads_the_fragment(void) {
  cb_fixture x;
  ag_oidc_callback cb;
  char *msg = NULL;
  cb_open(&x, good_doc);
  x.t.fragment = true;
  CHECK(callback(&x, "http://app.test/callback?code=q&state=x#code=f&state=" STATE "&iss=" ISSUER,
                 true, &cb, &msg) == AG_OK);
  CHECK_STR_EQ(cb.code, "f");
  ag_oidc_callback_free(&cb);
  CHECK(callback_refused(&x, CB "code=c&state=" STATE "&iss=" ISSUER, AG_CODE_LOGIN_REQUIRED,
                         "carries no state"));
  cb_close(&x);
}

/* ---- token requests, revocation, end session ---- */

static void token_request_bodies_are_forms(void) {
  fixture f;
  CHECK(fixture_open(&f, good_oidc, good_doc));
  char *s = ag_oidc_code_body(f.cfg.oidc, "c/1 x", "VVV", "http://app.test/callback");
  CHECK_STR_EQ(s, "grant_type=authorization_code&code=c%2F1+x&redirect_uri=http%3A%2F%2Fapp.test"
                  "%2Fcallback&code_verifier=VVV&client_id=spa");
  ag_free(s);
  s = ag_oidc_refresh_body(f.cfg.oidc, "r+/=");
  CHECK_STR_EQ(s, "grant_type=refresh_token&refresh_token=r%2B%2F%3D&client_id=spa");
  ag_free(s);
  s = ag_oidc_revoke_body(f.cfg.oidc, "R1");
  CHECK_STR_EQ(s, "token=R1&token_type_hint=refresh_token&client_id=spa");
  ag_free(s);
  fixture_close(&f);
}

static void end_session_url_carries_the_hint_and_the_return(void) {
  fixture f;
  const char *options = BASE "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\","
                             "\"redirectUri\":\"/cb\",\"postLogoutRedirectUri\":\"/bye\"}}";
  CHECK(fixture_open(&f, options, good_doc));
  char *s = ag_oidc_end_session_url(f.cfg.oidc, &f.p, "h.p.s");
  CHECK_STR_EQ(s, ISSUER "/session/end?id_token_hint=h.p.s&post_logout_redirect_uri=http%3A%2F%2F"
                         "app.test%2Fbye&client_id=spa");
  ag_free(s);
  fixture_close(&f);
  CHECK(fixture_open(&f, good_oidc,
                     "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                     "/a\",\"token_endpoint\":\"" ISSUER "/t\",\"end_session_endpoint\":\"" ISSUER
                     "/logout?x=1\"}"));
  s = ag_oidc_end_session_url(f.cfg.oidc, &f.p, NULL);
  CHECK_STR_EQ(s, ISSUER "/logout?x=1&client_id=spa");
  ag_free(s);
  ag_free(f.p.end_session_endpoint);
  f.p.end_session_endpoint = NULL;
  CHECK(ag_oidc_end_session_url(f.cfg.oidc, &f.p, "h.p.s") == NULL);
  fixture_close(&f);
}

/* ---- ID token claims ---- */

#define EXP 1700000600 /* seconds: ten minutes after NOW */
#define NONCE "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"

static char payload_buf[2048];
/* Good claims, with `extra` members appended (they replace nothing: keys are written once). */
static const char *claims(const char *iss, const char *aud, const char *rest) {
  snprintf(payload_buf, sizeof payload_buf,
           "{\"iss\":\"%s\",\"aud\":%s,\"sub\":\"u1\",\"iat\":1699999990%s}", iss, aud, rest);
  return payload_buf;
}

static int id_token(const ag_config *cfg, const char *payload, const char *nonce, ag_ms now,
                    char **out, char **msg) {
  const char *token = jwt(payload);
  char *copy = exact(token, strlen(token));
  int rc = ag_oidc_id_token_check(cfg->oidc, copy, strlen(token), nonce, NULL, now, out, msg);
  free(copy);
  return rc;
}

static int id_token_refused(const ag_config *cfg, const char *payload, const char *nonce, ag_ms now,
                            const char *want) {
  char *out = NULL, *msg = NULL;
  int rc = id_token(cfg, payload, nonce, now, &out, &msg);
  int ok = rc == AG_CODE_PROVIDER_ERROR && out == NULL && msg && strstr(msg, want) &&
           !strncmp(msg, "the ID token failed a check: ", 29);
  if (!ok) fprintf(stderr, "  rc %d \"%s\", wanted \"%s\"\n", rc, msg ? msg : "", want);
  ag_free(out);
  ag_free(msg);
  return ok;
}

static int id_token_passes(const ag_config *cfg, const char *payload, const char *nonce,
                           ag_ms now) {
  char *out = NULL, *msg = NULL;
  int rc = id_token(cfg, payload, nonce, now, &out, &msg);
  int ok = rc == AG_OK && out && !strcmp(out, payload) && msg == NULL;
  if (!ok) fprintf(stderr, "  rc %d \"%s\"\n", rc, msg ? msg : "");
  ag_free(out);
  ag_free(msg);
  return ok;
}

#define GOOD_REST ",\"exp\":1700000600,\"nonce\":\"" NONCE "\""

static void good_id_token_claims_pass_and_are_returned(void) {
  ag_config cfg;
  char err[256];
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  CHECK(id_token_passes(&cfg, claims(ISSUER, "\"spa\"", GOOD_REST), NONCE, NOW));
  CHECK(id_token_passes(&cfg, claims(ISSUER, "[\"spa\"]", GOOD_REST), NONCE, NOW));
  CHECK(id_token_passes(&cfg, claims(ISSUER, "[\"api\",\"spa\"]", GOOD_REST ",\"azp\":\"spa\""),
                        NONCE, NOW));
  /* a refreshed ID token: no nonce to check */
  CHECK(id_token_passes(&cfg, claims(ISSUER, "\"spa\"", ",\"exp\":1700000600"), NULL, NOW));
  ag_config_free(&cfg);
}

static void each_wrong_claim_fails_by_name(void) {
  ag_config cfg;
  char err[256];
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  CHECK(id_token_refused(&cfg, claims("https://evil.example", "\"spa\"", GOOD_REST), NONCE, NOW,
                         "iss is not the issuer"));
  CHECK(id_token_refused(&cfg, claims(ISSUER "/", "\"spa\"", GOOD_REST), NONCE, NOW,
                         "iss is not the issuer"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "\"other\"", GOOD_REST), NONCE, NOW,
                         "aud does not contain the clientId"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "[\"other\",1]", GOOD_REST), NONCE, NOW,
                         "aud does not contain the clientId"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "null", GOOD_REST), NONCE, NOW, "aud is missing"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "[\"api\",\"spa\"]", GOOD_REST), NONCE, NOW,
                         "azp is not the clientId"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "[\"api\",\"spa\"]", GOOD_REST ",\"azp\":\"api\""),
                         NONCE, NOW, "azp is not the clientId"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "\"spa\"", GOOD_REST ",\"azp\":\"api\""), NONCE, NOW,
                         "azp is not the clientId"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "\"spa\"", ",\"exp\":\"1700000600\""), NONCE, NOW,
                         "exp has passed"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "\"spa\"", ",\"exp\":1700000600"), NONCE, NOW,
                         "nonce does not match"));
  CHECK(id_token_refused(&cfg, claims(ISSUER, "\"spa\"", ",\"exp\":1700000600,\"nonce\":\"x\""),
                         NONCE, NOW, "nonce does not match"));
  CHECK(id_token_refused(&cfg,
                         "{\"iss\":\"" ISSUER "\",\"aud\":\"spa\",\"iat\":1699999990" GOOD_REST "}",
                         NONCE, NOW, "sub is missing"));
  CHECK(id_token_refused(&cfg,
                         "{\"iss\":\"" ISSUER "\",\"aud\":\"spa\",\"sub\":\"u\"" GOOD_REST "}",
                         NONCE, NOW, "iat is missing"));
  ag_config_free(&cfg);
}

static void exp_fails_at_the_deadline_and_passes_one_ms_before(void) {
  ag_config cfg;
  char err[256];
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  ag_ms deadline = EXP * 1000.0;
  CHECK(id_token_refused(&cfg, claims(ISSUER, "\"spa\"", GOOD_REST), NONCE, deadline,
                         "exp has passed"));
  CHECK(id_token_passes(&cfg, claims(ISSUER, "\"spa\"", GOOD_REST), NONCE, deadline - 1));
  ag_config_free(&cfg);
}

static void iat_may_be_ahead_of_our_clock_by_the_skew_only(void) {
  ag_config cfg;
  char err[256];
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  /* iat 1700000300 s: exactly the skew (300 s) ahead of NOW passes, 1 ms less of clock fails */
  const char *p =
      "{\"iss\":\"" ISSUER "\",\"aud\":\"spa\",\"sub\":\"u\",\"iat\":1700000300" GOOD_REST "}";
  CHECK(id_token_passes(&cfg, p, NONCE, NOW));
  CHECK(id_token_refused(&cfg, p, NONCE, NOW - 1, "iat is missing or in the future"));
  ag_config_free(&cfg);
}

static void a_refreshed_id_token_must_name_the_same_user(void) {
  ag_config cfg;
  char err[256], *out = NULL, *msg = NULL;
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  const char *token = jwt(claims(ISSUER, "\"spa\"", ",\"exp\":1700000600"));
  CHECK(ag_oidc_id_token_check(cfg.oidc, token, strlen(token), NULL, "u2", NOW, &out, &msg) ==
        AG_CODE_PROVIDER_ERROR);
  CHECK(msg && strstr(msg, "sub is not the signed-in user's"));
  ag_free(msg);
  CHECK(ag_oidc_id_token_check(cfg.oidc, token, strlen(token), NULL, "u1", NOW, &out, &msg) ==
        AG_OK);
  ag_free(out);
  ag_config_free(&cfg);
}

static void an_id_token_that_is_not_a_jwt_fails(void) {
  ag_config cfg;
  char err[256], *out = NULL, *msg = NULL;
  CHECK(open_options(&cfg, good_oidc, PAGE_ORIGIN, err) == AG_OK);
  const char *bad[] = {"opaque", "a.b", "a.!!.c", "e30.W10.c" /* payload [] */, "a.b.c.d.e"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK(ag_oidc_id_token_check(cfg.oidc, bad[i], strlen(bad[i]), NONCE, NULL, NOW, &out, &msg) ==
          AG_CODE_PROVIDER_ERROR);
    CHECK(out == NULL && msg && strstr(msg, "not a JWT"));
    ag_free(msg);
  }
  ag_config_free(&cfg);
}

/* ---- token responses ---- */

static void grant_extras_are_read(void) {
  ag_oidc_grant g;
  char *msg = NULL;
  const char *body = "{\"access_token\":\"A\",\"id_token\":\"h.p.s\",\"scope\":\"openid email\","
                     "\"token_type\":\"bearer\",\"expires_in\":60}";
  CHECK(ag_oidc_grant_parse(&g, body, strlen(body), true, &msg) == AG_OK);
  CHECK_STR_EQ(g.id_token, "h.p.s");
  CHECK_STR_EQ(g.scope, "openid email");
  CHECK_STR_EQ(g.token_type, "Bearer");
  ag_oidc_grant_free(&g);
  body = "{\"access_token\":\"A\"}";
  CHECK(ag_oidc_grant_parse(&g, body, strlen(body), false, &msg) == AG_OK);
  CHECK(g.id_token == NULL && g.scope == NULL);
  CHECK_STR_EQ(g.token_type, "Bearer");
  ag_oidc_grant_free(&g);
}

static void unusable_grants_are_refused(void) {
  ag_oidc_grant g;
  char *msg = NULL;
  const char *no_id = "{\"access_token\":\"A\",\"token_type\":\"Bearer\"}";
  CHECK(ag_oidc_grant_parse(&g, no_id, strlen(no_id), true, &msg) == AG_CODE_BAD_TOKEN_RESPONSE);
  CHECK(msg && strstr(msg, "no id_token"));
  ag_free(msg);
  const char *mac = "{\"access_token\":\"A\",\"token_type\":\"mac\"}";
  CHECK(ag_oidc_grant_parse(&g, mac, strlen(mac), false, &msg) == AG_CODE_BAD_TOKEN_RESPONSE);
  CHECK(msg && strstr(msg, "neither Bearer nor DPoP"));
  ag_free(msg);
  const char *crlf = "{\"access_token\":\"A\",\"id_token\":\"a\\r\\nb\"}";
  CHECK(ag_oidc_grant_parse(&g, crlf, strlen(crlf), true, &msg) == AG_CODE_BAD_TOKEN_RESPONSE);
  ag_free(msg);
}

static void token_errors_name_the_oauth_error(void) {
  bool invalid = false;
  const char *body = "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is "
                     "invalid\"}";
  char *m = ag_oidc_token_error("refresh", 400, body, strlen(body), &invalid);
  CHECK_STR_EQ(m, "refresh: the provider answered 400 invalid_grant: grant request is invalid");
  CHECK(invalid);
  ag_free(m);
  m = ag_oidc_token_error("code exchange", 502, "<html>", 6, &invalid);
  CHECK_STR_EQ(m, "code exchange: the provider answered 502");
  CHECK(!invalid);
  ag_free(m);
}

int main(void) {
  RUN(oidc_option_resolves_redirect_uri_against_the_page);
  RUN(oidc_option_keeps_scope_params_and_post_logout_uri);
  RUN(no_oidc_option_leaves_it_null);
  RUN(oidc_option_refuses_what_it_cannot_use);
  RUN(a_relative_redirect_uri_needs_a_page);
  RUN(oidc_with_login_or_refresh_is_contradictory);
  RUN(option_params_cannot_set_the_cores_own);
  RUN(discovery_keeps_the_endpoints);
  RUN(discovery_without_optional_endpoints_is_fine);
  RUN(discovery_issuer_must_equal_the_option_exactly);
  RUN(discovery_endpoints_must_be_https_or_loopback);
  RUN(discovery_must_offer_s256_when_it_lists_methods);
  RUN(discovery_that_is_not_json_is_refused);
  RUN(authorization_request_has_pkce_state_and_nonce);
  RUN(authorization_request_encodes_and_orders_extra_params);
  RUN(call_params_cannot_set_the_cores_own);
  RUN(response_mode_fragment_is_kept_in_the_transaction);
  RUN(a_missing_foreign_or_stale_transaction_is_login_required);
  RUN(callback_with_matching_state_gives_the_code);
  RUN(callback_state_must_match);
  RUN(callback_without_code_is_a_provider_error);
  RUN(provider_errors_are_login_required_or_provider_error);
  RUN(callback_iss_must_be_the_issuer);
  RUN(callback_refuses_repeated_parameters);
  RUN(callback_sizes_are_bounded);
  RUN(fragment_mode_reads_the_fragment);
  RUN(token_request_bodies_are_forms);
  RUN(end_session_url_carries_the_hint_and_the_return);
  RUN(good_id_token_claims_pass_and_are_returned);
  RUN(each_wrong_claim_fails_by_name);
  RUN(exp_fails_at_the_deadline_and_passes_one_ms_before);
  RUN(iat_may_be_ahead_of_our_clock_by_the_skew_only);
  RUN(a_refreshed_id_token_must_name_the_same_user);
  RUN(an_id_token_that_is_not_a_jwt_fails);
  RUN(grant_extras_are_read);
  RUN(unusable_grants_are_refused);
  RUN(token_errors_name_the_oauth_error);
  return CHECK_EXIT_CODE();
}
