/*
 * client.h — the client's state, shared by client.c (the state machine),
 * calls.c (the call table), actions.c (the action ring), tabs.c (the tab protocol),
 * requests.c (the core's own request bodies), explain.c (messages,
 * diagnose) and guard.c. Private.
 */
#ifndef AUTHGATE_CLIENT_H
#define AUTHGATE_CLIENT_H

#include "internal.h"

enum { WAIT_NONE = 0, WAIT_READY = 1, WAIT_REFRESH = 2 };
/* What a call's timer is for: the deadline of the attempt in flight, or the next retry. */
enum { TIMER_NONE = 0, TIMER_ATTEMPT = 1, TIMER_RETRY = 2 };

/*
 * One request: an app call, the core's own (login, refresh, the OpenID ones),
 * or a getAccessToken()/getDpopProof() question. Queued calls are the bulk of
 * the core's memory, so the fields are ordered by size and the small ones are
 * narrow: 120 bytes on wasm32, one 128-byte allocator class with its header.
 */
typedef struct call {
  uint64_t sent_gen; /* token generation it was sent with */
  ag_ms deadline;    /* while waiting */
  ag_ms timeout_ms;  /* per attempt; 0: none */
  ag_ms timer_at;    /* in the timer heap while `timer` is set */
  /* The gate's policy, or own_retry when the call's authgate option gave one: a pointer, as
   * most calls share the gate's. */
  const ag_retry_policy *retry;
  ag_retry_policy *own_retry;
  char *detail;               /* the server's message on a refused login, for REJECT's text */
  const char *method;         /* ag_method_name's: shared when standard, else owned */
  char *url;                  /* final absolute URL */
  char *body;                 /* login/refresh body (a secret) */
  const char *content_type;   /* static string */
  char *dpop_input;           /* DPoP (dpop_flow.c): the signing input of its proof */
  char *proof;                /* the DPoP header of the SEND */
  char *dpop_auth;            /* "DPoP <access>" as signed (ath), a secret */
  struct call *hnext;         /* hash chain */
  struct call *wprev, *wnext; /* wait FIFO */
  uint32_t id;
  size_t timer_ix; /* its slot in the heap */
  size_t body_len;
  int16_t status;     /* the status that ended it, for messages */
  uint8_t kind;       /* enum ag_send_kind */
  uint8_t route;      /* enum ag_route (app calls) */
  uint8_t waiting;    /* WAIT_* while queued */
  uint8_t timer;      /* TIMER_*: what timer_at is for */
  uint8_t retries;    /* retries sent so far (the replay after a 401 is not one); limit <= 10 */
  int8_t credentials; /* enum ag_credentials for the SEND */
  bool own_auth;      /* the caller set Authorization itself: left alone */
  bool in_flight;     /* SEND emitted, no response yet */
  bool replay;        /* this send is the one replay after a 401 */
  bool awaiting_replay;
  bool token_only;      /* getAccessToken(): answered with the token, never sent */
  bool proof_only;      /* getDpopProof(): as token_only, answered with a proof for the token */
  bool signing;         /* DPoP: SIGN emitted, the signature not back yet */
  bool key_wait;        /* to be signed once the key comes (AG_ACTION_KEY) */
  bool nonce_retried;   /* this request was already sent again with a new nonce */
  bool nonce_challenge; /* its response's WWW-Authenticate asked for a nonce */
  bool got_nonce;       /* its response carried a DPoP-Nonce */
} call;

/* One queued action. The ring holds room for two per call (AG_ACTIONS_PER_CALL), so it
 * is kept narrow: 12 bytes on wasm32. */
typedef struct pending {
  uint32_t id;
  const char *text; /* owned (wiped when freed) when `owned`, else a static text */
  int16_t code;     /* enum ag_code, ag_state or ag_send_kind: all small */
  uint8_t type;     /* enum ag_action_type */
  bool owned;
} pending;

typedef struct ag_oidc_flow ag_oidc_flow; /* oidc_flow.c */
/*
 * Actions an entry point may push besides those of its calls (state changes,
 * session, lock, unlock, persist, broadcast, clear storage, the DPoP KEY
 * question): every entry point reserves ring room for AG_ACTIONS_PER_CALL per
 * call plus this many before changing anything.
 */
#define AG_ACTION_SLACK 16
/*
 * A call whose deadline passes takes two in one event: ABORT, then REJECT TIMEOUT.
 * With DPoP a call takes one more kind, SIGN, never with another of its own in
 * the same event (it is signed, then sent when the signature comes).
 */
#define AG_ACTIONS_PER_CALL 2
typedef struct ag_dpop_flow ag_dpop_flow; /* dpop_flow.c */

#define TASK 100 /* a record that only carries an id (not an enum ag_send_kind) */

struct ag_client {
  ag_config cfg;
  int state;
  bool started;
  bool
      oom; /* an unreserved push failed (a bug the sweep test catches); the entry point returns NOMEM */

  /* tokens */
  ag_tokens tok;
  char *bearer; /* "Bearer <access>", a secret */
  uint64_t gen; /* generation of what we hold; orders tabs' messages */
  ag_ms obtained_at;
  bool access_dead; /* the server refused it (401): do not send it again */

  /* refresh: at most one in flight (single flight) */
  bool need_refresh;
  bool lock_wanted; /* LOCK emitted, not granted yet */
  bool lock_held;
  /*
   * The lock came with storage older than tokens another tab said it shared
   * (see ag_client_lock_granted): they are on their way. Until this time no
   * refresh is asked for; then the lock is asked for again and storage reread.
   */
  ag_ms late_tokens_until;
  /* UNLOCK's text: the generation shared while holding the lock */
  char shared_gen[AG_UINT_DIGITS + 1];
  bool initial_refresh;     /* the start-up refresh decides the first state */
  bool initial_had_session; /* ...of a stored session (vs a cookie probe) */
  bool bad_refresh_body;
  bool refresh_oom;    /* the last refresh could not be sent or its answer read: out of memory */
  uint32_t refresh_id; /* the refresh request in flight, 0 when none */
  ag_ms retry_at;      /* back-off after a failed refresh, 0 when none */
  ag_ms refused_until; /* a refused refresh waits for another tab's newer tokens, 0 when none */
  int refused_code;    /* what the waiting calls get if none come */
  int refresh_failures;
  int last_refresh_status; /* the failed refresh's HTTP status; 0: network or none */

  /* calls */
  call **buckets;
  size_t n_buckets;
  size_t n_calls;
  uint32_t next_id;
  int logins_pending; /* login requests not yet answered: calls wait for their outcome */
  call *wait_head, *wait_tail;
  call **timers; /* min-heap on timer_at: attempt deadlines and retry times */
  size_t n_timers, cap_timers;
  uint64_t rng;         /* jitter of retry back-offs, seeded by the embedder */
  bool refresh_stalled; /* the refresh in flight passed its deadline (never re-sent, see tick) */

  /* the session beyond the tokens: what login/refresh answers or an ID token add */
  char *scope;          /* the token response's `scope`, NULL when none */
  char *claims;         /* claims JSON that replace the access JWT's payload (an ID token's) */
  bool session_visible; /* the last SESSION action carried a session (not null) */

  ag_oidc_flow *oidc; /* the OpenID state, NULL without options.oidc */
  ag_dpop_flow *dpop; /* the DPoP key and nonces, NULL without options.dpop */

  /* actions: a ring */
  pending *actions;
  size_t cap_actions, head_action, n_actions;
  char *current_text; /* the drained action's text, freed at the next drain */
  char *scratch;      /* plan/diagnose JSON, freed at the next such call */
};

/* calls.c: the call table (by id) and the FIFO of waiting calls */
/* A call record with room made for it (table, action ring), not registered; NULL on ENOMEM. */
call *ag_call_make(ag_client *c, int kind);
void ag_call_add(ag_client *c, call *k);   /* registers it under a fresh id; cannot fail */
call *ag_call_new(ag_client *c, int kind); /* made and registered; NULL on ENOMEM */
call *ag_call_find(const ag_client *c, uint32_t id);
void ag_call_free(ag_client *c, call *k); /* unlinks it from the table and the wait FIFO */
/* A method as a call holds it: the shared name when it is one of the standard ones
 * byte for byte (most calls: no copy), else a copy; NULL on ENOMEM. */
const char *ag_method_name(const char *method, size_t len);
/* Queues a call until readiness or a refresh; its deadline is readyTimeoutMs away. */
void ag_call_wait(ag_client *c, call *k, int why, ag_ms now);
void ag_call_unwait(ag_client *c, call *k);
void ag_calls_free_all(ag_client *c);

/* timers.c: the heap of call timers. ag_call_make reserves a slot, so arming never fails. */
int ag_timers_reserve(ag_client *c, size_t n);
void ag_timer_arm(ag_client *c, call *k, int what, ag_ms at);
void ag_timer_disarm(ag_client *c, call *k);
call *ag_timer_first(const ag_client *c); /* the call whose timer is due first, or NULL */
void ag_timers_free(ag_client *c);

/* session.c: the session JSON and the SESSION action */
char *ag_session_json(const ag_client *c, ag_ms refresh_at); /* "null" when there is none */
/*
 * The session JSON that tokens `t` (with an access token) would show, built
 * before they are adopted; NULL on ENOMEM.
 */
char *ag_session_json_of(const ag_client *c, const ag_tokens *t, const char *scope,
                         const char *claims, ag_ms refresh_at);
/* Emits SESSION with `json` (owned; NULL: there is none now) when the session changed. */
void ag_session_emit(ag_client *c, char *json);
/* The `scope` string of a token response, or NULL. */
char *ag_session_scope_of(const char *body, size_t len);
void ag_session_forget(ag_client *c); /* scope and claims go with the tokens */

/* actions.c: the action ring. `text` is owned by the ring from here on. */
/* Room for `extra` more actions; AG_ERR_NOMEM (nothing changed) when it cannot grow. */
int ag_actions_reserve(ag_client *c, size_t extra);
/* Room for what an entry point may emit: call it before changing anything. */
#define AG_RESERVE(c) ag_actions_reserve((c), AG_ACTIONS_PER_CALL *(c)->n_calls + AG_ACTION_SLACK)
void ag_action_push(ag_client *c, int type, uint32_t id, int code, char *text);
void ag_action_push_static(ag_client *c, int type, uint32_t id, int code, const char *text);
void ag_emit(ag_client *c, int type);
void ag_actions_clear_current(ag_client *c);
void ag_actions_free_all(ag_client *c);

/* tabs.c: the cross-tab protocol */
void ag_tabs_ask(
    ag_client *c); /* a new tab without shared storage asks the others for the session */
/* Adopts a newer blob from another tab or storage; AG_ERR_STALE / AG_ERR_BAD_BLOB when not. */
int ag_tabs_take_blob(ag_client *c, ag_ms now, const char *blob, size_t len);

/* client.c: the state machine, as far as tabs.c needs it */
/*
 * New tokens from login, refresh, setTokens, another tab or storage (`share`: persist, broadcast).
 * AG_ERR_NOMEM: nothing changed and `t` is still the caller's to clear.
 */
int ag_adopt_tokens(ag_client *c, ag_tokens *t, uint64_t gen, ag_ms now, bool share);
/*
 * The same, with what the session shows besides the tokens, owned from here on (NULL:
 * none): the token response's `scope`, and `claims` JSON (an object, e.g. an ID token's
 * checked payload) that replace the access JWT's payload. Both are in place before the
 * SESSION action goes out.
 */
int ag_adopt_session(ag_client *c, ag_tokens *t, char *scope, char *claims, uint64_t gen, ag_ms now,
                     bool share);
/* When the gate refreshes proactively, 0 when it does not. */
ag_ms ag_refresh_at(const ag_client *c);
/* Signed out, here or in another tab: no tokens, no refresh, anonymous, waiting calls told. */
void ag_sign_out(ag_client *c, uint64_t gen, const char *why);
bool ag_token_usable(const ag_client *c, ag_ms now);
/* An entry point's result: AG_ERR_NOMEM when an allocation failed while emitting. */
int ag_finish(ag_client *c, int rc);

/* client.c, for oidc_flow.c */
/*
 * The scope a token response grants into *out: its `scope`, else `asked` (RFC 6749 5.1:
 * the one requested; NULL: none known). AG_ERR_NOMEM when it could not be read or copied.
 */
int ag_granted_scope(const char *body, size_t len, const char *asked, char **out);
void ag_send_call(ag_client *c, call *k, ag_ms now);
void ag_settle_waiting(ag_client *c, ag_ms now);
uint64_t ag_next_gen(const ag_client *c, ag_ms now);
void ag_resume_refresh(ag_client *c, ag_ms now); /* discovery came: send the refresh that waited */
/* The refresh cannot be sent (discovery failed): back off; calls that needed it reject `why`. */
void ag_refresh_blocked(ag_client *c, ag_ms now, const char *why);

/* oidc_flow.c: the OpenID part of the state machine */
int ag_oidc_flow_new(ag_client *c); /* allocates c->oidc when options.oidc is set */
void ag_oidc_flow_free(ag_client *c);
void ag_oidc_start(ag_client *c, ag_ms now); /* discovery, in the background */
bool ag_oidc_owns(int kind);                 /* SEND_DISCOVERY, SEND_TOKEN, SEND_REVOKE */
void ag_oidc_response(ag_client *c, call *k, ag_ms now, int status, const char *body, size_t len);
void ag_oidc_network_error(ag_client *c, call *k, ag_ms now);
/* The refresh request's URL and body; AG_ERR_STALE when discovery is not done (then wait). */
int ag_oidc_refresh_request(ag_client *c, call *k);
void ag_oidc_refresh_wait(ag_client *c, ag_ms now);
/* A 2xx refresh answer: its ID token checked and kept in `t`; AG_OK or a code with *msg. */
int ag_oidc_refresh_answer(ag_client *c, ag_tokens *t, const char *body, size_t len, ag_ms now,
                           char **msg);
char *ag_oidc_refresh_refusal(int status, const char *body, size_t len, bool *invalid_grant);
ag_ms ag_oidc_deadline(const ag_client *c);        /* logout waiting for the revocation, 0: none */
void ag_oidc_key_settled(ag_client *c, ag_ms now); /* the DPoP key came (or not): a login goes on */
void ag_oidc_tick(ag_client *c, ag_ms now);

/* client.c, for dpop_flow.c */
/*
 * A call's method and URL, resolved as gate.fetch resolves it (baseUrl's path a prefix):
 * AG_OK with *u (the caller frees it), AG_ERR_NOMEM, or the URL's fault (*why says what;
 * k->url then holds the input as given, bounded, for the message).
 */
int ag_call_target(ag_client *c, call *k, const char *method, size_t method_len, const char *url,
                   size_t url_len, ag_url *u, const char **why);
/* Where a protected call (or a getAccessToken/getDpopProof record) goes now: out, waiting, refused. */
void ag_dispatch(ag_client *c, call *k, ag_ms now);
void ag_send_now(ag_client *c, call *k,
                 ag_ms now); /* the SEND itself (the proof, if any, is ready) */
/* A request that cannot leave (no proof): an app call rejects `why`; the core's own fail as
 * on the network. */
void ag_request_failed(ag_client *c, call *k, ag_ms now, int code, const char *why);
/* Rejects call `k` with `code` and frees it. Cannot fail: without memory for the whole
 * message, the reason alone goes out. */
void ag_reject_call(ag_client *c, call *k, int code, const char *why);

/* dpop_flow.c: DPoP in the state machine */
int ag_dpop_flow_new(ag_client *c); /* allocates c->dpop when options.dpop is set */
void ag_dpop_flow_free(ag_client *c);
/*
 * Whether request `k` carries a proof; if so it is signed first: SIGN now, SEND later
 * (a getDpopProof record: SIGN now, RESOLVE with the proof later).
 */
bool ag_dpop_sign_first(ag_client *c, call *k, ag_ms now);
/* A use_dpop_nonce answer to `k` that is to be sent again (once) with the new nonce. */
bool ag_dpop_nonce_retry(ag_client *c, call *k, int status, const char *body, size_t len);
const char *ag_dpop_jkt(const ag_client *c); /* the key's thumbprint, NULL without a key */
/* No key yet: asks for it (AG_ACTION_KEY, once); the caller waits for ag_client_dpop_key. */
void ag_dpop_want_key(ag_client *c);
void ag_dpop_forget_key(ag_client *c); /* signed out: the next session may have a new key */
/* While held, forgetting waits: logout signs its revocation first. Releasing forgets then. */
void ag_dpop_hold_key(ag_client *c, bool hold);
/* What the OpenID and DPoP entry points answer a gate without those options (both wasm builds). */
#define AG_NEEDS_OIDC_LOGIN "loginWithRedirect() needs options.oidc {issuer, clientId, redirectUri}"
#define AG_NEEDS_OIDC_CALLBACK "handleRedirectCallback() needs options.oidc"
#define AG_NEEDS_DPOP "getDpopProof() needs options.dpop"
int ag_refused_task(ag_client *c, int code, const char *why, uint32_t *id_out);
int ag_logout_task(ag_client *c, ag_ms now, uint32_t *id_out); /* logout() without oidc */
void ag_call_forget_proof(call *k); /* wipes and frees a call's DPoP strings */

/* requests.c */
int ag_build_login_body(ag_client *c, call *k, const char *credentials_json, size_t len);
int ag_build_refresh_body(ag_client *c, call *k);
/* Credentials for the core's own login and refresh requests to `url`. */
int ag_own_request_credentials(const ag_client *c, const char *url);
bool ag_config_same_origin_as_page(const ag_client *c, const ag_url *u);

/* explain.c: the message of a rejection (heap string, NULL on ENOMEM). */
char *ag_explain_rejection(const ag_client *c, const call *k, int code, const char *why);
/* What the server must send for this page (CORS), as one clause. */
void ag_put_cors_needs(ag_buf *b, const char *page_origin, bool authorization, bool credentials);

/* names.c */
const char *ag_credentials_name(int mode); /* "omit", ...; "default" for AG_CRED_UNSET */
/* The same reason as a static string, for when there is no memory for the whole message. */
const char *ag_explain_fixed(const ag_client *c, const call *k, int code, const char *why);

#endif
