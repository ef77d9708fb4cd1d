/*
 * test_dpop_alloc_failure.c — a DPoP session (the key, discovery, sign-in,
 * a signed call and its nonce retry, the refresh and replay, getDpopProof,
 * logout) replayed with the Nth allocation failing, for every N until the
 * session needs no more: nothing may crash (ASan watches), and after
 * ag_client_free nothing may be left allocated. The stricter promises
 * (atomic entry points, a consistent client after every event) are checked
 * for the sessions without DPoP in test_alloc_failure.c.
 */
#include "check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static long budget; /* allocations left before failing; < 0: never fail */

static void *failing_malloc(size_t n) {
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return malloc(n);
}

#define T0 1700000000000.0
static void check_send(const ag_action *a);

static void drain(ag_client *c) {
  ag_action a;
  while (ag_client_next_action(c, &a)) check_send(&a);
}

#define ISSUER "https://id.example"
#define DPOP_OPTS                                                                                    \
  "{\"baseUrl\":\"http://api.test\",\"crossTab\":false,\"dpop\":true,\"oidc\":{\"issuer\":\"" ISSUER \
  "\",\"clientId\":\"spa\",\"redirectUri\":\"/cb\"}}"

static int signatures; /* SIGN actions answered in the unfailing run */

/*
 * The promise that holds whatever allocation fails: an app call (every path
 * is protected here) leaves with "DPoP <token>" and a proof, and a request to
 * the token or revocation endpoint with a proof; never bare.
 */
static uint32_t login_id; /* loginWithRedirect's task */
static bool navigated;    /* its NAVIGATE went out */

static void check_send(const ag_action *a) {
  /* A sign-in resolves only after the page was sent to the provider; else it rejects. */
  if (a->type == AG_ACTION_NAVIGATE && a->id == login_id) navigated = true;
  if (a->type == AG_ACTION_RESOLVE && login_id && a->id == login_id) CHECK(navigated);
  if (a->type != AG_ACTION_SEND) return;
  if (a->code == AG_SEND_CALL)
    CHECK(a->authorization && !strncmp(a->authorization, "DPoP ", 5) && a->authorization[5]);
  if (a->code == AG_SEND_CALL || a->code == AG_SEND_TOKEN || a->code == AG_SEND_REFRESH ||
      a->code == AG_SEND_REVOKE) {
    const char *dot = a->dpop ? strchr(a->dpop, '.') : NULL;
    CHECK(dot && strchr(dot + 1, '.') && strlen(strrchr(a->dpop, '.')) == 87); /* 64-byte r||s */
  }
}

/* Drains the actions and answers every SIGN among them with a signature. */
static void sign_all(ag_client *c, ag_ms now) {
  static const unsigned char sig[64] = {1};
  ag_action a;
  uint32_t ids[16];
  int n = 0;
  while (ag_client_next_action(c, &a)) {
    check_send(&a);
    if (a.type == AG_ACTION_SIGN && n < 16) ids[n++] = a.id;
  }
  for (int i = 0; i < n; i++) ag_client_dpop_signature(c, now, ids[i], sig, sizeof sig);
  if (budget < 0) signatures += n;
}

/* A DPoP session: key, discovery, login, the exchange with a nonce retry, calls, a proof, logout. */
static void dpop_session(void) {
  ag_client *c = NULL;
  static const char jwk[] =
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"s553p1rtiUjPv-w8J3ZalfA-"
      "JcEPehOuE6K-oNh9dYI\",\"y\":\"ConlYlE6BGsBCAZuH2WNuJH1RP_fgVXA7j5mO5XbbGs\"}";
  static const char doc[] = "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                            "/auth\",\"token_endpoint\":\"" ISSUER
                            "/token\",\"revocation_endpoint\":\"" ISSUER "/revoke\"}";
  unsigned char seed[AG_DPOP_SEED_BYTES] = {7}, random[AG_OIDC_RANDOM_BYTES] = {3};
  if (ag_client_new(&c, DPOP_OPTS, strlen(DPOP_OPTS), "http://app.test", 15, NULL, 0) != AG_OK)
    return;
  ag_client_dpop_key(c, T0, jwk, strlen(jwk), seed, sizeof seed);
  ag_client_start(c, T0, NULL, 0);
  drain(c);
  uint32_t id = 0, cb = 0;
  login_id = 0;
  navigated = false;
  /* Before discovery has answered: the sign-in goes on inside the discovery's answer. */
  if (ag_client_login_redirect(c, T0, random, sizeof random, NULL, 0, NULL, 0, &id) == AG_OK)
    login_id = id;
  drain(c);
  ag_client_response(c, T0, 1, 200, doc, strlen(doc));
  drain(c);
  const char *url = "http://app.test/cb?code=C&state=x";
  ag_client_redirect_callback(c, T0, url, strlen(url), NULL, 0, &cb);
  drain(c);
  const char *tokens = "{\"access_token\":\"A\",\"refresh_token\":\"R\",\"expires_in\":60,"
                       "\"token_type\":\"DPoP\"}";
  ag_client_set_tokens(c, T0, "{\"access\":\"A\",\"refresh\":\"R\",\"expiresIn\":60}", 43);
  drain(c);
  ag_client_call(c, T0 + 1, "GET", 3, "/a", 2, NULL, 0, AG_CRED_UNSET, &id);
  sign_all(c, T0 + 1);
  ag_client_response_headers(c, id, "n1", 2, "DPoP error=\"use_dpop_nonce\"", 27);
  ag_client_response(c, T0 + 2, id, 401, NULL, 0);
  sign_all(c, T0 + 2);
  ag_client_response(c, T0 + 3, id, 401, NULL, 0);
  sign_all(c, T0 + 3);
  for (uint32_t i = 1; i < 12; i++) {
    ag_client_response_headers(c, i, "n2", 2, NULL, 0);
    ag_client_response(c, T0 + 4, i, 200, tokens, strlen(tokens));
  }
  sign_all(c, T0 + 4);
  ag_client_dpop_proof(c, T0 + 5, "GET", 3, "/ws", 3, &id);
  sign_all(c, T0 + 5);
  ag_client_logout_redirect(c, T0 + 6, 0, &id);
  sign_all(c, T0 + 6);
  ag_client_free(c);
}

static void survives_every_allocation_failure(void (*run)(void)) {
  ag_set_allocator(failing_malloc, free);
  long needed = 0;
  budget = -1; /* first, count what a full session allocates */
  long before = ag_live_allocations();
  run();
  CHECK(ag_live_allocations() == before);
  for (long n = 0;; n++) {
    budget = n;
    run();
    CHECK(ag_live_allocations() == before);
    if (budget > 0) break; /* the session finished with allocations to spare: all paths tried */
    needed = n;
  }
  CHECK(needed > 50); /* the session really allocates: the loop tried many failure points */
  ag_set_allocator(NULL, NULL);
}

static void every_allocation_failure_with_dpop_is_survived_without_leaks(void) {
  signatures = 0;
  survives_every_allocation_failure(dpop_session);
  CHECK(signatures >= 5); /* call, nonce retry, refresh, replay, getDpopProof: the paths ran */
}

int main(void) {
  RUN(every_allocation_failure_with_dpop_is_survived_without_leaks);
  return CHECK_EXIT_CODE();
}
