/* test_client.c — the state machine, driven by scripted events with deterministic time. */
#include "check.h"
#include "driver.h"
#include "internal.h"

#define T0 1700000000000.0
#define OPTS                                                                                       \
  "{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"],\"login\":{\"url\":\"/auth/login\"}," \
  "\"refresh\":{\"url\":\"/auth/refresh\"},\"crossTab\":false,\"storage\":\"local\"}"
#define TOKENS(a, r, s)                                                                            \
  "{\"access_token\":\"" a "\",\"refresh_token\":\"" r "\",\"expires_in\":" #s "}"

/* A started, logged-in client holding access A1 / refresh R1 for 300 s from T0. */
static void logged_in(driver *d, const char *options) {
  drv_open(d, options);
  drv_start(d, T0, NULL);
  const char *set = "{\"access\":\"A1\",\"refresh\":\"R1\",\"expiresIn\":300}";
  ag_client_set_tokens(d->c, T0, set, strlen(set));
  drv_drain(d);
  drv_reset_log(d);
}

static uint32_t refresh_id(const driver *d) {
  const logged *l = drv_last(d, AG_ACTION_SEND, AG_SEND_REFRESH);
  return l ? l->id : 0;
}

/* A SEND already queued when the tokens go (logout before the drain) must not leave bare. */
static void a_protected_send_queued_before_logout_is_rejected_not_sent_bare(void) {
  driver d;
  logged_in(&d, OPTS);
  uint32_t id = 0;
  ag_client_call(d.c, T0, "GET", 3, "/api/x", 6, NULL, 0, AG_CRED_UNSET, &id);
  ag_client_logout(d.c, T0); /* not drained in between */
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_SEND, id) == NULL);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_NO_TOKEN && strstr(r->text, "GET http://api.test/api/x") &&
        strstr(r->text, "not sent"));
  drv_close(&d);
}

static void protected_call_while_initializing_waits_then_goes_with_bearer(void) {
  driver d;
  drv_open(&d, OPTS);
  uint32_t id = drv_call(&d, T0, "GET", "/api/items", NULL);
  CHECK(d.n == 0); /* nothing leaves before the state is known */
  drv_start(&d, T0 + 5,
            "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A1\",\"refresh\":\"R1\",\"exp\":"
            "1800000000000}");
  const logged *s = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(s && s->authorization && !strcmp(s->authorization, "Bearer A1"));
  CHECK_STR_EQ(s ? s->url : NULL, "http://api.test/api/items");
  CHECK(ag_client_ready_state(d.c) == AG_STATE_AUTHENTICATED);
  drv_close(&d);
}

static void waiting_call_is_rejected_no_token_when_start_finds_no_session(void) {
  driver d;
  drv_open(&d, OPTS);
  uint32_t id = drv_call(&d, T0, "GET", "/api/items", NULL);
  drv_start(&d, T0, NULL);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_NO_TOKEN);
  CHECK(drv_count(&d, AG_ACTION_SEND, -1) == 0);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void protected_call_while_anonymous_is_refused_without_a_request(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t id = drv_call(&d, T0, "POST", "/api/v1/sessions", NULL);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_NO_TOKEN);
  CHECK(r && strstr(r->text, "POST http://api.test/api/v1/sessions"));
  CHECK(drv_count(&d, AG_ACTION_SEND, -1) == 0);
  drv_close(&d);
}

static void ready_timeout_rejects_at_the_deadline_and_not_one_ms_before(void) {
  driver d;
  drv_open(&d, OPTS);
  uint32_t id = drv_call(&d, T0, "GET", "/api/items", NULL);
  CHECK(ag_client_next_deadline(d.c) == T0 + 10000);
  drv_tick(&d, T0 + 9999);
  CHECK(drv_for(&d, AG_ACTION_REJECT, id) == NULL);
  drv_tick(&d, T0 + 10000);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_READY_TIMEOUT);
  CHECK(ag_client_next_deadline(d.c) == -1);
  drv_close(&d);
}

static void public_and_login_paths_never_get_the_token(void) {
  driver d;
  logged_in(&d, OPTS);
  uint32_t h = drv_call(&d, T0, "GET", "/health", NULL);
  uint32_t l = drv_call(&d, T0, "POST", "/auth/login", NULL);
  const logged *sh = drv_for(&d, AG_ACTION_SEND, h), *sl = drv_for(&d, AG_ACTION_SEND, l);
  CHECK(sh && !sh->authorization);
  CHECK(sl && !sl->authorization);
  drv_close(&d);
}

static void foreign_origin_gets_no_token_and_a_hand_put_token_is_refused(void) {
  driver d;
  logged_in(&d, OPTS);
  uint32_t a = drv_call(&d, T0, "GET", "http://evil.test/collect", NULL);
  const logged *sa = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(sa && !sa->authorization);
  uint32_t b = drv_call(&d, T0, "GET", "//evil.test/collect", "Bearer A1");
  const logged *rb = drv_for(&d, AG_ACTION_REJECT, b);
  CHECK(rb && rb->code == AG_CODE_FOREIGN_ORIGIN);
  CHECK(rb && !strstr(rb->text, "A1 ") && strstr(rb->text, "trustedOrigins"));
  CHECK(drv_for(&d, AG_ACTION_SEND, b) == NULL);
  uint32_t c = drv_call(&d, T0, "GET", "http://evil.test/x", "Bearer someone-elses");
  CHECK(drv_for(&d, AG_ACTION_SEND, c) != NULL);
  drv_close(&d);
}

static void trusted_origin_gets_the_token(void) {
  driver d;
  logged_in(&d, "{\"baseUrl\":\"http://api.test\",\"trustedOrigins\":[\"https://files.test\"],"
                "\"crossTab\":false}");
  uint32_t a = drv_call(&d, T0, "GET", "https://files.test:443/f", NULL);
  const logged *s = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(s && s->authorization && !strcmp(s->authorization, "Bearer A1"));
  drv_close(&d);
}

static void refresh_is_single_flight_for_100_queued_calls(void) {
  driver d;
  logged_in(&d, OPTS);
  ag_ms later = T0 + 301000; /* the access token has expired */
  uint32_t ids[100];
  for (int i = 0; i < 100; i++) ids[i] = drv_call(&d, later, "GET", "/api/items", NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_CALL) == 0);
  CHECK(ag_client_state(d.c) == AG_STATE_REFRESHING);
  const logged *rs = drv_last(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  CHECK_STR_EQ(rs ? rs->body : NULL, "{\"refresh\":\"R1\"}");
  CHECK_STR_EQ(rs ? rs->content_type : NULL, "application/json");
  drv_respond(&d, later + 20, refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  int sent = 0;
  for (int i = 0; i < 100; i++) {
    const logged *s = drv_for(&d, AG_ACTION_SEND, ids[i]);
    if (s && s->authorization && !strcmp(s->authorization, "Bearer A2")) sent++;
  }
  CHECK(sent == 100);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  CHECK(drv_count(&d, AG_ACTION_PERSIST, -1) == 1);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  drv_close(&d);
}

static void unauthorized_response_refreshes_once_and_replays_once(void) {
  driver d;
  logged_in(&d, OPTS);
  uint32_t id = drv_call(&d, T0 + 1000, "GET", "/api/items", NULL);
  drv_respond(&d, T0 + 1010, id, 401, NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) == NULL);
  /* a call made now waits behind the refresh too: the token was refused */
  uint32_t other = drv_call(&d, T0 + 1011, "GET", "/api/other", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, other) == NULL);
  drv_respond(&d, T0 + 1020, refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  const logged *replay = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(replay && replay->replay && !strcmp(replay->authorization, "Bearer A2"));
  CHECK(drv_for(&d, AG_ACTION_SEND, other) != NULL);
  drv_respond(&d, T0 + 1030, id, 401, NULL); /* still 401: the app gets it, no loop */
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_close(&d);
}

static void unauthorized_after_a_renewal_replays_without_a_second_refresh(void) {
  driver d;
  logged_in(&d, OPTS);
  uint32_t a = drv_call(&d, T0, "GET", "/api/a", NULL);
  uint32_t b = drv_call(&d, T0, "GET", "/api/b", NULL);
  drv_respond(&d, T0 + 5, a, 401, NULL);
  drv_respond(&d, T0 + 6, refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  drv_reset_log(&d);
  drv_respond(&d, T0 + 7, b, 401, NULL); /* sent with A1 before the renewal */
  const logged *s = drv_for(&d, AG_ACTION_SEND, b);
  CHECK(s && s->replay && !strcmp(s->authorization, "Bearer A2"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  drv_close(&d);
}

static void refused_refresh_ends_the_session_and_rejects_waiting_calls(void) {
  driver d;
  logged_in(&d, OPTS);
  ag_ms later = T0 + 400000;
  uint32_t a = drv_call(&d, later, "GET", "/api/a", NULL);
  uint32_t b = drv_call(&d, later, "GET", "/api/b", NULL);
  drv_respond(&d, later + 5, refresh_id(&d), 401, "{\"detail\":\"Token is blacklisted\"}");
  const logged *ra = drv_for(&d, AG_ACTION_REJECT, a), *rb = drv_for(&d, AG_ACTION_REJECT, b);
  CHECK(ra && ra->code == AG_CODE_SESSION_EXPIRED);
  CHECK(rb && rb->code == AG_CODE_SESSION_EXPIRED);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  CHECK(drv_count(&d, AG_ACTION_CLEAR_STORAGE, -1) == 1);
  const logged *st = drv_last(&d, AG_ACTION_STATE, -1);
  CHECK(st && st->code == AG_STATE_ANONYMOUS);
  CHECK(ag_client_next_deadline(d.c) == -1); /* nothing retried forever */
  drv_close(&d);
}

static void refresh_network_failure_backs_off_and_keeps_the_user_logged_in(void) {
  driver d;
  logged_in(&d, OPTS);
  ag_ms t = T0 + 400000;
  uint32_t a = drv_call(&d, t, "GET", "/api/a", NULL);
  ag_client_network_error(d.c, t + 1, refresh_id(&d));
  drv_drain(&d);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  CHECK(drv_count(&d, AG_ACTION_CLEAR_STORAGE, -1) == 0);
  CHECK(ag_client_next_deadline(d.c) == t + 1 + 1000);
  drv_tick(&d, t + 1000); /* one ms early: no retry */
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_tick(&d, t + 1001);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 2);
  drv_respond(&d, t + 1002, refresh_id(&d), 503, NULL);
  CHECK(ag_client_next_deadline(d.c) == t + 1002 + 2000); /* doubled */
  drv_tick(&d, t + 3002);
  drv_respond(&d, t + 3003, refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  const logged *s = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(s && !strcmp(s->authorization, "Bearer A2"));
  drv_close(&d);
}

static void calls_waiting_on_a_failing_refresh_give_up_at_their_deadline(void) {
  driver d;
  logged_in(&d, OPTS);
  ag_ms t = T0 + 400000;
  uint32_t a = drv_call(&d, t, "GET", "/api/a", NULL);
  ag_client_network_error(d.c, t, refresh_id(&d));
  drv_drain(&d);
  drv_tick(&d, t + 9999);
  CHECK(drv_for(&d, AG_ACTION_REJECT, a) == NULL);
  drv_tick(&d, t + 10000);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_REFRESH_FAILED);
  CHECK(ag_client_state(d.c) != AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void proactive_refresh_fires_at_expiry_minus_skew(void) {
  driver d;
  logged_in(&d, OPTS); /* 300 s token, 30 s skew */
  CHECK(ag_client_next_deadline(d.c) == T0 + 270000);
  drv_tick(&d, T0 + 269999);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  drv_tick(&d, T0 + 270000);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  /* during the refresh the old token is still valid: calls go at once */
  uint32_t id = drv_call(&d, T0 + 270001, "GET", "/api/a", NULL);
  const logged *s = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(s && !strcmp(s->authorization, "Bearer A1"));
  drv_close(&d);
}

static void skew_longer_than_the_token_life_is_capped_at_half_of_it(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  const char *set = "{\"access\":\"A1\",\"refresh\":\"R1\",\"expiresIn\":20}";
  ag_client_set_tokens(d.c, T0, set, strlen(set));
  drv_drain(&d);
  CHECK(ag_client_next_deadline(d.c) == T0 + 10000);
  drv_close(&d);
}

static void expired_stored_session_refreshes_before_any_call_leaves(void) {
  driver d;
  drv_open(&d, OPTS);
  uint32_t a = drv_call(&d, T0, "GET", "/api/dashboard/stats", NULL);
  uint32_t b = drv_call(&d, T0, "GET", "/api/dashboard/items", NULL);
  drv_start(
      &d, T0 + 1,
      "{\"v\":1,\"type\":\"tokens\",\"gen\":3,\"access\":\"OLD\",\"refresh\":\"R0\",\"exp\":1000}");
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_CALL) == 0);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  CHECK(ag_client_state(d.c) == AG_STATE_INITIALIZING);
  drv_respond(&d, T0 + 30, refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  CHECK(drv_for(&d, AG_ACTION_SEND, a) &&
        !strcmp(drv_for(&d, AG_ACTION_SEND, a)->authorization, "Bearer A2"));
  CHECK(drv_for(&d, AG_ACTION_SEND, b) != NULL);
  CHECK(ag_client_ready_state(d.c) == AG_STATE_AUTHENTICATED);
  drv_close(&d);
}

static void malformed_stored_blob_gives_a_clean_anonymous_start(void) {
  const char *bad[] = {"garbage", "{\"v\":1}", "[1,2]", "{\"v\":1,\"type\":\"tokens\",\"gen\":1}",
                       ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    driver d;
    drv_open(&d, OPTS);
    drv_start(&d, T0, bad[i]);
    CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
    if (bad[i][0]) CHECK(drv_count(&d, AG_ACTION_CLEAR_STORAGE, -1) == 1);
    drv_close(&d);
  }
}

static void login_sends_json_credentials_and_adopts_the_tokens(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t id = 0;
  const char *cred = "{\"username\":\"demo\",\"password\":\"p\\\"w\"}";
  ag_client_login(d.c, T0, cred, strlen(cred), &id);
  drv_drain(&d);
  const logged *s = drv_for(&d, AG_ACTION_SEND, id);
  CHECK(s && s->code == AG_SEND_LOGIN);
  CHECK_STR_EQ(s ? s->body : NULL, "{\"username\":\"demo\",\"password\":\"p\\\"w\"}");
  CHECK_STR_EQ(s ? s->url : NULL, "http://api.test/auth/login");
  drv_respond(&d, T0 + 10, id, 200, "{\"access\":\"A9\",\"refresh\":\"R9\"}");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  const logged *p = drv_last(&d, AG_ACTION_PERSIST, -1);
  CHECK(p && strstr(p->text, "\"access\":\"A9\""));
  drv_close(&d);
}

static void calls_made_while_a_login_is_under_way_wait_for_its_outcome(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t good = 0, bad = 0;
  ag_client_login(d.c, T0, "{}", 2, &good); /* an auto-login races the dashboard */
  drv_drain(&d);
  uint32_t a = drv_call(&d, T0 + 1, "GET", "/api/dashboard/stats", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, a) == NULL && drv_for(&d, AG_ACTION_REJECT, a) == NULL);
  drv_respond(&d, T0 + 5, good, 200, TOKENS("A1", "R1", 300));
  const logged *s = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(s && s->authorization && !strcmp(s->authorization, "Bearer A1"));
  ag_client_logout(d.c, T0 + 6);
  ag_client_login(d.c, T0 + 7, "{}", 2, &bad);
  drv_drain(&d);
  uint32_t b = drv_call(&d, T0 + 8, "GET", "/api/x", NULL);
  drv_respond(&d, T0 + 9, bad, 401, NULL);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, b);
  CHECK(r && r->code == AG_CODE_NO_TOKEN);
  drv_close(&d);
}

static void a_call_waiting_for_a_login_that_never_answers_times_out(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t login = 0;
  ag_client_login(d.c, T0, "{}", 2, &login);
  drv_drain(&d);
  uint32_t a = drv_call(&d, T0, "GET", "/api/x", NULL);
  drv_tick(&d, T0 + 10000);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_READY_TIMEOUT);
  ag_client_cancel(d.c, T0 + 10001, login);
  CHECK(ag_client_next_deadline(d.c) == -1);
  drv_close(&d);
}

static void login_refused_rejects_login_failed_and_bad_body_rejects_bad_token_response(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t a = 0, b = 0;
  ag_client_login(d.c, T0, "{}", 2, &a);
  ag_client_login(d.c, T0, "{}", 2, &b);
  drv_drain(&d);
  drv_respond(&d, T0, a, 401, "{\"detail\":\"bad\"}");
  drv_respond(&d, T0, b, 200, "{\"token\":\"x\"}");
  const logged *ra = drv_for(&d, AG_ACTION_REJECT, a), *rb = drv_for(&d, AG_ACTION_REJECT, b);
  CHECK(ra && ra->code == AG_CODE_LOGIN_FAILED && strstr(ra->text, "401"));
  CHECK(rb && rb->code == AG_CODE_BAD_TOKEN_RESPONSE);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void cookie_refresh_probes_at_start_with_credentials_included(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/"
               "refresh\",\"send\":\"cookie\"},\"crossTab\":false}");
  uint32_t a = drv_call(&d, T0, "GET", "/me", NULL);
  drv_start(&d, T0, NULL);
  const logged *s = drv_last(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  CHECK(s && s->credentials == AG_CRED_INCLUDE && !s->body);
  drv_respond(&d, T0 + 5, s ? s->id : 0, 401, NULL);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_NO_TOKEN); /* no session, not an expired one */
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void logout_forgets_everywhere_and_rejects_waiting_calls(void) {
  driver d;
  logged_in(&d,
            "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\"},\"storage\":\"local\"}");
  ag_client_logout(d.c, T0 + 5);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_CLEAR_STORAGE, -1) == 1);
  const logged *b = drv_last(&d, AG_ACTION_BROADCAST, -1);
  CHECK(b && strstr(b->text, "logout"));
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  uint32_t id = drv_call(&d, T0 + 6, "GET", "/x", NULL);
  CHECK(drv_for(&d, AG_ACTION_REJECT, id) != NULL);
  drv_close(&d);
}

static void newer_broadcast_is_adopted_and_older_ignored(void) {
  driver d;
  logged_in(&d, OPTS);
  const char *old =
      "{\"v\":1,\"type\":\"tokens\",\"gen\":5,\"access\":\"OLD\",\"exp\":1800000000000}";
  CHECK(ag_client_message(d.c, T0, old, strlen(old)) == AG_ERR_STALE);
  char newer[200];
  snprintf(newer, sizeof newer,
           "{\"v\":1,\"type\":\"tokens\",\"gen\":%.0f,\"access\":\"NEW\",\"refresh\":\"RN\","
           "\"exp\":1800000000000}",
           T0 + 100);
  CHECK(ag_client_message(d.c, T0 + 1, newer, strlen(newer)) == AG_OK);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_BROADCAST, -1) == 0); /* not echoed back */
  uint32_t id = drv_call(&d, T0 + 2, "GET", "/x", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, id) &&
        !strcmp(drv_for(&d, AG_ACTION_SEND, id)->authorization, "Bearer NEW"));
  CHECK(ag_client_message(d.c, T0, "{\"v\":1,\"type\":\"nonsense\"}", 25) == AG_ERR_BAD_BLOB);
  char bye[80];
  snprintf(bye, sizeof bye, "{\"v\":1,\"type\":\"logout\",\"gen\":%.0f}", T0 + 200);
  CHECK(ag_client_message(d.c, T0 + 3, bye, strlen(bye)) == AG_OK);
  drv_drain(&d);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

static void cross_tab_refresh_waits_for_the_lock_and_skips_when_another_tab_refreshed(void) {
  driver d;
  logged_in(&d,
            "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\"},\"storage\":\"local\"}");
  ag_ms t = T0 + 400000;
  uint32_t a = drv_call(&d, t, "GET", "/x", NULL);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 1);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  drv_call(&d, t, "GET", "/y", NULL);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 1); /* single flight across calls */
  char blob[200];
  snprintf(blob, sizeof blob,
           "{\"v\":1,\"type\":\"tokens\",\"gen\":%.0f,\"access\":\"OTHER\",\"refresh\":\"R5\","
           "\"exp\":%.0f}",
           t - 5, t + 300000);
  ag_client_lock_granted(d.c, t + 10, blob, strlen(blob), 0);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  CHECK(drv_count(&d, AG_ACTION_UNLOCK, -1) == 1);
  const logged *s = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(s && !strcmp(s->authorization, "Bearer OTHER"));
  drv_close(&d);
}

static void cross_tab_refresh_goes_out_once_the_lock_is_held(void) {
  driver d;
  logged_in(&d,
            "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\"},\"storage\":\"local\"}");
  ag_ms t = T0 + 400000;
  drv_call(&d, t, "GET", "/x", NULL);
  ag_client_lock_granted(d.c, t + 1, NULL, 0, 0);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_respond(&d, t + 2, refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  CHECK(drv_count(&d, AG_ACTION_UNLOCK, -1) == 1);
  CHECK(drv_count(&d, AG_ACTION_BROADCAST, -1) == 1);
  CHECK(drv_count(&d, AG_ACTION_PERSIST, -1) == 1);
  /* The release names the generation it shared, for the next holder to see. */
  const logged *bc = drv_last(&d, AG_ACTION_BROADCAST, -1);
  char gen[40];
  snprintf(gen, sizeof gen, "\"gen\":%s,", drv_last(&d, AG_ACTION_UNLOCK, -1)->text);
  CHECK(strstr(bc->text, gen) != NULL);
  drv_close(&d);
}

#define LOCAL "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\"},\"storage\":\"local\"}"
#define BLOB                                                                                       \
  "{\"v\":1,\"type\":\"tokens\",\"gen\":%.0f,\"access\":\"%s\",\"refresh\":\"%s\",\"exp\":%.0f}"

/*
 * Tab B is granted the lock tab A just released, but its storage read is
 * older than what A shared (localStorage reaches B's process late). A said
 * which generation it shared: B waits for it and sends no refresh with the
 * refresh token A's refresh rotated.
 */
static void cross_tab_grant_before_the_other_tabs_tokens_arrive_waits_for_them(void) {
  driver d;
  logged_in(&d, LOCAL);
  ag_ms t = T0 + 400000;
  uint32_t a = drv_call(&d, t, "GET", "/x", NULL);
  char stale[200], fresh[200];
  snprintf(stale, sizeof stale, BLOB, T0, "A1", "R1", T0 + 300000); /* what this tab holds */
  snprintf(fresh, sizeof fresh, BLOB, t + 7, "A2", "R2", t + 300000);
  ag_client_lock_granted(d.c, t + 10, stale, strlen(stale), t + 7);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  CHECK(drv_count(&d, AG_ACTION_UNLOCK, -1) == 1);
  CHECK(drv_last(&d, AG_ACTION_UNLOCK, -1)->text == NULL); /* it shared nothing */
  CHECK(drv_for(&d, AG_ACTION_SEND, a) == NULL);           /* still waiting */
  CHECK(ag_client_next_deadline(d.c) == t + 10 + AG_LATE_TOKENS_MS);
  drv_call(&d, t + 11, "GET", "/y", NULL);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 1); /* no new ask while they are on their way */
  CHECK(ag_client_message(d.c, t + 12, fresh, strlen(fresh)) == AG_OK);
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_SEND, a) &&
        !strcmp(drv_for(&d, AG_ACTION_SEND, a)->authorization, "Bearer A2"));
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  drv_close(&d);
}

/* Slower still: after a short wait B asks again and rereads storage, never refreshing on a stale read. */
static void cross_tab_late_tokens_are_read_again_at_the_next_grant(void) {
  driver d;
  logged_in(&d, LOCAL);
  ag_ms t = T0 + 400000;
  uint32_t a = drv_call(&d, t, "GET", "/x", NULL);
  ag_client_lock_granted(d.c, t + 10, NULL, 0, t + 7);
  drv_drain(&d);
  drv_tick(&d, t + 10 + AG_LATE_TOKENS_MS - 1);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 1);
  drv_tick(&d, t + 10 + AG_LATE_TOKENS_MS);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 2);
  ag_client_lock_granted(d.c, t + 300, NULL, 0, t + 7); /* still not here: wait again */
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  drv_tick(&d, t + 300 + AG_LATE_TOKENS_MS);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 3);
  char fresh[200];
  snprintf(fresh, sizeof fresh, BLOB, t + 7, "A2", "R2", t + 300000);
  ag_client_lock_granted(d.c, t + 600, fresh, strlen(fresh), t + 7);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 0);
  CHECK(drv_for(&d, AG_ACTION_SEND, a) &&
        !strcmp(drv_for(&d, AG_ACTION_SEND, a)->authorization, "Bearer A2"));
  drv_close(&d);
}

/* What a tab announced itself is no reason to wait: it refreshes as before. */
static void cross_tab_own_announcement_does_not_hold_a_refresh(void) {
  driver d;
  logged_in(&d, LOCAL);
  ag_ms t = T0 + 400000;
  drv_call(&d, t, "GET", "/x", NULL);
  ag_client_lock_granted(d.c, t + 1, NULL, 0, T0); /* the generation it holds */
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_close(&d);
}

/* Memory storage: tabs share rotating refresh tokens by message only. */
#define SHARED_BY_MESSAGE "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\"}}"

static void refused_refresh_waits_for_another_tabs_newer_tokens(void) {
  driver d;
  logged_in(&d, SHARED_BY_MESSAGE);
  ag_ms t = T0 + 400000;
  uint32_t a = drv_call(&d, t, "GET", "/x", NULL);
  ag_client_lock_granted(d.c, t, NULL, 0, 0);
  drv_drain(&d);
  drv_respond(&d, t + 5, refresh_id(&d), 401, NULL); /* the other tab rotated R1 a moment ago */
  CHECK(drv_for(&d, AG_ACTION_REJECT, a) == NULL);
  CHECK(ag_client_state(d.c) != AG_STATE_ANONYMOUS);
  CHECK(ag_client_next_deadline(d.c) == t + 5 + AG_REFUSAL_GRACE_MS);
  uint32_t b = drv_call(&d, t + 6, "GET", "/y", NULL);
  CHECK(drv_count(&d, AG_ACTION_LOCK, -1) == 1); /* no second refresh with the refused token */
  char msg[200];
  snprintf(msg, sizeof msg,
           "{\"v\":1,\"type\":\"tokens\",\"gen\":%.0f,\"access\":\"A2\",\"refresh\":\"R2\",\"exp\":"
           "%.0f}",
           t + 7, t + 300000);
  CHECK(ag_client_message(d.c, t + 7, msg, strlen(msg)) == AG_OK);
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_SEND, a) &&
        !strcmp(drv_for(&d, AG_ACTION_SEND, a)->authorization, "Bearer A2"));
  CHECK(drv_for(&d, AG_ACTION_SEND, b) != NULL);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  drv_close(&d);
}

static void refused_refresh_ends_the_session_when_no_tab_answers_in_time(void) {
  driver d;
  logged_in(&d, SHARED_BY_MESSAGE);
  ag_ms t = T0 + 400000;
  uint32_t a = drv_call(&d, t, "GET", "/x", NULL);
  ag_client_lock_granted(d.c, t, NULL, 0, 0);
  drv_drain(&d);
  drv_respond(&d, t, refresh_id(&d), 401, NULL);
  drv_tick(&d, t + AG_REFUSAL_GRACE_MS - 1);
  CHECK(drv_for(&d, AG_ACTION_REJECT, a) == NULL);
  drv_tick(&d, t + AG_REFUSAL_GRACE_MS);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_SESSION_EXPIRED);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  CHECK(ag_client_next_deadline(d.c) == -1);
  drv_close(&d);
}

static void a_new_tab_without_tokens_asks_the_others_and_adopts_the_answer(void) {
  driver d;
  drv_open(&d, SHARED_BY_MESSAGE);
  drv_start(&d, T0, NULL);
  const logged *b = drv_last(&d, AG_ACTION_BROADCAST, -1);
  CHECK(b && !strcmp(b->text, "{\"v\":1,\"type\":\"hello\"}"));
  CHECK(ag_client_ready_state(d.c) == AG_STATE_ANONYMOUS); /* no waiting on other tabs */
  const char *answer = "{\"v\":1,\"type\":\"tokens\",\"gen\":9,\"access\":\"A7\",\"refresh\":"
                       "\"R7\",\"exp\":1800000000000}";
  CHECK(ag_client_message(d.c, T0 + 3, answer, strlen(answer)) == AG_OK);
  drv_drain(&d);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  uint32_t id = drv_call(&d, T0 + 4, "GET", "/x", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, id) &&
        !strcmp(drv_for(&d, AG_ACTION_SEND, id)->authorization, "Bearer A7"));
  drv_close(&d);
}

static void a_tab_with_a_session_answers_hello_and_one_without_stays_quiet(void) {
  const char *hello = "{\"v\":1,\"type\":\"hello\"}";
  driver d;
  logged_in(&d, SHARED_BY_MESSAGE);
  CHECK(ag_client_message(d.c, T0 + 1, hello, strlen(hello)) == AG_OK);
  drv_drain(&d);
  const logged *b = drv_last(&d, AG_ACTION_BROADCAST, -1);
  CHECK(b && strstr(b->text, "\"type\":\"tokens\"") && strstr(b->text, "\"access\":\"A1\""));
  ag_client_logout(d.c, T0 + 2);
  drv_drain(&d);
  drv_reset_log(&d);
  ag_client_message(d.c, T0 + 3, hello, strlen(hello));
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_BROADCAST, -1) == 0);
  drv_close(&d);
}

static void tabs_sharing_local_storage_do_not_ask_each_other(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"http://api.test\",\"storage\":\"local\"}");
  drv_start(&d, T0, NULL);
  CHECK(drv_count(&d, AG_ACTION_BROADCAST, -1) == 0); /* the stored blob is the shared state */
  drv_close(&d);
}

static void cancelled_call_is_forgotten(void) {
  driver d;
  drv_open(&d, OPTS);
  uint32_t id = drv_call(&d, T0, "GET", "/x", NULL);
  CHECK(ag_client_cancel(d.c, T0, id) == AG_OK);
  CHECK(ag_client_next_deadline(d.c) == -1);
  drv_start(&d, T0, NULL);
  CHECK(drv_for(&d, AG_ACTION_REJECT, id) == NULL);
  CHECK(ag_client_response(d.c, T0, id, 200, NULL, 0) == AG_ERR_INVALID);
  drv_close(&d);
}

static void caller_credentials_win_and_base_origin_gets_the_configured_mode(void) {
  driver d;
  logged_in(&d, "{\"baseUrl\":\"http://api.test\",\"credentials\":\"include\",\"crossTab\":false}");
  uint32_t a = drv_call(&d, T0, "GET", "/x", NULL);
  uint32_t b = 0;
  ag_client_call(d.c, T0, "GET", 3, "/y", 2, NULL, 0, AG_CRED_OMIT, &b);
  drv_drain(&d);
  uint32_t f = drv_call(&d, T0, "GET", "http://other.test/", NULL);
  CHECK(drv_for(&d, AG_ACTION_SEND, a)->credentials == AG_CRED_INCLUDE);
  CHECK(drv_for(&d, AG_ACTION_SEND, b)->credentials == AG_CRED_OMIT);
  CHECK(drv_for(&d, AG_ACTION_SEND, f)->credentials == AG_CRED_UNSET);
  drv_close(&d);
}

static void two_clients_share_nothing(void) {
  driver a, b;
  logged_in(&a, OPTS);
  drv_open(&b, OPTS);
  drv_start(&b, T0, NULL);
  uint32_t ia = drv_call(&a, T0, "GET", "/x", NULL);
  uint32_t ib = drv_call(&b, T0, "GET", "/x", NULL);
  CHECK(drv_for(&a, AG_ACTION_SEND, ia) != NULL);
  CHECK(drv_for(&b, AG_ACTION_REJECT, ib) != NULL);
  drv_close(&a);
  drv_close(&b);
}

static void freeing_releases_every_allocation(void) {
  long before = ag_live_allocations();
  driver d;
  logged_in(&d, OPTS);
  for (int i = 0; i < 50; i++) drv_call(&d, T0 + 400000, "GET", "/x", NULL);
  drv_call(&d, T0, "GET", "/health", NULL);
  drv_close(&d);
  CHECK(ag_live_allocations() == before);
}

int main(void) {
  RUN(a_protected_send_queued_before_logout_is_rejected_not_sent_bare);
  RUN(protected_call_while_initializing_waits_then_goes_with_bearer);
  RUN(waiting_call_is_rejected_no_token_when_start_finds_no_session);
  RUN(protected_call_while_anonymous_is_refused_without_a_request);
  RUN(ready_timeout_rejects_at_the_deadline_and_not_one_ms_before);
  RUN(public_and_login_paths_never_get_the_token);
  RUN(foreign_origin_gets_no_token_and_a_hand_put_token_is_refused);
  RUN(trusted_origin_gets_the_token);
  RUN(refresh_is_single_flight_for_100_queued_calls);
  RUN(unauthorized_response_refreshes_once_and_replays_once);
  RUN(unauthorized_after_a_renewal_replays_without_a_second_refresh);
  RUN(refused_refresh_ends_the_session_and_rejects_waiting_calls);
  RUN(refresh_network_failure_backs_off_and_keeps_the_user_logged_in);
  RUN(calls_waiting_on_a_failing_refresh_give_up_at_their_deadline);
  RUN(proactive_refresh_fires_at_expiry_minus_skew);
  RUN(skew_longer_than_the_token_life_is_capped_at_half_of_it);
  RUN(expired_stored_session_refreshes_before_any_call_leaves);
  RUN(malformed_stored_blob_gives_a_clean_anonymous_start);
  RUN(login_sends_json_credentials_and_adopts_the_tokens);
  RUN(calls_made_while_a_login_is_under_way_wait_for_its_outcome);
  RUN(a_call_waiting_for_a_login_that_never_answers_times_out);
  RUN(login_refused_rejects_login_failed_and_bad_body_rejects_bad_token_response);
  RUN(cookie_refresh_probes_at_start_with_credentials_included);
  RUN(logout_forgets_everywhere_and_rejects_waiting_calls);
  RUN(newer_broadcast_is_adopted_and_older_ignored);
  RUN(cross_tab_refresh_waits_for_the_lock_and_skips_when_another_tab_refreshed);
  RUN(cross_tab_refresh_goes_out_once_the_lock_is_held);
  RUN(cross_tab_grant_before_the_other_tabs_tokens_arrive_waits_for_them);
  RUN(cross_tab_late_tokens_are_read_again_at_the_next_grant);
  RUN(cross_tab_own_announcement_does_not_hold_a_refresh);
  RUN(refused_refresh_waits_for_another_tabs_newer_tokens);
  RUN(refused_refresh_ends_the_session_when_no_tab_answers_in_time);
  RUN(a_new_tab_without_tokens_asks_the_others_and_adopts_the_answer);
  RUN(a_tab_with_a_session_answers_hello_and_one_without_stays_quiet);
  RUN(tabs_sharing_local_storage_do_not_ask_each_other);
  RUN(cancelled_call_is_forgotten);
  RUN(caller_credentials_win_and_base_origin_gets_the_configured_mode);
  RUN(two_clients_share_nothing);
  RUN(freeing_releases_every_allocation);
  return CHECK_EXIT_CODE();
}
