/* test_tabs.c — the cross-tab protocol (tabs.c): hello, answers, generations. */
#include "check.h"
#include "client.h"
#include "driver.h"

#define MEM "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\"}}"
#define LOCAL "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\"},\"storage\":\"local\"}"
#define HELLO "{\"v\":1,\"type\":\"hello\"}"
#define SET "{\"access\":\"tokA\",\"refresh\":\"tokR\",\"expiresIn\":300}"

static void message(driver *d, ag_ms now, const char *m) {
  ag_client_message(d->c, now, m, strlen(m));
  drv_drain(d);
}

static void a_new_tab_without_shared_storage_says_hello(void) {
  driver d;
  drv_open(&d, MEM);
  drv_start(&d, 1000, NULL);
  const logged *b = drv_last(&d, AG_ACTION_BROADCAST, -1);
  CHECK(b && !strcmp(b->text, HELLO));
  drv_close(&d);
  drv_open(&d, LOCAL); /* local storage is shared: read it, ask nobody */
  drv_start(&d, 1000, NULL);
  CHECK(drv_count(&d, AG_ACTION_BROADCAST, -1) == 0);
  drv_close(&d);
}

static void a_tab_with_a_usable_session_answers_hello_and_an_empty_one_does_not(void) {
  driver d;
  drv_open(&d, MEM);
  drv_start(&d, 1000, NULL);
  drv_reset_log(&d);
  message(&d, 1100, HELLO);
  CHECK(drv_count(&d, AG_ACTION_BROADCAST, -1) == 0);
  ag_client_set_tokens(d.c, 1200, SET, strlen(SET));
  drv_drain(&d);
  drv_reset_log(&d);
  message(&d, 1300, HELLO);
  const logged *b = drv_last(&d, AG_ACTION_BROADCAST, -1);
  CHECK(b && strstr(b->text, "\"type\":\"tokens\"") && strstr(b->text, "tokA"));
  drv_close(&d);
}

static void only_a_newer_generation_counts(void) {
  driver d;
  drv_open(&d, MEM);
  drv_start(&d, 1000, NULL);
  const char *newer = "{\"v\":1,\"type\":\"tokens\",\"gen\":5000,\"access\":\"tokB\",\"exp\":0}";
  const char *older = "{\"v\":1,\"type\":\"tokens\",\"gen\":4000,\"access\":\"tokC\",\"exp\":0}";
  CHECK(ag_tabs_take_blob(d.c, 2000, newer, strlen(newer)) == AG_OK);
  CHECK(d.c->tok.access && !strcmp(d.c->tok.access, "tokB"));
  CHECK(ag_tabs_take_blob(d.c, 2001, older, strlen(older)) == AG_ERR_STALE);
  CHECK(ag_tabs_take_blob(d.c, 2002, newer, strlen(newer)) == AG_ERR_STALE); /* same gen */
  CHECK(ag_tabs_take_blob(d.c, 2003, "{", 1) == AG_ERR_BAD_BLOB);
  CHECK(!strcmp(d.c->tok.access, "tokB"));
  const char *logout = "{\"v\":1,\"type\":\"logout\",\"gen\":6000}";
  CHECK(ag_tabs_take_blob(d.c, 2004, logout, strlen(logout)) == AG_OK);
  CHECK(d.c->tok.access == NULL && ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_drain(&d);
  drv_close(&d);
}

static void messages_before_start_are_refused(void) {
  driver d;
  drv_open(&d, MEM);
  CHECK(ag_client_message(d.c, 1000, HELLO, strlen(HELLO)) == AG_ERR_INVALID);
  drv_close(&d);
}

int main(void) {
  RUN(a_new_tab_without_shared_storage_says_hello);
  RUN(a_tab_with_a_usable_session_answers_hello_and_an_empty_one_does_not);
  RUN(only_a_newer_generation_counts);
  RUN(messages_before_start_are_refused);
  return CHECK_EXIT_CODE();
}
