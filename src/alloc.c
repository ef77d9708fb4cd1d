/*
 * alloc.c — the core's one allocator. Every block is counted so tests can
 * prove nothing leaks, and a test can swap in a failing allocator. cJSON
 * allocates through the same functions (its hooks are set here), so the
 * count covers parsed JSON too.
 */
#include "internal.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static void *(*g_malloc)(size_t) = malloc;
static void (*g_free)(void *) = free;
/* Process-wide by design (like cJSON's hooks): the allocator is the one global. */
static long g_live;
static unsigned long g_failures; /* failed allocations so far: tells ENOMEM from bad input */

static void *counted_malloc(size_t n) {
  void *p = g_malloc(n ? n : 1);
  if (p) g_live++;
  else g_failures++;
  return p;
}

static void counted_free(void *p) {
  if (!p) return;
  g_live--;
  g_free(p);
}

static void install_cjson_hooks(void) {
  cJSON_Hooks hooks = {counted_malloc, counted_free};
  cJSON_InitHooks(&hooks);
}

void ag_set_allocator(void *(*malloc_fn)(size_t), void (*free_fn)(void *)) {
  g_malloc = malloc_fn ? malloc_fn : malloc;
  g_free = free_fn ? free_fn : free;
  install_cjson_hooks();
}

long ag_live_allocations(void) { return g_live; }

unsigned long ag_alloc_failures(void) { return g_failures; }

/* cJSON must allocate through us from its very first block, or counts drift. */
static void ensure_hooks(void) {
  static int hooked;
  if (!hooked) {
    hooked = 1;
    install_cjson_hooks();
  }
}

void ag_alloc_init(void) { ensure_hooks(); }

void *ag_malloc(size_t n) {
  ensure_hooks();
  return counted_malloc(n);
}

void *ag_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  void *p = ag_malloc(count * size);
  if (p) memset(p, 0, count * size);
  return p;
}

void ag_free(void *p) { counted_free(p); }

char *ag_strndup(const char *s, size_t n) {
  if (n == SIZE_MAX) return NULL;
  char *p = ag_malloc(n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* volatile so the compiler cannot drop the wipe of memory about to be freed. */
void ag_wipe(void *p, size_t n) {
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
}

void ag_free_secret(char *s) {
  if (!s) return;
  ag_wipe(s, strlen(s));
  ag_free(s);
}
