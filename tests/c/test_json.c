/*
 * test_json.c — the one hardened JSON parse (json.c): what it refuses before
 * cJSON sees it, exactly one value, numbers, and the wipe of parsed strings.
 */
#include "check.h"
#include "internal.h"
#include "json.h"

#include <stdbool.h>
#include <stdlib.h>

/* Parses an exact-length copy with no NUL after it, so ASan catches any over-read. */
static cJSON *parse_n(const char *s, size_t n) {
  char *copy = malloc(n ? n : 1);
  if (copy && n) memcpy(copy, s, n);
  cJSON *root = ag_json_parse(copy, n);
  free(copy);
  return root;
}

static cJSON *parse(const char *s) { return parse_n(s, strlen(s)); }

static bool parses(const char *s) {
  cJSON *root = parse(s);
  bool ok = root != NULL;
  ag_json_free(root);
  return ok;
}

/* `arrays` brackets deep around `inside`. */
static const char *nested(int arrays, const char *inside) {
  static char s[512];
  int o = 0;
  for (int i = 0; i < arrays; i++) s[o++] = '[';
  o += snprintf(s + o, sizeof s - (size_t)o, "%s", inside);
  for (int i = 0; i < arrays; i++) s[o++] = ']';
  s[o] = '\0';
  return s;
}

static void nul_bytes_inside_strings_are_rejected(void) {
  static const char raw[] = "{\"a\":\"abc\0def\"}";
  static const char trailing[] = "{\"a\":\"abc\"}\0";
  CHECK(parse_n(raw, sizeof raw - 1) == NULL);
  CHECK(parse_n(trailing, sizeof trailing - 1) == NULL);
  CHECK(!parses("{\"a\":\"abc\\u0000def\"}"));
  CHECK(!parses("{\"\\u0000\":\"key\"}"));
  CHECK(!parses("[\"ok\",\"\\\\\\u0000\"]")); /* an escaped backslash, then \u0000 */
  /* cJSON alone takes it and cuts the string short: that is why it is refused first */
  const char *cut = "\"abc\\u0000def\"";
  cJSON *c = cJSON_ParseWithLength(cut, strlen(cut));
  CHECK(c && cJSON_IsString(c) && !strcmp(c->valuestring, "abc"));
  cJSON_Delete(c);
  cJSON *root = parse("{\"a\":\"abc\\\\u0000def\"}"); /* an escaped backslash: no NUL */
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "a");
  CHECK(cJSON_IsString(a) && !strcmp(a->valuestring, "abc\\u0000def"));
  ag_json_free(root);
}

static void raw_control_bytes_inside_strings_are_rejected(void) {
  CHECK(!parses("\"a\tb\""));
  CHECK(!parses("\"a\nb\""));
  CHECK(!parses("{\"k\x1f\":1}"));
  cJSON *root = parse("\"a\\tb\""); /* escaped, it is fine */
  CHECK(cJSON_IsString(root) && !strcmp(root->valuestring, "a\tb"));
  ag_json_free(root);
  CHECK(parses("{\n\t\"a\" :\r\n 1\n}")); /* whitespace between tokens is not in a string */
}

static void surrounding_whitespace_is_allowed(void) {
  cJSON *root = parse(" \r\n\t{\"a\" : \"A\"}\n ");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "a");
  CHECK(cJSON_IsString(a) && !strcmp(a->valuestring, "A"));
  ag_json_free(root);
}

static void exactly_one_value_spans_the_input(void) {
  static const char *bad[] = {"",     "{",          "not json", "{} trailing", "{}{}",
                              "[1,]", "{\"a\":1,}", "{'a':1}",  "\"\\x\"",     "[1] 2",
                              "{}\f", "nul",        "[\"a\"",   "\"\\ud800\""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (parses(bad[i])) fprintf(stderr, "  accepted: %s\n", bad[i]);
    CHECK(!parses(bad[i]));
  }
  CHECK(ag_json_parse(NULL, 0) == NULL);
  CHECK(ag_json_parse(NULL, 5) == NULL);
  CHECK(ag_json_parse("{}", 0) == NULL);
  /* any one value: the callers check its type */
  static const char *good[] = {"{}", "[]", "\"s\"", "42", "null", "true", "[{\"a\":[]}]"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) CHECK(parses(good[i]));
}

static void body_larger_than_the_cap_is_rejected(void) {
  static char body[AG_MAX_JSON + 2];
  const char *head = "{\"a\":\"A\"}";
  memset(body, ' ', sizeof body);
  memcpy(body, head, strlen(head));
  cJSON *root = parse_n(body, AG_MAX_JSON);
  CHECK(root != NULL);
  ag_json_free(root);
  CHECK(parse_n(body, AG_MAX_JSON + 1) == NULL);
}

static void nesting_deeper_than_the_cap_is_rejected(void) {
  CHECK(parses(nested(AG_MAX_JSON_DEPTH, "1")));
  CHECK(!parses(nested(AG_MAX_JSON_DEPTH + 1, "1")));
  CHECK(!parses(nested(200, "{}")));
  /* cJSON alone nests a thousand deep: the cap is ours */
  const char *deep = nested(200, "{}");
  cJSON *c = cJSON_ParseWithLength(deep, strlen(deep));
  CHECK(c != NULL);
  cJSON_Delete(c);
  /* depth is how deep, not how many: closed brackets give their level back */
  char siblings[512];
  char inner[128];
  snprintf(inner, sizeof inner, "%s", nested(AG_MAX_JSON_DEPTH - 1, "0"));
  snprintf(siblings, sizeof siblings, "{\"a\":%s,\"b\":%s}", inner, inner);
  CHECK(parses(siblings));
}

static void brackets_inside_strings_do_not_count_as_nesting(void) {
  CHECK(parses("{\"a\":\"A\",\"x\":\"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{\\\"[[[[\"}"));
  CHECK(parses(nested(AG_MAX_JSON_DEPTH, "\"]]]]]]]]]]]]]]]]]]]]]]]]\"")));
}

static void numbers_are_read_exactly(void) {
  cJSON *root = parse("[0,-0.5,1e3,1.25E-2,9007199254740992,-17,3.0]");
  static const double want[] = {0, -0.5, 1000, 0.0125, 9007199254740992.0, -17, 3};
  CHECK(cJSON_GetArraySize(root) == 7);
  for (int i = 0; i < 7; i++) {
    const cJSON *n = cJSON_GetArrayItem(root, i);
    CHECK(cJSON_IsNumber(n) && n->valuedouble == want[i]);
  }
  ag_json_free(root);
  CHECK(!parses("NaN"));
  CHECK(!parses("Infinity"));
  CHECK(!parses("[1,-]"));
}

/* ---- the wipe: an allocator that keeps freed blocks to look into them ---- */

#define MARK "SECRETMARK"
enum { KEPT_MAX = 256 };
static size_t *kept[KEPT_MAX]; /* freed blocks, each behind its size */
static int n_kept;

static void *keeping_malloc(size_t n) {
  size_t *p = malloc(n + 2 * sizeof *p);
  if (!p) return NULL;
  p[0] = n;
  return p + 2;
}

static void keeping_free(void *q) {
  size_t *p = (size_t *)q - 2;
  if (n_kept < KEPT_MAX) kept[n_kept++] = p;
  else free(p);
}

/* How many kept blocks still hold MARK; then frees them for good. */
static int marks_left_in_freed_blocks(void) {
  int marks = 0;
  size_t k = strlen(MARK);
  for (int b = 0; b < n_kept; b++) {
    const char *s = (const char *)(kept[b] + 2);
    for (size_t i = 0; i + k <= kept[b][0]; i++) marks += !memcmp(s + i, MARK, k);
    free(kept[b]);
  }
  n_kept = 0;
  return marks;
}

static void parsed_strings_are_wiped_before_they_are_freed(void) {
  const char *json = "{\"access\":\"" MARK "a\",\"nested\":{\"list\":[\"" MARK "b\",1]}}";
  ag_set_allocator(keeping_malloc, keeping_free);
  cJSON *root = parse(json);
  CHECK(root != NULL);
  ag_json_free(root);
  CHECK(n_kept > 0 && marks_left_in_freed_blocks() == 0);
  /* the check sees what cJSON_Delete alone leaves behind */
  root = parse(json);
  cJSON_Delete(root);
  CHECK(marks_left_in_freed_blocks() == 2);
  ag_json_free(NULL);
  ag_set_allocator(NULL, NULL);
}

int main(void) {
  ag_alloc_init();
  RUN(nul_bytes_inside_strings_are_rejected);
  RUN(raw_control_bytes_inside_strings_are_rejected);
  RUN(surrounding_whitespace_is_allowed);
  RUN(exactly_one_value_spans_the_input);
  RUN(body_larger_than_the_cap_is_rejected);
  RUN(nesting_deeper_than_the_cap_is_rejected);
  RUN(brackets_inside_strings_do_not_count_as_nesting);
  RUN(numbers_are_read_exactly);
  RUN(parsed_strings_are_wiped_before_they_are_freed);
  return CHECK_EXIT_CODE();
}
