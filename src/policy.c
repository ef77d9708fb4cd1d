/*
 * policy.c — the options (AuthGateOptions as JSON) and the route policy:
 * which URLs are protected, public or foreign, and the credentials mode of
 * each call. Options are strict: an unknown key or a wrong type is
 * BAD_CONFIG with a reason, because a typo here ("baseURL") would otherwise
 * silently send calls unauthenticated.
 */
#include "internal.h"
#include "json.h"
#include "oidc.h"

#include <string.h>

#define MAX_OPTION_STRING 2048

typedef struct parse_ctx {
  ag_config *cfg;
  char *err;
  size_t err_cap;
  int rc;
} parse_ctx;

/* Records the first failure only; later ones are consequences of it. */
static int fail(parse_ctx *p, int rc, const char *what, const char *detail) {
  if (p->rc != AG_OK) return p->rc;
  p->rc = rc;
  if (p->err && p->err_cap) {
    ag_buf b = {0};
    ag_buf_puts(&b, what);
    ag_buf_puts(&b, detail);
    char *s = ag_buf_take(&b);
    const char *msg = s ? s : "out of memory";
    size_t n = strlen(msg);
    if (n >= p->err_cap) n = p->err_cap - 1;
    memcpy(p->err, msg, n);
    p->err[n] = '\0';
    ag_free(s);
  }
  return rc;
}

/* BAD_CONFIG for `name`, with the URL parser's reason when it gave one. */
static int fail_because(parse_ctx *p, const char *name, const char *what, const char *why) {
  if (!why) return fail(p, AG_ERR_BAD_CONFIG, name, what);
  ag_buf b = {0};
  ag_buf_puts(&b, what);
  ag_buf_puts(&b, ": ");
  ag_buf_puts(&b, why);
  char *detail = ag_buf_take(&b);
  int rc = fail(p, detail ? AG_ERR_BAD_CONFIG : AG_ERR_NOMEM, detail ? name : "out of memory",
                detail ? detail : "");
  ag_free(detail);
  return rc;
}

static void free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++) ag_free(list[i]);
  ag_free(list);
}

static int dup_into(parse_ctx *p, char **dst, const char *s) {
  *dst = ag_strndup(s, strlen(s));
  return *dst ? AG_OK : fail(p, AG_ERR_NOMEM, "out of memory", "");
}

/* A string option; NULL item means "absent", which callers default. */
static int get_string(parse_ctx *p, const cJSON *item, const char *name, const char **out) {
  *out = NULL;
  if (!item) return AG_OK;
  if (!cJSON_IsString(item) || !item->valuestring[0])
    return fail(p, AG_ERR_BAD_CONFIG, name, " must be a non-empty string");
  if (strlen(item->valuestring) > MAX_OPTION_STRING)
    return fail(p, AG_ERR_BAD_CONFIG, name, " is too long");
  *out = item->valuestring;
  return AG_OK;
}

/* One of `choices` (NULL-terminated); *out gets its index, or keeps its default. */
static int get_choice(parse_ctx *p, const cJSON *item, const char *name, const char *const *choices,
                      int *out, const char *hint) {
  const char *s;
  if (get_string(p, item, name, &s) != AG_OK || !s) return p->rc;
  for (int i = 0; choices[i]; i++) {
    if (strcmp(s, choices[i]) == 0) {
      *out = i;
      return AG_OK;
    }
  }
  return fail(p, AG_ERR_BAD_CONFIG, name, hint);
}

static int get_number(parse_ctx *p, const cJSON *item, const char *name, double lo, double hi,
                      double *out) {
  if (!item) return AG_OK;
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= lo && item->valuedouble <= hi))
    return fail(p, AG_ERR_BAD_CONFIG, name, " must be a number in range");
  *out = item->valuedouble;
  return AG_OK;
}

/* A string array; `check` validates each element (NULL: any non-empty string). */
static int get_list(parse_ctx *p, const cJSON *item, const char *name, char ***out, size_t *n,
                    bool paths) {
  if (!item) return AG_OK;
  int count = cJSON_GetArraySize(item);
  if (!cJSON_IsArray(item) || count > AG_MAX_PREFIXES)
    return fail(p, AG_ERR_BAD_CONFIG, name, " must be an array of at most 64 strings");
  free_list(*out, *n);
  *n = 0;
  *out = ag_calloc((size_t)count + 1, sizeof(char *));
  if (!*out) return fail(p, AG_ERR_NOMEM, "out of memory", "");
  const cJSON *el;
  cJSON_ArrayForEach(el, item) {
    const char *s;
    if (get_string(p, el, name, &s) != AG_OK) return p->rc;
    if (paths && s[0] != '/')
      return fail(p, AG_ERR_BAD_CONFIG, name, " entries must be paths starting with '/'");
    if (dup_into(p, &(*out)[*n], s) != AG_OK) return p->rc;
    (*n)++;
  }
  return AG_OK;
}

/* Resolves an endpoint like a call (baseUrl's path a prefix); it must stay on a trusted origin. */
static int get_endpoint(parse_ctx *p, const cJSON *item, const char *name, char **out, ag_url *u) {
  const char *s, *why;
  if (get_string(p, item, name, &s) != AG_OK || !s) return p->rc;
  int rc = ag_config_resolve(p->cfg, s, strlen(s), u, &why);
  if (rc == AG_ERR_NOMEM) return fail(p, AG_ERR_NOMEM, "out of memory", "");
  if (rc != AG_OK) return fail_because(p, name, " is not a valid URL or path", why);
  *out = ag_url_serialize(u);
  bool foreign = ag_config_route(p->cfg, u) == AG_ROUTE_FOREIGN;
  if (!*out) return fail(p, AG_ERR_NOMEM, "out of memory", "");
  if (foreign) return fail(p, AG_ERR_BAD_CONFIG, name, " must be on baseUrl's or a trusted origin");
  return AG_OK;
}

static int parse_base(parse_ctx *p, const cJSON *root, const char *page_origin, size_t page_len) {
  ag_config *c = p->cfg;
  const char *base;
  if (get_string(p, cJSON_GetObjectItemCaseSensitive(root, "baseUrl"), "baseUrl", &base) != AG_OK)
    return p->rc;
  if (!base) return fail(p, AG_ERR_BAD_CONFIG, "baseUrl", " is required");
  int rc;
  const char *why;
  ag_url page;
  /* An opaque page origin ("null": file://, sandboxed frames) counts as no page. */
  int page_rc =
      page_origin && page_len ? ag_url_parse(&page, page_origin, page_len) : AG_ERR_BAD_URL;
  if (page_rc == AG_ERR_NOMEM) return fail(p, AG_ERR_NOMEM, "out of memory", "");
  if (page_rc == AG_OK) {
    c->page_origin = ag_url_origin(&page); /* normalised, so comparisons are exact */
    rc = ag_url_resolve_why(&c->base, &page, base, strlen(base), &why);
    c->page = page; /* kept parsed: every call compares its origin with the page's */
  } else {
    c->page_origin = ag_strndup("", 0);
    rc = ag_url_resolve_why(&c->base, NULL, base, strlen(base), &why);
  }
  if (!c->page_origin || rc == AG_ERR_NOMEM) return fail(p, AG_ERR_NOMEM, "out of memory", "");
  if (rc != AG_OK)
    return fail_because(p, "baseUrl",
                        c->page_origin[0]
                            ? " is not a valid http(s) URL or path"
                            : " must be an absolute http(s) URL outside a browser page",
                        why);
  c->base_url = ag_url_serialize(&c->base);
  return c->base_url ? AG_OK : fail(p, AG_ERR_NOMEM, "out of memory", "");
}

static int parse_trusted(parse_ctx *p, const cJSON *item) {
  ag_config *c = p->cfg;
  if (get_list(p, item, "trustedOrigins", &c->trusted, &c->n_trusted, false) != AG_OK) return p->rc;
  for (size_t i = 0; i < c->n_trusted; i++) {
    ag_url u;
    int rc = ag_url_parse(&u, c->trusted[i], strlen(c->trusted[i]));
    if (rc == AG_ERR_NOMEM) return fail(p, AG_ERR_NOMEM, "out of memory", "");
    if (rc != AG_OK)
      return fail(p, AG_ERR_BAD_CONFIG, "trustedOrigins", " entries must be http(s) origins");
    char *origin = ag_url_origin(&u);
    ag_url_free(&u);
    if (!origin) return fail(p, AG_ERR_NOMEM, "out of memory", "");
    ag_free(c->trusted[i]);
    c->trusted[i] = origin;
  }
  return AG_OK;
}

static int parse_login(parse_ctx *p, const cJSON *login) {
  if (!login) return AG_OK;
  if (!cJSON_IsObject(login)) return fail(p, AG_ERR_BAD_CONFIG, "login", " must be an object");
  static const char *const bodies[] = {"json", "form", NULL};
  get_endpoint(p, cJSON_GetObjectItemCaseSensitive(login, "url"), "login.url", &p->cfg->login_url,
               &p->cfg->login);
  get_choice(p, cJSON_GetObjectItemCaseSensitive(login, "body"), "login.body", bodies,
             &p->cfg->login_body, " must be 'json' or 'form'");
  if (p->rc == AG_OK && !p->cfg->login_url)
    return fail(p, AG_ERR_BAD_CONFIG, "login.url", " is required");
  return p->rc;
}

static int parse_refresh(parse_ctx *p, const cJSON *refresh) {
  if (!refresh) return AG_OK;
  if (!cJSON_IsObject(refresh)) return fail(p, AG_ERR_BAD_CONFIG, "refresh", " must be an object");
  static const char *const sends[] = {"json", "form", "cookie", NULL};
  const char *field;
  get_endpoint(p, cJSON_GetObjectItemCaseSensitive(refresh, "url"), "refresh.url",
               &p->cfg->refresh_url, &p->cfg->refresh);
  get_choice(p, cJSON_GetObjectItemCaseSensitive(refresh, "send"), "refresh.send", sends,
             &p->cfg->refresh_send, " must be 'json', 'form' or 'cookie'");
  if (get_string(p, cJSON_GetObjectItemCaseSensitive(refresh, "field"), "refresh.field", &field) ==
          AG_OK &&
      field) {
    ag_free(p->cfg->refresh_field);
    p->cfg->refresh_field = NULL;
    dup_into(p, &p->cfg->refresh_field, field);
  }
  if (p->rc == AG_OK && !p->cfg->refresh_url)
    return fail(p, AG_ERR_BAD_CONFIG, "refresh.url", " is required");
  return p->rc;
}

static int parse_token_fields(parse_ctx *p, const cJSON *tf) {
  ag_token_fields *f = &p->cfg->fields;
  if (tf && !cJSON_IsObject(tf))
    return fail(p, AG_ERR_BAD_CONFIG, "tokenFields", " must be an object");
  const cJSON *el;
  cJSON_ArrayForEach(el, tf) {
    if (strcmp(el->string, "access") && strcmp(el->string, "refresh") &&
        strcmp(el->string, "expiresIn"))
      return fail(p, AG_ERR_BAD_CONFIG, "tokenFields", " accepts only access, refresh, expiresIn");
  }
  get_list(p, cJSON_GetObjectItemCaseSensitive(tf, "access"), "tokenFields.access", &f->access,
           &f->n_access, false);
  get_list(p, cJSON_GetObjectItemCaseSensitive(tf, "refresh"), "tokenFields.refresh", &f->refresh,
           &f->n_refresh, false);
  get_list(p, cJSON_GetObjectItemCaseSensitive(tf, "expiresIn"), "tokenFields.expiresIn",
           &f->expires_in, &f->n_expires_in, false);
  return p->rc;
}

static const char *const known_keys[] = {
    "baseUrl",        "protect",     "public",   "trustedOrigins", "login",
    "refresh",        "tokenFields", "storage",  "storageKey",     "refreshSkewSeconds",
    "readyTimeoutMs", "credentials", "crossTab", "timeoutMs",      "retry",
    "dpop",           NULL};

static int check_keys(parse_ctx *p, const cJSON *root) {
  const cJSON *el;
  cJSON_ArrayForEach(el, root) {
    bool known = !strcmp(el->string, "oidc"); /* read by oidc.c */
    for (int i = 0; known_keys[i] && !known; i++) known = strcmp(el->string, known_keys[i]) == 0;
    if (!known)
      return fail(p, AG_ERR_BAD_CONFIG, el->string, " is not an option (check its spelling)");
  }
  return AG_OK;
}

static int set_defaults(parse_ctx *p) {
  ag_config *c = p->cfg;
  c->protect = ag_calloc(2, sizeof(char *));
  if (!c->protect) return fail(p, AG_ERR_NOMEM, "out of memory", "");
  c->n_protect = 1;
  if (dup_into(p, &c->protect[0], "/") != AG_OK) return p->rc;
  if (dup_into(p, &c->refresh_field, "refresh") != AG_OK) return p->rc;
  if (dup_into(p, &c->storage_key, "authgate") != AG_OK) return p->rc;
  c->refresh_skew_ms = 30000;
  c->ready_timeout_ms = 10000;
  c->credentials = AG_CRED_SAME_ORIGIN;
  c->cross_tab = true;
  return AG_OK;
}

/* What app calls get unless they say otherwise: timeoutMs and retry. */
static int parse_calls(parse_ctx *p, const cJSON *root) {
  double timeout = 0;
  get_number(p, cJSON_GetObjectItemCaseSensitive(root, "timeoutMs"), "timeoutMs", 0, 3600000,
             &timeout);
  p->cfg->timeout_ms = (ag_ms)(int64_t)timeout;
  const char *why = "";
  if (ag_retry_policy_parse(&p->cfg->retry, cJSON_GetObjectItemCaseSensitive(root, "retry"),
                            &why) != AG_OK)
    return fail(p, AG_ERR_BAD_CONFIG, why, "");
  return p->rc;
}

static int parse_root(parse_ctx *p, const cJSON *root, const char *page_origin, size_t page_len) {
  ag_config *c = p->cfg;
  static const char *const storages[] = {"memory", "session", "local", NULL};
  static const char *const creds[] = {"", "omit", "same-origin", "include", NULL};
  if (check_keys(p, root) || set_defaults(p) || parse_base(p, root, page_origin, page_len))
    return p->rc;
  get_list(p, cJSON_GetObjectItemCaseSensitive(root, "protect"), "protect", &c->protect,
           &c->n_protect, true);
  get_list(p, cJSON_GetObjectItemCaseSensitive(root, "public"), "public", &c->public_, &c->n_public,
           true);
  parse_trusted(p, cJSON_GetObjectItemCaseSensitive(root, "trustedOrigins"));
  if (p->rc) return p->rc;
  parse_login(p, cJSON_GetObjectItemCaseSensitive(root, "login"));
  parse_refresh(p, cJSON_GetObjectItemCaseSensitive(root, "refresh"));
  parse_token_fields(p, cJSON_GetObjectItemCaseSensitive(root, "tokenFields"));
  const char *why = NULL;
  int rc = ag_oidc_options_parse(&c->oidc, root, c->page_origin[0] ? &c->page : NULL, &why);
  if (rc != AG_OK) return fail(p, rc, why, "");
  get_choice(p, cJSON_GetObjectItemCaseSensitive(root, "storage"), "storage", storages, &c->storage,
             " must be 'memory', 'session' or 'local'");
  get_choice(p, cJSON_GetObjectItemCaseSensitive(root, "credentials"), "credentials", creds,
             &c->credentials, " must be 'omit', 'same-origin' or 'include'");
  const char *key;
  if (get_string(p, cJSON_GetObjectItemCaseSensitive(root, "storageKey"), "storageKey", &key) ==
          AG_OK &&
      key) {
    ag_free(c->storage_key);
    c->storage_key = NULL;
    dup_into(p, &c->storage_key, key);
  }
  double skew = c->refresh_skew_ms / 1000, ready = c->ready_timeout_ms;
  get_number(p, cJSON_GetObjectItemCaseSensitive(root, "refreshSkewSeconds"), "refreshSkewSeconds",
             0, 86400, &skew);
  get_number(p, cJSON_GetObjectItemCaseSensitive(root, "readyTimeoutMs"), "readyTimeoutMs", 1,
             3600000, &ready);
  c->refresh_skew_ms = (ag_ms)(int64_t)(skew * 1000);
  c->ready_timeout_ms = (ag_ms)(int64_t)ready;
  const cJSON *cross = cJSON_GetObjectItemCaseSensitive(root, "crossTab");
  if (cross && !cJSON_IsBool(cross))
    return fail(p, AG_ERR_BAD_CONFIG, "crossTab", " must be a boolean");
  if (cross) c->cross_tab = cJSON_IsTrue(cross);
  const cJSON *dpop = cJSON_GetObjectItemCaseSensitive(root, "dpop");
  if (dpop && !cJSON_IsBool(dpop)) return fail(p, AG_ERR_BAD_CONFIG, "dpop", " must be a boolean");
  c->dpop = cJSON_IsTrue(dpop);
  if (c->dpop && !c->oidc)
    return fail(p, AG_ERR_BAD_CONFIG, "dpop",
                " needs oidc: DPoP binds the tokens an OpenID provider issues");
  return parse_calls(p, root);
}

int ag_config_parse(ag_config *out, const char *json, size_t len, const char *page_origin,
                    size_t page_origin_len, char *err, size_t err_cap) {
  memset(out, 0, sizeof *out);
  parse_ctx p = {out, err, err_cap, AG_OK};
  if (err && err_cap) err[0] = '\0';
  if (!json || len > AG_MAX_JSON)
    return fail(&p, AG_ERR_BAD_CONFIG, "options", " are missing or too large");
  unsigned long failures = ag_alloc_failures();
  cJSON *root = ag_json_parse(json, len);
  if (!root && ag_alloc_failures() != failures) return AG_ERR_NOMEM; /* not the options' fault */
  if (!root || !cJSON_IsObject(root)) {
    ag_json_free(root);
    return fail(&p, AG_ERR_BAD_CONFIG, "options", " must be a JSON object");
  }
  parse_root(&p, root, page_origin, page_origin_len);
  ag_json_free(root);
  if (p.rc != AG_OK) ag_config_free(out);
  return p.rc;
}

void ag_config_free(ag_config *c) {
  if (!c) return;
  ag_url_free(&c->base);
  ag_free(c->base_url);
  ag_free(c->page_origin);
  free_list(c->protect, c->n_protect);
  free_list(c->public_, c->n_public);
  free_list(c->trusted, c->n_trusted);
  ag_free(c->login_url);
  ag_free(c->refresh_url);
  ag_url_free(&c->page);
  ag_url_free(&c->login);
  ag_url_free(&c->refresh);
  ag_free(c->refresh_field);
  free_list(c->fields.access, c->fields.n_access);
  free_list(c->fields.refresh, c->fields.n_refresh);
  free_list(c->fields.expires_in, c->fields.n_expires_in);
  ag_free(c->storage_key);
  ag_oidc_options_free(c->oidc);
  memset(c, 0, sizeof *c);
}

static bool is_trusted_origin(const ag_config *c, const ag_url *u) {
  if (ag_url_same_origin(u, &c->base)) return true;
  if (!c->n_trusted) return false;
  char *origin = ag_url_origin(u);
  bool found = false;
  for (size_t i = 0; origin && i < c->n_trusted && !found; i++)
    found = !strcmp(origin, c->trusted[i]);
  ag_free(origin);
  return found;
}

static bool matches_any(char *const *prefixes, size_t n, const char *path) {
  for (size_t i = 0; i < n; i++)
    if (ag_path_has_prefix(path, prefixes[i])) return true;
  return false;
}

/* The gate's own endpoints are public: calling them must never need a token. */
static bool is_endpoint(const char *endpoint, const ag_url *e, const ag_url *u) {
  return endpoint && e->path && ag_url_same_origin(e, u) && !strcmp(e->path, u->path);
}

int ag_config_resolve(const ag_config *c, const char *ref, size_t len, ag_url *out,
                      const char **why) {
  return ag_url_resolve_prefixed(out, &c->base, ref, len, why);
}

int ag_config_route(const ag_config *c, const ag_url *u) {
  if (!is_trusted_origin(c, u)) return AG_ROUTE_FOREIGN;
  if (matches_any(c->public_, c->n_public, u->path) || is_endpoint(c->login_url, &c->login, u) ||
      is_endpoint(c->refresh_url, &c->refresh, u))
    return AG_ROUTE_PUBLIC;
  return matches_any(c->protect, c->n_protect, u->path) ? AG_ROUTE_PROTECTED : AG_ROUTE_PUBLIC;
}

int ag_config_credentials(const ag_config *c, const ag_url *u, int requested) {
  if (requested != AG_CRED_UNSET) return requested;
  return ag_url_same_origin(u, &c->base) ? c->credentials : AG_CRED_UNSET;
}
