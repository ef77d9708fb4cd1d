/*
 * client.c — the state machine. Every call's life is here: sent at once,
 * held until the auth state is known, held behind the one refresh in
 * flight, replayed once after a 401, or rejected with a reason. Events come
 * in through the ag_client_* entry points; what the embedder must do leaves
 * as actions, drained with ag_client_next_action.
 */
#include "client.h"

#include <string.h>

static void set_state(ag_client *c, int state) {
  if (c->state == state) return;
  c->state = state;
  ag_action_push(c, AG_ACTION_STATE, 0, state, NULL);
}

/* ---- tokens ---- */

static bool has_access(const ag_client *c) { return c->tok.access != NULL; }

static bool can_refresh(const ag_client *c) {
  if (!c->cfg.refresh_url) return false;
  return c->cfg.refresh_send == AG_REFRESH_COOKIE || c->tok.refresh != NULL;
}

/*
 * When to refresh: expiry minus the skew, but never more than half the
 * token's lifetime early, or a 20 s token with a 30 s skew would refresh
 * in a loop.
 */
static ag_ms refresh_due(const ag_client *c) {
  if (c->tok.expires_at <= 0) return 0;
  ag_ms life = c->tok.expires_at - c->obtained_at;
  ag_ms skew = c->cfg.refresh_skew_ms;
  if (skew > life / 2) skew = life > 0 ? life / 2 : 0;
  return c->tok.expires_at - skew;
}

bool ag_token_usable(const ag_client *c, ag_ms now) {
  return has_access(c) && !c->access_dead && (c->tok.expires_at <= 0 || now < c->tok.expires_at);
}

static bool token_fresh(const ag_client *c, ag_ms now) {
  return ag_token_usable(c, now) && (c->tok.expires_at <= 0 || now < refresh_due(c));
}

/* "Bearer <access>" into *out (NULL when there is no access token). */
static int make_bearer(const ag_tokens *t, char **out) {
  *out = NULL;
  if (!t->access) return AG_OK;
  ag_buf b = {0};
  ag_buf_puts(&b, "Bearer ");
  ag_buf_puts(&b, t->access);
  *out = ag_buf_take(&b);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

static uint64_t next_gen(const ag_client *c, ag_ms now) {
  /* Wall time as a floor keeps generations ordered across tabs that start fresh. */
  uint64_t t = now > 0 ? (uint64_t)now : 0;
  return c->gen + 1 > t ? c->gen + 1 : t;
}

static void forget_tokens(ag_client *c) {
  ag_tokens_clear(&c->tok);
  ag_free_secret(c->bearer);
  c->bearer = NULL;
  c->access_dead = false;
  c->need_refresh = false;
  c->refresh_failures = 0;
  c->retry_at = 0;
  c->refused_until = 0;
}

/* ---- sending ---- */

static void send_call(ag_client *c, call *k, ag_ms now) {
  (void)now;
  ag_call_unwait(c, k);
  k->sent_gen = c->gen;
  k->in_flight = true;
  ag_action_push(c, AG_ACTION_SEND, k->id, k->kind, NULL);
}

/* Cannot fail: without memory for the whole message, the reason alone goes out. */
static void reject_call(ag_client *c, call *k, int code, const char *why) {
  uint32_t id = k->id;
  char *msg = ag_explain_rejection(c, k, code, why);
  const char *fixed = msg ? NULL : ag_explain_fixed(c, k, code, why);
  ag_call_free(c, k);
  if (msg) ag_action_push(c, AG_ACTION_REJECT, id, code, msg);
  else ag_action_push_static(c, AG_ACTION_REJECT, id, code, fixed);
}

/* Moves every waiting call on, now that the state or the token changed. */
static void settle_waiting(ag_client *c, ag_ms now);
static void settle_call(ag_client *c, call *k, ag_ms now);

static void reject_waiting(ag_client *c, int code, const char *why) {
  while (c->wait_head) reject_call(c, c->wait_head, code, why);
}

/* ---- refresh ---- */

static void release_lock(ag_client *c) {
  if (c->lock_held) ag_emit(c, AG_ACTION_UNLOCK);
  c->lock_held = false;
}

/* The refresh request, built whole before anything changes; NULL on ENOMEM. */
static call *make_refresh(ag_client *c) {
  call *k = ag_call_make(c, AG_SEND_REFRESH);
  if (!k) return NULL;
  k->method = ag_strndup("POST", 4);
  k->url = ag_strndup(c->cfg.refresh_url, strlen(c->cfg.refresh_url));
  if (!k->method || !k->url || ag_build_refresh_body(c, k) != AG_OK) {
    ag_call_free(c, k);
    return NULL;
  }
  k->credentials = ag_own_request_credentials(c, k->url);
  return k;
}

/*
 * Back-off after a refresh that failed or could not even be sent: the lock
 * goes back, the user stays logged in, a retry is scheduled.
 */
static void back_off(ag_client *c, ag_ms now) {
  c->refresh_id = 0;
  c->refresh_failures++;
  int shift = c->refresh_failures > 5 ? 5 : c->refresh_failures - 1;
  ag_ms delay = (ag_ms)(1000 << shift);
  c->retry_at = now + (delay > 30000 ? 30000 : delay);
  release_lock(c);
  if (c->state == AG_STATE_REFRESHING) set_state(c, AG_STATE_AUTHENTICATED);
}

/*
 * Out of memory for the refresh request (or for reading the tokens another
 * tab left): as if the refresh had failed on the network, without settling
 * (the callers are settling already). Never a refresh sent blind.
 */
static void refresh_not_sent(ag_client *c, ag_ms now) {
  back_off(c, now);
  c->refresh_oom = true;
}

static int send_refresh(ag_client *c, ag_ms now) {
  call *k = make_refresh(c);
  if (!k) {
    refresh_not_sent(c, now);
    return AG_ERR_NOMEM;
  }
  ag_call_add(c, k);
  c->refresh_id = k->id;
  c->bad_refresh_body = false; /* what the last attempt got, for REFRESH_FAILED's message */
  c->refresh_oom = false;
  c->last_refresh_status = 0;
  send_call(c, k, now);
  return AG_OK;
}

/* Asks for a refresh; a no-op when one is already under way (single flight). */
static void begin_refresh(ag_client *c, ag_ms now) {
  if (!can_refresh(c)) return; /* e.g. a retry after the tokens were dropped */
  c->need_refresh = true;
  if (c->refresh_id || c->lock_wanted || c->lock_held || c->refused_until > 0) return;
  c->retry_at = 0;
  if (c->state == AG_STATE_AUTHENTICATED) set_state(c, AG_STATE_REFRESHING);
  if (c->cfg.cross_tab) {
    c->lock_wanted = true;
    ag_emit(c, AG_ACTION_LOCK);
    return;
  }
  send_refresh(c, now); /* out of memory: backing off, retried at retry_at */
}

/* The session is over: tokens gone, anonymous, waiting calls told why. */
static void end_session(ag_client *c, int code, const char *why) {
  bool had = has_access(c) || c->tok.refresh;
  forget_tokens(c);
  c->refresh_id = 0;
  release_lock(c);
  if (had) ag_emit(c, AG_ACTION_CLEAR_STORAGE);
  set_state(c, AG_STATE_ANONYMOUS);
  reject_waiting(c, code, why);
}

/* A refresh that failed for a reason that may pass: back off, stay logged in. */
static void refresh_failed(ag_client *c, ag_ms now) {
  back_off(c, now);
  /* A still-valid token keeps serving calls while the refresh retries. */
  settle_waiting(c, now);
}

/* What adopting tokens needs allocated: built before anything changes. */
typedef struct adoption {
  char *bearer;
  char *persist;   /* the blob to store, or NULL */
  char *broadcast; /* the blob for the other tabs, or NULL */
} adoption;

static void adoption_free(adoption *a) {
  ag_free_secret(a->bearer);
  ag_free_secret(a->persist);
  ag_free_secret(a->broadcast);
}

static int prepare_adoption(const ag_client *c, const ag_tokens *t, uint64_t gen, bool share,
                            adoption *a) {
  memset(a, 0, sizeof *a);
  bool persist = share && c->cfg.storage != AG_STORAGE_MEMORY;
  bool broadcast = share && c->cfg.cross_tab;
  int rc = make_bearer(t, &a->bearer);
  if (rc == AG_OK && persist && !(a->persist = ag_blob_write(t, gen))) rc = AG_ERR_NOMEM;
  if (rc == AG_OK && broadcast && !(a->broadcast = ag_blob_write(t, gen))) rc = AG_ERR_NOMEM;
  if (rc != AG_OK) adoption_free(a);
  return rc;
}

/*
 * New tokens from login, refresh, setTokens, another tab or storage. On
 * AG_ERR_NOMEM nothing changed and `t` is still the caller's.
 */
int ag_adopt_tokens(ag_client *c, ag_tokens *t, uint64_t gen, ag_ms now, bool share) {
  adoption a;
  if (prepare_adoption(c, t, gen, share, &a) != AG_OK) return AG_ERR_NOMEM;
  forget_tokens(c);
  c->tok = *t;
  memset(t, 0, sizeof *t);
  c->bearer = a.bearer;
  c->gen = gen;
  c->obtained_at = now;
  if (a.persist) ag_action_push(c, AG_ACTION_PERSIST, 0, 0, a.persist);
  if (a.broadcast) ag_action_push(c, AG_ACTION_BROADCAST, 0, 0, a.broadcast);
  c->refresh_id = 0; /* a refresh still in flight was for the old tokens */
  release_lock(c);
  c->initial_refresh = false;
  set_state(c, AG_STATE_AUTHENTICATED);
  settle_waiting(c, now);
  return AG_OK;
}

/* Moves one waiting app call on: sent, rejected, or left waiting for a refresh. */
static void settle_call(ag_client *c, call *k, ag_ms now) {
  if (!has_access(c)) {
    if (c->logins_pending) return; /* a login is under way: its outcome decides */
    reject_call(c, k, AG_CODE_NO_TOKEN, NULL);
  } else if (ag_token_usable(c, now)) {
    k->replay = k->replay || k->awaiting_replay;
    send_call(c, k, now);
  } else if (!can_refresh(c)) {
    reject_call(c, k, AG_CODE_SESSION_EXPIRED,
                "the access token expired and there is no way to refresh it");
  } else if (!c->refresh_id && !c->lock_wanted && !c->lock_held &&
             (c->retry_at > 0 || c->refused_until > 0)) {
    /* A refresh is backing off, or refused and waiting for another tab: the call waits. */
  } else {
    begin_refresh(c, now);
  }
}

static void settle_waiting(ag_client *c, ag_ms now) {
  if (c->state == AG_STATE_INITIALIZING) return;
  call *k = c->wait_head;
  while (k) {
    call *next = k->wnext;
    if (k->kind == AG_SEND_CALL) settle_call(c, k, now);
    k = next;
  }
}

/* ---- entry points ---- */

int ag_client_new(ag_client **out, const char *options_json, size_t options_len,
                  const char *page_origin, size_t page_origin_len, char *err, size_t err_cap) {
  if (!out) return AG_ERR_INVALID;
  *out = NULL;
  ag_client *c = ag_calloc(1, sizeof *c);
  if (!c) return AG_ERR_NOMEM;
  int rc = ag_config_parse(&c->cfg, options_json, options_len, page_origin, page_origin_len, err,
                           err_cap);
  if (rc != AG_OK) {
    ag_free(c);
    return rc;
  }
  c->state = AG_STATE_INITIALIZING;
  *out = c;
  return AG_OK;
}

void ag_client_free(ag_client *c) {
  if (!c) return;
  ag_calls_free_all(c);
  ag_actions_free_all(c);
  forget_tokens(c);
  ag_free(c->scratch);
  ag_config_free(&c->cfg);
  ag_free(c);
}

void ag_client_settings(const ag_client *c, ag_settings *out) {
  memset(out, 0, sizeof *out);
  if (!c) return;
  out->storage = c->cfg.storage;
  out->cross_tab = c->cfg.cross_tab;
  out->storage_key = c->cfg.storage_key;
  out->base_url = c->cfg.base_url;
}

int ag_finish(ag_client *c, int rc) {
  if (c->oom) {
    c->oom = false;
    return AG_ERR_NOMEM;
  }
  return rc;
}

/* The stored blob at start; AG_ERR_NOMEM with nothing changed. */
static int start_from_blob(ag_client *c, ag_ms now, const char *blob, size_t blob_len) {
  if (c->gen > 0) {
    /* login, setTokens or logout came before start: only a newer blob counts */
    int rc = ag_tabs_take_blob(c, now, blob, blob_len);
    if (rc == AG_ERR_NOMEM) return rc;
    if (rc == AG_ERR_BAD_BLOB) ag_emit(c, AG_ACTION_CLEAR_STORAGE);
    return AG_OK;
  }
  ag_tokens t = {0};
  uint64_t gen;
  bool logout;
  char *bearer = NULL;
  int rc = ag_blob_read(blob, blob_len, &t, &gen, &logout);
  if (rc == AG_OK && make_bearer(&t, &bearer) != AG_OK) {
    ag_tokens_clear(&t);
    return AG_ERR_NOMEM;
  }
  if (rc == AG_ERR_NOMEM) return rc; /* not malformed: the blob stays in storage */
  if (rc != AG_OK) {
    ag_emit(c, AG_ACTION_CLEAR_STORAGE);
    return AG_OK;
  }
  c->gen = gen;
  c->tok = t; /* no tokens in a logout blob */
  c->bearer = bearer;
  c->obtained_at = now;
  return AG_OK;
}

int ag_client_start(ag_client *c, ag_ms now, const char *blob, size_t blob_len) {
  if (!c || c->started) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  if (blob && blob_len && start_from_blob(c, now, blob, blob_len) != AG_OK) return AG_ERR_NOMEM;
  c->started = true;
  if (ag_token_usable(c, now)) {
    set_state(c, AG_STATE_AUTHENTICATED);
    if (!token_fresh(c, now) && can_refresh(c)) begin_refresh(c, now);
  } else if (can_refresh(c)) {
    /* Expired (or cookie) session: find out before any waiting call leaves. */
    c->initial_refresh = true;
    c->initial_had_session = has_access(c) || c->tok.refresh;
    begin_refresh(c, now);
  } else {
    if (has_access(c)) forget_tokens(c), ag_emit(c, AG_ACTION_CLEAR_STORAGE);
    set_state(c, AG_STATE_ANONYMOUS);
    ag_tabs_ask(c);
  }
  settle_waiting(c, now);
  return ag_finish(c, AG_OK);
}

static int parse_call_url(ag_client *c, const char *url, size_t len, ag_url *u) {
  if (!url || len > AG_MAX_URL) return AG_ERR_TOO_LARGE;
  return ag_url_resolve(u, &c->cfg.base, url, len);
}

/* The call record, whole, before anything changes: AG_OK, AG_ERR_NOMEM, or the URL's fault. */
static int make_call(ag_client *c, call *k, const char *method, size_t method_len, const char *url,
                     size_t url_len, int credentials) {
  k->method = ag_strndup(method ? method : "GET", method ? method_len : 3);
  if (!k->method) return AG_ERR_NOMEM;
  ag_url u;
  int rc = parse_call_url(c, url, url_len, &u);
  if (rc != AG_OK) return rc;
  k->url = ag_url_serialize(&u);
  k->route = ag_config_route(&c->cfg, &u);
  k->credentials = ag_config_credentials(&c->cfg, &u, credentials);
  ag_url_free(&u);
  return k->url ? AG_OK : AG_ERR_NOMEM;
}

/* True when the caller's own Authorization value carries the gate's access token. */
static bool carries_gate_token(const ag_client *c, const char *auth, size_t len) {
  if (!auth || !has_access(c)) return false;
  size_t n = strlen(c->tok.access);
  for (size_t i = 0; n && i + n <= len; i++)
    if (!memcmp(auth + i, c->tok.access, n)) return true;
  return false;
}

int ag_client_call(ag_client *c, ag_ms now, const char *method, size_t method_len, const char *url,
                   size_t url_len, const char *authorization, size_t authorization_len,
                   int credentials, uint32_t *id_out) {
  if (!c || !id_out || credentials < AG_CRED_UNSET || credentials > AG_CRED_INCLUDE)
    return AG_ERR_INVALID;
  call *k = AG_RESERVE(c) == AG_OK ? ag_call_make(c, AG_SEND_CALL) : NULL;
  if (!k) return AG_ERR_NOMEM;
  int rc = make_call(c, k, method, method_len, url, url_len, credentials);
  if (rc == AG_ERR_NOMEM) return ag_call_free(c, k), AG_ERR_NOMEM; /* no call was made */
  ag_call_add(c, k);
  *id_out = k->id;
  if (rc != AG_OK) {
    reject_call(c, k, AG_CODE_BAD_CONFIG,
                rc == AG_ERR_TOO_LARGE ? "the URL is too long"
                                       : "the URL is not a valid http(s) URL");
    return ag_finish(c, AG_OK);
  }
  k->own_auth = authorization != NULL;

  if (k->route == AG_ROUTE_FOREIGN && carries_gate_token(c, authorization, authorization_len)) {
    reject_call(c, k, AG_CODE_FOREIGN_ORIGIN, NULL);
  } else if (k->route != AG_ROUTE_PROTECTED || k->own_auth) {
    send_call(c, k, now);
  } else if (c->state == AG_STATE_INITIALIZING || (!has_access(c) && c->logins_pending)) {
    ag_call_wait(c, k, WAIT_READY, now); /* the auth state is not known yet, or about to change */
  } else if (!has_access(c)) {
    reject_call(c, k, AG_CODE_NO_TOKEN, NULL);
  } else if (token_fresh(c, now)) {
    send_call(c, k, now);
  } else if (ag_token_usable(c, now)) {
    send_call(c, k, now); /* still valid: go now, and renew in the background */
    if (can_refresh(c) && c->retry_at <= 0) begin_refresh(c, now);
  } else {
    ag_call_wait(c, k, WAIT_REFRESH, now);
    settle_call(c, k, now); /* this call only: a storm of n calls stays O(n) */
  }
  return ag_finish(c, AG_OK);
}

static int on_auth_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                            size_t len);

int ag_client_response(ag_client *c, ag_ms now, uint32_t id, int status, const char *body,
                       size_t body_len) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || !k->in_flight) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  k->in_flight = false;
  if (k->kind != AG_SEND_CALL)
    return ag_finish(c, on_auth_response(c, k, now, status, body, body_len));
  bool gate_token = k->route == AG_ROUTE_PROTECTED && !k->own_auth;
  if (status != 401 || !gate_token || k->replay) {
    ag_call_free(c, k);
    ag_action_push(c, AG_ACTION_RESOLVE, id, 0, NULL);
    return ag_finish(c, AG_OK);
  }
  /* 401 on the gate's token: one refresh, one replay, never a loop. */
  k->awaiting_replay = true;
  if (k->sent_gen != c->gen && ag_token_usable(c, now)) {
    k->replay = true; /* the token was renewed meanwhile: replay with it */
    send_call(c, k, now);
  } else if (!can_refresh(c)) {
    end_session(c, AG_CODE_SESSION_EXPIRED,
                "the server refused the access token and there is no refresh token");
    reject_call(c, k, AG_CODE_SESSION_EXPIRED,
                "the server refused the access token and there is no refresh token");
  } else {
    c->access_dead = true;
    ag_call_wait(c, k, WAIT_REFRESH, now);
    begin_refresh(c, now);
  }
  return ag_finish(c, AG_OK);
}

/*
 * New tokens from the refresh endpoint. Out of memory reading or adopting
 * them: as if the answer had been lost on the way (a network failure after
 * the server answered), so back off and retry; the old tokens stay.
 */
static int refresh_succeeded(ag_client *c, ag_ms now, const char *body, size_t len) {
  ag_tokens t = {0};
  int rc = ag_tokens_parse_response(&t, &c->cfg.fields, now, body, len);
  bool kept = false;
  if (rc == AG_OK && !t.refresh &&
      c->tok.refresh) { /* servers that do not rotate keep the old one */
    t.refresh = c->tok.refresh;
    kept = true;
  }
  if (rc == AG_OK) {
    if (kept) c->tok.refresh = NULL; /* moved; given back below if adopting fails */
    rc = ag_adopt_tokens(c, &t, next_gen(c, now), now, true);
    if (rc == AG_OK) return AG_OK;
    if (kept) c->tok.refresh = t.refresh, t.refresh = NULL;
    ag_tokens_clear(&t);
  }
  if (rc == AG_ERR_NOMEM) c->refresh_oom = true;
  else c->bad_refresh_body = true;
  refresh_failed(c, now);
  return rc == AG_ERR_NOMEM ? rc : AG_OK;
}

static int on_refresh_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                               size_t len) {
  bool current = k->id == c->refresh_id;
  ag_call_free(c, k);
  if (!current) return AG_OK; /* superseded: logout, new login, or another tab's tokens */
  c->refresh_id = 0;
  if (status >= 200 && status < 300) return refresh_succeeded(c, now, body, len);
  if (status == 400 || status == 401 || status == 403) {
    bool session = !c->initial_refresh || c->initial_had_session;
    c->initial_refresh = false;
    if (session && c->cfg.cross_tab && c->cfg.storage != AG_STORAGE_LOCAL) {
      /*
       * Tabs share rotating refresh tokens by message, not by storage: another
       * tab may have just rotated this one, its new tokens still on the way.
       * Wait a moment for them before calling the session over.
       */
      c->refused_until = now + AG_REFUSAL_GRACE_MS;
      c->refused_code = AG_CODE_SESSION_EXPIRED;
      release_lock(c);
      return AG_OK;
    }
    end_session(c, session ? AG_CODE_SESSION_EXPIRED : AG_CODE_NO_TOKEN,
                session ? "the refresh token was refused" : NULL);
    return AG_OK;
  }
  c->last_refresh_status = status;
  refresh_failed(c, now);
  return AG_OK;
}

/* A login that did not give tokens: rejected, and the calls that waited for it move on. */
static int login_failed(ag_client *c, call *k, ag_ms now, int code, const char *why) {
  reject_call(c, k, code, why);
  settle_waiting(c, now);
  return code == AG_CODE_OUT_OF_MEMORY ? AG_ERR_NOMEM : AG_OK;
}

static int on_login_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                             size_t len) {
  uint32_t id = k->id;
  if (status < 200 || status >= 300) {
    k->status = status;
    return login_failed(c, k, now, AG_CODE_LOGIN_FAILED, NULL);
  }
  ag_tokens t = {0};
  int rc = ag_tokens_parse_response(&t, &c->cfg.fields, now, body, len);
  if (rc == AG_OK && (rc = ag_adopt_tokens(c, &t, next_gen(c, now), now, true)) != AG_OK)
    ag_tokens_clear(&t);
  if (rc == AG_ERR_NOMEM)
    return login_failed(c, k, now, AG_CODE_OUT_OF_MEMORY,
                        "the server accepted the login, but the gate ran out of memory taking "
                        "its tokens; nothing was kept. Log in again");
  if (rc != AG_OK) return login_failed(c, k, now, AG_CODE_BAD_TOKEN_RESPONSE, NULL);
  ag_call_free(c, k);
  ag_action_push(c, AG_ACTION_RESOLVE, id, 0, NULL);
  return AG_OK;
}

static int on_auth_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                            size_t len) {
  if (k->kind == AG_SEND_REFRESH) return on_refresh_response(c, k, now, status, body, len);
  return on_login_response(c, k, now, status, body, len);
}

int ag_client_network_error(ag_client *c, ag_ms now, uint32_t id) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || !k->in_flight) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  k->in_flight = false;
  if (k->kind == AG_SEND_REFRESH) {
    bool current = k->id == c->refresh_id;
    ag_call_free(c, k);
    c->last_refresh_status = 0;
    if (current) refresh_failed(c, now);
  } else {
    reject_call(c, k, AG_CODE_CORS_OR_NETWORK, NULL);
    settle_waiting(c, now); /* a failed login: calls that waited for it */
  }
  return ag_finish(c, AG_OK);
}

int ag_client_cancel(ag_client *c, ag_ms now, uint32_t id) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || k->kind == AG_SEND_REFRESH) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  ag_call_free(c, k);
  settle_waiting(c, now); /* a cancelled login: calls that waited for it */
  return ag_finish(c, AG_OK);
}

int ag_client_login(ag_client *c, ag_ms now, const char *credentials_json, size_t len,
                    uint32_t *id_out) {
  if (!c || !id_out) return AG_ERR_INVALID;
  call *k = AG_RESERVE(c) == AG_OK ? ag_call_make(c, AG_SEND_LOGIN) : NULL;
  if (!k) return AG_ERR_NOMEM;
  if (!c->cfg.login_url) {
    ag_call_add(c, k);
    *id_out = k->id;
    reject_call(c, k, AG_CODE_BAD_CONFIG, "no login endpoint is configured (options.login.url)");
    return ag_finish(c, AG_OK);
  }
  k->method = ag_strndup("POST", 4);
  k->url = ag_strndup(c->cfg.login_url, strlen(c->cfg.login_url));
  if (!k->method || !k->url) return ag_call_free(c, k), AG_ERR_NOMEM;
  k->credentials = ag_own_request_credentials(c, k->url);
  int rc = ag_build_login_body(c, k, credentials_json, len);
  if (rc == AG_ERR_NOMEM) return ag_call_free(c, k), AG_ERR_NOMEM; /* no login was made */
  ag_call_add(c, k);
  *id_out = k->id;
  if (rc != AG_OK) {
    reject_call(c, k, AG_CODE_BAD_CONFIG, "login credentials must be a JSON object of strings");
    return ag_finish(c, AG_OK);
  }
  send_call(c, k, now);
  return ag_finish(c, AG_OK);
}

int ag_client_set_tokens(ag_client *c, ag_ms now, const char *json, size_t len) {
  if (!c) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  ag_tokens t = {0};
  int rc = ag_tokens_parse_set(&t, now, json, len);
  if (rc != AG_OK) return rc;
  rc = ag_adopt_tokens(c, &t, next_gen(c, now), now, true);
  ag_tokens_clear(&t); /* left to us only when adopting failed (nothing changed) */
  return ag_finish(c, rc);
}

/* Signed out, here or in another tab: no tokens, no refresh, anonymous, waiting calls told. */
void ag_sign_out(ag_client *c, uint64_t gen, const char *why) {
  forget_tokens(c);
  c->gen = gen;
  c->refresh_id = 0; /* a refresh still in flight was for the old tokens */
  c->initial_refresh = false;
  release_lock(c);
  set_state(c, AG_STATE_ANONYMOUS);
  reject_waiting(c, AG_CODE_NO_TOKEN, why);
}

int ag_client_logout(ag_client *c, ag_ms now) {
  if (!c) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  uint64_t gen = next_gen(c, now);
  char *msg = NULL;
  if (c->cfg.cross_tab && !(msg = ag_blob_write(NULL, gen))) return AG_ERR_NOMEM;
  ag_emit(c, AG_ACTION_CLEAR_STORAGE);
  if (msg) ag_action_push(c, AG_ACTION_BROADCAST, 0, 0, msg);
  ag_sign_out(c, gen, "logged out");
  return ag_finish(c, AG_OK);
}

int ag_client_lock_granted(ag_client *c, ag_ms now, const char *blob, size_t len) {
  if (!c) return AG_ERR_INVALID;
  /* Nothing changed on NOMEM here, the grant unused: drain, then report the grant again. */
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  if (!c->lock_wanted) { /* nothing wants it any more: hand it straight back */
    ag_emit(c, AG_ACTION_UNLOCK);
    return ag_finish(c, AG_OK);
  }
  c->lock_wanted = false;
  c->lock_held = true;
  if (blob && len && ag_tabs_take_blob(c, now, blob, len) == AG_ERR_NOMEM) {
    /* Another tab may have rotated the refresh token: never refresh without knowing. */
    refresh_not_sent(c, now);
    return ag_finish(c, AG_ERR_NOMEM);
  }
  if (!c->lock_held) return ag_finish(c, AG_OK); /* adopted: lock released, calls sent */
  if (!c->need_refresh || (!has_access(c) && !c->initial_refresh)) {
    release_lock(c);
    return ag_finish(c, AG_OK);
  }
  return ag_finish(c, send_refresh(c, now));
}

/* No refresh under way, backing off or waiting on another tab: expiry timers apply. */
static bool refresh_idle(const ag_client *c) {
  return !c->refresh_id && !c->lock_wanted && !c->lock_held && c->retry_at <= 0 &&
         c->refused_until <= 0;
}

int ag_client_tick(ag_client *c, ag_ms now) {
  if (!c) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  while (c->wait_head && c->wait_head->deadline <= now) {
    call *k = c->wait_head;
    bool ready = k->waiting == WAIT_READY; /* start-up, or a login, still undecided */
    reject_call(c, k, ready ? AG_CODE_READY_TIMEOUT : AG_CODE_REFRESH_FAILED, NULL);
  }
  /*
   * A slow refresh is not abandoned: the calls waiting on it fail at their own
   * deadlines, but the refresh stays in flight until the embedder reports its
   * answer or a network error. A second refresh with the same refresh token (or
   * cookie) while the first may still succeed on the server would be refused as
   * token reuse by servers that rotate refresh tokens, and end the session.
   */
  if (c->retry_at > 0 && now >= c->retry_at) {
    c->retry_at = 0;
    if (c->need_refresh || !token_fresh(c, now)) begin_refresh(c, now);
  }
  if (c->refused_until > 0 && now >= c->refused_until)
    end_session(c, c->refused_code, "the refresh token was refused");
  if (c->started && has_access(c) && c->tok.expires_at > 0 && refresh_idle(c)) {
    if (can_refresh(c) && now >= refresh_due(c)) begin_refresh(c, now);
    else if (!can_refresh(c) && now >= c->tok.expires_at)
      end_session(c, AG_CODE_SESSION_EXPIRED,
                  "the access token expired and there is no refresh token");
  }
  return ag_finish(c, AG_OK);
}

static void take_min(ag_ms *best, ag_ms t) {
  if (t > 0 && (*best < 0 || t < *best)) *best = t;
}

ag_ms ag_client_next_deadline(const ag_client *c) {
  ag_ms best = -1;
  if (!c) return best;
  if (c->wait_head) take_min(&best, c->wait_head->deadline);
  take_min(&best, c->retry_at);
  take_min(&best, c->refused_until);
  if (c->started && has_access(c) && c->tok.expires_at > 0 && refresh_idle(c))
    take_min(&best, can_refresh(c) ? refresh_due(c) : c->tok.expires_at);
  return best;
}

int ag_client_state(const ag_client *c) { return c ? c->state : AG_STATE_INITIALIZING; }

int ag_client_ready_state(const ag_client *c) {
  if (!c || c->state == AG_STATE_INITIALIZING) return AG_STATE_INITIALIZING;
  return c->state == AG_STATE_ANONYMOUS ? AG_STATE_ANONYMOUS : AG_STATE_AUTHENTICATED;
}
