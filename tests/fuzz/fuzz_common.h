/*
 * fuzz_common.h — shared by the libFuzzer targets: an invariant check that
 * aborts with a message (libFuzzer then keeps the input as a crash), a
 * reader that takes bytes off the front of the input, and the per-input
 * leak check on the core's own allocation counter.
 *
 * Targets are deterministic: no clock, no randomness but the input.
 */
#ifndef AUTHGATE_FUZZ_COMMON_H
#define AUTHGATE_FUZZ_COMMON_H

#include "authgate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "invariant failed: %s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

#define FUZZ_FAIL(why)                                                                             \
  do {                                                                                             \
    fprintf(stderr, "invariant failed: %s:%d: %s\n", __FILE__, __LINE__, why);                     \
    abort();                                                                                       \
  } while (0)

/* A date in 2023, as Date.now() would give it. */
#define FUZZ_T0 1700000000000.0

/* Bytes taken off the front of the input; reads past the end give 0. */
typedef struct fuzz_in {
  const uint8_t *p;
  size_t n;
} fuzz_in;

static inline uint8_t fuzz_byte(fuzz_in *in) {
  if (!in->n) return 0;
  in->n--;
  return *in->p++;
}

static inline uint16_t fuzz_u16(fuzz_in *in) {
  uint16_t hi = fuzz_byte(in);
  return (uint16_t)((hi << 8) | fuzz_byte(in));
}

/* The next n bytes (fewer at the end of the input). */
static inline const char *fuzz_take(fuzz_in *in, size_t n, size_t *got) {
  const char *s = (const char *)in->p;
  if (n > in->n) n = in->n;
  in->p += n;
  in->n -= n;
  *got = n;
  return s;
}

/* Up to the next `sep` (consumed) or the end of the input. */
static inline const char *fuzz_until(fuzz_in *in, uint8_t sep, size_t *got) {
  const uint8_t *end = memchr(in->p, sep, in->n);
  size_t n = end ? (size_t)(end - in->p) : in->n;
  const char *s = fuzz_take(in, n, got);
  if (end) fuzz_byte(in);
  return s;
}

/* A NUL-terminated heap copy (for checks that need strstr). */
static inline char *fuzz_strdup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) abort();
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/*
 * True when the bytes hold `needle` (not empty). An oracle, not code under
 * test: it is left out of libFuzzer's coverage and comparison tracing, and
 * compares bytes itself rather than through memcmp, whose hook traced every
 * failed comparison (a fifth of the state-machine target's time went there).
 */
#if defined(__clang__)
#define FUZZ_ORACLE __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_ORACLE
#endif
FUZZ_ORACLE static inline int fuzz_contains(const char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  if (!hay || !k || k > n) return 0;
  for (size_t i = 0; i + k <= n; i++) {
    size_t j = 0;
    while (j < k && hay[i + j] == needle[j]) j++;
    if (j == k) return 1;
  }
  return 0;
}

/*
 * Whether a text shows a token the fuzzer made up (one taken from a message or
 * a response it wrote). Short ones are not judged: they are found in the
 * message's own words by chance (an access token "ET" is in "GET"), and
 * libFuzzer, which sees the comparison, finds such tokens quickly.
 */
#define FUZZ_MIN_SECRET 12
static inline int fuzz_shows_secret(const char *text, size_t n, const char *token) {
  return token && strlen(token) >= FUZZ_MIN_SECRET && fuzz_contains(text, n, token);
}

#endif
