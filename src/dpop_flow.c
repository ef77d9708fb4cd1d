/*
 * dpop_flow.c — DPoP (RFC 9449) in the state machine. Every request that
 * carries a proof (the code exchange, the refresh and the revocation at the
 * provider, and each protected app call) is signed before it is sent: the
 * core writes the proof's signing input, a SIGN action takes it to the
 * shim's WebCrypto key, and ag_client_dpop_signature brings the signature
 * back, when the SEND leaves with the finished proof. The rules are in
 * dpop.c; this file sequences them.
 *
 * The key itself is the shim's (WebCrypto, IndexedDB): the core asks for it
 * (AG_ACTION_KEY) when something needs it and it has none, at the first
 * sign-in and again after every sign-out, since the next session may be
 * bound to a key another tab made; what needs it waits meanwhile.
 *
 * A use_dpop_nonce answer is sent again once with the nonce it carried and
 * is never "the 401": one app call makes at most four requests (send, nonce
 * retry, the replay after one refresh, its nonce retry).
 */
#include "client.h"
#include "dpop.h"

#include <string.h>

struct ag_dpop_flow {
  ag_dpop_key key;
  bool has_key;
  bool key_asked; /* AG_ACTION_KEY emitted, no answer yet */
  bool held;      /* a forget waits until the logout's revocation is signed */
  bool forget;    /* ...and one was asked for */
  unsigned char seed[AG_DPOP_SEED_BYTES]; /* jti = SHA-256(seed || counter), cut to size */
  uint64_t counter;
  ag_dpop_nonces nonces;
};

static char *dup(const char *s) { return s ? ag_strndup(s, strlen(s)) : NULL; }

int ag_dpop_flow_new(ag_client *c) {
  if (!c->cfg.dpop) return AG_OK;
  c->dpop = ag_calloc(1, sizeof *c->dpop);
  return c->dpop ? AG_OK : AG_ERR_NOMEM;
}

void ag_dpop_flow_free(ag_client *c) {
  ag_dpop_flow *f = c->dpop;
  if (!f) return;
  ag_dpop_key_free(&f->key);
  ag_dpop_nonces_free(&f->nonces);
  ag_wipe(f->seed, sizeof f->seed);
  ag_free(f);
  c->dpop = NULL;
}

void ag_dpop_want_key(ag_client *c) {
  if (!c->dpop || c->dpop->has_key || c->dpop->key_asked) return;
  c->dpop->key_asked = true;
  ag_emit(c, AG_ACTION_KEY);
}

void ag_dpop_forget_key(ag_client *c) {
  ag_dpop_flow *f = c->dpop;
  if (!f) return;
  if (f->held) {
    f->forget = true;
    return;
  }
  ag_dpop_key_free(&f->key);
  f->has_key = false; /* a KEY still unanswered stays asked: its answer is awaited, not a second */
}

void ag_dpop_hold_key(ag_client *c, bool hold) {
  ag_dpop_flow *f = c->dpop;
  if (!f) return;
  f->held = hold;
  if (!hold && f->forget) {
    f->forget = false;
    ag_dpop_forget_key(c);
  }
}

const char *ag_dpop_jkt(const ag_client *c) {
  return c->dpop && c->dpop->has_key ? c->dpop->key.jkt : NULL;
}

static void resume_waiting(ag_client *c, ag_ms now);

int ag_client_dpop_key(ag_client *c, ag_ms now, const char *jwk, size_t jwk_len,
                       const unsigned char *seed, size_t seed_len) {
  if (!c || !c->dpop || (jwk && (!seed || seed_len < AG_DPOP_SEED_BYTES))) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM; /* nothing changed */
  ag_dpop_flow *f = c->dpop;
  if (jwk) {
    ag_dpop_key k;
    const char *why;
    int rc = ag_dpop_key_parse(&k, jwk, jwk_len, &why);
    if (rc != AG_OK) return rc;
    ag_dpop_key_free(&f->key);
    f->key = k;
    f->has_key = true;
    memcpy(f->seed, seed, sizeof f->seed);
  }
  f->key_asked = false;
  resume_waiting(c, now);
  ag_oidc_key_settled(c, now);
  return ag_finish(c, AG_OK);
}

/* The next jti's bytes: unique per proof (a counter), unpredictable (the shim's random seed). */
static void next_jti(ag_dpop_flow *f, unsigned char out[AG_DPOP_JTI_BYTES]) {
  unsigned char counter[8], digest[AG_SHA256_SIZE];
  uint64_t n = ++f->counter;
  for (int i = 7; i >= 0; i--, n >>= 8) counter[i] = (unsigned char)(n & 0xff);
  ag_sha256_ctx h;
  ag_sha256_init(&h);
  ag_sha256_update(&h, f->seed, sizeof f->seed);
  ag_sha256_update(&h, counter, sizeof counter);
  ag_sha256_final(&h, digest);
  memcpy(out, digest, AG_DPOP_JTI_BYTES);
  ag_wipe(digest, sizeof digest);
}

static char *origin_of(const char *url) {
  ag_url u;
  if (!url || ag_url_parse(&u, url, strlen(url)) != AG_OK) return NULL;
  char *o = ag_url_origin(&u);
  ag_url_free(&u);
  return o;
}

/* Writes k's signing input (ath of `token` when given) and emits SIGN; AG_OK or an error. */
static int ask_signature(ag_client *c, call *k, const char *token, ag_ms now) {
  ag_dpop_flow *f = c->dpop;
  unsigned char jti[AG_DPOP_JTI_BYTES];
  next_jti(f, jti);
  char *origin = origin_of(k->url);
  if (!origin) return AG_ERR_NOMEM; /* k->url was serialised by the core: it parses */
  ag_dpop_claims in = {k->method, k->url, token, ag_dpop_nonce_get(&f->nonces, origin), jti, now};
  int rc = ag_dpop_signing_input(&f->key, &in, &k->dpop_input);
  ag_free(origin);
  if (rc != AG_OK) return rc;
  char *copy = dup(k->dpop_input);
  if (!copy) return AG_ERR_NOMEM;
  k->signing = true;
  ag_action_push(c, AG_ACTION_SIGN, k->id, 0, copy);
  return AG_OK;
}

static bool is_app_call_with_token(const call *k) {
  return k->kind == AG_SEND_CALL && k->route == AG_ROUTE_PROTECTED && !k->own_auth &&
         !k->token_only;
}

static bool needs_proof(const call *k) {
  return k->kind == AG_SEND_TOKEN || k->kind == AG_SEND_REFRESH || k->kind == AG_SEND_REVOKE ||
         is_app_call_with_token(k) || k->proof_only;
}

static void sign_proof_task(ag_client *c, call *k, ag_ms now);

static const char no_memory[] = "the gate ran out of memory writing the DPoP proof; nothing was "
                                "sent. Retry it";

bool ag_dpop_sign_first(ag_client *c, call *k, ag_ms now) {
  if (!c->dpop || !needs_proof(k)) return false;
  ag_call_forget_proof(k);
  if (!c->dpop->has_key) { /* signed when the key comes */
    k->key_wait = true;
    ag_dpop_want_key(c);
    return true;
  }
  if (k->proof_only) { /* getDpopProof, its token ready: resolved with the proof once signed */
    sign_proof_task(c, k, now);
    return true;
  }
  bool app = is_app_call_with_token(k);
  if (app) k->dpop_auth = dup(c->bearer); /* the token the proof's ath names */
  int rc =
      app && !k->dpop_auth ? AG_ERR_NOMEM : ask_signature(c, k, app ? c->tok.access : NULL, now);
  if (rc != AG_OK) { /* told, never sent without its proof */
    ag_call_forget_proof(k);
    ag_request_failed(c, k, now, rc == AG_ERR_NOMEM ? AG_CODE_OUT_OF_MEMORY : AG_CODE_BAD_CONFIG,
                      rc == AG_ERR_NOMEM ? no_memory : "the DPoP proof could not be written");
  }
  return true;
}

int ag_client_dpop_signature(ag_client *c, ag_ms now, uint32_t id, const unsigned char *sig,
                             size_t sig_len) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || !k->signing) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM; /* nothing changed */
  k->signing = false;
  char *proof = NULL;
  int rc = sig ? ag_dpop_finish(k->dpop_input, sig, sig_len, &proof) : AG_ERR_INVALID;
  static const char unsigned_[] = "the DPoP proof could not be signed (WebCrypto refused, or the "
                                  "signature is not the 64 bytes of r || s)";
  int code = rc == AG_ERR_NOMEM ? AG_CODE_OUT_OF_MEMORY : AG_CODE_BAD_CONFIG;
  const char *why = rc == AG_ERR_NOMEM ? no_memory : unsigned_;
  if (k->proof_only) {
    if (!proof) {
      ag_reject_call(c, k, code, why);
    } else {
      ag_call_free(c, k);
      ag_action_push(c, AG_ACTION_RESOLVE, id, 0, proof);
    }
  } else if (!proof) {
    ag_call_forget_proof(k);
    ag_request_failed(c, k, now, code, why);
  } else {
    k->proof = proof;
    ag_send_now(c, k, now);
  }
  return ag_finish(c, AG_OK);
}

int ag_client_response_headers(ag_client *c, uint32_t id, const char *dpop_nonce,
                               size_t dpop_nonce_len, const char *www_authenticate,
                               size_t www_authenticate_len) {
  if (!c) return AG_ERR_INVALID;
  call *k = ag_call_find(c, id);
  if (!k || !k->in_flight) return AG_ERR_INVALID;
  bool got = false;
  if (c->dpop && dpop_nonce) { /* every DPoP-Nonce counts, whatever the status (RFC 9449 8.2) */
    char *origin = origin_of(k->url);
    int rc = origin ? ag_dpop_nonce_put(&c->dpop->nonces, origin, dpop_nonce, dpop_nonce_len)
                    : AG_ERR_NOMEM;
    ag_free(origin);
    if (rc == AG_ERR_NOMEM) return AG_ERR_NOMEM; /* the nonce store is unchanged */
    got = rc == AG_OK;
  }
  k->got_nonce = got;
  k->nonce_challenge = false;
  if (!c->dpop) return AG_OK;
  k->nonce_challenge =
      www_authenticate && ag_dpop_www_auth_wants_nonce(www_authenticate, www_authenticate_len);
  return AG_OK;
}

bool ag_dpop_nonce_retry(ag_client *c, call *k, int status, const char *body, size_t len) {
  if (!c->dpop || !k->proof) return false;
  bool challenge = k->kind == AG_SEND_CALL ? status == 401 && k->nonce_challenge
                                           : ag_dpop_token_wants_nonce(status, body, len);
  bool got = k->got_nonce;
  k->got_nonce = k->nonce_challenge = false;
  return ag_dpop_retry_with_nonce(challenge, got, &k->nonce_retried);
}

static void sign_proof_task(ag_client *c, call *k, ag_ms now) {
  int rc = ask_signature(c, k, c->tok.access, now);
  if (rc == AG_ERR_NOMEM) ag_reject_call(c, k, AG_CODE_OUT_OF_MEMORY, no_memory);
  else if (rc != AG_OK)
    ag_reject_call(c, k, AG_CODE_BAD_CONFIG, "the DPoP proof could not be written");
}

/* A ws: or wss: URL (leading C0 controls and spaces skipped, as the URL parser does). */
static bool is_websocket_url(const char *url, size_t len) {
  size_t i = 0;
  while (i < len && (unsigned char)url[i] <= 0x20) i++;
  size_t n = len - i;
  if (n < 3 || (url[i] | 0x20) != 'w' || (url[i + 1] | 0x20) != 's') return false;
  return url[i + 2] == ':' || (n >= 4 && (url[i + 2] | 0x20) == 's' && url[i + 3] == ':');
}

static const char websocket_url[] =
    "a DPoP proof is for an HTTP request (RFC 9449), and a WebSocket opens with one: pass the URL "
    "of its handshake, https:// for wss:// (http:// for ws://), with method GET";

/*
 * getDpopProof: getAccessToken()'s record (token_only), answered with a proof
 * for the token instead of the token, so it waits as getAccessToken does: for
 * readiness, for a refresh under way, for the refresh of a due token.
 */
int ag_client_dpop_proof(ag_client *c, ag_ms now, const char *method, size_t method_len,
                         const char *url, size_t url_len, uint32_t *id_out) {
  if (!c || !id_out || (!url && url_len)) return AG_ERR_INVALID;
  if (!c->dpop) return ag_refused_task(c, AG_CODE_BAD_CONFIG, AG_NEEDS_DPOP, id_out);
  /* Built whole before it is registered: AG_ERR_NOMEM leaves nothing behind. */
  call *k = AG_RESERVE(c) == AG_OK ? ag_call_make(c, AG_SEND_CALL) : NULL;
  if (!k) return AG_ERR_NOMEM;
  k->token_only = k->proof_only = true;
  k->route = AG_ROUTE_PROTECTED;
  /* Resolved as gate.fetch resolves it, so the proof's htu is where the caller's request goes. */
  ag_url u;
  const char *why = NULL;
  int rc = ag_call_target(c, k, method, method_len, url, url_len, &u, &why);
  if (rc == AG_ERR_NOMEM) return ag_call_free(c, k), AG_ERR_NOMEM;
  const char *bad = NULL;
  if (rc == AG_OK) ag_url_free(&u);
  else bad = url && is_websocket_url(url, url_len) ? websocket_url : why;
  ag_call_add(c, k);
  *id_out = k->id;
  if (bad) ag_reject_call(c, k, AG_CODE_BAD_CONFIG, bad);
  else ag_dispatch(c, k, now);
  return ag_finish(c, AG_OK);
}

static const char no_key[] = "the DPoP key could not be made or read (WebCrypto or IndexedDB "
                             "refused)";

/* The key came (or could not be had): what waited for it is signed now, or fails. */
static void resume_one(ag_client *c, call *k, ag_ms now) {
  k->key_wait = false;
  if (k->proof_only) { /* placed again: the token may have changed while the key was read */
    if (!c->dpop->has_key) ag_reject_call(c, k, AG_CODE_BAD_CONFIG, no_key);
    else ag_dispatch(c, k, now);
  } else if (!c->dpop->has_key) {
    ag_request_failed(c, k, now, AG_CODE_BAD_CONFIG, no_key);
  } else if (is_app_call_with_token(k) && !c->bearer) {
    ag_request_failed(c, k, now, AG_CODE_BAD_CONFIG,
                      "signed out while the DPoP key was being read");
  } else {
    ag_dpop_sign_first(c, k, now);
  }
}

/*
 * In the order they were made, without allocating (the key is already taken):
 * the waiting call with the smallest id above the last one, among those that
 * existed when the key came (what resuming them makes is not theirs to wait).
 */
static void resume_waiting(ag_client *c, ag_ms now) {
  uint32_t last = 0, bound = c->next_id;
  for (;;) {
    call *next = NULL;
    for (size_t b = 0; b < c->n_buckets; b++)
      for (call *k = c->buckets[b]; k; k = k->hnext)
        if (k->key_wait && k->id > last && k->id <= bound && (!next || k->id < next->id)) next = k;
    if (!next) return;
    last = next->id;
    resume_one(c, next, now);
  }
}
