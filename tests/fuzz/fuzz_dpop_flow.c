/*
 * fuzz_dpop_flow.c — a DPoP client (options.dpop with oidc) driven by a
 * random sequence of events: app calls, answers with any status and with or
 * without DPoP-Nonce and a use_dpop_nonce challenge, signatures (good, of a
 * wrong length, none), the key given or refused, sign-in, logout, proofs
 * for callers outside fetch, cancels and ticks.
 *
 * Input: each event is an opcode byte and its argument bytes (reads past the
 * end give 0). After every event all actions are drained and checked:
 *
 *  - a SEND of a request that needs a proof (token endpoint, revocation, a
 *    protected app call) carries one, and it is the signing input of that
 *    request's last SIGN, ".", and 86 characters (64 bytes); discovery and
 *    calls elsewhere carry none;
 *  - a protected app call's Authorization is "DPoP <token>";
 *  - an app call is sent at most four times, a token-endpoint request at
 *    most twice (the nonce retry);
 *  - KEY is never asked for again before it was answered, a sign-out between included;
 *  - at the end, freeing the client returns ag_live_allocations() to where
 *    it started.
 */
#include "fuzz_common.h"
#include "dpop.h"
#include "internal.h"

#define ISSUER "https://id.example"
#define MAX_IDS 4096

static const char options[] =
    "{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"],\"crossTab\":false,\"dpop\":true,"
    "\"oidc\":{\"issuer\":\"" ISSUER "\",\"clientId\":\"spa\",\"redirectUri\":\"/cb\"}}";
static const char doc[] = "{\"issuer\":\"" ISSUER "\",\"authorization_endpoint\":\"" ISSUER
                          "/auth\",\"token_endpoint\":\"" ISSUER
                          "/token\",\"revocation_endpoint\":\"" ISSUER "/revoke\"}";
static const char jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"s553p1rtiUjPv-w8J3ZalfA-"
    "JcEPehOuE6K-oNh9dYI\",\"y\":\"ConlYlE6BGsBCAZuH2WNuJH1RP_fgVXA7j5mO5XbbGs\"}";

typedef struct state {
  ag_client *c;
  ag_ms now;
  bool key_asked;
  char *input[MAX_IDS]; /* the last signing input per id */
  int sends[MAX_IDS];
  uint32_t pending_sign[64], n_sign;
  uint32_t in_flight[64], n_flight;
} state;

static void remember(uint32_t *list, uint32_t *n, uint32_t id) {
  if (*n < 64) list[(*n)++] = id;
}

static uint32_t take(uint32_t *list, uint32_t *n, uint8_t pick) {
  if (!*n) return 0;
  uint32_t i = pick % *n, id = list[i];
  list[i] = list[--*n];
  return id;
}

static bool needs_proof(const ag_action *a) {
  if (a->code == AG_SEND_TOKEN || a->code == AG_SEND_REVOKE || a->code == AG_SEND_REFRESH)
    return true;
  if (a->code != AG_SEND_CALL) return false;
  return !strncmp(a->url, "http://api.test/", 16) && strncmp(a->url, "http://api.test/health", 22);
}

static void check_send(state *s, const ag_action *a) {
  FUZZ_CHECK(a->id < MAX_IDS);
  s->sends[a->id]++;
  FUZZ_CHECK(s->sends[a->id] <= (a->code == AG_SEND_CALL ? 4 : 2));
  if (!needs_proof(a)) {
    FUZZ_CHECK(a->dpop == NULL);
    return;
  }
  const char *in = s->input[a->id];
  FUZZ_CHECK(a->dpop && in);
  size_t n = strlen(in);
  FUZZ_CHECK(!strncmp(a->dpop, in, n) && a->dpop[n] == '.' && strlen(a->dpop + n + 1) == 86);
  if (a->code == AG_SEND_CALL)
    FUZZ_CHECK(a->authorization && !strncmp(a->authorization, "DPoP ", 5));
  remember(s->in_flight, &s->n_flight, a->id);
}

static void drain(state *s) {
  ag_action a;
  while (ag_client_next_action(s->c, &a)) {
    if (a.type == AG_ACTION_KEY) {
      FUZZ_CHECK(!s->key_asked);
      s->key_asked = true;
    } else if (a.type == AG_ACTION_SIGN) {
      FUZZ_CHECK(a.id < MAX_IDS && a.text);
      free(s->input[a.id]);
      s->input[a.id] = fuzz_strdup(a.text, a.text_len);
      remember(s->pending_sign, &s->n_sign, a.id);
    } else if (a.type == AG_ACTION_SEND) {
      if (a.code == AG_SEND_DISCOVERY) FUZZ_CHECK(a.dpop == NULL);
      else if (a.id < MAX_IDS) check_send(s, &a);
      if (a.code == AG_SEND_DISCOVERY) remember(s->in_flight, &s->n_flight, a.id);
    }
  }
}

static void answer(state *s, fuzz_in *in) {
  uint32_t id = take(s->in_flight, &s->n_flight, fuzz_byte(in));
  if (!id) return;
  static const int statuses[] = {200, 400, 401, 500};
  static const char *const bodies[] = {
      "{\"error\":\"use_dpop_nonce\"}",
      "{\"access_token\":\"A1\",\"refresh_token\":\"R1\",\"token_type\":\"DPoP\",\"expires_in\":60}",
      "{\"access_token\":\"A2\",\"token_type\":\"Bearer\"}", doc, "{}"};
  uint8_t how = fuzz_byte(in);
  const char *nonce = (how & 1) ? ((how & 2) ? "n1" : "bad nonce") : NULL;
  const char *www = (how & 4) ? "DPoP error=\"use_dpop_nonce\"" : NULL;
  ag_client_response_headers(s->c, id, nonce, nonce ? strlen(nonce) : 0, www,
                             www ? strlen(www) : 0);
  const char *body = bodies[fuzz_byte(in) % 5];
  ag_client_response(s->c, s->now, id, statuses[(how >> 3) % 4], body, strlen(body));
}

static void step(state *s, fuzz_in *in, uint8_t op) {
  static const unsigned char sig[AG_DPOP_SIGNATURE_BYTES] = {9};
  static const unsigned char seed[AG_DPOP_SEED_BYTES] = {1};
  static const unsigned char random[AG_OIDC_RANDOM_BYTES] = {2};
  static const char *const paths[] = {"/a", "/health", "https://cdn.test/x", "/b?q=1#f"};
  uint32_t id = 0;
  switch (op % 11) {
  case 0:
  case 1: {
    const char *p = paths[fuzz_byte(in) % 4];
    ag_client_call(s->c, s->now, "GET", 3, p, strlen(p), NULL, 0, AG_CRED_UNSET, &id);
    break;
  }
  case 2:
  case 3:
    answer(s, in);
    break;
  case 4: {
    uint32_t which = take(s->pending_sign, &s->n_sign, fuzz_byte(in));
    uint8_t kind = fuzz_byte(in) % 4;
    if (which)
      ag_client_dpop_signature(s->c, s->now, which, kind ? sig : NULL, kind == 1 ? 63 : 64);
    break;
  }
  case 5:
    s->key_asked = false;
    if (fuzz_byte(in) % 4) ag_client_dpop_key(s->c, s->now, jwk, sizeof jwk - 1, seed, sizeof seed);
    else ag_client_dpop_key(s->c, s->now, NULL, 0, NULL, 0);
    break;
  case 6:
    ag_client_login_redirect(s->c, s->now, random, sizeof random, NULL, 0, NULL, 0, &id);
    break;
  case 7:
    ag_client_set_tokens(s->c, s->now, "{\"access\":\"T\",\"refresh\":\"R\",\"expiresIn\":30}", 43);
    break;
  case 8:
    ag_client_logout_redirect(s->c, s->now, fuzz_byte(in) & 1, &id);
    break;
  case 9:
    ag_client_dpop_proof(s->c, s->now, "GET", 3, "/ws", 3, &id);
    break;
  case 10:
    s->now += 1000.0 * (fuzz_byte(in) % 64);
    ag_client_tick(s->c, s->now);
    break;
  }
  drain(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  static state s;
  memset(&s, 0, sizeof s);
  s.now = FUZZ_T0;
  if (ag_client_new(&s.c, options, sizeof options - 1, "http://app.test", 15, NULL, 0) != AG_OK)
    FUZZ_FAIL("the fixed options must parse");
  ag_client_start(s.c, s.now, NULL, 0);
  drain(&s);
  fuzz_in in = {data, size};
  for (int steps = 0; in.n && steps < 200; steps++) step(&s, &in, fuzz_byte(&in));
  ag_client_free(s.c);
  for (size_t i = 0; i < MAX_IDS; i++) free(s.input[i]);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
