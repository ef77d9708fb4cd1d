/*
 * strtod.c — a small decimal-to-double conversion: cJSON's number parser
 * in every build (CMake compiles cJSON.c with -Dstrtod=ag_strtod), so the
 * native tests and fuzzers run the parser that ships. The C library's
 * strtod is exact for every input, and for that it pulls in 128-bit
 * soft-float arithmetic: about a quarter of the wasm. The
 * numbers the core reads are integers (expires_in, exp, generations), which
 * this conversion gives exactly up to 2^53; other decimals come out within
 * a rounding step or two, which no decision here depends on.
 */
#include "internal.h"

static const char *digits(const char *p, double *v, int *count) {
  for (; *p >= '0' && *p <= '9'; p++, (*count)++) *v = *v * 10 + (*p - '0');
  return p;
}

/* Applies 10^exp by repeated steps; past ±400 the double is 0 or infinite anyway. */
static double scale10(double v, long exp) {
  if (exp > 400) exp = 400;
  if (exp < -400) exp = -400;
  for (; exp > 0; exp--) v *= 10;
  for (; exp < 0; exp++) v /= 10;
  return v;
}

double ag_strtod(const char *s, char **end) {
  const char *p = s;
  bool negative = *p == '-';
  if (*p == '-' || *p == '+') p++;
  double v = 0;
  int n_int = 0, n_frac = 0;
  p = digits(p, &v, &n_int);
  if (*p == '.') p = digits(p + 1, &v, &n_frac);
  if (n_int + n_frac == 0) {
    if (end) *end = (char *)s; /* no number at all */
    return 0;
  }
  long exp = -(long)n_frac;
  if (*p == 'e' || *p == 'E') {
    const char *q = p + 1;
    bool exp_negative = *q == '-';
    if (*q == '-' || *q == '+') q++;
    if (*q >= '0' && *q <= '9') {
      long e = 0;
      for (; *q >= '0' && *q <= '9'; q++)
        if (e < 100000) e = e * 10 + (*q - '0');
      exp += exp_negative ? -e : e;
      p = q;
    }
  }
  if (end) *end = (char *)p;
  v = scale10(v, exp);
  return negative ? -v : v;
}
