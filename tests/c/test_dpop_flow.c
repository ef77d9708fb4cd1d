/*
 * test_dpop_flow.c — DPoP through the client, with scripted time: every
 * request that needs a proof is signed before it leaves (SIGN, then SEND
 * with the proof), dpop_jkt in the authorization request, Authorization:
 * DPoP on app calls, the nonce retry exactly once per request sent (at the
 * provider and at the API), getDpopProof, and what a missing key or a bad
 * signature does.
 */
#include "check.h"
#include "driver.h"
#include "internal.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>

#define T0 1700000000000.0
#define ISSUER "https://id.example"
#define OPTIONS(extra)                                                                             \
  "{\"baseUrl\":\"http://api.test\"," extra "\"dpop\":true,\"oidc\":{\"issuer\":\"" ISSUER         \
  "\",\"clientId\":\"spa\",\"redirectUri\":\"/callback\"}}"
#define DOC                                                                                        \
  "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER                                \
  "/auth\",\"token_endpoint\":\"" ISSUER "/token\",\"revocation_endpoint\":\"" ISSUER              \
  "/token/revocation\",\"code_challenge_methods_supported\":[\"S256\"]}"
#define EC_X "s553p1rtiUjPv-w8J3ZalfA-JcEPehOuE6K-oNh9dYI"
#define EC_Y "ConlYlE6BGsBCAZuH2WNuJH1RP_fgVXA7j5mO5XbbGs"
#define EC_JKT "YA1Il3Dtti4foHVTu6k-HrhZMruySvCcXXppFmGRQHM" /* computed with Node's crypto */
static const char public_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\",\"ext\":true}";
static const char nonce_challenge[] = "DPoP error=\"use_dpop_nonce\", error_description=\"nonce\"";

static unsigned char seed[AG_DPOP_SEED_BYTES], sig[64];

/* oidc_flow.c (client.h, whose `call` type these tests' names would shadow) */
const char *ag_oidc_session_token_type(const ag_client *c);

/* ---- helpers ---- */

static void give_key(driver *d) {
  for (int i = 0; i < AG_DPOP_SEED_BYTES; i++) seed[i] = (unsigned char)(i * 7 + 3);
  CHECK(ag_client_dpop_key(d->c, T0, public_jwk, sizeof public_jwk - 1, seed, sizeof seed) ==
        AG_OK);
}

/* Answers the SIGN of request `id` (the last SIGN when id is 0) with a 64-byte signature. */
static uint32_t sign(driver *d, ag_ms now, uint32_t id) {
  const logged *s = id ? drv_for(d, AG_ACTION_SIGN, id) : drv_last(d, AG_ACTION_SIGN, -1);
  CHECK(s != NULL);
  if (!s) return 0;
  id = s->id;
  for (int i = 0; i < 64; i++) sig[i] = (unsigned char)(200 - i);
  CHECK(ag_client_dpop_signature(d->c, now, id, sig, sizeof sig) == AG_OK);
  drv_drain(d);
  return id;
}

static void headers(driver *d, uint32_t id, const char *nonce, const char *www) {
  CHECK(ag_client_response_headers(d->c, id, nonce, nonce ? strlen(nonce) : 0, www,
                                   www ? strlen(www) : 0) == AG_OK);
}

/* The decoded payload (part 1) of a proof or signing input. */
static cJSON *payload_of(const char *jws) {
  const char *p = jws ? strchr(jws, '.') : NULL;
  if (!p) return NULL;
  p++;
  const char *end = strchr(p, '.');
  size_t n = end ? (size_t)(end - p) : strlen(p), len = 0;
  unsigned char *raw = ag_base64url_decode(p, n, &len);
  cJSON *root = raw ? cJSON_ParseWithLength((const char *)raw, len) : NULL;
  ag_free(raw);
  return root;
}

static bool claim_is(const char *jws, const char *name, const char *want) {
  cJSON *p = payload_of(jws);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);
  bool ok = want ? cJSON_IsString(v) && !strcmp(v->valuestring, want) : v == NULL;
  cJSON_Delete(p);
  return ok;
}

static const char *token_body(const char *access, const char *token_type, const char *nonce) {
  static char body[4096];
  char claims[512];
  snprintf(claims, sizeof claims,
           "{\"iss\":\"" ISSUER "\",\"aud\":\"spa\",\"sub\":\"u1\",\"iat\":1700000000,"
           "\"exp\":1900000000%s%s%s}",
           nonce ? ",\"nonce\":\"" : "", nonce ? nonce : "", nonce ? "\"" : "");
  ag_buf b = {0};
  ag_buf_put_base64url(&b, (const unsigned char *)claims, strlen(claims));
  char *part = ag_buf_take(&b);
  snprintf(body, sizeof body,
           "{\"access_token\":\"%s\",\"refresh_token\":\"R-%s\",\"expires_in\":300,"
           "\"token_type\":\"%s\",\"id_token\":\"eyJhbGciOiJFUzI1NiJ9.%s.c2ln\"}",
           access, access, token_type, part ? part : "");
  ag_free(part);
  return body;
}

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

typedef struct login {
  char state[64], nonce[64], txn[1024], url[1024];
} login;

/* Start, discovery, loginWithRedirect and the callback, up to the exchange's SIGN. */
static uint32_t exchange_pending(driver *d, login *l) {
  drv_start(d, T0, NULL);
  const logged *disc = drv_last(d, AG_ACTION_SEND, AG_SEND_DISCOVERY);
  CHECK(disc && disc->dpop == NULL); /* discovery carries no proof */
  if (!disc) return 0;
  drv_respond(d, T0, disc->id, 200, DOC);
  unsigned char random[AG_OIDC_RANDOM_BYTES] = {1};
  uint32_t id = 0;
  CHECK(ag_client_login_redirect(d->c, T0, random, sizeof random, NULL, 0, NULL, 0, &id) == AG_OK);
  drv_drain(d);
  const logged *nav = drv_for(d, AG_ACTION_NAVIGATE, id);
  const logged *txn = drv_last(d, AG_ACTION_TRANSACTION, -1);
  CHECK(nav && txn && txn->text);
  if (!nav || !txn || !txn->text) return 0;
  snprintf(l->url, sizeof l->url, "%s", nav->text);
  param(nav->text, "state", l->state, sizeof l->state);
  param(nav->text, "nonce", l->nonce, sizeof l->nonce);
  snprintf(l->txn, sizeof l->txn, "%s", txn->text);
  char cb[512];
  snprintf(cb, sizeof cb, "http://app.test/callback?code=C1&state=%s", l->state);
  CHECK(ag_client_redirect_callback(d->c, T0, cb, strlen(cb), l->txn, strlen(l->txn), &id) ==
        AG_OK);
  drv_drain(d);
  CHECK(drv_count(d, AG_ACTION_SEND, AG_SEND_TOKEN) == 0); /* not before its proof is signed */
  return id;
}

/* Signed in with A1 (token_type DPoP). */
static void sign_in(driver *d) {
  login l;
  uint32_t cb = exchange_pending(d, &l);
  sign(d, T0, 0);
  const logged *t = drv_last(d, AG_ACTION_SEND, AG_SEND_TOKEN);
  CHECK(t != NULL);
  if (!t) return;
  drv_respond(d, T0 + 1, t->id, 200, token_body("A1", "DPoP", l.nonce));
  CHECK(drv_for(d, AG_ACTION_RESOLVE, cb) != NULL);
  CHECK(ag_client_state(d->c) == AG_STATE_AUTHENTICATED);
  const char *session = ag_client_session(d->c); /* what the app reads */
  CHECK(session && strstr(session, "\"tokenType\":\"DPoP\""));
}

static int sends_of(const driver *d, uint32_t id) {
  int n = 0;
  for (int i = 0; i < d->n; i++)
    if (d->log[i].type == AG_ACTION_SEND && d->log[i].id == id) n++;
  return n;
}

/* ---- options and the key ---- */

static void dpop_needs_oidc_and_a_boolean(void) {
  ag_client *c = NULL;
  char err[256];
  const char *no_oidc = "{\"baseUrl\":\"http://api.test\",\"dpop\":true}";
  CHECK(ag_client_new(&c, no_oidc, strlen(no_oidc), PAGE, strlen(PAGE), err, sizeof err) ==
        AG_ERR_BAD_CONFIG);
  CHECK(strstr(err, "dpop") && strstr(err, "oidc"));
  const char *not_bool = OPTIONS("\"dpop\":1,");
  CHECK(ag_client_new(&c, not_bool, strlen(not_bool), PAGE, strlen(PAGE), err, sizeof err) ==
        AG_ERR_BAD_CONFIG);
  CHECK(c == NULL);
}

static void the_key_must_be_public_p256_with_enough_seed_bytes(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  static const char with_d[] =
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\",\"d\":\"" EC_X "\"}";
  CHECK(ag_client_dpop_key(d.c, T0, with_d, sizeof with_d - 1, seed, sizeof seed) ==
        AG_ERR_INVALID);
  CHECK(ag_client_dpop_key(d.c, T0, public_jwk, sizeof public_jwk - 1, seed, 16) == AG_ERR_INVALID);
  drv_close(&d);
  /* Without options.dpop there is no key to give. */
  CHECK(drv_open(&d, "{\"baseUrl\":\"http://api.test\"}") == AG_OK);
  CHECK(ag_client_dpop_key(d.c, T0, public_jwk, sizeof public_jwk - 1, seed, sizeof seed) ==
        AG_ERR_INVALID);
  drv_close(&d);
}

/* ---- the provider ---- */

static void the_authorization_request_carries_the_keys_thumbprint(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  login l;
  exchange_pending(&d, &l);
  char jkt[64];
  CHECK(param(l.url, "dpop_jkt", jkt, sizeof jkt) != NULL);
  CHECK_STR_EQ(jkt, EC_JKT);
  drv_close(&d);
}

static void the_key_is_asked_for_when_a_login_needs_it(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  drv_respond(&d, T0, drv_last(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY)->id, 200, DOC);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 0); /* nothing needed it yet */
  unsigned char random[AG_OIDC_RANDOM_BYTES] = {0};
  uint32_t id = 0;
  ag_client_login_redirect(d.c, T0, random, sizeof random, NULL, 0, NULL, 0, &id);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1);
  CHECK(drv_count(&d, AG_ACTION_NAVIGATE, -1) == 0); /* dpop_jkt names the key: it waits */
  give_key(&d);
  drv_drain(&d);
  const logged *nav = drv_for(&d, AG_ACTION_NAVIGATE, id);
  char jkt[64];
  CHECK(nav && param(nav->text, "dpop_jkt", jkt, sizeof jkt) && !strcmp(jkt, EC_JKT));
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1);
  drv_close(&d);
}

static void without_a_key_the_login_and_the_calls_fail_with_a_reason(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  const char *blob =
      "{\"v\":1,\"type\":\"tokens\",\"gen\":5,\"access\":\"A0\",\"exp\":1700003600000}";
  drv_start(&d, T0, blob);
  drv_respond(&d, T0, drv_last(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY)->id, 200, DOC);
  uint32_t call = drv_call(&d, T0 + 1, "GET", "/orders", NULL);
  unsigned char random[AG_OIDC_RANDOM_BYTES] = {0};
  uint32_t task = 0;
  ag_client_login_redirect(d.c, T0, random, sizeof random, NULL, 0, NULL, 0, &task);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1); /* asked once for both */
  CHECK(sends_of(&d, call) == 0);
  CHECK(ag_client_dpop_key(d.c, T0 + 2, NULL, 0, NULL, 0) == AG_OK); /* IndexedDB refused, say */
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, call);
  CHECK(r && r->code == AG_CODE_BAD_CONFIG && strstr(r->text, "DPoP key"));
  r = drv_for(&d, AG_ACTION_REJECT, task);
  CHECK(r && r->code == AG_CODE_BAD_CONFIG && strstr(r->text, "DPoP key"));
  CHECK(sends_of(&d, call) == 0 && drv_count(&d, AG_ACTION_NAVIGATE, -1) == 0);
  drv_close(&d);
}

static void a_call_waiting_for_the_key_is_signed_when_it_comes(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  const char *blob =
      "{\"v\":1,\"type\":\"tokens\",\"gen\":5,\"access\":\"A0\",\"exp\":1700003600000}";
  drv_start(&d, T0, blob);
  uint32_t a = drv_call(&d, T0 + 1, "GET", "/a", NULL);
  uint32_t b = drv_call(&d, T0 + 1, "GET", "/b", NULL);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1);
  CHECK(drv_count(&d, AG_ACTION_SIGN, -1) == 0);
  give_key(&d);
  drv_drain(&d);
  const logged *sa = drv_for(&d, AG_ACTION_SIGN, a), *sb = drv_for(&d, AG_ACTION_SIGN, b);
  CHECK(sa && sb && sa < sb); /* in the order they were made */
  sign(&d, T0 + 2, a);
  const logged *send = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(send && send->dpop && !strcmp(send->authorization, "DPoP A0"));
  drv_close(&d);
}

static void after_a_sign_out_the_key_is_asked_for_again(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  CHECK(ag_client_logout(d.c, T0 + 5) == AG_OK); /* here, or a logout message from another tab */
  drv_drain(&d);
  unsigned char random[AG_OIDC_RANDOM_BYTES] = {0};
  uint32_t id = 0;
  ag_client_login_redirect(d.c, T0 + 6, random, sizeof random, NULL, 0, NULL, 0, &id);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1); /* the next session may use another tab's new key */
  CHECK(drv_for(&d, AG_ACTION_NAVIGATE, id) == NULL);
  drv_close(&d);
}

static void the_code_exchange_is_signed_before_it_is_sent(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  login l;
  exchange_pending(&d, &l);
  const logged *s = drv_last(&d, AG_ACTION_SIGN, -1);
  CHECK(s && s->text);
  if (!s || !s->text) return drv_close(&d);
  CHECK(claim_is(s->text, "htm", "POST"));
  CHECK(claim_is(s->text, "htu", ISSUER "/token"));
  CHECK(claim_is(s->text, "ath", NULL)); /* no access token yet */
  CHECK(claim_is(s->text, "nonce", NULL));
  char input[2048];
  snprintf(input, sizeof input, "%s", s->text);
  uint32_t id = sign(&d, T0, s->id);
  const logged *t = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(t && t->code == AG_SEND_TOKEN && t->dpop);
  if (t && t->dpop) {
    CHECK(!strncmp(t->dpop, input, strlen(input)) && t->dpop[strlen(input)] == '.');
    CHECK(strlen(t->dpop) == strlen(input) + 1 + 86);
  }
  drv_close(&d);
}

static void a_bearer_token_type_is_refused_with_dpop(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  login l;
  uint32_t cb = exchange_pending(&d, &l);
  uint32_t id = sign(&d, T0, 0);
  drv_respond(&d, T0 + 1, id, 200, token_body("A1", "Bearer", l.nonce));
  const logged *r = drv_for(&d, AG_ACTION_REJECT, cb);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "not DPoP"));
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void the_token_endpoints_nonce_challenge_is_retried_once(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  login l;
  uint32_t cb = exchange_pending(&d, &l);
  uint32_t id = sign(&d, T0, 0);
  const char *refusal = "{\"error\":\"use_dpop_nonce\",\"error_description\":\"nonce\"}";
  headers(&d, id, "n-1", NULL);
  drv_respond(&d, T0 + 1, id, 400, refusal);
  const logged *s = drv_last(&d, AG_ACTION_SIGN, -1);
  CHECK(s && s->id == id && claim_is(s->text, "nonce", "n-1"));
  sign(&d, T0 + 2, id);
  CHECK(sends_of(&d, id) == 2);
  /* The retry meets the same answer: no third request, the sign-in fails. */
  headers(&d, id, "n-2", NULL);
  drv_respond(&d, T0 + 3, id, 400, refusal);
  CHECK(sends_of(&d, id) == 2);
  CHECK(drv_count(&d, AG_ACTION_SIGN, -1) == 2);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, cb);
  CHECK(r && r->code == AG_CODE_PROVIDER_ERROR && strstr(r->text, "use_dpop_nonce"));
  drv_close(&d);
}

static void a_nonce_challenge_without_a_nonce_is_not_retried(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  login l;
  uint32_t cb = exchange_pending(&d, &l);
  uint32_t id = sign(&d, T0, 0);
  headers(&d, id, NULL, NULL); /* DPoP-Nonce not exposed to the page, say */
  drv_respond(&d, T0 + 1, id, 400, "{\"error\":\"use_dpop_nonce\"}");
  CHECK(sends_of(&d, id) == 1);
  CHECK(drv_for(&d, AG_ACTION_REJECT, cb) != NULL);
  drv_close(&d);
}

/* ---- the API ---- */

static void a_protected_call_carries_authorization_dpop_and_a_proof_with_ath(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = drv_call(&d, T0 + 10, "get", "/orders?page=2#top", NULL);
  CHECK(sends_of(&d, id) == 0); /* waits for its signature */
  const logged *s = drv_for(&d, AG_ACTION_SIGN, id);
  CHECK(s && claim_is(s->text, "htm", "GET") && claim_is(s->text, "htu", "http://api.test/orders"));
  /* ath = base64url(SHA-256("A1")), computed with Node's crypto */
  CHECK(s && claim_is(s->text, "ath", "FqNuhvb-1dRl_zMlEaDOGoY7VdNkslp82qJdsZq_lkg"));
  sign(&d, T0 + 11, id);
  const logged *send = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(send && send->authorization && !strcmp(send->authorization, "DPoP A1"));
  CHECK(send && send->dpop && !strncmp(send->dpop, s->text, strlen(s->text)));
  drv_respond(&d, T0 + 12, id, 200, NULL);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  /* Public and foreign calls carry no proof and need no signature. */
  uint32_t other = drv_call(&d, T0 + 13, "GET", "https://cdn.example/x.js", NULL);
  const logged *o = drv_for(&d, AG_ACTION_SEND, other);
  CHECK(o && o->dpop == NULL && o->authorization == NULL);
  CHECK(drv_for(&d, AG_ACTION_SIGN, other) == NULL);
  drv_close(&d);
}

static void every_proof_has_its_own_jti(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t a = drv_call(&d, T0 + 10, "GET", "/a", NULL);
  uint32_t b = drv_call(&d, T0 + 10, "GET", "/a", NULL);
  cJSON *pa = payload_of(drv_for(&d, AG_ACTION_SIGN, a)->text);
  cJSON *pb = payload_of(drv_for(&d, AG_ACTION_SIGN, b)->text);
  const cJSON *ja = cJSON_GetObjectItemCaseSensitive(pa, "jti");
  const cJSON *jb = cJSON_GetObjectItemCaseSensitive(pb, "jti");
  CHECK(cJSON_IsString(ja) && cJSON_IsString(jb) && strlen(ja->valuestring) == 22);
  CHECK(cJSON_IsString(ja) && cJSON_IsString(jb) && strcmp(ja->valuestring, jb->valuestring));
  cJSON_Delete(pa);
  cJSON_Delete(pb);
  drv_close(&d);
}

/* Answers call `id`'s current send with a nonce challenge (401) and signs what follows. */
static void challenge(driver *d, ag_ms now, uint32_t id, const char *nonce) {
  headers(d, id, nonce, nonce_challenge);
  drv_respond(d, now, id, 401, NULL);
}

static void one_call_makes_at_most_four_requests(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = drv_call(&d, T0 + 10, "GET", "/orders", NULL);
  sign(&d, T0 + 10, id);
  /* 1: the API asks for a nonce: the same call again, with it, and that is not "the 401" */
  challenge(&d, T0 + 11, id, "r-1");
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  const logged *s = drv_for(&d, AG_ACTION_SIGN, id);
  CHECK(s && claim_is(s->text, "nonce", "r-1"));
  sign(&d, T0 + 11, id);
  CHECK(sends_of(&d, id) == 2);
  /* 2: the nonce retry meets a challenge again: now it is the 401, one refresh */
  challenge(&d, T0 + 12, id, "r-2");
  CHECK(sends_of(&d, id) == 2);
  uint32_t r = sign(&d, T0 + 12, 0); /* the refresh is signed too */
  const logged *refresh = drv_for(&d, AG_ACTION_SEND, r);
  CHECK(refresh && refresh->code == AG_SEND_REFRESH && refresh->dpop);
  CHECK(refresh && claim_is(refresh->dpop, "ath", NULL));
  drv_respond(&d, T0 + 13, r, 200, token_body("A2", "DPoP", NULL));
  /* 3: the replay with the new token, whose own nonce challenge gets one retry (4) */
  const logged *rs = drv_for(&d, AG_ACTION_SIGN, id);
  CHECK(rs && claim_is(rs->text, "nonce", "r-2"));
  sign(&d, T0 + 13, id);
  const logged *replay = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(replay && replay->replay == 1 && !strcmp(replay->authorization, "DPoP A2"));
  challenge(&d, T0 + 14, id, "r-3");
  sign(&d, T0 + 14, id);
  CHECK(sends_of(&d, id) == 4);
  challenge(&d, T0 + 15, id, "r-4");
  CHECK(sends_of(&d, id) == 4); /* never a fifth: the 401 is the caller's now */
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_close(&d);
}

static void nonces_are_kept_per_origin_and_updated_from_any_answer(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  login l;
  exchange_pending(&d, &l);
  uint32_t t = sign(&d, T0, 0);
  headers(&d, t, "provider-nonce", NULL); /* on a 200: kept for the provider's origin */
  drv_respond(&d, T0 + 1, t, 200, token_body("A1", "DPoP", l.nonce));
  uint32_t id = drv_call(&d, T0 + 10, "GET", "/a", NULL);
  CHECK(claim_is(drv_for(&d, AG_ACTION_SIGN, id)->text, "nonce", NULL)); /* not the API's */
  sign(&d, T0 + 10, id);
  headers(&d, id, "api-nonce", NULL);
  drv_respond(&d, T0 + 11, id, 200, NULL);
  id = drv_call(&d, T0 + 12, "GET", "/b", NULL);
  CHECK(claim_is(drv_for(&d, AG_ACTION_SIGN, id)->text, "nonce", "api-nonce"));
  drv_close(&d);
}

static void a_bearer_401_is_the_401_not_a_nonce_challenge(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = drv_call(&d, T0 + 10, "GET", "/orders", NULL);
  sign(&d, T0 + 10, id);
  headers(&d, id, "r-1", "DPoP error=\"invalid_token\", error_description=\"use_dpop_nonce\"");
  drv_respond(&d, T0 + 11, id, 401, NULL);
  CHECK(sends_of(&d, id) == 1);
  const logged *s = drv_last(&d, AG_ACTION_SIGN, -1);
  CHECK(s && s->id != id); /* the refresh's proof, not a retry of the call */
  drv_close(&d);
}

/* ---- signatures, getDpopProof, logout ---- */

static void a_bad_signature_sends_nothing_and_says_why(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = drv_call(&d, T0 + 10, "GET", "/orders", NULL);
  unsigned char der[71] = {0x30};
  CHECK(ag_client_dpop_signature(d.c, T0 + 11, id, der, sizeof der) == AG_OK);
  drv_drain(&d);
  CHECK(sends_of(&d, id) == 0);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_BAD_CONFIG && strstr(r->text, "64 bytes"));
  /* The call is gone: a late signature is not taken. */
  CHECK(ag_client_dpop_signature(d.c, T0 + 12, id, sig, sizeof sig) == AG_ERR_INVALID);
  drv_close(&d);
}

static void a_cancelled_call_leaves_nothing_to_sign(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = 0;
  ag_client_call(d.c, T0 + 10, "GET", 3, "/a", 2, NULL, 0, AG_CRED_UNSET, &id);
  ag_client_cancel(d.c, T0 + 10, id);
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_SIGN, id) == NULL);
  drv_close(&d);
}

static void get_dpop_proof_signs_for_the_current_token(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  drv_start(&d, T0, NULL);
  uint32_t id = 0;
  CHECK(ag_client_dpop_proof(d.c, T0, "GET", 3, "/socket", 7, &id) == AG_OK);
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_NO_TOKEN); /* anonymous */
  drv_close(&d);

  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  CHECK(ag_client_dpop_proof(d.c, T0 + 5, "GET", 3, "/events?since=1", 15, &id) == AG_OK);
  drv_drain(&d);
  const logged *s = drv_for(&d, AG_ACTION_SIGN, id);
  CHECK(s && claim_is(s->text, "htu", "http://api.test/events"));
  CHECK(s && claim_is(s->text, "ath", "FqNuhvb-1dRl_zMlEaDOGoY7VdNkslp82qJdsZq_lkg"));
  sign(&d, T0 + 6, id);
  const logged *ok = drv_for(&d, AG_ACTION_RESOLVE, id);
  CHECK(ok && ok->text && s && !strncmp(ok->text, s->text, strlen(s->text)));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_CALL) == 0); /* nothing is sent */
  drv_close(&d);

  CHECK(drv_open(&d, "{\"baseUrl\":\"http://api.test\"}") == AG_OK);
  drv_start(&d, T0, NULL);
  CHECK(ag_client_dpop_proof(d.c, T0, "GET", 3, "/x", 2, &id) == AG_OK);
  drv_drain(&d);
  r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_BAD_CONFIG && strstr(r->text, "options.dpop"));
  drv_close(&d);
}

/* base64url(SHA-256(token)): the ath of a proof for `token`. */
static const char *ath_of(const char *token) {
  static char out[64];
  unsigned char digest[AG_SHA256_SIZE];
  ag_sha256(token, strlen(token), digest);
  ag_buf b = {0};
  ag_buf_put_base64url(&b, digest, sizeof digest);
  char *s = ag_buf_take(&b);
  snprintf(out, sizeof out, "%s", s ? s : "");
  ag_free(s);
  return out;
}

static uint32_t proof_for(driver *d, ag_ms now, const char *url) {
  uint32_t id = 0;
  CHECK(ag_client_dpop_proof(d->c, now, "GET", 3, url, strlen(url), &id) == AG_OK);
  drv_drain(d);
  return id;
}

/* Signs the refresh that was asked for (its proof first) and answers it with `body`. */
static void answer_refresh(driver *d, ag_ms now, int status, const char *body) {
  const logged *s = drv_last(d, AG_ACTION_SIGN, -1);
  CHECK(s && claim_is(s->text, "htu", ISSUER "/token"));
  uint32_t r = sign(d, now, 0);
  const logged *send = drv_for(d, AG_ACTION_SEND, r);
  CHECK(send && send->code == AG_SEND_REFRESH);
  drv_respond(d, now, r, status, body);
}

/*
 * getDpopProof waits as getAccessToken does: for readiness, for the refresh
 * under way, and for the refresh of a token that is due or expired; the proof
 * then names the new token (ath). Anonymous: NO_TOKEN; a refused refresh
 * rejects it as it rejects getAccessToken.
 */
static void get_dpop_proof_waits_for_the_token_get_access_token_waits_for(void) {
  driver d;
  /* Before readiness: the stored session decides. */
  CHECK(drv_open(&d, OPTIONS("\"storage\":\"local\",")) == AG_OK);
  give_key(&d);
  uint32_t early = proof_for(&d, T0, "/socket");
  CHECK(drv_count_for(&d, AG_ACTION_REJECT, early) == 0 && drv_count(&d, AG_ACTION_SIGN, -1) == 0);
  drv_start(&d, T0,
            "{\"v\":1,\"type\":\"tokens\",\"gen\":5,\"access\":\"S1\",\"refresh\":\"RS\","
            "\"exp\":1700000300000}");
  const logged *s = drv_for(&d, AG_ACTION_SIGN, early);
  CHECK(s && claim_is(s->text, "ath", ath_of("S1")));
  drv_close(&d);

  /* Due (not yet expired), then expired: the refresh first, the proof for its token. */
  ag_ms at[] = {T0 + 299000, T0 + 301000};
  for (int i = 0; i < 2; i++) {
    CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
    give_key(&d);
    sign_in(&d);
    uint32_t id = proof_for(&d, at[i], "/socket");
    CHECK(drv_count_for(&d, AG_ACTION_REJECT, id) == 0 && drv_for(&d, AG_ACTION_SIGN, id) == NULL);
    /* A second proof while that refresh is under way waits for it too. */
    uint32_t during = proof_for(&d, at[i] + 1, "/events");
    CHECK(drv_for(&d, AG_ACTION_SIGN, during) == NULL);
    answer_refresh(&d, at[i] + 2, 200, token_body("A2", "DPoP", NULL));
    s = drv_for(&d, AG_ACTION_SIGN, id);
    CHECK(s && claim_is(s->text, "ath", ath_of("A2")) &&
          claim_is(s->text, "htu", "http://api.test/socket"));
    const logged *s2 = drv_for(&d, AG_ACTION_SIGN, during);
    CHECK(s2 && claim_is(s2->text, "ath", ath_of("A2")));
    sign(&d, at[i] + 3, id);
    CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
    drv_close(&d);
  }

  /* A refused refresh: the same rejection getAccessToken gets. */
  CHECK(drv_open(&d, OPTIONS("\"crossTab\":false,")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = proof_for(&d, T0 + 301000, "/socket"), token = 0;
  CHECK(ag_client_token(d.c, T0 + 301000, &token) == AG_OK);
  drv_drain(&d);
  answer_refresh(&d, T0 + 301001, 400, "{\"error\":\"invalid_grant\"}");
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id), *rt = drv_for(&d, AG_ACTION_REJECT, token);
  CHECK(r && rt && r->code == rt->code && r->code == AG_CODE_SESSION_EXPIRED);
  CHECK(r && strstr(r->text, "getDpopProof"));
  CHECK(drv_for(&d, AG_ACTION_SIGN, id) == NULL);
  drv_close(&d);
}

/*
 * RFC 9449 proofs are for HTTP requests: a ws(s) URL is refused, saying to
 * pass the URL of the handshake (wss:// as https://, ws:// as http://).
 */
static void get_dpop_proof_refuses_a_websocket_url_and_says_what_to_pass(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  const char *urls[] = {"wss://api.test/socket", " WS://api.test/socket", "Wss:api.test"};
  for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
    uint32_t id = proof_for(&d, T0 + 5, urls[i]);
    const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
    CHECK(r && r->code == AG_CODE_BAD_CONFIG && strstr(r->text, "https://") &&
          strstr(r->text, "handshake"));
    CHECK(drv_for(&d, AG_ACTION_SIGN, id) == NULL);
  }
  /* The handshake's own URL is signed. */
  uint32_t id = proof_for(&d, T0 + 6, "http://api.test/socket?t=1");
  const logged *s = drv_for(&d, AG_ACTION_SIGN, id);
  CHECK(s && claim_is(s->text, "htu", "http://api.test/socket") && claim_is(s->text, "htm", "GET"));
  drv_close(&d);
}

static void get_dpop_proof_resolves_a_path_as_gate_fetch_does(void) {
  driver d;
  CHECK(drv_open(&d,
                 "{\"baseUrl\":\"http://api.test/v2\",\"dpop\":true,\"oidc\":{\"issuer\":\"" ISSUER
                 "\",\"clientId\":\"spa\",\"redirectUri\":\"/callback\"}}") == AG_OK);
  give_key(&d);
  sign_in(&d);
  /* baseUrl's path is a prefix for a path, as for gate.fetch; an absolute URL stays as given. */
  uint32_t id = proof_for(&d, T0 + 5, "/users?page=2");
  const logged *s = drv_for(&d, AG_ACTION_SIGN, id);
  CHECK(s && claim_is(s->text, "htu", "http://api.test/v2/users"));
  id = proof_for(&d, T0 + 6, "http://api.test/other");
  s = drv_for(&d, AG_ACTION_SIGN, id);
  CHECK(s && claim_is(s->text, "htu", "http://api.test/other"));
  drv_close(&d);
}

static void the_revocation_at_logout_carries_a_proof(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = 0;
  CHECK(ag_client_logout_redirect(d.c, T0 + 20, 0, &id) == AG_OK);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REVOKE) == 0);
  const logged *s = drv_last(&d, AG_ACTION_SIGN, -1);
  CHECK(s && claim_is(s->text, "htu", ISSUER "/token/revocation"));
  uint32_t r = sign(&d, T0 + 21, 0);
  const logged *revoke = drv_for(&d, AG_ACTION_SEND, r);
  CHECK(revoke && revoke->code == AG_SEND_REVOKE && revoke->dpop);
  drv_respond(&d, T0 + 22, r, 200, "");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  /* Signed with the session's key, which is then forgotten: the next sign-in asks for one. */
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 0);
  unsigned char random[AG_OIDC_RANDOM_BYTES] = {0};
  ag_client_login_redirect(d.c, T0 + 23, random, sizeof random, NULL, 0, NULL, 0, &id);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1);
  drv_close(&d);
}

static void a_key_asked_for_before_a_logout_is_not_asked_for_twice(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  drv_start(&d, T0, NULL);
  drv_respond(&d, T0, drv_last(&d, AG_ACTION_SEND, AG_SEND_DISCOVERY)->id, 200, DOC);
  const char *tokens = "{\"access\":\"T\",\"refresh\":\"R\"}";
  CHECK(ag_client_set_tokens(d.c, T0, tokens, strlen(tokens)) == AG_OK);
  uint32_t id = 0;
  CHECK(ag_client_logout_redirect(d.c, T0 + 1, 0, &id) == AG_OK); /* the revocation needs the key */
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1);
  unsigned char random[AG_OIDC_RANDOM_BYTES] = {0};
  ag_client_login_redirect(d.c, T0 + 2, random, sizeof random, NULL, 0, NULL, 0, &id);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_KEY, -1) == 1); /* the answer to the first is awaited */
  give_key(&d);
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_NAVIGATE, id) != NULL);
  CHECK(drv_last(&d, AG_ACTION_SIGN, -1) != NULL); /* and the revocation is signed */
  drv_close(&d);
}

static bool memory_out; /* every allocation of the core fails while set */

static void *maybe_malloc(size_t n) { return memory_out ? NULL : malloc(n); }

/*
 * Out of memory finishing a proof: the call is told OUT_OF_MEMORY (not a
 * signing failure, not left hanging) and nothing is sent; getDpopProof out
 * of memory changes nothing, and works once there is memory again.
 */
static void out_of_memory_in_dpop_fails_the_call_or_changes_nothing(void) {
  driver d;
  CHECK(drv_open(&d, OPTIONS("")) == AG_OK);
  give_key(&d);
  sign_in(&d);
  uint32_t id = drv_call(&d, T0 + 10, "GET", "/orders", NULL);
  CHECK(drv_for(&d, AG_ACTION_SIGN, id) != NULL);
  for (int i = 0; i < 64; i++) sig[i] = (unsigned char)(200 - i);
  ag_set_allocator(maybe_malloc, free);
  memory_out = true;
  CHECK(ag_client_dpop_signature(d.c, T0 + 11, id, sig, sizeof sig) == AG_OK);
  memory_out = false;
  drv_drain(&d);
  CHECK(sends_of(&d, id) == 0);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_OUT_OF_MEMORY && strstr(r->text, "DPoP proof"));

  uint32_t proof = 0;
  memory_out = true;
  CHECK(ag_client_dpop_proof(d.c, T0 + 12, "GET", 3, "/socket", 7, &proof) == AG_ERR_NOMEM);
  memory_out = false;
  ag_action a;
  CHECK(ag_client_next_action(d.c, &a) == 0); /* nothing was asked */
  CHECK(ag_client_dpop_proof(d.c, T0 + 13, "GET", 3, "/socket", 7, &proof) == AG_OK);
  CHECK(proof == id + 1); /* the failed attempt took no id */
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_SIGN, proof) != NULL);
  ag_set_allocator(NULL, NULL);
  drv_close(&d);
}

int main(void) {
  RUN(dpop_needs_oidc_and_a_boolean);
  RUN(the_key_must_be_public_p256_with_enough_seed_bytes);
  RUN(the_authorization_request_carries_the_keys_thumbprint);
  RUN(the_key_is_asked_for_when_a_login_needs_it);
  RUN(without_a_key_the_login_and_the_calls_fail_with_a_reason);
  RUN(a_call_waiting_for_the_key_is_signed_when_it_comes);
  RUN(after_a_sign_out_the_key_is_asked_for_again);
  RUN(a_key_asked_for_before_a_logout_is_not_asked_for_twice);
  RUN(the_code_exchange_is_signed_before_it_is_sent);
  RUN(a_bearer_token_type_is_refused_with_dpop);
  RUN(the_token_endpoints_nonce_challenge_is_retried_once);
  RUN(a_nonce_challenge_without_a_nonce_is_not_retried);
  RUN(a_protected_call_carries_authorization_dpop_and_a_proof_with_ath);
  RUN(every_proof_has_its_own_jti);
  RUN(one_call_makes_at_most_four_requests);
  RUN(nonces_are_kept_per_origin_and_updated_from_any_answer);
  RUN(a_bearer_401_is_the_401_not_a_nonce_challenge);
  RUN(a_bad_signature_sends_nothing_and_says_why);
  RUN(a_cancelled_call_leaves_nothing_to_sign);
  RUN(get_dpop_proof_signs_for_the_current_token);
  RUN(get_dpop_proof_waits_for_the_token_get_access_token_waits_for);
  RUN(get_dpop_proof_refuses_a_websocket_url_and_says_what_to_pass);
  RUN(get_dpop_proof_resolves_a_path_as_gate_fetch_does);
  RUN(the_revocation_at_logout_carries_a_proof);
  RUN(out_of_memory_in_dpop_fails_the_call_or_changes_nothing);
  return CHECK_EXIT_CODE();
}
