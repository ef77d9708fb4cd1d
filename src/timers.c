/*
 * timers.c — one binary min-heap of the calls that have a timer: the
 * deadline of an attempt in flight (timeoutMs, or the bound on the core's
 * own requests) or the time of a retry. Deadlines differ per call, so the
 * wait FIFO (all readyTimeoutMs long, hence in order) cannot hold them.
 * O(log n) arm and disarm, O(1) for the earliest.
 */
#include "client.h"

static bool before(const call *a, const call *b) { return a->timer_at < b->timer_at; }

static void place(ag_client *c, size_t i, call *k) {
  c->timers[i] = k;
  k->timer_ix = i;
}

static void sift_up(ag_client *c, size_t i) {
  call *k = c->timers[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(k, c->timers[parent])) break;
    place(c, i, c->timers[parent]);
    i = parent;
  }
  place(c, i, k);
}

static void sift_down(ag_client *c, size_t i) {
  call *k = c->timers[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= c->n_timers) break;
    if (child + 1 < c->n_timers && before(c->timers[child + 1], c->timers[child])) child++;
    if (!before(c->timers[child], k)) break;
    place(c, i, c->timers[child]);
    i = child;
  }
  place(c, i, k);
}

int ag_timers_reserve(ag_client *c, size_t n) {
  if (n <= c->cap_timers) return AG_OK;
  size_t cap = c->cap_timers ? c->cap_timers * 2 : 64;
  while (cap < n) cap *= 2;
  call **grown = ag_calloc(cap, sizeof *grown);
  if (!grown) return AG_ERR_NOMEM;
  for (size_t i = 0; i < c->n_timers; i++) grown[i] = c->timers[i];
  ag_free(c->timers);
  c->timers = grown;
  c->cap_timers = cap;
  return AG_OK;
}

void ag_timer_disarm(ag_client *c, call *k) {
  if (!k->timer) return;
  size_t i = k->timer_ix;
  k->timer = TIMER_NONE;
  call *last = c->timers[--c->n_timers];
  if (last != k) {
    place(c, i, last);
    sift_up(c, i);
    sift_down(c, last->timer_ix);
  }
}

void ag_timer_arm(ag_client *c, call *k, int what, ag_ms at) {
  ag_timer_disarm(c, k);
  if (c->n_timers >= c->cap_timers) return; /* cannot happen: ag_call_make reserved the slot */
  k->timer = (uint8_t)what;
  k->timer_at = at;
  place(c, c->n_timers++, k);
  sift_up(c, k->timer_ix);
}

call *ag_timer_first(const ag_client *c) { return c->n_timers ? c->timers[0] : NULL; }

void ag_timers_free(ag_client *c) {
  ag_free(c->timers);
  c->timers = NULL;
  c->n_timers = c->cap_timers = 0;
}
