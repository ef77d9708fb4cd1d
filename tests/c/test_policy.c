/* test_policy.c — options parsing, the route policy, credentials and the raw-fetch guard. */
#include "check.h"
#include "internal.h"

#define PAGE "http://app.test:5173"

static int parse(ag_config *c, const char *json, const char *page, char *err) {
  return ag_config_parse(c, json, strlen(json), page, page ? strlen(page) : 0, err, 200);
}

static int route_of(const ag_config *c, const char *url) {
  ag_url u;
  if (ag_config_resolve(c, url, strlen(url), &u, NULL) != AG_OK) return -1;
  int r = ag_config_route(c, &u);
  ag_url_free(&u);
  return r;
}

static void defaults_protect_the_whole_base_origin(void) {
  ag_config c;
  char err[200];
  CHECK(parse(&c, "{\"baseUrl\":\"http://127.0.0.1:8000\"}", PAGE, err) == AG_OK);
  CHECK(route_of(&c, "/anything") == AG_ROUTE_PROTECTED);
  CHECK(route_of(&c, "http://127.0.0.1:8001/x") == AG_ROUTE_FOREIGN);
  CHECK(c.storage == AG_STORAGE_MEMORY && c.cross_tab && c.refresh_skew_ms == 30000);
  CHECK(c.ready_timeout_ms == 10000 && c.credentials == AG_CRED_SAME_ORIGIN);
  CHECK_STR_EQ(c.storage_key, "authgate");
  ag_config_free(&c);
}

static void slash_base_url_means_the_page_origin(void) {
  ag_config c;
  char err[200];
  CHECK(parse(&c, "{\"baseUrl\":\"/\"}", PAGE, err) == AG_OK);
  CHECK_STR_EQ(c.base_origin, "http://app.test:5173");
  ag_config_free(&c);
}

static void relative_base_url_without_a_page_is_bad_config(void) {
  ag_config c;
  char err[200];
  CHECK(parse(&c, "{\"baseUrl\":\"/api\"}", NULL, err) == AG_ERR_BAD_CONFIG);
  CHECK(strstr(err, "baseUrl") != NULL);
}

static void prefixes_match_on_segment_boundaries_and_public_wins(void) {
  ag_config c;
  char err[200];
  CHECK(parse(&c,
              "{\"baseUrl\":\"http://api.test\",\"protect\":[\"/api\"],\"public\":[\"/api/auth\"]}",
              PAGE, err) == AG_OK);
  CHECK(route_of(&c, "/api") == AG_ROUTE_PROTECTED);
  CHECK(route_of(&c, "/api/v1/x") == AG_ROUTE_PROTECTED);
  CHECK(route_of(&c, "/apix") == AG_ROUTE_PUBLIC);
  CHECK(route_of(&c, "/api/auth/login") == AG_ROUTE_PUBLIC);
  CHECK(route_of(&c, "/api/authx") == AG_ROUTE_PROTECTED);
  CHECK(route_of(&c, "/api/./auth/../v1") == AG_ROUTE_PROTECTED);
  CHECK(route_of(&c, "/static/app.js") == AG_ROUTE_PUBLIC);
  ag_config_free(&c);
}

static void login_and_refresh_endpoints_are_public_by_themselves(void) {
  ag_config c;
  char err[200];
  CHECK(parse(&c,
              "{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/auth/login\"},"
              "\"refresh\":{\"url\":\"http://api.test/auth/refresh\"}}",
              PAGE, err) == AG_OK);
  CHECK(route_of(&c, "/auth/login") == AG_ROUTE_PUBLIC);
  CHECK(route_of(&c, "/auth/refresh") == AG_ROUTE_PUBLIC);
  CHECK(route_of(&c, "/auth/me") == AG_ROUTE_PROTECTED);
  CHECK_STR_EQ(c.login_url, "http://api.test/auth/login");
  ag_config_free(&c);
}

static void trusted_origins_are_normalised(void) {
  ag_config c;
  char err[200];
  CHECK(parse(&c,
              "{\"baseUrl\":\"http://api.test\",\"trustedOrigins\":[\"HTTPS://Files.Test:443/\"]}",
              PAGE, err) == AG_OK);
  CHECK_STR_EQ(c.trusted[0], "https://files.test");
  CHECK(route_of(&c, "https://files.test/x") == AG_ROUTE_PROTECTED);
  CHECK(route_of(&c, "http://files.test/x") == AG_ROUTE_FOREIGN);
  ag_config_free(&c);
}

static void every_bad_option_is_bad_config_with_a_reason(void) {
  static const struct {
    const char *json, *says;
  } cases[] = {
      {"not json", "options"},
      {"[]", "options"},
      {"{}", "baseUrl"},
      {"{\"baseURL\":\"http://a.test\"}", "baseURL"},
      {"{\"baseUrl\":42}", "baseUrl"},
      {"{\"baseUrl\":\"javascript:alert(1)\"}", "baseUrl"},
      {"{\"baseUrl\":\"http://a.test\",\"storage\":\"cookie\"}", "storage"},
      {"{\"baseUrl\":\"http://a.test\",\"protect\":[\"api\"]}", "protect"},
      {"{\"baseUrl\":\"http://a.test\",\"protect\":\"/api\"}", "protect"},
      {"{\"baseUrl\":\"http://a.test\",\"login\":{}}", "login.url"},
      {"{\"baseUrl\":\"http://a.test\",\"login\":{\"url\":\"http://evil.test/login\"}}",
       "login.url"},
      {"{\"baseUrl\":\"http://a.test\",\"refresh\":{\"url\":\"/r\",\"send\":\"header\"}}",
       "refresh.send"},
      {"{\"baseUrl\":\"http://a.test\",\"refreshSkewSeconds\":-1}", "refreshSkewSeconds"},
      {"{\"baseUrl\":\"http://a.test\",\"readyTimeoutMs\":\"10\"}", "readyTimeoutMs"},
      {"{\"baseUrl\":\"http://a.test\",\"crossTab\":1}", "crossTab"},
      {"{\"baseUrl\":\"http://a.test\",\"credentials\":\"all\"}", "credentials"},
      {"{\"baseUrl\":\"http://a.test\",\"tokenFields\":{\"token\":[\"t\"]}}", "tokenFields"},
      {"{\"baseUrl\":\"http://a.test\",\"trustedOrigins\":[\"*\"]}", "trustedOrigins"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ag_config c;
    char err[200] = "";
    int rc = parse(&c, cases[i].json, PAGE, err);
    CHECK(rc == AG_ERR_BAD_CONFIG);
    if (!strstr(err, cases[i].says)) fprintf(stderr, "  case %zu: reason was \"%s\"\n", i, err);
    CHECK(strstr(err, cases[i].says) != NULL);
  }
}

static void caller_credentials_win_over_the_configured_mode(void) {
  ag_config c;
  char err[200];
  CHECK(parse(&c, "{\"baseUrl\":\"http://api.test\",\"credentials\":\"include\"}", PAGE, err) ==
        AG_OK);
  ag_url u, f;
  ag_url_parse(&u, "http://api.test/x", 17);
  ag_url_parse(&f, "http://else.test/x", 18);
  CHECK(ag_config_credentials(&c, &u, AG_CRED_UNSET) == AG_CRED_INCLUDE);
  CHECK(ag_config_credentials(&c, &u, AG_CRED_OMIT) == AG_CRED_OMIT);
  CHECK(ag_config_credentials(&c, &f, AG_CRED_UNSET) == AG_CRED_UNSET);
  ag_url_free(&u);
  ag_url_free(&f);
  ag_config_free(&c);
}

/* The guard's verdict for a raw `url` on the page `page_url`, the judged URL in `judged`. */
static char judged[AG_GUARD_URL_CAP];

static int guard(ag_client *cl, const char *page_url, const char *url, const char *href, int auth,
                 int mode) {
  return ag_client_guard(cl, page_url, page_url ? strlen(page_url) : 0, url, strlen(url), href,
                         href ? strlen(href) : 0, auth, mode, judged, sizeof judged);
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

int main(void) {
  RUN(defaults_protect_the_whole_base_origin);
  RUN(slash_base_url_means_the_page_origin);
  RUN(relative_base_url_without_a_page_is_bad_config);
  RUN(prefixes_match_on_segment_boundaries_and_public_wins);
  RUN(login_and_refresh_endpoints_are_public_by_themselves);
  RUN(trusted_origins_are_normalised);
  RUN(every_bad_option_is_bad_config_with_a_reason);
  RUN(caller_credentials_win_over_the_configured_mode);
  RUN(guard_refuses_authorizes_or_warns_only_bare_protected_calls);
  return CHECK_EXIT_CODE();
}
