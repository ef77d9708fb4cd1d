/*
 * tabs.c — the cross-tab protocol: a new tab's hello and the answer to it,
 * and the blobs (tokens or logout) other tabs broadcast or store. A blob
 * counts only when its generation is newer than what this tab holds.
 */
#include "client.h"

#include <string.h>

/*
 * Tabs that keep tokens in memory (or per-tab session storage) have no blob
 * to start from: a new tab asks the others, and one that holds a session
 * answers with it. No wait: the new tab starts anonymous and adopts the
 * answer when it comes, like any newer tokens from another tab.
 */
static const char hello[] = "{\"v\":1,\"type\":\"hello\"}";

void ag_tabs_ask(ag_client *c) {
  if (!c->cfg.cross_tab || c->cfg.storage == AG_STORAGE_LOCAL) return;
  ag_action_push_static(c, AG_ACTION_BROADCAST, 0, 0, hello);
}

static bool is_hello(const char *msg, size_t len) {
  return len == sizeof hello - 1 && !memcmp(msg, hello, len);
}

static int answer_hello(ag_client *c, ag_ms now) {
  if (!ag_token_usable(c, now)) return AG_OK;
  char *blob = ag_blob_write(&c->tok, c->gen);
  if (!blob) return AG_ERR_NOMEM;
  ag_action_push(c, AG_ACTION_BROADCAST, 0, 0, blob);
  return AG_OK;
}

/* Adopts a newer blob from another tab; AG_ERR_STALE/BAD_BLOB when not, NOMEM: nothing changed. */
int ag_tabs_take_blob(ag_client *c, ag_ms now, const char *blob, size_t len) {
  ag_tokens t = {0};
  uint64_t gen;
  bool logout;
  int rc = ag_blob_read(blob, len, &t, &gen, &logout);
  if (rc != AG_OK) return rc;
  if (gen <= c->gen) {
    ag_tokens_clear(&t);
    return AG_ERR_STALE;
  }
  if (logout) {
    ag_sign_out(c, gen, "logged out in another tab");
    return AG_OK;
  }
  rc = ag_adopt_tokens(c, &t, gen, now, false);
  ag_tokens_clear(&t); /* still ours only when adopting failed */
  return rc;
}

int ag_client_message(ag_client *c, ag_ms now, const char *msg, size_t len) {
  if (!c) return AG_ERR_INVALID;
  if (!c->started) return AG_ERR_INVALID;
  if (AG_RESERVE(c) != AG_OK) return AG_ERR_NOMEM;
  if (msg && is_hello(msg, len))
    return ag_finish(c, c->cfg.cross_tab ? answer_hello(c, now) : AG_OK);
  return ag_finish(c, ag_tabs_take_blob(c, now, msg, len));
}
