/*
 * json.c — the one JSON parse every module uses. cJSON trusts lengths but
 * not everything else: it truncates strings at \u0000 and nests 1000 deep,
 * so hostile input is refused here before cJSON sees it. Parsed strings
 * may be secrets (tokens, passwords) and are wiped before they are freed.
 */
#include "internal.h"
#include "json.h"

#include <string.h>

/* No NUL (raw or \u0000), no raw control bytes in strings, bounded nesting. */
static bool precheck(const char *s, size_t len) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0 || (in_string && c < 0x20)) return false;
    if (in_string) {
      if (c == '\\') {
        if (len - i >= 6 && !memcmp(s + i + 1, "u0000", 5)) return false;
        i++; /* the escaped byte cannot end the string */
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > AG_MAX_JSON_DEPTH) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return true;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

cJSON *ag_json_parse(const char *s, size_t len) {
  if (!s || !len || len > AG_MAX_JSON || !precheck(s, len)) return NULL;
  ag_alloc_init();
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
  if (!root) return NULL;
  while (end && end < s + len && is_space(*end)) end++;
  if (end != s + len) {
    ag_json_free(root);
    return NULL;
  }
  return root;
}

static void wipe_tree(cJSON *item) {
  for (; item; item = item->next) {
    if (item->valuestring) ag_wipe(item->valuestring, strlen(item->valuestring));
    wipe_tree(item->child);
  }
}

void ag_json_free(cJSON *root) {
  wipe_tree(root);
  cJSON_Delete(root);
}
