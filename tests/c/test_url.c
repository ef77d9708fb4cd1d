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
  CHECK(ag_url_parse(&u, "http://[::1]/", 13) == AG_OK);
  CHECK_STR_EQ(u.host, "[::1]");
  CHECK(u.port == -1);
  ag_url_free(&u);
}

static void ipv6_is_serialised_as_the_standard_does(void) {
  CHECK_STR_EQ(parsed("http://[0::1]/"), "http://[::1]/");
  CHECK_STR_EQ(parsed("http://[0:0:0:0:0:0:0:1]/"), "http://[::1]/");
  CHECK_STR_EQ(parsed("http://[1:0:0:0:0:0:0:1]:80/"), "http://[1::1]/");
  CHECK_STR_EQ(parsed("http://[::]/"), "http://[::]/");
  CHECK_STR_EQ(parsed("http://[1::]/"), "http://[1::]/");
  CHECK_STR_EQ(parsed("http://[0001:0db8:0000:0000:0001:0000:0000:0001]/"),
               "http://[1:db8::1:0:0:1]/"); /* the first of two equal zero runs */
  CHECK_STR_EQ(parsed("http://[1:0:2:0:3:0:4:0]/"), "http://[1:0:2:0:3:0:4:0]/");
  CHECK_STR_EQ(parsed("https://[::ffff:127.0.0.1]:443"), "https://[::ffff:7f00:1]/");
  CHECK_STR_EQ(parsed("http://[::1.2.3.4]/"), "http://[::102:304]/");
  CHECK_STR_EQ(parsed("http://[::1.2.3.04]/"), BAD);
  CHECK_STR_EQ(parsed("http://[::1.2.3]/"), BAD);
  CHECK_STR_EQ(parsed("http://[1:2:3:4:5:6:7:1.2.3.4]/"), BAD);
  CHECK_STR_EQ(parsed("http://[1:2:3:4:5:6:7:8:9]/"), BAD);
  CHECK_STR_EQ(parsed("http://[1::2::3]/"), BAD);
  CHECK_STR_EQ(parsed("http://[:1]/"), BAD);
  CHECK_STR_EQ(parsed("http://[1:]/"), BAD);
  CHECK_STR_EQ(parsed("http://[12345::]/"), BAD);
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

/* Why ref was refused against base (NULL: parsed alone), or "" when it was not. */
static const char *why_of(const char *base, const char *ref) {
  ag_url b, u;
  const char *why = NULL;
  int rv = AG_OK;
  if (base != NULL) rv = ag_url_parse(&b, base, strlen(base));
  if (rv == AG_OK) rv = ag_url_resolve_why(&u, base ? &b : NULL, ref, strlen(ref), &why);
  if (base != NULL) ag_url_free(&b);
  if (rv == AG_OK) ag_url_free(&u);
  return rv == AG_OK ? "" : why ? why : "(no reason)";
}

static void empty_userinfo_is_dropped_like_browsers_do(void) {
  CHECK_STR_EQ(parsed("http://@host/x"), "http://host/x");
  CHECK_STR_EQ(parsed("https://:@host/"), "https://host/");
  CHECK_STR_EQ(href(BASE, "//@evil.example/"), "https://evil.example/");
  CHECK_STR_EQ(parsed("https://host/@ok?@ok#@ok"), "https://host/@ok?@ok#@ok");
  CHECK_STR_EQ(parsed("http://@/x"), BAD);
  CHECK_STR_EQ(parsed("http://@"), BAD);
}

static void non_empty_userinfo_is_refused_as_fetch_refuses_it(void) {
  CHECK_STR_EQ(parsed("https://user:pw@host/"), BAD);
  CHECK_STR_EQ(parsed("https://user@host/"), BAD);
  CHECK_STR_EQ(parsed("https://:pw@host/"), BAD);
  CHECK_STR_EQ(parsed("https://::@host/"), BAD);
  CHECK_STR_EQ(parsed("https://@@host/"), BAD);
  CHECK_STR_EQ(href(BASE, "//app.example@evil.example/"), BAD);
  CHECK(strstr(why_of(NULL, "https://u:p@host/"), "credentials") != NULL);
  CHECK(strstr(why_of(NULL, "https://u:p@host/"), "header") != NULL);
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

static void tabs_and_newlines_are_removed_anywhere(void) {
  CHECK_STR_EQ(parsed("http://example.com/foo\tbar"), "http://example.com/foobar");
  CHECK_STR_EQ(parsed("ht\ttp://ex\nample.com:8\r0/a\n/b?c\td#e\nf"),
               "http://example.com/a/b?cd#ef");
  CHECK_STR_EQ(href(BASE, "/api/\nx"), "https://app.example/api/x");
  CHECK_STR_EQ(parsed("https://h/a\r\nX-Evil: 1"), "https://h/aX-Evil:%201");
}

static void spaces_and_controls_inside_are_percent_encoded(void) {
  CHECK_STR_EQ(href(BASE, "/api/x?q=hello world"), "https://app.example/api/x?q=hello%20world");
  CHECK_STR_EQ(href(BASE, "/api/my file.txt"), "https://app.example/api/my%20file.txt");
  CHECK_STR_EQ(href(BASE, "/a/ /c"), "https://app.example/a/%20/c");
  CHECK_STR_EQ(href(BASE, "a b#c d"), "https://app.example/a/b/a%20b#c%20d");
  CHECK_STR_EQ(parsed("https://h/a\x7f"
                      "b\x1b"
                      "c"),
               "https://h/a%7Fb%1Bc");
  CHECK_STR_EQ(parsed("https://h /"), BAD); /* a space is never part of a host */
}

static void nul_bytes_are_encoded_in_the_path_and_refused_in_the_host(void) {
  ag_url u;
  char *s;
  CHECK(resolve_n(&u, NULL, "https://h/a\0b", 13) == AG_OK);
  s = ag_url_href(&u);
  CHECK_STR_EQ(s, "https://h/a%00b");
  ag_free(s);
  ag_url_free(&u);
  CHECK(resolve_n(&u, NULL, "https://evil.example\0.good.example/", 35) == AG_ERR_BAD_URL);
  CHECK(resolve_n(&u, BASE, "x\0y\0", 4) == AG_OK); /* a trailing NUL is a C0 control: trimmed */
  CHECK_STR_EQ(u.path, "/a/b/x%00y");
  ag_url_free(&u);
}

static void backslash_ends_the_authority_like_a_slash(void) {
  CHECK_STR_EQ(parsed("https://evil.example\\@good.example/"),
               "https://evil.example/@good.example/");
  CHECK_STR_EQ(parsed("https://good.example\\.evil.example/"),
               "https://good.example/.evil.example/");
  CHECK_STR_EQ(parsed("http://host:8080\\@evil/"), "http://host:8080/@evil/");
  CHECK_STR_EQ(parsed("https://h\\path"), "https://h/path");
  CHECK_STR_EQ(href(BASE, "//evil.example\\x"), "https://evil.example/x");
}

static void backslashes_after_the_scheme_give_their_own_authority(void) {
  CHECK_STR_EQ(parsed("http:\\\\www.google.com\\foo"), "http://www.google.com/foo");
  CHECK_STR_EQ(href(BASE, "\\\\host\\x"), "https://host/x");
  CHECK_STR_EQ(href(BASE, "/\\host/x"), "https://host/x");
  CHECK_STR_EQ(href(BASE, "https:\\\\host\\x"), "https://host/x");
  CHECK_STR_EQ(href(BASE, "https:\\x"), "https://app.example/x"); /* one: a path on base */
  CHECK_STR_EQ(href("http://h/a/b", "https:\\x"), "https://x/");  /* another scheme: a host */
}

static void percent_encode_sets_are_the_standards(void) {
  /* path: C0, space, " # < > ? ` { } and non-ASCII; ^ | ' stay */
  CHECK_STR_EQ(parsed("http://h/{}`|^'\"<>"), "http://h/%7B%7D%60|^'%22%3C%3E");
  /* special query: C0, space, " # < > ' and non-ASCII; ` { } stay */
  CHECK_STR_EQ(parsed("http://h/?{}`|^'\"<>?"), "http://h/?{}`|^%27%22%3C%3E?");
  /* fragment: C0, space, " < > ` and non-ASCII; # ' { } stay */
  CHECK_STR_EQ(parsed("http://h/#{}`|^'\"<>#"), "http://h/#{}%60|^'%22%3C%3E#");
  CHECK_STR_EQ(parsed("http://h/\xe2\x82\xac?\xe2\x82\xac#\xe2\x82\xac"),
               "http://h/%E2%82%AC?%E2%82%AC#%E2%82%AC");
}

static void inputs_browsers_accept_that_were_once_refused_agree_now(void) {
  CHECK_STR_EQ(href("http://api.test/", "/api/x?q=hello world"),
               "http://api.test/api/x?q=hello%20world");
  CHECK_STR_EQ(href("http://api.test/", "/api/my file.txt"), "http://api.test/api/my%20file.txt");
  CHECK_STR_EQ(href("http://api.test/", "/api/\tx\n"), "http://api.test/api/x");
  CHECK_STR_EQ(href("http://api.test/", "http://@api.test/x"), "http://api.test/x");
  CHECK_STR_EQ(href("http://api.test/", "http://api.test:81\\@evil/"), "http://api.test:81/@evil/");
  CHECK_STR_EQ(href("http://api.test/", "/a/ /c"), "http://api.test/a/%20/c");
  CHECK_STR_EQ(href("http://api.test/", "http://example.com/foo\tbar"),
               "http://example.com/foobar");
  CHECK_STR_EQ(href("http://api.test/", "http:\\\\www.google.com\\foo"),
               "http://www.google.com/foo");
  CHECK(strstr(why_of("http://api.test/", "https://fa\xc3\x9f.ExAmPlE/"), "punycode") != NULL);
}

static void non_ascii_and_percent_encoded_hosts_are_refused_with_what_to_write(void) {
  CHECK_STR_EQ(parsed("https://b\xc3\xbc"
                      "cher.example/"),
               BAD);
  CHECK(strstr(why_of(NULL, "https://b\xc3\xbc"
                            "cher.example/"),
               "ASCII (punycode) form") != NULL);
  CHECK_STR_EQ(parsed("https://xn--bcher-kva.example/"), "https://xn--bcher-kva.example/");
  CHECK_STR_EQ(parsed("https://XN--BCHER-KVA.example/"), "https://xn--bcher-kva.example/");
  CHECK_STR_EQ(parsed("https://ex%61mple.com/"), BAD);
  CHECK(strstr(why_of(NULL, "https://ex%61mple.com/"), "decoded") != NULL);
  CHECK_STR_EQ(parsed("https://a<b/"), BAD);
  CHECK_STR_EQ(parsed("https://a]b/"), BAD);
  CHECK_STR_EQ(parsed("https://a^b/"), BAD);
  CHECK(strstr(why_of(NULL, "https://a<b/"), "no URL host") != NULL);
  /* allowed by the standard, but not by every browser alike: refused, with the rule */
  CHECK_STR_EQ(parsed("https://a!b/"), BAD);
  CHECK(strstr(why_of(NULL, "https://a*b/"), "letters, digits") != NULL);
}

static void non_canonical_ipv4_hosts_are_refused_with_what_to_write(void) {
  const char *forms[] = {"http://0x7f.1/",     "http://2130706433/", "http://127.1/",
                         "http://127.0.0.01/", "http://1.2.3.4./",   "http://0177.0.0.1/",
                         "http://1./",         "http://example.0x/", "http://a.09/"};
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    CHECK_STR_EQ(parsed(forms[i]), BAD);
    CHECK(strstr(why_of(NULL, forms[i]), "e.g. 127.0.0.1") != NULL);
  }
  CHECK_STR_EQ(parsed("http://256.0.0.1/"), BAD);
  CHECK_STR_EQ(parsed("http://1.2.3.4.5/"), BAD);
  CHECK_STR_EQ(parsed("http://example.0x1/"), BAD);
  CHECK_STR_EQ(parsed("http://1.2.3.4/"), "http://1.2.3.4/");
  CHECK_STR_EQ(parsed("http://x.1a/"), "http://x.1a/"); /* not a number: a domain */
  CHECK_STR_EQ(parsed("http://a.b./"), "http://a.b./");
  CHECK_STR_EQ(parsed("http://./"), "http://./");
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

/* The href of ref against base with base's path as a prefix (the baseUrl rule). */
static const char *prefixed(const char *base, const char *ref) {
  ag_url b, u;
  char *h;
  int rv = ag_url_parse(&b, base, strlen(base));
  if (rv == AG_OK) rv = ag_url_resolve_prefixed(&u, &b, ref, strlen(ref), NULL);
  ag_url_free(&b);
  if (rv != AG_OK) {
    snprintf(result, sizeof(result), "ERR %d", rv);
    return result;
  }
  h = ag_url_href(&u);
  snprintf(result, sizeof(result), "%s", h ? h : "(null)");
  ag_free(h);
  ag_url_free(&u);
  return result;
}

static void a_base_path_is_a_prefix_for_paths_with_or_without_a_slash(void) {
  CHECK_STR_EQ(prefixed("https://api.example/v2", "/users"), "https://api.example/v2/users");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "users"), "https://api.example/v2/users");
  CHECK_STR_EQ(prefixed("https://api.example/v2/", "/users"), "https://api.example/v2/users");
  CHECK_STR_EQ(prefixed("https://api.example/v2/", "users"), "https://api.example/v2/users");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "\\users\\1"), "https://api.example/v2/users/1");
  CHECK_STR_EQ(prefixed("https://api.example/a/b", "c/d?x=1 2#f"),
               "https://api.example/a/b/c/d?x=1%202#f");
  CHECK_STR_EQ(prefixed("https://api.example/v2?k=1#h", "users"), "https://api.example/v2/users");
  CHECK_STR_EQ(prefixed("https://api.example/v2", " \t/users\n"), "https://api.example/v2/users");
}

static void query_fragment_and_empty_inputs_are_appended_to_the_prefix(void) {
  CHECK_STR_EQ(prefixed("https://api.example/v2", "?q=1"), "https://api.example/v2/?q=1");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "#f"), "https://api.example/v2/#f");
  CHECK_STR_EQ(prefixed("https://api.example/v2", ""), "https://api.example/v2/");
  CHECK_STR_EQ(prefixed("https://api.example/v2/", "/"), "https://api.example/v2/");
}

static void dot_segments_apply_to_the_joined_path(void) {
  CHECK_STR_EQ(prefixed("https://api.example/v2", "./users"), "https://api.example/v2/users");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "../v1/users"), "https://api.example/v1/users");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "%2e%2e/%2E%2e/x"), "https://api.example/x");
}

static void inputs_with_their_own_scheme_or_authority_resolve_as_the_browser_does(void) {
  CHECK_STR_EQ(prefixed("https://api.example/v2", "https://other.example/x"),
               "https://other.example/x");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "//other.example/x"), "https://other.example/x");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "\\\\other.example\\x"),
               "https://other.example/x");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "/\\other.example/x"), "https://other.example/x");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "http:\\\\other.example\\x"),
               "http://other.example/x");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "https:x"), "https://api.example/x");
  CHECK_STR_EQ(prefixed("https://api.example/v2", "mailto:x"), "ERR -6");
}

static void a_base_without_a_path_behaves_as_before(void) {
  const char *refs[] = {"/users", "users", "?q", "#f", "", "../x", "//h/x", "http://h/y"};
  for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
    char want[256];
    snprintf(want, sizeof want, "%s", href("https://api.example", refs[i]));
    CHECK_STR_EQ(prefixed("https://api.example", refs[i]), want);
    CHECK_STR_EQ(prefixed("https://api.example/", refs[i]), want);
  }
}

/* A base whose path starts with an empty segment: the prefix never turns into an authority. */
static void a_prefix_starting_with_two_slashes_stays_a_path(void) {
  CHECK_STR_EQ(prefixed("https://api.example//evil.example", "x"),
               "https://api.example//evil.example/x");
}

static long budget = -1; /* allocations left before failing; -1: unlimited */

static void *failing_malloc(size_t n) {
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return malloc(n);
}

static void allocation_failure_is_reported_and_leaks_nothing(void) {
  static const char *refs[] = {
      "../d/./e?x#y", "//other.example:8080/p", "#f", "?q", "", "http://[::1]:81/", "users a"};
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
      rv = (i & 1) ? ag_url_resolve(&u, &b, refs[i], strlen(refs[i]))
                   : ag_url_resolve_prefixed(&u, &b, refs[i], strlen(refs[i]), NULL);
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
  RUN(a_base_path_is_a_prefix_for_paths_with_or_without_a_slash);
  RUN(query_fragment_and_empty_inputs_are_appended_to_the_prefix);
  RUN(dot_segments_apply_to_the_joined_path);
  RUN(inputs_with_their_own_scheme_or_authority_resolve_as_the_browser_does);
  RUN(a_base_without_a_path_behaves_as_before);
  RUN(a_prefix_starting_with_two_slashes_stays_a_path);
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
  RUN(ipv6_is_serialised_as_the_standard_does);
  RUN(canonical_ipv4_and_plain_domains_are_accepted);
  RUN(other_schemes_are_refused);
  RUN(relative_reference_without_base_is_refused);
  RUN(empty_userinfo_is_dropped_like_browsers_do);
  RUN(non_empty_userinfo_is_refused_as_fetch_refuses_it);
  RUN(empty_host_is_refused);
  RUN(bad_ports_are_refused);
  RUN(tabs_and_newlines_are_removed_anywhere);
  RUN(spaces_and_controls_inside_are_percent_encoded);
  RUN(nul_bytes_are_encoded_in_the_path_and_refused_in_the_host);
  RUN(backslash_ends_the_authority_like_a_slash);
  RUN(backslashes_after_the_scheme_give_their_own_authority);
  RUN(percent_encode_sets_are_the_standards);
  RUN(inputs_browsers_accept_that_were_once_refused_agree_now);
  RUN(non_ascii_and_percent_encoded_hosts_are_refused_with_what_to_write);
  RUN(non_canonical_ipv4_hosts_are_refused_with_what_to_write);
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
