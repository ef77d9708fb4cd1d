/*
 * fuzz_retry.c — the parsers behind retries and login errors: a Retry-After
 * value (ag_retry_after_ms), the retry option (ag_retry_policy_parse) and a
 * refused login's body (ag_explain_server_message).
 *
 * Input: byte 0 picks the parser, the rest is its text. Invariants: a wait
 * is -1 or >= 0 and, for delay-seconds, a whole number of seconds; a policy
 * read OK has 0..10 retries, at most 16 statuses in 100..599, a bounded
 * maximum; a server message is NUL-free, has no control bytes and is at
 * most AG_MAX_SERVER_MESSAGE bytes plus "..."; nothing leaks.
 */
#include "fuzz_common.h"
#include "internal.h"
#include "json.h"

static void retry_after(const char *s, size_t n) {
  ag_ms w = ag_retry_after_ms(s, n, FUZZ_T0);
  FUZZ_CHECK(w == -1 || w >= 0);
  if (w >= 0 && n && s[0] >= '0' && s[0] <= '9') FUZZ_CHECK(w == (ag_ms)(int64_t)(w / 1000) * 1000);
}

static void policy(const char *s, size_t n) {
  cJSON *root = ag_json_parse(s, n);
  ag_retry_policy p = {0};
  const char *why = NULL;
  int rc = ag_retry_policy_parse(&p, root, &why);
  if (rc == AG_OK && p.enabled) {
    FUZZ_CHECK(p.limit >= 0 && p.limit <= 10 && p.n_statuses <= AG_RETRY_MAX_STATUSES);
    for (size_t i = 0; i < p.n_statuses; i++)
      FUZZ_CHECK(p.statuses[i] >= 100 && p.statuses[i] <= 599);
    FUZZ_CHECK(p.max_retry_after_ms >= 0 && p.max_retry_after_ms <= 86400000);
  } else if (rc != AG_OK) {
    FUZZ_CHECK(rc == AG_ERR_BAD_CONFIG && why && strstr(why, "retry"));
  }
  ag_json_free(root);
}

static void server_message(const char *s, size_t n) {
  char *m = ag_explain_server_message(s, n);
  if (!m) return;
  size_t len = strlen(m);
  FUZZ_CHECK(len > 0 && len <= AG_MAX_SERVER_MESSAGE + 3);
  for (size_t i = 0; i < len; i++) FUZZ_CHECK((unsigned char)m[i] >= 0x20);
  ag_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  if (!size) return 0;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  switch (data[0] % 3) {
  case 0:
    retry_after(s, n);
    break;
  case 1:
    policy(s, n);
    break;
  default:
    server_message(s, n);
    break;
  }
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
