/*
 * test_retry.c — the retry option, Retry-After parsing and the back-off
 * (retry.c), and retries as the state machine runs them: a new send of the
 * same call, decided by the core, with scripted time.
 */
#include "check.h"
#include "driver.h"
#include "internal.h"
#include "json.h"

#define T0 1700000000000.0 /* Tue, 14 Nov 2023 22:13:20 GMT */
#define BASE                                                                                       \
  "\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/auth/refresh\"},\"crossTab\":false,"    \
  "\"storage\":\"local\""
#define RETRY(r) "{" BASE ",\"retry\":" r "}"
#define TOKENS(a, r, s)                                                                            \
  "{\"access_token\":\"" a "\",\"refresh_token\":\"" r "\",\"expires_in\":" #s "}"

static ag_ms after(const char *v) { return ag_retry_after_ms(v, strlen(v), T0); }

static void retry_after_reads_seconds_and_http_dates(void) {
  CHECK(after("0") == 0);
  CHECK(after("1") == 1000);
  CHECK(after(" 120 ") == 120000);
  CHECK(after("Tue, 14 Nov 2023 22:13:25 GMT") == 5000);    /* IMF-fixdate */
  CHECK(after("Tuesday, 14-Nov-23 22:14:20 GMT") == 60000); /* RFC 850 */
  CHECK(after("Tue Nov 14 22:13:21 2023") == 1000);         /* asctime */
  CHECK(after("Wed Nov  1 00:00:00 2023") == 0);            /* padded day, in the past */
  CHECK(after("Sun, 06 Nov 1994 08:49:37 GMT") == 0);       /* the past: at once */
  CHECK(after("Fri, 01 Jan 2100 00:00:00 GMT") > 86400000.0 * 365 * 70);
  CHECK(after("99999999999999999999999") >= 1e15); /* huge stays huge, no overflow */
}

static void retry_after_garbage_is_refused(void) {
  const char *bad[] = {"",
                       "soon",
                       "1.5",
                       "-1",
                       "10s",
                       "Tue, 14 Nov 2023 22:13:25",
                       "Tue, 14 Nov 2023 25:13:25 GMT",
                       "Tue, 14 Foo 2023 22:13:25 GMT",
                       "Tue, 32 Nov 2023 22:13:25 GMT",
                       "Tue, 14 Nov 2023 22:13:25 GMT trailing",
                       "Xyz, 14 Nov 2023 22:13:25 GMT"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(after(bad[i]) == -1);
  CHECK(ag_retry_after_ms(NULL, 0, T0) == -1);
  CHECK(ag_days_from_civil(1970, 1, 1) == 0);
  CHECK(ag_days_from_civil(2000, 3, 1) == 11017);
}

static void back_off_doubles_up_to_its_cap_with_half_of_it_jittered(void) {
  uint64_t rng = 0;
  const unsigned char seed[] = {1, 2, 3, 4};
  ag_rng_seed(&rng, seed, sizeof seed);
  ag_ms full[] = {300, 600, 1200, 2400, 4800, 9600, 10000, 10000};
  for (int n = 1; n <= 8; n++) {
    for (int k = 0; k < 50; k++) {
      ag_ms b = ag_retry_backoff_ms(n, &rng);
      CHECK(b >= full[n - 1] / 2 && b <= full[n - 1]);
    }
  }
  uint64_t r1 = 7, r2 = 7; /* the same seed gives the same schedule */
  for (int n = 1; n < 5; n++) CHECK(ag_retry_backoff_ms(n, &r1) == ag_retry_backoff_ms(n, &r2));
}

static int parse(const char *json, ag_retry_policy *p, const char **why) {
  cJSON *root = ag_json_parse(json, strlen(json));
  int rc = ag_retry_policy_parse(p, root, why);
  ag_json_free(root);
  return rc;
}

static void retry_option_defaults_and_refusals(void) {
  ag_retry_policy p = {0};
  const char *why = NULL;
  CHECK(parse("{}", &p, &why) == AG_OK);
  CHECK(p.enabled && p.limit == 2 && p.max_retry_after_ms == 60000);
  CHECK(ag_retry_allows_method(&p, "GET") && ag_retry_allows_method(&p, "DELETE"));
  CHECK(!ag_retry_allows_method(&p, "POST") && !ag_retry_allows_method(&p, "PATCH"));
  CHECK(ag_retry_allows_status(&p, 503) && ag_retry_allows_status(&p, 429));
  CHECK(!ag_retry_allows_status(&p, 501) && !ag_retry_allows_status(&p, 404));
  CHECK(parse("{\"methods\":[\"post\"],\"statuses\":[503],\"limit\":5}", &p, &why) == AG_OK);
  CHECK(ag_retry_allows_method(&p, "POST") && !ag_retry_allows_method(&p, "GET"));
  CHECK(!ag_retry_allows_status(&p, 500) && p.limit == 5);
  CHECK(parse("false", &p, &why) == AG_OK && !p.enabled);
  const char *bad[] = {"true",
                       "{\"limit\":-1}",
                       "{\"limit\":1.5}",
                       "{\"limit\":11}",
                       "{\"methods\":[\"FETCH\"]}",
                       "{\"statuses\":[99]}",
                       "{\"statuses\":\"503\"}",
                       "{\"maxRetryAfterMs\":\"1\"}",
                       "{\"backoff\":1}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    why = NULL;
    CHECK(parse(bad[i], &p, &why) == AG_ERR_BAD_CONFIG && why && strstr(why, "retry"));
  }
  driver d;
  CHECK(drv_open(&d, RETRY("{\"limit\":\"2\"}")) == AG_ERR_BAD_CONFIG);
}

/* How many SENDs call `id` got. */
static int sends(const driver *d, uint32_t id) { return drv_count_for(d, AG_ACTION_SEND, id); }

static void retries_back_off_without_retry_after_then_return_the_last_response(void) {
  driver d;
  drv_logged_in(&d, RETRY("{\"limit\":3}"), T0);
  const unsigned char seed[] = {42};
  ag_client_seed(d.c, seed, 1);
  uint32_t id = drv_call(&d, T0, "GET", "/api/flaky", NULL);
  ag_ms t = T0, full = 300;
  for (int n = 1; n <= 3; n++, full *= 2) {
    drv_respond_after(&d, t, id, 503, NULL);
    ag_ms at = ag_client_next_deadline(d.c);
    CHECK(at >= t + full / 2 && at <= t + full);
    drv_tick(&d, at - 1);
    CHECK(sends(&d, id) == n);
    drv_tick(&d, at);
    CHECK(sends(&d, id) == n + 1);
    const logged *s = drv_for(&d, AG_ACTION_SEND, id);
    CHECK(s && !strcmp(s->authorization, "Bearer A1") && !s->replay);
    t = at + 5;
  }
  drv_respond_after(&d, t, id, 503, NULL); /* the limit: the caller gets this 503 */
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) != NULL);
  CHECK(sends(&d, id) == 4);
  drv_close(&d);
}

static void retry_after_in_seconds_and_as_a_date_sets_the_time_of_the_next_send(void) {
  driver d;
  drv_logged_in(&d, RETRY("{}"), T0);
  uint32_t a = drv_call(&d, T0, "GET", "/api/a", NULL);
  drv_respond_after(&d, T0, a, 503, "2");
  CHECK(ag_client_next_deadline(d.c) == T0 + 2000);
  drv_tick(&d, T0 + 1999);
  CHECK(sends(&d, a) == 1);
  drv_tick(&d, T0 + 2000);
  CHECK(sends(&d, a) == 2);
  drv_respond_after(&d, T0 + 2000, a, 429, "Tue, 14 Nov 2023 22:13:25 GMT");
  CHECK(ag_client_next_deadline(d.c) == T0 + 5000);
  drv_tick(&d, T0 + 5000);
  CHECK(sends(&d, a) == 3);
  drv_respond_after(&d, T0 + 5001, a, 200, NULL);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, a) != NULL);

  uint32_t b = drv_call(&d, T0 + 6000, "GET", "/api/b", NULL);
  drv_respond_after(&d, T0 + 6000, b, 503, "Sun, 06 Nov 1994 08:49:37 GMT"); /* past: at once */
  CHECK(ag_client_next_deadline(d.c) == T0 + 6000);
  drv_tick(&d, T0 + 6000);
  CHECK(sends(&d, b) == 2);

  uint32_t c = drv_call(&d, T0 + 7000, "GET", "/api/c", NULL);
  drv_respond_after(&d, T0 + 7000, c, 503, "a while"); /* garbage: the back-off */
  ag_ms at = ag_client_next_deadline(d.c);
  CHECK(at >= T0 + 7150 && at <= T0 + 7300);
  drv_close(&d);
}

static void a_retry_after_beyond_the_maximum_returns_that_response(void) {
  driver d;
  drv_logged_in(&d, RETRY("{\"maxRetryAfterMs\":5000}"), T0);
  uint32_t a = drv_call(&d, T0, "GET", "/api/a", NULL);
  drv_respond_after(&d, T0, a, 503, "3600");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, a) != NULL && sends(&d, a) == 1);
  uint32_t b = drv_call(&d, T0, "GET", "/api/b", NULL);
  drv_respond_after(&d, T0, b, 503, "Fri, 01 Jan 2100 00:00:00 GMT");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, b) != NULL && sends(&d, b) == 1);
  uint32_t c = drv_call(&d, T0, "GET", "/api/c", NULL);
  drv_respond_after(&d, T0, c, 503, "5"); /* exactly the maximum is waited for */
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, c) == NULL && ag_client_next_deadline(d.c) == T0 + 5000);
  drv_close(&d);
}

static void only_listed_methods_and_statuses_are_retried(void) {
  driver d;
  drv_logged_in(&d, RETRY("{}"), T0);
  uint32_t post = drv_call(&d, T0, "POST", "/api/orders", NULL);
  drv_respond_after(&d, T0, post, 503, "0");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, post) != NULL);
  uint32_t nf = drv_call(&d, T0, "GET", "/api/missing", NULL);
  drv_respond_after(&d, T0, nf, 404, "0");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, nf) != NULL);
  uint32_t listed =
      drv_call_opts(&d, T0, "POST", "/api/orders", "{\"retry\":{\"methods\":[\"POST\"]}}");
  drv_respond_after(&d, T0, listed, 503, "0");
  drv_tick(&d, T0);
  CHECK(sends(&d, listed) == 2);
  uint32_t off = drv_call_opts(&d, T0, "GET", "/api/a", "{\"retry\":false}");
  drv_respond_after(&d, T0, off, 503, "0");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, off) != NULL);
  drv_close(&d);

  drv_logged_in(&d, "{" BASE "}", T0); /* no retry option: fetch semantics */
  uint32_t plain = drv_call(&d, T0, "GET", "/api/a", NULL);
  drv_respond_after(&d, T0, plain, 503, "0");
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, plain) != NULL);
  uint32_t on = drv_call_opts(&d, T0, "GET", "/api/a", "{\"retry\":{\"limit\":1}}");
  drv_respond_after(&d, T0, on, 503, "0");
  drv_tick(&d, T0);
  CHECK(sends(&d, on) == 2);
  drv_close(&d);
}

static void network_failures_are_retried_then_rejected(void) {
  driver d;
  drv_logged_in(&d, RETRY("{\"limit\":1}"), T0);
  uint32_t a = drv_call(&d, T0, "GET", "/api/a", NULL);
  ag_client_network_error(d.c, T0, a);
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_REJECT, a) == NULL);
  drv_tick(&d, ag_client_next_deadline(d.c));
  CHECK(sends(&d, a) == 2);
  ag_client_network_error(d.c, T0 + 400, a);
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_CORS_OR_NETWORK);
  drv_close(&d);
}

/* A 401 means one refresh and one replay in total, however many retries the call makes. */
static void retries_and_a_401_make_one_refresh_and_one_replay(void) {
  driver d;
  drv_logged_in(&d, RETRY("{\"limit\":3}"), T0);
  uint32_t a = drv_call(&d, T0, "GET", "/api/a", NULL);
  drv_respond_after(&d, T0 + 1, a, 503, "0");
  drv_tick(&d, T0 + 1);
  drv_respond_after(&d, T0 + 2, a, 401, NULL); /* the retry meets a dead token */
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_respond(&d, T0 + 3, drv_refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  const logged *replay = drv_for(&d, AG_ACTION_SEND, a);
  CHECK(replay && replay->replay && !strcmp(replay->authorization, "Bearer A2"));
  drv_respond_after(&d, T0 + 4, a, 503, "0"); /* the replay is retried, still as the replay */
  drv_tick(&d, T0 + 4);
  CHECK(sends(&d, a) == 4 && drv_for(&d, AG_ACTION_SEND, a)->replay);
  drv_respond_after(&d, T0 + 5, a, 401, NULL); /* a second 401: returned, no second refresh */
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, a) != NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_close(&d);
}

static void an_aborted_or_timed_out_call_is_never_retried(void) {
  driver d;
  drv_logged_in(&d, "{" BASE ",\"retry\":{},\"timeoutMs\":100}", T0);
  uint32_t a = drv_call(&d, T0, "GET", "/api/a", NULL);
  drv_respond_after(&d, T0, a, 503, "1");
  ag_client_cancel(d.c, T0 + 10, a); /* the caller aborted while it waited to retry */
  drv_tick(&d, T0 + 1000);
  CHECK(sends(&d, a) == 1 && drv_for(&d, AG_ACTION_REJECT, a) == NULL);
  uint32_t b = drv_call(&d, T0 + 2000, "GET", "/api/b", NULL);
  drv_tick(&d, T0 + 2100);
  CHECK(drv_for(&d, AG_ACTION_REJECT, b) &&
        drv_for(&d, AG_ACTION_REJECT, b)->code == AG_CODE_TIMEOUT);
  drv_tick(&d, T0 + 20000);
  CHECK(sends(&d, b) == 1);
  drv_close(&d);
}

/* The token expired while a call waited to retry: the retry waits for the refresh. */
static void a_retry_goes_out_with_the_token_current_at_its_time(void) {
  driver d;
  drv_logged_in(&d, RETRY("{}"), T0);
  uint32_t a = drv_call(&d, T0 + 299000, "GET", "/api/a", NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1); /* due: renewed in the background */
  drv_respond_after(&d, T0 + 299001, a, 503, "3");
  drv_tick(&d, T0 + 302001); /* A1 expired at T0 + 300000 */
  CHECK(sends(&d, a) == 1);
  drv_respond(&d, T0 + 302002, drv_refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  CHECK(sends(&d, a) == 2 && !strcmp(drv_for(&d, AG_ACTION_SEND, a)->authorization, "Bearer A2"));
  drv_close(&d);
}

int main(void) {
  RUN(retry_after_reads_seconds_and_http_dates);
  RUN(retry_after_garbage_is_refused);
  RUN(back_off_doubles_up_to_its_cap_with_half_of_it_jittered);
  RUN(retry_option_defaults_and_refusals);
  RUN(retries_back_off_without_retry_after_then_return_the_last_response);
  RUN(retry_after_in_seconds_and_as_a_date_sets_the_time_of_the_next_send);
  RUN(a_retry_after_beyond_the_maximum_returns_that_response);
  RUN(only_listed_methods_and_statuses_are_retried);
  RUN(network_failures_are_retried_then_rejected);
  RUN(retries_and_a_401_make_one_refresh_and_one_replay);
  RUN(an_aborted_or_timed_out_call_is_never_retried);
  RUN(a_retry_goes_out_with_the_token_current_at_its_time);
  return CHECK_EXIT_CODE();
}
