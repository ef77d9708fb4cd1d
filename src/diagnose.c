/*
 * diagnose.c — the request plan for a URL and diagnose(): three probes the
 * shim made (no-cors, a simple CORS GET, the request as the gate sends it)
 * turned into one Diagnosis JSON object with the likely cause.
 */
#include "client.h"

#include <string.h>

typedef struct plan {
  char *url;
  char *origin;
  bool cross;
  bool protected_; /* a protected route: the gate sends the token there */
  int credentials;
} plan;

static int make_plan(const ag_client *c, const char *url, size_t len, plan *p) {
  memset(p, 0, sizeof *p);
  ag_url u;
  if (!url || ag_config_resolve(&c->cfg, url, len, &u, NULL) != AG_OK) return AG_ERR_BAD_URL;
  int route = ag_config_route(&c->cfg, &u);
  p->url = ag_url_serialize(&u);
  p->origin = ag_url_origin(&u);
  p->cross = !ag_config_same_origin_as_page(c, &u);
  p->protected_ = route == AG_ROUTE_PROTECTED;
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
  put_key(b, "origin"); /* the URL's; the page's is pageOrigin */
  ag_buf_put_json_string(b, p->origin);
  put_key(b, "pageOrigin");
  ag_buf_put_json_string(b, c->cfg.page_origin);
  put_bool(b, "crossOrigin", p->cross);
  put_bool(b, "protected", p->protected_);
  put_key(b, "credentials");
  ag_buf_put_json_string(b, ag_credentials_name(p->credentials));
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
    ag_put_cors_needs(b, c->cfg.page_origin, true, creds);
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
  bool preflight = p->cross && p->protected_;
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
