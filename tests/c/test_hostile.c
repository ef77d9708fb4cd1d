/*
 * test_hostile.c — hostile input through the public API only (ag_client_*):
 * what a malicious or broken server, another tab, hand-edited storage or a
 * careless caller can feed the gate, and the clear result each one gets.
 * The last tests are regressions for bugs the fuzzers found.
 */
#include "check.h"
#include "client.h"
#include "driver.h"

#define T0 1700000000000.0
#define OPTS                                                                                       \
  "{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"],\"login\":{\"url\":\"/auth/login\"}," \
  "\"refresh\":{\"url\":\"/auth/refresh\"},\"crossTab\":false,\"storage\":\"local\"}"
#define NO_REFRESH                                                                                 \
  "{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/auth/login\"},\"crossTab\":false}"
#define SECRET "SECRETtoken42"
#define CREDS "{\"username\":\"u\",\"password\":\"p\"}"

/* ---- helpers ---- */

static char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

/* Logs in with `body` (length `len`) as the login response; returns the login id. */
static uint32_t login_with(driver *d, const char *body, size_t len) {
  uint32_t id = 0;
  ag_client_login(d->c, T0, CREDS, strlen(CREDS), &id);
  drv_drain(d);
  ag_client_response(d->c, T0 + 1, id, 200, body, len);
  drv_drain(d);
  return id;
}

static int login_code(const char *options, const char *body, size_t len) {
  driver d;
  drv_open(&d, options);
  drv_start(&d, T0, NULL);
  uint32_t id = login_with(&d, body, len);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  int code = r ? r->code : AG_CODE_NONE;
  if (r) CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  if (r) CHECK(drv_count(&d, AG_ACTION_PERSIST, -1) == 0);
  drv_close(&d);
  return code;
}

/* The logged SEND for a call to `url` made by a client holding SECRET, or NULL. */
static int send_of(driver *d, const char *url, const char *auth, const logged **send,
                   const logged **reject) {
  uint32_t id = drv_call(d, T0 + 10, "GET", url, auth);
  *send = drv_for(d, AG_ACTION_SEND, id);
  *reject = drv_for(d, AG_ACTION_REJECT, id);
  return (int)id;
}

static void logged_in(driver *d, const char *options) {
  drv_open(d, options);
  drv_start(d, T0, NULL);
  const char *set = "{\"access\":\"" SECRET "\",\"refresh\":\"R" SECRET "\",\"expiresIn\":300}";
  CHECK(ag_client_set_tokens(d->c, T0, set, strlen(set)) == AG_OK);
  drv_drain(d);
  drv_reset_log(d);
}

/* ---- oversized, nested, non-UTF-8, NUL ---- */

static void oversized_token_in_a_login_response_is_bad_token_response(void) {
  char *tok = repeat('a', 16385); /* AG_MAX_TOKEN + 1 */
  size_t n = strlen(tok) + 64;
  char *body = malloc(n);
  int len = snprintf(body, n, "{\"access_token\":\"%s\"}", tok);
  CHECK(login_code(OPTS, body, (size_t)len) == AG_CODE_BAD_TOKEN_RESPONSE);
  free(tok);
  free(body);
}

static void oversized_login_response_is_bad_token_response(void) {
  char *pad = repeat('x', 70000); /* the body is over AG_MAX_JSON (64 KiB) */
  size_t n = strlen(pad) + 64;
  char *body = malloc(n);
  int len = snprintf(body, n, "{\"access_token\":\"A1\",\"pad\":\"%s\"}", pad);
  CHECK(login_code(OPTS, body, (size_t)len) == AG_CODE_BAD_TOKEN_RESPONSE);
  free(pad);
  free(body);
}

static void deeply_nested_json_is_refused_everywhere(void) {
  char body[512], opts[5000];
  int len = snprintf(body, sizeof body, "{\"access_token\":\"A1\",\"x\":%s1%s}",
                     "[[[[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]]]]");
  CHECK(login_code(OPTS, body, (size_t)len) == AG_CODE_BAD_TOKEN_RESPONSE);
  /* Options nested far past cJSON's own limit: a clean BAD_CONFIG. */
  int o = snprintf(opts, sizeof opts, "{\"baseUrl\":\"http://api.test\",\"tokenFields\":");
  for (int i = 0; i < 2000; i++) opts[o++] = '[';
  opts[o] = '\0';
  ag_client *c = (ag_client *)1;
  char err[128];
  CHECK(ag_client_new(&c, opts, strlen(opts), PAGE, strlen(PAGE), err, sizeof err) ==
        AG_ERR_BAD_CONFIG);
  CHECK(c == NULL && err[0]);
}

static void non_utf8_and_nul_bytes_in_tokens_are_refused(void) {
  const char bad_utf8[] = "{\"access_token\":\"A\xff\xfe"
                          "1\"}";
  CHECK(login_code(OPTS, bad_utf8, sizeof bad_utf8 - 1) == AG_CODE_BAD_TOKEN_RESPONSE);
  const char raw_nul[] = "{\"access_token\":\"A\0"
                         "1\"}";
  CHECK(login_code(OPTS, raw_nul, sizeof raw_nul - 1) == AG_CODE_BAD_TOKEN_RESPONSE);
  const char escaped_nul[] = "{\"access_token\":\"A\\u00001\"}";
  CHECK(login_code(OPTS, escaped_nul, sizeof escaped_nul - 1) == AG_CODE_BAD_TOKEN_RESPONSE);
  /* A NUL after a valid object is not "the end of the input". */
  const char trailing[] = "{\"access_token\":\"A1\"}\0{\"x\":1}";
  CHECK(login_code(OPTS, trailing, sizeof trailing - 1) == AG_CODE_BAD_TOKEN_RESPONSE);
}

static void nul_inside_an_option_string_is_bad_config(void) {
  const char opts[] = "{\"baseUrl\":\"http://api.test\\u0000.evil.example\"}";
  ag_client *c = NULL;
  int rc = ag_client_new(&c, opts, sizeof opts - 1, PAGE, strlen(PAGE), NULL, 0);
  /* cJSON stops the string at the NUL: either refused or exactly api.test, never evil.example. */
  if (rc == AG_OK) {
    CHECK(strstr(c->cfg.base_url, "evil") == NULL);
    ag_client_free(c);
  } else {
    CHECK(rc == AG_ERR_BAD_CONFIG);
  }
  const char raw[] = "{\"baseUrl\":\"http://api.test\0.evil.example\"}";
  c = NULL;
  CHECK(ag_client_new(&c, raw, sizeof raw - 1, PAGE, strlen(PAGE), NULL, 0) == AG_ERR_BAD_CONFIG);
  CHECK(c == NULL);
}

/* ---- tokens that could split a header ---- */

static void tokens_with_crlf_or_spaces_are_refused(void) {
  const char *crlf = "{\"access_token\":\"A1\\r\\nX-Evil: 1\"}";
  const char *space = "{\"access_token\":\"A 1\"}";
  const char *tab = "{\"access_token\":\"A\\t1\"}";
  const char *refresh_crlf = "{\"access_token\":\"A1\",\"refresh_token\":\"R\\r\\n\"}";
  CHECK(login_code(OPTS, crlf, strlen(crlf)) == AG_CODE_BAD_TOKEN_RESPONSE);
  CHECK(login_code(OPTS, space, strlen(space)) == AG_CODE_BAD_TOKEN_RESPONSE);
  CHECK(login_code(OPTS, tab, strlen(tab)) == AG_CODE_BAD_TOKEN_RESPONSE);
  CHECK(login_code(OPTS, refresh_crlf, strlen(refresh_crlf)) == AG_CODE_BAD_TOKEN_RESPONSE);

  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  const char *set = "{\"access\":\"A1\\r\\nX-Evil: 1\"}";
  CHECK(ag_client_set_tokens(d.c, T0, set, strlen(set)) == AG_ERR_BAD_TOKENS);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

/* ---- exp claims ---- */

static char *jwt_response(const char *payload_b64) {
  char *s = malloc(256);
  snprintf(s, 256, "{\"access_token\":\"e30.%s.sig\"}", payload_b64);
  return s;
}

static void expired_jwt_is_never_sent_and_the_session_ends(void) {
  driver d;
  drv_open(&d, NO_REFRESH);
  drv_start(&d, T0, NULL);
  char *body = jwt_response("eyJleHAiOjE2MDAwMDAwMDB9"); /* {"exp":1600000000}: 2020 */
  login_with(&d, body, strlen(body));
  free(body);
  const logged *s, *r;
  send_of(&d, "/api/x", NULL, &s, &r);
  CHECK(s == NULL);
  CHECK(r && r->code == AG_CODE_SESSION_EXPIRED);
  drv_close(&d);
}

static void exp_that_is_not_a_usable_number_means_no_expiry(void) {
  /* {"exp":1e300}, {"exp":-5}, {"exp":"soon"}, {"exp":null} */
  const char *payloads[] = {"eyJleHAiOjFlMzAwfQ", "eyJleHAiOi01fQ", "eyJleHAiOiJzb29uIn0",
                            "eyJleHAiOm51bGx9"};
  for (size_t i = 0; i < 4; i++) {
    driver d;
    drv_open(&d, NO_REFRESH);
    drv_start(&d, T0, NULL);
    char *body = jwt_response(payloads[i]);
    login_with(&d, body, strlen(body));
    free(body);
    CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
    CHECK(ag_client_next_deadline(d.c) == -1); /* opaque: valid until the server says 401 */
    const logged *s, *r;
    send_of(&d, "/api/x", NULL, &s, &r);
    CHECK(s && s->authorization && !strncmp(s->authorization, "Bearer e30.", 11));
    drv_close(&d);
  }
}

static void far_future_expires_in_is_refused_as_unusable(void) {
  /* expires_in beyond ten years is ignored: the JWT exp (none here) decides: no expiry. */
  const char *body = "{\"access_token\":\"A1\",\"expires_in\":1e308}";
  driver d;
  drv_open(&d, NO_REFRESH);
  drv_start(&d, T0, NULL);
  login_with(&d, body, strlen(body));
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  CHECK(ag_client_next_deadline(d.c) == -1);
  drv_close(&d);
}

/* ---- URLs given to gate.fetch ---- */

static void urls_with_credentials_or_other_schemes_are_bad_config_and_never_sent(void) {
  driver d;
  logged_in(&d, OPTS);
  const char *bad[] = {"http://user:pw@api.test/api/x",
                       "https://user@api.test/",
                       "http://a@b@api.test/",
                       "javascript:alert(1)",
                       "data:text/html,<script>x</script>",
                       "file:///etc/passwd",
                       "http://b\xc3\xbc\x63her.example/",
                       "http://api.test:99999/"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const logged *s, *r;
    send_of(&d, bad[i], NULL, &s, &r);
    CHECK(s == NULL);
    CHECK(r && r->code == AG_CODE_BAD_CONFIG);
  }
  CHECK(drv_count(&d, AG_ACTION_SEND, -1) == 0);
  drv_close(&d);
}

static void other_hosts_however_written_never_get_the_token(void) {
  driver d;
  logged_in(&d, OPTS);
  const char *foreign[] = {"//evil.example/api",
                           "\\\\evil.example/api",
                           "/\\evil.example/api",
                           "http://api.test.evil.example/api",
                           "http://xn--bcher-kva.example/api",
                           "https://api.test/api",
                           "http://api.test:8080/api",
                           "http://evil.example/http://api.test/"};
  for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
    const logged *s, *r;
    send_of(&d, foreign[i], NULL, &s, &r);
    CHECK(s != NULL);
    CHECK(s && s->authorization == NULL);
    CHECK(s && strncmp(s->url, "http://api.test/", 16) != 0);
  }
  /* The browser reads this as http://evil.example/api, and so does the core now. */
  const logged *s, *r;
  send_of(&d, "http:\\\\evil.example\\api", NULL, &s, &r);
  CHECK(s && s->authorization == NULL);
  CHECK_STR_EQ(s ? s->url : NULL, "http://evil.example/api");
  drv_close(&d);
}

static void mixed_case_hosts_and_default_ports_are_the_same_origin(void) {
  driver d;
  logged_in(&d, OPTS);
  const char *same[] = {"http://API.Test/api/x", "http://api.test:80/api/x",
                        "HTTP://api.test/api/x", "http://api.test/a/../api/x", "/api/x#frag"};
  for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
    const logged *s, *r;
    send_of(&d, same[i], NULL, &s, &r);
    CHECK(s && s->authorization && !strcmp(s->authorization, "Bearer " SECRET));
    CHECK_STR_EQ(s ? s->url : NULL, "http://api.test/api/x");
  }
  drv_close(&d);
  logged_in(&d, "{\"baseUrl\":\"https://api.test\",\"crossTab\":false}");
  const logged *s, *r;
  send_of(&d, "https://api.test:443/x", NULL, &s, &r);
  CHECK(s && s->authorization && !strcmp(s->url, "https://api.test/x"));
  send_of(&d, "http://api.test/x", NULL, &s, &r); /* http is another origin than https */
  CHECK(s && !s->authorization);
  drv_close(&d);
}

static void the_gates_token_put_by_hand_on_a_foreign_call_is_refused(void) {
  driver d;
  logged_in(&d, OPTS);
  const logged *s, *r;
  send_of(&d, "//evil.example/collect", "Bearer " SECRET, &s, &r);
  CHECK(s == NULL && r && r->code == AG_CODE_FOREIGN_ORIGIN);
  send_of(&d, "http://evil.example/x", "token=" SECRET "&x=1", &s, &r); /* anywhere in the header */
  CHECK(s == NULL && r && r->code == AG_CODE_FOREIGN_ORIGIN);
  drv_close(&d);
}

/* ---- other tabs and storage ---- */

static void broadcasts_from_an_older_generation_or_with_a_forged_shape_change_nothing(void) {
  driver d;
  logged_in(&d, OPTS); /* generation T0 */
  const char *older = "{\"v\":1,\"type\":\"logout\",\"gen\":5}";
  const char *older_tokens =
      "{\"v\":1,\"type\":\"tokens\",\"gen\":6,\"access\":\"EVIL\",\"exp\":0}";
  CHECK(ag_client_message(d.c, T0 + 1, older, strlen(older)) == AG_ERR_STALE);
  CHECK(ag_client_message(d.c, T0 + 1, older_tokens, strlen(older_tokens)) == AG_ERR_STALE);
  const char *forged[] = {
      "{\"v\":1,\"type\":\"tokens\",\"gen\":\"9999999999999\",\"access\":\"EVIL\",\"exp\":0}",
      "{\"v\":2,\"type\":\"logout\",\"gen\":9999999999999}",
      "{\"v\":1,\"type\":\"logout\",\"gen\":9999999999999.5}",
      "{\"v\":1,\"type\":\"tokens\",\"gen\":9999999999999,\"access\":[\"EVIL\"],\"exp\":0}",
      "{\"v\":1,\"type\":\"tokens\",\"gen\":9999999999999,\"access\":\"EV IL\",\"exp\":0}",
      "{\"v\":1,\"type\":\"tokens\",\"gen\":1e300,\"access\":\"EVIL\",\"exp\":0}",
      "{\"v\":1,\"type\":\"admin\",\"gen\":9999999999999}",
      "[\"logout\"]",
      "{\"v\":1,\"type\":\"logout\",\"gen\":9999999999999}garbage",
  };
  for (size_t i = 0; i < sizeof forged / sizeof *forged; i++)
    CHECK(ag_client_message(d.c, T0 + 1, forged[i], strlen(forged[i])) == AG_ERR_BAD_BLOB);
  CHECK(drv_drain(&d) == 0);
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  const logged *s, *r;
  send_of(&d, "/api/x", NULL, &s, &r);
  CHECK(s && !strcmp(s->authorization, "Bearer " SECRET));
  drv_close(&d);
}

static void storage_edited_by_hand_is_cleared_and_the_client_starts_anonymous(void) {
  const char *blobs[] = {
      "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":12345,\"exp\":0}",
      "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A1\",\"exp\":\"never\"}",
      "{\"v\":1,\"type\":\"tokens\",\"gen\":-7,\"access\":\"A1\",\"exp\":0}",
      "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A1\",\"refresh\":true,\"exp\":0}",
      "{\"v\":\"1\",\"type\":\"tokens\",\"gen\":7,\"access\":\"A1\",\"exp\":0}",
      "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A1\\r\\nX: y\",\"exp\":0}",
      "A1",
      "{\"v\":1,",
  };
  for (size_t i = 0; i < sizeof blobs / sizeof *blobs; i++) {
    driver d;
    drv_open(&d, NO_REFRESH);
    drv_start(&d, T0, blobs[i]);
    CHECK(drv_count(&d, AG_ACTION_CLEAR_STORAGE, -1) == 1);
    CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
    const logged *s, *r;
    send_of(&d, "/api/x", NULL, &s, &r);
    CHECK(s == NULL && r && r->code == AG_CODE_NO_TOKEN);
    drv_close(&d);
  }
}

/* ---- secrets ---- */

static void tokens_never_appear_in_a_rejection_message(void) {
  driver d;
  logged_in(&d, OPTS);
  const logged *s, *r;
  send_of(&d, "//evil.example/x", "Bearer " SECRET, &s, &r); /* FOREIGN_ORIGIN */
  uint32_t a = drv_call(&d, T0 + 20, "GET", "/api/a", NULL);
  ag_client_network_error(d.c, T0 + 21, a); /* CORS_OR_NETWORK */
  drv_drain(&d);
  uint32_t b = drv_call(&d, T0 + 22, "GET", "/api/b", NULL);
  drv_respond(&d, T0 + 23, b, 401, NULL); /* refresh starts */
  const logged *rs = drv_last(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  CHECK(rs && strstr(rs->body, "R" SECRET));
  drv_respond(&d, T0 + 24, rs ? rs->id : 0, 401,
              "{\"detail\":\"" SECRET "\"}"); /* SESSION_EXPIRED */
  uint32_t login = 0;
  ag_client_login(d.c, T0 + 25, CREDS, strlen(CREDS), &login);
  drv_drain(&d);
  drv_respond(&d, T0 + 26, login, 200,
              "{\"access_token\":\"" SECRET "\\n\"}"); /* BAD_TOKEN_RESPONSE */
  drv_call(&d, T0 + 27, "GET", "/api/c", NULL);        /* NO_TOKEN */
  int rejects = 0;
  for (int i = 0; i < d.n; i++) {
    if (d.log[i].type != AG_ACTION_REJECT) continue;
    rejects++;
    CHECK(d.log[i].text && !strstr(d.log[i].text, SECRET));
  }
  CHECK(rejects >= 5);
  drv_close(&d);
}

/* ---- regressions found by the fuzzers ---- */

/* fuzz_state_machine: setTokens before start, then a stored blob, leaked the first tokens. */
static void set_tokens_before_start_wins_over_an_older_stored_blob(void) {
  driver d;
  drv_open(&d, OPTS);
  const char *set = "{\"access\":\"NEW\",\"expiresIn\":300}";
  CHECK(ag_client_set_tokens(d.c, T0, set, strlen(set)) == AG_OK);
  drv_start(&d, T0 + 1,
            "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"OLD\",\"exp\":1800000000000}");
  const logged *s, *r;
  send_of(&d, "/api/x", NULL, &s, &r);
  CHECK(s && !strcmp(s->authorization, "Bearer NEW"));
  drv_close(&d); /* RUN's leak check: the old code lost NEW here */
}

/* fuzz_state_machine: logout before start, then a stored session, left it half-adopted. */
static void logout_before_start_ignores_an_older_stored_session(void) {
  driver d;
  drv_open(&d, OPTS);
  CHECK(ag_client_logout(d.c, T0) == AG_OK);
  drv_start(
      &d, T0 + 1,
      "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"OLD\",\"refresh\":\"R\",\"exp\":1}");
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  CHECK(drv_count(&d, AG_ACTION_SEND, -1) == 0);
  drv_close(&d);
}

/* fuzz_state_machine: a refresh slower than readyTimeoutMs was sent again with the same token. */
static void a_slow_refresh_is_not_sent_twice_and_its_late_answer_is_used(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(
      &d, T0,
      "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A1\",\"refresh\":\"R1\",\"exp\":1}");
  const logged *rs = drv_last(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  uint32_t refresh = rs ? rs->id : 0;
  uint32_t a = drv_call(&d, T0 + 1, "GET", "/api/a", NULL);
  drv_tick(&d, T0 + 10001); /* the call gives up; the refresh is still on the network */
  CHECK(drv_for(&d, AG_ACTION_REJECT, a) != NULL);
  drv_tick(&d, T0 + 3600000);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_respond(&d, T0 + 3600001, refresh, 200,
              "{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"expires_in\":300}");
  CHECK(ag_client_state(d.c) == AG_STATE_AUTHENTICATED);
  const logged *s, *r;
  send_of(&d, "/api/b", NULL, &s, &r);
  CHECK(s && !strcmp(s->authorization, "Bearer A2"));
  drv_close(&d);
}

/* fuzz_state_machine: a refresh retry after the tokens were dropped read a NULL refresh token. */
static void a_refresh_retry_after_the_tokens_are_gone_sends_nothing(void) {
  driver d;
  drv_open(&d, OPTS);
  const char *set = "{\"access\":\"A1\",\"refresh\":\"R1\",\"expiresIn\":300}";
  ag_client_set_tokens(d.c, T0, set, strlen(set));
  uint32_t a = drv_call(&d, T0, "GET", "/api/a", NULL);
  drv_respond(&d, T0 + 1, a, 401, NULL); /* refresh in flight */
  const logged *rs = drv_last(&d, AG_ACTION_SEND, AG_SEND_REFRESH);
  drv_start(&d, T0 + 2, "{\"v\":1,\"type\":\"logout\",\"gen\":9000000000000}"); /* a newer logout */
  if (rs) ag_client_network_error(d.c, T0 + 3, rs->id);
  drv_drain(&d);
  drv_tick(&d, T0 + 60000);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  CHECK(ag_client_state(d.c) == AG_STATE_ANONYMOUS);
  drv_close(&d);
}

int main(void) {
  RUN(oversized_token_in_a_login_response_is_bad_token_response);
  RUN(oversized_login_response_is_bad_token_response);
  RUN(deeply_nested_json_is_refused_everywhere);
  RUN(non_utf8_and_nul_bytes_in_tokens_are_refused);
  RUN(nul_inside_an_option_string_is_bad_config);
  RUN(tokens_with_crlf_or_spaces_are_refused);
  RUN(expired_jwt_is_never_sent_and_the_session_ends);
  RUN(exp_that_is_not_a_usable_number_means_no_expiry);
  RUN(far_future_expires_in_is_refused_as_unusable);
  RUN(urls_with_credentials_or_other_schemes_are_bad_config_and_never_sent);
  RUN(other_hosts_however_written_never_get_the_token);
  RUN(mixed_case_hosts_and_default_ports_are_the_same_origin);
  RUN(the_gates_token_put_by_hand_on_a_foreign_call_is_refused);
  RUN(broadcasts_from_an_older_generation_or_with_a_forged_shape_change_nothing);
  RUN(storage_edited_by_hand_is_cleared_and_the_client_starts_anonymous);
  RUN(tokens_never_appear_in_a_rejection_message);
  RUN(set_tokens_before_start_wins_over_an_older_stored_blob);
  RUN(logout_before_start_ignores_an_older_stored_session);
  RUN(a_slow_refresh_is_not_sent_twice_and_its_late_answer_is_used);
  RUN(a_refresh_retry_after_the_tokens_are_gone_sends_nothing);
  return CHECK_EXIT_CODE();
}
