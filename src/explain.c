/*
 * explain.c — words. Every rejection names the method and URL, says what
 * happened and what to do; a failure before any response says whether it
 * was most likely CORS or the network and what the server must allow.
 * Tokens never appear here.
 */
#include "client.h"

#include <string.h>

/* What the server must send for this page, as one clause. */
void ag_put_cors_needs(ag_buf *b, const char *page_origin, bool authorization, bool credentials) {
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
    ag_put_cors_needs(&b, c->page_origin, sent_authorization, creds);
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
  case AG_CODE_CORS_OR_NETWORK:
    return "no response: the browser blocked the request (CORS) or the server is unreachable. "
           "gate.diagnose(url) tells which";
  case AG_CODE_OUT_OF_MEMORY:
    return "the gate ran out of memory handling this call; it was not sent. Retry it";
  default:
    (void)k;
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
