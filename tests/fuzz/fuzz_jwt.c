/*
 * fuzz_jwt.c — ag_base64url_decode and ag_jwt_exp_ms.
 *
 * The input is used three ways: as base64url text (a decode that succeeds
 * re-encodes to the same text: the decoder accepts canonical encodings
 * only), as a whole token, and as the JSON payload of a JWT
 * ("e30.<base64url(input)>.sig") so the fuzzer reaches the claim parser
 * directly. Invariants: exp is 0 or a positive whole number of ms below
 * 2^53; decoded buffers are NUL-terminated and no longer than 3/4 of the
 * input; nothing leaks.
 */
#include "fuzz_common.h"
#include "internal.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of s into out (room: 4 * ceil(n / 3) + 1). */
static size_t encode(char *out, const uint8_t *s, size_t n) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    out[o++] = b64[v >> 18], out[o++] = b64[(v >> 12) & 63], out[o++] = b64[(v >> 6) & 63],
    out[o++] = b64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)s[i] << 16;
    out[o++] = b64[v >> 18], out[o++] = b64[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
    out[o++] = b64[v >> 18], out[o++] = b64[(v >> 12) & 63], out[o++] = b64[(v >> 6) & 63];
  }
  out[o] = '\0';
  return o;
}

static void check_exp(ag_ms ms) {
  FUZZ_CHECK(ms == 0 || (ms > 0 && ms < 9007199254740992.0));
  FUZZ_CHECK(ms == (ag_ms)(int64_t)ms); /* whole ms, never NaN */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  const char *s = (const char *)data;

  size_t n = 0;
  unsigned char *dec = ag_base64url_decode(s, size, &n);
  if (dec) {
    FUZZ_CHECK(n <= size * 3 / 4 + 1);
    FUZZ_CHECK(dec[n] == '\0');
    char *re = malloc(n / 3 * 4 + 8);
    size_t m = encode(re, dec, n);
    size_t unpadded = size;
    while (unpadded > 0 && s[unpadded - 1] == '=') unpadded--;
    FUZZ_CHECK(m == unpadded && !memcmp(re, s, m));
    free(re);
    ag_free(dec);
  } else {
    FUZZ_CHECK(n == 0);
  }

  check_exp(ag_jwt_exp_ms(s, size));

  /* The input as the payload of an unsigned JWT. */
  if (size <= 12000) {
    char *jwt = malloc(4 + size / 3 * 4 + 8 + 4);
    memcpy(jwt, "e30.", 4);
    size_t m = 4 + encode(jwt + 4, data, size);
    memcpy(jwt + m, ".sig", 5);
    ag_ms ms = ag_jwt_exp_ms(jwt, m + 4);
    check_exp(ms);
    free(jwt);
  }
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
