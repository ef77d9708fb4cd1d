/*
 * cjson_realloc.c — what cJSON.c calls for realloc (CMake compiles it with
 * -Drealloc=ag_cjson_realloc, like strtod). cJSON uses realloc only to trim
 * a printed buffer, and only while its hooks are the C library's malloc and
 * free. The core never prints with cJSON and installs its own counting
 * hooks before cJSON allocates anything, so this is never called; keeping
 * the C library's realloc referenced would cost about 1.1 KB of the wasm
 * (emmalloc's realloc). A print under the default hooks fails cleanly
 * (cJSON treats NULL as out of memory) instead of running unseen code.
 */
#include <stddef.h>

void *ag_cjson_realloc(void *block, size_t size);

void *ag_cjson_realloc(void *block, size_t size) {
  (void)block;
  (void)size;
  return NULL;
}
