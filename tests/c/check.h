/*
 * check.h — the unit tests' whole framework. Each test is a void function;
 * RUN(test) prints "ok - test" or "not ok - test" (TAP-like) and also fails a
 * test that leaves core allocations behind. main returns CHECK_EXIT_CODE().
 */
#ifndef AG_CHECK_H
#define AG_CHECK_H

#include "authgate.h"

#include <stdio.h>
#include <string.h>

static int check_failures; /* in the running test */
static int check_failed_tests;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond);                          \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

#define CHECK_STR_EQ(got, want)                                                                    \
  do {                                                                                             \
    const char *got_ = (got), *want_ = (want);                                                     \
    if (!got_ || !want_ || strcmp(got_, want_) != 0) {                                             \
      fprintf(stderr, "  %s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,                    \
              got_ ? got_ : "(null)", want_ ? want_ : "(null)");                                   \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

#define RUN(test)                                                                                  \
  do {                                                                                             \
    long live_ = ag_live_allocations();                                                            \
    check_failures = 0;                                                                            \
    test();                                                                                        \
    if (ag_live_allocations() != live_) {                                                          \
      fprintf(stderr, "  %s leaks %ld blocks\n", #test, ag_live_allocations() - live_);            \
      check_failures++;                                                                            \
    }                                                                                              \
    printf("%s - %s\n", check_failures ? "not ok" : "ok", #test);                                  \
    fflush(stdout);                                                                                \
    if (check_failures) check_failed_tests++;                                                      \
  } while (0)

#define CHECK_EXIT_CODE() (check_failed_tests ? 1 : 0)

#endif /* AG_CHECK_H */
