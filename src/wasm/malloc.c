/*
 * wasm/malloc.c — malloc and free for the WebAssembly build only (CMake links
 * it with -sMALLOC=none; native builds use the C library's). Emscripten's
 * emmalloc was about 900 B of the gzipped module; this is a tenth of that.
 *
 * Segregated free lists without coalescing: a block's size is rounded up to
 * a class (16 to 128 bytes by 8, then four classes per power of two), a freed
 * block goes on its class's list and the next request of that class takes it
 * back. The core's pattern suits it: many small blocks of a few sizes, and
 * tables that grow by doubling to sizes the next burst asks for again, so the
 * memory reaches its peak once and stays flat afterwards (the heap test runs
 * 100,000 calls). Rounding costs at most a quarter of a block.
 *
 * Process-wide by design, as any malloc: the free lists and the heap top.
 */
#include <stddef.h>
#include <stdint.h>

#define HEADER 8u    /* keeps payloads 8-byte aligned; holds the class */
#define CLASSES 112u /* enough for the largest request allowed below */
#define MAX_REQUEST ((size_t)1 << 30)

extern unsigned char __heap_base;
/* The shim's import: the memory grew, its views of it must be renewed. */
void emscripten_notify_memory_growth(size_t memory_index);

static void *free_lists[CLASSES];
static uintptr_t top;

static size_t class_size(unsigned c) {
  if (c < 15u) return (size_t)(c + 2u) * 8u;
  c -= 15u;
  return (size_t)(5u + (c & 3u)) << ((c >> 2) + 5u);
}

static unsigned class_of(size_t total) {
  if (total <= 128u) return total <= 16u ? 0u : (unsigned)((total + 7u) / 8u) - 2u;
  unsigned c = 15u;
  while (class_size(c) < total) c++;
  return c;
}

/* The next `bytes` of the heap, growing the memory when needed; NULL when it cannot grow. */
static void *take(size_t bytes) {
  if (!top) top = ((uintptr_t)&__heap_base + 15u) & ~(uintptr_t)15u;
  size_t have = __builtin_wasm_memory_size(0) << 16;
  if (bytes > SIZE_MAX - top) return NULL;
  uintptr_t end = top + bytes;
  if (end > have) {
    size_t pages = (end - have + 65535u) >> 16;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return NULL;
    emscripten_notify_memory_growth(0);
  }
  void *block = (void *)top;
  top = end;
  return block;
}

void *malloc(size_t n) {
  if (n > MAX_REQUEST) return NULL;
  unsigned c = class_of(n + HEADER);
  char *block = free_lists[c];
  if (block) {
    free_lists[c] = *(void **)(block + HEADER);
  } else {
    block = take(class_size(c));
    if (!block) return NULL;
    *(uint32_t *)block = c;
  }
  return block + HEADER;
}

void free(void *p) {
  if (!p) return;
  char *block = (char *)p - HEADER;
  unsigned c = *(uint32_t *)block;
  *(void **)p = free_lists[c];
  free_lists[c] = block;
}
