/*
 * test_requests.c — the core's own request bodies and credentials
 * (requests.c): JSON, the OAuth2 form, none for cookie refresh.
 */
#include "check.h"
#include "client.h"
#include "driver.h"

#include <stdbool.h>
#include <stdlib.h>

#define T0 1700000000000.0
#define LOGIN(body)                                                                                \
  "{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/in\",\"body\":\"" body "\"}}"
#define REFRESH(send)                                                                              \
  "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\",\"send\":\"" send "\"}}"

/* The last body built and its content type, "(none)" when there is none. */
static char body[1024], type[64];

/* Builds the login body `credentials` make under `options`; returns what the builder did. */
static int login_body(const char *options, const char *credentials) {
  driver d;
  drv_open(&d, options);
  call *k = ag_call_new(d.c, AG_SEND_LOGIN);
  int rc = ag_build_login_body(d.c, k, credentials, credentials ? strlen(credentials) : 0);
  snprintf(body, sizeof body, "%s", k->body ? k->body : "(none)");
  snprintf(type, sizeof type, "%s", k->content_type ? k->content_type : "(none)");
  CHECK(!k->body || k->body_len == strlen(k->body));
  ag_call_free(d.c, k);
  drv_close(&d);
  return rc;
}

static void login_form_body_is_url_encoded(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/"
               "token\",\"body\":\"form\"},\"crossTab\":false}");
  drv_start(&d, T0, NULL);
  uint32_t id = 0;
  const char *cred = "{\"username\":\"a b\",\"password\":\"x&y=z\"}";
  ag_client_login(d.c, T0, cred, strlen(cred), &id);
  drv_drain(&d);
  const logged *s = drv_for(&d, AG_ACTION_SEND, id);
  CHECK_STR_EQ(s ? s->body : NULL, "username=a+b&password=x%26y%3Dz");
  CHECK_STR_EQ(s ? s->content_type : NULL, "application/x-www-form-urlencoded");
  drv_close(&d);
}

static void refresh_form_mode_sends_the_oauth2_grant(void) {
  driver d;
  drv_logged_in(&d,
                "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/"
                "token\",\"send\":\"form\"},\"crossTab\":false}",
                T0);
  drv_call(&d, T0 + 400000, "GET", "/x", NULL);
  const logged *s = drv_last(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  CHECK_STR_EQ(s ? s->body : NULL, "grant_type=refresh_token&refresh_token=R1");
  drv_close(&d);
}

static void a_login_body_is_escaped_json_or_a_percent_encoded_form(void) {
  static const struct {
    const char *options, *credentials, *body, *type;
  } rows[] = {
      {LOGIN("json"), "{\"user\":\"a\\\"b\",\"pw\":\"\\u00e9\\n\",\"k\\\\\":\"\"}",
       "{\"user\":\"a\\\"b\",\"pw\":\"\xc3\xa9\\u000A\",\"k\\\\\":\"\"}", "application/json"},
      {LOGIN("json"), "{}", "{}", "application/json"},
      {LOGIN("form"), "{\"user name\":\"a+b\",\"p\":\"100%/\\u00e9\",\"e\":\"\"}",
       "user+name=a%2Bb&p=100%25%2F%C3%A9&e=", "application/x-www-form-urlencoded"},
      {LOGIN("form"), "{}", "", "application/x-www-form-urlencoded"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    CHECK(login_body(rows[i].options, rows[i].credentials) == AG_OK);
    CHECK_STR_EQ(body, rows[i].body);
    CHECK_STR_EQ(type, rows[i].type);
  }
}

static void credentials_must_be_an_object_of_strings(void) {
  static const char *bad[] = {"[]",          "\"x\"",           "{\"a\":1}", "{\"a\":null}",
                              "{\"a\":{}}",  "{\"a\":[\"x\"]}", "not json",  "{\"a\":\"x\"} {}",
                              "{\"a\":true}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK(login_body(LOGIN("json"), bad[i]) == AG_ERR_BAD_CONFIG);
    CHECK_STR_EQ(body, "(none)");
  }
  CHECK(login_body(LOGIN("json"), NULL) == AG_ERR_BAD_CONFIG);
}

static bool memory_out;
static void *maybe_malloc(size_t n) { return memory_out ? NULL : malloc(n); }

static void out_of_memory_is_not_taken_for_bad_credentials(void) {
  driver d;
  drv_open(&d, LOGIN("json"));
  call *k = ag_call_new(d.c, AG_SEND_LOGIN);
  const char *cred = "{\"user\":\"u\"}";
  ag_set_allocator(maybe_malloc, free);
  memory_out = true;
  CHECK(ag_build_login_body(d.c, k, cred, strlen(cred)) == AG_ERR_NOMEM);
  CHECK(k->body == NULL);
  memory_out = false;
  ag_set_allocator(NULL, NULL);
  ag_call_free(d.c, k);
  drv_close(&d);
}

/* The refresh request `options` make for a client holding refresh token `refresh`. */
static int refresh_body(const char *options, const char *refresh) {
  driver d;
  char set[256];
  snprintf(set, sizeof set, "{\"access\":\"A1\",\"refresh\":\"%s\"}", refresh);
  drv_open(&d, options);
  drv_start(&d, T0, NULL);
  CHECK(ag_client_set_tokens(d.c, T0, set, strlen(set)) == AG_OK);
  call *k = ag_call_new(d.c, AG_SEND_REFRESH);
  int rc = ag_build_refresh_body(d.c, k);
  snprintf(body, sizeof body, "%s", k->body ? k->body : "(none)");
  snprintf(type, sizeof type, "%s", k->content_type ? k->content_type : "(none)");
  ag_call_free(d.c, k);
  drv_close(&d);
  return rc;
}

static void refresh_bodies_follow_the_send_option(void) {
  CHECK(refresh_body(REFRESH("json"), "R/1+=") == AG_OK);
  CHECK_STR_EQ(body, "{\"refresh\":\"R/1+=\"}");
  CHECK_STR_EQ(type, "application/json");
  const char *named = "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\","
                      "\"field\":\"refresh_token\"}}";
  CHECK(refresh_body(named, "R1") == AG_OK);
  CHECK_STR_EQ(body, "{\"refresh_token\":\"R1\"}");
  CHECK(refresh_body(REFRESH("form"), "R/1+=") == AG_OK);
  CHECK_STR_EQ(body, "grant_type=refresh_token&refresh_token=R%2F1%2B%3D");
  CHECK_STR_EQ(type, "application/x-www-form-urlencoded");
  /* the httpOnly cookie is the credential: no body, no content type */
  CHECK(refresh_body(REFRESH("cookie"), "R1") == AG_OK);
  CHECK_STR_EQ(body, "(none)");
  CHECK_STR_EQ(type, "(none)");
}

static int own_credentials(const char *options, const char *url) {
  driver d;
  drv_open(&d, options);
  int mode = ag_own_request_credentials(d.c, url);
  drv_close(&d);
  return mode;
}

static void own_requests_get_the_configured_credentials_and_cookie_refresh_includes(void) {
  const char *base = "{\"baseUrl\":\"http://api.test\"}";
  const char *incl = "{\"baseUrl\":\"http://api.test\",\"credentials\":\"include\"}";
  CHECK(own_credentials(base, "http://api.test/in") == AG_CRED_SAME_ORIGIN);
  CHECK(own_credentials(incl, "http://api.test/in") == AG_CRED_INCLUDE);
  CHECK(own_credentials(incl, "http://other.test/in") == AG_CRED_UNSET);
  CHECK(own_credentials(base, "not a url") == AG_CRED_UNSET);
  /* cookie refresh: the cookie must go with the refresh and be set by the login's answer */
  CHECK(own_credentials(REFRESH("cookie"), "http://api.test/r") == AG_CRED_INCLUDE);
  CHECK(own_credentials(REFRESH("cookie"), "http://api.test/in") == AG_CRED_INCLUDE);
  CHECK(own_credentials(REFRESH("json"), "http://api.test/r") == AG_CRED_SAME_ORIGIN);
}

static void the_page_decides_what_is_cross_origin(void) {
  driver d;
  drv_open(&d, "{\"baseUrl\":\"http://api.test\"}");
  ag_url api, page;
  CHECK(ag_url_parse(&api, "http://api.test/x", 17) == AG_OK);
  CHECK(ag_url_parse(&page, PAGE "/x", strlen(PAGE "/x")) == AG_OK);
  CHECK(!ag_config_same_origin_as_page(d.c, &api));
  CHECK(ag_config_same_origin_as_page(d.c, &page));
  drv_close(&d);
  ag_client *node = NULL; /* no page (Node): no CORS, everything counts as same-origin */
  const char *o = "{\"baseUrl\":\"http://api.test\"}";
  CHECK(ag_client_new(&node, o, strlen(o), "", 0, NULL, 0) == AG_OK);
  CHECK(ag_config_same_origin_as_page(node, &api));
  ag_client_free(node);
  ag_url_free(&api);
  ag_url_free(&page);
}

int main(void) {
  RUN(login_form_body_is_url_encoded);
  RUN(refresh_form_mode_sends_the_oauth2_grant);
  RUN(a_login_body_is_escaped_json_or_a_percent_encoded_form);
  RUN(credentials_must_be_an_object_of_strings);
  RUN(out_of_memory_is_not_taken_for_bad_credentials);
  RUN(refresh_bodies_follow_the_send_option);
  RUN(own_requests_get_the_configured_credentials_and_cookie_refresh_includes);
  RUN(the_page_decides_what_is_cross_origin);
  return CHECK_EXIT_CODE();
}
