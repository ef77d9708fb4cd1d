/*
 * explain.c — words. Every rejection names the method and URL, says what
 * happened and what to do; a failure before any response says whether it
 * was most likely CORS or the network and what the server must allow.
 * Tokens never appear here.
 */
#include "client.h"
#include "json.h"

#include <string.h>

/* What the server must send for this page, as one clause. */
void ag_put_cors_needs(ag_buf *b, const char *page_origin, bool authorization, bool credentials) {
  ag_buf_puts(b, "Access-Control-Allow-Origin: ");
  ag_buf_puts(b, page_origin);
  if (authorization) ag_buf_puts(b, ", Access-Control-Allow-Headers: Authorization");
  if (credentials) ag_buf_puts(b, ", Access-Control-Allow-Credentials: true");
}

/* What a request carried that makes a cross-origin browser send a preflight (OPTIONS) first. */
typedef struct sent {
  const char *method;       /* a method other than GET, HEAD, POST, or NULL */
  bool authorization;       /* an Authorization header (the gate's bearer or the caller's own) */
  const char *content_type; /* a Content-Type the core set that is not CORS-safelisted, or NULL */
  bool credentials;         /* credentials: 'include' */
} sent;

static bool simple_method(const char *m) {
  return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "POST");
}

/* Only what the core knows was on the request: app calls keep the caller's other headers. */
static sent what_was_sent(const call *k) {
  sent s = {NULL, false, NULL, k->credentials == AG_CRED_INCLUDE};
  if (k->method && !simple_method(k->method)) s.method = k->method;
  if (k->kind == AG_SEND_CALL) s.authorization = k->own_auth || k->route == AG_ROUTE_PROTECTED;
  else if (k->content_type && strcmp(k->content_type, "application/x-www-form-urlencoded"))
    s.content_type = k->content_type; /* login, refresh: a JSON body */
  return s;
}

static void put_preflight_reasons(ag_buf *b, const sent *s) {
  const char *sep = ": ";
  int n = 0;
  if (s->method) {
    ag_buf_puts(b, sep), ag_buf_puts(b, "the method "), ag_buf_puts(b, s->method), n++;
    sep = " and ";
  }
  if (s->authorization) ag_buf_puts(b, sep), ag_buf_puts(b, "the Authorization header"), n++;
  sep = n ? " and " : ": ";
  if (s->content_type) {
    ag_buf_puts(b, sep), ag_buf_puts(b, "the Content-Type "), ag_buf_puts(b, s->content_type), n++;
  }
  ag_buf_puts(b, n > 1 ? " make" : " makes");
  ag_buf_puts(b, " the browser send a preflight (OPTIONS) first");
}

/* What the server must send for this request from this page, as one clause. */
static void put_allows(ag_buf *b, const char *page_origin, const sent *s) {
  ag_buf_puts(b, "Access-Control-Allow-Origin: ");
  ag_buf_puts(b, page_origin);
  if (s->method) ag_buf_puts(b, ", Access-Control-Allow-Methods: "), ag_buf_puts(b, s->method);
  if (s->authorization || s->content_type) {
    ag_buf_puts(b, ", Access-Control-Allow-Headers: ");
    if (s->authorization) ag_buf_puts(b, "Authorization");
    if (s->authorization && s->content_type) ag_buf_puts(b, ", ");
    if (s->content_type) ag_buf_puts(b, "Content-Type");
  }
  if (s->credentials) ag_buf_puts(b, ", Access-Control-Allow-Credentials: true");
}

/* The CORS_OR_NETWORK detail for a request that got no response. */
static char *explain_network_failure(const ag_config *c, const call *k, const ag_url *u) {
  ag_buf b = {0};
  char *origin = ag_url_origin(u);
  bool cross = c->page_origin[0] && origin && strcmp(origin, c->page_origin);
  sent s = what_was_sent(k);
  bool preflight = s.method || s.authorization || s.content_type;
  if (!cross) {
    ag_buf_puts(&b,
                "no response: the server is down or unreachable (a network failure, not CORS: ");
    ag_buf_puts(&b, c->page_origin[0] ? "the request is same-origin"
                                      : "there is no browser page, so no CORS");
    ag_buf_puts(&b, "). Check that it runs and that the URL's port is right.");
  } else {
    ag_buf_puts(&b, "no response from ");
    ag_buf_puts(&b, origin);
    ag_buf_puts(&b, ". It is another origin than the page (");
    ag_buf_puts(&b, c->page_origin);
    ag_buf_puts(&b, "), so the browser most likely blocked it (CORS)");
    if (preflight) put_preflight_reasons(&b, &s);
    ag_buf_puts(&b, ". The server must answer ");
    ag_buf_puts(&b, preflight ? "the preflight and the request" : "the request");
    ag_buf_puts(&b, " with ");
    put_allows(&b, c->page_origin, &s);
    if (s.credentials)
      ag_buf_puts(&b, " (credentials are included, so the origin must be echoed, not '*')");
    ag_buf_puts(&b,
                ". If it does, the server is down or unreachable. gate.diagnose(url) tells which.");
  }
  ag_free(origin);
  return ag_buf_take(&b);
}

static const char *default_reason(const ag_client *c, const call *k, int code) {
  switch (code) {
  case AG_CODE_NO_TOKEN:
    return "this protected route needs a bearer token and the gate has none (anonymous). Log in "
           "first (gate.login or gate.setTokens), or list the path in options.public if it needs "
           "no token";
  case AG_CODE_SESSION_EXPIRED:
    return "the session expired. Log in again";
  case AG_CODE_FOREIGN_ORIGIN:
    return "the request carries the gate's access token to an origin that is not trusted for it. "
           "Remove the Authorization header, or add the origin to options.trustedOrigins";
  case AG_CODE_READY_TIMEOUT:
    return "the auth state was still unknown after options.readyTimeoutMs; the call was not sent";
  case AG_CODE_REFRESH_FAILED:
    if (c->refresh_stalled)
      return "the refresh request got no answer within its time limit. It is not sent again (the "
             "server may have rotated the refresh token already): its late answer, another tab's "
             "tokens or a new login settles it; the call was not sent";
    if (c->refresh_oom)
      return "the token could not be refreshed in time (the gate ran out of memory sending the "
             "refresh or reading its answer); the call was not sent, the user is still logged in "
             "and the gate keeps retrying";
    if (c->bad_refresh_body)
      return "the refresh endpoint answered without a usable token; the call was not sent, the "
             "gate keeps retrying";
    return c->last_refresh_status
               ? "the token could not be refreshed in time (the refresh endpoint answered with a "
                 "server error); the call was not sent, the user is still logged in and the gate "
                 "keeps retrying"
               : "the token could not be refreshed in time (no answer from the refresh endpoint: "
                 "network or CORS); the call was not sent, the user is still logged in and the "
                 "gate keeps retrying";
  case AG_CODE_BAD_TOKEN_RESPONSE:
    return "the server's answer has no usable access token (check options.tokenFields)";
  case AG_CODE_LOGIN_FAILED:
    return "the login endpoint refused the credentials";
  case AG_CODE_TIMEOUT:
    return k->kind == AG_SEND_LOGIN ? "no answer in time; the login was aborted. Try again, or "
                                      "raise options.timeoutMs"
                                    : "no response in time; the request was aborted. Raise "
                                      "timeoutMs (per call: { authgate: { timeoutMs } }) or "
                                      "check the server";
  case AG_CODE_CORS_OR_NETWORK:
    return "no response: the browser blocked the request (CORS) or the server is unreachable. "
           "gate.diagnose(url) tells which";
  case AG_CODE_OUT_OF_MEMORY:
    return "the gate ran out of memory handling this call; it was not sent. Retry it";
  default:
    return "rejected";
  }
}

const char *ag_explain_fixed(const ag_client *c, const call *k, int code, const char *why) {
  return why ? why : default_reason(c, k, code);
}

char *ag_explain_rejection(const ag_client *c, const call *k, int code, const char *why) {
  if (code == AG_CODE_CORS_OR_NETWORK && k->url) {
    ag_url u;
    if (ag_url_parse(&u, k->url, strlen(k->url)) == AG_OK) {
      char *detail = explain_network_failure(&c->cfg, k, &u);
      ag_url_free(&u);
      if (!detail) return NULL;
      char *msg = NULL;
      ag_buf b = {0};
      ag_buf_puts(&b, k->method);
      ag_buf_putc(&b, ' ');
      ag_buf_puts(&b, k->url);
      ag_buf_puts(&b, ": ");
      ag_buf_puts(&b, detail);
      ag_free(detail);
      msg = ag_buf_take(&b);
      return msg;
    }
  }
  ag_buf b = {0};
  if (k->token_only) {
    if (k->proof_only) {
      ag_buf_puts(&b, "getDpopProof(");
      ag_buf_puts(&b, k->method);
      ag_buf_putc(&b, ' ');
      ag_buf_puts(&b, k->url);
      ag_buf_putc(&b, ')');
    } else {
      ag_buf_puts(&b, "getAccessToken()");
    }
    if (code == AG_CODE_NO_TOKEN && !why)
      why = "the gate has no token (anonymous). Log in first (gate.login or gate.setTokens)";
  } else {
    ag_buf_puts(&b, k->method ? k->method : (k->kind == AG_SEND_LOGIN ? "POST" : "GET"));
    ag_buf_putc(&b, ' ');
    ag_buf_puts(&b, k->url ? k->url : k->kind == AG_SEND_LOGIN ? "(login)" : "(an invalid URL)");
  }
  ag_buf_puts(&b, ": ");
  ag_buf_puts(&b, why ? why : default_reason(c, k, code));
  if (code == AG_CODE_TIMEOUT) {
    ag_buf_puts(&b, " (limit ");
    ag_buf_put_uint(&b, (uint64_t)k->timeout_ms);
    ag_buf_puts(&b, " ms)");
  }
  if (k->detail) {
    ag_buf_puts(&b, ". The server said: ");
    ag_buf_put_json_string(&b, k->detail);
  }
  if (k->status) {
    ag_buf_puts(&b, " (HTTP ");
    ag_buf_put_uint(&b, (uint64_t)k->status);
    ag_buf_putc(&b, ')');
  }
  ag_buf_putc(&b, '.');
  return ag_buf_take(&b);
}

/* ---- the server's own words ---- */

static const char *message_of(const cJSON *root) {
  static const char *const keys[] = {"error_description", "detail", "message", "error", NULL};
  for (int i = 0; keys[i]; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
    if (cJSON_IsArray(v)) v = cJSON_GetObjectItemCaseSensitive(v->child, "msg"); /* FastAPI 422 */
    if (cJSON_IsString(v) && v->valuestring[0]) return v->valuestring;
  }
  return NULL;
}

/* Length of at most `cap` bytes of s that does not cut a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t cap) {
  size_t n = strlen(s);
  if (n <= cap) return n;
  while (cap > 0 && ((unsigned char)s[cap] & 0xC0) == 0x80) cap--;
  return cap;
}

char *ag_explain_server_message(const char *body, size_t len) {
  if (!body || !len || len > AG_MAX_JSON) return NULL;
  cJSON *root = ag_json_parse(body, len);
  const char *text = cJSON_IsObject(root) ? message_of(root) : NULL;
  char *out = NULL;
  if (text) {
    size_t n = utf8_prefix(text, AG_MAX_SERVER_MESSAGE);
    bool cut = n < strlen(text);
    ag_buf b = {0};
    for (size_t i = 0; i < n; i++) ag_buf_putc(&b, (unsigned char)text[i] < 0x20 ? ' ' : text[i]);
    if (cut) ag_buf_puts(&b, "...");
    out = ag_buf_take(&b);
  }
  ag_json_free(root);
  return out;
}
