/* test_strtod.c — the wasm build's strtod: exact integers, sane decimals, the right end. */
#include "check.h"
#include "internal.h"

#include <stdlib.h>

static double conv(const char *s, size_t *used) {
  char *end = NULL;
  double v = ag_strtod(s, &end);
  *used = (size_t)(end - s);
  return v;
}

static void integers_up_to_two_to_the_53_are_exact(void) {
  size_t used;
  CHECK(conv("0", &used) == 0 && used == 1);
  CHECK(conv("300", &used) == 300 && used == 3);
  CHECK(conv("-42", &used) == -42 && used == 3);
  CHECK(conv("1700000000000", &used) == 1700000000000.0);
  CHECK(conv("9007199254740992", &used) == 9007199254740992.0 && used == 16);
  CHECK(conv("1e3", &used) == 1000 && used == 3);
}

static void decimals_match_the_c_library_within_a_rounding_step(void) {
  const char *cases[] = {"0.5",    "12.5",    "3.14159", "-0.001",
                         "2.5e-3", "6.02E23", "1e-300",  "123456.789e2"};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t used;
    double ours = conv(cases[i], &used), libc = strtod(cases[i], NULL);
    double diff = ours > libc ? ours - libc : libc - ours;
    double mag = libc < 0 ? -libc : libc;
    CHECK(diff <= mag * 1e-14);
    CHECK(used == strlen(cases[i]));
  }
}

static void end_stops_where_the_number_stops(void) {
  size_t used;
  CHECK(conv("15,", &used) == 15 && used == 2);
  CHECK(conv("7e", &used) == 7 && used == 1); /* an exponent needs digits */
  CHECK(conv("7e+", &used) == 7 && used == 1);
  CHECK(conv("x", &used) == 0 && used == 0);
  CHECK(conv("-", &used) == 0 && used == 0);
  CHECK(conv(".5", &used) == 0.5 && used == 2);
}

static void huge_exponents_saturate_without_looping_forever(void) {
  size_t used;
  CHECK(conv("1e999999999999", &used) > 1e308);
  CHECK(conv("1e-999999999999", &used) == 0);
}

int main(void) {
  RUN(integers_up_to_two_to_the_53_are_exact);
  RUN(decimals_match_the_c_library_within_a_rounding_step);
  RUN(end_stops_where_the_number_stops);
  RUN(huge_exponents_saturate_without_looping_forever);
  return CHECK_EXIT_CODE();
}
