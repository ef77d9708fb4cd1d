/* test_url.c — url.c: parsing, resolution like a browser's, refusals, prefixes. */
#include "check.h"
#include "internal.h"

#include <stdlib.h>

/* An exact-length copy with no NUL after it, so ASan catches any over-read. */
static char *exact(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  if (p && n) memcpy(p, s, n);
  return p;
}

static int resolve_n(ag_url *u, const char *base, const char *ref, size_t n) {
  ag_url b;
  char *copy = exact(ref, n);
  int rv;
  if (base == NULL) {
    rv = ag_url_parse(u, copy, n);
  } else {
    rv = ag_url_parse(&b, base, strlen(base));
    if (rv == AG_OK) rv = ag_url_resolve(u, &b, copy, n);
    ag_url_free(&b);
  }
  free(copy);
  return rv;
}

/* The href a browser would show (fragment included), or "ERR <code>". */
static char result[AG_MAX_URL * 4];

static const char *href(const char *base, const char *ref) {
  ag_url u;
  char *s;
  int rv = resolve_n(&u, base, ref, strlen(ref));
  if (rv != AG_OK) {
    snprintf(result, sizeof(result), "ERR %d", rv);
    return result;
  }
  s = ag_url_serialize(&u);
  snprintf(result, sizeof(result), "%s%s%s", s ? s : "(null)", u.fragment ? "#" : "",
           u.fragment ? u.fragment : "");
  ag_free(s);
  ag_url_free(&u);
  return result;
}

static const char *parsed(const char *s) { return href(NULL, s); }

#define BAD "ERR -6"
#define BASE "https://app.example/a/b/c?q=1#f"

static void absolute_url_is_split_into_parts(void) {
  ag_url u;
  const char *s = "https://api.example:8443/v1/items?x=1&y=2#top";
  CHECK(ag_url_parse(&u, s, strlen(s)) == AG_OK);
  CHECK_STR_EQ(u.scheme, "https");
  CHECK_STR_EQ(u.host, "api.example");
  CHECK(u.port == 8443);
  CHECK_STR_EQ(u.path, "/v1/items");
  CHECK_STR_EQ(u.query, "x=1&y=2");
  CHECK_STR_EQ(u.fragment, "top");
  ag_url_free(&u);
}

static void absent_query_and_fragment_are_null_and_empty_ones_are_empty(void) {
  ag_url u;
  CHECK(ag_url_parse(&u, "http://h/p", 10) == AG_OK);
  CHECK(u.query == NULL && u.fragment == NULL);
  ag_url_free(&u);
  CHECK(ag_url_parse(&u, "http://h/p?#", 12) == AG_OK);
  CHECK_STR_EQ(u.query, "");
  CHECK_STR_EQ(u.fragment, "");
  ag_url_free(&u);
}

static void scheme_and_host_are_lower_cased_but_path_is_not(void) {
  CHECK_STR_EQ(parsed("HTTPS://API.Example.COM/Path/To?Q=A#F"),
               "https://api.example.com/Path/To?Q=A#F");
  CHECK_STR_EQ(parsed("HtTp://X/"), "http://x/");
}

static void default_ports_are_normalised_away(void) {
  ag_url u;
  CHECK_STR_EQ(parsed("http://h:80/"), "http://h/");
  CHECK_STR_EQ(parsed("https://h:443/"), "https://h/");
  CHECK_STR_EQ(parsed("https://h:/"), "https://h/");
  CHECK_STR_EQ(parsed("http://h:0080/"), "http://h/");
  CHECK(ag_url_parse(&u, "https://h:443", 13) == AG_OK);
  CHECK(u.port == -1);
  ag_url_free(&u);
}

static void other_ports_are_kept(void) {
  CHECK_STR_EQ(parsed("https://h:80/"), "https://h:80/");
  CHECK_STR_EQ(parsed("http://h:443/"), "http://h:443/");
  CHECK_STR_EQ(parsed("http://127.0.0.1:8000/api"), "http://127.0.0.1:8000/api");
  CHECK_STR_EQ(parsed("http://h:0/"), "http://h:0/");
  CHECK_STR_EQ(parsed("http://h:65535/"), "http://h:65535/");
}

static void empty_path_becomes_slash(void) {
  CHECK_STR_EQ(parsed("https://h"), "https://h/");
  CHECK_STR_EQ(parsed("https://h?x"), "https://h/?x");
  CHECK_STR_EQ(parsed("https://h#f"), "https://h/#f");
  CHECK_STR_EQ(parsed("https://h:8080"), "https://h:8080/");
}

static void surrounding_spaces_and_controls_are_trimmed(void) {
  CHECK_STR_EQ(parsed("  https://h/a \t\r\n"), "https://h/a");
  CHECK_STR_EQ(parsed("\x01\x1f https://h/"), "https://h/");
}

static void dot_segments_are_removed(void) {
  CHECK_STR_EQ(parsed("https://h/a/./b/../c"), "https://h/a/c");
  CHECK_STR_EQ(parsed("https://h/.."), "https://h/");
  CHECK_STR_EQ(parsed("https://h/../../x"), "https://h/x");
  CHECK_STR_EQ(parsed("https://h/a/b/.."), "https://h/a/");
  CHECK_STR_EQ(parsed("https://h/a/."), "https://h/a/");
  CHECK_STR_EQ(parsed("https://h/a//b"), "https://h/a//b");
  CHECK_STR_EQ(parsed("https://h/a/..?q#f"), "https://h/?q#f");
}

static void percent_encoded_dot_segments_are_removed_like_browsers_do(void) {
  CHECK_STR_EQ(parsed("https://h/public/%2e%2E/admin"), "https://h/admin");
  CHECK_STR_EQ(parsed("https://h/a/.%2e/b"), "https://h/b");
  CHECK_STR_EQ(parsed("https://h/a/%2e/b"), "https://h/a/b");
}

static void percent_encoding_is_left_as_is(void) {
  CHECK_STR_EQ(parsed("https://h/a%2Fb%20c?x=%41#%42"), "https://h/a%2Fb%20c?x=%41#%42");
}

static void non_ascii_and_unsafe_bytes_are_percent_encoded(void) {
  CHECK_STR_EQ(parsed("https://h/\xc3\xbc?\xc3\xbc#\xc3\xbc"), "https://h/%C3%BC?%C3%BC#%C3%BC");
  CHECK_STR_EQ(parsed("https://h/a\"<>`{}?'\"#`"), "https://h/a%22%3C%3E%60%7B%7D?%27%22#%60");
}

static void backslashes_in_path_count_as_slashes(void) {
  CHECK_STR_EQ(parsed("https://h/a\\b\\..\\c"), "https://h/a/c");
}

static void relative_path_resolves_against_base_path(void) {
  CHECK_STR_EQ(href(BASE, "d"), "https://app.example/a/b/d");
  CHECK_STR_EQ(href(BASE, "d/e?x#y"), "https://app.example/a/b/d/e?x#y");
  CHECK_STR_EQ(href("https://app.example", "users"), "https://app.example/users");
  CHECK_STR_EQ(href("https://app.example/api/", "users"), "https://app.example/api/users");
}

static void relative_path_with_dot_segments_is_normalised(void) {
  CHECK_STR_EQ(href(BASE, "./d"), "https://app.example/a/b/d");
  CHECK_STR_EQ(href(BASE, "../d"), "https://app.example/a/d");
  CHECK_STR_EQ(href(BASE, "../../../../d"), "https://app.example/d");
  CHECK_STR_EQ(href(BASE, "."), "https://app.example/a/b/");
  CHECK_STR_EQ(href(BASE, ".."), "https://app.example/a/");
  CHECK_STR_EQ(href(BASE, "d\\..\\e"), "https://app.example/a/b/e");
}

static void absolute_path_replaces_base_path(void) {
  CHECK_STR_EQ(href(BASE, "/x/y"), "https://app.example/x/y");
  CHECK_STR_EQ(href(BASE, "/"), "https://app.example/");
  CHECK_STR_EQ(href(BASE, "\\x"), "https://app.example/x");
  CHECK_STR_EQ(href("http://h:8000/base/", "/api?a=b"), "http://h:8000/api?a=b");
}

static void query_only_reference_keeps_base_path(void) {
  CHECK_STR_EQ(href(BASE, "?z=2"), "https://app.example/a/b/c?z=2");
  CHECK_STR_EQ(href(BASE, "?"), "https://app.example/a/b/c?");
  CHECK_STR_EQ(href(BASE, "?z#g"), "https://app.example/a/b/c?z#g");
}

static void fragment_only_reference_keeps_base_path_and_query(void) {
  CHECK_STR_EQ(href(BASE, "#g"), "https://app.example/a/b/c?q=1#g");
}

static void empty_reference_is_base_without_fragment(void) {
  CHECK_STR_EQ(href(BASE, ""), "https://app.example/a/b/c?q=1");
  CHECK_STR_EQ(href(BASE, "  "), "https://app.example/a/b/c?q=1");
}

static void absolute_reference_ignores_base(void) {
  CHECK_STR_EQ(href(BASE, "https://other.example/x"), "https://other.example/x");
  CHECK_STR_EQ(href(BASE, "http://other.example"), "http://other.example/");
  CHECK_STR_EQ(href("http://a/", "HTTPS://b/../c"), "https://b/c");
}

static void scheme_relative_reference_goes_to_another_host(void) {
  CHECK_STR_EQ(href(BASE, "//evil.example/x"), "https://evil.example/x");
  CHECK_STR_EQ(href("http://a:8000/", "//b:8000"), "http://b:8000/");
  CHECK_STR_EQ(href(BASE, "https://evil.example"), "https://evil.example/");
}

static void any_two_slashes_or_backslashes_make_a_reference_scheme_relative(void) {
  CHECK_STR_EQ(href(BASE, "/\\evil.example"), "https://evil.example/");
  CHECK_STR_EQ(href(BASE, "\\/evil.example"), "https://evil.example/");
  CHECK_STR_EQ(href(BASE, "\\\\evil.example/x"), "https://evil.example/x");
  CHECK_STR_EQ(href(BASE, "///evil.example"), "https://evil.example/");
  CHECK_STR_EQ(href(BASE, "https:/\\evil.example"), "https://evil.example/");
}

static void same_scheme_without_slashes_is_relative_like_in_browsers(void) {
  CHECK_STR_EQ(href(BASE, "https:d"), "https://app.example/a/b/d");
  CHECK_STR_EQ(href(BASE, "https:/d"), "https://app.example/d");
  CHECK_STR_EQ(href(BASE, "http:evil.example"), "http://evil.example/");
  CHECK_STR_EQ(parsed("https:evil.example/x"), "https://evil.example/x");
  CHECK_STR_EQ(parsed("https:///evil.example/"), "https://evil.example/");
}

static void ipv6_literal_is_accepted_lower_cased_in_brackets(void) {
  ag_url u;
  CHECK_STR_EQ(parsed("http://[::1]:8080/x"), "http://[::1]:8080/x");
  CHECK_STR_EQ(parsed("https://[2001:DB8::A]/"), "https://[2001:db8::a]/");
  CHECK_STR_EQ(parsed("https://[::ffff:127.0.0.1]:443"), "https://[::ffff:127.0.0.1]/");
  CHECK(ag_url_parse(&u, "http://[::1]/", 13) == AG_OK);
  CHECK_STR_EQ(u.host, "[::1]");
  CHECK(u.port == -1);
  ag_url_free(&u);
}

static void canonical_ipv4_and_plain_domains_are_accepted(void) {
  CHECK_STR_EQ(parsed("http://10.0.0.255/"), "http://10.0.0.255/");
  CHECK_STR_EQ(parsed("http://0.0.0.0/"), "http://0.0.0.0/");
  CHECK_STR_EQ(parsed("http://localhost:3000"), "http://localhost:3000/");
  CHECK_STR_EQ(parsed("http://my_host-1.example./"), "http://my_host-1.example./");
  CHECK_STR_EQ(parsed("http://1.example/"), "http://1.example/");
}

static void other_schemes_are_refused(void) {
  CHECK_STR_EQ(parsed("javascript:alert(1)"), BAD);
  CHECK_STR_EQ(parsed("JavaScript:alert(1)"), BAD);
  CHECK_STR_EQ(parsed("data:text/html,hi"), BAD);
  CHECK_STR_EQ(parsed("file:///etc/passwd"), BAD);
  CHECK_STR_EQ(parsed("blob:https://h/uuid"), BAD);
  CHECK_STR_EQ(parsed("ftp://h/"), BAD);
  CHECK_STR_EQ(parsed("ws://h/"), BAD);
  CHECK_STR_EQ(parsed("httpx://h/"), BAD);
  CHECK_STR_EQ(href(BASE, "javascript:alert(1)"), BAD);
  CHECK_STR_EQ(href(BASE, "localhost:8000/api"), BAD);
}

static void relative_reference_without_base_is_refused(void) {
  CHECK_STR_EQ(parsed("/api"), BAD);
  CHECK_STR_EQ(parsed("api"), BAD);
  CHECK_STR_EQ(parsed("//h/api"), BAD);
  CHECK_STR_EQ(parsed(""), BAD);
  CHECK_STR_EQ(parsed("   "), BAD);
}

static void userinfo_is_refused(void) {
  CHECK_STR_EQ(parsed("https://user:pw@host/"), BAD);
  CHECK_STR_EQ(parsed("https://user@host/"), BAD);
  CHECK_STR_EQ(parsed("https://@host/"), BAD);
  CHECK_STR_EQ(href(BASE, "//app.example@evil.example/"), BAD);
  CHECK_STR_EQ(parsed("https://host/@ok?@ok#@ok"), "https://host/@ok?@ok#@ok");
}

static void empty_host_is_refused(void) {
  CHECK_STR_EQ(parsed("https://"), BAD);
  CHECK_STR_EQ(parsed("https:///"), BAD);
  CHECK_STR_EQ(parsed("http://:80/"), BAD);
  CHECK_STR_EQ(parsed("http://?x"), BAD);
  CHECK_STR_EQ(parsed("http://#x"), BAD);
  CHECK_STR_EQ(href(BASE, "//"), BAD);
  CHECK_STR_EQ(href(BASE, "\\\\"), BAD);
}

static void bad_ports_are_refused(void) {
  CHECK_STR_EQ(parsed("http://h:65536/"), BAD);
  CHECK_STR_EQ(parsed("http://h:99999999999999999999/"), BAD);
  CHECK_STR_EQ(parsed("http://h:8a/"), BAD);
  CHECK_STR_EQ(parsed("http://h:-1/"), BAD);
  CHECK_STR_EQ(parsed("http://h:+80/"), BAD);
  CHECK_STR_EQ(parsed("http://h:80:80/"), BAD);
}

static void control_characters_and_inner_spaces_are_refused(void) {
  CHECK_STR_EQ(parsed("https://h/a b"), BAD);
  CHECK_STR_EQ(parsed("https://h/a\tb"), BAD);
  CHECK_STR_EQ(parsed("https://h/a\r\nX-Evil: 1"), BAD);
  CHECK_STR_EQ(parsed("https://h/a\x7f"
                      "b"),
               BAD);
  CHECK_STR_EQ(parsed("https://h/a\x1b"
                      "b"),
               BAD);
  CHECK_STR_EQ(parsed("https://h /"), BAD);
  CHECK_STR_EQ(href(BASE, "a b"), BAD);
}

static void nul_bytes_are_refused_anywhere(void) {
  ag_url u;
  CHECK(resolve_n(&u, NULL, "https://h/a\0b", 13) == AG_ERR_BAD_URL);
  CHECK(resolve_n(&u, NULL, "https://h/\0", 11) == AG_ERR_BAD_URL);
  CHECK(resolve_n(&u, NULL, "https://evil.example\0.good.example/", 35) == AG_ERR_BAD_URL);
  CHECK(resolve_n(&u, BASE, "\0", 1) == AG_ERR_BAD_URL);
}

static void backslash_in_authority_is_refused(void) {
  CHECK_STR_EQ(parsed("https://evil.example\\@good.example/"), BAD);
  CHECK_STR_EQ(parsed("https://good.example\\.evil.example/"), BAD);
  CHECK_STR_EQ(parsed("https://h\\path"), BAD);
  CHECK_STR_EQ(href(BASE, "//evil.example\\x"), BAD);
}

static void non_ascii_and_percent_encoded_hosts_are_refused(void) {
  CHECK_STR_EQ(parsed("https://b\xc3\xbc"
                      "cher.example/"),
               BAD);
  CHECK_STR_EQ(parsed("https://xn--bcher-kva.example/"), "https://xn--bcher-kva.example/");
  CHECK_STR_EQ(parsed("https://ex%61mple.com/"), BAD);
  CHECK_STR_EQ(parsed("https://a<b/"), BAD);
  CHECK_STR_EQ(parsed("https://a]b/"), BAD);
}

static void non_canonical_ipv4_hosts_are_refused(void) {
  CHECK_STR_EQ(parsed("http://0x7f.1/"), BAD);
  CHECK_STR_EQ(parsed("http://2130706433/"), BAD);
  CHECK_STR_EQ(parsed("http://127.1/"), BAD);
  CHECK_STR_EQ(parsed("http://127.0.0.01/"), BAD);
  CHECK_STR_EQ(parsed("http://1.2.3.4./"), BAD);
  CHECK_STR_EQ(parsed("http://256.0.0.1/"), BAD);
  CHECK_STR_EQ(parsed("http://1.2.3.4.5/"), BAD);
  CHECK_STR_EQ(parsed("http://example.0x1/"), BAD);
}

static void malformed_ipv6_literals_are_refused(void) {
  CHECK_STR_EQ(parsed("http://[::1/"), BAD);
  CHECK_STR_EQ(parsed("http://[::1]x/"), BAD);
  CHECK_STR_EQ(parsed("http://[fe80::1%25eth0]/"), BAD);
  CHECK_STR_EQ(parsed("http://[xyz::1]/"), BAD);
  CHECK_STR_EQ(parsed("http://[1:2]/"), BAD);
  CHECK_STR_EQ(parsed("http://[]/"), BAD);
  CHECK_STR_EQ(parsed("http://[::1]:65536/"), BAD);
}

static void url_longer_than_the_cap_is_too_large(void) {
  static char s[AG_MAX_URL + 2];
  ag_url u;
  size_t head = strlen("https://h/");
  memcpy(s, "https://h/", head);
  memset(s + head, 'a', sizeof(s) - head);
  CHECK(resolve_n(&u, NULL, s, AG_MAX_URL + 1) == AG_ERR_TOO_LARGE);
  CHECK(resolve_n(&u, NULL, s, AG_MAX_URL - 16) == AG_OK);
  ag_url_free(&u);
}

static void resolved_url_longer_than_the_cap_is_too_large(void) {
  static char s[AG_MAX_URL];
  ag_url u;
  memset(s, 0xc3, sizeof(s)); /* each byte becomes %C3: three times longer */
  CHECK(resolve_n(&u, BASE, s, AG_MAX_URL / 2) == AG_ERR_TOO_LARGE);
}

static void failed_parse_leaves_a_zeroed_url_that_can_be_freed(void) {
  ag_url u;
  memset(&u, 0x5a, sizeof(u));
  CHECK(ag_url_parse(&u, "ftp://h/", 8) == AG_ERR_BAD_URL);
  CHECK(u.scheme == NULL && u.host == NULL && u.path == NULL);
  ag_url_free(&u);
  ag_url_free(&u);
  ag_url_free(NULL);
  CHECK(ag_url_parse(NULL, "http://h/", 9) == AG_ERR_INVALID);
}

static void origin_omits_the_default_port(void) {
  ag_url u;
  char *o;
  CHECK(ag_url_parse(&u, "HTTPS://H.example:443/x?y#z", 27) == AG_OK);
  o = ag_url_origin(&u);
  CHECK_STR_EQ(o, "https://h.example");
  ag_free(o);
  ag_url_free(&u);
  CHECK(ag_url_parse(&u, "http://[::1]:8000/x", 19) == AG_OK);
  o = ag_url_origin(&u);
  CHECK_STR_EQ(o, "http://[::1]:8000");
  ag_free(o);
  ag_url_free(&u);
}

static void serialize_drops_the_fragment(void) {
  ag_url u;
  char *s;
  CHECK(ag_url_parse(&u, "https://h/p?q#frag", 18) == AG_OK);
  s = ag_url_serialize(&u);
  CHECK_STR_EQ(s, "https://h/p?q");
  ag_free(s);
  ag_url_free(&u);
}

static bool same(const char *a, const char *b) {
  ag_url ua, ub;
  bool r;
  CHECK(ag_url_parse(&ua, a, strlen(a)) == AG_OK);
  CHECK(ag_url_parse(&ub, b, strlen(b)) == AG_OK);
  r = ag_url_same_origin(&ua, &ub);
  ag_url_free(&ua);
  ag_url_free(&ub);
  return r;
}

static void same_origin_compares_scheme_host_and_port(void) {
  CHECK(same("https://h/a", "HTTPS://H:443/b?c"));
  CHECK(!same("https://h/", "http://h/"));
  CHECK(!same("https://h/", "https://h:8443/"));
  CHECK(!same("https://h/", "https://h.evil/"));
  CHECK(!same("https://app.example/", "https://app.example.evil.example/"));
  CHECK(!ag_url_same_origin(NULL, NULL));
}

static void prefix_api_covers_api_and_what_is_below(void) {
  CHECK(ag_path_has_prefix("/api", "/api"));
  CHECK(ag_path_has_prefix("/api/", "/api"));
  CHECK(ag_path_has_prefix("/api/x/y", "/api"));
}

static void prefix_api_does_not_cover_apix(void) {
  CHECK(!ag_path_has_prefix("/apix", "/api"));
  CHECK(!ag_path_has_prefix("/api-v2/x", "/api"));
  CHECK(!ag_path_has_prefix("/ap", "/api"));
  CHECK(!ag_path_has_prefix("/API", "/api"));
}

static void prefix_with_trailing_slash_covers_only_what_is_below(void) {
  CHECK(ag_path_has_prefix("/api/", "/api/"));
  CHECK(ag_path_has_prefix("/api/x", "/api/"));
  CHECK(!ag_path_has_prefix("/api", "/api/"));
  CHECK(!ag_path_has_prefix("/apix", "/api/"));
}

static void root_prefix_covers_every_path(void) {
  CHECK(ag_path_has_prefix("/", "/"));
  CHECK(ag_path_has_prefix("/anything/at/all", "/"));
}

static void empty_or_null_prefix_covers_nothing(void) {
  CHECK(!ag_path_has_prefix("/api", ""));
  CHECK(!ag_path_has_prefix("/api", NULL));
  CHECK(!ag_path_has_prefix(NULL, "/"));
}

/* ---- allocation failure ---- */

static long budget = -1; /* allocations left before failing; -1: unlimited */

static void *failing_malloc(size_t n) {
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return malloc(n);
}

static void allocation_failure_is_reported_and_leaks_nothing(void) {
  static const char *refs[] = {"../d/./e?x#y", "//other.example:8080/p", "#f", "?q", ""};
  size_t i;
  for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
    ag_url b, u;
    long k;
    int rv = AG_ERR_NOMEM;
    CHECK(ag_url_parse(&b, BASE, strlen(BASE)) == AG_OK);
    ag_set_allocator(failing_malloc, free);
    for (k = 0; k < 50 && rv == AG_ERR_NOMEM; k++) {
      long before = ag_live_allocations();
      budget = k;
      rv = ag_url_resolve(&u, &b, refs[i], strlen(refs[i]));
      CHECK(rv == AG_OK || (rv == AG_ERR_NOMEM && ag_live_allocations() == before));
    }
    budget = -1;
    ag_set_allocator(NULL, NULL);
    CHECK(rv == AG_OK);
    ag_url_free(&u);
    ag_url_free(&b);
  }
}

int main(void) {
  ag_set_allocator(NULL, NULL);
  RUN(absolute_url_is_split_into_parts);
  RUN(absent_query_and_fragment_are_null_and_empty_ones_are_empty);
  RUN(scheme_and_host_are_lower_cased_but_path_is_not);
  RUN(default_ports_are_normalised_away);
  RUN(other_ports_are_kept);
  RUN(empty_path_becomes_slash);
  RUN(surrounding_spaces_and_controls_are_trimmed);
  RUN(dot_segments_are_removed);
  RUN(percent_encoded_dot_segments_are_removed_like_browsers_do);
  RUN(percent_encoding_is_left_as_is);
  RUN(non_ascii_and_unsafe_bytes_are_percent_encoded);
  RUN(backslashes_in_path_count_as_slashes);
  RUN(relative_path_resolves_against_base_path);
  RUN(relative_path_with_dot_segments_is_normalised);
  RUN(absolute_path_replaces_base_path);
  RUN(query_only_reference_keeps_base_path);
  RUN(fragment_only_reference_keeps_base_path_and_query);
  RUN(empty_reference_is_base_without_fragment);
  RUN(absolute_reference_ignores_base);
  RUN(scheme_relative_reference_goes_to_another_host);
  RUN(any_two_slashes_or_backslashes_make_a_reference_scheme_relative);
  RUN(same_scheme_without_slashes_is_relative_like_in_browsers);
  RUN(ipv6_literal_is_accepted_lower_cased_in_brackets);
  RUN(canonical_ipv4_and_plain_domains_are_accepted);
  RUN(other_schemes_are_refused);
  RUN(relative_reference_without_base_is_refused);
  RUN(userinfo_is_refused);
  RUN(empty_host_is_refused);
  RUN(bad_ports_are_refused);
  RUN(control_characters_and_inner_spaces_are_refused);
  RUN(nul_bytes_are_refused_anywhere);
  RUN(backslash_in_authority_is_refused);
  RUN(non_ascii_and_percent_encoded_hosts_are_refused);
  RUN(non_canonical_ipv4_hosts_are_refused);
  RUN(malformed_ipv6_literals_are_refused);
  RUN(url_longer_than_the_cap_is_too_large);
  RUN(resolved_url_longer_than_the_cap_is_too_large);
  RUN(failed_parse_leaves_a_zeroed_url_that_can_be_freed);
  RUN(origin_omits_the_default_port);
  RUN(serialize_drops_the_fragment);
  RUN(same_origin_compares_scheme_host_and_port);
  RUN(prefix_api_covers_api_and_what_is_below);
  RUN(prefix_api_does_not_cover_apix);
  RUN(prefix_with_trailing_slash_covers_only_what_is_below);
  RUN(root_prefix_covers_every_path);
  RUN(empty_or_null_prefix_covers_nothing);
  RUN(allocation_failure_is_reported_and_leaks_nothing);
  return CHECK_EXIT_CODE();
}
