/*
 * fuzz_state_machine.c — the client driven by a random sequence of events,
 * with invariants checked after every step.
 *
 * Input: byte 0 picks the options; then each event is an opcode byte and
 * its argument bytes (reads past the end give 0). The clock only moves
 * forward. After every event all actions are drained and checked:
 *
 *  - an app call's SEND to a protected route (trusted origin, protected path,
 *    as computed here from the final URL, independently of the core) without
 *    the caller's own Authorization carries exactly "Bearer <access held>",
 *    and that token is usable now (not expired, not refused by a 401);
 *  - no other SEND carries an authorization from the gate (foreign origins,
 *    public paths, the caller's own header, login and refresh requests);
 *    a caller's own header that holds the gate's token to a foreign origin
 *    is REJECTed, never sent;
 *  - a call is sent at most twice, the second time only as the one replay
 *    after a 401; it is settled (RESOLVE, REJECT) at most once, RESOLVE only
 *    after the embedder answered it, and nothing is sent for a settled call;
 *  - at most one refresh SEND in flight with a given refresh token: a new one
 *    leaves only when every earlier one has been answered or was superseded
 *    by other tokens (and never a slow refresh retried while still on the
 *    network);
 *  - LOCK only when the lock is neither asked for nor held, UNLOCK only when held;
 *  - PERSIST only with session/local storage, BROADCAST only with crossTab;
 *    no token issued in this run appears in any REJECT or SESSION text;
 *  - ABORT only for an app call or login on the network, and its REJECT
 *    (TIMEOUT) follows; a refresh is never aborted;
 *  - next_deadline is -1 or > 0; tick(now) before the deadline does
 *    nothing; after tick(now) the deadline is -1 or later than now;
 *  - every call id handed out is either settled, cancelled or still tracked
 *    (ag_client_cancel accepts it); at the end, answering everything and
 *    letting time pass settles every call, and freeing the client returns
 *    ag_live_allocations() to where it started.
 */
#include "client.h"
#include "fuzz_common.h"

#include <stdarg.h>

/* ---- the configurations, with what the oracle needs to know of each ---- */

typedef struct config {
  const char *json;
  const char *trusted[3];   /* serialised origins that may get the token */
  const char *protect[3];   /* path prefixes */
  const char *public_[3];   /* path prefixes */
  const char *endpoints[3]; /* exact paths on trusted origins (login, refresh) */
  const char *login_url, *refresh_url;
  bool cookie, persist, cross_tab;
} config;

static const config configs[] = {
    {"{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"],\"login\":{\"url\":\"/auth/"
     "login\"},"
     "\"refresh\":{\"url\":\"/auth/refresh\"},\"crossTab\":false,\"storage\":\"local\"}",
     {"http://api.test"},
     {"/"},
     {"/health"},
     {"/auth/login", "/auth/refresh"},
     "http://api.test/auth/login",
     "http://api.test/auth/refresh",
     false,
     true,
     false},
    {"{\"baseUrl\":\"http://api.test/\",\"login\":{\"url\":\"http://api.test/auth/login\"},"
     "\"refresh\":{\"url\":\"/auth/refresh\"},\"readyTimeoutMs\":5000}",
     {"http://api.test"},
     {"/"},
     {NULL},
     {"/auth/login", "/auth/refresh"},
     "http://api.test/auth/login",
     "http://api.test/auth/refresh",
     false,
     false,
     true},
    {"{\"baseUrl\":\"http://api.test\",\"protect\":[\"/api\"],\"trustedOrigins\":[\"https://"
     "files.test:443\"],"
     "\"login\":{\"url\":\"/auth/login\",\"body\":\"form\"},\"refresh\":{\"url\":\"/auth/refresh\","
     "\"send\":\"form\"},\"storage\":\"session\",\"refreshSkewSeconds\":60}",
     {"http://api.test", "https://files.test"},
     {"/api"},
     {NULL},
     {"/auth/login", "/auth/refresh"},
     "http://api.test/auth/login",
     "http://api.test/auth/refresh",
     false,
     true,
     true},
    {"{\"baseUrl\":\"http://api.test\",\"public\":[\"/health\"],\"login\":{\"url\":\"/auth/"
     "login\"},"
     "\"refresh\":{\"url\":\"/auth/refresh\",\"send\":\"cookie\"},\"credentials\":\"include\"}",
     {"http://api.test"},
     {"/"},
     {"/health"},
     {"/auth/login", "/auth/refresh"},
     "http://api.test/auth/login",
     "http://api.test/auth/refresh",
     true,
     false,
     true},
    {"{\"baseUrl\":\"http://api.test\",\"login\":{\"url\":\"/auth/login\"},\"crossTab\":false,"
     "\"refreshSkewSeconds\":0}",
     {"http://api.test"},
     {"/"},
     {NULL},
     {"/auth/login"},
     "http://api.test/auth/login",
     NULL,
     false,
     false,
     false},
};
#define N_CONFIGS (sizeof configs / sizeof *configs)

static const char *const call_urls[] = {
    "/api/items",
    "/api/items?x=1#f",
    "http://api.test/api/a",
    "/health",
    "/health/deep",
    "/auth/login",
    "/auth/refresh",
    "https://files.test/f",
    "https://files.test:443/api/f",
    "http://evil.example/collect",
    "//evil.example/x",
    "http://API.TEST:80/api/b",
    "http://api.test:8080/api",
    "https://api.test/api",
    "/API/x",
    "/apix",
    "javascript:alert(1)",
    "data:text/plain,hi",
    "http://u:p@api.test/api",
    "http:\\\\evil.example\\x",
    "/a/../api/b",
    "",
    "\\\\evil.example/api",
    "api/rel",
    "/%2e%2e/api",
};
#define N_URLS (sizeof call_urls / sizeof *call_urls)
static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
static const int call_statuses[] = {200, 204, 401, 401, 403, 404, 500, 0};
static const int auth_statuses[] = {200, 200, 201, 400, 401, 403, 429, 500, 502};
static const ag_ms deltas[] = {0,     1,     7,     100,   999,    1000,   5000,
                               10000, 29999, 30000, 60000, 300000, 3600000};

/* ---- the harness's model ---- */

#define MAX_IDS 8192
#define MAX_TOKENS 4096

enum { ST_OPEN = 0, ST_SETTLED = 1, ST_CANCELLED = 2 };
enum { LOCK_IDLE = 0, LOCK_ASKED = 1, LOCK_HELD = 2 };

typedef struct rec {
  uint32_t id;
  int kind;  /* enum ag_send_kind */
  int state; /* ST_* (app calls and logins) */
  int sends;
  bool in_flight; /* sent, not answered yet */
  bool got_401;
  bool aborted; /* the core aborted it at its deadline */
  bool own_auth;
  bool gate_token_to_foreign; /* own header carried the gate's token to a foreign origin */
  char *url;                  /* the URL as given (for token-in-text checks; may hold NULs) */
  size_t url_len;
  char *body; /* refresh: the body sent */
} rec;

typedef struct harness {
  const config *cfg;
  ag_client *c;
  ag_ms now;
  rec recs[MAX_IDS];
  int n_recs;
  int lock;
  int refresh_sends; /* refresh SENDs so far */
  int token_seq;
  char *tokens[MAX_TOKENS]; /* every token handed to the client */
  int n_tokens;
} harness;

/* FUZZ_TRACE=1 in the environment prints every event and action (for reproducers). */
static int tracing = -1;
static void trace(const harness *h, const char *fmt, ...) {
  if (tracing < 0) tracing = getenv("FUZZ_TRACE") != NULL;
  if (!tracing) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[+%.0f] ", h->now - FUZZ_T0);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static rec *find_rec(harness *h, uint32_t id) {
  for (int i = 0; i < h->n_recs; i++)
    if (h->recs[i].id == id) return &h->recs[i];
  return NULL;
}

static rec *add_rec(harness *h, uint32_t id, int kind) {
  FUZZ_CHECK(find_rec(h, id) == NULL); /* ids are never reused while tracked */
  if (h->n_recs == MAX_IDS) abort();
  rec *r = &h->recs[h->n_recs++];
  memset(r, 0, sizeof *r);
  r->id = id;
  r->kind = kind;
  return r;
}

/* A fresh, unique token name, remembered for the leak checks. */
static const char *new_token(harness *h, char kind) {
  char buf[32];
  snprintf(buf, sizeof buf, "tok%c%dq", kind, ++h->token_seq);
  if (h->n_tokens == MAX_TOKENS) return "tokXq";
  h->tokens[h->n_tokens] = fuzz_strdup(buf, strlen(buf));
  return h->tokens[h->n_tokens++];
}

/* ---- the oracle: the route of a final URL, computed here ---- */

static bool has_prefix(const char *path, size_t n_path, const char *prefix) {
  size_t n = strlen(prefix);
  if (n > n_path || memcmp(path, prefix, n)) return false;
  return prefix[n - 1] == '/' || n == n_path || path[n] == '/';
}

/* 1: needs the bearer; 0: trusted but public; -1: foreign. */
static int oracle_route(const config *cfg, const char *url) {
  const char *p = strstr(url, "://");
  FUZZ_CHECK(p != NULL);
  const char *path = strchr(p + 3, '/');
  FUZZ_CHECK(path != NULL);
  size_t origin_len = (size_t)(path - url);
  bool trusted = false;
  for (int i = 0; i < 3 && cfg->trusted[i]; i++)
    trusted |= strlen(cfg->trusted[i]) == origin_len && !memcmp(url, cfg->trusted[i], origin_len);
  if (!trusted) return -1;
  const char *q = strchr(path, '?');
  size_t n_path = q ? (size_t)(q - path) : strlen(path);
  for (int i = 0; i < 3 && cfg->endpoints[i]; i++)
    if (strlen(cfg->endpoints[i]) == n_path && !memcmp(path, cfg->endpoints[i], n_path)) return 0;
  for (int i = 0; i < 3 && cfg->public_[i]; i++)
    if (has_prefix(path, n_path, cfg->public_[i])) return 0;
  for (int i = 0; i < 3 && cfg->protect[i]; i++)
    if (has_prefix(path, n_path, cfg->protect[i])) return 1;
  return 0;
}

/* ---- draining and checking actions ---- */

static bool token_usable_now(const ag_client *c, ag_ms now) {
  return c->tok.access && !c->access_dead && (c->tok.expires_at <= 0 || now < c->tok.expires_at);
}

/*
 * The token new_token made with this sequence number, when `at` spells one:
 * "tok", its kind, the number, "q". One pass over a text then finds every
 * issued token in it, where testing each of them in turn made long runs
 * quadratic (a third of the target's time went into that search).
 */
FUZZ_ORACLE static const char *issued_token_at(const harness *h, const char *at, size_t n) {
  size_t j = 4;
  long seq = 0;
  if (n < 6 || at[0] != 't' || at[1] != 'o' || at[2] != 'k') return NULL;
  while (j < n && j < 14 && at[j] >= '0' && at[j] <= '9') seq = seq * 10 + (at[j++] - '0');
  if (j == 4 || j >= n || at[j] != 'q' || seq < 1 || seq > h->n_tokens) return NULL;
  const char *token = h->tokens[seq - 1]; /* new_token numbers them from 1, in order */
  return strlen(token) == j + 1 && !strncmp(token, at, j + 1) ? token : NULL;
}

FUZZ_ORACLE static void check_text_has_no_token(harness *h, const ag_action *a, const rec *r) {
  for (size_t i = 0; a->text && i < a->text_len; i++) {
    const char *token = issued_token_at(h, a->text + i, a->text_len - i);
    if (!token || (r && fuzz_contains(r->url, r->url_len, token))) continue; /* the caller's URL */
    FUZZ_CHECK(0);
  }
  if (h->c->tok.access && !(r && fuzz_contains(r->url, r->url_len, h->c->tok.access)))
    FUZZ_CHECK(!fuzz_shows_secret(a->text, a->text_len, h->c->tok.access));
}

#define HELLO "{\"v\":1,\"type\":\"hello\"}"

static void check_blob(const ag_action *a) {
  ag_tokens t = {0};
  uint64_t gen;
  bool logout;
  FUZZ_CHECK(a->text && ag_blob_read(a->text, a->text_len, &t, &gen, &logout) == AG_OK);
  ag_tokens_clear(&t);
}

static void on_send(harness *h, const ag_action *a) {
  ag_client *c = h->c;
  FUZZ_CHECK(a->url && a->method);
  rec *r = find_rec(h, a->id);
  if (a->code == AG_SEND_REFRESH) {
    h->refresh_sends++;
    FUZZ_CHECK(h->cfg->refresh_url && !strcmp(a->url, h->cfg->refresh_url));
    FUZZ_CHECK(a->authorization == NULL);
    FUZZ_CHECK(c->refresh_id == a->id);
    FUZZ_CHECK(h->cfg->cookie ? a->body == NULL : (a->body != NULL && a->body_len > 0));
    if (h->cfg->cross_tab) FUZZ_CHECK(h->lock == LOCK_HELD);
    /* Single flight: no other refresh in flight with the same credential. */
    for (int i = 0; i < h->n_recs; i++) {
      const rec *o = &h->recs[i];
      if (o->kind != AG_SEND_REFRESH || !o->in_flight) continue;
      /* Cookie mode: a refresh superseded by new tokens (setTokens, login, another
         tab) is forgotten by the core, and the next one may leave while it is still
         on the network; both carry the browser's cookie. Known limit (SECURITY.md). */
      if (h->cfg->cookie) continue;
      FUZZ_CHECK(strlen(o->body) != a->body_len || memcmp(o->body, a->body, a->body_len));
    }
    FUZZ_CHECK(r == NULL);
    r = add_rec(h, a->id, AG_SEND_REFRESH);
    r->body = a->body ? fuzz_strdup(a->body, a->body_len) : NULL;
    r->in_flight = true;
    r->sends = 1;
    return;
  }
  FUZZ_CHECK(r != NULL && r->kind == a->code && r->state == ST_OPEN && !r->in_flight);
  r->sends++;
  if (a->code == AG_SEND_LOGIN) {
    FUZZ_CHECK(r->sends == 1 && a->authorization == NULL && a->body && a->content_type);
    FUZZ_CHECK(h->cfg->login_url && !strcmp(a->url, h->cfg->login_url));
  } else {
    FUZZ_CHECK(r->sends == 1 ? !a->replay : (r->sends == 2 && a->replay && r->got_401));
    FUZZ_CHECK(!r->gate_token_to_foreign);
    int route = oracle_route(h->cfg, a->url);
    if (route == 1 && !r->own_auth) {
      FUZZ_CHECK(a->authorization != NULL); /* never a bare protected call */
      FUZZ_CHECK(c->bearer && !strcmp(a->authorization, c->bearer));
      FUZZ_CHECK(!strncmp(a->authorization, "Bearer ", 7) &&
                 !strcmp(a->authorization + 7, c->tok.access));
      FUZZ_CHECK(token_usable_now(c, h->now));
      FUZZ_CHECK(ag_client_state(c) != AG_STATE_ANONYMOUS &&
                 ag_client_state(c) != AG_STATE_INITIALIZING);
    } else {
      FUZZ_CHECK(a->authorization == NULL); /* foreign, public, or the caller's own header */
    }
  }
  r->in_flight = true;
}

static void on_settle(harness *h, const ag_action *a) {
  rec *r = find_rec(h, a->id);
  FUZZ_CHECK(r != NULL && r->kind != AG_SEND_REFRESH && r->state == ST_OPEN);
  if (a->type == AG_ACTION_RESOLVE) {
    FUZZ_CHECK(r->sends > 0 && !r->in_flight); /* the embedder answered it */
  } else {
    FUZZ_CHECK((a->code >= AG_CODE_NO_TOKEN && a->code <= AG_CODE_LOGIN_FAILED) ||
               a->code == AG_CODE_TIMEOUT);
    FUZZ_CHECK(r->aborted == (a->code == AG_CODE_TIMEOUT));
    FUZZ_CHECK(!r->in_flight); /* a call on the network is settled by its answer only */
    check_text_has_no_token(h, a, r);
    if (r->gate_token_to_foreign) FUZZ_CHECK(a->code == AG_CODE_FOREIGN_ORIGIN);
  }
  r->state = ST_SETTLED;
  r->in_flight = false;
}

static int drain(harness *h) {
  ag_action a;
  int n = 0, last_state = -1;
  while (ag_client_next_action(h->c, &a)) {
    n++;
    trace(h, "  action %d id=%u code=%d url=%s auth=%s body=%.*s text=%.*s", a.type, a.id, a.code,
          a.url ? a.url : "-", a.authorization ? a.authorization : "-", (int)a.body_len,
          a.body ? a.body : "", (int)(a.text_len > 120 ? 120 : a.text_len), a.text ? a.text : "");
    switch (a.type) {
    case AG_ACTION_SEND:
      on_send(h, &a);
      break;
    case AG_ACTION_RESOLVE:
    case AG_ACTION_REJECT:
      on_settle(h, &a);
      break;
    case AG_ACTION_LOCK:
      FUZZ_CHECK(h->cfg->cross_tab && h->lock == LOCK_IDLE);
      h->lock = LOCK_ASKED;
      break;
    case AG_ACTION_UNLOCK:
      FUZZ_CHECK(h->lock == LOCK_HELD);
      h->lock = LOCK_IDLE;
      if (a.text) { /* the generation it shared: what it holds, in decimal */
        char gen[24];
        snprintf(gen, sizeof gen, "%llu", (unsigned long long)h->c->gen);
        FUZZ_CHECK(a.text_len == strlen(gen) && !memcmp(a.text, gen, a.text_len));
      }
      break;
    case AG_ACTION_PERSIST:
      FUZZ_CHECK(h->cfg->persist);
      check_blob(&a);
      break;
    case AG_ACTION_BROADCAST:
      FUZZ_CHECK(h->cfg->cross_tab);
      /* a blob, or a new tab's question to the others (only where storage is not shared) */
      if (a.text && !strcmp(a.text, HELLO))
        FUZZ_CHECK(!strstr(h->cfg->json, "\"storage\":\"local\""));
      else check_blob(&a);
      break;
    case AG_ACTION_CLEAR_STORAGE:
      break;
    case AG_ACTION_STATE:
      FUZZ_CHECK(a.code >= AG_STATE_INITIALIZING && a.code <= AG_STATE_REFRESHING);
      last_state = a.code;
      break;
    case AG_ACTION_SESSION:
      FUZZ_CHECK(a.text && (!strcmp(a.text, "null") || a.text[0] == '{'));
      check_text_has_no_token(h, &a, NULL);
      break;
    case AG_ACTION_ABORT: {
      rec *r = find_rec(h, a.id);
      FUZZ_CHECK(r && r->kind != AG_SEND_REFRESH && r->state == ST_OPEN && r->in_flight);
      r->in_flight = false;
      r->aborted = true;
      break;
    }
    default:
      FUZZ_FAIL("unknown action type");
    }
  }
  if (last_state >= 0) FUZZ_CHECK(last_state == ag_client_state(h->c));
  return n;
}

static bool core_tracks(const ag_client *c, uint32_t id) {
  if (!c->n_buckets) return false;
  for (const call *k = c->buckets[id & (c->n_buckets - 1)]; k; k = k->hnext)
    if (k->id == id) return true;
  return false;
}

/* After every event: the deadline is sane and every open id is still tracked. */
static void check_step(harness *h) {
  ag_ms d = ag_client_next_deadline(h->c);
  FUZZ_CHECK(d == -1 || d > 0);
  for (int i = 0; i < h->n_recs; i++) {
    const rec *r = &h->recs[i];
    if (r->kind != AG_SEND_REFRESH)
      FUZZ_CHECK(core_tracks(h->c, r->id) == (r->state == ST_OPEN)); /* no lost, no leaked call */
  }
  /* Anonymous: the gate holds no token at all. */
  if (h->c->state == AG_STATE_ANONYMOUS) FUZZ_CHECK(!h->c->tok.access && !h->c->bearer);
}

static void tick(harness *h) {
  ag_ms d = ag_client_next_deadline(h->c);
  trace(h, "tick (deadline %+.0f)", d < 0 ? -1 : d - h->now);
  FUZZ_CHECK(ag_client_tick(h->c, h->now) == AG_OK);
  int n = drain(h);
  if (d == -1 || h->now < d) FUZZ_CHECK(n == 0); /* nothing is due before the deadline */
  ag_ms after = ag_client_next_deadline(h->c);
  FUZZ_CHECK(after == -1 || after > h->now);
}

/* ---- bodies the fake servers answer with ---- */

static int token_body(harness *h, char *out, size_t cap, uint8_t pick) {
  const char *a = new_token(h, 'A'), *r = new_token(h, 'R');
  switch (pick % 12) {
  case 0:
  case 1:
  case 2:
    return snprintf(out, cap,
                    "{\"access_token\":\"%s\",\"refresh_token\":\"%s\",\"expires_in\":300}", a, r);
  case 3:
    return snprintf(out, cap, "{\"access_token\":\"%s\",\"expires_in\":20}", a);
  case 4:
    return snprintf(out, cap, "{\"access\":\"%s\",\"refresh\":\"%s\",\"expires_in\":\"1\"}", a, r);
  case 5:
    return snprintf(out, cap, "{\"access_token\":\"%s\"}", a); /* opaque, no expiry */
  case 6: /* a JWT whose exp is 2023-11-14T22:15:00Z (FUZZ_T0 + 100 s) */
    return snprintf(out, cap, "{\"access_token\":\"e30.eyJleHAiOjE3MDAwMDAxMDB9.%s\"}", a);
  case 7:
    return snprintf(out, cap, "{\"access_token\":\"%s\\r\\nX-Evil: 1\"}", a);
  case 8:
    return snprintf(out, cap, "{\"access_token\":\"%s %s\"}", a, r);
  case 9:
    return snprintf(out, cap, "[\"%s\"]", a);
  case 10:
    return snprintf(out, cap, "{\"access_token\":\"%s\",\"expires_in\":-5,", a);
  default:
    return snprintf(out, cap, "{\"detail\":\"no\"}");
  }
}

static int blob_text(harness *h, char *out, size_t cap, uint8_t pick) {
  uint64_t newer = (uint64_t)h->now + 1000000 + (uint64_t)h->token_seq;
  uint64_t exp = (uint64_t)h->now + 300000;
  const char *a = new_token(h, 'M'), *r = new_token(h, 'N');
  switch (pick % 10) {
  case 0:
  case 1:
    return snprintf(out, cap,
                    "{\"v\":1,\"type\":\"tokens\",\"gen\":%llu,\"access\":\"%s\",\"refresh\":\"%"
                    "s\",\"exp\":%llu}",
                    (unsigned long long)newer, a, r, (unsigned long long)exp);
  case 2: /* newer, already expired */
    return snprintf(out, cap,
                    "{\"v\":1,\"type\":\"tokens\",\"gen\":%llu,\"access\":\"%s\",\"refresh\":\"%"
                    "s\",\"exp\":%llu}",
                    (unsigned long long)newer, a, r, (unsigned long long)h->now - 1);
  case 3:
    return snprintf(out, cap, "{\"v\":1,\"type\":\"logout\",\"gen\":%llu}",
                    (unsigned long long)newer);
  case 4: /* an older generation */
    return snprintf(out, cap, "{\"v\":1,\"type\":\"tokens\",\"gen\":5,\"access\":\"%s\",\"exp\":0}",
                    a);
  case 5:
    return snprintf(out, cap, "{\"v\":1,\"type\":\"logout\",\"gen\":1}");
  case 6: /* forged shape */
    return snprintf(out, cap,
                    "{\"v\":1,\"type\":\"tokens\",\"gen\":\"%llu\",\"access\":\"%s\",\"exp\":0}",
                    (unsigned long long)newer, a);
  case 7:
    return snprintf(out, cap,
                    "{\"v\":1,\"type\":\"tokens\",\"gen\":%llu,\"access\":\"%s\\r\\n\",\"exp\":0}",
                    (unsigned long long)newer, a);
  case 8:
    return snprintf(out, cap, "%s", HELLO); /* a new tab asking for the session */
  default:
    return snprintf(out, cap, "{\"v\":1,\"type\":\"tokens\",\"gen\":%llu}",
                    (unsigned long long)newer);
  }
}

/* ---- events ---- */

/* An id from the records matching `want` (in flight, or open), picked by `k`. */
static rec *pick(harness *h, uint8_t k, bool in_flight) {
  int n = 0;
  for (int i = 0; i < h->n_recs; i++) {
    rec *r = &h->recs[i];
    if (in_flight ? r->in_flight : (r->kind != AG_SEND_REFRESH && r->state == ST_OPEN)) n++;
  }
  if (!n) return NULL;
  int want = k % n;
  for (int i = 0; i < h->n_recs; i++) {
    rec *r = &h->recs[i];
    if (in_flight ? r->in_flight : (r->kind != AG_SEND_REFRESH && r->state == ST_OPEN))
      if (want-- == 0) return r;
  }
  return NULL;
}

static void ev_call(harness *h, fuzz_in *in) {
  uint8_t m = fuzz_byte(in), u = fuzz_byte(in), a = fuzz_byte(in);
  char raw[256];
  const char *url;
  size_t url_len;
  if (u >= 0xf0) { /* a URL from the input itself, up to '\n' */
    size_t n;
    const char *s = fuzz_until(in, '\n', &n);
    if (n >= sizeof raw) n = sizeof raw - 1;
    memcpy(raw, s, n);
    raw[n] = '\0';
    url = raw;
    url_len = n;
  } else {
    url = call_urls[u % N_URLS];
    url_len = strlen(url);
  }
  char auth[64];
  const char *own = NULL;
  switch (a % 6) {
  case 1:
    own = "Bearer mine";
    break;
  case 2: /* the gate's own token, put on by hand */
    snprintf(auth, sizeof auth, "Bearer %s", h->c->tok.access ? h->c->tok.access : "none");
    own = auth;
    break;
  case 3:
    own = "Basic dXNlcjpwdw==";
    break;
  case 4:
    own = "";
    break;
  default:
    break;
  }
  bool had_token = h->c->tok.access != NULL && own && strstr(own, h->c->tok.access);
  uint32_t id = 0;
  const char *method = methods[m % 4];
  trace(h, "call %s %.*s own=%s", methods[m % 4], (int)url_len, url, own ? own : "-");
  int rc = ag_client_call(h->c, h->now, method, strlen(method), url, url_len, own,
                          own ? strlen(own) : 0, (a >> 4) & 3, &id);
  FUZZ_CHECK(rc == AG_OK && id != 0);
  rec *r = add_rec(h, id, AG_SEND_CALL);
  r->own_auth = own != NULL;
  r->url = fuzz_strdup(url, url_len);
  r->url_len = url_len;
  /* Would the final URL be foreign? Resolve it the way the core does. */
  ag_url parsed;
  if (had_token && ag_config_resolve(&h->c->cfg, url, url_len, &parsed, NULL) == AG_OK) {
    char *final = ag_url_serialize(&parsed);
    r->gate_token_to_foreign = oracle_route(h->cfg, final) == -1;
    ag_free(final);
    ag_url_free(&parsed);
  }
  drain(h);
}

static void ev_answer(harness *h, fuzz_in *in, bool network) {
  uint8_t k = fuzz_byte(in), s = fuzz_byte(in);
  rec *r = pick(h, k, true);
  if (!r) {
    FUZZ_CHECK(ag_client_response(h->c, h->now, 0x7fffffff, 200, NULL, 0) == AG_ERR_INVALID);
    return;
  }
  r->in_flight = false;
  trace(h, "%s id=%u kind=%d", network ? "network error" : "response", r->id, r->kind);
  if (network) {
    ag_client_network_error(h->c, h->now, r->id);
  } else if (r->kind == AG_SEND_CALL) {
    int status = call_statuses[s % (sizeof call_statuses / sizeof *call_statuses)];
    trace(h, "  status %d", status);
    if (status == 401) r->got_401 = true;
    ag_client_response(h->c, h->now, r->id, status, NULL, 0);
  } else {
    char body[512];
    int n = token_body(h, body, sizeof body, fuzz_byte(in));
    int status = auth_statuses[s % (sizeof auth_statuses / sizeof *auth_statuses)];
    trace(h, "  status %d body %s", status, body);
    ag_client_response(h->c, h->now, r->id, status, body, (size_t)n);
  }
  drain(h);
}

static void ev_cancel(harness *h, fuzz_in *in) {
  rec *r = pick(h, fuzz_byte(in), false);
  if (!r) return;
  trace(h, "cancel %u", r->id);
  FUZZ_CHECK(ag_client_cancel(h->c, h->now, r->id) == AG_OK); /* an open call is still tracked */
  r->state = ST_CANCELLED;
  r->in_flight = false;
  FUZZ_CHECK(ag_client_cancel(h->c, h->now, r->id) == AG_ERR_INVALID);
  drain(h);
}

static void ev_start(harness *h, fuzz_in *in) {
  uint8_t k = fuzz_byte(in);
  char blob[512];
  int n = k % 4 == 0 ? 0 : blob_text(h, blob, sizeof blob, k);
  bool started = h->c->started;
  trace(h, "start %.*s", n, n ? blob : "");
  int rc = ag_client_start(h->c, h->now, n ? blob : NULL, (size_t)n);
  FUZZ_CHECK(started ? rc == AG_ERR_INVALID : rc == AG_OK);
  drain(h);
  if (!started)
    FUZZ_CHECK(ag_client_state(h->c) != AG_STATE_INITIALIZING || h->c->refresh_id ||
               h->lock == LOCK_ASKED);
}

static void ev_login(harness *h, fuzz_in *in) {
  static const char *const creds[] = {"{\"username\":\"u\",\"password\":\"p w&=\"}", "{\"u\":1}",
                                      "[]", "{\"username\":\"\\u00e9\"}"};
  const char *cr = creds[fuzz_byte(in) % 4];
  uint32_t id = 0;
  trace(h, "login %s", cr);
  FUZZ_CHECK(ag_client_login(h->c, h->now, cr, strlen(cr), &id) == AG_OK && id);
  add_rec(h, id, AG_SEND_LOGIN);
  drain(h);
}

static void ev_set_tokens(harness *h, fuzz_in *in) {
  char json[256];
  const char *a = new_token(h, 'S'), *r = new_token(h, 'T');
  int n;
  switch (fuzz_byte(in) % 5) {
  case 0:
    n = snprintf(json, sizeof json, "{\"access\":\"%s\",\"refresh\":\"%s\",\"expiresIn\":300}", a,
                 r);
    break;
  case 1:
    n = snprintf(json, sizeof json, "{\"access\":\"%s\",\"expiresIn\":2}", a);
    break;
  case 2:
    n = snprintf(json, sizeof json, "{\"access\":\"%s\"}", a);
    break;
  case 3:
    n = snprintf(json, sizeof json, "{\"access\":\"%s\\n\"}", a);
    break;
  default:
    n = snprintf(json, sizeof json, "{\"refresh\":\"%s\"}", r);
    break;
  }
  trace(h, "set_tokens %s", json);
  int rc = ag_client_set_tokens(h->c, h->now, json, (size_t)n);
  FUZZ_CHECK(rc == AG_OK || rc == AG_ERR_BAD_TOKENS);
  drain(h);
}

static void ev_message(harness *h, fuzz_in *in, bool lock) {
  uint8_t k = fuzz_byte(in);
  char blob[512];
  int n = blob_text(h, blob, sizeof blob, k);
  if (lock) {
    if (h->lock != LOCK_ASKED) return; /* the Web Locks API grants only what was asked */
    h->lock = LOCK_HELD;
    /* 0x40: another tab announced newer tokens than this tab and storage hold */
    ag_ms shared = (k & 0x40) ? (ag_ms)h->c->gen + 2000000 + (k & 7) : 0;
    trace(h, "lock granted %s (newest shared %.0f)", (k & 0x80) ? blob : "-", shared);
    int sends = h->refresh_sends;
    FUZZ_CHECK(ag_client_lock_granted(h->c, h->now, (k & 0x80) ? blob : NULL,
                                      (k & 0x80) ? (size_t)n : 0, shared) == AG_OK);
    drain(h);
    /* Storage read before those tokens arrived: no refresh on it. */
    if ((ag_ms)h->c->gen < shared) FUZZ_CHECK(h->refresh_sends == sends);
  } else {
    trace(h, "message %s", blob);
    int rc = ag_client_message(h->c, h->now, blob, (size_t)n);
    FUZZ_CHECK(rc == AG_OK || rc == AG_ERR_BAD_BLOB || rc == AG_ERR_STALE ||
               (rc == AG_ERR_INVALID && !h->c->started));
  }
  drain(h);
}

static void advance(harness *h, uint8_t k) {
  h->now += deltas[k % (sizeof deltas / sizeof *deltas)];
}

/* Answer everything, grant the lock, let time pass: every call must settle. */
static void finish_all(harness *h) {
  for (int round = 0; round < 64; round++) {
    bool open = false;
    for (int i = 0; i < h->n_recs; i++)
      open |= h->recs[i].kind != AG_SEND_REFRESH && h->recs[i].state == ST_OPEN;
    if (!open) break;
    if (h->lock == LOCK_ASKED) {
      h->lock = LOCK_HELD;
      ag_client_lock_granted(h->c, h->now, NULL, 0, 0);
      drain(h);
    }
    for (int i = 0; i < h->n_recs; i++) {
      rec *r = &h->recs[i];
      if (!r->in_flight) continue;
      r->in_flight = false;
      if (r->kind == AG_SEND_REFRESH) ag_client_network_error(h->c, h->now, r->id);
      else ag_client_response(h->c, h->now, r->id, r->kind == AG_SEND_LOGIN ? 500 : 200, NULL, 0);
      drain(h);
    }
    ag_ms d = ag_client_next_deadline(h->c);
    h->now = d > h->now ? d : h->now + 1;
    tick(h);
  }
  for (int i = 0; i < h->n_recs; i++) {
    const rec *r = &h->recs[i];
    if (r->kind != AG_SEND_REFRESH && r->state == ST_OPEN) {
      fprintf(stderr, "call %u (kind %d, sends %d, in flight %d) never settled\n", r->id, r->kind,
              r->sends, r->in_flight);
      FUZZ_FAIL("every call settles once everything is answered and time passes");
    }
  }
}

static harness H;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  harness *h = &H;
  memset(h, 0, sizeof *h);
  h->cfg = &configs[fuzz_byte(&in) % N_CONFIGS];
  h->now = FUZZ_T0;
  FUZZ_CHECK(ag_client_new(&h->c, h->cfg->json, strlen(h->cfg->json), "http://app.test", 15, NULL,
                           0) == AG_OK);

  int events = 0;
  while (in.n && events++ < 2000) {
    uint8_t op = fuzz_byte(&in);
    switch (op % 14) {
    case 0:
    case 1:
      ev_call(h, &in);
      break;
    case 2:
    case 3:
      ev_answer(h, &in, false);
      break;
    case 4:
      ev_answer(h, &in, true);
      break;
    case 5:
      ev_cancel(h, &in);
      break;
    case 6:
      advance(h, fuzz_byte(&in));
      tick(h);
      break;
    case 7: { /* tick exactly at the deadline (or one ms before it) */
      ag_ms d = ag_client_next_deadline(h->c);
      if (d > h->now) h->now = (op & 0x80) ? d - 1 : d;
      tick(h);
      break;
    }
    case 8:
      ev_start(h, &in);
      break;
    case 9:
      ev_login(h, &in);
      break;
    case 10:
      ev_set_tokens(h, &in);
      break;
    case 11:
      trace(h, "logout");
      FUZZ_CHECK(ag_client_logout(h->c, h->now) == AG_OK);
      drain(h);
      break;
    case 12:
      ev_message(h, &in, false);
      break;
    default:
      ev_message(h, &in, true);
      break;
    }
    check_step(h);
    if (op & 0x40) advance(h, op); /* time passes between most events */
  }
  finish_all(h);

  ag_client_free(h->c);
  for (int i = 0; i < h->n_recs; i++) free(h->recs[i].url), free(h->recs[i].body);
  for (int i = 0; i < h->n_tokens; i++) free(h->tokens[i]);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
