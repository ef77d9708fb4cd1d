/* test_policy.c — options parsing, the route policy and credentials (policy.c). */
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
  CHECK_STR_EQ(c.base_url, "http://app.test:5173/");
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

/* ---- through a client: where gate.fetch sends an input ---- */

static ag_client *client_for(const char *options, const char *page) {
  ag_client *cl = NULL;
  CHECK(ag_client_new(&cl, options, strlen(options), page, page ? strlen(page) : 0, NULL, 0) ==
        AG_OK);
  if (cl) {
    const char *set = "{\"access\":\"T1\"}";
    CHECK(ag_client_start(cl, 1000, NULL, 0) == AG_OK);
    CHECK(ag_client_set_tokens(cl, 1000, set, strlen(set)) == AG_OK);
    ag_action a;
    while (ag_client_next_action(cl, &a)) {}
  }
  return cl;
}

/* "SEND <url> [bearer]" or "REJECT <code> <text>" for a GET of `input`. */
static char sent[AG_MAX_URL + 512];

static const char *send_of(ag_client *cl, const char *input) {
  uint32_t id;
  ag_action a;
  sent[0] = '\0';
  CHECK(ag_client_call(cl, 1000, "GET", 3, input, strlen(input), NULL, 0, AG_CRED_UNSET, &id) ==
        AG_OK);
  while (ag_client_next_action(cl, &a)) {
    if (a.id != id) continue;
    if (a.type == AG_ACTION_SEND)
      snprintf(sent, sizeof sent, "SEND %s%s", a.url, a.authorization ? " bearer" : "");
    if (a.type == AG_ACTION_REJECT)
      snprintf(sent, sizeof sent, "REJECT %s %.*s", ag_code_name(a.code), (int)a.text_len, a.text);
  }
  if (!strncmp(sent, "SEND", 4)) {
    CHECK(ag_client_response(cl, 1000, id, 200, NULL, 0) == AG_OK);
    while (ag_client_next_action(cl, &a)) {}
  }
  return sent;
}

static void a_base_url_path_is_a_prefix_for_calls_and_endpoints(void) {
  ag_client *cl =
      client_for("{\"baseUrl\":\"https://api.example/v2\",\"protect\":[\"/v2/private\"],"
                 "\"public\":[\"/v2/private/health\"],\"login\":{\"url\":\"/auth/login\"}}",
                 NULL);
  CHECK_STR_EQ(send_of(cl, "/users"), "SEND https://api.example/v2/users");
  CHECK_STR_EQ(send_of(cl, "users"), "SEND https://api.example/v2/users");
  CHECK_STR_EQ(send_of(cl, "/private/x"), "SEND https://api.example/v2/private/x bearer");
  CHECK_STR_EQ(send_of(cl, "private/health"), "SEND https://api.example/v2/private/health");
  /* protect/public match the final path: an absolute URL outside /v2 is not under /v2/private */
  CHECK_STR_EQ(send_of(cl, "https://api.example/private/x"), "SEND https://api.example/private/x");
  CHECK_STR_EQ(send_of(cl, "//api.example/v2/private/y"),
               "SEND https://api.example/v2/private/y bearer");
  CHECK_STR_EQ(send_of(cl, "\\\\other.example\\x"), "SEND https://other.example/x");
  CHECK_STR_EQ(send_of(cl, "?q=1"), "SEND https://api.example/v2/?q=1");
  CHECK_STR_EQ(send_of(cl, "#f"), "SEND https://api.example/v2/");
  CHECK_STR_EQ(send_of(cl, "../v1/users"), "SEND https://api.example/v1/users");
  ag_client_free(cl);
  ag_config c;
  char err[200];
  CHECK(parse(&c, "{\"baseUrl\":\"https://api.example/v2/\",\"login\":{\"url\":\"/auth/login\"}}",
              NULL, err) == AG_OK);
  CHECK_STR_EQ(c.login_url, "https://api.example/v2/auth/login");
  CHECK(route_of(&c, "/auth/login") == AG_ROUTE_PUBLIC);
  CHECK(route_of(&c, "/users") == AG_ROUTE_PROTECTED);
  ag_config_free(&c);
}

static void a_trailing_slash_in_base_url_gives_no_double_slash(void) {
  ag_client *cl = client_for("{\"baseUrl\":\"https://api.example/v2/\"}", NULL);
  CHECK_STR_EQ(send_of(cl, "/users"), "SEND https://api.example/v2/users bearer");
  CHECK_STR_EQ(send_of(cl, "users/"), "SEND https://api.example/v2/users/ bearer");
  ag_client_free(cl);
}

static void a_page_relative_base_url_with_a_path_is_a_prefix_too(void) {
  ag_client *cl = client_for("{\"baseUrl\":\"/api/v2\"}", PAGE);
  CHECK_STR_EQ(send_of(cl, "/users"), "SEND " PAGE "/api/v2/users bearer");
  ag_client_free(cl);
}

static void a_base_url_without_a_path_behaves_as_before(void) {
  ag_client *cl = client_for("{\"baseUrl\":\"https://api.example\"}", NULL);
  CHECK_STR_EQ(send_of(cl, "/users"), "SEND https://api.example/users bearer");
  CHECK_STR_EQ(send_of(cl, "users"), "SEND https://api.example/users bearer");
  CHECK_STR_EQ(send_of(cl, "?q"), "SEND https://api.example/?q bearer");
  ag_client_free(cl);
}

static void inputs_the_browser_accepts_are_sent_as_the_browser_would(void) {
  ag_client *cl = client_for("{\"baseUrl\":\"http://api.test\"}", NULL);
  CHECK_STR_EQ(send_of(cl, "/api/x?q=hello world"),
               "SEND http://api.test/api/x?q=hello%20world bearer");
  CHECK_STR_EQ(send_of(cl, "/api/my file.txt"), "SEND http://api.test/api/my%20file.txt bearer");
  CHECK_STR_EQ(send_of(cl, "/api/x\t\n"), "SEND http://api.test/api/x bearer");
  CHECK_STR_EQ(send_of(cl, "http://@api.test/x"), "SEND http://api.test/x bearer");
  CHECK_STR_EQ(send_of(cl, "http://api.test:81\\@evil/"), "SEND http://api.test:81/@evil/");
  CHECK_STR_EQ(send_of(cl, "http:\\\\www.google.com\\foo"), "SEND http://www.google.com/foo");
  ag_client_free(cl);
}

static void refused_urls_say_what_to_write_instead(void) {
  ag_client *cl = client_for("{\"baseUrl\":\"http://api.test\"}", NULL);
  const char *r = send_of(cl, "https://fa\xc3\x9f.ExAmPlE/");
  CHECK(!strncmp(r, "REJECT BAD_CONFIG GET https://fa\xc3\x9f.ExAmPlE/: ", 44));
  CHECK(strstr(r, "punycode") != NULL);
  CHECK(strstr(send_of(cl, "http://0x7f.1/"), "e.g. 127.0.0.1") != NULL);
  CHECK(strstr(send_of(cl, "http://u:p@api.test/"), "credentials") != NULL);
  CHECK(strstr(send_of(cl, "http://%61pi.test/"), "decoded") != NULL);
  CHECK(strstr(send_of(cl, "mailto:x@y"), "only http: and https:") != NULL);
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
  RUN(a_base_url_path_is_a_prefix_for_calls_and_endpoints);
  RUN(a_trailing_slash_in_base_url_gives_no_double_slash);
  RUN(a_page_relative_base_url_with_a_path_is_a_prefix_too);
  RUN(a_base_url_without_a_path_behaves_as_before);
  RUN(inputs_the_browser_accepts_are_sent_as_the_browser_would);
  RUN(refused_urls_say_what_to_write_instead);
  return CHECK_EXIT_CODE();
}
