/*
 * test_names.c — the static names of the core's enums (names.c): errors,
 * rejection codes (the JS API's AuthGateError.code), states, credentials.
 */
#include "check.h"
#include "client.h"

#include <stdio.h>
#include <stdlib.h>

static void every_code_and_error_has_a_name(void) {
  for (int code = AG_CODE_NO_TOKEN; code <= AG_CODE_LOGIN_FAILED; code++)
    CHECK(ag_code_name(code)[0]);
  CHECK_STR_EQ(ag_code_name(AG_CODE_TIMEOUT), "TIMEOUT");
  CHECK_STR_EQ(ag_code_name(AG_CODE_OUT_OF_MEMORY), "OUT_OF_MEMORY");
  CHECK_STR_EQ(ag_code_name(AG_CODE_LOGIN_REQUIRED), "LOGIN_REQUIRED");
  CHECK_STR_EQ(ag_code_name(AG_CODE_PROVIDER_ERROR), "PROVIDER_ERROR");
  CHECK_STR_EQ(ag_code_name(AG_CODE_CORS_OR_NETWORK), "CORS_OR_NETWORK");
  CHECK_STR_EQ(ag_code_name(99), "");
  CHECK_STR_EQ(ag_state_name(AG_STATE_REFRESHING), "refreshing");
  for (int e = AG_ERR_TOO_LARGE; e <= AG_OK; e++) CHECK(strcmp(ag_strerror(e), "unknown error"));
  CHECK_STR_EQ(ag_strerror(-100), "unknown error");
}

static void each_error_has_its_own_words(void) {
  for (int a = AG_ERR_TOO_LARGE; a <= AG_OK; a++)
    for (int b = a + 1; b <= AG_OK; b++) CHECK(strcmp(ag_strerror(a), ag_strerror(b)) != 0);
  CHECK_STR_EQ(ag_strerror(AG_OK), "ok");
  CHECK_STR_EQ(ag_strerror(AG_ERR_NOMEM), "out of memory");
  CHECK_STR_EQ(ag_strerror(1), "unknown error");
  CHECK_STR_EQ(ag_strerror(AG_ERR_TOO_LARGE - 1), "unknown error");
}

/* ---- the codes against js/index.d.ts, read from the source tree ---- */

enum { MAX_CODES = 32 };
static char js_codes[MAX_CODES][32];

/* The strings of `export type AuthGateErrorCode = | '...' ...;` in order; -1 when unreadable. */
static int read_js_codes(void) {
  char path[1024];
  const char *here = __FILE__; /* .../tests/c/test_names.c */
  const char *cut = strstr(here, "tests/c/test_names.c");
  if (!cut) return -1;
  snprintf(path, sizeof path, "%.*sjs/index.d.ts", (int)(cut - here), here);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  static char text[128 * 1024];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  const char *p = strstr(text, "export type AuthGateErrorCode =");
  const char *end = p ? strstr(p, "';") : NULL; /* comments in the union may hold a ';' */
  int count = 0;
  while (p && end && (p = strstr(p, "| '")) && p < end && count < MAX_CODES) {
    p += 3;
    const char *q = strchr(p, '\'');
    if (!q || q - p >= 32) return -1;
    snprintf(js_codes[count++], 32, "%.*s", (int)(q - p), p);
    p = q + 1;
  }
  return count;
}

static void codes_are_the_js_apis_error_codes_in_order(void) {
  int n = read_js_codes();
  CHECK(n == AG_CODE_OUT_OF_MEMORY); /* every code but NONE, none missing, none extra */
  for (int i = 0; i < n; i++) {
    if (strcmp(ag_code_name(i + 1), js_codes[i]))
      fprintf(stderr, "  code %d: core \"%s\", js \"%s\"\n", i + 1, ag_code_name(i + 1),
              js_codes[i]);
    CHECK_STR_EQ(ag_code_name(i + 1), js_codes[i]);
  }
  CHECK_STR_EQ(ag_code_name(AG_CODE_NONE), "");
  CHECK_STR_EQ(ag_code_name(AG_CODE_OUT_OF_MEMORY + 1), "");
  CHECK_STR_EQ(ag_code_name(-1), "");
}

/* States as the JS API names them; credentials modes as fetch's RequestCredentials. */
static void every_state_and_credentials_mode_has_its_name(void) {
  static const char *const states[] = {"initializing", "authenticated", "anonymous", "refreshing"};
  static const char *const modes[] = {"default", "omit", "same-origin", "include"};
  CHECK(AG_STATE_REFRESHING == 3 && AG_STATE_INITIALIZING == 0);
  CHECK(AG_CRED_INCLUDE == 3 && AG_CRED_UNSET == 0);
  for (int i = 0; i < 4; i++) {
    CHECK_STR_EQ(ag_state_name(i), states[i]);
    CHECK_STR_EQ(ag_credentials_name(i), modes[i]);
  }
  /* out of range: the neutral name, never NULL */
  CHECK_STR_EQ(ag_state_name(4), "initializing");
  CHECK_STR_EQ(ag_state_name(-1), "initializing");
  CHECK_STR_EQ(ag_credentials_name(4), "default");
  CHECK_STR_EQ(ag_credentials_name(-1), "default");
}

int main(void) {
  RUN(every_code_and_error_has_a_name);
  RUN(each_error_has_its_own_words);
  RUN(codes_are_the_js_apis_error_codes_in_order);
  RUN(every_state_and_credentials_mode_has_its_name);
  return CHECK_EXIT_CODE();
}
