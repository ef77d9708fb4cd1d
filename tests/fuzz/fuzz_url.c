/*
 * fuzz_url.c — ag_url_parse, ag_url_resolve, ag_url_origin/serialize and
 * ag_path_has_prefix. Input: "<base>\n<reference>\n<prefix>".
 *
 * Invariants: a parsed URL is http(s) with a lower-case host, a normalised
 * port and a path starting with '/'; its serialisation parses again to the
 * same serialisation (the origin that decides who gets the token is stable);
 * origins never hold '@', '\\' or whitespace; resolving an absolute URL
 * against any base gives the same as parsing it; a path has its own prefix.
 */
#include "fuzz_common.h"
#include "internal.h"

static void check_origin_text(const char *o) {
  FUZZ_CHECK(o != NULL);
  FUZZ_CHECK(!strncmp(o, "http://", 7) || !strncmp(o, "https://", 8));
  for (const char *p = o; *p; p++) {
    unsigned char c = (unsigned char)*p;
    FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '@' && c != '\\');
  }
}

/* Checks u and returns its serialisation (heap, caller frees). */
static char *check_url(const ag_url *u) {
  FUZZ_CHECK(u->scheme && (!strcmp(u->scheme, "http") || !strcmp(u->scheme, "https")));
  FUZZ_CHECK(u->host && u->host[0]);
  for (const char *p = u->host; *p; p++) FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
  FUZZ_CHECK(u->port == -1 || (u->port >= 0 && u->port <= 65535));
  FUZZ_CHECK(!(u->port == 80 && !strcmp(u->scheme, "http")));
  FUZZ_CHECK(!(u->port == 443 && !strcmp(u->scheme, "https")));
  FUZZ_CHECK(u->path && u->path[0] == '/');
  for (const char *p = u->path; *p; p++)
    FUZZ_CHECK((unsigned char)*p > 0x20 && *p != '\\' && *p != '?' && *p != '#');
  if (u->query)
    for (const char *p = u->query; *p; p++) FUZZ_CHECK((unsigned char)*p > 0x20 && *p != '#');

  char *origin = ag_url_origin(u);
  check_origin_text(origin);
  char *s = ag_url_serialize(u);
  FUZZ_CHECK(s != NULL);
  FUZZ_CHECK(!strncmp(s, origin, strlen(origin)));
  FUZZ_CHECK(s[strlen(origin)] == '/');

  /* Re-parse: same serialisation, same origin. */
  ag_url again;
  int rc = ag_url_parse(&again, s, strlen(s));
  FUZZ_CHECK(rc == AG_OK);
  char *s2 = ag_url_serialize(&again);
  FUZZ_CHECK(s2 && !strcmp(s, s2));
  FUZZ_CHECK(ag_url_same_origin(u, &again));
  char *origin2 = ag_url_origin(&again);
  FUZZ_CHECK(origin2 && !strcmp(origin, origin2));
  /* The origin alone parses to itself with path "/". */
  ag_url o;
  FUZZ_CHECK(ag_url_parse(&o, origin, strlen(origin)) == AG_OK);
  FUZZ_CHECK(ag_url_same_origin(u, &o) && !strcmp(o.path, "/"));
  ag_url_free(&o);
  ag_free(origin2);
  ag_free(s2);
  ag_url_free(&again);
  ag_free(origin);
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  size_t base_len, ref_len, prefix_len;
  const char *base_s = fuzz_until(&in, '\n', &base_len);
  const char *ref_s = fuzz_until(&in, '\n', &ref_len);
  const char *prefix_s = fuzz_take(&in, in.n, &prefix_len);

  ag_url base, ref_alone, r;
  int base_rc = ag_url_parse(&base, base_s, base_len);
  int alone_rc = ag_url_parse(&ref_alone, ref_s, ref_len);
  char *base_text = base_rc == AG_OK ? check_url(&base) : NULL;
  char *alone_text = alone_rc == AG_OK ? check_url(&ref_alone) : NULL;

  if (base_rc == AG_OK) {
    int rc = ag_url_resolve(&r, &base, ref_s, ref_len);
    if (rc == AG_OK) {
      char *text = check_url(&r);
      /* An absolute reference resolves to itself, whatever the base. */
      if (alone_rc == AG_OK && strcmp(ref_alone.scheme, base.scheme) != 0)
        FUZZ_CHECK(!strcmp(text, alone_text));
      /* Resolving the result's own serialisation against the base changes nothing. */
      ag_url r2;
      FUZZ_CHECK(ag_url_resolve(&r2, &base, text, strlen(text)) == AG_OK);
      char *text2 = ag_url_serialize(&r2);
      FUZZ_CHECK(text2 && !strcmp(text, text2));
      ag_free(text2);
      ag_url_free(&r2);

      char *prefix = fuzz_strdup(prefix_s, prefix_len);
      if (ag_path_has_prefix(r.path, prefix)) FUZZ_CHECK(!strncmp(r.path, prefix, strlen(prefix)));
      FUZZ_CHECK(ag_path_has_prefix(r.path, r.path));
      FUZZ_CHECK(ag_path_has_prefix(r.path, "/"));
      free(prefix);
      ag_free(text);
      ag_url_free(&r);
    } else {
      FUZZ_CHECK(rc == AG_ERR_BAD_URL || rc == AG_ERR_TOO_LARGE);
      FUZZ_CHECK(alone_rc != AG_OK || strcmp(ref_alone.scheme, base.scheme) == 0);
    }
  }
  if (alone_rc != AG_OK) FUZZ_CHECK(alone_rc == AG_ERR_BAD_URL || alone_rc == AG_ERR_TOO_LARGE);

  ag_free(alone_text);
  ag_free(base_text);
  if (alone_rc == AG_OK) ag_url_free(&ref_alone);
  if (base_rc == AG_OK) ag_url_free(&base);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
