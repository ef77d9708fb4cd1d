/*
 * test_timeouts.c — deadlines per attempt (app calls, login, refresh), and
 * what happens when the page wakes up or the network comes back: scripted
 * events, time as an argument.
 */
#include "check.h"
#include "driver.h"
#include "internal.h"

#define T0 1700000000000.0
#define HOUR 3600000.0
#define BASE                                                                                       \
  "\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/auth/login\"},\"refresh\":{\"url\":"      \
  "\"/auth/refresh\"},\"crossTab\":false,\"storage\":\"local\""
#define OPTS "{" BASE "}"
#define TOKENS(a, r, s)                                                                            \
  "{\"access_token\":\"" a "\",\"refresh_token\":\"" r "\",\"expires_in\":" #s "}"

static void call_times_out_at_its_deadline_and_not_one_ms_before(void) {
  driver d;
  drv_logged_in(&d, "{" BASE ",\"timeoutMs\":500}", T0);
  uint32_t id = drv_call(&d, T0, "GET", "/api/slow", NULL);
  const logged *send = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(send && send->abortable); /* the shim makes an AbortController for it */
  CHECK(ag_client_next_deadline(d.c) == T0 + 500);
  drv_tick(&d, T0 + 499);
  CHECK(drv_for(&d, AG_ACTION_ABORT, id) == NULL && drv_for(&d, AG_ACTION_REJECT, id) == NULL);
  drv_tick(&d, T0 + 500);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(drv_for(&d, AG_ACTION_ABORT, id) != NULL);
  CHECK(r && r->code == AG_CODE_TIMEOUT);
  CHECK(r && strstr(r->text, "GET http://api.test/api/slow") && strstr(r->text, "500 ms"));
  CHECK_STR_EQ(ag_code_name(AG_CODE_TIMEOUT), "TIMEOUT");
  /* its late answer changes nothing */
  CHECK(ag_client_response(d.c, T0 + 600, id, 200, NULL, 0) == AG_ERR_INVALID);
  CHECK(ag_client_next_deadline(d.c) == T0 + 270000); /* only the proactive refresh is left */
  drv_close(&d);
}

static void an_answer_before_the_deadline_disarms_it(void) {
  driver d;
  drv_logged_in(&d, "{" BASE ",\"timeoutMs\":500}", T0);
  uint32_t id = drv_call(&d, T0, "GET", "/api/a", NULL);
  drv_respond(&d, T0 + 499, id, 200, NULL);
  drv_tick(&d, T0 + 500);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  CHECK(drv_count(&d, AG_ACTION_ABORT, -1) == 0 && drv_count(&d, AG_ACTION_REJECT, -1) == 0);
  drv_close(&d);
}

static void per_call_timeout_overrides_the_option(void) {
  driver d;
  drv_logged_in(&d, "{" BASE ",\"timeoutMs\":500}", T0);
  uint32_t a = drv_call_opts(&d, T0, "GET", "/api/a", "{\"timeoutMs\":50}");
  CHECK(ag_client_next_deadline(d.c) == T0 + 50);
  drv_tick(&d, T0 + 50);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_TIMEOUT && strstr(r->text, "50 ms"));
  const logged *sent_a = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(sent_a && sent_a->abortable);
  uint32_t b = drv_call_opts(&d, T0 + 60, "GET", "/api/b", "{\"timeoutMs\":0}"); /* none */
  CHECK(ag_client_next_deadline(d.c) == T0 + 270000);
  const logged *sent_b = drv_for(&d, AG_ACTION_SEND, b);
  CHECK(sent_b &&
        !sent_b->abortable); /* no deadline: no ABORT can come, the shim makes no controller */
  uint32_t e = drv_call_opts(&d, T0 + 60, "GET", "/api/c", "{\"timeout\":5}");
  const logged *bad = drv_for(&d, AG_ACTION_REJECT, e);
  CHECK(bad && bad->code == AG_CODE_BAD_CONFIG && strstr(bad->text, "timeoutMs and retry"));
  CHECK(drv_for(&d, AG_ACTION_SEND, e) == NULL);
  drv_respond(&d, T0 + 70, b, 200, NULL);
  drv_close(&d);
}

static void a_login_without_answer_is_aborted_at_the_default_bound(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t id = 0;
  ag_client_login(d.c, T0, "{\"u\":\"x\"}", 9, &id);
  drv_drain(&d);
  uint32_t waiting = drv_call(&d, T0 + 1, "GET", "/api/a", NULL); /* waits for the login */
  CHECK(ag_client_next_deadline(d.c) == T0 + 1 + 10000);          /* readyTimeoutMs first */
  drv_tick(&d, T0 + 10001);
  CHECK(drv_for(&d, AG_ACTION_REJECT, waiting)->code == AG_CODE_READY_TIMEOUT);
  CHECK(ag_client_next_deadline(d.c) == T0 + AG_OWN_REQUEST_TIMEOUT_MS);
  drv_tick(&d, T0 + AG_OWN_REQUEST_TIMEOUT_MS - 1);
  CHECK(drv_for(&d, AG_ACTION_REJECT, id) == NULL);
  drv_tick(&d, T0 + AG_OWN_REQUEST_TIMEOUT_MS);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(drv_for(&d, AG_ACTION_ABORT, id) != NULL);
  CHECK(r && r->code == AG_CODE_TIMEOUT && strstr(r->text, "login was aborted"));
  drv_close(&d);
}

/*
 * The refresh token may already be rotated on the server when its answer is
 * late: a timed-out refresh is never aborted nor sent again. Calls that need
 * it are told; its late answer still counts.
 */
static void a_refresh_past_its_deadline_is_never_sent_again(void) {
  driver d;
  drv_logged_in(&d, "{" BASE ",\"timeoutMs\":2000}", T0);
  ag_ms t = T0 + 400000; /* expired */
  uint32_t a = drv_call(&d, t, "GET", "/api/a", NULL);
  uint32_t refresh = drv_refresh_id(&d);
  CHECK(refresh && ag_client_next_deadline(d.c) == t + 2000);
  drv_tick(&d, t + 1999);
  CHECK(drv_for(&d, AG_ACTION_REJECT, a) == NULL);
  drv_tick(&d, t + 2000);
  CHECK(drv_count(&d, AG_ACTION_ABORT, -1) == 0);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_REFRESH_FAILED && strstr(r->text, "not sent again"));
  uint32_t b = drv_call(&d, t + 3000, "GET", "/api/b", NULL);
  CHECK(drv_for(&d, AG_ACTION_REJECT, b) &&
        drv_for(&d, AG_ACTION_REJECT, b)->code == AG_CODE_REFRESH_FAILED);
  ag_client_wake(d.c, t + 60000, AG_WAKE_ONLINE);
  drv_tick(&d, t + 120000);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  /* the late answer settles it */
  drv_respond(&d, t + 130000, refresh, 200, TOKENS("A2", "R2", 300));
  uint32_t c2 = drv_call(&d, t + 130001, "GET", "/api/c", NULL);
  const logged *s = drv_for(&d, AG_ACTION_SEND, c2);
  CHECK(s && !strcmp(s->authorization, "Bearer A2"));
  drv_close(&d);
}

static void a_stalled_refresh_ends_with_another_tabs_tokens(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  ag_ms t = T0 + 400000;
  drv_call(&d, t, "GET", "/api/a", NULL);
  uint32_t refresh = drv_refresh_id(&d);
  drv_tick(&d, t + AG_OWN_REQUEST_TIMEOUT_MS);
  const char *msg = "{\"v\":1,\"type\":\"tokens\",\"gen\":9999999999999,\"access\":\"M\","
                    "\"refresh\":\"RM\",\"exp\":1800000000000}";
  ag_client_message(d.c, t + 40000, msg, strlen(msg));
  drv_drain(&d);
  uint32_t b = drv_call(&d, t + 40001, "GET", "/api/b", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, b) &&
        !strcmp(drv_for(&d, AG_ACTION_SEND, b)->authorization, "Bearer M"));
  /* the old refresh's answer, when it comes, is ignored */
  drv_respond(&d, t + 50000, refresh, 200, TOKENS("OLD", "R9", 300));
  uint32_t c2 = drv_call(&d, t + 50001, "GET", "/api/c", NULL);
  CHECK(!strcmp(drv_for(&d, AG_ACTION_SEND, c2)->authorization, "Bearer M"));
  drv_close(&d);
}

/* A laptop slept two hours: no timer fired. The wake refreshes once; no call leaves with A1. */
static void wake_after_two_hours_refreshes_once_before_any_call(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  ag_ms t = T0 + 2 * HOUR;
  CHECK(ag_client_wake(d.c, t, AG_WAKE_VISIBLE) == AG_OK);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  uint32_t refresh = drv_refresh_id(&d);
  ag_client_wake(d.c, t + 1, AG_WAKE_PAGESHOW); /* both events come: still one refresh */
  drv_drain(&d);
  uint32_t a = drv_call(&d, t + 2, "GET", "/api/a", NULL);
  uint32_t b = drv_call(&d, t + 2, "GET", "/api/b", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, a) == NULL && drv_for(&d, AG_ACTION_SEND, b) == NULL);
  drv_respond(&d, t + 50, refresh, 200, TOKENS("A2", "R2", 300));
  CHECK(!strcmp(drv_for(&d, AG_ACTION_SEND, a)->authorization, "Bearer A2"));
  CHECK(!strcmp(drv_for(&d, AG_ACTION_SEND, b)->authorization, "Bearer A2"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  for (int i = 0; i < d.n; i++)
    CHECK(!d.log[i].authorization || strcmp(d.log[i].authorization, "Bearer A1"));
  CHECK(ag_client_wake(d.c, t, 0) == AG_ERR_INVALID);
  drv_close(&d);
}

/* Four failed refreshes: the back-off is 8 s, then 16 s. */
static ag_ms fail_refreshes(driver *d, ag_ms t, int n) {
  for (int i = 0; i < n; i++) {
    ag_client_network_error(d->c, t, drv_refresh_id(d));
    drv_drain(d);
    t = ag_client_next_deadline(d->c);
    drv_tick(d, t);
  }
  return t;
}

static void online_cuts_the_refresh_back_off_short(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  ag_ms t = T0 + 400000;
  drv_tick(&d, t); /* the proactive refresh, on an expired token */
  t = fail_refreshes(&d, t, 5);
  ag_client_network_error(d.c, t, drv_refresh_id(&d));
  drv_drain(&d);
  int sent = drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  CHECK(ag_client_next_deadline(d.c) == t + 30000); /* the cap */
  drv_tick(&d, t + 100);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == sent);
  ag_client_wake(d.c, t + 100, AG_WAKE_ONLINE);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == sent + 1);
  ag_client_wake(d.c, t + 101, AG_WAKE_ONLINE); /* single flight */
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == sent + 1);
  drv_close(&d);
}

static void a_call_that_needs_the_token_cuts_the_back_off_short(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  ag_ms t = T0 + 400000;
  drv_tick(&d, t);
  t = fail_refreshes(&d, t, 3);
  ag_client_network_error(d.c, t, drv_refresh_id(&d));
  drv_drain(&d);
  int sent = drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  uint32_t a = drv_call(&d, t + 10, "GET", "/api/a", NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == sent + 1);
  uint32_t b = drv_call(&d, t + 11, "GET", "/api/b", NULL); /* joins it */
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == sent + 1);
  drv_respond(&d, t + 20, drv_refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  CHECK(!strcmp(drv_for(&d, AG_ACTION_SEND, a)->authorization, "Bearer A2"));
  CHECK(!strcmp(drv_for(&d, AG_ACTION_SEND, b)->authorization, "Bearer A2"));
  drv_close(&d);
}

/* A refused refresh (400/401) is not a back-off: online does not send it again. */
static void online_does_not_resend_a_refused_refresh(void) {
  driver d;
  drv_logged_in(&d,
                "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/auth/refresh\"},"
                "\"crossTab\":true,\"storage\":\"memory\"}",
                T0);
  ag_ms t = T0 + 400000;
  drv_tick(&d, t);
  ag_client_lock_granted(d.c, t, NULL, 0, 0);
  drv_drain(&d);
  drv_respond(&d, t + 1, drv_refresh_id(&d), 401, NULL);
  ag_client_wake(d.c, t + 2, AG_WAKE_ONLINE);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 1);
  drv_close(&d);
}

int main(void) {
  RUN(call_times_out_at_its_deadline_and_not_one_ms_before);
  RUN(an_answer_before_the_deadline_disarms_it);
  RUN(per_call_timeout_overrides_the_option);
  RUN(a_login_without_answer_is_aborted_at_the_default_bound);
  RUN(a_refresh_past_its_deadline_is_never_sent_again);
  RUN(a_stalled_refresh_ends_with_another_tabs_tokens);
  RUN(wake_after_two_hours_refreshes_once_before_any_call);
  RUN(online_cuts_the_refresh_back_off_short);
  RUN(a_call_that_needs_the_token_cuts_the_back_off_short);
  RUN(online_does_not_resend_a_refused_refresh);
  return CHECK_EXIT_CODE();
}
