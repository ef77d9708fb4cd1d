/*
 * fuzz_options.c — ag_client_new with arbitrary options JSON and page origin,
 * then the read-only uses of a configured client (settings, plan, diagnose,
 * guard) and one start + call.
 *
 * Input: byte 0 picks the page origin (low 2 bits: one of `pages`; with bit
 * 7 set, the next (byte0 & 63) bytes are the origin itself), byte 1 picks the
 * size of the error buffer, the rest is the options JSON.
 *
 * Invariants: the result is AG_OK or AG_ERR_BAD_CONFIG; a refusal writes a
 * non-empty, NUL-terminated reason within the buffer; a client's base URL
 * and login/refresh endpoints are absolute http(s) URLs, its storage and
 * credentials modes are in range, plan/diagnose are JSON objects (or NULL),
 * start sends nothing but a cookie probe or the OpenID discovery request,
 * and a protected call on an anonymous client never leaves; freeing leaves
 * nothing allocated.
 */
#include "client.h"
#include "fuzz_common.h"
#include "internal.h"

static const char *const pages[] = {"", "http://app.test", "https://app.example:8443",
                                    "http://[::1]:3000"};
static const size_t err_caps[] = {0, 1, 2, 16, 256};
static const char *const probe_urls[] = {"/",
                                         "/api/x",
                                         "http://api.test/a",
                                         "//evil.example/x",
                                         "https://files.test/f",
                                         "javascript:alert(1)",
                                         "health",
                                         "http://user:pw@api.test/"};

static void check_absolute(const char *url) {
  FUZZ_CHECK(url != NULL);
  ag_url u;
  FUZZ_CHECK(ag_url_parse(&u, url, strlen(url)) == AG_OK);
  ag_url_free(&u);
}

static void check_json_object(const char *s) {
  if (!s) return;
  FUZZ_CHECK(s[0] == '{' && s[strlen(s) - 1] == '}');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  uint8_t b0 = fuzz_byte(&in);
  const char *page;
  size_t page_len;
  if (b0 & 0x80) {
    page = fuzz_take(&in, b0 & 63, &page_len);
  } else {
    page = pages[b0 & 3];
    page_len = strlen(page);
  }
  size_t err_cap = err_caps[fuzz_byte(&in) % (sizeof err_caps / sizeof *err_caps)];
  size_t json_len;
  const char *json = fuzz_take(&in, in.n, &json_len);

  char err[256 + 1];
  memset(err, 'x', sizeof err);
  ag_client *c = (ag_client *)1;
  int rc = ag_client_new(&c, json, json_len, page, page_len, err_cap ? err : NULL, err_cap);
  FUZZ_CHECK(err[256] == 'x');
  if (rc != AG_OK) {
    FUZZ_CHECK(rc == AG_ERR_BAD_CONFIG);
    FUZZ_CHECK(c == NULL);
    if (err_cap) FUZZ_CHECK(memchr(err, '\0', err_cap) != NULL);
    if (err_cap > 1) FUZZ_CHECK(err[0] != '\0');
    FUZZ_CHECK(ag_live_allocations() == live);
    return 0;
  }
  FUZZ_CHECK(c != NULL);
  if (err_cap) FUZZ_CHECK(err[0] == '\0');

  ag_settings st;
  ag_client_settings(c, &st);
  FUZZ_CHECK(st.storage >= AG_STORAGE_MEMORY && st.storage <= AG_STORAGE_LOCAL);
  FUZZ_CHECK(st.cross_tab == 0 || st.cross_tab == 1);
  FUZZ_CHECK(st.storage_key && st.storage_key[0]);
  check_absolute(c->cfg.base_url);

  for (size_t i = 0; i < sizeof probe_urls / sizeof *probe_urls; i++) {
    const char *u = probe_urls[i];
    check_json_object(ag_client_plan(c, u, strlen(u)));
    check_json_object(ag_client_diagnose(c, u, strlen(u), (int)(i & 1), (int)i * 100, 401));
    for (int mode = 0; mode < 3; mode++) {
      char judged[AG_GUARD_URL_CAP];
      int v = ag_client_guard(c, NULL, 0, u, strlen(u), NULL, 0, (int)(i & 1), mode, judged,
                              sizeof judged);
      FUZZ_CHECK(v >= AG_GUARD_PASS && v <= AG_GUARD_WARN);
      FUZZ_CHECK(v != AG_GUARD_ROUTE || !strncmp(judged, "http", 4));
    }
  }

  /* Anonymous start (no blob): a protected call is refused, never sent bare. */
  FUZZ_CHECK(ag_client_start(c, FUZZ_T0, NULL, 0) == AG_OK);
  ag_action a;
  while (ag_client_next_action(c, &a)) {
    if (a.type == AG_ACTION_SEND) {
      /* a cookie probe, or the OpenID discovery document (options.oidc) */
      FUZZ_CHECK((a.code == AG_SEND_REFRESH || a.code == AG_SEND_DISCOVERY) && a.url &&
                 !a.authorization);
      check_absolute(a.url);
    }
  }
  for (size_t i = 0; i < sizeof probe_urls / sizeof *probe_urls; i++) {
    uint32_t id = 0;
    const char *u = probe_urls[i];
    FUZZ_CHECK(ag_client_call(c, FUZZ_T0, "GET", 3, u, strlen(u), NULL, 0, AG_CRED_UNSET, &id) ==
               AG_OK);
    while (ag_client_next_action(c, &a)) {
      if (a.type == AG_ACTION_SEND) FUZZ_CHECK(a.authorization == NULL);
      if (a.type == AG_ACTION_SEND && a.code == AG_SEND_CALL) check_absolute(a.url);
    }
  }
  uint32_t login = 0;
  FUZZ_CHECK(ag_client_login(c, FUZZ_T0, "{\"u\":\"p\"}", 9, &login) == AG_OK);
  while (ag_client_next_action(c, &a)) {
    if (a.type == AG_ACTION_SEND) {
      FUZZ_CHECK(a.code == AG_SEND_LOGIN && !a.authorization);
      check_absolute(a.url);
    }
  }
  ag_client_free(c);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
