/*
 * fuzz_url_resolve.c — URL resolution as gate.fetch and the guard use it:
 * ag_url_resolve_why and ag_url_resolve_prefixed (the baseUrl prefix rule).
 * Input: "<base>\n<reference>".
 *
 * Oracle-free invariants: a resolved URL's href re-parses to itself;
 * resolving it again (against the same base, another base, or with the
 * prefix rule) changes neither the URL nor its origin; serialization is
 * idempotent; the prefix rule never moves a URL to another origin than plain
 * resolution gives; every refusal carries a reason, every success none.
 */
#include "fuzz_common.h"
#include "internal.h"

static const char OTHER_BASE[] = "https://other.invalid:8443/x/y/z?q#f";

/* The href of u; checks that it parses alone to the same href and origin. */
static char *check_stable(const ag_url *u) {
  char *href = ag_url_href(u);
  char *origin = ag_url_origin(u);
  FUZZ_CHECK(href && origin);
  ag_url again;
  FUZZ_CHECK(ag_url_parse(&again, href, strlen(href)) == AG_OK);
  char *href2 = ag_url_href(&again);
  char *origin2 = ag_url_origin(&again);
  FUZZ_CHECK(href2 && !strcmp(href, href2));
  FUZZ_CHECK(origin2 && !strcmp(origin, origin2));
  /* serialize(parse(serialize(u))) == serialize(u) */
  char *s1 = ag_url_serialize(u), *s2 = ag_url_serialize(&again);
  FUZZ_CHECK(s1 && s2 && !strcmp(s1, s2));
  ag_free(s1);
  ag_free(s2);
  ag_free(href2);
  ag_free(origin2);
  ag_free(origin);
  ag_url_free(&again);
  return href;
}

/* Resolving an absolute href against `base`, plainly or with the prefix rule, gives it back. */
static void check_fixed_point(const char *href, const ag_url *base) {
  for (int prefixed = 0; prefixed < 2; prefixed++) {
    ag_url r;
    const char *why = "unset";
    int rc = prefixed ? ag_url_resolve_prefixed(&r, base, href, strlen(href), &why)
                      : ag_url_resolve_why(&r, base, href, strlen(href), &why);
    FUZZ_CHECK(rc == AG_OK && why == NULL);
    char *again = ag_url_href(&r);
    FUZZ_CHECK(again && !strcmp(again, href));
    ag_free(again);
    ag_url_free(&r);
  }
}

static void check_refusal(int rc, const char *why) {
  FUZZ_CHECK(rc == AG_ERR_BAD_URL || rc == AG_ERR_TOO_LARGE);
  FUZZ_CHECK(why != NULL && why[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  fuzz_in in = {data, size};
  size_t base_len, ref_len;
  const char *base_s = fuzz_until(&in, '\n', &base_len);
  const char *ref_s = fuzz_take(&in, in.n, &ref_len);

  ag_url base, other, plain, pre;
  FUZZ_CHECK(ag_url_parse(&other, OTHER_BASE, strlen(OTHER_BASE)) == AG_OK);
  if (ag_url_parse(&base, base_s, base_len) != AG_OK) {
    ag_url_free(&other);
    return 0;
  }
  const char *why_plain = "unset", *why_pre = "unset";
  int rc_plain = ag_url_resolve_why(&plain, &base, ref_s, ref_len, &why_plain);
  int rc_pre = ag_url_resolve_prefixed(&pre, &base, ref_s, ref_len, &why_pre);
  char *href_plain = NULL, *href_pre = NULL;

  if (rc_plain == AG_OK) {
    FUZZ_CHECK(why_plain == NULL);
    href_plain = check_stable(&plain);
    check_fixed_point(href_plain, &base);
    check_fixed_point(href_plain, &other);
  } else {
    check_refusal(rc_plain, why_plain);
  }
  if (rc_pre == AG_OK) {
    FUZZ_CHECK(why_pre == NULL);
    href_pre = check_stable(&pre);
    check_fixed_point(href_pre, &base);
    check_fixed_point(href_pre, &other);
  } else {
    check_refusal(rc_pre, why_pre);
  }
  /* The prefix rule only ever changes the path: same origin, same refusals but for length. */
  if (rc_plain == AG_OK && rc_pre == AG_OK) FUZZ_CHECK(ag_url_same_origin(&plain, &pre));
  if (rc_plain == AG_ERR_BAD_URL) FUZZ_CHECK(rc_pre == AG_ERR_BAD_URL && why_pre == why_plain);
  if (!strcmp(base.path, "/") && rc_plain == AG_OK)
    FUZZ_CHECK(rc_pre == AG_OK && !strcmp(href_plain, href_pre));

  ag_free(href_plain);
  ag_free(href_pre);
  if (rc_plain == AG_OK) ag_url_free(&plain);
  if (rc_pre == AG_OK) ag_url_free(&pre);
  ag_url_free(&base);
  ag_url_free(&other);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
