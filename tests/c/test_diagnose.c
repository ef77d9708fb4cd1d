/*
 * test_diagnose.c — the request plan and diagnose() (diagnose.c): the
 * Diagnosis JSON, field by field, and the likely cause.
 */
#include "check.h"
#include "driver.h"
#include "internal.h"
#include "json.h"

#include <stdbool.h>

#define OPTS "{\"baseUrl\":\"http://api.test:8000\",\"public\":[\"/health\"],\"crossTab\":false}"

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

/* ---- the Diagnosis, read back as JSON ---- */

static cJSON *diagnosis; /* the last one read */

static const cJSON *field(const cJSON *obj, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static bool is_str(const cJSON *obj, const char *name, const char *want) {
  const cJSON *f = field(obj, name);
  if (!cJSON_IsString(f) || strcmp(f->valuestring, want)) {
    fprintf(stderr, "  %s: want \"%s\"\n", name, want);
    return false;
  }
  return true;
}

static bool is_bool(const cJSON *obj, const char *name, bool want) {
  const cJSON *f = field(obj, name);
  return cJSON_IsBool(f) && cJSON_IsTrue(f) == want;
}

/* The array's strings joined by ',' equal `want` ("" for an empty array). */
static bool is_list(const cJSON *obj, const char *name, const char *want) {
  const cJSON *f = field(obj, name), *el;
  char joined[256] = "";
  if (!cJSON_IsArray(f)) return false;
  cJSON_ArrayForEach(el, f) {
    if (!cJSON_IsString(el)) return false;
    size_t n = strlen(joined);
    snprintf(joined + n, sizeof joined - n, "%s%s", n ? "," : "", el->valuestring);
  }
  return !strcmp(joined, want);
}

static const cJSON *read_back(const char *json) {
  ag_json_free(diagnosis);
  diagnosis = json ? ag_json_parse(json, strlen(json)) : NULL;
  CHECK(diagnosis != NULL && cJSON_IsObject(diagnosis));
  return diagnosis;
}

/* Each test lets its last diagnosis go before its allocations are counted. */
static void forget_diagnosis(void) {
  ag_json_free(diagnosis);
  diagnosis = NULL;
}

static const char *const diagnosis_keys[] = {
    "url",       "origin",    "pageOrigin", "crossOrigin",     "protected", "credentials",
    "reachable", "preflight", "status",     "serverMustAllow", "cause"};

static void a_cross_origin_diagnosis_has_every_field(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"http://api.test:8000\",\"credentials\":\"include\"}");
  const cJSON *j = read_back(ag_client_diagnose(d.c, "/me?x=1#f", 9, 1, 200, 200));
  int n = 0;
  for (const cJSON *el = j ? j->child : NULL; el; el = el->next, n++)
    CHECK(n < 11 && !strcmp(el->string, diagnosis_keys[n])); /* these keys, in this order */
  CHECK(n == 11);
  CHECK(is_str(j, "url", "http://api.test:8000/me?x=1")); /* no fragment: it is not sent */
  CHECK(is_str(j, "origin", "http://api.test:8000") && is_str(j, "pageOrigin", PAGE));
  CHECK(is_bool(j, "crossOrigin", true) && is_bool(j, "protected", true));
  CHECK(is_str(j, "credentials", "include") && is_bool(j, "reachable", true));
  const cJSON *pre = field(j, "preflight");
  CHECK(is_bool(pre, "needed", true) && is_list(pre, "reasons", "the Authorization header"));
  CHECK(is_bool(pre, "ok", true));
  CHECK(cJSON_IsNumber(field(j, "status")) && field(j, "status")->valuedouble == 200);
  const cJSON *must = field(j, "serverMustAllow");
  CHECK(is_str(must, "origin", PAGE) && is_bool(must, "credentials", true));
  CHECK(is_list(must, "methods", "GET,POST,PUT,PATCH,DELETE"));
  CHECK(is_list(must, "headers", "Authorization,Content-Type"));
  CHECK(is_str(j, "cause",
               "CORS is fine: the server answered 200 to the request as the gate "
               "sends it."));
  forget_diagnosis();
  drv_close(&d);
}

static void a_same_origin_diagnosis_asks_nothing_of_cors(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"/\",\"credentials\":\"include\"}");
  const cJSON *j = read_back(ag_client_diagnose(d.c, "/api/me", 7, 1, 0, 204));
  CHECK(is_bool(j, "crossOrigin", false) && is_bool(j, "protected", true));
  CHECK(is_str(j, "credentials", "include"));
  const cJSON *pre = field(j, "preflight");
  CHECK(is_bool(pre, "needed", false) && is_list(pre, "reasons", ""));
  CHECK(cJSON_IsNull(field(pre, "ok")));
  const cJSON *must = field(j, "serverMustAllow");
  CHECK(is_str(must, "origin", "") && is_list(must, "headers", "") &&
        is_bool(must, "credentials", false));
  CHECK(is_str(j, "cause", "Same-origin request: CORS does not apply; the server answered 204."));
  forget_diagnosis();
  drv_close(&d);
}

static void a_public_route_needs_no_preflight_for_the_token(void) {
  driver d;
  drv_open(&d, OPTS);
  const cJSON *j = read_back(ag_client_diagnose(d.c, "/health", 7, 1, 200, 200));
  CHECK(is_bool(j, "crossOrigin", true) && is_bool(j, "protected", false));
  CHECK(is_bool(field(j, "preflight"), "needed", false));
  CHECK(cJSON_IsNull(field(field(j, "preflight"), "ok")));
  CHECK(is_list(field(j, "serverMustAllow"), "headers", ""));
  CHECK(is_str(field(j, "serverMustAllow"), "origin", PAGE));
  forget_diagnosis();
  drv_close(&d);
}

static void statuses_out_of_range_count_as_blocked(void) {
  driver d;
  drv_open(&d, OPTS);
  const cJSON *j = read_back(diagnose(&d, 1, 1000, -5));
  CHECK(cJSON_IsNull(field(j, "status")));
  CHECK(cJSON_IsFalse(field(field(j, "preflight"), "ok")));
  j = read_back(diagnose(&d, 1, 0, 1000));
  CHECK(cJSON_IsNull(field(j, "status")) && cJSON_IsFalse(field(field(j, "preflight"), "ok")));
  CHECK(strstr(field(j, "cause")->valuestring, "not with CORS headers") != NULL);
  /* an answer to a CORS probe proves the server reachable, whatever no-cors said */
  j = read_back(diagnose(&d, 0, 0, 403));
  CHECK(is_bool(j, "reachable", true) && field(j, "status")->valuedouble == 403);
  CHECK(strstr(field(j, "cause")->valuestring, "authentication") != NULL);
  j = read_back(diagnose(&d, 0, 0, 0));
  CHECK(cJSON_IsNull(field(field(j, "preflight"), "ok"))); /* nothing answered: unknown */
  forget_diagnosis();
  drv_close(&d);
}

static void without_a_page_nothing_is_cross_origin(void) {
  ag_client *c = NULL;
  const char *o = "{\"baseUrl\":\"http://api.test\"}";
  CHECK(ag_client_new(&c, o, strlen(o), "", 0, NULL, 0) == AG_OK);
  const cJSON *j = read_back(ag_client_plan(c, "/x", 2));
  CHECK(is_bool(j, "crossOrigin", false) && is_str(j, "pageOrigin", ""));
  CHECK(cJSON_GetArraySize(j) == 6); /* the plan: the first six fields only */
  CHECK(ag_client_plan(c, NULL, 3) == NULL && ag_client_plan(NULL, "/x", 2) == NULL);
  CHECK(ag_client_diagnose(NULL, "/x", 2, 1, 0, 0) == NULL);
  forget_diagnosis();
  ag_client_free(c);
}

int main(void) {
  RUN(diagnose_tells_unreachable_blocked_preflight_and_auth_apart);
  RUN(plan_describes_the_request_the_gate_would_send);
  RUN(a_cross_origin_diagnosis_has_every_field);
  RUN(a_same_origin_diagnosis_asks_nothing_of_cors);
  RUN(a_public_route_needs_no_preflight_for_the_token);
  RUN(statuses_out_of_range_count_as_blocked);
  RUN(without_a_page_nothing_is_cross_origin);
  return CHECK_EXIT_CODE();
}
