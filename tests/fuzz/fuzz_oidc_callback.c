/*
 * fuzz_oidc_callback.c — ag_oidc_transaction_read and ag_oidc_callback_parse.
 *
 * Input: byte 0 = flags (bit 0: the response is in the fragment; bit 1: the
 * provider is known; bit 2: it says it sends iss), then the callback URL, then
 * optionally a NUL and a transaction blob (without one, or when it is
 * refused, a fixed transaction is used).
 *
 * Invariants: an accepted callback has a non-empty code and the
 * transaction's state, and an iss that is absent or the issuer; a refused
 * one is LOGIN_REQUIRED or PROVIDER_ERROR with a message and no code;
 * nothing leaks.
 */
#include "fuzz_oidc_common.h"

static const char fixed_txn[] =
    "{\"v\":1,\"verifier\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"state\":"
    "\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\",\"nonce\":"
    "\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\",\"returnTo\":\"/x\",\"redirectUri\":"
    "\"http://app.test/callback\",\"mode\":\"query\",\"issuer\":\"" FUZZ_ISSUER "\","
    "\"clientId\":\"spa\",\"createdAt\":1700000000000}";

static void read_transaction(const ag_config *cfg, ag_oidc_transaction *t, const char *blob,
                             size_t n) {
  char *msg = NULL;
  int rc = blob ? ag_oidc_transaction_read(t, cfg->oidc, blob, n, FUZZ_T0, &msg)
                : AG_CODE_LOGIN_REQUIRED;
  if (rc == AG_OK) {
    FUZZ_CHECK(t->verifier && strlen(t->verifier) == 43 && t->state && t->nonce);
    return;
  }
  if (blob) fuzz_check_refusal(rc, msg);
  FUZZ_CHECK(ag_oidc_transaction_read(t, cfg->oidc, fixed_txn, sizeof fixed_txn - 1, FUZZ_T0,
                                      &msg) == AG_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  uint8_t flags = fuzz_byte(&in);
  size_t url_len, blob_len = 0;
  const char *url = fuzz_until(&in, 0, &url_len);
  const char *blob = in.n ? fuzz_take(&in, in.n, &blob_len) : NULL;

  ag_config cfg;
  fuzz_oidc_config(&cfg);
  ag_oidc_transaction t;
  read_transaction(&cfg, &t, blob, blob_len);
  t.fragment = flags & 1;
  ag_oidc_provider p = {0};
  p.iss_parameter_supported = (flags & 4) != 0;

  ag_oidc_callback cb;
  char *msg = NULL;
  int rc = ag_oidc_callback_parse(&cb, url, url_len, &t, (flags & 2) ? &p : NULL, &msg);
  if (rc == AG_OK) {
    FUZZ_CHECK(msg == NULL && cb.code && cb.code[0]);
    FUZZ_CHECK(cb.state && !strcmp(cb.state, t.state));
    FUZZ_CHECK(!cb.iss || !strcmp(cb.iss, t.issuer));
    FUZZ_CHECK(cb.iss || !(flags & 2) || !p.iss_parameter_supported);
    ag_oidc_callback_free(&cb);
  } else {
    FUZZ_CHECK(rc == AG_CODE_LOGIN_REQUIRED || rc == AG_CODE_PROVIDER_ERROR);
    FUZZ_CHECK(cb.code == NULL && cb.state == NULL);
    fuzz_check_refusal(rc, msg);
  }
  ag_oidc_transaction_free(&t);
  ag_config_free(&cfg);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
