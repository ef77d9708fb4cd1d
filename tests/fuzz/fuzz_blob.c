/*
 * fuzz_blob.c — ag_blob_read (the persisted / broadcast blob), and a client
 * started from the same bytes as its stored blob (storage edited by hand).
 *
 * Invariants: a blob that reads OK writes back and reads again to the same
 * generation, kind, tokens and expiry; tokens read are valid tokens; a
 * failed read allocates nothing. A client started from a blob that does not
 * read is told to clear storage and starts anonymous (no refresh endpoint
 * here); one started from a readable tokens blob is authenticated only if
 * the token has not expired; no start ever sends anything.
 */
#include "fuzz_common.h"
#include "internal.h"

#define OPTS "{\"baseUrl\":\"http://api.test\",\"storage\":\"local\",\"crossTab\":false}"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  const char *s = (const char *)data;

  ag_tokens t = {0};
  uint64_t gen = 0;
  bool logout = false;
  int rc = ag_blob_read(s, size, &t, &gen, &logout);
  if (rc == AG_OK) {
    FUZZ_CHECK(gen < ((uint64_t)1 << 53));
    if (logout) {
      FUZZ_CHECK(!t.access && !t.refresh);
    } else {
      FUZZ_CHECK(t.access && ag_token_is_valid(t.access, strlen(t.access)));
      FUZZ_CHECK(!t.refresh || ag_token_is_valid(t.refresh, strlen(t.refresh)));
      FUZZ_CHECK(t.expires_at >= 0 && t.expires_at < 9007199254740992.0);
    }
    char *again = ag_blob_write(logout ? NULL : &t, gen);
    FUZZ_CHECK(again != NULL);
    ag_tokens t2 = {0};
    uint64_t gen2 = 0;
    bool logout2 = !logout;
    FUZZ_CHECK(ag_blob_read(again, strlen(again), &t2, &gen2, &logout2) == AG_OK);
    FUZZ_CHECK(gen2 == gen && logout2 == logout);
    FUZZ_CHECK((!t.access && !t2.access) ||
               (t.access && t2.access && !strcmp(t.access, t2.access)));
    FUZZ_CHECK((!t.refresh && !t2.refresh) ||
               (t.refresh && t2.refresh && !strcmp(t.refresh, t2.refresh)));
    FUZZ_CHECK(t2.expires_at == t.expires_at);
    /* Written twice, the same bytes. */
    char *third = ag_blob_write(logout2 ? NULL : &t2, gen2);
    FUZZ_CHECK(third && !strcmp(third, again));
    ag_free_secret(third);
    ag_tokens_clear(&t2);
    ag_free_secret(again);
  } else {
    FUZZ_CHECK(rc == AG_ERR_BAD_BLOB);
    FUZZ_CHECK(!t.access && !t.refresh);
  }

  /* The same bytes as what storage held at start-up. */
  ag_client *c = NULL;
  FUZZ_CHECK(ag_client_new(&c, OPTS, strlen(OPTS), "http://app.test", 15, NULL, 0) == AG_OK);
  FUZZ_CHECK(ag_client_start(c, FUZZ_T0, s, size) == AG_OK);
  int cleared = 0;
  ag_action a;
  while (ag_client_next_action(c, &a)) {
    FUZZ_CHECK(a.type != AG_ACTION_SEND && a.type != AG_ACTION_PERSIST &&
               a.type != AG_ACTION_BROADCAST);
    if (a.type == AG_ACTION_CLEAR_STORAGE) cleared++;
  }
  bool usable = rc == AG_OK && !logout && (t.expires_at <= 0 || FUZZ_T0 < t.expires_at);
  if (size && rc != AG_OK) FUZZ_CHECK(cleared == 1);
  FUZZ_CHECK(ag_client_state(c) == (usable ? AG_STATE_AUTHENTICATED : AG_STATE_ANONYMOUS));
  /* A protected call now: with exactly this token, or refused. */
  uint32_t id = 0;
  FUZZ_CHECK(ag_client_call(c, FUZZ_T0, "GET", 3, "/x", 2, NULL, 0, AG_CRED_UNSET, &id) == AG_OK);
  int sent = 0;
  while (ag_client_next_action(c, &a)) {
    if (a.type != AG_ACTION_SEND) continue;
    sent++;
    FUZZ_CHECK(usable && a.authorization && !strncmp(a.authorization, "Bearer ", 7) &&
               !strcmp(a.authorization + 7, t.access));
  }
  FUZZ_CHECK(sent == (usable ? 1 : 0));
  ag_client_free(c);
  ag_tokens_clear(&t);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
