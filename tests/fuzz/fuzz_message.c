/*
 * fuzz_message.c — cross-tab messages (ag_client_message) into a logged-in
 * client. Input: byte 0 picks the options, then messages separated by NUL
 * bytes; after each one a protected call is made.
 *
 * Invariants: a message that is refused (AG_ERR_BAD_BLOB, AG_ERR_STALE)
 * changes nothing: no action, same generation and bearer. One that is taken
 * has a newer generation than the client had. Messages never make the
 * client send, persist or broadcast; a protected call afterwards leaves with
 * exactly "Bearer <the access token held>" or is not sent bare; no token
 * appears in a rejection.
 */
#include "client.h"
#include "fuzz_common.h"

#include <cJSON.h>

static const char *const options[] = {
    "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/auth/refresh\"},\"storage\":\"local\"}",
    "{\"baseUrl\":\"http://api.test\",\"crossTab\":false}",
    "{\"baseUrl\":\"http://api.test\",\"refresh\":{\"url\":\"/r\",\"send\":\"cookie\"}}",
};

#define HELLO "{\"v\":1,\"type\":\"hello\"}"
#define SET "{\"access\":\"tokA1\",\"refresh\":\"tokR1\",\"expiresIn\":300}"

/* Whether a BROADCAST's message carries `access` (read as JSON: the text escapes it). */
static bool broadcast_holds(const ag_action *a, const char *access) {
  cJSON *root = cJSON_ParseWithLength(a->text, a->text_len);
  const cJSON *got = cJSON_GetObjectItemCaseSensitive(root, "access");
  bool held = cJSON_IsString(got) && !strcmp(got->valuestring, access);
  cJSON_Delete(root);
  return held;
}

static void check_reject_text(const ag_client *c, const ag_action *a) {
  FUZZ_CHECK(a->text && a->text_len);
  FUZZ_CHECK(!fuzz_contains(a->text, a->text_len, "tokA1"));
  FUZZ_CHECK(!fuzz_contains(a->text, a->text_len, "tokR1"));
  FUZZ_CHECK(!fuzz_shows_secret(a->text, a->text_len, c->tok.access));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  const char *opts = options[fuzz_byte(&in) % (sizeof options / sizeof *options)];
  ag_client *c = NULL;
  FUZZ_CHECK(ag_client_new(&c, opts, strlen(opts), "http://app.test", 15, NULL, 0) == AG_OK);
  ag_ms now = FUZZ_T0;
  ag_action a;
  FUZZ_CHECK(ag_client_message(c, now, "{}", 2) == AG_ERR_INVALID); /* not started yet */
  FUZZ_CHECK(ag_client_start(c, now, NULL, 0) == AG_OK);
  while (ag_client_next_action(c, &a)) {}
  FUZZ_CHECK(ag_client_set_tokens(c, now, SET, strlen(SET)) == AG_OK);
  while (ag_client_next_action(c, &a)) {}

  while (in.n) {
    size_t len;
    const char *msg = fuzz_until(&in, 0, &len);
    now += 1000;
    uint64_t gen = c->gen;
    char *bearer = c->bearer ? fuzz_strdup(c->bearer, strlen(c->bearer)) : NULL;
    /* A new tab's hello is answered with what this tab holds, and changes nothing. */
    bool hello = len == sizeof HELLO - 1 && !memcmp(msg, HELLO, len);
    int rc = ag_client_message(c, now, msg, len);
    int n_actions = 0;
    while (ag_client_next_action(c, &a)) {
      n_actions++;
      FUZZ_CHECK(a.type != AG_ACTION_SEND || a.code == AG_SEND_REFRESH);
      FUZZ_CHECK(a.type != AG_ACTION_PERSIST);
      FUZZ_CHECK(a.type != AG_ACTION_BROADCAST ||
                 (hello && c->tok.access && broadcast_holds(&a, c->tok.access)));
      if (a.type == AG_ACTION_REJECT) check_reject_text(c, &a);
    }
    if (hello) {
      FUZZ_CHECK(rc == AG_OK && c->gen == gen && n_actions <= 1);
    } else if (rc == AG_OK) {
      FUZZ_CHECK(c->gen > gen);
    } else {
      FUZZ_CHECK(rc == AG_ERR_BAD_BLOB || rc == AG_ERR_STALE);
      FUZZ_CHECK(n_actions == 0 && c->gen == gen);
      FUZZ_CHECK((!bearer && !c->bearer) || (bearer && c->bearer && !strcmp(bearer, c->bearer)));
    }
    free(bearer);
    FUZZ_CHECK(!c->bearer || (c->tok.access && !strncmp(c->bearer, "Bearer ", 7) &&
                              !strcmp(c->bearer + 7, c->tok.access)));

    uint32_t id = 0;
    FUZZ_CHECK(ag_client_call(c, now, "GET", 3, "/api/x", 6, NULL, 0, AG_CRED_UNSET, &id) == AG_OK);
    while (ag_client_next_action(c, &a)) {
      if (a.type == AG_ACTION_SEND && a.id == id) {
        FUZZ_CHECK(a.authorization && c->bearer && !strcmp(a.authorization, c->bearer));
        FUZZ_CHECK(c->tok.expires_at <= 0 || now < c->tok.expires_at);
      }
      if (a.type == AG_ACTION_REJECT) check_reject_text(c, &a);
    }
    ag_client_cancel(c, now, id);
  }
  ag_client_free(c);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
