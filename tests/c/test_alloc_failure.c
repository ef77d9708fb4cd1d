/*
 * test_alloc_failure.c — every allocation the core makes may fail. A whole
 * session (start, tokens, calls, a refresh, a 401 replay, messages, logout)
 * is replayed with the Nth allocation failing, for every N until the
 * session needs no more: nothing may crash (ASan watches), and after
 * ag_client_free nothing may be left allocated.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

static long budget; /* allocations left before failing; < 0: never fail */

static void *failing_malloc(size_t n) {
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return malloc(n);
}

#define T0 1700000000000.0
#define OPTS                                                                                       \
  "{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"],\"login\":{\"url\":\"/login\"},"      \
  "\"refresh\":{\"url\":\"/"                                                                       \
  "refresh\"},\"storage\":\"local\",\"tokenFields\":{\"access\":[\"a\",\"access_token\"]}}"

static void drain(ag_client *c) {
  ag_action a;
  while (ag_client_next_action(c, &a)) {}
}

/* Runs one session, ignoring the results: only crashes and leaks matter here. */
static void session(void) {
  ag_client *c = NULL;
  char err[128];
  if (ag_client_new(&c, OPTS, strlen(OPTS), "http://app.test", 15, err, sizeof err) != AG_OK)
    return;
  uint32_t id = 0, login = 0;
  ag_client_call(c, T0, "GET", 3, "/api/a", 6, NULL, 0, AG_CRED_UNSET, &id);
  const char *blob =
      "{\"v\":1,\"type\":\"tokens\",\"gen\":2,\"access\":\"A\",\"refresh\":\"R\",\"exp\":1000}";
  ag_client_start(c, T0, blob, strlen(blob));
  drain(c);
  ag_client_lock_granted(c, T0, NULL, 0);
  drain(c);
  const char *tokens = "{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"expires_in\":60}";
  for (uint32_t i = 1; i < 8; i++) ag_client_response(c, T0 + 1, i, 200, tokens, strlen(tokens));
  drain(c);
  ag_client_call(c, T0 + 2, "GET", 3, "/api/b", 6, NULL, 0, AG_CRED_UNSET, &id);
  drain(c);
  ag_client_response(c, T0 + 3, id, 401, NULL, 0);
  drain(c);
  ag_client_network_error(c, T0 + 4, id + 1);
  ag_client_tick(c, T0 + 70000);
  drain(c);
  ag_client_lock_granted(c, T0 + 70000, blob, strlen(blob));
  drain(c);
  ag_client_login(c, T0 + 70001, "{\"u\":\"x\"}", 9, &login);
  drain(c);
  ag_client_response(c, T0 + 70002, login, 200, "{\"a\":\"L\"}", 9);
  const char *msg = "{\"v\":1,\"type\":\"tokens\",\"gen\":9999999999999,\"access\":\"M\"}";
  ag_client_message(c, T0 + 70003, msg, strlen(msg));
  ag_client_plan(c, "/api/x", 6);
  ag_client_diagnose(c, "/api/x", 6, 1, 200, 0);
  ag_client_call(c, T0 + 70004, "GET", 3, "http://other.test/", 18, "Bearer M", 8, AG_CRED_UNSET,
                 &id);
  ag_client_network_error(c, T0 + 70005, id);
  const char *opts = "{\"timeoutMs\":100,\"retry\":{\"limit\":1}}";
  ag_client_call_opts(c, T0 + 70006, "GET", 3, "/api/r", 6, NULL, 0, AG_CRED_UNSET, opts,
                      strlen(opts), &id);
  drain(c);
  ag_client_response_ex(c, T0 + 70007, id, 503, NULL, 0, "0", 1);
  ag_client_tick(c, T0 + 70007);
  drain(c);
  ag_client_token(c, T0 + 70008, &login);
  ag_client_session(c);
  ag_client_wake(c, T0 + 70200, AG_WAKE_ONLINE);
  drain(c);
  ag_client_login(c, T0 + 70201, "{\"u\":\"x\"}", 9, &login);
  drain(c);
  ag_client_response(c, T0 + 70202, login, 401, "{\"detail\":\"no\"}", 15);
  drain(c);
  ag_client_logout(c, T0 + 70206);
  drain(c);
  ag_client_free(c);
}

static void every_allocation_failure_is_survived_without_leaks(void) {
  ag_set_allocator(failing_malloc, free);
  long needed = 0;
  budget = -1; /* first, count what a full session allocates */
  long before = ag_live_allocations();
  session();
  CHECK(ag_live_allocations() == before);
  for (long n = 0;; n++) {
    budget = n;
    session();
    CHECK(ag_live_allocations() == before);
    if (budget > 0) break; /* the session finished with allocations to spare: all paths tried */
    needed = n;
  }
  CHECK(needed > 50); /* the session really allocates: the loop tried many failure points */
  ag_set_allocator(NULL, NULL);
}

int main(void) {
  RUN(every_allocation_failure_is_survived_without_leaks);
  return CHECK_EXIT_CODE();
}
