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
  if (c->cfg.oidc) return c->tok.refresh != NULL; /* the refresh_token grant */
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

static int make_bearer(ag_client *c) {
  ag_free_secret(c->bearer);
  c->bearer = NULL;
  if (!has_access(c)) return AG_OK;
  ag_buf b = {0};
  ag_buf_puts(&b, c->cfg.dpop ? "DPoP " : "Bearer "); /* RFC 9449 section 7.1 */
  ag_buf_puts(&b, c->tok.access);
  c->bearer = ag_buf_take(&b);
  return c->bearer ? AG_OK : AG_ERR_NOMEM;
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

void ag_send_now(ag_client *c, call *k) {
  k->in_flight = true;
  ag_action_push(c, AG_ACTION_SEND, k->id, k->kind, NULL);
}

static void send_call(ag_client *c, call *k, ag_ms now) {
  ag_call_unwait(c, k);
  k->sent_gen = c->gen;
  if (ag_dpop_sign_first(c, k, now)) return; /* SEND once the proof is signed */
  ag_send_now(c, k);
}

static void reject_call(ag_client *c, call *k, int code, const char *why) {
  uint32_t id = k->id;
  char *msg = ag_explain_rejection(c, k, code, why);
  ag_call_free(c, k);
  ag_emit_reject(c, id, code, msg);
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

static int send_refresh(ag_client *c, ag_ms now) {
  call *k = ag_call_new(c, AG_SEND_REFRESH);
  if (!k) return AG_ERR_NOMEM;
  k->method = ag_strndup("POST", 4);
  int rc = c->cfg.oidc ? ag_oidc_refresh_request(c, k) : AG_OK;
  if (rc == AG_ERR_STALE) { /* the token endpoint is not known yet: after discovery */
    ag_call_free(c, k);
    ag_oidc_refresh_wait(c, now);
    return AG_OK;
  }
  if (!c->cfg.oidc) {
    k->url = ag_strndup(c->cfg.refresh_url, strlen(c->cfg.refresh_url));
    rc = k->url && ag_build_refresh_body(c, k) == AG_OK ? AG_OK : AG_ERR_NOMEM;
    if (k->url) k->credentials = ag_own_request_credentials(c, k->url);
  }
  if (!k->method || rc != AG_OK) {
    ag_call_free(c, k);
    return AG_ERR_NOMEM;
  }
  c->refresh_id = k->id;
  c->bad_refresh_body = false; /* what the last attempt got, for REFRESH_FAILED's message */
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
  if (send_refresh(c, now) != AG_OK) c->oom = true;
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
  c->refresh_id = 0;
  c->refresh_failures++;
  int shift = c->refresh_failures > 5 ? 5 : c->refresh_failures - 1;
  ag_ms delay = (ag_ms)(1000 << shift);
  c->retry_at = now + (delay > 30000 ? 30000 : delay);
  release_lock(c);
  if (c->state == AG_STATE_REFRESHING) set_state(c, AG_STATE_AUTHENTICATED);
  /* A still-valid token keeps serving calls while the refresh retries. */
  settle_waiting(c, now);
}

/* New tokens from login, refresh, setTokens, another tab or storage. */
int ag_adopt_tokens(ag_client *c, ag_tokens *t, uint64_t gen, ag_ms now, bool share) {
  forget_tokens(c);
  c->tok = *t;
  memset(t, 0, sizeof *t);
  c->gen = gen;
  c->obtained_at = now;
  if (make_bearer(c) != AG_OK) return AG_ERR_NOMEM;
  if (share) {
    char *blob = ag_blob_write(&c->tok, c->gen);
    char *copy = blob ? ag_strndup(blob, strlen(blob)) : NULL;
    if (!blob || !copy) {
      ag_free_secret(blob);
      return AG_ERR_NOMEM;
    }
    if (c->cfg.storage != AG_STORAGE_MEMORY) ag_action_push(c, AG_ACTION_PERSIST, 0, 0, blob);
    else ag_free_secret(blob);
    if (c->cfg.cross_tab) ag_action_push(c, AG_ACTION_BROADCAST, 0, 0, copy);
    else ag_free_secret(copy);
  }
  c->refresh_id = 0; /* a refresh still in flight was for the old tokens */
  release_lock(c);
  c->initial_refresh = false;
  set_state(c, AG_STATE_AUTHENTICATED);
  settle_waiting(c, now);
  return c->oom ? AG_ERR_NOMEM : AG_OK;
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

void ag_client_settings(const ag_client *c, ag_settings *out) {
  memset(out, 0, sizeof *out);
  if (!c) return;
  out->storage = c->cfg.storage;
  out->cross_tab = c->cfg.cross_tab;
  out->storage_key = c->cfg.storage_key;
  out->base_url = c->cfg.base_url;
  out->dpop = c->cfg.dpop;
}

int ag_finish(ag_client *c, int rc) {
  if (c->oom) {
    c->oom = false;
    return AG_ERR_NOMEM;
  }
  return rc;
}

int ag_client_start(ag_client *c, ag_ms now, const char *blob, size_t blob_len) {
  if (!c || c->started) return AG_ERR_INVALID;
  c->started = true;
  ag_oidc_start(c, now); /* discovery in the background: a stored session does not wait for it */
  if (blob && blob_len && c->gen > 0) {
    /* login, setTokens or logout came before start: only a newer blob counts */
    int rc = ag_tabs_take_blob(c, now, blob, blob_len);
    if (rc == AG_ERR_NOMEM) return rc;
    if (rc == AG_ERR_BAD_BLOB) ag_emit(c, AG_ACTION_CLEAR_STORAGE);
  } else if (blob && blob_len) {
    ag_tokens t = {0};
    uint64_t gen;
    bool logout;
    int rc = ag_blob_read(blob, blob_len, &t, &gen, &logout);
    if (rc == AG_ERR_NOMEM) return rc;
    if (rc != AG_OK) {
      ag_emit(c, AG_ACTION_CLEAR_STORAGE);
    } else {
      c->gen = gen;
      if (!logout) {
        c->tok = t;
        c->obtained_at = now;
        if (make_bearer(c) != AG_OK) return AG_ERR_NOMEM;
      }
    }
  }
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
  call *k = ag_call_new(c, AG_SEND_CALL);
  if (!k) return AG_ERR_NOMEM;
  *id_out = k->id;
  k->method = ag_strndup(method ? method : "GET", method ? method_len : 3);
  if (!k->method) return ag_call_free(c, k), AG_ERR_NOMEM;
  ag_url u;
  int rc = parse_call_url(c, url, url_len, &u);
  if (rc != AG_OK) {
    reject_call(c, k, AG_CODE_BAD_CONFIG,
                rc == AG_ERR_TOO_LARGE ? "the URL is too long"
                                       : "the URL is not a valid http(s) URL");
    return ag_finish(c, AG_OK);
  }
  k->url = ag_url_serialize(&u);
  k->route = ag_config_route(&c->cfg, &u);
  k->credentials = ag_config_credentials(&c->cfg, &u, credentials);
  k->own_auth = authorization != NULL;
  ag_url_free(&u);
  if (!k->url) return ag_call_free(c, k), AG_ERR_NOMEM;

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

static void on_auth_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                             size_t len);

int ag_client_response(ag_client *c, ag_ms now, uint32_t id, int status, const char *body,
                       size_t body_len) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || !k->in_flight) return AG_ERR_INVALID;
  k->in_flight = false;
  if (ag_dpop_nonce_retry(c, k, status, body, body_len)) {
    send_call(c, k, now); /* the same request, once, with the nonce it was given */
    return ag_finish(c, AG_OK);
  }
  if (k->kind != AG_SEND_CALL) {
    on_auth_response(c, k, now, status, body, body_len);
    return ag_finish(c, AG_OK);
  }
  bool gate_token = k->route == AG_ROUTE_PROTECTED && !k->own_auth;
  if (status != 401 || !gate_token || k->replay) {
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
    reject_call(c, k, AG_CODE_SESSION_EXPIRED,
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
  char *msg = ag_oidc_refresh_refusal(c, status, body, len, &invalid_grant);
  if (!invalid_grant) end_session(c, AG_CODE_PROVIDER_ERROR, msg ? msg : "the refresh was refused");
  ag_free(msg);
  return invalid_grant;
}

static void on_refresh_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                                size_t len) {
  bool current = k->id == c->refresh_id;
  ag_call_free(c, k);
  if (!current) return; /* superseded: logout, new login, or another tab's tokens */
  c->refresh_id = 0;
  if (status >= 200 && status < 300) {
    ag_tokens t = {0};
    int rc = ag_tokens_parse_response(&t, &c->cfg.fields, now, body, len);
    if (rc == AG_OK && c->cfg.oidc && !oidc_refresh_checked(c, &t, body, len, now)) return;
    if (rc == AG_OK) {
      if (!t.refresh && c->tok.refresh) { /* servers that do not rotate keep the old one */
        t.refresh = c->tok.refresh;
        c->tok.refresh = NULL;
      }
      if (ag_adopt_tokens(c, &t, next_gen(c, now), now, true) != AG_OK) c->oom = true;
      return;
    }
    if (rc == AG_ERR_NOMEM) c->oom = true;
    c->bad_refresh_body = true;
    refresh_failed(c, now);
    return;
  }
  if (c->cfg.oidc && status >= 400 && status < 500 &&
      !oidc_refresh_invalid_grant(c, status, body, len))
    return;
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
      return;
    }
    end_session(c, session ? AG_CODE_SESSION_EXPIRED : AG_CODE_NO_TOKEN,
                session ? "the refresh token was refused" : NULL);
    return;
  }
  c->last_refresh_status = status;
  refresh_failed(c, now);
}

static void on_login_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                              size_t len) {
  uint32_t id = k->id;
  if (status < 200 || status >= 300) {
    k->status = status;
    reject_call(c, k, AG_CODE_LOGIN_FAILED, NULL);
    settle_waiting(c, now); /* calls that waited for this login */
    return;
  }
  ag_tokens t = {0};
  int rc = ag_tokens_parse_response(&t, &c->cfg.fields, now, body, len);
  if (rc != AG_OK) {
    if (rc == AG_ERR_NOMEM) c->oom = true;
    reject_call(c, k, AG_CODE_BAD_TOKEN_RESPONSE, NULL);
    settle_waiting(c, now);
    return;
  }
  ag_call_free(c, k);
  if (ag_adopt_tokens(c, &t, next_gen(c, now), now, true) != AG_OK) c->oom = true;
  ag_action_push(c, AG_ACTION_RESOLVE, id, 0, NULL);
}

static void on_auth_response(ag_client *c, call *k, ag_ms now, int status, const char *body,
                             size_t len) {
  if (ag_oidc_owns(k->kind)) ag_oidc_response(c, k, now, status, body, len);
  else if (k->kind == AG_SEND_REFRESH) on_refresh_response(c, k, now, status, body, len);
  else on_login_response(c, k, now, status, body, len);
}

static void network_failure(ag_client *c, call *k, ag_ms now) {
  if (ag_oidc_owns(k->kind)) {
    ag_oidc_network_error(c, k, now);
  } else if (k->kind == AG_SEND_REFRESH) {
    bool current = k->id == c->refresh_id;
    ag_call_free(c, k);
    c->last_refresh_status = 0;
    if (current) refresh_failed(c, now);
  } else {
    reject_call(c, k, AG_CODE_CORS_OR_NETWORK, NULL);
    settle_waiting(c, now); /* a failed login: calls that waited for it */
  }
}

int ag_client_network_error(ag_client *c, ag_ms now, uint32_t id) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || !k->in_flight) return AG_ERR_INVALID;
  k->in_flight = false;
  network_failure(c, k, now);
  return ag_finish(c, AG_OK);
}

void ag_request_failed(ag_client *c, call *k, ag_ms now, const char *why) {
  if (k->kind == AG_SEND_CALL) reject_call(c, k, AG_CODE_BAD_CONFIG, why);
  else network_failure(c, k, now); /* the core's own request: as if it got no answer */
}

int ag_client_cancel(ag_client *c, ag_ms now, uint32_t id) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || k->kind == AG_SEND_REFRESH || ag_oidc_owns(k->kind)) return AG_ERR_INVALID;
  ag_call_free(c, k);
  settle_waiting(c, now); /* a cancelled login: calls that waited for it */
  return ag_finish(c, AG_OK);
}

int ag_client_login(ag_client *c, ag_ms now, const char *credentials_json, size_t len,
                    uint32_t *id_out) {
  if (!c || !id_out) return AG_ERR_INVALID;
  call *k = ag_call_new(c, AG_SEND_LOGIN);
  if (!k) return AG_ERR_NOMEM;
  *id_out = k->id;
  if (!c->cfg.login_url) {
    reject_call(c, k, AG_CODE_BAD_CONFIG, "no login endpoint is configured (options.login.url)");
    return ag_finish(c, AG_OK);
  }
  k->method = ag_strndup("POST", 4);
  k->url = ag_strndup(c->cfg.login_url, strlen(c->cfg.login_url));
  if (!k->method || !k->url) return ag_call_free(c, k), AG_ERR_NOMEM;
  k->credentials = ag_own_request_credentials(c, k->url);
  int rc = ag_build_login_body(c, k, credentials_json, len);
  if (rc == AG_ERR_NOMEM) return ag_call_free(c, k), AG_ERR_NOMEM;
  if (rc != AG_OK) {
    reject_call(c, k, AG_CODE_BAD_CONFIG, "login credentials must be a JSON object of strings");
    return ag_finish(c, AG_OK);
  }
  send_call(c, k, now);
  return ag_finish(c, AG_OK);
}

int ag_client_set_tokens(ag_client *c, ag_ms now, const char *json, size_t len) {
  if (!c) return AG_ERR_INVALID;
  ag_tokens t = {0};
  int rc = ag_tokens_parse_set(&t, now, json, len);
  if (rc != AG_OK) return rc;
  return ag_finish(c, ag_adopt_tokens(c, &t, next_gen(c, now), now, true));
}

/* Signed out, here or in another tab: no tokens, no refresh, anonymous, waiting calls told. */
void ag_sign_out(ag_client *c, uint64_t gen, const char *why) {
  forget_tokens(c);
  ag_dpop_forget_key(c);
  c->gen = gen;
  c->refresh_id = 0; /* a refresh still in flight was for the old tokens */
  c->initial_refresh = false;
  release_lock(c);
  set_state(c, AG_STATE_ANONYMOUS);
  reject_waiting(c, AG_CODE_NO_TOKEN, why);
}

int ag_client_logout(ag_client *c, ag_ms now) {
  if (!c) return AG_ERR_INVALID;
  uint64_t gen = next_gen(c, now);
  ag_emit(c, AG_ACTION_CLEAR_STORAGE);
  if (c->cfg.cross_tab) {
    char *msg = ag_blob_write(NULL, gen);
    if (!msg) c->oom = true;
    else ag_action_push(c, AG_ACTION_BROADCAST, 0, 0, msg);
  }
  ag_sign_out(c, gen, "logged out");
  return ag_finish(c, AG_OK);
}

int ag_client_lock_granted(ag_client *c, ag_ms now, const char *blob, size_t len) {
  if (!c) return AG_ERR_INVALID;
  if (!c->lock_wanted) { /* nothing wants it any more: hand it straight back */
    ag_emit(c, AG_ACTION_UNLOCK);
    return ag_finish(c, AG_OK);
  }
  c->lock_wanted = false;
  c->lock_held = true;
  if (blob && len)
    ag_tabs_take_blob(c, now, blob, len);        /* another tab may have refreshed meanwhile */
  if (!c->lock_held) return ag_finish(c, AG_OK); /* adopted: lock released, calls sent */
  if (!c->need_refresh || (!has_access(c) && !c->initial_refresh)) {
    release_lock(c);
    return ag_finish(c, AG_OK);
  }
  if (send_refresh(c, now) != AG_OK) c->oom = true;
  return ag_finish(c, AG_OK);
}

/* No refresh under way, backing off or waiting on another tab: expiry timers apply. */
static bool refresh_idle(const ag_client *c) {
  return !c->refresh_id && !c->lock_wanted && !c->lock_held && c->retry_at <= 0 &&
         c->refused_until <= 0;
}

int ag_client_tick(ag_client *c, ag_ms now) {
  if (!c) return AG_ERR_INVALID;
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
  take_min(&best, c->retry_at);
  take_min(&best, c->refused_until);
  take_min(&best, ag_oidc_deadline(c));
  if (c->started && has_access(c) && c->tok.expires_at > 0 && refresh_idle(c))
    take_min(&best, can_refresh(c) ? refresh_due(c) : c->tok.expires_at);
  return best;
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
    if (k->waiting == WAIT_REFRESH) reject_call(c, k, AG_CODE_PROVIDER_ERROR, why);
  }
}
