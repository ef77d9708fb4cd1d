/*
 * guard.c — the verdict on a raw fetch() that bypassed the gate
 * (guardGlobalFetch), for a working gate and for one whose options were
 * refused. Raw calls resolve against the page (the document's base URL),
 * never with baseUrl's prefix rule: that is where the browser sends them, and
 * a routed call must go exactly there.
 */
#include "client.h"
#include "json.h"

#include <string.h>

enum { DISAGREE = 1 }; /* raw_target: the core and the browser name different origins */

/* The page's URL parsed, else `fallback` (the page origin), else no base (NULL). */
static const ag_url *page_base(ag_url *parsed, const char *page_url, size_t page_len,
                               const ag_url *fallback) {
  if (page_url && page_len && ag_url_parse(parsed, page_url, page_len) == AG_OK) return parsed;
  return fallback && fallback->scheme ? fallback : NULL;
}

/*
 * Where a raw fetch of `url` goes. `href` is the browser's own resolution of
 * it (NULL when the shim has none): it stands in when the core's refused
 * subset (IDNA, non-canonical IPv4, ...) keeps the core from resolving `url`,
 * and must name the same origin otherwise. Returns AG_OK (*out set),
 * AG_ERR_BAD_URL (nothing the core can judge: not http(s), not a URL),
 * DISAGREE or AG_ERR_NOMEM.
 */
static int raw_target(const ag_url *page, const char *url, size_t url_len, const char *href,
                      size_t href_len, ag_url *out) {
  int ours = ag_url_resolve(out, page, url, url_len);
  if (ours == AG_ERR_NOMEM || !href) return ours == AG_ERR_TOO_LARGE ? AG_ERR_BAD_URL : ours;
  ag_url theirs;
  int rc = ag_url_parse(&theirs, href, href_len);
  if (rc == AG_ERR_NOMEM) return ag_url_free(out), AG_ERR_NOMEM;
  if (ours != AG_OK) {
    *out = theirs;
    return rc == AG_OK ? AG_OK : AG_ERR_BAD_URL;
  }
  bool same = rc == AG_OK && ag_url_same_origin(out, &theirs);
  ag_url_free(&theirs);
  if (!same) ag_url_free(out);
  return same ? AG_OK : DISAGREE;
}

/* Writes u's href into out (out_cap >= AG_GUARD_URL_CAP); false on ENOMEM. */
static bool put_href(const ag_url *u, char *out, size_t out_cap) {
  char *s = ag_url_href(u);
  if (!s) return false;
  size_t n = strlen(s);
  if (n < out_cap) memcpy(out, s, n + 1);
  ag_free(s);
  return true;
}

static bool bad_args(const char *url, size_t url_len, char *out, size_t out_cap) {
  if (!out || out_cap < AG_GUARD_URL_CAP) return true;
  out[0] = '\0';
  return !url && url_len > 0;
}

int ag_client_guard(ag_client *c, const char *page_url, size_t page_len, const char *url,
                    size_t url_len, const char *href, size_t href_len, int has_authorization,
                    int mode, char *out, size_t out_cap) {
  if (!c || mode < AG_GUARD_MODE_REFUSE || mode > AG_GUARD_MODE_WARN ||
      bad_args(url, url_len, out, out_cap))
    return AG_ERR_INVALID;
  ag_url page, u;
  const ag_url *base = page_base(&page, page_url, page_len, &c->cfg.page);
  int rc = raw_target(base, url, url_len, href, href_len, &u);
  if (base == &page) ag_url_free(&page);
  if (rc == AG_ERR_NOMEM) return rc;
  if (rc == DISAGREE) return AG_GUARD_REFUSE; /* fail closed: out stays "" */
  if (rc != AG_OK) return AG_GUARD_PASS;      /* not ours to judge; fetch will reject it */
  int route = ag_config_route(&c->cfg, &u);
  bool written = put_href(&u, out, out_cap);
  ag_url_free(&u);
  if (!written) return AG_ERR_NOMEM;
  if (route != AG_ROUTE_PROTECTED || has_authorization) return AG_GUARD_PASS;
  if (mode == AG_GUARD_MODE_REFUSE) return AG_GUARD_REFUSE;
  return mode == AG_GUARD_MODE_AUTHORIZE ? AG_GUARD_ROUTE : AG_GUARD_WARN;
}

/* ---- a gate whose options were refused ---- */

/* u is on the origin that `s` (a URL or path, against page) names. */
static bool on_origin_of(const ag_url *u, const ag_url *page, const char *s) {
  ag_url o;
  if (!s || ag_url_resolve(&o, page, s, strlen(s)) != AG_OK) return false;
  bool same = ag_url_same_origin(u, &o);
  ag_url_free(&o);
  return same;
}

/*
 * What the refused options meant to protect, read best effort: baseUrl's
 * origin (the page's when baseUrl is unusable: a relative baseUrl would point
 * there) and every readable trustedOrigins entry. Paths are not read: the
 * whole origin counts, which errs on the closed side.
 */
static bool meant_to_protect(const cJSON *root, const ag_url *page, const ag_url *u) {
  const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "baseUrl");
  const char *b = cJSON_IsString(base) ? base->valuestring : NULL;
  ag_url o;
  if (b && ag_url_resolve(&o, page, b, strlen(b)) == AG_OK) {
    bool same = ag_url_same_origin(u, &o);
    ag_url_free(&o);
    if (same) return true;
  } else if (page && ag_url_same_origin(u, page)) {
    return true;
  }
  const cJSON *el, *trusted = cJSON_GetObjectItemCaseSensitive(root, "trustedOrigins");
  if (!cJSON_IsArray(trusted)) return false;
  cJSON_ArrayForEach(el, trusted) {
    if (cJSON_IsString(el) && on_origin_of(u, NULL, el->valuestring)) return true;
  }
  return false;
}

int ag_guard_unconfigured(const char *options_json, size_t options_len, const char *page_url,
                          size_t page_len, const char *url, size_t url_len, const char *href,
                          size_t href_len, int has_authorization, char *out, size_t out_cap) {
  if (bad_args(url, url_len, out, out_cap)) return AG_ERR_INVALID;
  ag_url page, u;
  const ag_url *base = page_base(&page, page_url, page_len, NULL);
  int rc = raw_target(base, url, url_len, href, href_len, &u);
  if (rc == AG_ERR_NOMEM || rc == DISAGREE || rc != AG_OK) {
    if (base) ag_url_free(&page);
    return rc == AG_ERR_NOMEM ? rc : rc == DISAGREE ? AG_GUARD_REFUSE : AG_GUARD_PASS;
  }
  cJSON *root = options_json ? ag_json_parse(options_json, options_len) : NULL;
  bool guarded = meant_to_protect(root, base, &u);
  ag_json_free(root);
  if (base) ag_url_free(&page);
  bool written = put_href(&u, out, out_cap);
  ag_url_free(&u);
  if (!written) return AG_ERR_NOMEM;
  return guarded && !has_authorization ? AG_GUARD_REFUSE : AG_GUARD_PASS;
}
