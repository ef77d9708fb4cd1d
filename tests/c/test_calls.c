/* test_calls.c — the call table and the wait FIFO (calls.c). */
#include "check.h"
#include "client.h"
#include "driver.h"

#include <string.h>

#define OPTS "{\"baseUrl\":\"http://api.test\"}"

static void ids_are_unique_and_found_after_the_table_grows(void) {
  driver d;
  drv_open(&d, OPTS);
  enum { N = 300 }; /* past the first table size (64) twice over */
  call *k[N];
  uint32_t id[N];
  for (int i = 0; i < N; i++) {
    k[i] = ag_call_new(d.c, AG_SEND_CALL);
    CHECK(k[i] && k[i]->id != 0);
    id[i] = k[i]->id;
  }
  for (int i = 0; i < N; i++) CHECK(ag_call_find(d.c, k[i]->id) == k[i]);
  for (int i = 1; i < N; i++) CHECK(k[i]->id != k[i - 1]->id);
  CHECK(d.c->n_calls == N);
  for (int i = 0; i < N; i += 2) ag_call_free(d.c, k[i]);
  for (int i = 0; i < N; i++) CHECK((ag_call_find(d.c, id[i]) != NULL) == (i % 2 == 1));
  for (int i = 1; i < N; i += 2) ag_call_free(d.c, k[i]);
  CHECK(d.c->n_calls == 0);
  CHECK(ag_call_find(d.c, 12345) == NULL);
  drv_close(&d);
}

static void the_wait_fifo_keeps_order_and_unlinks_from_anywhere(void) {
  driver d;
  drv_open(&d, OPTS);
  call *a = ag_call_new(d.c, AG_SEND_CALL), *b = ag_call_new(d.c, AG_SEND_CALL),
       *c = ag_call_new(d.c, AG_SEND_CALL);
  ag_call_wait(d.c, a, WAIT_READY, 1000);
  ag_call_wait(d.c, b, WAIT_READY, 1001);
  ag_call_wait(d.c, c, WAIT_REFRESH, 1002);
  CHECK(d.c->wait_head == a && a->wnext == b && b->wnext == c && d.c->wait_tail == c);
  CHECK(a->deadline == 1000 + d.c->cfg.ready_timeout_ms);
  ag_call_unwait(d.c, b); /* the middle */
  CHECK(a->wnext == c && c->wprev == a && !b->waiting);
  ag_call_unwait(d.c, b);                   /* not waiting: nothing happens */
  ag_call_wait(d.c, a, WAIT_REFRESH, 2000); /* waiting again moves it to the end */
  CHECK(d.c->wait_head == c && d.c->wait_tail == a && a->waiting == WAIT_REFRESH);
  ag_call_free(d.c, a); /* freeing a waiting call unlinks it */
  CHECK(d.c->wait_head == c && d.c->wait_tail == c);
  ag_call_free(d.c, b);
  ag_call_free(d.c, c);
  CHECK(d.c->wait_head == NULL && d.c->wait_tail == NULL);
  drv_close(&d);
}

static void logins_pending_follows_login_records(void) {
  driver d;
  drv_open(&d, OPTS);
  call *l = ag_call_new(d.c, AG_SEND_LOGIN);
  CHECK(d.c->logins_pending == 1);
  ag_call_free(d.c, l);
  CHECK(d.c->logins_pending == 0);
  drv_close(&d);
}

static void standard_methods_are_shared_and_others_copied_as_written(void) {
  driver d;
  drv_open(&d, OPTS);
  const char *get = ag_method_name("GET", 3), *again = ag_method_name("GETX", 3);
  CHECK(get == again); /* one shared name: a queued call holds no copy */
  const char *names[] = {"patch", "PROPFIND", "Get", "GET "};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    call *k = ag_call_new(d.c, AG_SEND_CALL);
    k->method = ag_method_name(names[i], strlen(names[i]));
    CHECK_STR_EQ(k->method, names[i]); /* fetch sends these as written, so does the core */
    char *other = (char *)ag_method_name(names[i], strlen(names[i]));
    CHECK(other != k->method); /* each its own copy */
    ag_free(other);
    ag_call_free(d.c, k); /* frees the copy (ASan, valgrind: no leak, no bad free) */
  }
  call *k = ag_call_new(d.c, AG_SEND_CALL);
  k->method = get;
  ag_call_free(d.c, k); /* the shared name is not freed */
  CHECK_STR_EQ(ag_method_name("DELETE", 6), "DELETE");
  drv_close(&d);
}

int main(void) {
  RUN(ids_are_unique_and_found_after_the_table_grows);
  RUN(the_wait_fifo_keeps_order_and_unlinks_from_anywhere);
  RUN(logins_pending_follows_login_records);
  RUN(standard_methods_are_shared_and_others_copied_as_written);
  return CHECK_EXIT_CODE();
}
