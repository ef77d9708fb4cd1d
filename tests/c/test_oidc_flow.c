/* test_oidc_flow.c — whole OpenID flows through the client, with scripted time: discovery,
 * the redirect login, the callback and its one code exchange, refresh with rotation, logout. */
#include "check.h"
#include "client.h"
#include "driver.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

#define T0 1700000000000.0
#define ISSUER "https://id.example"
#define OPTIONS(extra)                                                                             \
  "{\"baseUrl\":\"http://api.test\"," extra "\"oidc\":{\"issuer\":\"" ISSUER                       \
  "\",\"clientId\":\"spa\",\"redirectUri\":\"/callback\",\"postLogoutRedirectUri\":\"/bye\"}}"
#define DOC                                                                                        \
  "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER                                \
  "/auth\",\"token_endpoint\":\"" ISSUER "/token\",\"end_session_endpoint\":\"" ISSUER             \
  "/session/end\",\"revocation_endpoint\":\"" ISSUER                                               \
  "/token/revocation\",\"code_challenge_methods_supported\":[\"S256\"],"                           \
  "\"authorization_response_iss_parameter_supported\":true}"

static unsigned char random_bytes[AG_OIDC_RANDOM_BYTES];

/* ---- helpers ---- */

static const logged *last_send(const driver *d, int kind) {
  return drv_last(d, AG_ACTION_SEND, kind);
}

static void answer_discovery(driver *d, ag_ms now) {
  const logged *s = last_send(d, AG_SEND_DISCOVERY);
  CHECK(s != NULL);
  if (!s) return;
  CHECK_STR_EQ(s->url, ISSUER "/.well-known/openid-configuration");
  CHECK_STR_EQ(s->method, "GET");
  CHECK(s->credentials == AG_CRED_OMIT);
  drv_respond(d, now, s->id, 200, DOC);
}

static uint32_t login_redirect(driver *d, ag_ms now, const char *return_to) {
  uint32_t id = 0;
  for (int i = 0; i < AG_OIDC_RANDOM_BYTES; i++) random_bytes[i] = (unsigned char)(i * 13 + 5);
  CHECK(ag_client_login_redirect(d->c, now, random_bytes, sizeof random_bytes, return_to,
                                 return_to ? strlen(return_to) : 0, NULL, 0, &id) == AG_OK);
  drv_drain(d);
  return id;
}

static uint32_t callback(driver *d, ag_ms now, const char *url, const char *txn) {
  uint32_t id = 0;
  CHECK(ag_client_redirect_callback(d->c, now, url, strlen(url), txn, txn ? strlen(txn) : 0, &id) ==
        AG_OK);
  drv_drain(d);
  return id;
}

static uint32_t logout(driver *d, ag_ms now, int redirect) {
  uint32_t id = 0;
  CHECK(ag_client_logout_redirect(d->c, now, redirect, &id) == AG_OK);
  drv_drain(d);
  return id;
}

/* The value of `name` in a URL's query or a form body (raw), into out. */
static char *param(const char *s, const char *name, char *out, size_t cap) {
  size_t n = strlen(name);
  out[0] = '\0';
  for (const char *p = s; p && *p; p = strpbrk(p, "?&")) {
    if (*p == '?' || *p == '&') p++;
    if (!strncmp(p, name, n) && p[n] == '=') {
      size_t len = strcspn(p + n + 1, "&#");
      if (len >= cap) len = cap - 1;
      memcpy(out, p + n + 1, len);
      out[len] = '\0';
      return out;
    }
  }
  return NULL;
}

static char *jwt_of(const char *payload) {
  ag_buf b = {0};
  ag_buf_puts(&b, "eyJhbGciOiJSUzI1NiJ9.");
  ag_buf_put_base64url(&b, (const unsigned char *)payload, strlen(payload));
  ag_buf_puts(&b, ".c2ln");
  return ag_buf_take(&b);
}

/* A token response with an ID token for `nonce` and `sub`. */
static char body_buf[8192];
static const char *token_body(const char *access, const char *refresh, int expires_in,
                              const char *nonce, const char *sub) {
  char payload[1024], id_part[2048] = "";
  if (sub) {
    snprintf(payload, sizeof payload,
             "{\"iss\":\"" ISSUER "\",\"aud\":\"spa\",\"sub\":\"%s\",\"iat\":1700000000,"
             "\"exp\":1900000000%s%s%s}",
             sub, nonce ? ",\"nonce\":\"" : "", nonce ? nonce : "", nonce ? "\"" : "");
    char *id = jwt_of(payload);
    snprintf(id_part, sizeof id_part, ",\"id_token\":\"%s\"", id);
    ag_free(id);
  }
  snprintf(body_buf, sizeof body_buf,
           "{\"access_token\":\"%s\",\"refresh_token\":\"%s\",\"expires_in\":%d,"
           "\"token_type\":\"Bearer\",\"scope\":\"openid offline_access\"%s}",
           access, refresh, expires_in, id_part);
  return body_buf;
}

typedef struct signed_in {
  char state[64], nonce[64], txn[1024];
} signed_in;

/* loginWithRedirect after discovery: the transaction and the URL's state and nonce. */
static void begin_sign_in(driver *d, ag_ms now, signed_in *s, const char *return_to) {
  uint32_t id = login_redirect(d, now, return_to);
  const logged *nav = drv_for(d, AG_ACTION_NAVIGATE, id);
  const logged *txn = drv_last(d, AG_ACTION_TRANSACTION, -1);
  CHECK(nav && txn && txn->text && drv_for(d, AG_ACTION_RESOLVE, id));
  if (!nav || !txn || !txn->text) return;
  CHECK(nav->code == AG_NAVIGATE_ASSIGN);
  CHECK(!strncmp(nav->text, ISSUER "/auth?response_type=code&", 34));
  param(nav->text, "state", s->state, sizeof s->state);
  param(nav->text, "nonce", s->nonce, sizeof s->nonce);
  snprintf(s->txn, sizeof s->txn, "%s", txn->text);
}

static char url_buf[1024];
static const char *callback_url(const signed_in *s) {
  snprintf(url_buf, sizeof url_buf,
           "http://app.test/callback?code=C1&state=%s&iss=https%%3A%%2F%%2Fid.example&x=1",
           s->state);
  return url_buf;
}

/* Discovery, loginWithRedirect, the callback and the exchange: signed in with A1/R1. */
static void sign_in(driver *d, ag_ms now, int expires_in) {
  signed_in s;
  drv_start(d, now, NULL);
  answer_discovery(d, now);
  begin_sign_in(d, now, &s, "/inbox");
  uint32_t id = callback(d, now, callback_url(&s), s.txn);
  const logged *t = last_send(d, AG_SEND_TOKEN);
  CHECK(t != NULL);
  if (!t) return;
  drv_respond(d, now, t->id, 200, token_body("A1", "R1", expires_in, s.nonce, "u1"));
  CHECK(drv_for(d, AG_ACTION_RESOLVE, id) != NULL);
  CHECK(ag_client_state(d->c) == AG_STATE_AUTHENTICATED);
}

/* ---- discovery ---- */

static void discovery_starts_with_the_client_and_a_stored_session_does_not_wait(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  const char *blob =
      "{\"v\":1,\"type\":\"tokens\",\"gen\":5,\"access\":\"A0\",\"refresh\":\"R0\",\"exp\":"
      "1700003600000}";
  drv_start(&d, T0, blob);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY) == 1);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  uint32_t id = drv_call(&d, T0 + 1, "GET", "/orders", NULL);
  const logged *s = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(s && s->authorization && !strcmp(s->authorization, "Bearer A0"));
  drv_close(&d);
}

static void login_waits_for_discovery_then_navigates(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS); /* readiness does not wait for discovery */
  uint32_t id = login_redirect(&d, T0, "/inbox");
  CHECK(drv_count(&d, AG_ACTION_NAVIGATE, -1) == 0);
  answer_discovery(&d, T0 + 50);
  const logged *txn = drv_last(&d, AG_ACTION_TRANSACTION, -1);
  const logged *nav = drv_for(&d, AG_ACTION_NAVIGATE, id);
  CHECK(txn && txn->text && strstr(txn->text, "\"returnTo\":\"/inbox\""));
  CHECK(nav && nav->text && !strncmp(nav->text, ISSUER "/auth?", strlen(ISSUER) + 6));
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  /* the verifier stays in the transaction, never in the URL */
  char v[64];
  CHECK(txn && param(txn->text, "verifier", v, sizeof v) == NULL);
  drv_close(&d);
}

static void failed_discovery_is_retried_by_the_next_login_and_then_rejected(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  drv_respond(&d, T0, last_send(&d, AG_SEND_DISCOVERY)->id, 503, "down");
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  uint32_t id = login_redirect(&d, T0 + 10, NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY) == 2);
  ag_client_network_error(d.c, T0 + 20, last_send(&d, AG_SEND_DISCOVERY)->id);
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "could not be reached"));
  /* a wrong document is a provider error naming the check */
  id = login_redirect(&d, T0 + 30, NULL);
  drv_respond(&d, T0 + 40, last_send(&d, AG_SEND_DISCOVERY)->id, 200,
              "{\"issuer\":\"https://evil.example\"}");
  r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "issuer"));
  CHECK(drv_count(&d, AG_ACTION_NAVIGATE, -1) == 0);
  drv_close(&d);
}

static void a_login_waiting_on_the_start_up_discovery_gets_one_retry(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  uint32_t id = login_redirect(&d, T0 + 1, NULL);
  drv_respond(&d, T0 + 2, last_send(&d, AG_SEND_DISCOVERY)->id, 503, "");
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY) == 2);
  CHECK(!drv_for(&d, AG_ACTION_REJECT, id));
  drv_respond(&d, T0 + 3, last_send(&d, AG_SEND_DISCOVERY)->id, 503, "");
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "HTTP 503"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY) == 2);
  drv_close(&d);
}

static void login_without_oidc_is_bad_config(void) {
  driver d;
  CHECK(drv_open(&d, "{\"baseUrl\":\"http://api.test\"}") == AG_OK);
  drv_start(&d, T0, NULL);
  uint32_t id = login_redirect(&d, T0, NULL);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_BAD_CONFIG && strstr(r->text, "options.oidc"));
  drv_close(&d);
}

/* ---- the callback ---- */

static void callback_exchanges_the_code_and_adopts_the_tokens(void) {
  driver d;
  signed_in s;
  char v[256];
  CHECK(drv_open(&d, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, "/inbox");
  drv_reset_log(&d);
  uint32_t id = callback(&d, T0 + 1000, callback_url(&s), s.txn);
  const logged *nav = drv_last(&d, AG_ACTION_NAVIGATE, AG_NAVIGATE_REPLACE);
  CHECK(nav && nav->text && !strcmp(nav->text, "http://app.test/callback?x=1"));
  const logged *del = drv_last(&d, AG_ACTION_TRANSACTION, -1);
  CHECK(del && del->text == NULL);
  const logged *t = last_send(&d, AG_SEND_TOKEN);
  CHECK(t && !strcmp(t->url, ISSUER "/token") && !strcmp(t->method, "POST"));
  CHECK(t && !strcmp(t->content_type, "application/x-www-form-urlencoded"));
  CHECK(t && t->credentials == AG_CRED_OMIT && t->authorization == NULL);
  CHECK(t && !strncmp(t->body,
                      "grant_type=authorization_code&code=C1&redirect_uri=http%3A%2F%2F"
                      "app.test%2Fcallback&code_verifier=",
                      87));
  CHECK(t && param(t->body, "client_id", v, sizeof v) && !strcmp(v, "spa"));
  CHECK(t && param(t->body, "code_verifier", v, sizeof v) && strlen(v) == 43);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);

  /* a protected call made meanwhile waits for the sign-in */
  uint32_t waiting = drv_call(&d, T0 + 1100, "GET", "/orders", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, waiting) == NULL &&
        drv_for(&d, AG_ACTION_REJECT, waiting) == NULL);
  drv_respond(&d, T0 + 1200, t->id, 200, token_body("A1", "R1", 300, s.nonce, "u1"));
  const logged *ok = drv_for(&d, AG_ACTION_RESOLVE, id);
  CHECK(ok && ok->text && !strcmp(ok->text, "{\"returnTo\":\"/inbox\"}"));
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  const logged *sent = drv_for(&d, AG_ACTION_SEND, waiting);
  CHECK(sent && !strcmp(sent->authorization, "Bearer A1"));
  const logged *persist = drv_last(&d, AG_ACTION_PERSIST, -1);
  CHECK(persist && strstr(persist->text, "\"refresh\":\"R1\"") &&
        strstr(persist->text, "\"id\":\""));
  drv_close(&d);
}

static void a_second_callback_joins_the_first_and_nothing_is_sent_twice(void) {
  driver d;
  signed_in s;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  const char *url = callback_url(&s);
  char first_url[1024];
  snprintf(first_url, sizeof first_url, "%s", url);
  uint32_t a = callback(&d, T0 + 1, first_url, s.txn);
  uint32_t b = callback(&d, T0 + 2, first_url, s.txn); /* StrictMode: the same URL again */
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 1);
  CHECK(!drv_for(&d, AG_ACTION_RESOLVE, b) && !drv_for(&d, AG_ACTION_REJECT, b));
  drv_respond(&d, T0 + 3, last_send(&d, AG_SEND_TOKEN)->id, 200,
              token_body("A1", "R1", 300, s.nonce, "u1"));
  const logged *ra = drv_for(&d, AG_ACTION_RESOLVE, a), *rb = drv_for(&d, AG_ACTION_RESOLVE, b);
  CHECK(ra && rb && !strcmp(ra->text, "{\"returnTo\":null}") && !strcmp(rb->text, ra->text));
  /* after it settled: with the cleaned address bar, or with no URL, the same answer at once */
  uint32_t c1 = callback(&d, T0 + 4, "http://app.test/callback?x=1", NULL);
  uint32_t c2 = callback(&d, T0 + 5, "", NULL);
  uint32_t c3 = callback(&d, T0 + 6, first_url, NULL);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, c1) && drv_for(&d, AG_ACTION_RESOLVE, c2) &&
        drv_for(&d, AG_ACTION_RESOLVE, c3));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 1);
  drv_close(&d);
}

static void a_replayed_callback_is_login_required_and_sends_nothing(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  uint32_t a = callback(&d, T0, "http://app.test/callback?code=C1&state=S", NULL);
  uint32_t b = callback(&d, T0, "http://app.test/callback?code=C1&state=S", NULL);
  const logged *ra = drv_for(&d, AG_ACTION_REJECT, a), *rb = drv_for(&d, AG_ACTION_REJECT, b);
  CHECK(ra && ra->code == AG_CODE_LOGIN_REQUIRED && strstr(ra->text, "no sign-in is under way"));
  CHECK(rb && rb->code == ra->code && !strcmp(rb->text, ra->text));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 0);
  drv_close(&d);
}

static void a_tampered_state_is_refused_before_any_exchange(void) {
  driver d;
  signed_in s;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  uint32_t a = callback(&d, T0, "http://app.test/callback?code=C1&state=forged&iss=" ISSUER, s.txn);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_LOGIN_REQUIRED && strstr(r->text, "state does not match"));
  /* the message names the method and the page, never the code */
  CHECK(r && !strncmp(r->text, "handleRedirectCallback(http://app.test/callback): ", 50));
  CHECK(r && !strstr(r->text, "C1"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 0);
  drv_close(&d);
}

static void provider_errors_in_the_callback_keep_their_description(void) {
  driver d;
  signed_in s;
  char url[512];
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  snprintf(url, sizeof url,
           "http://app.test/callback?error=access_denied&error_description=User+cancelled"
           "&state=%s&iss=https%%3A%%2F%%2Fid.example",
           s.state);
  uint32_t a = callback(&d, T0, url, s.txn);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_LOGIN_REQUIRED && strstr(r->text, "User cancelled"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 0);
  drv_close(&d);
}

static void an_id_token_failing_a_check_adopts_nothing(void) {
  driver d;
  signed_in s;
  CHECK(drv_open(&d, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  uint32_t a = callback(&d, T0, callback_url(&s), s.txn);
  drv_respond(&d, T0, last_send(&d, AG_SEND_TOKEN)->id, 200,
              token_body("A1", "R1", 300, "wrong-nonce", "u1"));
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "nonce"));
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  CHECK(drv_count(&d, AG_ACTION_PERSIST, -1) == 0);
  drv_close(&d);
}

static void a_refused_code_exchange_names_the_oauth_error(void) {
  driver d;
  signed_in s;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  uint32_t a = callback(&d, T0, callback_url(&s), s.txn);
  drv_respond(&d, T0, last_send(&d, AG_SEND_TOKEN)->id, 400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}");
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR &&
        strstr(r->text, "400 invalid_grant: grant request is invalid"));
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void a_callback_before_discovery_waits_for_it(void) {
  driver d;
  signed_in s;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  drv_close(&d);
  /* the page came back: a new client, discovery not answered yet */
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0 + 5000, NULL);
  uint32_t a = callback(&d, T0 + 5001, callback_url(&s), s.txn);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 0);
  answer_discovery(&d, T0 + 5100);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 1);
  drv_respond(&d, T0 + 5200, last_send(&d, AG_SEND_TOKEN)->id, 200,
              token_body("A1", "R1", 300, s.nonce, "u1"));
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, a) != NULL);
  drv_close(&d);
}

static void a_callback_without_iss_fails_once_discovery_says_it_is_sent(void) {
  driver d;
  signed_in s;
  char url[512];
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  drv_close(&d);
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0 + 5000, NULL);
  snprintf(url, sizeof url, "http://app.test/callback?code=C1&state=%s", s.state);
  uint32_t a = callback(&d, T0 + 5001, url, s.txn);
  answer_discovery(&d, T0 + 5100); /* authorization_response_iss_parameter_supported: true */
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "RFC 9207"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_TOKEN) == 0);
  drv_close(&d);
}

static void the_session_carries_the_id_tokens_claims_scope_and_type(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  CHECK_STR_EQ(ag_client_session(d.c), "null");
  drv_close(&d);
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  sign_in(&d, T0, 300);
  /* What the app reads (gate.session): the ID token's claims, the granted scope, the type. */
  const char *session = ag_client_session(d.c);
  CHECK(session && strstr(session, "\"aud\":\"spa\"") && strstr(session, "\"sub\":\"u1\""));
  CHECK(session && strstr(session, "\"iss\":\"" ISSUER "\""));
  CHECK(session && strstr(session, "\"scope\":\"openid offline_access\""));
  CHECK(session && strstr(session, "\"tokenType\":\"Bearer\""));
  CHECK(session && !strstr(session, "A1") && !strstr(session, "R1")); /* never a token */
  logout(&d, T0 + 1, 0);
  CHECK_STR_EQ(ag_client_session(d.c), "null");
  drv_close(&d);
}

/* The token response's body without its `scope` member (RFC 6749 5.1: it may leave it out). */
static const char *without_scope(const char *body) {
  static char out[sizeof body_buf];
  const char *at = strstr(body, ",\"scope\":\"openid offline_access\"");
  size_t head = at ? (size_t)(at - body) : strlen(body);
  snprintf(out, sizeof out, "%.*s%s", (int)head, body,
           at ? at + strlen(",\"scope\":\"openid offline_access\"") : "");
  return out;
}

/*
 * RFC 6749 5.1: a token response without `scope` granted the scope asked for.
 * The code exchange's session shows the scope of the authorization request, a
 * refresh without `scope` keeps the scope held, and one with `scope` replaces it.
 */
static void a_token_response_without_scope_grants_the_scope_asked_for(void) {
  driver d;
  signed_in s;
  CHECK(drv_open(
            &d, "{\"baseUrl\":\"http://api.test\",\"crossTab\":false,\"oidc\":{\"issuer\":\"" ISSUER
                "\",\"clientId\":\"spa\",\"redirectUri\":\"/callback\","
                "\"scope\":\"openid profile offline_access\"}}") == AG_OK);
  drv_start(&d, T0, NULL);
  answer_discovery(&d, T0);
  begin_sign_in(&d, T0, &s, NULL);
  const logged *nav = drv_last(&d, AG_ACTION_NAVIGATE, -1);
  CHECK(nav && strstr(nav->text, "&scope=openid+profile+offline_access&"));
  callback(&d, T0, callback_url(&s), s.txn);
  const logged *t = last_send(&d, AG_SEND_TOKEN);
  CHECK(t != NULL);
  if (!t) return drv_close(&d);
  const char *body = without_scope(token_body("A1", "R1", 60, s.nonce, "u1"));
  CHECK(!strstr(body, "scope"));
  drv_respond(&d, T0, t->id, 200, body);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  const logged *session = drv_last(&d, AG_ACTION_SESSION, -1);
  CHECK(session && strstr(session->text, "\"scope\":\"openid profile offline_access\""));

  /* A refresh that says nothing about scope: the scope held stays. */
  drv_tick(&d, T0 + 60000);
  const logged *r = last_send(&d, AG_SEND_REFRESH);
  CHECK(r != NULL);
  if (!r) return drv_close(&d);
  drv_respond(&d, T0 + 60001, r->id, 200, without_scope(token_body("A2", "R2", 60, NULL, NULL)));
  CHECK(strstr(ag_client_session(d.c), "\"scope\":\"openid profile offline_access\""));

  /* One that names a scope: that is the scope now. */
  drv_tick(&d, T0 + 120001);
  r = last_send(&d, AG_SEND_REFRESH);
  CHECK(r != NULL);
  if (!r) return drv_close(&d);
  drv_respond(&d, T0 + 120002, r->id, 200, token_body("A3", "R3", 60, NULL, NULL));
  CHECK(strstr(ag_client_session(d.c), "\"scope\":\"openid offline_access\""));
  drv_close(&d);
}

/* ---- refresh ---- */

static void refresh_uses_the_grant_and_never_presents_a_token_twice(void) {
  driver d;
  char v[64];
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  sign_in(&d, T0, 60);
  drv_reset_log(&d);
  /* 20 calls on an expired token: one refresh */
  uint32_t ids[20];
  for (int i = 0; i < 20; i++) ids[i] = drv_call(&d, T0 + 61000, "GET", "/orders", NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  const logged *r = last_send(&d, AG_SEND_REFRESH);
  CHECK(r && !strcmp(r->url, ISSUER "/token") && r->credentials == AG_CRED_OMIT);
  CHECK(r && !strcmp(r->body, "grant_type=refresh_token&refresh_token=R1&client_id=spa"));
  drv_respond(&d, T0 + 61100, r->id, 200, token_body("A2", "R2", 60, NULL, NULL));
  for (int i = 0; i < 20; i++) {
    const logged *s = drv_for(&d, AG_ACTION_SEND, ids[i]);
    CHECK(s && !strcmp(s->authorization, "Bearer A2"));
  }
  /* the next refresh presents the rotated token; R1 never again */
  drv_tick(&d, T0 + 200000);
  r = last_send(&d, AG_SEND_REFRESH);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 2);
  CHECK(r && param(r->body, "refresh_token", v, sizeof v) && !strcmp(v, "R2"));
  drv_close(&d);
}

static void refresh_invalid_grant_ends_the_session(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  sign_in(&d, T0, 60);
  uint32_t waiting = drv_call(&d, T0 + 61000, "GET", "/orders", NULL);
  drv_respond(&d, T0 + 61100, last_send(&d, AG_SEND_REFRESH)->id, 400,
              "{\"error\":\"invalid_grant\"}");
  const logged *r = drv_for(&d, AG_ACTION_REJECT, waiting);
  CHECK(r && r->code == AG_CODE_SESSION_EXPIRED);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void other_refresh_refusals_are_provider_errors_and_not_retried(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  sign_in(&d, T0, 60);
  uint32_t waiting = drv_call(&d, T0 + 61000, "GET", "/orders", NULL);
  drv_respond(&d, T0 + 61100, last_send(&d, AG_SEND_REFRESH)->id, 401,
              "{\"error\":\"invalid_client\",\"error_description\":\"client is disabled\"}");
  const logged *r = drv_for(&d, AG_ACTION_REJECT, waiting);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "invalid_client: client is"));
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_tick(&d, T0 + 600000);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_close(&d);
}

static void a_server_error_on_refresh_backs_off_and_retries(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  sign_in(&d, T0, 60);
  drv_tick(&d, T0 + 30000); /* due: half the lifetime before expiry */
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_respond(&d, T0 + 30100, last_send(&d, AG_SEND_REFRESH)->id, 503, "");
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  drv_tick(&d, ag_client_next_deadline(d.c));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 2);
  drv_close(&d);
}

static void a_refreshed_id_token_for_another_user_ends_the_session(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  sign_in(&d, T0, 60);
  uint32_t waiting = drv_call(&d, T0 + 61000, "GET", "/orders", NULL);
  drv_respond(&d, T0 + 61100, last_send(&d, AG_SEND_REFRESH)->id, 200,
              token_body("A2", "R2", 60, NULL, "someone-else"));
  const logged *r = drv_for(&d, AG_ACTION_REJECT, waiting);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "sub"));
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void refresh_waits_for_discovery_and_fails_when_it_fails_again(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"storage\":\"local\",\"crossTab\":false,")) == AG_OK);
  const char *blob = "{\"v\":1,\"type\":\"tokens\",\"gen\":5,\"access\":\"A0\",\"refresh\":\"R0\","
                     "\"exp\":1700000060000}";
  drv_start(&d, T0, blob);
  ag_client_network_error(d.c, T0 + 5, last_send(&d, AG_SEND_DISCOVERY)->id);
  drv_drain(&d);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED); /* the stored session still serves */
  uint32_t ok = drv_call(&d, T0 + 10, "GET", "/orders", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, ok) != NULL);
  uint32_t late = drv_call(&d, T0 + 61000, "GET", "/orders", NULL); /* expired: needs a refresh */
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY) == 2);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  drv_respond(&d, T0 + 61010, last_send(&d, AG_SEND_DISCOVERY)->id, 500, "");
  const logged *r = drv_for(&d, AG_ACTION_REJECT, late);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "discovery"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  /* once discovery works, the refresh goes to the token endpoint */
  uint32_t again = drv_call(&d, T0 + 90000, "GET", "/orders", NULL);
  drv_tick(&d, T0 + 90000);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY) == 3);
  answer_discovery(&d, T0 + 90010);
  const logged *rf = last_send(&d, AG_SEND_REFRESH);
  CHECK(rf && !strcmp(rf->body, "grant_type=refresh_token&refresh_token=R0&client_id=spa"));
  CHECK(drv_for(&d, AG_ACTION_SEND, again) == NULL); /* it waits for that refresh */
  drv_close(&d);
}

static void two_tabs_on_an_expired_token_refresh_once_with_the_rotated_token(void) {
  driver *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  CHECK(drv_open(a, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  sign_in(a, T0, 60);
  const logged *stored = drv_last(a, AG_ACTION_PERSIST, -1);
  char blob[4096];
  snprintf(blob, sizeof blob, "%s", stored ? stored->text : "");
  CHECK(drv_open(b, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  drv_start(b, T0 + 10, blob); /* the second tab reads the stored session */
  answer_discovery(b, T0 + 10);
  CHECK(ag_client_state(b->c) == AG_STATE_AUTHENTICATED);
  drv_reset_log(a);
  drv_reset_log(b);
  uint32_t ca = drv_call(a, T0 + 61000, "GET", "/orders", NULL);
  uint32_t cb = drv_call(b, T0 + 61000, "GET", "/orders", NULL);
  CHECK(drv_count(a, AG_ACTION_LOCK, -1) == 1 && drv_count(b, AG_ACTION_LOCK, -1) == 1);
  ag_client_lock_granted(a->c, T0 + 61001, blob, strlen(blob), 0); /* tab A holds the lock first */
  drv_drain(a);
  const logged *r = last_send(a, AG_SEND_REFRESH);
  CHECK(r && strstr(r->body, "refresh_token=R1"));
  drv_respond(a, T0 + 61100, r->id, 200, token_body("A2", "R2", 60, NULL, "u1"));
  const logged *rotated = drv_last(a, AG_ACTION_PERSIST, -1);
  CHECK(rotated && strstr(rotated->text, "\"refresh\":\"R2\"") &&
        drv_count(a, AG_ACTION_UNLOCK, -1) == 1);
  /* tab B gets the lock next, with what storage holds now: it adopts, and sends nothing */
  ag_client_lock_granted(b->c, T0 + 61101, rotated->text, strlen(rotated->text), 0);
  drv_drain(b);
  CHECK(drv_count(b, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  const logged *sa = drv_for(a, AG_ACTION_SEND, ca), *sb = drv_for(b, AG_ACTION_SEND, cb);
  CHECK(sa && sb && !strcmp(sa->authorization, "Bearer A2") &&
        !strcmp(sb->authorization, "Bearer A2"));
  drv_close(a);
  drv_close(b);
  free(a);
  free(b);
}

static void a_tab_that_read_the_session_checks_the_refreshed_users_too(void) {
  driver *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  CHECK(drv_open(a, OPTIONS("\"storage\":\"local\",\"crossTab\":false,")) == AG_OK);
  sign_in(a, T0, 60);
  const logged *stored = drv_last(a, AG_ACTION_PERSIST, -1);
  CHECK(stored && strstr(stored->text, "\"id\":"));
  CHECK(drv_open(b, OPTIONS("\"storage\":\"local\",\"crossTab\":false,")) == AG_OK);
  drv_start(b, T0 + 10, stored ? stored->text : NULL);
  answer_discovery(b, T0 + 10);
  uint32_t waiting = drv_call(b, T0 + 61000, "GET", "/orders", NULL);
  drv_respond(b, T0 + 61100, last_send(b, AG_SEND_REFRESH)->id, 200,
              token_body("A2", "R2", 60, NULL, "mallory"));
  const logged *r = drv_for(b, AG_ACTION_REJECT, waiting);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "sub is not the signed-in"));
  drv_close(a);
  drv_close(b);
  free(a);
  free(b);
}

/* ---- logout ---- */

static void logout_revokes_then_goes_to_the_end_session_endpoint(void) {
  driver d;
  char v[2048];
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  sign_in(&d, T0, 300);
  drv_reset_log(&d);
  uint32_t id = logout(&d, T0 + 1000, 1);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  CHECK(drv_count(&d, AG_ACTION_BROADCAST, -1) == 1); /* every tab forgets the tokens */
  const logged *rv = last_send(&d, AG_SEND_REVOKE);
  CHECK(rv && !strcmp(rv->url, ISSUER "/token/revocation"));
  CHECK(rv && !strcmp(rv->body, "token=R1&token_type_hint=refresh_token&client_id=spa"));
  CHECK(drv_count(&d, AG_ACTION_NAVIGATE, -1) == 0 && !drv_for(&d, AG_ACTION_RESOLVE, id));
  drv_respond(&d, T0 + 1100, rv->id, 200, "");
  const logged *nav = drv_for(&d, AG_ACTION_NAVIGATE, id);
  CHECK(nav && nav->code == AG_NAVIGATE_ASSIGN &&
        !strncmp(nav->text, ISSUER "/session/end?id_token_hint=eyJ", strlen(ISSUER) + 29));
  CHECK(nav && param(nav->text, "post_logout_redirect_uri", v, sizeof v) &&
        !strcmp(v, "http%3A%2F%2Fapp.test%2Fbye"));
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  drv_close(&d);
}

static void logout_waits_two_seconds_at_most_for_the_revocation(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  sign_in(&d, T0, 300);
  uint32_t id = logout(&d, T0 + 1000, 1);
  CHECK(ag_client_next_deadline(d.c) == T0 + 3000);
  drv_tick(&d, T0 + 2999);
  CHECK(!drv_for(&d, AG_ACTION_NAVIGATE, id));
  drv_tick(&d, T0 + 3000);
  CHECK(drv_for(&d, AG_ACTION_NAVIGATE, id) && drv_for(&d, AG_ACTION_RESOLVE, id));
  /* the late answer changes nothing */
  CHECK(ag_client_response(d.c, T0 + 4000, last_send(&d, AG_SEND_REVOKE)->id, 200, "", 0) ==
        AG_ERR_INVALID);
  drv_close(&d);
}

static void logout_without_redirect_stays_on_the_page(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  sign_in(&d, T0, 300);
  uint32_t id = logout(&d, T0 + 1000, 0);
  ag_client_network_error(d.c, T0 + 1001, last_send(&d, AG_SEND_REVOKE)->id);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_NAVIGATE, AG_NAVIGATE_ASSIGN) == 1); /* the login's only */
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  drv_close(&d);
}

/* ---- allocation failure ---- */

static long budget; /* allocations left before failing; < 0: never fail */

static void *failing_malloc(size_t n) {
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return malloc(n);
}

typedef struct seen {
  uint32_t discovery, token, refresh, revoke;
  char txn[1024], state[64], nonce[64];
} seen;

/*
 * Drains actions, keeping what the next step needs, and checks the promise
 * that holds whatever allocation fails: an app call (every path is protected
 * here) never leaves without "Bearer <token>".
 */
static void take(ag_client *c, seen *s) {
  ag_action a;
  while (ag_client_next_action(c, &a)) {
    if (a.type == AG_ACTION_SEND && a.code == AG_SEND_CALL)
      CHECK(a.authorization && !strncmp(a.authorization, "Bearer ", 7) && a.authorization[7]);
    if (a.type == AG_ACTION_SEND && a.code == AG_SEND_DISCOVERY) s->discovery = a.id;
    if (a.type == AG_ACTION_SEND && a.code == AG_SEND_TOKEN) s->token = a.id;
    if (a.type == AG_ACTION_SEND && a.code == AG_SEND_REFRESH) s->refresh = a.id;
    if (a.type == AG_ACTION_SEND && a.code == AG_SEND_REVOKE) s->revoke = a.id;
    if (a.type == AG_ACTION_TRANSACTION && a.text && a.text_len < sizeof s->txn)
      memcpy(s->txn, a.text, a.text_len), s->txn[a.text_len] = '\0';
    if (a.type == AG_ACTION_NAVIGATE && a.code == AG_NAVIGATE_ASSIGN && a.text &&
        strstr(a.text, "/auth?")) {
      param(a.text, "state", s->state, sizeof s->state);
      param(a.text, "nonce", s->nonce, sizeof s->nonce);
    }
  }
}

/* A whole OpenID session, results ignored: only crashes and leaks count here. */
static void oidc_session(void) {
  ag_client *c = NULL;
  seen s;
  memset(&s, 0, sizeof s);
  const char *o = OPTIONS("\"storage\":\"local\",");
  if (ag_client_new(&c, o, strlen(o), "http://app.test", 15, NULL, 0) != AG_OK) return;
  uint32_t id;
  ag_client_start(c, T0, NULL, 0);
  take(c, &s);
  ag_client_response(c, T0, s.discovery, 200, DOC, strlen(DOC));
  take(c, &s);
  ag_client_login_redirect(c, T0, random_bytes, sizeof random_bytes, "/x", 2, "{\"a\":\"b\"}", 9,
                           &id);
  take(c, &s);
  signed_in si;
  snprintf(si.state, sizeof si.state, "%s", s.state);
  const char *url = callback_url(&si);
  ag_client_redirect_callback(c, T0, url, strlen(url), s.txn, strlen(s.txn), &id);
  ag_client_redirect_callback(c, T0, url, strlen(url), s.txn, strlen(s.txn), &id);
  take(c, &s);
  const char *body = token_body("A1", "R1", 60, s.nonce, "u1");
  ag_client_response(c, T0, s.token, 200, body, strlen(body));
  take(c, &s);
  ag_client_call(c, T0 + 61000, "GET", 3, "/a", 2, NULL, 0, AG_CRED_UNSET, &id);
  take(c, &s);
  ag_client_lock_granted(c, T0 + 61000, NULL, 0, 0);
  take(c, &s);
  body = token_body("A2", "R2", 60, NULL, "u1");
  ag_client_response(c, T0 + 61001, s.refresh, 200, body, strlen(body));
  take(c, &s);
  ag_client_logout_redirect(c, T0 + 61002, 1, &id);
  take(c, &s);
  ag_client_response(c, T0 + 61003, s.revoke, 200, "", 0);
  ag_client_tick(c, T0 + 70000);
  take(c, &s);
  ag_client_free(c);
}

static void every_allocation_of_an_oidc_session_may_fail(void) {
  long base = ag_live_allocations(), runs = 0;
  for (int i = 0; i < AG_OIDC_RANDOM_BYTES; i++) random_bytes[i] = (unsigned char)(i * 13 + 5);
  ag_set_allocator(failing_malloc, free);
  for (budget = 0;; budget = budget + 1) {
    long n = budget;
    oidc_session();
    runs++;
    CHECK(ag_live_allocations() == base);
    if (ag_live_allocations() != base) {
      fprintf(stderr, "  leak with allocation %ld failing\n", n);
      break;
    }
    if (budget > 0) break; /* the session needed fewer allocations than allowed: all covered */
    budget = n;
  }
  ag_set_allocator(NULL, NULL);
  CHECK(runs > 300); /* the whole session was reached: sign-in, refresh and logout allocate */
}

int main(void) {
  RUN(discovery_starts_with_the_client_and_a_stored_session_does_not_wait);
  RUN(login_waits_for_discovery_then_navigates);
  RUN(failed_discovery_is_retried_by_the_next_login_and_then_rejected);
  RUN(a_login_waiting_on_the_start_up_discovery_gets_one_retry);
  RUN(login_without_oidc_is_bad_config);
  RUN(callback_exchanges_the_code_and_adopts_the_tokens);
  RUN(a_second_callback_joins_the_first_and_nothing_is_sent_twice);
  RUN(a_replayed_callback_is_login_required_and_sends_nothing);
  RUN(a_tampered_state_is_refused_before_any_exchange);
  RUN(provider_errors_in_the_callback_keep_their_description);
  RUN(an_id_token_failing_a_check_adopts_nothing);
  RUN(a_refused_code_exchange_names_the_oauth_error);
  RUN(a_callback_before_discovery_waits_for_it);
  RUN(a_callback_without_iss_fails_once_discovery_says_it_is_sent);
  RUN(the_session_carries_the_id_tokens_claims_scope_and_type);
  RUN(a_token_response_without_scope_grants_the_scope_asked_for);
  RUN(refresh_uses_the_grant_and_never_presents_a_token_twice);
  RUN(refresh_invalid_grant_ends_the_session);
  RUN(other_refresh_refusals_are_provider_errors_and_not_retried);
  RUN(a_server_error_on_refresh_backs_off_and_retries);
  RUN(a_refreshed_id_token_for_another_user_ends_the_session);
  RUN(refresh_waits_for_discovery_and_fails_when_it_fails_again);
  RUN(two_tabs_on_an_expired_token_refresh_once_with_the_rotated_token);
  RUN(a_tab_that_read_the_session_checks_the_refreshed_users_too);
  RUN(logout_revokes_then_goes_to_the_end_session_endpoint);
  RUN(logout_waits_two_seconds_at_most_for_the_revocation);
  RUN(logout_without_redirect_stays_on_the_page);
  RUN(every_allocation_of_an_oidc_session_may_fail);
  return CHECK_EXIT_CODE();
}
