/*
 * fuzz_id_token.c — ag_oidc_id_token_check, ag_oidc_grant_parse and
 * ag_oidc_token_error.
 *
 * Input: byte 0 picks `now` and whether a nonce and a previous sub are
 * expected; the rest is used as an ID token's JSON payload (wrapped in an
 * unsigned JWT), as a whole ID token, and as a token endpoint response body.
 *
 * Invariants: accepted claims are the payload itself, a JSON object whose
 * iss is the issuer; a refusal is PROVIDER_ERROR with a message naming the
 * check and no claims; a grant has a token type of Bearer or DPoP and a
 * valid id_token when it has one; a token error message is always written;
 * nothing leaks.
 */
#include "fuzz_oidc_common.h"
#include "json.h"

static const ag_ms nows[] = {FUZZ_T0, 0, 1700000600000.0, 4102444800000.0};

static void check(const ag_config *cfg, const char *token, size_t n, uint8_t mode) {
  char *claims = NULL, *msg = NULL;
  const char *nonce = (mode & 4) ? "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC" : NULL;
  const char *sub = (mode & 8) ? "u1" : NULL;
  int rc = ag_oidc_id_token_check(cfg->oidc, token, n, nonce, sub, nows[mode & 3], &claims, &msg);
  if (rc == AG_OK) {
    FUZZ_CHECK(msg == NULL && claims != NULL);
    cJSON *c = ag_json_parse(claims, strlen(claims));
    FUZZ_CHECK(cJSON_IsObject(c));
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(c, "iss");
    FUZZ_CHECK(cJSON_IsString(iss) && !strcmp(iss->valuestring, FUZZ_ISSUER));
    ag_json_free(c);
    ag_free(claims);
  } else {
    FUZZ_CHECK(rc == AG_CODE_PROVIDER_ERROR && claims == NULL);
    FUZZ_CHECK(msg && !strncmp(msg, "the ID token failed a check: ", 29));
    ag_free(msg);
  }
}

static void grant(const char *body, size_t n, bool need_id) {
  ag_oidc_grant g;
  char *msg = NULL;
  int rc = ag_oidc_grant_parse(&g, body, n, need_id, &msg);
  if (rc == AG_OK) {
    FUZZ_CHECK(!strcmp(g.token_type, "Bearer") || !strcmp(g.token_type, "DPoP"));
    FUZZ_CHECK(!g.id_token || ag_token_is_valid(g.id_token, strlen(g.id_token)));
    FUZZ_CHECK(g.id_token || !need_id);
    ag_oidc_grant_free(&g);
  } else {
    FUZZ_CHECK(rc == AG_CODE_BAD_TOKEN_RESPONSE && !g.id_token && !g.scope && !g.token_type);
    fuzz_check_refusal(rc, msg);
  }
  bool invalid;
  char *err = ag_oidc_token_error("refresh", 400, body, n, &invalid);
  FUZZ_CHECK(err && !strncmp(err, "refresh: the provider answered 400", 34));
  ag_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  uint8_t mode = fuzz_byte(&in);
  size_t n;
  const char *rest = fuzz_take(&in, in.n, &n);
  ag_config cfg;
  fuzz_oidc_config(&cfg);

  check(&cfg, rest, n, mode);
  if (n <= 8000) { /* the input as the payload of an unsigned JWT */
    ag_buf b = {0};
    ag_buf_puts(&b, "eyJhbGciOiJSUzI1NiJ9.");
    ag_buf_put_base64url(&b, (const unsigned char *)rest, n);
    ag_buf_puts(&b, ".c2ln");
    char *token = ag_buf_take(&b);
    FUZZ_CHECK(token != NULL);
    check(&cfg, token, strlen(token), mode);
    ag_free(token);
  }
  grant(rest, n, mode & 16);

  ag_config_free(&cfg);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
