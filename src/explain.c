/*
 * explain.c — words. Every rejection names the method and URL, says what
 * happened and what to do; a failure before any response says whether it
 * was most likely CORS or the network and what the server must allow;
 * diagnose() turns three probes into one cause. Tokens never appear here.
 */
#include "client.h"

#include <string.h>

const char *ag_strerror(int err) {
  switch (err) {
  case AG_OK:
    return "ok";
  case AG_ERR_NOMEM:
    return "out of memory";
  case AG_ERR_BAD_CONFIG:
    return "bad options";
  case AG_ERR_BAD_TOKENS:
    return "unusable token response";
  case AG_ERR_BAD_BLOB:
    return "malformed stored or broadcast tokens";
  case AG_ERR_STALE:
    return "older than the tokens held";
  case AG_ERR_BAD_URL:
    return "invalid URL";
  case AG_ERR_INVALID:
    return "invalid argument";
  case AG_ERR_TOO_LARGE:
    return "input too large";
  default:
    return "unknown error";
  }
}

static const char *const code_names[] = {"",
                                         "NO_TOKEN",
                                         "SESSION_EXPIRED",
                                         "FOREIGN_ORIGIN",
                                         "READY_TIMEOUT",
                                         "CORS_OR_NETWORK",
                                         "REFRESH_FAILED",
                                         "BAD_CONFIG",
                                         "BAD_TOKEN_RESPONSE",
                                         "LOGIN_FAILED"};

const char *ag_code_name(int code) {
  if (code < 0 || code >= (int)(sizeof code_names / sizeof *code_names)) return "";
  return code_names[code];
}

const char *ag_state_name(int state) {
  static const char *const names[] = {"initializing", "authenticated", "anonymous", "refreshing"};
  return state >= 0 && state <= 3 ? names[state] : "initializing";
}

static const char *credentials_name(int mode) {
  static const char *const names[] = {"default", "omit", "same-origin", "include"};
  return mode >= 0 && mode <= 3 ? names[mode] : "default";
}

/* What the server must send for this page, as one clause. */
static void put_cors_needs(ag_buf *b, const char *page_origin, bool authorization,
                           bool credentials) {
  ag_buf_puts(b, "Access-Control-Allow-Origin: ");
  ag_buf_puts(b, page_origin);
  if (authorization) ag_buf_puts(b, ", Access-Control-Allow-Headers: Authorization");
  if (credentials) ag_buf_puts(b, ", Access-Control-Allow-Credentials: true");
}

char *ag_explain_network_failure(const ag_config *c, const char *method, const ag_url *u,
                                 bool sent_authorization, int credentials) {
  ag_buf b = {0};
  char *origin = ag_url_origin(u);
  bool cross = c->page_origin[0] && origin && strcmp(origin, c->page_origin);
  bool creds = credentials == AG_CRED_INCLUDE;
  if (!cross) {
    ag_buf_puts(
        &b, "no response: the server is down or unreachable (a network failure, not CORS: "
            "the request is same-origin). Check that it runs and that the URL's port is right.");
  } else {
    ag_buf_puts(&b, "no response from ");
    ag_buf_puts(&b, origin);
    ag_buf_puts(&b, ". It is another origin than the page (");
    ag_buf_puts(&b, c->page_origin);
    ag_buf_puts(&b, "), so the browser most likely blocked it (CORS)");
    if (sent_authorization)
      ag_buf_puts(&b,
                  ": the Authorization header makes the browser send a preflight (OPTIONS) first");
    ag_buf_puts(&b, ". The server must answer ");
    ag_buf_puts(&b, sent_authorization ? "the preflight and the request" : "the request");
    ag_buf_puts(&b, " with ");
    put_cors_needs(&b, c->page_origin, sent_authorization, creds);
    if (creds)
      ag_buf_puts(&b, " (credentials are included, so the origin must be echoed, not '*')");
    ag_buf_puts(&b,
                ". If it does, the server is down or unreachable. gate.diagnose(url) tells which.");
  }
  (void)method;
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
  default:
    (void)k;
    return "rejected";
  }
}

char *ag_explain_rejection(const ag_client *c, const call *k, int code, const char *why) {
  if (code == AG_CODE_CORS_OR_NETWORK && k->url) {
    ag_url u;
    if (ag_url_parse(&u, k->url, strlen(k->url)) == AG_OK) {
      bool auth = k->own_auth || k->route == AG_ROUTE_PROTECTED;
      char *detail = ag_explain_network_failure(&c->cfg, k->method, &u, auth, k->credentials);
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
  ag_buf_puts(&b, k->method ? k->method : (k->kind == AG_SEND_LOGIN ? "POST" : "GET"));
  ag_buf_putc(&b, ' ');
  ag_buf_puts(&b, k->url ? k->url : k->kind == AG_SEND_LOGIN ? "(login)" : "(an invalid URL)");
  ag_buf_puts(&b, ": ");
  ag_buf_puts(&b, why ? why : default_reason(c, k, code));
  if (k->status) {
    ag_buf_puts(&b, " (HTTP ");
    ag_buf_put_uint(&b, (uint64_t)k->status);
    ag_buf_putc(&b, ')');
  }
  ag_buf_putc(&b, '.');
  return ag_buf_take(&b);
}

/* ---- plan and diagnose ---- */

typedef struct plan {
  char *url;
  char *origin;
  bool cross;
  bool protected_;
  bool sends_token;
  int credentials;
} plan;

static int make_plan(const ag_client *c, const char *url, size_t len, plan *p) {
  memset(p, 0, sizeof *p);
  ag_url u;
  if (!url || len > AG_MAX_URL || ag_url_resolve(&u, &c->cfg.base, url, len) != AG_OK)
    return AG_ERR_BAD_URL;
  int route = ag_config_route(&c->cfg, &u);
  p->url = ag_url_serialize(&u);
  p->origin = ag_url_origin(&u);
  p->cross = !ag_config_same_origin_as_page(c, &u);
  p->protected_ = route == AG_ROUTE_PROTECTED;
  p->sends_token = p->protected_;
  p->credentials = ag_config_credentials(&c->cfg, &u, AG_CRED_UNSET);
  ag_url_free(&u);
  return p->url && p->origin ? AG_OK : AG_ERR_NOMEM;
}

static void plan_free(plan *p) {
  ag_free(p->url);
  ag_free(p->origin);
}

static void put_key(ag_buf *b, const char *key) {
  ag_buf_putc(b, ',');
  ag_buf_put_json_string(b, key);
  ag_buf_putc(b, ':');
}

static void put_bool(ag_buf *b, const char *key, bool v) {
  put_key(b, key);
  ag_buf_puts(b, v ? "true" : "false");
}

static void put_plan(ag_buf *b, const ag_client *c, const plan *p) {
  ag_buf_puts(b, "{\"url\":");
  ag_buf_put_json_string(b, p->url);
  put_key(b, "origin");
  ag_buf_put_json_string(b, c->cfg.page_origin);
  put_key(b, "target");
  ag_buf_put_json_string(b, p->origin);
  put_bool(b, "crossOrigin", p->cross);
  put_bool(b, "protected", p->protected_);
  put_bool(b, "sendsToken", p->sends_token);
  put_key(b, "credentials");
  ag_buf_put_json_string(b, credentials_name(p->credentials));
}

static const char *keep_scratch(ag_client *c, ag_buf *b) {
  ag_free(c->scratch);
  c->scratch = ag_buf_take(b);
  return c->scratch;
}

const char *ag_client_plan(ag_client *c, const char *url, size_t len) {
  if (!c) return NULL;
  plan p;
  ag_buf b = {0};
  if (make_plan(c, url, len, &p) == AG_OK) {
    put_plan(&b, c, &p);
    ag_buf_putc(&b, '}');
  } else {
    b.failed = true;
  }
  plan_free(&p);
  return keep_scratch(c, &b);
}

static void put_cause(ag_buf *b, const ag_client *c, const plan *p, int reachable, int simple,
                      int auth) {
  bool creds = p->credentials == AG_CRED_INCLUDE;
  if (!reachable) {
    ag_buf_puts(b, "The server at ");
    ag_buf_puts(b, p->origin);
    ag_buf_puts(b, " did not answer at all: it is down, the port is wrong or a proxy misroutes it "
                   "(not a CORS problem).");
  } else if (!p->cross) {
    ag_buf_puts(b, "Same-origin request: CORS does not apply; the server answered");
    if (auth) {
      ag_buf_putc(b, ' ');
      ag_buf_put_uint(b, (uint64_t)auth);
    }
    ag_buf_putc(b, '.');
  } else if (!simple && !auth) {
    ag_buf_puts(b, "The server answers, but not with CORS headers for ");
    ag_buf_puts(b, c->cfg.page_origin);
    ag_buf_puts(b, ": add the page origin to the server's allowed origins.");
  } else if (!auth) {
    ag_buf_puts(b, "The server allows ");
    ag_buf_puts(b, c->cfg.page_origin);
    ag_buf_puts(b, " for simple requests but the preflight for the Authorization header fails: "
                   "the server must allow the Authorization header");
    ag_buf_puts(b, creds ? " and credentials (" : " (");
    put_cors_needs(b, c->cfg.page_origin, true, creds);
    ag_buf_puts(b, "). If it already does, its answer to the authorized request (often a 401 or "
                   "403 from an auth layer that runs before the CORS middleware) lacks "
                   "Access-Control-Allow-Origin, which hides that status from the page.");
  } else if (auth == 401 || auth == 403) {
    ag_buf_puts(b, "CORS is fine: the server answered ");
    ag_buf_put_uint(b, (uint64_t)auth);
    ag_buf_puts(b, " to a request with a placeholder bearer, so a failure here is authentication "
                   "(a missing, expired or invalid token), not CORS.");
  } else {
    ag_buf_puts(b, "CORS is fine: the server answered ");
    ag_buf_put_uint(b, (uint64_t)auth);
    ag_buf_puts(b, " to the request as the gate sends it.");
  }
}

static void put_diagnosis(ag_buf *b, const ag_client *c, const plan *p, int reachable, int simple,
                          int auth) {
  bool creds = p->credentials == AG_CRED_INCLUDE;
  bool preflight = p->cross && p->sends_token;
  put_plan(b, c, p);
  put_bool(b, "reachable", reachable != 0);
  put_key(b, "preflight");
  ag_buf_puts(b, "{\"needed\":");
  ag_buf_puts(b, preflight ? "true,\"reasons\":[\"the Authorization header\"]"
                           : "false,\"reasons\":[]");
  ag_buf_puts(b, ",\"ok\":");
  ag_buf_puts(b, !preflight || !reachable ? "null" : auth ? "true" : "false");
  ag_buf_putc(b, '}');
  put_key(b, "status");
  if (auth) ag_buf_put_uint(b, (uint64_t)auth);
  else ag_buf_puts(b, "null");
  put_key(b, "serverMustAllow");
  ag_buf_puts(b, "{\"origin\":");
  ag_buf_put_json_string(b, p->cross ? c->cfg.page_origin : "");
  ag_buf_puts(b, ",\"methods\":[\"GET\",\"POST\",\"PUT\",\"PATCH\",\"DELETE\"],\"headers\":");
  ag_buf_puts(b, preflight ? "[\"Authorization\",\"Content-Type\"]" : "[]");
  put_bool(b, "credentials", p->cross && creds);
  ag_buf_putc(b, '}');
  put_key(b, "cause");
  ag_buf cause = {0};
  put_cause(&cause, c, p, reachable, simple, auth);
  char *text = ag_buf_take(&cause);
  if (!text) b->failed = true;
  else ag_buf_put_json_string(b, text);
  ag_free(text);
  ag_buf_putc(b, '}');
}

const char *ag_client_diagnose(ag_client *c, const char *url, size_t len, int reachable,
                               int simple_status, int auth_status) {
  if (!c) return NULL;
  plan p;
  ag_buf b = {0};
  if (make_plan(c, url, len, &p) == AG_OK) {
    int simple = simple_status > 0 && simple_status < 1000 ? simple_status : 0;
    int auth = auth_status > 0 && auth_status < 1000 ? auth_status : 0;
    put_diagnosis(&b, c, &p, reachable || simple || auth, simple, auth);
  } else {
    b.failed = true;
  }
  plan_free(&p);
  return keep_scratch(c, &b);
}
