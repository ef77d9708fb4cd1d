/*
 * calls.c — the call table: every call the client knows (app calls and the
 * core's own requests) by id in a hash table, and one FIFO of the calls that
 * wait for readiness or a refresh. O(1) lookup, insert, unlink.
 */
#include "client.h"

#include <string.h>

/* A queued call is one 128-byte block of the wasm allocator with its 8-byte header
 * (src/wasm/malloc.c): a field added must find room, or the memory per call grows a class. */
#if UINTPTR_MAX == 0xFFFFFFFFu
_Static_assert(sizeof(call) <= 120, "struct call outgrew its allocator class on wasm32");
#endif

static size_t bucket_of(const ag_client *c, uint32_t id) { return id & (c->n_buckets - 1); }

static int table_grow(ag_client *c) {
  size_t n = c->n_buckets ? c->n_buckets * 2 : 64;
  call **b = ag_calloc(n, sizeof *b);
  if (!b) return AG_ERR_NOMEM;
  for (size_t i = 0; i < c->n_buckets; i++) {
    for (call *k = c->buckets[i], *next; k; k = next) {
      next = k->hnext;
      k->hnext = b[k->id & (n - 1)];
      b[k->id & (n - 1)] = k;
    }
  }
  ag_free(c->buckets);
  c->buckets = b;
  c->n_buckets = n;
  return AG_OK;
}

call *ag_call_find(const ag_client *c, uint32_t id) {
  if (!c->n_buckets) return NULL;
  for (call *k = c->buckets[bucket_of(c, id)]; k; k = k->hnext)
    if (k->id == id) return k;
  return NULL;
}

/*
 * A new call record, not registered yet: room for it in the table and for
 * its action in the ring is made here, so ag_call_add cannot fail.
 */
call *ag_call_make(ag_client *c, int kind) {
  if (c->n_calls >= c->n_buckets && table_grow(c) != AG_OK) return NULL;
  if (ag_timers_reserve(c, c->n_calls + 1) != AG_OK) return NULL;
  if (ag_actions_reserve(c, AG_ACTIONS_PER_CALL * (c->n_calls + 1) + AG_ACTION_SLACK) != AG_OK)
    return NULL;
  call *k = ag_calloc(1, sizeof *k);
  if (!k) return NULL;
  k->kind = (uint8_t)kind;
  return k;
}

/* Registers a call made by ag_call_make under a fresh id. */
void ag_call_add(ag_client *c, call *k) {
  do {
    k->id = ++c->next_id;
  } while (k->id == 0 || ag_call_find(c, k->id));
  if (k->kind == AG_SEND_LOGIN) c->logins_pending++;
  size_t b = bucket_of(c, k->id);
  k->hnext = c->buckets[b];
  c->buckets[b] = k;
  c->n_calls++;
}

call *ag_call_new(ag_client *c, int kind) {
  call *k = ag_call_make(c, kind);
  if (k) ag_call_add(c, k);
  return k;
}

void ag_call_unwait(ag_client *c, call *k) {
  if (!k->waiting) return;
  if (k->wprev) k->wprev->wnext = k->wnext;
  else c->wait_head = k->wnext;
  if (k->wnext) k->wnext->wprev = k->wprev;
  else c->wait_tail = k->wprev;
  k->wprev = k->wnext = NULL;
  k->waiting = 0;
}

void ag_call_forget_proof(call *k) {
  ag_free(k->dpop_input);
  ag_free(k->proof);
  ag_free_secret(k->dpop_auth);
  k->dpop_input = k->proof = k->dpop_auth = NULL;
  k->signing = false;
}

static const char *const standard_methods[] = {"GET",    "POST", "PUT",    "PATCH",
                                               "DELETE", "HEAD", "OPTIONS"};
#define N_STANDARD_METHODS (sizeof standard_methods / sizeof standard_methods[0])

static bool is_standard_name(const char *m) {
  for (size_t i = 0; i < N_STANDARD_METHODS; i++)
    if (m == standard_methods[i]) return true;
  return false;
}

const char *ag_method_name(const char *method, size_t len) {
  for (size_t i = 0; i < N_STANDARD_METHODS; i++)
    if (strlen(standard_methods[i]) == len && !memcmp(standard_methods[i], method, len))
      return standard_methods[i];
  return ag_strndup(method, len);
}

void ag_call_free(ag_client *c, call *k) {
  ag_call_unwait(c, k);
  ag_timer_disarm(c, k);
  if (k->id) { /* registered */
    call **pp = &c->buckets[bucket_of(c, k->id)];
    while (*pp != k) pp = &(*pp)->hnext;
    *pp = k->hnext;
    c->n_calls--;
    if (k->kind == AG_SEND_LOGIN) c->logins_pending--;
  }
  if (k->method && !is_standard_name(k->method)) ag_free((char *)k->method);
  ag_free(k->url);
  ag_free(k->detail);
  ag_free(k->own_retry);
  ag_free_secret(k->body);
  ag_call_forget_proof(k);
  ag_free(k);
}

/* Queues a call until readiness or a refresh; its deadline is readyTimeoutMs away. */
void ag_call_wait(ag_client *c, call *k, int why, ag_ms now) {
  if (k->waiting) ag_call_unwait(c, k);
  k->waiting = (uint8_t)why;
  k->deadline = now + c->cfg.ready_timeout_ms;
  k->wprev = c->wait_tail;
  if (c->wait_tail) c->wait_tail->wnext = k;
  else c->wait_head = k;
  c->wait_tail = k;
}

void ag_calls_free_all(ag_client *c) {
  for (size_t i = 0; i < c->n_buckets; i++)
    while (c->buckets[i]) ag_call_free(c, c->buckets[i]);
  ag_free(c->buckets);
  c->buckets = NULL;
  c->n_buckets = 0;
  ag_timers_free(c);
}
