/*
 * guard.c — the verdict on a raw fetch() that bypassed the gate
 * (guardGlobalFetch). Raw calls resolve against the page, not baseUrl:
 * that is what the browser would do with them.
 */
#include "client.h"

#include <string.h>

int ag_client_guard(ag_client *c, const char *url, size_t url_len, int has_authorization,
                    int mode) {
  if (!c || mode < AG_GUARD_MODE_REFUSE || mode > AG_GUARD_MODE_WARN) return AG_ERR_INVALID;
  if (!url || url_len > AG_MAX_URL) return AG_GUARD_PASS;
  ag_url u;
  const ag_url *against = c->cfg.page_origin[0] ? &c->cfg.page : &c->cfg.base;
  int rc = ag_url_resolve(&u, against, url, url_len);
  if (rc != AG_OK) return AG_GUARD_PASS; /* not ours to judge; fetch will reject it */
  int route = ag_config_route(&c->cfg, &u);
  ag_url_free(&u);
  if (route != AG_ROUTE_PROTECTED || has_authorization) return AG_GUARD_PASS;
  if (mode == AG_GUARD_MODE_REFUSE) return AG_GUARD_REFUSE;
  return mode == AG_GUARD_MODE_AUTHORIZE ? AG_GUARD_ROUTE : AG_GUARD_WARN;
}
