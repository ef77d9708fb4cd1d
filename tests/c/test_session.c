/*
 * test_session.c — the session the app may read (never a token), the
 * SESSION action after every change, getAccessToken() as the core answers
 * it, and the server's own words on a refused login.
 */
#include "check.h"
#include "driver.h"
#include "client.h"

#define T0 1700000000000.0
#define OPTS                                                                                       \
  "{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/auth/login\"},\"refresh\":{\"url\":"     \
  "\"/auth/refresh\"},\"crossTab\":false,\"storage\":\"local\"}"
/* {"alg":"none"} . {"sub":"ada","scope":"read write","exp":1800000000} . sig */
#define JWT                                                                                        \
  "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEiLCJzY29wZSI6InJlYWQgd3JpdGUiLCJleHAiOjE4MDAwMDAwMDB9.sig"
#define TOKENS(a, r, s)                                                                            \
  "{\"access_token\":\"" a "\",\"refresh_token\":\"" r "\",\"expires_in\":" #s "}"

static void set_tokens(driver *d, ag_ms now, const char *json) {
  ag_client_set_tokens(d->c, now, json, strlen(json));
  drv_drain(d);
}

static void session_is_null_while_initializing_and_anonymous(void) {
  driver d;
  drv_open(&d, OPTS);
  CHECK_STR_EQ(ag_client_session(d.c), "null");
  drv_start(&d, T0, NULL);
  CHECK_STR_EQ(ag_client_session(d.c), "null");
  CHECK(drv_count(&d, AG_ACTION_SESSION, -1) == 0); /* none to none: nothing to tell */
  drv_close(&d);
}

static void session_has_expiry_refresh_time_scope_and_the_jwt_claims_but_no_token(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  set_tokens(&d, T0, "{\"access\":\"" JWT "\",\"refresh\":\"R1\",\"expiresIn\":300}");
  CHECK_STR_EQ(ag_client_session(d.c),
               "{\"expiresAt\":1700000300000,\"refreshAt\":1700000270000,\"scope\":\"read "
               "write\",\"tokenType\":\"Bearer\",\"claims\":{\"sub\":\"ada\",\"scope\":\"read "
               "write\",\"exp\":1800000000}}");
  const logged *s = drv_last(&d, AG_ACTION_SESSION, -1);
  CHECK_STR_EQ(s ? s->text : NULL, ag_client_session(d.c));
  CHECK(!strstr(ag_client_session(d.c), "R1") && !strstr(ag_client_session(d.c), "sig"));
  /* an opaque token without expiry: no claims, no times */
  set_tokens(&d, T0 + 1, "{\"access\":\"opaque\"}");
  CHECK_STR_EQ(ag_client_session(d.c), "{\"expiresAt\":null,\"refreshAt\":null,\"scope\":null,"
                                       "\"tokenType\":\"Bearer\",\"claims\":null}");
  drv_close(&d);
}

static void session_action_follows_login_refresh_other_tabs_and_logout(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t login = 0;
  ag_client_login(d.c, T0, "{\"u\":\"x\"}", 9, &login);
  drv_drain(&d);
  drv_respond(&d, T0 + 1, login, 200,
              "{\"access_token\":\"A1\",\"refresh_token\":\"R1\",\"expires_in\":60,"
              "\"scope\":\"openid profile\"}");
  CHECK(drv_count(&d, AG_ACTION_SESSION, -1) == 1);
  CHECK(strstr(drv_last(&d, AG_ACTION_SESSION, -1)->text, "\"scope\":\"openid profile\""));
  drv_tick(&d, T0 + 31001); /* refresh due at half the 60 s life */
  drv_respond(&d, T0 + 31002, drv_refresh_id(&d), 200, TOKENS("A2", "R2", 60));
  CHECK(drv_count(&d, AG_ACTION_SESSION, -1) == 2);
  CHECK(strstr(drv_last(&d, AG_ACTION_SESSION, -1)->text, "\"expiresAt\":1700000091002"));
  const char *msg = "{\"v\":1,\"type\":\"tokens\",\"gen\":9999999999999,\"access\":\"M\","
                    "\"exp\":1800000000000}";
  ag_client_message(d.c, T0 + 40000, msg, strlen(msg));
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SESSION, -1) == 3);
  CHECK(strstr(drv_last(&d, AG_ACTION_SESSION, -1)->text, "\"expiresAt\":1800000000000"));
  ag_client_logout(d.c, T0 + 50000);
  drv_drain(&d);
  CHECK(drv_count(&d, AG_ACTION_SESSION, -1) == 4);
  CHECK_STR_EQ(drv_last(&d, AG_ACTION_SESSION, -1)->text, "null");
  for (int i = 0; i < d.n; i++) {
    if (d.log[i].type != AG_ACTION_SESSION) continue;
    CHECK(!strstr(d.log[i].text, "\"A1\"") && !strstr(d.log[i].text, "R2"));
  }
  drv_close(&d);
}

static void a_refused_refresh_tells_the_session_ended(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  drv_tick(&d, T0 + 270000);
  drv_respond(&d, T0 + 270001, drv_refresh_id(&d), 401, NULL);
  CHECK_STR_EQ(drv_last(&d, AG_ACTION_SESSION, -1)->text, "null");
  drv_close(&d);
}

/* How a provider's ID token plugs in: its claims and scope replace the access JWT's. */
static void claims_given_with_the_tokens_replace_the_access_jwt_payload(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  ag_tokens t = {.access = ag_strndup(JWT, strlen(JWT)), .expires_at = T0 + 60000};
  const char *claims = "{\"sub\":\"idp|42\",\"email\":\"ada@example.test\"}";
  CHECK(ag_adopt_session(d.c, &t, ag_strndup("openid email", 12),
                         ag_strndup(claims, strlen(claims)), 5, T0, false) == AG_OK);
  drv_drain(&d);
  CHECK_STR_EQ(drv_last(&d, AG_ACTION_SESSION, -1)->text,
               "{\"expiresAt\":1700000060000,\"refreshAt\":null,\"scope\":\"openid email\","
               "\"tokenType\":\"Bearer\",\"claims\":{\"sub\":\"idp|42\",\"email\":\"ada@example."
               "test\"}}");
  drv_close(&d);
}

static void get_access_token_waits_for_readiness(void) {
  driver d;
  drv_open(&d, OPTS);
  uint32_t id = 0;
  CHECK(ag_client_token(d.c, T0, &id) == AG_OK);
  drv_drain(&d);
  CHECK(d.n == 0);
  drv_start(&d, T0 + 1,
            "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A1\",\"refresh\":\"R1\",\"exp\":"
            "1800000000000}");
  const logged *r = drv_for(&d, AG_ACTION_RESOLVE, id);
  CHECK_STR_EQ(r ? r->text : NULL, "A1");
  CHECK(drv_count(&d, AG_ACTION_SEND, -1) == 0);
  drv_close(&d);
}

/* Other events that move the waiting calls on (here a refused login) leave it waiting. */
static void get_access_token_keeps_waiting_for_the_refresh_under_way(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  uint32_t id = 0, login = 0;
  ag_client_token(d.c, T0 + 280000, &id);
  drv_drain(&d);
  ag_client_login(d.c, T0 + 280001, "{\"u\":\"x\"}", 9, &login);
  drv_drain(&d);
  drv_respond(&d, T0 + 280002, login, 401, NULL);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) == NULL);
  drv_respond(&d, T0 + 280003, drv_refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  CHECK_STR_EQ(drv_for(&d, AG_ACTION_RESOLVE, id)->text, "A2");
  drv_close(&d);
}

/* A refresh past its deadline is not sent again; the still-valid token is handed out. */
static void get_access_token_gives_the_valid_token_when_the_refresh_stalls(void) {
  driver d;
  drv_logged_in(&d,
                "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/auth/refresh\"},"
                "\"crossTab\":false,\"timeoutMs\":2000}",
                T0);
  uint32_t id = 0;
  ag_client_token(d.c, T0 + 270000, &id);
  drv_drain(&d);
  drv_tick(&d, T0 + 271999);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, id) == NULL);
  drv_tick(&d, T0 + 272000); /* the refresh stalls; A1 is valid until T0 + 300 s */
  const logged *r = drv_for(&d, AG_ACTION_RESOLVE, id);
  CHECK_STR_EQ(r ? r->text : NULL, "A1");
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_close(&d);
}

static void get_access_token_rejects_no_token_when_anonymous(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t id = 0;
  ag_client_token(d.c, T0, &id);
  drv_drain(&d);
  const logged *r = drv_for(&d, AG_ACTION_REJECT, id);
  CHECK(r && r->code == AG_CODE_NO_TOKEN && strstr(r->text, "getAccessToken(): the gate has no"));
  drv_close(&d);
}

static void get_access_token_refreshes_first_when_due(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  uint32_t fresh = 0, due = 0, joined = 0;
  ag_client_token(d.c, T0 + 1000, &fresh);
  drv_drain(&d);
  CHECK_STR_EQ(drv_for(&d, AG_ACTION_RESOLVE, fresh)->text, "A1");
  ag_client_token(d.c, T0 + 280000, &due); /* valid, but past refreshAt */
  ag_client_token(d.c, T0 + 280001, &joined);
  drv_drain(&d);
  CHECK(drv_for(&d, AG_ACTION_RESOLVE, due) == NULL);
  CHECK(drv_count(&d, AG_ACTION_SEND, AG_SEND_REFRESH) == 1);
  drv_respond(&d, T0 + 280002, drv_refresh_id(&d), 200, TOKENS("A2", "R2", 300));
  CHECK_STR_EQ(drv_for(&d, AG_ACTION_RESOLVE, due)->text, "A2");
  CHECK_STR_EQ(drv_for(&d, AG_ACTION_RESOLVE, joined)->text, "A2");
  drv_close(&d);
}

static void get_access_token_falls_back_to_a_valid_token_when_the_refresh_fails(void) {
  driver d;
  drv_logged_in(&d, OPTS, T0);
  uint32_t id = 0;
  ag_client_token(d.c, T0 + 280000, &id);
  drv_drain(&d);
  ag_client_network_error(d.c, T0 + 280001, drv_refresh_id(&d));
  drv_drain(&d);
  CHECK_STR_EQ(drv_for(&d, AG_ACTION_RESOLVE, id)->text, "A1");
  drv_close(&d);
}

static uint32_t refused_login(driver *d, int status, const char *body) {
  uint32_t id = 0;
  ag_client_login(d->c, T0, "{\"u\":\"x\"}", 9, &id);
  drv_drain(d);
  drv_respond(d, T0 + 1, id, status, body);
  return id;
}

static void login_failed_keeps_the_servers_message_bounded(void) {
  driver d;
  drv_open(&d, OPTS);
  drv_start(&d, T0, NULL);
  uint32_t a = refused_login(&d, 401, "{\"detail\":\"Incorrect username or password\"}");
  const logged *r = drv_for(&d, AG_ACTION_REJECT, a);
  CHECK(r && r->code == AG_CODE_LOGIN_FAILED);
  CHECK(r && strstr(r->text, "POST http://api.test/auth/login") &&
        strstr(r->text, "The server said: \"Incorrect username or password\" (HTTP 401)"));
  uint32_t b = refused_login(
      &d, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"Bad user\\ncredentials\"}");
  CHECK(strstr(drv_for(&d, AG_ACTION_REJECT, b)->text, "said: \"Bad user credentials\""));
  uint32_t c =
      refused_login(&d, 422, "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"field required\"}]}");
  CHECK(strstr(drv_for(&d, AG_ACTION_REJECT, c)->text, "said: \"field required\""));
  char body[600];
  strcpy(body, "{\"detail\":\"");
  for (int i = 0; i < 300; i++) strcat(body, i == 199 ? "\xc3\xa9" : "x");
  strcat(body, "\"}");
  uint32_t e = refused_login(&d, 401, body);
  const char *text = drv_for(&d, AG_ACTION_REJECT, e)->text;
  const char *said = strstr(text, "said: \"");
  CHECK(said && strstr(said, "x...\"")); /* cut before the two-byte letter, not inside it */
  CHECK(said && strlen(said) < 7 + AG_MAX_SERVER_MESSAGE + 20);
  uint32_t f = refused_login(&d, 500, "<html>oops</html>");
  CHECK(!strstr(drv_for(&d, AG_ACTION_REJECT, f)->text, "said"));
  drv_close(&d);
}

int main(void) {
  RUN(session_is_null_while_initializing_and_anonymous);
  RUN(session_has_expiry_refresh_time_scope_and_the_jwt_claims_but_no_token);
  RUN(session_action_follows_login_refresh_other_tabs_and_logout);
  RUN(a_refused_refresh_tells_the_session_ended);
  RUN(claims_given_with_the_tokens_replace_the_access_jwt_payload);
  RUN(get_access_token_waits_for_readiness);
  RUN(get_access_token_keeps_waiting_for_the_refresh_under_way);
  RUN(get_access_token_gives_the_valid_token_when_the_refresh_stalls);
  RUN(get_access_token_rejects_no_token_when_anonymous);
  RUN(get_access_token_refreshes_first_when_due);
  RUN(get_access_token_falls_back_to_a_valid_token_when_the_refresh_fails);
  RUN(login_failed_keeps_the_servers_message_bounded);
  return CHECK_EXIT_CODE();
}
