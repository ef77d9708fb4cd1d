/*
 * oidc_flow.c — the OpenID Connect part of the state machine: discovery as
 * the core's own request (started with the client, in the background), the
 * redirect login, the callback and its one code exchange, the refresh
 * token grant's request and answer, and logout's revocation and end-session
 * redirect. The rules themselves are in oidc.c; this file sequences them.
 *
 * loginWithRedirect, handleRedirectCallback and logout get call ids like any
 * call, but their records are never sent (kind TASK); the shim waits on
 * their RESOLVE or REJECT.
 */
#include "client.h"
#include "json.h"
#include "oidc.h"

#include <string.h>

enum { DISCOVERY_NONE = 0, DISCOVERY_PENDING, DISCOVERY_DONE, DISCOVERY_FAILED };
enum { CB_NONE = 0, CB_WAITING, CB_EXCHANGING, CB_SETTLED };

#define REVOKE_WAIT_MS 2000 /* logout waits this long for the revocation */

static const char form_type[] = "application/x-www-form-urlencoded";

struct ag_oidc_flow {
  ag_oidc_provider provider;
  int discovery;
  uint32_t discovery_id;
  char *discovery_error;
  bool startup_attempt; /* the attempt under way was started with the client, not by a waiter */
  bool refresh_waits;   /* a refresh waits for discovery */

  /* a loginWithRedirect waiting for discovery */
  uint32_t login_id;
  unsigned char random[AG_OIDC_RANDOM_BYTES];
  char *return_to, *params;
  size_t return_to_len, params_len;
  bool has_return_to;

  /* the callback: one per page; later calls join it */
  int cb;
  char *cb_url;
  ag_oidc_transaction txn;
  ag_oidc_callback response;
  uint32_t token_id;
  uint32_t *joined; /* call ids waiting on its outcome (the first included) */
  size_t n_joined, cap_joined;
  int outcome_code;   /* AG_CODE_NONE: signed in */
  char *outcome_text; /* REJECT's message, or RESOLVE's {"returnTo":..} */

  /* logout waiting for the revocation */
  uint32_t logout_id, revoke_id;
  ag_ms logout_deadline;
  char *end_session_url;
};

/* ---- small helpers ---- */

static char *dup_n(const char *s, size_t n) { return s ? ag_strndup(s, n) : NULL; }
static char *dup(const char *s) { return s ? ag_strndup(s, strlen(s)) : NULL; }

/* Rejects task `id` with `msg` (owned); the record goes. */
static void reject_task(ag_client *c, uint32_t id, int code, char *msg) {
  call *k = ag_call_find(c, id);
  if (k) ag_call_free(c, k);
  if (msg) ag_action_push(c, AG_ACTION_REJECT, id, code, msg);
  else
    ag_action_push_static(c, AG_ACTION_REJECT, id, AG_CODE_OUT_OF_MEMORY,
                          "the gate ran out of memory during the sign-in; nothing was adopted. "
                          "Retry it");
}

/* Settles `id` with a copy of `text`; without memory for the copy, with none: settled all the same. */
static void resolve_task(ag_client *c, uint32_t id, const char *text) {
  call *k = ag_call_find(c, id);
  if (k) ag_call_free(c, k);
  ag_action_push(c, AG_ACTION_RESOLVE, id, 0, text ? dup(text) : NULL);
}

static char *message(const char *a, const char *b) {
  ag_buf m = {0};
  ag_buf_puts(&m, a);
  if (b) ag_buf_puts(&m, b);
  return ag_buf_take(&m);
}

static call *own_request(ag_client *c, int kind, const char *method, const char *url, char *body) {
  call *k = ag_call_new(c, kind);
  if (!k) return ag_free_secret(body), NULL;
  k->method = ag_method_name(method, strlen(method));
  k->url = dup(url);
  k->body = body;
  k->body_len = body ? strlen(body) : 0;
  k->content_type = body ? form_type : NULL;
  k->credentials = AG_CRED_OMIT; /* a public client: no cookies to the provider's endpoints */
  if (!k->method || !k->url || (kind != AG_SEND_DISCOVERY && !body)) {
    ag_call_free(c, k);
    return NULL;
  }
  return k;
}

/* ---- lifetime ---- */

int ag_oidc_flow_new(ag_client *c) {
  if (!c->cfg.oidc) return AG_OK;
  c->oidc = ag_calloc(1, sizeof *c->oidc);
  return c->oidc ? AG_OK : AG_ERR_NOMEM;
}

static void forget_login(ag_oidc_flow *f) {
  ag_wipe(f->random, sizeof f->random);
  ag_free(f->return_to);
  ag_free(f->params);
  f->return_to = f->params = NULL;
  f->login_id = 0;
}

void ag_oidc_flow_free(ag_client *c) {
  ag_oidc_flow *f = c->oidc;
  if (!f) return;
  ag_oidc_provider_free(&f->provider);
  ag_free(f->discovery_error);
  forget_login(f);
  ag_free(f->cb_url);
  ag_oidc_transaction_free(&f->txn);
  ag_oidc_callback_free(&f->response);
  ag_free(f->joined);
  ag_free(f->outcome_text);
  ag_free(f->end_session_url);
  ag_free(f);
  c->oidc = NULL;
}

/* ---- discovery ---- */

static void discover(ag_client *c, ag_ms now, bool startup) {
  ag_oidc_flow *f = c->oidc;
  if (f->discovery == DISCOVERY_PENDING || f->discovery == DISCOVERY_DONE) return;
  call *k = own_request(c, AG_SEND_DISCOVERY, "GET", c->cfg.oidc->discovery_url, NULL);
  if (!k) {
    c->oom = true;
    return;
  }
  f->discovery = DISCOVERY_PENDING;
  f->discovery_id = k->id;
  f->startup_attempt = startup;
  ag_send_call(c, k, now);
}

void ag_oidc_start(ag_client *c, ag_ms now) {
  if (c->oidc) discover(c, now, true);
}

static void continue_login(ag_client *c, ag_ms now);
static void continue_callback(ag_client *c, ag_ms now);
static void settle_callback(ag_client *c, ag_ms now, int code, char *text);

/* Discovery is over (DONE or FAILED): whatever waited for it moves on. */
static void discovery_settled(ag_client *c, ag_ms now) {
  ag_oidc_flow *f = c->oidc;
  if (f->login_id) continue_login(c, now);
  if (f->cb == CB_WAITING) continue_callback(c, now);
  if (f->refresh_waits) {
    f->refresh_waits = false;
    if (f->discovery == DISCOVERY_DONE) ag_resume_refresh(c, now);
    else ag_refresh_blocked(c, now, f->discovery_error);
  }
}

static void discovery_failed(ag_client *c, ag_ms now, char *why) {
  ag_oidc_flow *f = c->oidc;
  ag_free(f->discovery_error);
  f->discovery_error = why;
  if (!why) c->oom = true;
  f->discovery = DISCOVERY_FAILED;
  /* Whoever waited on the start-up attempt gets one of its own before being told it failed. */
  if (f->startup_attempt && (f->login_id || f->cb == CB_WAITING || f->refresh_waits)) {
    discover(c, now, false);
    return;
  }
  discovery_settled(c, now);
}

static void on_discovery(ag_client *c, ag_ms now, int status, const char *body, size_t len) {
  ag_oidc_flow *f = c->oidc;
  char *msg = NULL;
  f->discovery_id = 0;
  if (status != 200) {
    ag_buf m = {0};
    ag_buf_puts(&m, "GET ");
    ag_buf_puts(&m, c->cfg.oidc->discovery_url);
    ag_buf_puts(&m, ": the provider's discovery document answered HTTP ");
    ag_buf_put_uint(&m, status > 0 ? (uint64_t)status : 0);
    ag_buf_puts(&m, "; check oidc.issuer");
    discovery_failed(c, now, ag_buf_take(&m));
    return;
  }
  int rc = ag_oidc_discovery_parse(&f->provider, c->cfg.oidc, body, len, &msg);
  if (rc == AG_ERR_NOMEM) c->oom = true;
  if (rc != AG_OK) {
    discovery_failed(c, now, msg ? msg : message("the discovery document is unusable", NULL));
    return;
  }
  f->discovery = DISCOVERY_DONE;
  discovery_settled(c, now);
}

/* What a task waiting for discovery gets when it failed. */
static char *discovery_reason(const ag_client *c) {
  const char *why = c->oidc->discovery_error;
  return message(why ? why : "the provider's discovery document could not be read", NULL);
}

/* ---- loginWithRedirect ---- */

/* RFC 9449 section 10: the code is bound to the key's thumbprint from the start. */
static char *with_dpop_jkt(char *url, const char *jkt) {
  ag_buf b = {0};
  ag_buf_puts(&b, url);
  ag_buf_puts(&b, strchr(url, '?') ? "&dpop_jkt=" : "?dpop_jkt=");
  ag_buf_puts(&b, jkt); /* base64url: nothing to escape */
  ag_free(url);
  return ag_buf_take(&b);
}

static void authorize(ag_client *c, uint32_t id, ag_ms now) {
  ag_oidc_flow *f = c->oidc;
  char *url, *txn, *msg;
  if (c->cfg.dpop && !ag_dpop_jkt(c)) { /* dpop_jkt names the key: wait for it */
    ag_dpop_want_key(c);
    return;
  }
  int rc = ag_oidc_authorize(c->cfg.oidc, &f->provider, f->random, sizeof f->random,
                             f->has_return_to ? f->return_to : NULL, f->return_to_len, f->params,
                             f->params_len, now, &url, &txn, &msg);
  forget_login(f);
  /* Out of memory: the sign-in rejects OUT_OF_MEMORY (reject_task's static text), nothing kept. */
  if (rc < 0) {
    reject_task(c, id, AG_CODE_OUT_OF_MEMORY, NULL);
    return;
  }
  if (rc > 0) {
    reject_task(c, id, rc, msg);
    return;
  }
  if (c->cfg.dpop) url = with_dpop_jkt(url, ag_dpop_jkt(c));
  if (!url) { /* never resolved without the navigation: it would wait for a page that never comes */
    ag_free_secret(txn);
    reject_task(c, id, AG_CODE_OUT_OF_MEMORY, NULL);
    return;
  }
  ag_action_push(c, AG_ACTION_TRANSACTION, 0, 0, txn);
  ag_action_push(c, AG_ACTION_NAVIGATE, id, AG_NAVIGATE_ASSIGN, url);
  resolve_task(c, id, NULL);
}

static void continue_login(ag_client *c, ag_ms now) {
  ag_oidc_flow *f = c->oidc;
  uint32_t id = f->login_id;
  if (f->discovery == DISCOVERY_DONE) authorize(c, id, now);
  else if (f->discovery == DISCOVERY_FAILED) {
    forget_login(f);
    char *why = discovery_reason(c);
    reject_task(c, id, AG_CODE_PROVIDER_ERROR, why ? message("loginWithRedirect: ", why) : NULL);
    ag_free(why);
  }
}

int ag_client_login_redirect(ag_client *c, ag_ms now, const unsigned char *random,
                             size_t random_len, const char *return_to, size_t return_to_len,
                             const char *params_json, size_t params_len, uint32_t *id_out) {
  if (!c || !id_out || !random || random_len < AG_OIDC_RANDOM_BYTES) return AG_ERR_INVALID;
  if (!c->oidc) return ag_refused_task(c, AG_CODE_BAD_CONFIG, AG_NEEDS_OIDC_LOGIN, id_out);
  call *k = ag_call_new(c, TASK);
  if (!k) return AG_ERR_NOMEM;
  *id_out = k->id;
  ag_oidc_flow *f = c->oidc;
  if (f->login_id) resolve_task(c, f->login_id, NULL); /* superseded: this one navigates */
  forget_login(f);
  memcpy(f->random, random, sizeof f->random);
  f->has_return_to = return_to != NULL;
  f->return_to = dup_n(return_to, return_to_len);
  f->return_to_len = return_to_len;
  f->params = dup_n(params_json, params_len);
  f->params_len = params_len;
  if ((return_to && !f->return_to) || (params_json && !f->params)) {
    forget_login(f);
    ag_call_free(c, k);
    return AG_ERR_NOMEM;
  }
  f->login_id = k->id;
  if (f->discovery == DISCOVERY_FAILED || f->discovery == DISCOVERY_NONE) discover(c, now, false);
  continue_login(c, now);
  return ag_finish(c, AG_OK);
}

/* ---- the callback ---- */

static void add_joined(ag_client *c, uint32_t id) {
  ag_oidc_flow *f = c->oidc;
  if (f->n_joined == f->cap_joined) {
    size_t cap = f->cap_joined ? f->cap_joined * 2 : 4;
    uint32_t *grown = ag_calloc(cap, sizeof *grown);
    if (!grown) {
      c->oom = true;
      return;
    }
    if (f->n_joined) memcpy(grown, f->joined, f->n_joined * sizeof *grown);
    ag_free(f->joined);
    f->joined = grown;
    f->cap_joined = cap;
  }
  f->joined[f->n_joined++] = id;
}

/* Settles task `id` as the callback settled. */
static void answer_joined(ag_client *c, uint32_t id) {
  ag_oidc_flow *f = c->oidc;
  if (f->outcome_code == AG_CODE_NONE) resolve_task(c, id, f->outcome_text);
  else reject_task(c, id, f->outcome_code, dup(f->outcome_text));
}

/* "handleRedirectCallback(<page without query>): <why>": the code in the query is a secret. */
static char *callback_message(const ag_oidc_flow *f, char *why) {
  ag_buf m = {0};
  const char *url = f->cb_url ? f->cb_url : "";
  size_t n = 0;
  while (url[n] && url[n] != '?' && url[n] != '#') n++;
  ag_buf_puts(&m, "handleRedirectCallback(");
  ag_buf_put(&m, url, n);
  ag_buf_puts(&m, "): ");
  ag_buf_puts(&m, why);
  ag_free(why);
  return ag_buf_take(&m);
}

static void settle_callback(ag_client *c, ag_ms now, int code, char *text) {
  ag_oidc_flow *f = c->oidc;
  if (code != AG_CODE_NONE && text) text = callback_message(f, text);
  bool waited = f->cb == CB_WAITING || f->cb == CB_EXCHANGING;
  f->cb = CB_SETTLED;
  f->outcome_code = code;
  f->outcome_text = text; /* NULL (out of memory): a rejection says so, a success has no returnTo */
  f->token_id = 0;
  for (size_t i = 0; i < f->n_joined; i++) answer_joined(c, f->joined[i]);
  f->n_joined = 0;
  ag_oidc_callback_free(&f->response);
  ag_oidc_transaction_free(&f->txn);
  if (waited) {
    c->logins_pending--; /* calls that waited for this sign-in */
    ag_settle_waiting(c, now);
  }
}

static char *return_to_json(const ag_oidc_transaction *t) {
  ag_buf b = {0};
  ag_buf_puts(&b, "{\"returnTo\":");
  if (t->return_to) ag_buf_put_json_string(&b, t->return_to);
  else ag_buf_puts(&b, "null");
  ag_buf_putc(&b, '}');
  return ag_buf_take(&b);
}

static void exchange(ag_client *c, ag_ms now) {
  ag_oidc_flow *f = c->oidc;
  char *body =
      ag_oidc_code_body(c->cfg.oidc, f->response.code, f->txn.verifier, f->txn.redirect_uri);
  call *k = body ? own_request(c, AG_SEND_TOKEN, "POST", f->provider.token_endpoint, body) : NULL;
  if (!k) {
    c->oom = true;
    settle_callback(c, now, AG_CODE_PROVIDER_ERROR,
                    message("handleRedirectCallback: out of memory", NULL));
    return;
  }
  f->cb = CB_EXCHANGING;
  f->token_id = k->id;
  ag_send_call(c, k, now);
}

/* Discovery is known: the RFC 9207 rule that needs it, then the one code exchange. */
static void continue_callback(ag_client *c, ag_ms now) {
  ag_oidc_flow *f = c->oidc;
  if (f->discovery == DISCOVERY_FAILED) {
    settle_callback(c, now, AG_CODE_PROVIDER_ERROR, discovery_reason(c));
    return;
  }
  if (f->discovery != DISCOVERY_DONE) return;
  if (!f->response.iss && f->provider.iss_parameter_supported) {
    settle_callback(c, now, AG_CODE_PROVIDER_ERROR,
                    message("the callback has no iss though the provider says it sends one (RFC "
                            "9207); nothing was exchanged",
                            NULL));
    return;
  }
  exchange(c, now);
}

/* Reads the callback against the stored transaction; AG_OK or a refusal (settled). */
static void begin_callback(ag_client *c, ag_ms now, const char *url, size_t len, const char *txn,
                           size_t txn_len) {
  ag_oidc_flow *f = c->oidc;
  char *msg = NULL;
  int rc = ag_oidc_transaction_read(&f->txn, c->cfg.oidc, txn, txn_len, now, &msg);
  if (txn && txn_len) ag_action_push(c, AG_ACTION_TRANSACTION, 0, 0, NULL); /* used once */
  bool changed = false;
  char *clean = ag_oidc_clean_url(url, len, rc == AG_OK && f->txn.fragment, &changed);
  if (!clean) c->oom = true;
  else if (changed) ag_action_push(c, AG_ACTION_NAVIGATE, 0, AG_NAVIGATE_REPLACE, clean);
  else ag_free(clean);
  if (rc == AG_OK) {
    const ag_oidc_provider *p = f->discovery == DISCOVERY_DONE ? &f->provider : NULL;
    rc = ag_oidc_callback_parse(&f->response, url, len, &f->txn, p, &msg);
  }
  if (rc != AG_OK) {
    if (rc < 0) c->oom = true;
    settle_callback(c, now, rc > 0 ? rc : AG_CODE_PROVIDER_ERROR,
                    msg ? msg : message("handleRedirectCallback: out of memory", NULL));
    return;
  }
  f->cb = CB_WAITING;
  c->logins_pending++; /* calls wait for this sign-in's outcome */
  if (f->discovery != DISCOVERY_DONE) discover(c, now, false);
  continue_callback(c, now);
}

/* A later call joins the first when it names no other authorization response. */
static bool joins_first(const ag_oidc_flow *f, const char *url, size_t len) {
  if (!f->cb_url || !len) return f->cb_url != NULL;
  if (strlen(f->cb_url) == len && !memcmp(f->cb_url, url, len)) return true;
  bool changed = false;
  char *clean = ag_oidc_clean_url(url, len, false, &changed);
  bool fragment_changed = false;
  char *clean2 = clean ? ag_oidc_clean_url(url, len, true, &fragment_changed) : NULL;
  ag_free(clean);
  ag_free(clean2);
  return !changed && !fragment_changed;
}

int ag_client_redirect_callback(ag_client *c, ag_ms now, const char *url, size_t url_len,
                                const char *txn, size_t txn_len, uint32_t *id_out) {
  if (!c || !id_out || (!url && url_len)) return AG_ERR_INVALID;
  if (!c->oidc) return ag_refused_task(c, AG_CODE_BAD_CONFIG, AG_NEEDS_OIDC_CALLBACK, id_out);
  call *k = ag_call_new(c, TASK);
  if (!k) return AG_ERR_NOMEM;
  *id_out = k->id;
  ag_oidc_flow *f = c->oidc;
  if (joins_first(f, url, url_len)) {
    if (f->cb == CB_SETTLED) answer_joined(c, k->id);
    else add_joined(c, k->id);
    return ag_finish(c, AG_OK);
  }
  if (f->cb == CB_WAITING || f->cb == CB_EXCHANGING) {
    reject_task(
        c, k->id, AG_CODE_LOGIN_REQUIRED,
        message("handleRedirectCallback: another callback is being handled on this page", NULL));
    return ag_finish(c, AG_OK);
  }
  ag_free(f->cb_url);
  ag_free(f->outcome_text);
  f->outcome_text = NULL;
  f->cb_url = dup_n(url ? url : "", url_len);
  if (!f->cb_url) return ag_call_free(c, k), AG_ERR_NOMEM;
  add_joined(c, k->id);
  begin_callback(c, now, url ? url : "", url_len, txn, txn_len);
  return ag_finish(c, AG_OK);
}

/* ---- token responses ---- */

/*
 * The sub claim of the ID token held, however it came (this tab's sign-in, another
 * tab, storage): a refreshed ID token must name the same user. NULL when none.
 */
static char *held_sub(const ag_client *c, bool *oom) {
  size_t n;
  *oom = false;
  if (!c->tok.id_token) return NULL;
  unsigned char *payload = ag_jwt_payload(c->tok.id_token, strlen(c->tok.id_token), &n);
  cJSON *root = payload ? ag_json_parse((const char *)payload, n) : NULL;
  const cJSON *sub = cJSON_GetObjectItemCaseSensitive(root, "sub");
  char *out = cJSON_IsString(sub) ? dup(sub->valuestring) : NULL;
  *oom = cJSON_IsString(sub) && !out;
  ag_json_free(root);
  if (payload) ag_wipe(payload, n), ag_free(payload);
  return out;
}

/* With dpop, a token the provider did not bind to the key is refused: it would be a bearer. */
static int check_token_type(const ag_client *c, const ag_oidc_grant *g, char **msg) {
  if (!c->cfg.dpop || (g->token_type && !strcmp(g->token_type, "DPoP"))) return AG_OK;
  *msg = message("the token endpoint answered token_type ", g->token_type);
  if (*msg) {
    char *full = message(*msg, ", not DPoP: the provider did not bind the token to the DPoP key "
                               "(enable DPoP for this client at the provider)");
    ag_free(*msg);
    *msg = full;
  }
  return *msg ? AG_CODE_PROVIDER_ERROR : AG_ERR_NOMEM;
}

/* Checks the ID token of a grant (`nonce` NULL: a refresh); on AG_OK the tokens carry it. */
static int take_id_token(ag_client *c, ag_tokens *t, ag_oidc_grant *g, const char *nonce, ag_ms now,
                         char **msg) {
  char *claims = NULL;
  bool oom = false;
  char *sub = nonce ? NULL : held_sub(c, &oom);
  if (oom) return AG_ERR_NOMEM;
  int rc = ag_oidc_id_token_check(c->cfg.oidc, g->id_token, strlen(g->id_token), nonce, sub, now,
                                  &claims, msg);
  ag_free(sub);
  ag_free(claims);
  if (rc != AG_OK) return rc;
  t->id_token = g->id_token;
  g->id_token = NULL;
  return AG_OK;
}

static void on_token(ag_client *c, ag_ms now, int status, const char *body, size_t len) {
  ag_oidc_flow *f = c->oidc;
  char *msg = NULL;
  bool invalid_grant;
  if (status < 200 || status >= 300) {
    settle_callback(c, now, AG_CODE_PROVIDER_ERROR,
                    ag_oidc_token_error("the code exchange", status, body, len, &invalid_grant));
    return;
  }
  ag_tokens t = {0};
  ag_oidc_grant g;
  int rc = ag_tokens_parse_response(&t, &c->cfg.fields, now, body, len);
  if (rc != AG_OK) {
    if (rc == AG_ERR_NOMEM) c->oom = true;
    settle_callback(c, now, AG_CODE_BAD_TOKEN_RESPONSE,
                    message("the token endpoint's answer has no usable access_token", NULL));
    return;
  }
  rc = ag_oidc_grant_parse(&g, body, len, true, &msg);
  if (rc == AG_OK) rc = check_token_type(c, &g, &msg);
  if (rc == AG_OK) rc = take_id_token(c, &t, &g, f->txn.nonce, now, &msg);
  if (rc != AG_OK) {
    ag_tokens_clear(&t);
    ag_oidc_grant_free(&g);
    if (rc < 0) c->oom = true;
    settle_callback(c, now, rc > 0 ? rc : AG_CODE_PROVIDER_ERROR,
                    msg ? msg : message("handleRedirectCallback: out of memory", NULL));
    return;
  }
  ag_oidc_grant_free(&g);
  char *scope; /* without one in the response: the scope the authorization request asked for */
  if (ag_granted_scope(body, len, c->cfg.oidc->scope, &scope) != AG_OK ||
      ag_adopt_session(c, &t, scope, NULL, ag_next_gen(c, now), now, true) != AG_OK) {
    /* Nothing was adopted and the tokens are still ours: forget them, tell the caller. */
    ag_tokens_clear(&t);
    ag_free(scope);
    settle_callback(c, now, AG_CODE_OUT_OF_MEMORY,
                    message("handleRedirectCallback: out of memory keeping the tokens", NULL));
    return;
  }
  settle_callback(c, now, AG_CODE_NONE, return_to_json(&f->txn));
}

/* ---- refresh: the refresh_token grant at the token endpoint ---- */

int ag_oidc_refresh_request(ag_client *c, call *k) {
  ag_oidc_flow *f = c->oidc;
  if (f->discovery != DISCOVERY_DONE) return AG_ERR_STALE;
  k->url = dup(f->provider.token_endpoint);
  k->body = ag_oidc_refresh_body(c->cfg.oidc, c->tok.refresh);
  if (!k->url || !k->body) return AG_ERR_NOMEM;
  k->body_len = strlen(k->body);
  k->content_type = form_type;
  k->credentials = AG_CRED_OMIT;
  return AG_OK;
}

void ag_oidc_refresh_wait(ag_client *c, ag_ms now) {
  c->oidc->refresh_waits = true;
  discover(c, now, false);
}

int ag_oidc_refresh_answer(ag_client *c, ag_tokens *t, const char *body, size_t len, ag_ms now,
                           char **msg) {
  ag_oidc_grant g;
  *msg = NULL;
  int rc = ag_oidc_grant_parse(&g, body, len, false, msg);
  if (rc == AG_OK) rc = check_token_type(c, &g, msg);
  if (rc == AG_OK && g.id_token) rc = take_id_token(c, t, &g, NULL, now, msg);
  else if (rc == AG_OK && c->tok.id_token) { /* no new ID token: the old one still names the user */
    t->id_token = c->tok.id_token;
    c->tok.id_token = NULL;
  }
  ag_oidc_grant_free(&g);
  return rc;
}

char *ag_oidc_refresh_refusal(int status, const char *body, size_t len, bool *invalid_grant) {
  return ag_oidc_token_error("the refresh", status, body, len, invalid_grant);
}

/* ---- logout ---- */

static void finish_logout(ag_client *c) {
  ag_oidc_flow *f = c->oidc;
  uint32_t id = f->logout_id;
  call *r = f->revoke_id ? ag_call_find(c, f->revoke_id) : NULL;
  if (r) ag_call_free(c, r);
  f->revoke_id = 0;
  f->logout_id = 0;
  f->logout_deadline = 0;
  if (f->end_session_url)
    ag_action_push(c, AG_ACTION_NAVIGATE, id, AG_NAVIGATE_ASSIGN, f->end_session_url);
  f->end_session_url = NULL;
  resolve_task(c, id, NULL);
}

int ag_client_logout_redirect(ag_client *c, ag_ms now, int redirect, uint32_t *id_out) {
  if (!c || !id_out) return AG_ERR_INVALID;
  if (!c->oidc) return ag_logout_task(c, now, id_out);
  call *k = ag_call_new(c, TASK);
  if (!k) return AG_ERR_NOMEM;
  *id_out = k->id;
  ag_oidc_flow *f = c->oidc;
  bool known = f && f->discovery == DISCOVERY_DONE;
  char *revoke = NULL;
  if (known && f->provider.revocation_endpoint && c->tok.refresh) {
    revoke = ag_oidc_revoke_body(c->cfg.oidc, c->tok.refresh);
    if (!revoke) return ag_call_free(c, k), AG_ERR_NOMEM;
  }
  if (f && f->logout_id) finish_logout(c); /* an earlier logout still waiting: done now */
  if (known && redirect) {
    f->end_session_url = ag_oidc_end_session_url(c->cfg.oidc, &f->provider, c->tok.id_token);
    if (!f->end_session_url && f->provider.end_session_endpoint) c->oom = true;
  }
  ag_dpop_hold_key(c, true); /* the revocation is signed with the key of the session it ends */
  int rc = ag_client_logout(c, now); /* here and in every tab, before anything leaves */
  if (rc != AG_OK) c->oom = true;
  if (!f) {
    ag_dpop_hold_key(c, false);
    resolve_task(c, k->id, NULL);
    return ag_finish(c, AG_OK);
  }
  f->logout_id = k->id;
  call *r = revoke ? own_request(c, AG_SEND_REVOKE, "POST", f->provider.revocation_endpoint, revoke)
                   : NULL;
  if (revoke && !r) c->oom = true;
  if (r) {
    f->revoke_id = r->id;
    f->logout_deadline = now + REVOKE_WAIT_MS;
    ag_send_call(c, r, now); /* its proof is written here, with the held key */
  }
  ag_dpop_hold_key(c, false);
  if (!r) finish_logout(c);
  return ag_finish(c, AG_OK);
}

/* ---- events for the oidc requests ---- */

bool ag_oidc_owns(int kind) {
  return kind == AG_SEND_DISCOVERY || kind == AG_SEND_TOKEN || kind == AG_SEND_REVOKE;
}

void ag_oidc_response(ag_client *c, call *k, ag_ms now, int status, const char *body, size_t len) {
  ag_oidc_flow *f = c->oidc;
  uint32_t id = k->id;
  int kind = k->kind;
  if (kind != AG_SEND_REVOKE) ag_call_free(c, k);
  if (!f) return;
  if (kind == AG_SEND_DISCOVERY && id == f->discovery_id) on_discovery(c, now, status, body, len);
  else if (kind == AG_SEND_TOKEN && id == f->token_id) on_token(c, now, status, body, len);
  else if (kind == AG_SEND_REVOKE && id == f->revoke_id) finish_logout(c);
  else if (kind == AG_SEND_REVOKE) ag_call_free(c, k);
}

void ag_oidc_network_error(ag_client *c, call *k, ag_ms now) {
  ag_oidc_flow *f = c->oidc;
  int kind = k->kind;
  char *why = NULL;
  if (f && kind == AG_SEND_DISCOVERY && k->id == f->discovery_id)
    why = message("GET ", c->cfg.oidc->discovery_url);
  else if (f && kind == AG_SEND_TOKEN && k->id == f->token_id)
    why = message("POST ", f->provider.token_endpoint);
  if (why) {
    char *msg = message(why, ": the provider could not be reached (network, or CORS: the "
                             "provider must allow this page's origin)");
    ag_free(why);
    why = msg;
  }
  if (kind == AG_SEND_REVOKE && f && k->id == f->revoke_id) {
    finish_logout(c);
    return;
  }
  uint32_t id = k->id;
  ag_call_free(c, k);
  if (!f) return ag_free(why);
  if (kind == AG_SEND_DISCOVERY && id == f->discovery_id) {
    f->discovery_id = 0;
    discovery_failed(c, now, why);
  } else if (kind == AG_SEND_TOKEN && id == f->token_id) {
    settle_callback(c, now, AG_CODE_CORS_OR_NETWORK, why);
  } else {
    ag_free(why);
  }
}

ag_ms ag_oidc_deadline(const ag_client *c) { return c->oidc ? c->oidc->logout_deadline : 0; }

void ag_oidc_key_settled(ag_client *c, ag_ms now) {
  ag_oidc_flow *f = c->oidc;
  if (!f || !f->login_id || f->discovery != DISCOVERY_DONE) return;
  uint32_t id = f->login_id;
  if (ag_dpop_jkt(c)) {
    authorize(c, id, now);
    return;
  }
  forget_login(f);
  reject_task(c, id, AG_CODE_BAD_CONFIG,
              message("loginWithRedirect: the DPoP key could not be made or read (WebCrypto or "
                      "IndexedDB refused)",
                      NULL));
}

void ag_oidc_tick(ag_client *c, ag_ms now) {
  if (c->oidc && c->oidc->logout_id && now >= c->oidc->logout_deadline) finish_logout(c);
}
