/*
 * fuzz_token_response.c — ag_tokens_parse_response with fuzzed field lists,
 * and ag_tokens_parse_set, on the same body.
 *
 * Input: byte 0 = how many names each list has (2 bits each: access,
 * refresh, expires_in; 0 = the defaults), one byte per name (an index into
 * `names`), one byte choosing `now`, then the body.
 *
 * Invariants: on AG_OK the access token (and the refresh token, if any) is
 * a valid token (1..AG_MAX_TOKEN printable ASCII, no space: nothing that
 * could split a header), the expiry is 0 or a whole, finite number of ms,
 * and the tokens survive a blob write/read round trip unchanged; on failure
 * the result is AG_ERR_BAD_TOKENS and nothing is allocated.
 */
#include "fuzz_common.h"
#include "internal.h"

static char *const names[] = {"access_token",  "access",  "token",      "id_token",
                              "refresh_token", "refresh", "expires_in", "expiresIn",
                              "exp",           "a",       "",           "jwt"};
#define N_NAMES (sizeof names / sizeof *names)

static const ag_ms nows[] = {FUZZ_T0, 0, 1, 4102444800000.0, 9007199254740991.0};

static void check_tokens(const ag_tokens *t) {
  FUZZ_CHECK(t->access && ag_token_is_valid(t->access, strlen(t->access)));
  FUZZ_CHECK(!t->refresh || ag_token_is_valid(t->refresh, strlen(t->refresh)));
  FUZZ_CHECK(t->expires_at == t->expires_at && t->expires_at >= 0);
  FUZZ_CHECK(t->expires_at < 1e300);

  /* Round trip through the persisted blob. */
  char *blob = ag_blob_write(t, 42);
  FUZZ_CHECK(blob != NULL);
  ag_tokens back = {0};
  uint64_t gen = 0;
  bool logout = true;
  FUZZ_CHECK(ag_blob_read(blob, strlen(blob), &back, &gen, &logout) == AG_OK);
  FUZZ_CHECK(gen == 42 && !logout);
  FUZZ_CHECK(back.access && !strcmp(back.access, t->access));
  FUZZ_CHECK((!back.refresh && !t->refresh) ||
             (back.refresh && t->refresh && !strcmp(back.refresh, t->refresh)));
  if (t->expires_at < 9007199254740992.0 && t->expires_at == (double)(int64_t)t->expires_at)
    FUZZ_CHECK(back.expires_at == t->expires_at);
  ag_tokens_clear(&back);
  ag_free_secret(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  uint8_t counts = fuzz_byte(&in);
  char *lists[3][3];
  size_t n[3];
  for (int l = 0; l < 3; l++) {
    n[l] = (counts >> (2 * l)) & 3;
    for (size_t i = 0; i < n[l]; i++) lists[l][i] = names[fuzz_byte(&in) % N_NAMES];
  }
  ag_token_fields fields = {n[0] ? lists[0] : NULL, n[0], n[1] ? lists[1] : NULL, n[1],
                            n[2] ? lists[2] : NULL, n[2]};
  ag_ms now = nows[fuzz_byte(&in) % (sizeof nows / sizeof *nows)];
  size_t len;
  const char *body = fuzz_take(&in, in.n, &len);

  ag_tokens t = {0};
  int rc = ag_tokens_parse_response(&t, (counts & 0x80) ? NULL : &fields, now, body, len);
  if (rc == AG_OK) {
    check_tokens(&t);
    ag_tokens_clear(&t);
  } else {
    FUZZ_CHECK(rc == AG_ERR_BAD_TOKENS);
    FUZZ_CHECK(!t.access && !t.refresh);
  }

  rc = ag_tokens_parse_set(&t, now, body, len);
  if (rc == AG_OK) {
    check_tokens(&t);
    ag_tokens_clear(&t);
  } else {
    FUZZ_CHECK(rc == AG_ERR_BAD_TOKENS);
  }
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
