/* test_explain.c — failure messages in words (explain.c). */
#include "check.h"
#include "driver.h"

#include <stdbool.h>

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

/* ---- every CORS_OR_NETWORK message against the request it describes ---- */

enum { LOGIN, CALL, REFRESH };

typedef struct row {
  const char *name;
  const char *options;
  const char *page; /* "" for none (Node) */
  int what; /* LOGIN, CALL, or REFRESH (a call left waiting on a refresh that got no answer) */
  const char *method, *url, *auth;
  const char *must[6];     /* each must be in the message */
  const char *must_not[6]; /* none may be */
} row;

#define X "{\"baseUrl\":\"http://api.test:8000\",\"crossTab\":false,\"public\":[\"/health\"],"
#define LOGIN_JSON "\"login\":{\"url\":\"/login\"}"
#define LOGIN_FORM "\"login\":{\"url\":\"/login\",\"body\":\"form\"}"

static const row rows[] = {
    {"login, JSON body, cross-origin: the Content-Type makes the preflight, not Authorization",
     X LOGIN_JSON "}",
     PAGE,
     LOGIN,
     NULL,
     NULL,
     NULL,
     {"POST http://api.test:8000/login", "CORS", "the Content-Type application/json", "preflight",
      "Access-Control-Allow-Headers: Content-Type"},
     {"Authorization", "Credentials", "not CORS"}},
    {"login, form body, cross-origin: a simple request, no preflight",
     X LOGIN_FORM "}",
     PAGE,
     LOGIN,
     NULL,
     NULL,
     NULL,
     {"POST http://api.test:8000/login", "CORS", "Access-Control-Allow-Origin: http://app.test"},
     {"Authorization", "preflight", "Content-Type", "Credentials"}},
    {"login with credentials included names Allow-Credentials",
     X LOGIN_FORM ",\"credentials\":\"include\"}",
     PAGE,
     LOGIN,
     NULL,
     NULL,
     NULL,
     {"Access-Control-Allow-Credentials: true", "echoed"},
     {"Authorization", "preflight"}},
    {"login, same-origin: the network, not CORS",
     "{\"baseUrl\":\"/\",\"crossTab\":false," LOGIN_JSON "}",
     PAGE,
     LOGIN,
     NULL,
     NULL,
     NULL,
     {"POST http://app.test/login", "not CORS", "same-origin"},
     {"Authorization", "preflight", "Access-Control"}},
    {"login without a page (Node): no CORS at all",
     X LOGIN_JSON "}",
     "",
     LOGIN,
     NULL,
     NULL,
     NULL,
     {"not CORS", "no browser page"},
     {"Authorization", "same-origin", "preflight"}},
    {"protected call, cross-origin: the bearer makes the preflight",
     X LOGIN_JSON "}",
     PAGE,
     CALL,
     "GET",
     "/api/me",
     NULL,
     {"GET http://api.test:8000/api/me", "the Authorization header", "preflight",
      "Access-Control-Allow-Headers: Authorization"},
     {"Content-Type", "Credentials", "Methods"}},
    {"protected call with credentials included",
     X "\"credentials\":\"include\"}",
     PAGE,
     CALL,
     "GET",
     "/api/me",
     NULL,
     {"Authorization", "Access-Control-Allow-Credentials: true"},
     {"Content-Type"}},
    {"public call, cross-origin GET: simple, nothing about headers",
     X LOGIN_JSON "}",
     PAGE,
     CALL,
     "GET",
     "/health",
     NULL,
     {"GET http://api.test:8000/health", "CORS"},
     {"Authorization", "preflight", "Content-Type", "Methods"}},
    {"public call, cross-origin DELETE: the method makes the preflight",
     X LOGIN_JSON "}",
     PAGE,
     CALL,
     "DELETE",
     "/health",
     NULL,
     {"the method DELETE makes", "preflight", "Access-Control-Allow-Methods: DELETE"},
     {"Authorization", "Content-Type"}},
    {"protected PUT: the method and the bearer",
     X LOGIN_JSON "}",
     PAGE,
     CALL,
     "PUT",
     "/api/x",
     NULL,
     {"the method PUT and the Authorization header make", "Allow-Methods: PUT"},
     {"Content-Type"}},
    {"foreign origin with the caller's own Authorization",
     X LOGIN_JSON "}",
     PAGE,
     CALL,
     "GET",
     "http://other.test/x",
     "Basic dTpw",
     {"GET http://other.test/x", "no response from http://other.test", "the Authorization header"},
     {"Content-Type", "Credentials"}},
    {"foreign origin without Authorization",
     X LOGIN_JSON "}",
     PAGE,
     CALL,
     "GET",
     "http://other.test/x",
     NULL,
     {"CORS"},
     {"Authorization", "preflight", "Credentials"}},
    {"protected call, same-origin: not CORS, no CORS headers named",
     "{\"baseUrl\":\"/\",\"crossTab\":false}",
     PAGE,
     CALL,
     "GET",
     "/api/me",
     NULL,
     {"GET http://app.test/api/me", "not CORS"},
     {"preflight", "Access-Control", "Authorization"}},
    {"a call left waiting on a refresh with no answer blames the refresh endpoint",
     X "\"refresh\":{\"url\":\"/refresh\"}}",
     PAGE,
     REFRESH,
     "GET",
     "/api/me",
     NULL,
     {"GET http://api.test:8000/api/me", "refresh endpoint", "network or CORS", "not sent"},
     {"Authorization", "preflight"}},
};

static const char *message_for(driver *d, const row *r) {
  ag_ms now = T0;
  uint32_t id = 0;
  const char *set = "{\"access\":\"SECRET\",\"refresh\":\"RSECRET\",\"expiresIn\":60}";
  drv_start(d, now, NULL);
  ag_client_set_tokens(d->c, now, set, strlen(set));
  drv_drain(d);
  if (r->what == LOGIN) {
    ag_client_login(d->c, now, "{\"u\":\"x\"}", 9, &id);
    drv_drain(d);
    ag_client_network_error(d->c, now, id);
  } else if (r->what == CALL) {
    id = drv_call(d, now, r->method, r->url, r->auth);
    ag_client_network_error(d->c, now, id);
  } else {
    now += 61000; /* expired: the call waits for a refresh that gets no answer */
    id = drv_call(d, now, r->method, r->url, r->auth);
    const logged *refresh = drv_last(d, AG_ACTION_SEND, AG_SEND_REFRESH);
    if (refresh) ag_client_network_error(d->c, now, refresh->id);
    ag_client_tick(d->c, now + 10000);
  }
  drv_drain(d);
  const logged *rej = drv_for(d, AG_ACTION_REJECT, id);
  return rej ? rej->text : NULL;
}

static void every_failure_message_names_what_was_sent_and_nothing_else(void) {
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    const row *r = &rows[i];
    driver d;
    memset(&d, 0, sizeof d);
    char err[256];
    if (ag_client_new(&d.c, r->options, strlen(r->options), r->page, strlen(r->page), err,
                      sizeof err) != AG_OK) {
      fprintf(stderr, "  %s: options refused: %s\n", r->name, err);
      check_failures++;
      continue;
    }
    const char *m = message_for(&d, r);
    bool ok = m != NULL && !strstr(m, "SECRET");
    for (int j = 0; ok && j < 6 && r->must[j]; j++) ok = strstr(m, r->must[j]) != NULL;
    for (int j = 0; ok && j < 6 && r->must_not[j]; j++) ok = strstr(m, r->must_not[j]) == NULL;
    if (!ok) {
      fprintf(stderr, "  %s:\n    %s\n", r->name, m ? m : "(no rejection)");
      check_failures++;
    }
    drv_close(&d);
  }
}

int main(void) {
  RUN(cross_origin_failure_names_cors_the_authorization_header_and_the_origin);
  RUN(same_origin_failure_says_network_not_cors);
  RUN(public_cross_origin_failure_does_not_blame_the_authorization_header);
  RUN(every_failure_message_names_what_was_sent_and_nothing_else);
  return CHECK_EXIT_CODE();
}
