/*
 * fuzz_dpop.c — dpop.c's parsers on hostile input. The input is three parts
 * separated by '\n': a WWW-Authenticate value, a DPoP-Nonce value, and a JWK.
 *
 * Invariants: the challenge reader never reads outside the value and only
 * says yes when the value names DPoP and use_dpop_nonce; a nonce is kept only
 * when it is 1..AG_DPOP_MAX_NONCE NQCHARs, and then is what was given; an
 * accepted key has 43-character coordinates, no private member made it into
 * the proof header, and its thumbprint equals the generic RFC 7638 one; a
 * proof built from it is header.payload and finishes with a 64-byte
 * signature only; nothing leaks.
 */
#include "dpop.h"
#include "fuzz_common.h"
#include "internal.h"

static void challenge(const char *s, size_t n) {
  char *copy = fuzz_strdup(s, n); /* a heap copy of exactly n bytes + NUL: ASan sees overreads */
  bool wants = ag_dpop_www_auth_wants_nonce(copy, n);
  if (wants) {
    FUZZ_CHECK(n <= AG_DPOP_MAX_CHALLENGE);
    /* Read as the header's words: a quoted-pair (backslash, character) stands for the character. */
    char *plain = fuzz_strdup(s, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) plain[k++] = s[i] == '\\' && i + 1 < n ? s[++i] : s[i];
    FUZZ_CHECK(fuzz_contains(plain, k, "use") && fuzz_contains(plain, k, "nonce"));
    free(plain);
  }
  free(copy);
}

static void nonce(const char *s, size_t n) {
  ag_dpop_nonces store = {0};
  int rc = ag_dpop_nonce_put(&store, "https://a.test", s, n);
  FUZZ_CHECK(rc == AG_OK || rc == AG_ERR_INVALID || rc == AG_ERR_NOMEM);
  const char *got = ag_dpop_nonce_get(&store, "https://a.test");
  if (rc == AG_OK) {
    FUZZ_CHECK(got && strlen(got) == n && !memcmp(got, s, n));
    FUZZ_CHECK(n >= 1 && n <= AG_DPOP_MAX_NONCE && !memchr(s, ' ', n) && !memchr(s, '"', n));
  } else {
    FUZZ_CHECK(got == NULL);
  }
  ag_dpop_nonces_free(&store);
}

static void use_key(const ag_dpop_key *k) {
  static const unsigned char jti[AG_DPOP_JTI_BYTES] = {0};
  ag_dpop_claims in = {"GET", "https://api.test/x?y#z", "token", "n", jti, FUZZ_T0};
  char *input = NULL, *jws = NULL;
  FUZZ_CHECK(ag_dpop_signing_input(k, &in, &input) == AG_OK);
  const char *dot = strchr(input, '.');
  FUZZ_CHECK(dot && !strchr(dot + 1, '.'));
  unsigned char sig[AG_DPOP_SIGNATURE_BYTES] = {0};
  FUZZ_CHECK(ag_dpop_finish(input, sig, sizeof sig - 1, &jws) == AG_ERR_INVALID && !jws);
  FUZZ_CHECK(ag_dpop_finish(input, sig, sizeof sig, &jws) == AG_OK);
  FUZZ_CHECK(strlen(jws) == strlen(input) + 1 + 86);
  ag_free(jws);
  ag_free(input);
}

static void key(const char *s, size_t n) {
  ag_dpop_key k;
  const char *why = NULL;
  int rc = ag_dpop_key_parse(&k, s, n, &why);
  if (rc != AG_OK) {
    FUZZ_CHECK(rc == AG_ERR_INVALID ? why != NULL : rc == AG_ERR_NOMEM);
    FUZZ_CHECK(!k.jwk && !k.jkt && !k.x && !k.y);
    char *t = NULL;
    rc = ag_jwk_thumbprint(s, n, &t);
    FUZZ_CHECK((rc == AG_OK) == (t != NULL));
    ag_free(t);
    return;
  }
  FUZZ_CHECK(strlen(k.x) == 43 && strlen(k.y) == 43 && strlen(k.jkt) == 43);
  FUZZ_CHECK(!strstr(k.jwk, "\"d\""));
  char *t = NULL;
  FUZZ_CHECK(ag_jwk_thumbprint(s, n, &t) == AG_OK);
  FUZZ_CHECK(!strcmp(t, k.jkt));
  ag_free(t);
  use_key(&k);
  ag_dpop_key_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  size_t n1, n2, n3;
  const char *www = fuzz_until(&in, '\n', &n1);
  const char *value = fuzz_until(&in, '\n', &n2);
  const char *jwk = fuzz_take(&in, in.n, &n3);
  challenge(www, n1);
  nonce(value, n2);
  key(jwk, n3);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
