/*
 * test_alloc.c — the one allocator (alloc.c): every block counted, the
 * swappable (and failing) allocator, cJSON allocating through it, the wipe.
 */
#include "check.h"
#include "internal.h"
#include "json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* The hook: counts what reaches it, fails while `out_of_memory`. */
static bool out_of_memory;
static long hook_mallocs, hook_frees;
static size_t wiped_len; /* when set, the hook checks that this many bytes were zeroed */
static int unwiped_frees;

static void *hook_malloc(size_t n) {
  if (out_of_memory) return NULL;
  hook_mallocs++;
  return malloc(n);
}

static void hook_free(void *p) {
  hook_frees++;
  for (size_t i = 0; i < wiped_len; i++)
    if (((unsigned char *)p)[i]) {
      unwiped_frees++;
      break;
    }
  free(p);
}

static void use_hook(bool on) {
  ag_set_allocator(on ? hook_malloc : NULL, on ? hook_free : NULL);
  out_of_memory = false;
  hook_mallocs = hook_frees = 0;
  wiped_len = 0;
  unwiped_frees = 0;
}

static void the_live_count_goes_up_and_down_with_every_block(void) {
  long live = ag_live_allocations();
  void *p = ag_malloc(10);
  CHECK(p && ag_live_allocations() == live + 1);
  unsigned char *z = ag_calloc(3, 4);
  CHECK(z && ag_live_allocations() == live + 2);
  bool zeroed = true;
  for (int i = 0; z && i < 12; i++) zeroed = zeroed && z[i] == 0;
  CHECK(zeroed);
  char *s = ag_strndup("abcdef", 3);
  CHECK_STR_EQ(s, "abc");
  void *none = ag_malloc(0); /* a block of its own, counted like any other */
  CHECK(none && ag_live_allocations() == live + 4);
  ag_free(NULL);
  CHECK(ag_live_allocations() == live + 4);
  ag_free(p);
  ag_free(z);
  ag_free(s);
  ag_free(none);
  CHECK(ag_live_allocations() == live);
}

static void sizes_that_overflow_are_refused_before_allocating(void) {
  long live = ag_live_allocations();
  unsigned long failures = ag_alloc_failures();
  CHECK(ag_calloc(SIZE_MAX / 2 + 1, 2) == NULL);
  CHECK(ag_strndup("x", SIZE_MAX) == NULL);
  CHECK(ag_live_allocations() == live && ag_alloc_failures() == failures);
  char *empty = ag_strndup(NULL, 0);
  CHECK_STR_EQ(empty, "");
  ag_free(empty);
}

static void the_hook_gets_every_block_and_a_failure_is_counted(void) {
  use_hook(true);
  long live = ag_live_allocations();
  unsigned long failures = ag_alloc_failures();
  char *s = ag_strndup("abc", 3);
  CHECK(s && hook_mallocs == 1);
  ag_free(s);
  CHECK(hook_frees == 1 && ag_live_allocations() == live);
  out_of_memory = true;
  CHECK(ag_malloc(8) == NULL);
  CHECK(ag_calloc(2, 8) == NULL);
  CHECK(ag_strndup("abc", 3) == NULL);
  CHECK(ag_alloc_failures() == failures + 3);
  CHECK(ag_live_allocations() == live); /* a failed block is not live */
  use_hook(false);
  s = ag_strndup("abc", 3); /* malloc again */
  CHECK(s && hook_mallocs == 0);
  ag_free(s);
}

static void cjson_allocates_through_the_hook(void) {
  use_hook(true);
  long live = ag_live_allocations();
  const char *json = "{\"a\":[1,\"two\"]}";
  cJSON *raw = cJSON_ParseWithLength(json, strlen(json)); /* cJSON itself, not ag_json_parse */
  CHECK(raw && hook_mallocs > 0 && ag_live_allocations() > live);
  cJSON_Delete(raw);
  CHECK(hook_frees == hook_mallocs && ag_live_allocations() == live);
  /* out of memory inside cJSON looks like bad JSON: the failure count tells them apart */
  unsigned long failures = ag_alloc_failures();
  out_of_memory = true;
  CHECK(ag_json_parse(json, strlen(json)) == NULL);
  CHECK(ag_alloc_failures() > failures);
  failures = ag_alloc_failures();
  out_of_memory = false;
  CHECK(ag_json_parse("{", 1) == NULL);
  CHECK(ag_alloc_failures() == failures);
  CHECK(ag_live_allocations() == live);
  use_hook(false);
}

static void a_wipe_zeroes_exactly_what_it_is_told(void) {
  char s[] = "secretXY";
  ag_wipe(s, 6);
  CHECK(!memcmp(s, "\0\0\0\0\0\0XY", 9));
  ag_wipe(s, 0);
  CHECK(s[6] == 'X');
}

static void a_secret_is_zeroed_before_it_is_freed(void) {
  use_hook(true);
  char *secret = ag_strndup("hunter2", 7);
  wiped_len = 7;
  ag_free_secret(secret);
  CHECK(hook_frees == 1 && unwiped_frees == 0);
  /* the hook notices a plain free */
  secret = ag_strndup("hunter2", 7);
  ag_free(secret);
  CHECK(hook_frees == 2 && unwiped_frees == 1);
  ag_free_secret(NULL);
  CHECK(hook_frees == 2);
  use_hook(false);
}

int main(void) {
  RUN(the_live_count_goes_up_and_down_with_every_block);
  RUN(sizes_that_overflow_are_refused_before_allocating);
  RUN(the_hook_gets_every_block_and_a_failure_is_counted);
  RUN(cjson_allocates_through_the_hook);
  RUN(a_wipe_zeroes_exactly_what_it_is_told);
  RUN(a_secret_is_zeroed_before_it_is_freed);
  return CHECK_EXIT_CODE();
}
