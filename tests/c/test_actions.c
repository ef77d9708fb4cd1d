/* test_actions.c — the action ring (actions.c). */
#include "check.h"
#include "client.h"
#include "driver.h"

#define OPTS "{\"baseUrl\":\"http://api.test\"}"

static void actions_drain_in_order_across_ring_growth(void) {
  driver d;
  drv_open(&d, OPTS);
  ag_action a;
  /* Wrap the ring first, so growth has to unroll it. */
  for (int i = 0; i < 10; i++) ag_emit(d.c, AG_ACTION_UNLOCK);
  for (int i = 0; i < 10; i++) CHECK(ag_client_next_action(d.c, &a) == 1);
  for (uint32_t i = 0; i < 100; i++)
    ag_action_push(d.c, AG_ACTION_REJECT, i + 1, AG_CODE_NO_TOKEN, ag_strndup("why", 3));
  for (uint32_t i = 0; i < 100; i++) {
    CHECK(ag_client_next_action(d.c, &a) == 1);
    CHECK(a.type == AG_ACTION_REJECT && a.id == i + 1 && a.code == AG_CODE_NO_TOKEN);
    CHECK(a.text && a.text_len == 3 && !memcmp(a.text, "why", 3));
  }
  CHECK(ag_client_next_action(d.c, &a) == 0);
  CHECK(d.c->oom == false);
  drv_close(&d);
}

static void a_send_for_a_call_that_is_gone_is_skipped(void) {
  driver d;
  drv_open(&d, OPTS);
  call *k = ag_call_new(d.c, AG_SEND_CALL);
  uint32_t id = k->id;
  ag_action_push(d.c, AG_ACTION_SEND, id, AG_SEND_CALL, NULL);
  ag_emit(d.c, AG_ACTION_UNLOCK);
  ag_call_free(d.c, k); /* cancelled before the embedder drained the SEND */
  ag_action a;
  CHECK(ag_client_next_action(d.c, &a) == 1 && a.type == AG_ACTION_UNLOCK);
  CHECK(ag_client_next_action(d.c, &a) == 0);
  drv_close(&d);
}

static void a_static_text_goes_out_as_it_is_and_is_never_freed(void) {
  driver d;
  drv_open(&d, OPTS);
  static const char why[] = "no memory for the whole message";
  CHECK(ag_actions_reserve(d.c, 1) == AG_OK);
  ag_action_push_static(d.c, AG_ACTION_REJECT, 7, AG_CODE_NO_TOKEN, why);
  ag_action a;
  CHECK(ag_client_next_action(d.c, &a) == 1 && a.type == AG_ACTION_REJECT && a.id == 7);
  CHECK(a.text == why && a.text_len == sizeof why - 1);
  CHECK(ag_client_next_action(d.c, &a) == 0); /* RUN: nothing freed twice, nothing leaked */
  drv_close(&d);
}

static void a_reserved_ring_takes_every_push_without_growing(void) {
  driver d;
  drv_open(&d, OPTS);
  CHECK(ag_actions_reserve(d.c, 100) == AG_OK);
  size_t cap = d.c->cap_actions;
  CHECK(cap >= 100);
  for (int i = 0; i < 100; i++) ag_emit(d.c, AG_ACTION_UNLOCK);
  CHECK(d.c->cap_actions == cap && d.c->n_actions == 100 && !d.c->oom);
  drv_close(&d);
}

static void undrained_texts_are_freed_with_the_client(void) {
  driver d;
  drv_open(&d, OPTS);
  for (int i = 0; i < 40; i++) ag_action_push(d.c, AG_ACTION_BROADCAST, 0, 0, ag_strndup("m", 1));
  drv_close(&d); /* RUN fails the test on any block left behind */
}

int main(void) {
  RUN(actions_drain_in_order_across_ring_growth);
  RUN(a_send_for_a_call_that_is_gone_is_skipped);
  RUN(a_static_text_goes_out_as_it_is_and_is_never_freed);
  RUN(a_reserved_ring_takes_every_push_without_growing);
  RUN(undrained_texts_are_freed_with_the_client);
  return CHECK_EXIT_CODE();
}
