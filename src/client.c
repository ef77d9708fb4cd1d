/*
 * client.c — the state machine. Every call's life is here: sent at once,
 * held until the auth state is known, held behind the one refresh in
 * flight, replayed once after a 401, or rejected with a reason. Events come
 * in through the ag_client_* entry points; what the embedder must do leaves
 * as actions, drained with ag_client_next_action.
 */
#include "client.h"
#include "json.h"

#include <stddef.h>
#include <string.h>

static void set_state(ag_client *c, int state) {
  if (c->state == state) return;
  c->state = state;
  ag_action_push(c, AG_ACTION_STATE, 0, state, NULL);
}

/* ---- tokens ---- */

static bool has_access(const ag_client *c) { return c->tok.access != NULL; }

/* Whether tokens `t` could be refreshed (a refresh token, or the cookie). */
static bool can_refresh_with(const ag_client *c, const ag_tokens *t) {
  if (c->cfg.oidc) return t->refresh != NULL; /* the refresh_token grant */
  if (!c->cfg.refresh_url) return false;
  return c->cfg.refresh_send == AG_REFRESH_COOKIE || t->refresh != NULL;
}

static bool can_refresh(const ag_client *c) { return can_refresh_with(c, &c->tok); }

/*
 * When to refresh: expiry minus the skew, but never more than half the
 * token's lifetime early, or a 20 s token with a 30 s skew would refresh
 * in a loop.
 */
static ag_ms due_of(const ag_client *c, const ag_tokens *t, ag_ms obtained_at) {
  if (t->expires_at <= 0) return 0;
  ag_ms life = t->expires_at - obtained_at;
  ag_ms skew = c->cfg.refresh_skew_ms;
  if (skew > life / 2) skew = life > 0 ? life / 2 : 0;
  return t->expires_at - skew;
}

static ag_ms refresh_due(const ag_client *c) { return due_of(c, &c->tok, c->obtained_at); }

bool ag_token_usable(const ag_client *c, ag_ms now) {
  return has_access(c) && !c->access_dead && (c->tok.expires_at <= 0 || now < c->tok.expires_at);
}

static bool token_fresh(const ag_client *c, ag_ms now) {
  return ag_token_usable(c, now) && (c->tok.expires_at <= 0 || now < refresh_due(c));
}

/* "Bearer <access>" (DPoP: "DPoP <access>") into *out (NULL when there is no access token). */
static int make_bearer(const ag_tokens *t, bool dpop, char **out) {
  *out = NULL;
  if (!t->access) return AG_OK;
  ag_buf b = {0};
  ag_buf_puts(&b, dpop ? "DPoP " : "Bearer "); /* RFC 9449 section 7.1 */
  ag_buf_puts(&b, t->access);
  *out = ag_buf_take(&b);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

static uint64_t next_gen(const ag_client *c, ag_ms now) {
  /* Wall time as a floor keeps generations ordered across tabs that start fresh. */
  uint64_t t = now > 0 ? (uint64_t)now : 0;
  return c->gen + 1 > t ? c->gen + 1 : t;
}

/* When tokens `t` obtained at `obtained_at` would be refreshed proactively, 0: never. */
static ag_ms refresh_at_of(const ag_client *c, const ag_tokens *t, ag_ms obtained_at) {
  return t->access && can_refresh_with(c, t) ? due_of(c, t, obtained_at) : 0;
}

ag_ms ag_refresh_at(const ag_client *c) { return refresh_at_of(c, &c->tok, c->obtained_at); }

/* The session JSON that tokens `t` adopted at `now` show (NULL without an access token). */
static int prepare_session(const ag_client *c, const ag_tokens *t, const char *scope,
                           const char *claims, ag_ms now, char **out) {
  *out = NULL;
  if (!t->access) return AG_OK;
  *out = ag_session_json_of(c, t, scope, claims, refresh_at_of(c, t, now));
  return *out ? AG_OK : AG_ERR_NOMEM;
}

static void forget_tokens(ag_client *c) {
  ag_tokens_clear(&c->tok);
  ag_session_forget(c);
  ag_free_secret(c->bearer);
  c->bearer = NULL;
  c->access_dead = false;
  c->need_refresh = false;
  c->refresh_failures = 0;
  c->retry_at = 0;
  c->refused_until = 0;
  c->late_tokens_until = 0;
}

/* ---- sending ---- */

/*
 * getAccessToken() is answered with the token instead of being sent. Without
 * memory for the copy it is rejected OUT_OF_MEMORY (a static text): told, not
 * left hanging, and never answered with anything but the token.
 */
static void hand_token(ag_client *c, call *k) {
  uint32_t id = k->id;
  char *token = ag_strndup(c->tok.access, strlen(c->tok.access));
  ag_call_free(c, k);
  if (token) ag_action_push(c, AG_ACTION_RESOLVE, id, 0, token);
  else
    ag_action_push_static(c, AG_ACTION_REJECT, id, AG_CODE_OUT_OF_MEMORY,
                          "getAccessToken: the gate ran out of memory copying the access token; "
                          "nothing changed. Retry it");
}

void ag_send_now(ag_client *c, call *k, ag_ms now) {
  k->in_flight = true;
  /* Each attempt gets its own deadline, the replay and the retries too. */
  if (k->timeout_ms > 0) ag_timer_arm(c, k, TIMER_ATTEMPT, now + k->timeout_ms);
  else ag_timer_disarm(c, k);
  ag_action_push(c, AG_ACTION_SEND, k->id, k->kind, NULL);
}

/* The bound on the core's own login and refresh requests. */
static ag_ms own_request_timeout(const ag_client *c) {
  return c->cfg.timeout_ms > 0 ? c->cfg.timeout_ms : AG_OWN_REQUEST_TIMEOUT_MS;
}

static void send_call(ag_client *c, call *k, ag_ms now) {
  ag_call_unwait(c, k);
  if (k->token_only) { /* getDpopProof: its proof for the token is signed, then resolved */
    if (!ag_dpop_sign_first(c, k, now)) hand_token(c, k);
    return;
  }
  k->sent_gen = c->gen;
  if (ag_dpop_sign_first(c, k, now)) return; /* SEND once the proof is signed */
  ag_send_now(c, k, now);
}

void ag_reject_call(ag_client *c, call *k, int code, const char *why) {
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
  while (c->wait_head) ag_reject_call(c, c->wait_head, code, why);
}

/* ---- refresh ---- */

static void release_lock(ag_client *c) {
  if (c->lock_held) ag_emit(c, AG_ACTION_UNLOCK);
  c->lock_held = false;
}

/*
 * Releases the lock after sharing tokens of generation `gen`, and says so:
 * the embedder makes the generation visible to the next holder through the
 * lock manager itself (see ag_client_lock_granted), before the release.
 */
static void release_lock_sharing(ag_client *c, uint64_t gen) {
  if (!c->lock_held) return;
  c->shared_gen[ag_format_uint(c->shared_gen, gen)] = '\0';
  ag_action_push_static(c, AG_ACTION_UNLOCK, 0, 0, c->shared_gen);
  c->lock_held = false;
}

/* No refresh of ours is under way any more (answered, superseded or dropped). */
static void refresh_over(ag_client *c) {
  c->refresh_id = 0;
  c->refresh_stalled = false;
}

/*
 * The refresh request, built whole before anything changes; NULL on ENOMEM,
 * or with *not_yet when the provider's token endpoint is not known yet.
 */
static call *make_refresh(ag_client *c, bool *not_yet) {
  *not_yet = false;
  call *k = ag_call_make(c, AG_SEND_REFRESH);
  if (!k) return NULL;
  k->method = ag_method_name("POST", 4);
  int rc = c->cfg.oidc ? ag_oidc_refresh_request(c, k) : AG_OK;
  if (rc == AG_ERR_STALE) { /* the token endpoint is not known yet: after discovery */
    ag_call_free(c, k);
    *not_yet = true;
    return NULL;
  }
  if (!c->cfg.oidc) {
    k->url = ag_strndup(c->cfg.refresh_url, strlen(c->cfg.refresh_url));
    rc = k->url && ag_build_refresh_body(c, k) == AG_OK ? AG_OK : AG_ERR_NOMEM;
    if (k->url) k->credentials = (int8_t)ag_own_request_credentials(c, k->url);
  }
  if (!k->method || rc != AG_OK) {
    ag_call_free(c, k);
    return NULL;
  }
  k->timeout_ms = own_request_timeout(c);
  return k;
}

/*
 * Back-off after a refresh that failed or could not even be sent: the lock
 * goes back, the user stays logged in, a retry is scheduled.
 */
static void back_off(ag_client *c, ag_ms now) {
  refresh_over(c);
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
  bool not_yet;
  call *k = make_refresh(c, &not_yet);
  if (not_yet) {
    ag_oidc_refresh_wait(c, now);
    return AG_OK;
  }
  if (!k) {
    refresh_not_sent(c, now);
    return AG_ERR_NOMEM;
  }
  ag_call_add(c, k);
  c->refresh_id = k->id;
  c->refresh_stalled = false;
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
  if (c->refresh_id || c->lock_wanted || c->lock_held || c->refused_until > 0 ||
      c->late_tokens_until > 0)
    return;
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
  refresh_over(c);
  release_lock(c);
  if (had) ag_emit(c, AG_ACTION_CLEAR_STORAGE);
  set_state(c, AG_STATE_ANONYMOUS);
  ag_session_emit(c, NULL);
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
  char *session;   /* the SESSION action's JSON */
  char *persist;   /* the blob to store, or NULL */
  char *broadcast; /* the blob for the other tabs, or NULL */
} adoption;

static void adoption_free(adoption *a) {
  ag_free_secret(a->bearer);
  ag_free(a->session);
  ag_free_secret(a->persist);
  ag_free_secret(a->broadcast);
}

static int prepare_adoption(const ag_client *c, const ag_tokens *t, const char *scope,
                            const char *claims, uint64_t gen, ag_ms now, bool share, adoption *a) {
  memset(a, 0, sizeof *a);
  bool persist = share && c->cfg.storage != AG_STORAGE_MEMORY;
  bool broadcast = share && c->cfg.cross_tab;
  int rc = make_bearer(t, c->cfg.dpop, &a->bearer);
  if (rc == AG_OK) rc = prepare_session(c, t, scope, claims, now, &a->session);
  if (rc == AG_OK && persist && !(a->persist = ag_blob_write(t, gen))) rc = AG_ERR_NOMEM;
  if (rc == AG_OK && broadcast && !(a->broadcast = ag_blob_write(t, gen))) rc = AG_ERR_NOMEM;
  if (rc != AG_OK) adoption_free(a);
  return rc;
}

int ag_adopt_session(ag_client *c, ag_tokens *t, char *scope, char *claims, uint64_t gen, ag_ms now,
                     bool share) {
  adoption a;
  if (prepare_adoption(c, t, scope, claims, gen, now, share, &a) != AG_OK) return AG_ERR_NOMEM;
  forget_tokens(c);
  c->tok = *t;
  c->scope = scope;
  c->claims = claims;
  memset(t, 0, sizeof *t);
  c->bearer = a.bearer;
  c->gen = gen;
  c->obtained_at = now;
  if (a.persist) ag_action_push(c, AG_ACTION_PERSIST, 0, 0, a.persist);
  if (a.broadcast) ag_action_push(c, AG_ACTION_BROADCAST, 0, 0, a.broadcast);
  refresh_over(c); /* a refresh still in flight was for the old tokens */
  if (a.persist || a.broadcast) release_lock_sharing(c, gen);
  else release_lock(c);
  c->late_tokens_until = 0;
  c->initial_refresh = false;
  set_state(c, AG_STATE_AUTHENTICATED);
  ag_session_emit(c, a.session);
  settle_waiting(c, now);
  return AG_OK;
}

/* New tokens from login, refresh, setTokens, another tab or storage. */
int ag_adopt_tokens(ag_client *c, ag_tokens *t, uint64_t gen, ag_ms now, bool share) {
  return ag_adopt_session(c, t, NULL, NULL, gen, now, share);
}

/* Moves one waiting app call on: sent, rejected, or left waiting for a refresh. */
static void settle_call(ag_client *c, call *k, ag_ms now) {
  if (!has_access(c)) {
    if (c->logins_pending) return; /* a login is under way: its outcome decides */
    ag_reject_call(c, k, AG_CODE_NO_TOKEN, NULL);
  } else if (k->token_only && !token_fresh(c, now) && !c->refresh_stalled &&
             (c->refresh_id || c->lock_wanted || c->lock_held)) {
    /* getAccessToken() with a due token: the refresh under way answers it */
  } else if (ag_token_usable(c, now)) {
    k->replay = k->replay || k->awaiting_replay;
    send_call(c, k, now);
  } else if (!can_refresh(c)) {
    ag_reject_call(c, k, AG_CODE_SESSION_EXPIRED,
                   "the access token expired and there is no way to refresh it");
  } else if (!c->refresh_id && !c->lock_wanted && !c->lock_held &&
             (c->retry_at > 0 || c->refused_until > 0)) {
    /* A refresh is backing off, or refused and waiting for another tab: the call waits. */
  } else if (c->refresh_stalled) {
    ag_reject_call(c, k, AG_CODE_REFRESH_FAILED, NULL); /* no answer in time, and no second one */
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
  if (ag_oidc_flow_new(c) != AG_OK || ag_dpop_flow_new(c) != AG_OK) {
    ag_oidc_flow_free(c);
    ag_config_free(&c->cfg);
    ag_free(c);
    return AG_ERR_NOMEM;
  }
  c->state = AG_STATE_INITIALIZING;
  *out = c;
  return AG_OK;
}

void ag_client_free(ag_client *c) {
  if (!c) return;
  ag_oidc_flow_free(c);
  ag_calls_free_all(c);
  ag_dpop_flow_free(c);
  ag_actions_free_all(c);
  forget_tokens(c);
  ag_free(c->scratch);
  ag_config_free(&c->cfg);
  ag_free(c);
}

/* The wasm ABI: js/core.js reads ag_settings as AG_SETTINGS_FIELDS words, in this order. */
#if UINTPTR_MAX == 0xFFFFFFFFu
_Static_assert(sizeof(ag_settings) == 4 * AG_SETTINGS_FIELDS,
               "ag_settings is AG_SETTINGS_FIELDS words");
_Static_assert(offsetof(ag_settings, storage) == 0 && offsetof(ag_settings, cross_tab) == 4 &&
                   offsetof(ag_settings, storage_key) == 8 && offsetof(ag_settings, dpop) == 12,
               "ag_settings moved");
#endif

void ag_client_settings(const ag_client *c, ag_settings *out) {
  memset(out, 0, sizeof *out);
  if (!c) return;
  out->storage = c->cfg.storage;
  out->cross_tab = c->cfg.cross_tab;
  out->storage_key = c->cfg.storage_key;
  out->dpop = c->cfg.dpop;
}

int ag_finish(ag_client *c, int rc) {
  if (c->oom) {
    c->oom = false;
    return AG_ERR_NOMEM;
  }
  return rc;
}

/*
 * The stored blob at start; AG_ERR_NOMEM with nothing changed. *session: the
 * SESSION JSON of the blob's tokens when they are usable now, else NULL.
 */
static int start_from_blob(ag_client *c, ag_ms now, const char *blob, size_t blob_len,
                           char **session) {
  *session = NULL;
  if (c->gen > 0) {
    /* login, setTokens or logout came before start: only a newer blob counts (and tells) */
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
  if (rc == AG_ERR_NOMEM) return rc; /* not malformed: the blob stays in storage */
  if (rc != AG_OK) {
    ag_emit(c, AG_ACTION_CLEAR_STORAGE);
    return AG_OK;
  }
  bool usable = t.access && (t.expires_at <= 0 || now < t.expires_at);
  if (make_bearer(&t, c->cfg.dpop, &bearer) != AG_OK ||
      (usable && prepare_session(c, &t, NULL, NULL, now, session) != AG_OK)) {
    ag_free_secret(bearer);
    ag_tokens_clear(&t);
    return AG_ERR_NOMEM;
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
  char *session = NULL;
  if (blob && blob_len && start_from_blob(c, now, blob, blob_len, &session) != AG_OK)
    return AG_ERR_NOMEM;
  c->started = true;
  ag_oidc_start(c, now); /* discovery in the background: a stored session does not wait for it */
  if (ag_token_usable(c, now)) {
    set_state(c, AG_STATE_AUTHENTICATED);
    if (session) ag_session_emit(c, session); /* tokens from storage: the first news of them */
    session = NULL;
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
  ag_free(session); /* not usable after all: nothing to announce */
  settle_waiting(c, now);
  return ag_finish(c, AG_OK);
}

/* The caller's raw input against baseUrl (its path a prefix); *why says what is wrong with it. */
int ag_call_target(ag_client *c, call *k, const char *method, size_t method_len, const char *url,
                   size_t url_len, ag_url *u, const char **why) {
  k->method = ag_method_name(method ? method : "GET", method ? method_len : 3);
  if (!k->method) return AG_ERR_NOMEM;
  *why = "the URL is missing";
  int rc = url ? ag_config_resolve(&c->cfg, url, url_len, u, why) : AG_ERR_BAD_URL;
  if (rc == AG_ERR_NOMEM) return rc;
  if (rc != AG_OK) {
    k->url = ag_strndup(url ? url : "", url ? (url_len < 200 ? url_len : 200) : 0);
    return k->url ? rc : AG_ERR_NOMEM;
  }
  k->url = ag_url_serialize(u);
  if (!k->url) ag_url_free(u);
  return k->url ? AG_OK : AG_ERR_NOMEM;
}

/*
 * The call record, whole, before anything changes: AG_OK, AG_ERR_NOMEM, or
 * the URL's fault (*why says what; k->url then holds the input as given,
 * bounded, for the message).
 */
static int make_call(ag_client *c, call *k, const char *method, size_t method_len, const char *url,
                     size_t url_len, int credentials, const char **why) {
  k->timeout_ms = c->cfg.timeout_ms;
  k->retry = &c->cfg.retry;
  ag_url u;
  int rc = ag_call_target(c, k, method, method_len, url, url_len, &u, why);
  if (rc != AG_OK) return rc;
  k->route = (uint8_t)ag_config_route(&c->cfg, &u);
  k->credentials = (int8_t)ag_config_credentials(&c->cfg, &u, credentials);
  ag_url_free(&u);
  return AG_OK;
}

/* True when the caller's own Authorization value carries the gate's access token. */
static bool carries_gate_token(const ag_client *c, const char *auth, size_t len) {
  if (!auth || !has_access(c)) return false;
  size_t n = strlen(c->tok.access);
  for (size_t i = 0; n && i + n <= len; i++)
    if (!memcmp(auth + i, c->tok.access, n)) return true;
  return false;
}

/*
 * Where a protected call goes now: out with the token, into the wait for
 * readiness or a refresh, or refused. Also the path of a retry, which is a
 * new send of the same call: the token may have changed meanwhile.
 */
void ag_dispatch(ag_client *c, call *k, ag_ms now) {
  if (k->route != AG_ROUTE_PROTECTED || k->own_auth) {
    send_call(c, k, now);
  } else if (c->state == AG_STATE_INITIALIZING || (!has_access(c) && c->logins_pending)) {
    ag_call_wait(c, k, WAIT_READY, now); /* the auth state is not known yet, or about to change */
  } else if (!has_access(c)) {
    ag_reject_call(c, k, AG_CODE_NO_TOKEN, NULL);
  } else if (token_fresh(c, now)) {
    send_call(c, k, now);
  } else if (k->token_only && can_refresh(c) && c->retry_at <= 0 && !c->refresh_stalled &&
             c->refused_until <= 0) {
    /* A token handed out lives on in a socket: renew it first. */
    ag_call_wait(c, k, WAIT_REFRESH, now);
    begin_refresh(c, now);
  } else if (ag_token_usable(c, now)) {
    send_call(c, k, now); /* still valid: go now, and renew in the background */
    if (can_refresh(c) && c->retry_at <= 0) begin_refresh(c, now);
  } else {
    /* A call needs a refresh that is backing off: try again now, not at the back-off's end. */
    if (c->retry_at > 0) c->retry_at = 0;
    ag_call_wait(c, k, WAIT_REFRESH, now);
    settle_call(c, k, now); /* this call only: a storm of n calls stays O(n) */
  }
}

/* Per-call options ({timeoutMs, retry}); a reason in *why when they are refused. */
static int apply_call_options(call *k, const char *json, size_t len, const char **why) {
  *why = "the authgate call option must be an object {timeoutMs?, retry?}";
  if (len > AG_MAX_JSON) return AG_ERR_BAD_CONFIG;
  unsigned long failures = ag_alloc_failures();
  cJSON *root = ag_json_parse(json, len);
  if (!root && ag_alloc_failures() != failures) return AG_ERR_NOMEM; /* not the caller's fault */
  int rc = cJSON_IsObject(root) ? AG_OK : AG_ERR_BAD_CONFIG;
  const cJSON *el;
  const cJSON *options = rc == AG_OK ? root : NULL;
  cJSON_ArrayForEach(el, options) {
    if (!strcmp(el->string, "timeoutMs")) {
      *why = "authgate.timeoutMs must be a number of ms from 0 to 3600000";
      if (!cJSON_IsNumber(el) || !(el->valuedouble >= 0 && el->valuedouble <= 3600000))
        rc = AG_ERR_BAD_CONFIG;
      else k->timeout_ms = (ag_ms)(int64_t)el->valuedouble;
    } else if (!strcmp(el->string, "retry")) {
      ag_retry_policy *own = k->own_retry ? k->own_retry : ag_malloc(sizeof *own);
      if (!own) {
        rc = AG_ERR_NOMEM;
        break;
      }
      *own = *k->retry;
      k->retry = k->own_retry = own;
      rc = ag_retry_policy_parse(own, el, why);
    } else {
      *why = "the authgate call option accepts only timeoutMs and retry";
      rc = AG_ERR_BAD_CONFIG;
    }
    if (rc != AG_OK) break;
  }
  ag_json_free(root);
  return rc;
}

int ag_client_call_opts(ag_client *c, ag_ms now, const char *method, size_t method_len,
                        const char *url, size_t url_len, const char *authorization,
                        size_t authorization_len, int credentials, const char *options_json,
                        size_t options_len, uint32_t *id_out) {
  if (!c || !id_out || credentials < AG_CRED_UNSET || credentials > AG_CRED_INCLUDE)
    return AG_ERR_INVALID;
  call *k = AG_RESERVE(c) == AG_OK ? ag_call_make(c, AG_SEND_CALL) : NULL;
  if (!k) return AG_ERR_NOMEM;
  const char *why = NULL;
  int rc = make_call(c, k, method, method_len, url, url_len, credentials, &why);
  bool bad_url = rc != AG_OK && rc != AG_ERR_NOMEM;
  const char *bad_options = NULL; /* why the per-call options were refused */
  if (rc == AG_OK && options_json) {
    rc = apply_call_options(k, options_json, options_len, &why);
    if (rc == AG_ERR_BAD_CONFIG) bad_options = why, rc = AG_OK;
  }
  if (rc == AG_ERR_NOMEM) return ag_call_free(c, k), AG_ERR_NOMEM; /* no call was made */
  ag_call_add(c, k);
  *id_out = k->id;
  k->own_auth = authorization != NULL;
  if (bad_url) {
    /* The message names the input as given (bounded), then why it was refused. */
    ag_reject_call(c, k, AG_CODE_BAD_CONFIG, why ? why : "the URL is not a valid http(s) URL");
  } else if (bad_options) {
    ag_reject_call(c, k, AG_CODE_BAD_CONFIG, bad_options);
  } else if (k->route == AG_ROUTE_FOREIGN &&
             carries_gate_token(c, authorization, authorization_len)) {
    ag_reject_call(c, k, AG_CODE_FOREIGN_ORIGIN, NULL);
  } else {
    ag_dispatch(c, k, now);
  }
  return ag_finish(c, AG_OK);
}

int ag_client_call(ag_client *c, ag_ms now, const char *method, size_t method_len, const char *url,
                   size_t url_len, const char *authorization, size_t authorization_len,
                   int credentials, uint32_t *id_out) {
  return ag_client_call_opts(c, now, method, method_len, url, url_len, authorization,
                             authorization_len, credentials, NULL, 0, id_out);
}

int ag_client_token(ag_client *c, ag_ms now, uint32_t *id_out) {
  if (!c || !id_out) return AG_ERR_INVALID;
  call *k = AG_RESERVE(c) == AG_OK ? ag_call_make(c, AG_SEND_CALL) : NULL;
  if (!k) return AG_ERR_NOMEM;
  k->token_only = true;
  k->route = AG_ROUTE_PROTECTED;
  ag_call_add(c, k);
  *id_out = k->id;
  ag_dispatch(c, k, now);
  return ag_finish(c, AG_OK);
}

/* A retry is allowed for this call at all (its method, its budget). */
static bool may_retry(const call *k) {
  return k->kind == AG_SEND_CALL && k->retry->enabled && k->retries < k->retry->limit &&
         ag_retry_allows_method(k->retry, k->method);
}

/* Schedules the next attempt `wait` ms from now (0: at the next tick). */
static void retry_in(ag_client *c, call *k, ag_ms now, ag_ms wait) {
  k->retries++;
  ag_timer_arm(c, k, TIMER_RETRY, now + wait);
}

/*
 * A retryable status: wait as Retry-After says (a date in the past: at once;
 * unreadable: the back-off), unless it asks for longer than maxRetryAfterMs:
 * then the caller gets this response. False when the response stands.
 */
static bool retry_status(ag_client *c, call *k, ag_ms now, int status, const char *retry_after,
                         size_t retry_after_len) {
  if (!may_retry(k) || !ag_retry_allows_status(k->retry, status)) return false;
  ag_ms wait = ag_retry_after_ms(retry_after, retry_after_len, now);
  if (wait > k->retry->max_retry_after_ms) return false;
  retry_in(c, k, now, wait >= 0 ? wait : ag_retry_backoff_ms(k->retries + 1, &c->rng));
  return true;
}

static int on_auth_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                            size_t len);

/*
 * The request `id` in flight has ended (an answer, or fetch threw): it is no longer in
 * flight and its deadline is gone. NULL with *rc set when the event cannot be taken.
 */
static call *request_ended(ag_client *c, uint32_t id, int *rc) {
  call *k = c ? ag_call_find(c, id) : NULL;
  *rc = AG_ERR_INVALID;
  if (!k || !k->in_flight) return NULL;
  *rc = AG_ERR_NOMEM;
  if (AG_RESERVE(c) != AG_OK) return NULL;
  k->in_flight = false;
  ag_timer_disarm(c, k);
  return k;
}

int ag_client_response_ex(ag_client *c, ag_ms now, uint32_t id, int status, const char *body,
                          size_t body_len, const char *retry_after, size_t retry_after_len) {
  int rc;
  call *k = request_ended(c, id, &rc);
  if (!k) return rc;
  if (ag_dpop_nonce_retry(c, k, status, body, body_len)) {
    send_call(c, k, now); /* the same request, once, with the nonce it was given */
    return ag_finish(c, AG_OK);
  }
  if (k->kind != AG_SEND_CALL)
    return ag_finish(c, on_auth_response(c, k, now, status, body, body_len));
  bool gate_token = k->route == AG_ROUTE_PROTECTED && !k->own_auth;
  if (status != 401 || !gate_token || k->replay) {
    if (retry_status(c, k, now, status, retry_after, retry_after_len)) return ag_finish(c, AG_OK);
    ag_call_free(c, k);
    ag_action_push(c, AG_ACTION_RESOLVE, id, 0, NULL);
    return ag_finish(c, AG_OK);
  }
  /* 401 on the gate's token: one refresh, one replay, never a loop. */
  k->awaiting_replay = true;
  k->nonce_retried = false; /* the replay is a new request: it may meet a nonce challenge too */
  if (k->sent_gen != c->gen && ag_token_usable(c, now)) {
    k->replay = true; /* the token was renewed meanwhile: replay with it */
    send_call(c, k, now);
  } else if (!can_refresh(c)) {
    end_session(c, AG_CODE_SESSION_EXPIRED,
                "the server refused the access token and there is no refresh token");
    ag_reject_call(c, k, AG_CODE_SESSION_EXPIRED,
                   "the server refused the access token and there is no refresh token");
  } else {
    c->access_dead = true;
    ag_call_wait(c, k, WAIT_REFRESH, now);
    begin_refresh(c, now);
  }
  return ag_finish(c, AG_OK);
}

/* A 2xx OpenID refresh answer passed its checks; else the session ends PROVIDER_ERROR. */
static bool oidc_refresh_checked(ag_client *c, ag_tokens *t, const char *body, size_t len,
                                 ag_ms now) {
  char *msg = NULL;
  int rc = ag_oidc_refresh_answer(c, t, body, len, now, &msg);
  if (rc == AG_OK) return true;
  ag_tokens_clear(t);
  if (rc < 0) c->oom = true;
  /* Not retried: the provider rotated the refresh token it was given. */
  end_session(c, rc > 0 ? rc : AG_CODE_PROVIDER_ERROR, msg ? msg : "the refresh failed a check");
  ag_free(msg);
  return false;
}

/* A 4xx OpenID refresh answer: invalid_grant is a refused refresh; others end it PROVIDER_ERROR. */
static bool oidc_refresh_invalid_grant(ag_client *c, int status, const char *body, size_t len) {
  bool invalid_grant = false;
  char *msg = ag_oidc_refresh_refusal(status, body, len, &invalid_grant);
  if (!invalid_grant) end_session(c, AG_CODE_PROVIDER_ERROR, msg ? msg : "the refresh was refused");
  ag_free(msg);
  return invalid_grant;
}

int ag_client_response(ag_client *c, ag_ms now, uint32_t id, int status, const char *body,
                       size_t body_len) {
  return ag_client_response_ex(c, now, id, status, body, body_len, NULL, 0);
}

int ag_granted_scope(const char *body, size_t len, const char *asked, char **out) {
  unsigned long failures = ag_alloc_failures();
  *out = ag_session_scope_of(body, len);
  if (!*out && ag_alloc_failures() != failures) return AG_ERR_NOMEM;
  if (!*out && asked && !(*out = ag_strndup(asked, strlen(asked)))) return AG_ERR_NOMEM;
  return AG_OK;
}

/*
 * Tokens and scope from a token response into the client; on ENOMEM nothing changed.
 * `held`: the scope of the tokens a refresh renews, what a response without one grants.
 */
static int adopt_response(ag_client *c, ag_tokens *t, ag_ms now, const char *body, size_t len,
                          const char *held) {
  char *scope;
  if (ag_granted_scope(body, len, held, &scope) != AG_OK) return AG_ERR_NOMEM;
  int rc = ag_adopt_session(c, t, scope, NULL, next_gen(c, now), now, true);
  if (rc != AG_OK) ag_free(scope);
  return rc;
}

/*
 * New tokens from the refresh endpoint. Out of memory reading or adopting
 * them: as if the answer had been lost on the way (a network failure after
 * the server answered), so back off and retry; the old tokens stay.
 */
static int refresh_succeeded(ag_client *c, ag_ms now, const char *body, size_t len) {
  ag_tokens t = {0};
  int rc = ag_tokens_parse_response(&t, &c->cfg.fields, now, body, len);
  if (rc == AG_OK && c->cfg.oidc && !oidc_refresh_checked(c, &t, body, len, now)) return AG_OK;
  bool kept = false;
  if (rc == AG_OK && !t.refresh &&
      c->tok.refresh) { /* servers that do not rotate keep the old one */
    t.refresh = c->tok.refresh;
    kept = true;
  }
  if (rc == AG_OK) {
    if (kept) c->tok.refresh = NULL; /* moved; given back below if adopting fails */
    rc = adopt_response(c, &t, now, body, len, c->scope);
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
  refresh_over(c);
  if (status >= 200 && status < 300) return refresh_succeeded(c, now, body, len);
  if (c->cfg.oidc && status >= 400 && status < 500 &&
      !oidc_refresh_invalid_grant(c, status, body, len))
    return AG_OK;
  if (c->cfg.oidc && status >= 400 && status < 500) status = 400; /* invalid_grant: refused */
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
  ag_reject_call(c, k, code, why);
  settle_waiting(c, now);
  return code == AG_CODE_OUT_OF_MEMORY ? AG_ERR_NOMEM : AG_OK;
}

static int on_login_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                             size_t len) {
  uint32_t id = k->id;
  if (status < 200 || status >= 300) {
    k->status = (int16_t)(status >= 0 && status <= 999 ? status : 0); /* for messages only */
    /* The server's words, when it has some (and there is memory for them: else the reason alone). */
    k->detail = ag_explain_server_message(body, len);
    return login_failed(c, k, now, AG_CODE_LOGIN_FAILED, NULL);
  }
  ag_tokens t = {0};
  int rc = ag_tokens_parse_response(&t, &c->cfg.fields, now, body, len);
  if (rc == AG_OK && (rc = adopt_response(c, &t, now, body, len, NULL)) != AG_OK)
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
  if (ag_oidc_owns(k->kind)) {
    ag_oidc_response(c, k, now, status, body, len);
    return AG_OK;
  }
  if (k->kind == AG_SEND_REFRESH) return on_refresh_response(c, k, now, status, body, len);
  return on_login_response(c, k, now, status, body, len);
}

static void network_failure(ag_client *c, call *k, ag_ms now) {
  if (ag_oidc_owns(k->kind)) {
    ag_oidc_network_error(c, k, now);
  } else if (k->kind == AG_SEND_REFRESH) {
    bool current = k->id == c->refresh_id;
    ag_call_free(c, k);
    c->last_refresh_status = 0;
    if (current) refresh_failed(c, now);
  } else if (may_retry(k)) {
    retry_in(c, k, now, ag_retry_backoff_ms(k->retries + 1, &c->rng));
  } else {
    ag_reject_call(c, k, AG_CODE_CORS_OR_NETWORK, NULL);
    settle_waiting(c, now); /* a failed login: calls that waited for it */
  }
}

int ag_client_network_error(ag_client *c, ag_ms now, uint32_t id) {
  int rc;
  call *k = request_ended(c, id, &rc);
  if (!k) return rc;
  network_failure(c, k, now);
  return ag_finish(c, AG_OK);
}

void ag_request_failed(ag_client *c, call *k, ag_ms now, int code, const char *why) {
  if (k->kind == AG_SEND_CALL) ag_reject_call(c, k, code, why);
  else network_failure(c, k, now); /* the core's own request: as if it got no answer */
}

int ag_client_cancel(ag_client *c, ag_ms now, uint32_t id) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || k->kind == AG_SEND_REFRESH || ag_oidc_owns(k->kind)) return AG_ERR_INVALID;
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
    ag_reject_call(c, k, AG_CODE_BAD_CONFIG, "no login endpoint is configured (options.login.url)");
    return ag_finish(c, AG_OK);
  }
  k->method = ag_method_name("POST", 4);
  k->url = ag_strndup(c->cfg.login_url, strlen(c->cfg.login_url));
  if (!k->method || !k->url) return ag_call_free(c, k), AG_ERR_NOMEM;
  k->credentials = (int8_t)ag_own_request_credentials(c, k->url);
  k->timeout_ms = own_request_timeout(c);
  int rc = ag_build_login_body(c, k, credentials_json, len);
  if (rc == AG_ERR_NOMEM) return ag_call_free(c, k), AG_ERR_NOMEM; /* no login was made */
  ag_call_add(c, k);
  *id_out = k->id;
  if (rc != AG_OK) {
    ag_reject_call(c, k, AG_CODE_BAD_CONFIG, "login credentials must be a JSON object of strings");
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
  ag_dpop_forget_key(c);
  c->gen = gen;
  refresh_over(c); /* a refresh still in flight was for the old tokens */
  c->initial_refresh = false;
  release_lock(c);
  set_state(c, AG_STATE_ANONYMOUS);
  ag_session_emit(c, NULL);
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

/*
 * An entry point the gate's options do not offer (loginWithRedirect without
 * oidc, getDpopProof without dpop): a task that rejects at once with `why`.
 */
int ag_refused_task(ag_client *c, int code, const char *why, uint32_t *id_out) {
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  call *k = ag_call_new(c, TASK);
  if (!k) return AG_ERR_NOMEM;
  *id_out = k->id;
  ag_call_free(c, k);
  ag_action_push_static(c, AG_ACTION_REJECT, *id_out, code, why);
  return ag_finish(c, AG_OK);
}

/*
 * logout() of a gate without OpenID Connect: the tokens go here and in every
 * tab, and the task resolves at once (with oidc, oidc_flow.c also revokes and
 * may navigate). Out of memory: nothing changed, no id handed out.
 */
int ag_logout_task(ag_client *c, ag_ms now, uint32_t *id_out) {
  call *k = ag_call_new(c, TASK);
  if (!k) return AG_ERR_NOMEM;
  int rc = ag_client_logout(c, now);
  uint32_t id = k->id;
  ag_call_free(c, k);
  if (rc != AG_OK) return rc;
  *id_out = id;
  ag_action_push(c, AG_ACTION_RESOLVE, id, 0, NULL);
  return ag_finish(c, AG_OK);
}

int ag_client_lock_granted(ag_client *c, ag_ms now, const char *blob, size_t len,
                           ag_ms newest_shared) {
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
  if (newest_shared > (ag_ms)c->gen) {
    /*
     * The last holder shared newer tokens than storage shows here: this read
     * was early (localStorage reaches another tab's process a little later,
     * a broadcast may trail the grant). Refreshing now would present a refresh
     * token that was just rotated. The tokens are on their way; wait for them.
     */
    release_lock(c);
    c->late_tokens_until = now + AG_LATE_TOKENS_MS;
    return ag_finish(c, AG_OK);
  }
  return ag_finish(c, send_refresh(c, now));
}

/* No refresh under way, backing off or waiting on another tab: expiry timers apply. */
static bool refresh_idle(const ag_client *c) {
  return !c->refresh_id && !c->lock_wanted && !c->lock_held && c->retry_at <= 0 &&
         c->refused_until <= 0 && c->late_tokens_until <= 0;
}

/*
 * An attempt passed its deadline. An app call or a login is aborted and
 * rejects TIMEOUT. A refresh is not: the server may have rotated the refresh
 * token already, and only this request's answer carries the new one. It
 * stays in flight, the calls waiting on it are told, and nothing presents
 * the old refresh token again until that answer, a network error, another
 * tab's tokens or a new login settles it.
 */
static void attempt_expired(ag_client *c, call *k, ag_ms now) {
  if (k->kind == AG_SEND_REFRESH) {
    if (k->id != c->refresh_id) return; /* superseded: its answer is ignored anyway */
    c->refresh_stalled = true;
    settle_waiting(c, now);
    return;
  }
  bool login = k->kind == AG_SEND_LOGIN;
  k->in_flight = false;
  ag_action_push(c, AG_ACTION_ABORT, k->id, 0, NULL);
  ag_reject_call(c, k, AG_CODE_TIMEOUT, NULL);
  if (login) settle_waiting(c, now); /* calls that waited for this login */
}

/* Attempt deadlines and retries due at `now`, earliest first. */
static void run_timers(ag_client *c, ag_ms now) {
  for (call *k; (k = ag_timer_first(c)) && k->timer_at <= now;) {
    int what = k->timer;
    ag_timer_disarm(c, k);
    if (what == TIMER_RETRY) ag_dispatch(c, k, now);
    else attempt_expired(c, k, now);
  }
}

int ag_client_tick(ag_client *c, ag_ms now) {
  if (!c) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  run_timers(c, now);
  while (c->wait_head && c->wait_head->deadline <= now) {
    call *k = c->wait_head;
    bool ready = k->waiting == WAIT_READY; /* start-up, or a login, still undecided */
    ag_reject_call(c, k, ready ? AG_CODE_READY_TIMEOUT : AG_CODE_REFRESH_FAILED, NULL);
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
  if (c->late_tokens_until > 0 && now >= c->late_tokens_until) {
    c->late_tokens_until = 0; /* not here yet: ask again, and read storage again */
    if (c->need_refresh) begin_refresh(c, now);
  }
  ag_oidc_tick(c, now);
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
  if (c->n_timers) take_min(&best, ag_timer_first(c)->timer_at);
  take_min(&best, c->retry_at);
  take_min(&best, c->refused_until);
  take_min(&best, c->late_tokens_until);
  take_min(&best, ag_oidc_deadline(c));
  if (c->started && has_access(c) && c->tok.expires_at > 0 && refresh_idle(c))
    take_min(&best, can_refresh(c) ? refresh_due(c) : c->tok.expires_at);
  return best;
}

int ag_client_wake(ag_client *c, ag_ms now, int reason) {
  if (!c || reason < AG_WAKE_VISIBLE || reason > AG_WAKE_PAGESHOW) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM; /* before retry_at moves: nothing changed */
  /* The network is back: a refresh backing off goes now, not at the back-off's end. */
  if (reason == AG_WAKE_ONLINE && c->retry_at > 0) c->retry_at = now;
  return ag_client_tick(c, now);
}

int ag_client_seed(ag_client *c, const unsigned char *bytes, size_t len) {
  if (!c || (!bytes && len)) return AG_ERR_INVALID;
  ag_rng_seed(&c->rng, bytes, len);
  return AG_OK;
}

int ag_client_state(const ag_client *c) { return c ? c->state : AG_STATE_INITIALIZING; }

int ag_client_ready_state(const ag_client *c) {
  if (!c || c->state == AG_STATE_INITIALIZING) return AG_STATE_INITIALIZING;
  return c->state == AG_STATE_ANONYMOUS ? AG_STATE_ANONYMOUS : AG_STATE_AUTHENTICATED;
}

/* ---- for oidc_flow.c ---- */

void ag_send_call(ag_client *c, call *k, ag_ms now) { send_call(c, k, now); }

void ag_settle_waiting(ag_client *c, ag_ms now) { settle_waiting(c, now); }

uint64_t ag_next_gen(const ag_client *c, ag_ms now) { return next_gen(c, now); }

void ag_resume_refresh(ag_client *c, ag_ms now) {
  bool may_send = c->lock_held || !c->cfg.cross_tab;
  if (c->need_refresh && may_send && !c->refresh_id && can_refresh(c) &&
      send_refresh(c, now) != AG_OK)
    c->oom = true;
}

void ag_refresh_blocked(ag_client *c, ag_ms now, const char *why) {
  refresh_failed(c, now);
  for (call *k = c->wait_head, *next; k; k = next) {
    next = k->wnext;
    if (k->waiting == WAIT_REFRESH) ag_reject_call(c, k, AG_CODE_PROVIDER_ERROR, why);
  }
}
