/*
 * test_alloc_failure.c — out of memory never breaks the core's promise.
 *
 * Whole scripted sessions (calls while initializing, login, refresh storms
 * with and without the cross-tab lock, a 401 replay, tab messages, lock
 * grants with and without another tab's tokens, logout; per-call timeouts,
 * retries after a 503 or a network failure, getAccessToken, a refresh past
 * its deadline, waking up) are replayed with
 * one allocation failing, for every allocation the session makes, and again
 * with every allocation failing from that point on. After every event:
 *  - no protected call is sent without the gate's bearer, and no other call
 *    gets it;
 *  - an entry point that returns AG_ERR_NOMEM for something the embedder
 *    started (a call, a login, setTokens, logout, start, a message, a tick,
 *    a cancel) changed nothing at all; one that reports what happened (the
 *    answer to the core's own login or refresh, a lock grant) handled it the
 *    way a failure the client knows would have been: login rejected, refresh
 *    backing off with the old tokens, lock handed back;
 *  - the client is consistent (bearer matches the token, the state matches
 *    the tokens, nothing waits on a refresh that nobody will make);
 *  - every call the embedder made is resolved, rejected, in flight, waiting
 *    or due for a retry: tracked by id, none vanishes and none settles
 *    twice; only a call in flight is aborted; getAccessToken is answered
 *    with the current token or rejected, never sent;
 *  - a SESSION action carries a session only while there is a token;
 * and after ag_client_free nothing is left allocated.
 */
#include "check.h"
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the failing allocator ---- */

static long alloc_count; /* allocations attempted since the session began */
static long fail_at = -1;
static bool fail_after; /* also fail every allocation after fail_at */

static void *failing_malloc(size_t n) {
  long i = alloc_count++;
  if (fail_at >= 0 && (i == fail_at || (fail_after && i > fail_at))) return NULL;
  return malloc(n);
}

/* ---- the scripted embedder ---- */

#define T0 1700000000000.0
#define MAX_TRACKED 64
#ifndef MAX_REPORTS
#define MAX_REPORTS 40
#endif

enum { OPEN = 0, RESOLVED = 1, REJECTED = 2 };

typedef struct tracked {
  uint32_t id;
  bool protected_; /* needs the gate's bearer */
  bool login;
  bool token;     /* getAccessToken(): answered, never sent */
  bool in_flight; /* SEND seen, no answer fed yet */
  int outcome;
  int code;
} tracked;

typedef struct sim {
  ag_client *c;
  ag_ms now;
  tracked calls[MAX_TRACKED];
  int n;
  uint32_t refreshes[MAX_TRACKED]; /* refresh requests sent and not answered */
  int n_refresh;
  bool lock_asked;
  const char *where; /* the step running, for reports */
} sim;

static int reports;

#define SIM_CHECK(s, cond)                                                                         \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      if (reports++ < MAX_REPORTS)                                                                 \
        fprintf(stderr, "  %s:%d: at allocation %ld%s, step %s: CHECK(%s)\n", __FILE__, __LINE__,  \
                fail_at, fail_after ? " and after" : "", (s)->where, #cond);                       \
      check_failures++;                                                                            \
    }                                                                                              \
  } while (0)

static tracked *find(sim *s, uint32_t id) {
  for (int i = 0; i < s->n; i++)
    if (s->calls[i].id == id) return &s->calls[i];
  return NULL;
}

static void check_send(sim *s, const ag_action *a) {
  if (a->code == AG_SEND_REFRESH) {
    if (s->n_refresh < MAX_TRACKED) s->refreshes[s->n_refresh++] = a->id;
    return;
  }
  tracked *t = find(s, a->id);
  SIM_CHECK(s, t && t->outcome == OPEN && !t->in_flight && !t->token);
  if (!t) return;
  t->in_flight = true;
  if (t->protected_) {
    const char *access = s->c->tok.access;
    SIM_CHECK(s, a->authorization != NULL); /* the promise: never a protected call bare */
    SIM_CHECK(s, a->authorization && access && !strncmp(a->authorization, "Bearer ", 7) &&
                     !strcmp(a->authorization + 7, access));
  } else {
    SIM_CHECK(s, a->authorization == NULL); /* the token never goes where it is not needed */
  }
}

static void check_settle(sim *s, const ag_action *a) {
  tracked *t = find(s, a->id);
  SIM_CHECK(s, t && t->outcome == OPEN); /* settled once, and only what was made */
  if (!t) return;
  t->outcome = a->type == AG_ACTION_RESOLVE ? RESOLVED : REJECTED;
  t->code = a->code;
  t->in_flight = false;
  if (a->type == AG_ACTION_REJECT)
    SIM_CHECK(s, a->text && a->text_len > 0 && ag_code_name(a->code)[0]);
  if (t->token && a->type == AG_ACTION_RESOLVE) /* the token itself, the one the gate holds */
    SIM_CHECK(s, a->text && s->c->tok.access && !strcmp(a->text, s->c->tok.access));
}

static void check_abort(sim *s, const ag_action *a) {
  tracked *t = find(s, a->id);
  SIM_CHECK(s, t && t->outcome == OPEN && t->in_flight); /* only what is on the network */
  if (t) t->in_flight = false;
}

static void check_session(sim *s, const ag_action *a) {
  SIM_CHECK(s, a->text != NULL);
  if (!a->text) return;
  if (!strcmp(a->text, "null")) return;
  SIM_CHECK(s, !strncmp(a->text, "{\"expiresAt\":", 13) && s->c->tok.access != NULL);
}

static void drain(sim *s) {
  ag_action a;
  while (ag_client_next_action(s->c, &a)) {
    if (a.type == AG_ACTION_SEND) check_send(s, &a);
    else if (a.type == AG_ACTION_RESOLVE || a.type == AG_ACTION_REJECT) check_settle(s, &a);
    else if (a.type == AG_ACTION_ABORT) check_abort(s, &a);
    else if (a.type == AG_ACTION_SESSION) check_session(s, &a);
    else if (a.type == AG_ACTION_LOCK) s->lock_asked = true;
    else if (a.type == AG_ACTION_UNLOCK) s->lock_asked = false;
  }
}

/* ---- consistency of the client between events ---- */

static bool bearer_matches(const ag_client *c) {
  if (!c->tok.access || !c->bearer) return !c->tok.access && !c->bearer;
  return !strncmp(c->bearer, "Bearer ", 7) && !strcmp(c->bearer + 7, c->tok.access);
}

static bool refresh_under_way(const ag_client *c) {
  return c->refresh_id || c->lock_wanted || c->lock_held || c->retry_at > 0 || c->refused_until > 0;
}

static void check_waiting(sim *s) {
  const ag_client *c = s->c;
  for (const call *k = c->wait_head; k; k = k->wnext) {
    SIM_CHECK(s, k->waiting == WAIT_READY || k->waiting == WAIT_REFRESH);
    if (k->waiting == WAIT_REFRESH) SIM_CHECK(s, refresh_under_way(c)); /* never stuck */
    if (c->state == AG_STATE_ANONYMOUS) SIM_CHECK(s, c->logins_pending > 0);
  }
}

static void check_calls(sim *s) {
  const ag_client *c = s->c;
  for (int i = 0; i < s->n; i++) {
    const tracked *t = &s->calls[i];
    const call *k = ag_call_find(c, t->id);
    if (t->outcome != OPEN) {
      SIM_CHECK(s, k == NULL);
      continue;
    }
    SIM_CHECK(s, k != NULL); /* nothing silently dropped */
    if (k) SIM_CHECK(s, t->in_flight ? k->in_flight : k->waiting != 0 || k->timer == TIMER_RETRY);
    if (k && k->timer == TIMER_ATTEMPT) SIM_CHECK(s, k->in_flight); /* a deadline for what left */
  }
  for (size_t b = 0; b < c->n_buckets; b++)
    for (const call *k = c->buckets[b]; k; k = k->hnext)
      if (k->kind != AG_SEND_REFRESH) SIM_CHECK(s, find(s, k->id) != NULL);
  if (c->refresh_id) {
    const call *r = ag_call_find(c, c->refresh_id);
    SIM_CHECK(s, r && r->kind == AG_SEND_REFRESH && r->in_flight);
  }
}

static void check_consistent(sim *s) {
  const ag_client *c = s->c;
  SIM_CHECK(s, !c->oom); /* every push was reserved */
  SIM_CHECK(s, c->n_actions == 0);
  SIM_CHECK(s, bearer_matches(c));
  SIM_CHECK(s, !(c->lock_wanted && c->lock_held));
  if (c->state == AG_STATE_AUTHENTICATED || c->state == AG_STATE_REFRESHING)
    SIM_CHECK(s, c->tok.access != NULL);
  if (c->state == AG_STATE_ANONYMOUS) SIM_CHECK(s, c->tok.access == NULL);
  check_waiting(s);
  check_calls(s);
}

/* Everything an entry point may change, as text: equal before and after means nothing changed. */
static void fingerprint(const ag_client *c, char *out, size_t cap) {
  int n = snprintf(out, cap,
                   "st%d s%d g%llu a%s r%s e%.0f b%s n%d w%d h%d i%d id%u ra%.0f ru%.0f f%d d%d "
                   "c%zu l%d q%zu x%u t%zu z%d v%d:",
                   c->state, c->started, (unsigned long long)c->gen,
                   c->tok.access ? c->tok.access : "-", c->tok.refresh ? c->tok.refresh : "-",
                   c->tok.expires_at, c->bearer ? c->bearer : "-", c->need_refresh, c->lock_wanted,
                   c->lock_held, c->initial_refresh, c->refresh_id, c->retry_at, c->refused_until,
                   c->refresh_failures, c->access_dead, c->n_calls, c->logins_pending, c->n_actions,
                   c->next_id, c->n_timers, c->refresh_stalled, c->session_visible);
  for (const call *k = c->wait_head; k && n > 0 && (size_t)n < cap; k = k->wnext)
    n += snprintf(out + n, cap - (size_t)n, " %u/%d", k->id, k->waiting);
  for (size_t b = 0; b < c->n_buckets && n > 0 && (size_t)n < cap; b++)
    for (const call *k = c->buckets[b]; k && (size_t)n < cap; k = k->hnext)
      n += snprintf(out + n, cap - (size_t)n, " %u%c%d@%.0f#%d", k->id, k->in_flight ? 'f' : '.',
                    k->timer, k->timer_at, k->retries);
}

/* ---- steps: one entry point each, then the checks ---- */

typedef struct before {
  char print[4096];
} before;

static void begin(sim *s, const char *where, before *b) {
  s->where = where;
  fingerprint(s->c, b->print, sizeof b->print);
}

/* After an entry point that changes nothing when it returns AG_ERR_NOMEM. */
static void end_atomic(sim *s, const before *b, int rc) {
  if (rc == AG_ERR_NOMEM) {
    char after[4096];
    fingerprint(s->c, after, sizeof after);
    SIM_CHECK(s, !strcmp(b->print, after));
  }
  drain(s);
  check_consistent(s);
}

static void track(sim *s, uint32_t id, bool protected_, bool login) {
  if (s->n == MAX_TRACKED) abort();
  s->calls[s->n++] = (tracked){.id = id, .protected_ = protected_, .login = login};
}

static void app_call(sim *s, const char *url, const char *auth, bool protected_) {
  before b;
  begin(s, url, &b);
  uint32_t id = 0;
  int rc = ag_client_call(s->c, s->now, "GET", 3, url, strlen(url), auth, auth ? strlen(auth) : 0,
                          AG_CRED_UNSET, &id);
  SIM_CHECK(s, rc == AG_OK || rc == AG_ERR_NOMEM);
  if (rc == AG_OK) track(s, id, protected_ && !auth, false);
  end_atomic(s, &b, rc);
}

/* A call with per-call options ({timeoutMs, retry}). */
static void app_call_opts(sim *s, const char *url, const char *options) {
  before b;
  begin(s, url, &b);
  uint32_t id = 0;
  int rc = ag_client_call_opts(s->c, s->now, "GET", 3, url, strlen(url), NULL, 0, AG_CRED_UNSET,
                               options, strlen(options), &id);
  SIM_CHECK(s, rc == AG_OK || rc == AG_ERR_NOMEM);
  if (rc == AG_OK) track(s, id, true, false);
  end_atomic(s, &b, rc);
}

/* getAccessToken(). */
static void token_call(sim *s) {
  before b;
  begin(s, "getAccessToken", &b);
  uint32_t id = 0;
  int rc = ag_client_token(s->c, s->now, &id);
  SIM_CHECK(s, rc == AG_OK || rc == AG_ERR_NOMEM);
  if (rc == AG_OK) {
    track(s, id, false, false);
    s->calls[s->n - 1].token = true;
  }
  end_atomic(s, &b, rc);
}

static void wake(sim *s, int reason) {
  before b;
  begin(s, "wake", &b);
  int rc = ag_client_wake(s->c, s->now, reason);
  end_atomic(s, &b, rc);
}

static void login(sim *s, const char *credentials) {
  before b;
  begin(s, "login", &b);
  uint32_t id = 0;
  int rc = ag_client_login(s->c, s->now, credentials, strlen(credentials), &id);
  SIM_CHECK(s, rc == AG_OK || rc == AG_ERR_NOMEM);
  if (rc == AG_OK) track(s, id, false, true);
  end_atomic(s, &b, rc);
}

static void start(sim *s, const char *blob) {
  before b;
  begin(s, "start", &b);
  int rc = ag_client_start(s->c, s->now, blob, blob ? strlen(blob) : 0);
  SIM_CHECK(s, rc == AG_OK || rc == AG_ERR_NOMEM);
  end_atomic(s, &b, rc);
  if (rc == AG_ERR_NOMEM) { /* the embedder tries again: a failed start changed nothing */
    begin(s, "start again", &b);
    rc = ag_client_start(s->c, s->now, blob, blob ? strlen(blob) : 0);
    end_atomic(s, &b, rc);
  }
}

static void message(sim *s, const char *msg) {
  before b;
  begin(s, msg, &b);
  int rc = ag_client_message(s->c, s->now, msg, strlen(msg));
  end_atomic(s, &b, rc);
}

static void set_tokens(sim *s, const char *json) {
  before b;
  begin(s, json, &b);
  int rc = ag_client_set_tokens(s->c, s->now, json, strlen(json));
  SIM_CHECK(s, rc == AG_OK || rc == AG_ERR_NOMEM);
  end_atomic(s, &b, rc);
}

static void logout(sim *s) {
  before b;
  begin(s, "logout", &b);
  int rc = ag_client_logout(s->c, s->now);
  end_atomic(s, &b, rc);
}

static void tick(sim *s, ag_ms now) {
  before b;
  s->now = now;
  begin(s, "tick", &b);
  int rc = ag_client_tick(s->c, s->now);
  end_atomic(s, &b, rc);
}

/* The lock the core asked for is granted (with what the shared storage holds). */
static void grant(sim *s, const char *blob) {
  if (!s->lock_asked) return;
  s->lock_asked = false;
  before b;
  begin(s, "lock granted", &b);
  const char *access = s->c->tok.access;
  char kept[64] = "";
  if (access) snprintf(kept, sizeof kept, "%s", access);
  int rc = ag_client_lock_granted(s->c, s->now, blob, blob ? strlen(blob) : 0, 0);
  if (rc == AG_ERR_NOMEM) {
    char after[4096];
    fingerprint(s->c, after, sizeof after);
    if (strcmp(b.print, after) != 0) { /* handled: handed back, backing off, old tokens kept */
      SIM_CHECK(s, !s->c->lock_wanted && !s->c->refresh_id && s->c->retry_at > 0);
      SIM_CHECK(s,
                access ? s->c->tok.access && !strcmp(kept, s->c->tok.access) : !s->c->tok.access);
    }
  }
  drain(s);
  if (rc == AG_ERR_NOMEM && !s->lock_asked) { /* unused grant: report it once more */
    rc = ag_client_lock_granted(s->c, s->now, blob, blob ? strlen(blob) : 0, 0);
    drain(s);
  }
  check_consistent(s);
}

/* Answers one request the core sent (with a Retry-After header, or NULL). */
static void respond_after(sim *s, uint32_t id, int status, const char *body,
                          const char *retry_after) {
  tracked *t = find(s, id);
  before b;
  begin(s, t ? (t->login ? "login answer" : "call answer") : "refresh answer", &b);
  int rc = ag_client_response_ex(s->c, s->now, id, status, body, body ? strlen(body) : 0,
                                 retry_after, retry_after ? strlen(retry_after) : 0);
  if (t && (rc != AG_ERR_NOMEM || t->login)) t->in_flight = false; /* answered */
  if (t && !t->login) { /* an app call's answer changes nothing when it cannot be taken */
    end_atomic(s, &b, rc);
    if (rc == AG_ERR_NOMEM) { /* the embedder gives up on it, as the shim does */
      t->outcome = REJECTED;
      t->in_flight = false;
      SIM_CHECK(s, ag_client_cancel(s->c, s->now, id) == AG_OK);
      drain(s);
    }
    return;
  }
  if (t && rc == AG_ERR_NOMEM) { /* the login's tokens could not be taken: it failed */
    drain(s);
    SIM_CHECK(s, t->outcome == REJECTED && t->code == AG_CODE_OUT_OF_MEMORY);
  } else if (!t && rc == AG_ERR_NOMEM) { /* the refresh backs off; nothing half-adopted */
    SIM_CHECK(s, s->c->retry_at > 0 && !s->c->refresh_id);
    drain(s);
  } else {
    drain(s);
  }
  check_consistent(s);
}

static void respond(sim *s, uint32_t id, int status, const char *body) {
  respond_after(s, id, status, body, NULL);
}

static void network_error(sim *s, uint32_t id) {
  tracked *t = find(s, id);
  before b;
  begin(s, "network error", &b);
  int rc = ag_client_network_error(s->c, s->now, id);
  if (t && rc != AG_ERR_NOMEM) t->in_flight = false;
  end_atomic(s, &b, rc);
  if (rc == AG_ERR_NOMEM && t) {
    t->outcome = REJECTED;
    t->in_flight = false;
    ag_client_cancel(s->c, s->now, id);
    drain(s);
  }
}

static void cancel_first_in_flight(sim *s) {
  for (int i = 0; i < s->n; i++) {
    tracked *t = &s->calls[i];
    if (t->outcome != OPEN || !t->in_flight) continue;
    before b;
    begin(s, "cancel", &b);
    int rc = ag_client_cancel(s->c, s->now, t->id);
    if (rc == AG_OK) t->outcome = REJECTED, t->in_flight = false; /* the caller's abort */
    end_atomic(s, &b, rc);
    return;
  }
}

/* Answers every app call in flight (or the first protected one only), with a Retry-After. */
static void answer_calls_after(sim *s, int status, bool first_protected_only,
                               const char *retry_after) {
  for (int i = 0; i < s->n; i++) {
    tracked *t = &s->calls[i];
    if (t->outcome != OPEN || !t->in_flight || t->login) continue;
    if (first_protected_only && !t->protected_) continue;
    if (status == 0) network_error(s, t->id);
    else respond_after(s, t->id, status, NULL, retry_after);
    if (first_protected_only) return;
  }
}

/* Answers every app call in flight (or the first protected one only, with `status`). */
static void answer_calls(sim *s, int status, bool first_protected_only) {
  answer_calls_after(s, status, first_protected_only, NULL);
}

static void answer_logins(sim *s, int status, const char *body) {
  for (int i = 0; i < s->n; i++) {
    tracked *t = &s->calls[i];
    if (t->outcome == OPEN && t->in_flight && t->login) respond(s, t->id, status, body);
  }
}

/* Answers every refresh request in flight (status 0: a network failure). */
static void answer_refreshes(sim *s, int status, const char *body) {
  uint32_t ids[MAX_TRACKED];
  int n = s->n_refresh;
  memcpy(ids, s->refreshes, sizeof ids);
  s->n_refresh = 0;
  for (int i = 0; i < n; i++) {
    if (status == 0) network_error(s, ids[i]);
    else respond(s, ids[i], status, body);
  }
}

/* ---- the sessions ---- */

#define EXPIRED_BLOB                                                                               \
  "{\"v\":1,\"type\":\"tokens\",\"gen\":2,\"access\":\"A\",\"refresh\":\"R\",\"exp\":1000}"
#define TOKENS(a, r, s)                                                                            \
  "{\"access_token\":\"" a "\",\"refresh_token\":\"" r "\",\"expires_in\":" s "}"

/* Local storage, the cross-tab lock, JSON refresh; a JWT carries the login's expiry. */
static void lock_and_storage_session(sim *s) {
  app_call(s, "/api/a", NULL, true); /* initializing: waits */
  app_call(s, "/health", NULL, false);
  start(s, EXPIRED_BLOB); /* expired: the start-up refresh, under the lock */
  app_call(s, "/api/b", NULL, true);
  grant(s, NULL);
  answer_refreshes(s, 200, TOKENS("A2", "R2", "60"));
  answer_calls(s, 200, false);
  s->now += 45000; /* usable but due: calls go, one refresh starts */
  for (int i = 0; i < 3; i++) app_call(s, "/api/storm", NULL, true);
  answer_calls(s, 401, true); /* one 401: refresh, then replay */
  grant(s, "{\"v\":1,\"type\":\"tokens\",\"gen\":8000000000000,\"access\":\"S\",\"refresh\":"
           "\"RS\",\"exp\":1800000000000}"); /* another tab refreshed meanwhile */
  answer_refreshes(s, 200, TOKENS("A3", "R3", "60"));
  answer_calls(s, 200, false);
  message(s, "{\"v\":1,\"type\":\"hello\"}");
  message(s, "{\"v\":1,\"type\":\"tokens\",\"gen\":8100000000000,\"access\":\"M\",\"refresh\":"
             "\"RM\",\"exp\":1700000100000}");
  tick(s, 1700000090000.0); /* due: lock, refresh fails on the network, backs off, retries */
  grant(s, NULL);
  answer_refreshes(s, 0, NULL);
  tick(s, s->now + 1000);
  grant(s, NULL);
  answer_refreshes(s, 200, TOKENS("A4", "R4", "3600"));
  login(s, "{\"u\":\"x\",\"p\":\"y\"}");
  answer_logins(s, 200, "{\"a\":\"eyJhbGciOiJub25lIn0.eyJleHAiOjE4MDAwMDAwMDB9.c2ln\"}");
  app_call(s, "http://other.test/x", "Bearer eyJhbGciOiJub25lIn0.eyJleHAiOjE4MDAwMDAwMDB9.c2ln",
           false); /* the gate's token to a foreign origin: refused */
  app_call(s, "http://other.test/y", NULL, false);
  answer_calls(s, 0, false);
  app_call(s, "/api/c", NULL, true);
  cancel_first_in_flight(s);
  app_call(s, "/api/d", NULL, true);
  logout(s);
  answer_calls(s, 200, false);
  ag_client_plan(s->c, "/api/x", 6);
  ag_client_diagnose(s->c, "/api/x", 6, 1, 200, 0);
}

/* Memory storage, no cross-tab lock, form login and refresh: the refresh is sent at once. */
static void single_tab_session(sim *s) {
  start(s, NULL);
  login(s, "{\"u\":\"x\",\"p\":\"y\"}");
  app_call(s, "/api/a", NULL, true); /* waits for the login's outcome */
  app_call(s, "/api/b", NULL, true);
  answer_logins(s, 200, TOKENS("T1", "R1", "60"));
  answer_calls(s, 200, false);
  s->now += 61000; /* expired: a storm waits for one refresh */
  for (int i = 0; i < 4; i++) app_call(s, "/api/storm", NULL, true);
  answer_refreshes(s, 0, NULL); /* network failure: back off */
  tick(s, s->now + 1000);
  answer_refreshes(s, 200, "{\"access_token\":\"T2\",\"expires_in\":60}"); /* keeps R1 */
  answer_calls(s, 401, true);
  answer_refreshes(s, 200, TOKENS("T3", "R3", "60"));
  answer_calls(s, 200, false);
  set_tokens(s, "{\"access\":\"X\",\"refresh\":\"RX\",\"expiresIn\":100}");
  login(s, "{\"u\":\"x\",\"p\":\"wrong\"}");
  answer_logins(s, 401, NULL);
  s->now += 101000;
  app_call(s, "/api/late", NULL, true);
  answer_refreshes(s, 401, NULL); /* refused: the session is over */
  app_call(s, "/api/anon", NULL, true);
  tick(s, s->now + 20000);
  logout(s);
}

/* Session storage shared by message, cookie refresh: the start-up probe, tabs' news. */
static void tabs_session(sim *s) {
  app_call(s, "/api/a", NULL, true);
  start(s, NULL); /* a cookie refresh decides the first state */
  message(s, "{\"v\":1,\"type\":\"tokens\",\"gen\":8000000000000,\"access\":\"O\",\"exp\":"
             "1700000060000}");
  grant(s, NULL);
  answer_refreshes(s, 200, "{\"access_token\":\"LATE\"}"); /* superseded by the tab's tokens */
  answer_calls(s, 200, false);
  app_call(s, "/api/b", NULL, true);
  message(s, "{\"v\":1,\"type\":\"logout\",\"gen\":8000000000001}");
  app_call(s, "/api/c", NULL, true);
  message(s, "{\"v\":1,\"type\":\"tokens\",\"gen\":8000000000002,\"access\":\"P\",\"exp\":"
             "1700000060000}");
  answer_calls(s, 200, false);
  tick(s, 1700000045000.0); /* due: lock, refresh by cookie */
  app_call(s, "/api/d", NULL, true);
  grant(s, "{\"v\":1,\"type\":\"tokens\",\"gen\":8000000000002,\"access\":\"P\",\"exp\":"
           "1700000060000}");     /* what this tab already has: still refresh */
  answer_refreshes(s, 401, NULL); /* refused: wait for another tab's tokens, then end */
  tick(s, s->now + 600);
  app_call(s, "/api/e", NULL, true);
  answer_calls(s, 200, false);
  logout(s);
}

/*
 * Timeouts and retries on every call, no cross-tab lock: a 503 retried after
 * Retry-After, a network failure retried after the back-off, a call past its
 * deadline aborted, getAccessToken fresh and due, a refresh past its deadline
 * answered late, bad per-call options, waking up after an outage.
 */
static void everyday_session(sim *s) {
  start(s, NULL);
  login(s, "{\"u\":\"x\",\"p\":\"y\"}");
  answer_logins(s, 200,
                "{\"access_token\":\"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.c2ln\",\"refresh_token\":"
                "\"R1\",\"expires_in\":60,\"scope\":\"read\"}");
  app_call(s, "/api/a", NULL, true);
  answer_calls_after(s, 503, false, "1"); /* retried in a second */
  tick(s, s->now + 1000);
  answer_calls(s, 200, false);
  app_call(s, "/api/b", NULL, true);
  answer_calls(s, 0, false); /* a network failure: retried after the back-off */
  tick(s, s->now + 10000);
  answer_calls(s, 200, false);
  app_call_opts(s, "/api/slow", "{\"timeoutMs\":100,\"retry\":false}");
  tick(s, s->now + 200);                        /* past its deadline: aborted, TIMEOUT */
  app_call_opts(s, "/api/odd", "{\"nope\":1}"); /* refused: BAD_CONFIG */
  token_call(s);                                /* fresh: the token at once */
  s->now += 40000;                              /* due: getAccessToken waits for a refresh */
  token_call(s);
  app_call(s, "/api/c", NULL, true);
  tick(s, s->now + 6000); /* the refresh is past its deadline (not sent again), /api/c too */
  answer_refreshes(s, 200, TOKENS("T2", "R2", "60")); /* its late answer settles it */
  answer_calls(s, 200, false);
  token_call(s);
  s->now += 61000; /* expired, and the refresh fails on the network */
  app_call(s, "/api/d", NULL, true);
  answer_refreshes(s, 0, NULL);
  wake(s, AG_WAKE_ONLINE); /* back online: the refresh goes now */
  answer_refreshes(s, 200, TOKENS("T3", "R3", "60"));
  answer_calls(s, 200, false);
  wake(s, AG_WAKE_VISIBLE);
  ag_client_session(s->c); /* gate.session: NULL when it cannot be written, nothing changes */
  logout(s);
}

typedef struct scenario {
  const char *name;
  const char *options;
  void (*run)(sim *);
} scenario;

static const scenario scenarios[] = {
    {"lock and storage",
     "{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"],\"login\":{\"url\":\"/login\"},"
     "\"refresh\":{\"url\":\"/refresh\"},\"storage\":\"local\",\"tokenFields\":{\"access\":[\"a\","
     "\"access_token\"]}}",
     lock_and_storage_session},
    {"single tab",
     "{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/login\",\"body\":\"form\"},"
     "\"refresh\":{\"url\":\"/refresh\",\"send\":\"form\"},\"crossTab\":false}",
     single_tab_session},
    {"tabs",
     "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/refresh\",\"send\":\"cookie\"},"
     "\"storage\":\"session\"}",
     tabs_session},
    {"everyday",
     "{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/login\"},\"refresh\":{\"url\":"
     "\"/refresh\"},\"crossTab\":false,\"timeoutMs\":5000,\"retry\":{\"limit\":2}}",
     everyday_session},
};

/* One run of a scenario; returns how many allocations it attempted. */
static long run(const scenario *sc) {
  long live = ag_live_allocations();
  alloc_count = 0;
  sim s = {.now = T0, .where = "new"};
  char err[128];
  int rc =
      ag_client_new(&s.c, sc->options, strlen(sc->options), "http://app.test", 15, err, sizeof err);
  if (rc == AG_OK) {
    sc->run(&s);
    ag_client_free(s.c);
  } else {
    SIM_CHECK(&s, rc == AG_ERR_NOMEM); /* the options are good: only memory can fail */
    if (rc != AG_ERR_NOMEM && reports < MAX_REPORTS) fprintf(stderr, "  rc %d: %s\n", rc, err);
  }
  if (ag_live_allocations() != live) {
    if (reports++ < MAX_REPORTS)
      fprintf(stderr, "  %s: at allocation %ld%s: %ld blocks leaked\n", sc->name, fail_at,
              fail_after ? " and after" : "", ag_live_allocations() - live);
    check_failures++;
  }
  return alloc_count;
}

static void sweep(const scenario *sc) {
  fail_at = -1;
  long total = run(sc);
  CHECK(total > 100); /* the session really allocates: many failure points are tried */
  for (int mode = 0; mode < 2; mode++) {
    fail_after = mode == 1;
    for (fail_at = 0; fail_at < total; fail_at++) run(sc);
  }
  fail_at = -1;
  fail_after = false;
}

static void every_allocation_failure_keeps_the_promise_with_the_lock_and_storage(void) {
  sweep(&scenarios[0]);
}

static void every_allocation_failure_keeps_the_promise_in_a_single_tab(void) {
  sweep(&scenarios[1]);
}

static void every_allocation_failure_keeps_the_promise_across_tabs(void) { sweep(&scenarios[2]); }

static void every_allocation_failure_keeps_the_promise_with_timeouts_and_retries(void) {
  sweep(&scenarios[3]);
}

/* The scripts themselves, with memory to spare, go where they mean to go. */
static void the_sessions_reach_their_milestones_without_failures(void) {
  for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) {
    sim s = {.now = T0, .where = scenarios[i].name};
    ag_client_new(&s.c, scenarios[i].options, strlen(scenarios[i].options), "http://app.test", 15,
                  NULL, 0);
    scenarios[i].run(&s);
    int resolved = 0, rejected = 0;
    for (int j = 0; j < s.n; j++) {
      resolved += s.calls[j].outcome == RESOLVED;
      rejected += s.calls[j].outcome == REJECTED;
    }
    CHECK(resolved >= 3 && rejected >= 2);
    if (scenarios[i].run == everyday_session) {
      int timeouts = 0, tokens = 0, refused = 0;
      for (int j = 0; j < s.n; j++) {
        timeouts += s.calls[j].outcome == REJECTED && s.calls[j].code == AG_CODE_TIMEOUT;
        tokens += s.calls[j].token && s.calls[j].outcome == RESOLVED;
        refused += s.calls[j].outcome == REJECTED && s.calls[j].code == AG_CODE_BAD_CONFIG;
      }
      CHECK(timeouts == 2 && tokens == 3 && refused == 1);
    }
    CHECK(ag_client_state(s.c) == AG_STATE_ANONYMOUS); /* each ends logged out */
    ag_client_free(s.c);
  }
}

int main(void) {
  ag_set_allocator(failing_malloc, free);
  RUN(the_sessions_reach_their_milestones_without_failures);
  RUN(every_allocation_failure_keeps_the_promise_with_the_lock_and_storage);
  RUN(every_allocation_failure_keeps_the_promise_in_a_single_tab);
  RUN(every_allocation_failure_keeps_the_promise_across_tabs);
  RUN(every_allocation_failure_keeps_the_promise_with_timeouts_and_retries);
  ag_set_allocator(NULL, NULL);
  return CHECK_EXIT_CODE();
}
