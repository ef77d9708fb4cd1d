/* test_timers.c — the heap of call timers (timers.c). */
#include "check.h"
#include "client.h"
#include "driver.h"

#include <stdbool.h>

#define OPTS "{\"baseUrl\":\"http://api.test\"}"

/* Every slot knows its index and no child is due before its parent. */
static bool heap_is_sound(const ag_client *c) {
  for (size_t i = 0; i < c->n_timers; i++) {
    const call *k = c->timers[i];
    if (k->timer_ix != i || k->timer == TIMER_NONE) return false;
    if (i > 0 && k->timer_at < c->timers[(i - 1) / 2]->timer_at) return false;
  }
  return true;
}

/* The earliest armed call by looking at all of them; NULL when none is armed. */
static call *earliest_of(call *const *k, int n) {
  call *best = NULL;
  for (int i = 0; i < n; i++)
    if (k[i]->timer && (!best || k[i]->timer_at < best->timer_at)) best = k[i];
  return best;
}

static uint64_t next_random(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

static void the_earliest_comes_first_through_many_arms_disarms_and_re_arms(void) {
  driver d;
  drv_open(&d, OPTS);
  enum { N = 300, STEPS = 5000 }; /* past the heap's first block (64) */
  call *k[N];
  uint64_t rng = 42;
  for (int i = 0; i < N; i++) k[i] = ag_call_new(d.c, AG_SEND_CALL);
  CHECK(d.c->cap_timers >= N);
  bool sound = true, first_ok = true;
  for (int step = 0; step < STEPS; step++) {
    call *x = k[next_random(&rng) % N];
    if (next_random(&rng) % 3)
      ag_timer_arm(d.c, x, TIMER_ATTEMPT, (ag_ms)(next_random(&rng) % 1000));
    else ag_timer_disarm(d.c, x);
    sound = sound && heap_is_sound(d.c);
    call *first = ag_timer_first(d.c), *want = earliest_of(k, N);
    first_ok = first_ok && (first == want || (first && want && first->timer_at == want->timer_at));
  }
  CHECK(sound && first_ok);
  size_t armed = 0;
  for (int i = 0; i < N; i++) armed += k[i]->timer != TIMER_NONE;
  CHECK(armed == d.c->n_timers);
  /* taken in order, the times never go back */
  ag_ms last = -1;
  bool ordered = true;
  for (call *f; (f = ag_timer_first(d.c));) {
    ordered = ordered && f->timer_at >= last;
    last = f->timer_at;
    ag_timer_disarm(d.c, f);
  }
  CHECK(ordered && d.c->n_timers == 0);
  for (int i = 0; i < N; i++) ag_call_free(d.c, k[i]);
  drv_close(&d);
}

static void the_earliest_is_read_at_the_top_without_touching_the_heap(void) {
  driver d;
  drv_open(&d, OPTS);
  call *a = ag_call_new(d.c, AG_SEND_CALL), *b = ag_call_new(d.c, AG_SEND_CALL),
       *c = ag_call_new(d.c, AG_SEND_CALL);
  CHECK(ag_timer_first(d.c) == NULL);
  ag_timer_arm(d.c, a, TIMER_ATTEMPT, 300);
  ag_timer_arm(d.c, b, TIMER_RETRY, 100);
  ag_timer_arm(d.c, c, TIMER_ATTEMPT, 200);
  CHECK(ag_timer_first(d.c) == b && d.c->timers[0] == b);
  CHECK(ag_timer_first(d.c) == b && d.c->n_timers == 3); /* reading takes nothing out */
  CHECK(b->timer == TIMER_RETRY && b->timer_at == 100);
  ag_timer_arm(d.c, b, TIMER_ATTEMPT, 400); /* re-arming moves it, never adds a second slot */
  CHECK(d.c->n_timers == 3 && ag_timer_first(d.c) == c && b->timer == TIMER_ATTEMPT);
  ag_timer_arm(d.c, a, TIMER_ATTEMPT, 50); /* earlier than all: to the top */
  CHECK(ag_timer_first(d.c) == a && heap_is_sound(d.c));
  ag_call_free(d.c, a); /* a freed call leaves the heap */
  CHECK(ag_timer_first(d.c) == c && d.c->n_timers == 2);
  ag_call_free(d.c, b);
  ag_call_free(d.c, c);
  CHECK(d.c->n_timers == 0 && ag_timer_first(d.c) == NULL);
  drv_close(&d);
}

static void disarming_a_call_without_a_timer_changes_nothing(void) {
  driver d;
  drv_open(&d, OPTS);
  call *a = ag_call_new(d.c, AG_SEND_CALL), *b = ag_call_new(d.c, AG_SEND_CALL),
       *idle = ag_call_new(d.c, AG_SEND_CALL);
  ag_timer_arm(d.c, a, TIMER_ATTEMPT, 20);
  ag_timer_arm(d.c, b, TIMER_ATTEMPT, 10);
  ag_timer_disarm(d.c, idle);
  CHECK(d.c->n_timers == 2 && d.c->timers[0] == b && d.c->timers[1] == a);
  CHECK(idle->timer == TIMER_NONE);
  ag_timer_disarm(d.c, b);
  ag_timer_disarm(d.c, b); /* twice: the second finds nothing to do */
  CHECK(d.c->n_timers == 1 && d.c->timers[0] == a && a->timer_ix == 0);
  ag_call_free(d.c, a);
  ag_call_free(d.c, b);
  ag_call_free(d.c, idle);
  drv_close(&d);
}

static void reserving_grows_by_doubling_and_keeps_the_armed_calls(void) {
  driver d;
  drv_open(&d, OPTS);
  call *a = ag_call_new(d.c, AG_SEND_CALL);
  ag_timer_arm(d.c, a, TIMER_RETRY, 7);
  size_t cap = d.c->cap_timers;
  CHECK(cap >= 1 && ag_timers_reserve(d.c, cap) == AG_OK && d.c->cap_timers == cap);
  CHECK(ag_timers_reserve(d.c, cap + 1) == AG_OK && d.c->cap_timers == 2 * cap);
  CHECK(ag_timers_reserve(d.c, 5 * cap) == AG_OK && d.c->cap_timers == 8 * cap);
  CHECK(ag_timer_first(d.c) == a && a->timer_at == 7 && d.c->n_timers == 1);
  ag_call_free(d.c, a);
  drv_close(&d);
}

int main(void) {
  RUN(the_earliest_comes_first_through_many_arms_disarms_and_re_arms);
  RUN(the_earliest_is_read_at_the_top_without_touching_the_heap);
  RUN(disarming_a_call_without_a_timer_changes_nothing);
  RUN(reserving_grows_by_doubling_and_keeps_the_armed_calls);
  return CHECK_EXIT_CODE();
}
