/*
 * test_cjson_realloc.c — cJSON is built without the C library's realloc
 * (src/cjson_realloc.c). Once the core has installed its hooks, cJSON never
 * needs it: printing, should anything print, still works and frees what it
 * allocated through the core's counting allocator.
 */
#include "check.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

void *ag_cjson_realloc(void *block, size_t size);

static void the_realloc_cjson_calls_refuses_every_request(void) {
  char byte = 0;
  CHECK(ag_cjson_realloc(NULL, 16) == NULL);
  CHECK(ag_cjson_realloc(&byte, 16) == NULL);
}

static void printing_after_the_core_set_its_hooks_needs_no_realloc(void) {
  ag_alloc_init();
  long before = ag_live_allocations();
  cJSON *item = cJSON_CreateObject();
  CHECK(item != NULL);
  CHECK(cJSON_AddStringToObject(item, "access", "A1") != NULL);
  CHECK(ag_live_allocations() > before);
  char *text = cJSON_PrintUnformatted(item);
  CHECK_STR_EQ(text, "{\"access\":\"A1\"}");
  cJSON_free(text);
  cJSON_Delete(item);
  CHECK(ag_live_allocations() == before);
}

int main(void) {
  RUN(the_realloc_cjson_calls_refuses_every_request);
  RUN(printing_after_the_core_set_its_hooks_needs_no_realloc);
  return CHECK_EXIT_CODE();
}
