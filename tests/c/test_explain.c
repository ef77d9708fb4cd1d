/* test_explain.c — failure messages in words, and diagnose() causes. */
#include "check.h"
#include "driver.h"

#define T0 1700000000000.0
#define OPTS "{\"baseUrl\":\"http://api.test:8000\",\"public\":[\"/health\"],\"crossTab\":false}"

static void cross_origin_failure_names_cors_the_authorization_header_and_the_origin(void) {
  driver d;
  drv_open(&d,
           "{\"baseUrl\":\"http://api.test:8000\",\"credentials\":\"include\",\"crossTab\":false}");
  drv_start(&d, T0, NULL);
  const char *set = "{\"access\":\"SECRET\"}";
  ag_client_set_tokens(d.c, T0, set, strlen(set));
  uint32_t id = drv_call(&d, T0, "GET", "/api/profile", NULL);
  ag_client_network_error(d.c, T0, id);
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_CORS_OR_NETWORK);
  const char *m = r ? r->text : "";
  CHECK(strstr(m, "GET http://api.test:8000/api/profile") != NULL);
  CHECK(strstr(m, "CORS") != NULL);
  CHECK(strstr(m, "preflight") != NULL);
  CHECK(strstr(m, "Access-Control-Allow-Headers: Authorization") != NULL);
  CHECK(strstr(m, "Access-Control-Allow-Origin: http://app.test") != NULL);
  CHECK(strstr(m, "Access-Control-Allow-Credentials: true") != NULL);
  CHECK(strstr(m, "SECRET") == NULL);
  drv_close(&d);
}

static void same_origin_failure_says_network_not_cors(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"/\",\"public\":[\"/health\"],\"crossTab\":false}");
  drv_start(&d, T0, NULL);
  uint32_t id = drv_call(&d, T0, "GET", "/health", NULL);
  ag_client_network_error(d.c, T0, id);
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && strstr(r->text, "not CORS") != NULL);
  drv_close(&d);
}

static void public_cross_origin_failure_does_not_blame_the_authorization_header(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t id = drv_call(&d, T0, "GET", "/health", NULL);
  ag_client_network_error(d.c, T0, id);
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && strstr(r->text, "CORS") && !strstr(r->text, "Authorization"));
  drv_close(&d);
}

static const char *diagnose(driver *d, int reachable, int simple, int auth) {
  const char *url = "/api/v1/users/me";
  return ag_client_diagnose(d->c, url, strlen(url), reachable, simple, auth);
}

static void diagnose_tells_unreachable_blocked_preflight_and_auth_apart(void) {
  driver d;
  drv_open(&d, OPTS);
  const char *j = diagnose(&d, 0, 0, 0);
  CHECK(j && strstr(j, "\"reachable\":false") && strstr(j, "did not answer"));
  j = diagnose(&d, 1, 0, 0);
  CHECK(j && strstr(j, "not with CORS headers"));
  j = diagnose(&d, 1, 200, 0);
  CHECK(j && strstr(j, "\"needed\":true") && strstr(j, "\"ok\":false") &&
        strstr(j, "preflight for the Authorization header fails") &&
        strstr(j, "lacks Access-Control-Allow-Origin")); /* or the error answer hides its status */
  j = diagnose(&d, 1, 401, 401);
  CHECK(j && strstr(j, "\"ok\":true") && strstr(j, "not CORS") && strstr(j, "\"status\":401"));
  /* origin is the probed URL's, pageOrigin the page's (the one CORS must allow) */
  CHECK(j && strstr(j, "\"origin\":\"http://api.test:8000\",\"pageOrigin\":\"http://app.test\""));
  CHECK(ag_client_diagnose(d.c, "javascript:1", 12, 1, 0, 0) == NULL);
  drv_close(&d);
}

static void plan_describes_the_request_the_gate_would_send(void) {
  driver d;
  drv_open(&d, OPTS);
  const char *j = ag_client_plan(d.c, "/health", 7);
  CHECK(j && strstr(j, "\"protected\":false") && strstr(j, "\"crossOrigin\":true"));
  j = ag_client_plan(d.c, "/api/x", 6);
  CHECK(j && strstr(j, "\"protected\":true") && strstr(j, "\"credentials\":\"same-origin\""));
  CHECK(j && strstr(j, "\"origin\":\"http://api.test:8000\"") &&
        strstr(j, "\"pageOrigin\":\"http://app.test\""));
  CHECK(j && !strstr(j, "sendsToken") && !strstr(j, "target")); /* one field per fact */
  drv_close(&d);
}

static void every_code_and_error_has_a_name(void) {
  for (int code = AG_CODE_NO_TOKEN; code <= AG_CODE_LOGIN_FAILED; code++)
    CHECK(ag_code_name(code)[0]);
  CHECK_STR_EQ(ag_code_name(AG_CODE_CORS_OR_NETWORK), "CORS_OR_NETWORK");
  CHECK_STR_EQ(ag_code_name(99), "");
  CHECK_STR_EQ(ag_state_name(AG_STATE_REFRESHING), "refreshing");
  for (int e = AG_ERR_TOO_LARGE; e <= AG_OK; e++) CHECK(strcmp(ag_strerror(e), "unknown error"));
  CHECK_STR_EQ(ag_strerror(-100), "unknown error");
}

int main(void) {
  RUN(cross_origin_failure_names_cors_the_authorization_header_and_the_origin);
  RUN(same_origin_failure_says_network_not_cors);
  RUN(public_cross_origin_failure_does_not_blame_the_authorization_header);
  RUN(diagnose_tells_unreachable_blocked_preflight_and_auth_apart);
  RUN(plan_describes_the_request_the_gate_would_send);
  RUN(every_code_and_error_has_a_name);
  return CHECK_EXIT_CODE();
}
