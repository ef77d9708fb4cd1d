/*
 * test_guard.c — the verdict on a raw fetch (guard.c): PASS, REFUSE, ROUTE or
 * WARN by guard mode, the page-resolution rule, the browser's own resolution,
 * and the guard of a gate whose options were refused.
 */
#include "check.h"
#include "driver.h"
#include "internal.h"

#define T0 1700000000000.0

/* The guard's verdict for a raw `url` on the page `page_url`, the judged URL in `judged`. */
static char judged[AG_GUARD_URL_CAP];

static int guard(ag_client *cl, const char *page_url, const char *url, const char *href, int auth,
                 int mode) {
  return ag_client_guard(cl, page_url, page_url ? strlen(page_url) : 0, url, strlen(url), href,
                         href ? strlen(href) : 0, auth, mode, judged, sizeof judged);
}

static int unconfigured(const char *options, const char *page_url, const char *url, int auth) {
  return ag_guard_unconfigured(options, strlen(options), page_url, page_url ? strlen(page_url) : 0,
                               url, strlen(url), NULL, 0, auth, judged, sizeof judged);
}

static void guard_refuses_authorizes_or_warns_only_bare_protected_calls(void) {
  ag_client *cl = NULL;
  const char *o = "{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"]}";
  CHECK(ag_client_new(&cl, o, strlen(o), PAGE, strlen(PAGE), NULL, 0) == AG_OK);
  const char *p = "http://api.test/api/v1/sessions";
  CHECK(guard(cl, NULL, p, NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_REFUSE);
  CHECK(guard(cl, NULL, p, NULL, 0, AG_GUARD_MODE_AUTHORIZE) == AG_GUARD_ROUTE);
  CHECK_STR_EQ(judged, p);
  CHECK(guard(cl, NULL, p, NULL, 0, AG_GUARD_MODE_WARN) == AG_GUARD_WARN);
  CHECK(guard(cl, NULL, p, NULL, 1, AG_GUARD_MODE_REFUSE) == AG_GUARD_PASS);
  CHECK(guard(cl, NULL, "http://api.test/health", NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_PASS);
  /* raw calls resolve against the page: a relative path is the page's own origin */
  CHECK(guard(cl, NULL, "/api/x", NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_PASS);
  CHECK_STR_EQ(judged, PAGE "/api/x");
  CHECK(guard(cl, NULL, "http://cdn.test/x.js", NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_PASS);
  CHECK(guard(cl, NULL, p, NULL, 0, 7) == AG_ERR_INVALID);
  CHECK(ag_client_guard(cl, NULL, 0, p, strlen(p), NULL, 0, 0, 0, judged, 100) == AG_ERR_INVALID);
  ag_client_free(cl);
}

static void every_mode_passes_what_is_not_a_bare_protected_call(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"]}");
  static const int want[] = {AG_GUARD_REFUSE, AG_GUARD_ROUTE, AG_GUARD_WARN};
  for (int mode = AG_GUARD_MODE_REFUSE; mode <= AG_GUARD_MODE_WARN; mode++) {
    CHECK(guard(d.c, NULL, "http://api.test/x", NULL, 0, mode) == want[mode]);
    CHECK(guard(d.c, NULL, "http://api.test/x", NULL, 1, mode) == AG_GUARD_PASS);
    CHECK(guard(d.c, NULL, "http://api.test/health", NULL, 0, mode) == AG_GUARD_PASS);
    CHECK(guard(d.c, NULL, "https://api.test/x", NULL, 0, mode) ==
          AG_GUARD_PASS); /* another origin */
    CHECK(guard(d.c, NULL, "mailto:a@b", NULL, 0, mode) == AG_GUARD_PASS);
    CHECK_STR_EQ(judged, "");
  }
  drv_close(&d);
}

static void bad_arguments_are_invalid(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"http://api.test\"}");
  const char *u = "http://api.test/x";
  char small[AG_GUARD_URL_CAP - 1];
  CHECK(guard(NULL, NULL, u, NULL, 0, AG_GUARD_MODE_REFUSE) == AG_ERR_INVALID);
  CHECK(guard(d.c, NULL, u, NULL, 0, -1) == AG_ERR_INVALID);
  CHECK(guard(d.c, NULL, u, NULL, 0, AG_GUARD_MODE_WARN + 1) == AG_ERR_INVALID);
  CHECK(ag_client_guard(d.c, NULL, 0, NULL, 3, NULL, 0, 0, 0, judged, sizeof judged) ==
        AG_ERR_INVALID);
  CHECK(ag_client_guard(d.c, NULL, 0, u, strlen(u), NULL, 0, 0, 0, NULL, 0) == AG_ERR_INVALID);
  CHECK(ag_client_guard(d.c, NULL, 0, u, strlen(u), NULL, 0, 0, 0, small, sizeof small) ==
        AG_ERR_INVALID);
  CHECK(ag_guard_unconfigured(NULL, 0, NULL, 0, u, strlen(u), NULL, 0, 0, small, sizeof small) ==
        AG_ERR_INVALID);
  drv_close(&d);
}

/* ---- the page-resolution rule ---- */

static void guard_judges_raw_calls_against_the_page_never_the_prefix(void) {
  driver d;
  drv_logged_in(&d, "{\"baseUrl\":\"/api/v2\"}", T0);
  ag_client *cl = d.c;
  CHECK(guard(cl, PAGE "/app/index.html", "x", NULL, 0, AG_GUARD_MODE_AUTHORIZE) == AG_GUARD_ROUTE);
  CHECK_STR_EQ(judged, PAGE "/app/x");
  CHECK(guard(cl, PAGE "/app/", "/users#top", NULL, 0, AG_GUARD_MODE_AUTHORIZE) == AG_GUARD_ROUTE);
  CHECK_STR_EQ(judged, PAGE "/users#top");
  /* an unusable page URL (about:blank): the page origin */
  CHECK(guard(cl, "about:blank", "/y", NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_REFUSE);
  CHECK_STR_EQ(judged, PAGE "/y");
  drv_close(&d);
}

/* The page on a trusted origin other than baseUrl's: a routed call must stay on the page's origin. */
static void guard_routes_a_raw_call_to_the_origin_the_browser_would_use(void) {
  driver d;
  drv_logged_in(&d, "{\"baseUrl\":\"http://api.test\",\"trustedOrigins\":[\"" PAGE "\"]}", T0);
  CHECK(guard(d.c, PAGE "/", "/api/x", NULL, 0, AG_GUARD_MODE_AUTHORIZE) == AG_GUARD_ROUTE);
  CHECK_STR_EQ(judged, PAGE "/api/x");
  const logged *s = drv_for(&d, AG_ACTION_SEND, drv_call(&d, T0, "GET", judged, NULL));
  CHECK(s && !strcmp(s->url, PAGE "/api/x") && s->authorization);
  /* the raw input itself through gate.fetch would go to baseUrl: the guard must not pass it on */
  s = drv_for(&d, AG_ACTION_SEND, drv_call(&d, T0, "GET", "/api/x", NULL));
  CHECK(s && !strcmp(s->url, "http://api.test/api/x") && s->authorization);
  drv_close(&d);
}

static void guard_uses_the_browsers_resolution_where_the_core_refuses_the_input(void) {
  driver d;
  drv_logged_in(&d, "{\"baseUrl\":\"http://127.0.0.1:8000\"}", T0);
  ag_client *cl = d.c;
  const char *hex = "http://0x7f.1:8000/api";
  CHECK(guard(cl, PAGE "/", hex, "http://127.0.0.1:8000/api", 0, AG_GUARD_MODE_REFUSE) ==
        AG_GUARD_REFUSE);
  CHECK_STR_EQ(judged, "http://127.0.0.1:8000/api");
  CHECK(guard(cl, PAGE "/", hex, NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_PASS);
  CHECK_STR_EQ(judged, "");
  /* not http(s) for either: not the guard's to judge */
  CHECK(guard(cl, PAGE "/", "blob:" PAGE "/1", "blob:" PAGE "/1", 0, 0) == AG_GUARD_PASS);
  CHECK(guard(cl, PAGE "/", "data:,x", "data:,x", 0, 0) == AG_GUARD_PASS);
  drv_close(&d);
}

static void guard_fails_closed_when_core_and_browser_name_different_origins(void) {
  driver d;
  drv_logged_in(&d, "{\"baseUrl\":\"http://api.test\"}", T0);
  ag_client *cl = d.c;
  CHECK(guard(cl, PAGE "/", "http://cdn.test/x", "http://api.test/x", 0, AG_GUARD_MODE_WARN) ==
        AG_GUARD_REFUSE);
  CHECK_STR_EQ(judged, "");
  CHECK(guard(cl, PAGE "/", "http://CDN.test/x", "http://cdn.test/x", 0, AG_GUARD_MODE_WARN) ==
        AG_GUARD_PASS);
  CHECK_STR_EQ(judged, "http://cdn.test/x");
  drv_close(&d);
}

static void without_a_page_a_relative_raw_call_is_not_judged(void) {
  ag_client *cl = NULL;
  const char *o = "{\"baseUrl\":\"http://api.test\"}";
  CHECK(ag_client_new(&cl, o, strlen(o), "", 0, NULL, 0) == AG_OK); /* Node: no page */
  CHECK(guard(cl, NULL, "/api/x", NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_PASS);
  CHECK_STR_EQ(judged, "");
  /* a page URL given with the call is the base, even without a page origin */
  CHECK(guard(cl, "http://api.test/app/", "x", NULL, 0, AG_GUARD_MODE_REFUSE) == AG_GUARD_REFUSE);
  CHECK_STR_EQ(judged, "http://api.test/app/x");
  CHECK(guard(cl, NULL, "http://api.test/x", NULL, 0, AG_GUARD_MODE_AUTHORIZE) == AG_GUARD_ROUTE);
  ag_client_free(cl);
}

/* ---- the guard of a gate whose options were refused ---- */

static void bad_options_fail_closed_only_for_what_they_meant_to_protect(void) {
  const char *typo = "{\"baseUrl\":\"http://api.test\",\"protec\":[\"/api\"],"
                     "\"trustedOrigins\":[\"https://files.test\"]}";
  ag_client *cl = NULL;
  char err[200];
  CHECK(ag_client_new(&cl, typo, strlen(typo), PAGE, strlen(PAGE), err, sizeof err) ==
        AG_ERR_BAD_CONFIG);
  CHECK(strstr(err, "protec") != NULL);
  CHECK(unconfigured(typo, PAGE "/", "http://api.test/api/x", 0) == AG_GUARD_REFUSE);
  CHECK_STR_EQ(judged, "http://api.test/api/x");
  CHECK(unconfigured(typo, PAGE "/", "http://api.test/api/x", 1) == AG_GUARD_PASS);
  CHECK(unconfigured(typo, PAGE "/", "https://files.test/y", 0) == AG_GUARD_REFUSE);
  CHECK(unconfigured(typo, PAGE "/", "https://cdn.test/lib.js", 0) == AG_GUARD_PASS);
  CHECK_STR_EQ(judged, "https://cdn.test/lib.js");
  CHECK(unconfigured(typo, PAGE "/", "/assets/x.json", 0) == AG_GUARD_PASS);
  CHECK(unconfigured(typo, NULL, "data:,x", 0) == AG_GUARD_PASS);
}

static void unreadable_base_url_protects_the_page_origin(void) {
  const char *cases[] = {"{\"baseUrl\":\"htp//api\",\"x\":1}", "not json", "{\"baseUrl\":7}"};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    CHECK(unconfigured(cases[i], PAGE "/", "/x", 0) == AG_GUARD_REFUSE);
    CHECK(unconfigured(cases[i], PAGE "/", "http://elsewhere.test/x", 0) == AG_GUARD_PASS);
  }
  CHECK(ag_guard_unconfigured("{}", 2, NULL, 0, "/x", 2, NULL, 0, 0, judged, 10) == AG_ERR_INVALID);
}

static void a_refused_gate_protects_the_whole_base_origin_and_readable_trusted_ones(void) {
  const char *o = "{\"baseUrl\":\"http://api.test/v2\",\"storage\":\"cookie\","
                  "\"trustedOrigins\":[7,\"not a url\",\"https://files.test\"]}";
  /* paths are not read: the whole baseUrl origin is meant to be protected */
  CHECK(unconfigured(o, PAGE "/", "http://api.test/other", 0) == AG_GUARD_REFUSE);
  CHECK(unconfigured(o, PAGE "/", "https://files.test/a", 0) == AG_GUARD_REFUSE);
  CHECK(unconfigured(o, PAGE "/", "https://files.test/a", 1) == AG_GUARD_PASS);
  CHECK(unconfigured(o, PAGE "/", "/x", 0) == AG_GUARD_PASS); /* the page: not baseUrl's origin */
  /* no page: a relative call cannot be judged, an absolute one still is */
  CHECK(unconfigured(o, NULL, "/x", 0) == AG_GUARD_PASS);
  CHECK(unconfigured(o, NULL, "http://api.test/x", 0) == AG_GUARD_REFUSE);
  CHECK(ag_guard_unconfigured(NULL, 0, NULL, 0, "http://api.test/x", 17, NULL, 0, 0, judged,
                              sizeof judged) == AG_GUARD_PASS); /* nothing meant: nothing refused */
}

int main(void) {
  RUN(guard_refuses_authorizes_or_warns_only_bare_protected_calls);
  RUN(every_mode_passes_what_is_not_a_bare_protected_call);
  RUN(bad_arguments_are_invalid);
  RUN(guard_judges_raw_calls_against_the_page_never_the_prefix);
  RUN(guard_routes_a_raw_call_to_the_origin_the_browser_would_use);
  RUN(guard_uses_the_browsers_resolution_where_the_core_refuses_the_input);
  RUN(guard_fails_closed_when_core_and_browser_name_different_origins);
  RUN(without_a_page_a_relative_raw_call_is_not_judged);
  RUN(bad_options_fail_closed_only_for_what_they_meant_to_protect);
  RUN(unreadable_base_url_protects_the_page_origin);
  RUN(a_refused_gate_protects_the_whole_base_origin_and_readable_trusted_ones);
  return CHECK_EXIT_CODE();
}
