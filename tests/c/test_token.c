/* test_token.c — token.c: token responses, JWT expiry, base64url, the blob. */
#include "check.h"
#include "internal.h"

#include <stdlib.h>

#define NOW 1700000000000.0
#define HOUR_MS 3600000.0

/* An exact-length copy with no NUL after it, so ASan catches any over-read. */
static char *exact(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  if (p && n) memcpy(p, s, n);
  return p;
}

static int parse_n(ag_tokens *t, const ag_token_fields *f, const char *body, size_t n) {
  char *copy = exact(body, n);
  int rv = ag_tokens_parse_response(t, f, NOW, copy, n);
  free(copy);
  return rv;
}

static int parse(ag_tokens *t, const char *body) { return parse_n(t, NULL, body, strlen(body)); }

static int read_blob_n(const char *s, size_t n, ag_tokens *t, uint64_t *gen, bool *logout) {
  char *copy = exact(s, n);
  int rv = ag_blob_read(copy, n, t, gen, logout);
  free(copy);
  return rv;
}

static int read_blob(const char *s, ag_tokens *t, uint64_t *gen, bool *logout) {
  return read_blob_n(s, strlen(s), t, gen, logout);
}

static void b64url(char *out, const char *in) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t i, n = strlen(in), o = 0;
  for (i = 0; i < n; i += 3) {
    unsigned v = (unsigned)(unsigned char)in[i] << 16;
    if (i + 1 < n) v |= (unsigned)(unsigned char)in[i + 1] << 8;
    if (i + 2 < n) v |= (unsigned char)in[i + 2];
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    if (i + 1 < n) out[o++] = a[(v >> 6) & 63];
    if (i + 2 < n) out[o++] = a[v & 63];
  }
  out[o] = '\0';
}

/* header.payload.signature with the given payload JSON. */
static char jwt_buf[4096];
static const char *jwt(const char *payload) {
  char p[2048];
  b64url(p, payload);
  snprintf(jwt_buf, sizeof(jwt_buf), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s.c2lnbmF0dXJl", p);
  return jwt_buf;
}

static char body_buf[8192];
static const char *with_access(const char *access, const char *rest) {
  snprintf(body_buf, sizeof(body_buf), "{\"access_token\":\"%s\"%s}", access, rest);
  return body_buf;
}

/* ---- token responses ---- */

static void access_token_and_refresh_token_are_read(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access_token\":\"A1\",\"refresh_token\":\"R1\",\"token_type\":\"Bearer\"}") ==
        AG_OK);
  CHECK_STR_EQ(t.access, "A1");
  CHECK_STR_EQ(t.refresh, "R1");
  CHECK(t.expires_at == 0);
  ag_tokens_clear(&t);
  CHECK(t.access == NULL && t.refresh == NULL && t.expires_at == 0);
}

static void short_field_names_access_and_refresh_are_read(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access\":\"A2\",\"refresh\":\"R2\"}") == AG_OK);
  CHECK_STR_EQ(t.access, "A2");
  CHECK_STR_EQ(t.refresh, "R2");
  ag_tokens_clear(&t);
}

static void access_token_is_preferred_over_access(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access\":\"short\",\"access_token\":\"long\",\"refresh\":\"r\","
                  "\"refresh_token\":\"rt\"}") == AG_OK);
  CHECK_STR_EQ(t.access, "long");
  CHECK_STR_EQ(t.refresh, "rt");
  ag_tokens_clear(&t);
}

static void custom_field_names_are_tried_in_order(void) {
  char *access[] = {"token", "jwt"}, *refresh[] = {"renew"}, *expires[] = {"ttl"};
  ag_token_fields f = {access, 2, refresh, 1, expires, 1};
  ag_tokens t = {0};
  const char *body = "{\"jwt\":\"J\",\"renew\":\"N\",\"ttl\":60,\"access_token\":\"no\"}";
  CHECK(parse_n(&t, &f, body, strlen(body)) == AG_OK);
  CHECK_STR_EQ(t.access, "J");
  CHECK_STR_EQ(t.refresh, "N");
  CHECK(t.expires_at == NOW + 60000);
  ag_tokens_clear(&t);
}

static void custom_field_names_replace_the_defaults(void) {
  char *access[] = {"token"};
  ag_token_fields f = {access, 1, NULL, 0, NULL, 0};
  ag_tokens t = {0};
  const char *body = "{\"access_token\":\"A\"}";
  CHECK(parse_n(&t, &f, body, strlen(body)) == AG_ERR_BAD_TOKENS);
  body = "{\"token\":\"T\",\"refresh_token\":\"R\",\"expires_in\":10}";
  CHECK(parse_n(&t, &f, body, strlen(body)) == AG_OK);
  CHECK_STR_EQ(t.access, "T");
  CHECK_STR_EQ(t.refresh, "R");
  CHECK(t.expires_at == NOW + 10000);
  ag_tokens_clear(&t);
}

static void empty_field_lists_and_null_fields_mean_the_defaults(void) {
  ag_token_fields f = {NULL, 0, NULL, 0, NULL, 0};
  ag_tokens t = {0};
  const char *body = "{\"access\":\"A\",\"refresh_token\":\"R\",\"expires_in\":5}";
  CHECK(parse_n(&t, &f, body, strlen(body)) == AG_OK);
  CHECK_STR_EQ(t.access, "A");
  CHECK_STR_EQ(t.refresh, "R");
  CHECK(t.expires_at == NOW + 5000);
  ag_tokens_clear(&t);
  CHECK(parse_n(&t, NULL, body, strlen(body)) == AG_OK);
  CHECK_STR_EQ(t.access, "A");
  ag_tokens_clear(&t);
}

static void refresh_token_is_optional_and_null_means_absent(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access_token\":\"A\"}") == AG_OK);
  CHECK(t.refresh == NULL);
  ag_tokens_clear(&t);
  CHECK(parse(&t, "{\"access_token\":\"A\",\"refresh_token\":null,\"refresh\":\"R\"}") == AG_OK);
  CHECK_STR_EQ(t.refresh, "R");
  ag_tokens_clear(&t);
}

static void expires_in_seconds_sets_the_expiry_from_now(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access_token\":\"A\",\"expires_in\":3600}") == AG_OK);
  CHECK(t.expires_at == NOW + HOUR_MS);
  ag_tokens_clear(&t);
  CHECK(parse(&t, "{\"access_token\":\"A\",\"expires_in\":1.5}") == AG_OK);
  CHECK(t.expires_at == NOW + 1500);
  ag_tokens_clear(&t);
}

static void expires_in_as_a_numeric_string_is_accepted(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access_token\":\"A\",\"expires_in\":\"3600\"}") == AG_OK);
  CHECK(t.expires_at == NOW + HOUR_MS);
  ag_tokens_clear(&t);
}

static void expires_in_wins_over_jwt_exp(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, with_access(jwt("{\"exp\":1800000000}"), ",\"expires_in\":60")) == AG_OK);
  CHECK(t.expires_at == NOW + 60000);
  ag_tokens_clear(&t);
}

static void jwt_exp_is_used_when_there_is_no_expires_in(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, with_access(jwt("{\"sub\":\"u1\",\"exp\":1800000000}"), "")) == AG_OK);
  CHECK(t.expires_at == 1800000000000.0);
  ag_tokens_clear(&t);
}

static void unusable_expires_in_falls_back_to_jwt_exp(void) {
  static const char *bad[] = {",\"expires_in\":0",
                              ",\"expires_in\":-5",
                              ",\"expires_in\":\"abc\"",
                              ",\"expires_in\":\"\"",
                              ",\"expires_in\":\"-1\"",
                              ",\"expires_in\":\"12.5\"",
                              ",\"expires_in\":1e400",
                              ",\"expires_in\":-1e400",
                              ",\"expires_in\":315360000",
                              ",\"expires_in\":true",
                              ",\"expires_in\":{}",
                              ",\"expires_in\":[60]",
                              ",\"expires_in\":\"99999999999\"",
                              ",\"expires_in\":null"};
  size_t i;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ag_tokens t = {0};
    CHECK(parse(&t, with_access(jwt("{\"exp\":1800000000}"), bad[i])) == AG_OK);
    CHECK(t.expires_at == 1800000000000.0);
    ag_tokens_clear(&t);
    CHECK(parse(&t, with_access("opaque", bad[i])) == AG_OK);
    CHECK(t.expires_at == 0);
    ag_tokens_clear(&t);
  }
}

static void opaque_token_has_unknown_expiry(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, with_access("8f14e45fceea167a5a36dedd4bea2543", "")) == AG_OK);
  CHECK(t.expires_at == 0);
  ag_tokens_clear(&t);
  CHECK(parse(&t, with_access("a.b.c", "")) == AG_OK);
  CHECK(t.expires_at == 0);
  ag_tokens_clear(&t);
}

static void missing_or_empty_access_token_is_rejected(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"refresh_token\":\"R\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":null}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"Access_Token\":\"A\"}") == AG_ERR_BAD_TOKENS);
  CHECK(t.access == NULL && t.refresh == NULL);
}

static void tokens_of_the_wrong_type_are_rejected(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access_token\":12345}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":true}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":{\"v\":\"A\"}}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":[\"A\"]}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"A\",\"refresh_token\":42}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"A\",\"refresh_token\":\"\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":1,\"access\":\"A\"}") == AG_ERR_BAD_TOKENS);
}

static void tokens_with_cr_lf_spaces_or_controls_are_rejected(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access_token\":\"abc\\r\\nX-Evil: 1\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"abc\\n\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"a b\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"a\\tb\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"a\\u007fb\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"A\",\"refresh_token\":\"r\\r\\n\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"a\rb\"}") == AG_ERR_BAD_TOKENS); /* raw CR */
}

static void non_ascii_tokens_are_rejected(void) {
  ag_tokens t = {0};
  CHECK(parse(&t, "{\"access_token\":\"caf\xc3\xa9\"}") == AG_ERR_BAD_TOKENS);
  CHECK(parse(&t, "{\"access_token\":\"caf\\u00e9\"}") == AG_ERR_BAD_TOKENS);
}

static void token_at_the_size_cap_is_accepted_and_one_more_byte_is_not(void) {
  static char token[AG_MAX_TOKEN + 2], body[AG_MAX_TOKEN + 64];
  ag_tokens t = {0};
  memset(token, 'x', AG_MAX_TOKEN);
  snprintf(body, sizeof(body), "{\"access_token\":\"%s\"}", token);
  CHECK(parse(&t, body) == AG_OK);
  CHECK(t.access != NULL && strlen(t.access) == AG_MAX_TOKEN);
  ag_tokens_clear(&t);
  token[AG_MAX_TOKEN] = 'x';
  snprintf(body, sizeof(body), "{\"access_token\":\"%s\"}", token);
  CHECK(parse(&t, body) == AG_ERR_BAD_TOKENS);
}

static void malformed_json_is_rejected(void) {
  static const char *bad[] = {"",
                              "{",
                              "not json",
                              "[]",
                              "[{\"access_token\":\"A\"}]",
                              "\"A\"",
                              "null",
                              "42",
                              "{\"access_token\":\"A\"} trailing",
                              "{\"access_token\":\"A\"}{}",
                              "{\"access_token\":\"A\",}",
                              "{'access_token':'A'}",
                              "{\"access_token\":\"A\\x\"}",
                              "{\"access_token\":\"\\ud800\"}"};
  size_t i;
  ag_tokens t = {0};
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) CHECK(parse(&t, bad[i]) == AG_ERR_BAD_TOKENS);
  CHECK(ag_tokens_parse_response(&t, NULL, NOW, NULL, 0) == AG_ERR_BAD_TOKENS);
  CHECK(ag_tokens_parse_response(NULL, NULL, NOW, "{}", 2) == AG_ERR_INVALID);
}

static const char *nested(int arrays, const char *inside) {
  static char s[512];
  int i, o = 0;
  for (i = 0; i < arrays; i++) s[o++] = '[';
  o += snprintf(s + o, sizeof(s) - (size_t)o, "%s", inside);
  for (i = 0; i < arrays; i++) s[o++] = ']';
  s[o] = '\0';
  return s;
}

static void set_tokens_input_uses_access_refresh_and_expires_in(void) {
  ag_tokens t = {0};
  const char *s = "{\"access\":\"A\",\"refresh\":\"R\",\"expiresIn\":120}";
  CHECK(ag_tokens_parse_set(&t, NOW, s, strlen(s)) == AG_OK);
  CHECK_STR_EQ(t.access, "A");
  CHECK_STR_EQ(t.refresh, "R");
  CHECK(t.expires_at == NOW + 120000);
  ag_tokens_clear(&t);
  s = "{\"access_token\":\"A\"}";
  CHECK(ag_tokens_parse_set(&t, NOW, s, strlen(s)) == AG_ERR_BAD_TOKENS);
  s = "{\"access\":\"A B\"}";
  CHECK(ag_tokens_parse_set(&t, NOW, s, strlen(s)) == AG_ERR_BAD_TOKENS);
}

static void set_tokens_without_expires_in_uses_jwt_exp(void) {
  ag_tokens t = {0};
  char s[1024];
  snprintf(s, sizeof(s), "{\"access\":\"%s\",\"expiresIn\":-1}", jwt("{\"exp\":1800000000}"));
  CHECK(ag_tokens_parse_set(&t, NOW, s, strlen(s)) == AG_OK);
  CHECK(t.expires_at == 1800000000000.0);
  CHECK(t.refresh == NULL);
  ag_tokens_clear(&t);
}

/* ---- JWT and base64url ---- */

static ag_ms exp_of(const char *token) { return ag_jwt_exp_ms(token, strlen(token)); }

static void jwt_exp_is_returned_in_milliseconds(void) {
  CHECK(exp_of(jwt("{\"exp\":1800000000}")) == 1800000000000.0);
  CHECK(exp_of(jwt("{\"exp\":1800000000.5}")) == 1800000000500.0);
  CHECK(exp_of("eyJhbGciOiJub25lIn0.eyJleHAiOjF9.") == 1000.0); /* alg none, empty signature */
}

static void jwt_with_base64_padding_is_accepted(void) {
  /* {"exp":1} is 9 bytes: no padding; {"exp":12} is 10: "==" */
  CHECK(exp_of("h.eyJleHAiOjEyfQ==.s") == 12000.0);
  CHECK(exp_of("h.eyJleHAiOjEyfQ.s") == 12000.0);
}

static void jwt_with_bad_base64url_is_treated_as_opaque(void) {
  CHECK(exp_of("h.eyJleHAiOjEyfQ=.s") == 0);   /* incomplete padding */
  CHECK(exp_of("h.eyJleHAiOjEyfQ===.s") == 0); /* too much */
  CHECK(exp_of("h.eyJle+AiOjEyfQ.s") == 0);    /* standard alphabet */
  CHECK(exp_of("h.eyJle*AiOjEyfQ.s") == 0);
  CHECK(exp_of("h.eyJleHAiOjEyfQx.s") == 0); /* one char too many */
  CHECK(exp_of("h.eyJleHAiOjEyfR.s") == 0);  /* non-zero leftover bits */
}

static void jwt_with_unusable_payload_is_treated_as_opaque(void) {
  char deep[256];
  CHECK(exp_of(jwt("not json")) == 0);
  CHECK(exp_of(jwt("[1800000000]")) == 0);
  CHECK(exp_of(jwt("{\"exp\":\"1800000000\"}")) == 0);
  CHECK(exp_of(jwt("{\"exp\":-1}")) == 0);
  CHECK(exp_of(jwt("{\"exp\":0}")) == 0);
  CHECK(exp_of(jwt("{\"exp\":1e300}")) == 0);
  CHECK(exp_of(jwt("{\"exp\":1e400}")) == 0);
  CHECK(exp_of(jwt("{\"sub\":\"no exp\"}")) == 0);
  CHECK(exp_of(jwt("{\"exp\":1800000000} x")) == 0);
  snprintf(deep, sizeof(deep), "{\"exp\":1,\"a\":%s}", nested(AG_MAX_JSON_DEPTH, "1"));
  CHECK(exp_of(jwt(deep)) == 0);
  snprintf(deep, sizeof(deep), "{\"exp\":1,\"a\":%s}", nested(AG_MAX_JSON_DEPTH - 1, "1"));
  CHECK(exp_of(jwt(deep)) == 1000.0);
}

static void jwt_needs_exactly_three_parts(void) {
  CHECK(exp_of("eyJleHAiOjF9") == 0);
  CHECK(exp_of("h.eyJleHAiOjF9") == 0);
  CHECK(exp_of("h.eyJleHAiOjF9.s.x") == 0);
  CHECK(exp_of("h.eyJleHAiOjF9.s.x.y") == 0);
  CHECK(exp_of(".eyJleHAiOjF9.s") == 0);
  CHECK(exp_of("h..s") == 0);
  CHECK(ag_jwt_exp_ms(NULL, 0) == 0);
  CHECK(ag_jwt_exp_ms("h.eyJleHAiOjF9.s", 5) == 0); /* the length, not the NUL, ends it */
}

static void base64url_decodes_with_and_without_padding(void) {
  static const char *in[] = {"", "TQ", "TQ==", "TWE", "TWE=", "TWFu", "-_8"};
  static const char *out[] = {"", "M", "M", "Ma", "Ma", "Man", "\xfb\xff"};
  size_t i, n;
  for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
    unsigned char *d = ag_base64url_decode(in[i], strlen(in[i]), &n);
    CHECK(d != NULL && n == strlen(out[i]) && !memcmp(d, out[i], n) && d[n] == '\0');
    ag_free(d);
  }
}

static void bad_base64url_is_refused(void) {
  static const char *bad[] = {"T", "TQ=", "TQ===", "=", "==", "TWFu=", "TW=u", "T Q", "TQ+/", "TR"};
  size_t i, n = 99;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK(ag_base64url_decode(bad[i], strlen(bad[i]), &n) == NULL);
    CHECK(n == 0);
  }
  CHECK(ag_base64url_decode("TQ\0=", 4, &n) == NULL);
}

static void token_validity_is_printable_ascii_without_space(void) {
  static char big[AG_MAX_TOKEN + 1];
  CHECK(ag_token_is_valid("!~", 2));
  CHECK(ag_token_is_valid("a\"b\\c", 5));
  CHECK(!ag_token_is_valid("a b", 3));
  CHECK(!ag_token_is_valid("a\x7f", 2));
  CHECK(!ag_token_is_valid("a\x80", 2));
  CHECK(!ag_token_is_valid("a\0b", 3));
  CHECK(!ag_token_is_valid("", 0));
  CHECK(!ag_token_is_valid(NULL, 1));
  memset(big, 'x', sizeof(big));
  CHECK(ag_token_is_valid(big, AG_MAX_TOKEN));
  CHECK(!ag_token_is_valid(big, AG_MAX_TOKEN + 1));
}

/* ---- the blob ---- */

static void blob_round_trips_tokens(void) {
  ag_tokens in = {"acc\"ess\\1", "ref-1", 1800000000123.0, NULL}, out = {0};
  uint64_t gen = 0;
  bool logout = true;
  char *b = ag_blob_write(&in, 41);
  CHECK_STR_EQ(b, "{\"v\":1,\"type\":\"tokens\",\"gen\":41,\"access\":\"acc\\\"ess\\\\1\","
                  "\"refresh\":\"ref-1\",\"exp\":1800000000123}");
  CHECK(b != NULL && read_blob(b, &out, &gen, &logout) == AG_OK);
  CHECK(gen == 41 && !logout);
  CHECK_STR_EQ(out.access, in.access);
  CHECK_STR_EQ(out.refresh, in.refresh);
  CHECK(out.expires_at == in.expires_at);
  ag_tokens_clear(&out);
  ag_free_secret(b);
}

static void blob_keeps_the_id_token(void) {
  ag_tokens in = {"A", "R", 5, "h.p.s"}, out = {0};
  uint64_t gen = 0;
  bool logout = true;
  char *b = ag_blob_write(&in, 7);
  CHECK_STR_EQ(b, "{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A\",\"refresh\":\"R\","
                  "\"id\":\"h.p.s\",\"exp\":5}");
  CHECK(b != NULL && read_blob(b, &out, &gen, &logout) == AG_OK);
  CHECK_STR_EQ(out.id_token, "h.p.s");
  ag_tokens_clear(&out);
  CHECK(out.id_token == NULL);
  ag_free_secret(b);
  /* an id member that is not a token makes the blob malformed */
  CHECK(read_blob("{\"v\":1,\"type\":\"tokens\",\"gen\":7,\"access\":\"A\",\"id\":\"a b\","
                  "\"exp\":5}",
                  &out, &gen, &logout) == AG_ERR_BAD_BLOB);
}

static void blob_without_refresh_or_expiry_round_trips(void) {
  ag_tokens in = {"A", NULL, 0, NULL}, out = {0};
  uint64_t gen = 0;
  bool logout = true;
  char *b = ag_blob_write(&in, 0);
  CHECK_STR_EQ(b, "{\"v\":1,\"type\":\"tokens\",\"gen\":0,\"access\":\"A\",\"exp\":0}");
  CHECK(b != NULL && read_blob(b, &out, &gen, &logout) == AG_OK);
  CHECK(gen == 0 && !logout && out.refresh == NULL && out.expires_at == 0);
  CHECK_STR_EQ(out.access, "A");
  ag_tokens_clear(&out);
  ag_free_secret(b);
}

static void logout_blob_round_trips(void) {
  ag_tokens none = {NULL, "R", 5, NULL}, out = {0};
  uint64_t gen = 0;
  bool logout = false;
  char *b = ag_blob_write(NULL, 9007199254740991ull);
  CHECK_STR_EQ(b, "{\"v\":1,\"type\":\"logout\",\"gen\":9007199254740991}");
  CHECK(b != NULL && read_blob(b, &out, &gen, &logout) == AG_OK);
  CHECK(logout && gen == 9007199254740991ull && out.access == NULL && out.refresh == NULL);
  ag_free(b);
  b = ag_blob_write(&none, 3);
  CHECK_STR_EQ(b, "{\"v\":1,\"type\":\"logout\",\"gen\":3}");
  ag_free(b);
}

static void blob_generation_of_two_to_the_53_is_not_written(void) {
  CHECK(ag_blob_write(NULL, 9007199254740992ull) == NULL);
}

static void unusable_expiry_is_written_as_unknown(void) {
  ag_tokens in = {"A", NULL, -5, NULL};
  char *b = ag_blob_write(&in, 1);
  CHECK_STR_EQ(b, "{\"v\":1,\"type\":\"tokens\",\"gen\":1,\"access\":\"A\",\"exp\":0}");
  ag_free_secret(b);
  in.expires_at = 1e300;
  b = ag_blob_write(&in, 1);
  CHECK_STR_EQ(b, "{\"v\":1,\"type\":\"tokens\",\"gen\":1,\"access\":\"A\",\"exp\":0}");
  ag_free_secret(b);
}

static void blob_with_extra_fields_and_other_key_order_is_read(void) {
  ag_tokens out = {0};
  uint64_t gen = 0;
  bool logout = true;
  CHECK(read_blob(
            " {\"exp\":5,\"access\":\"A\",\"gen\":2.0,\"type\":\"tokens\",\"v\":1,\"new\":[1]} ",
            &out, &gen, &logout) == AG_OK);
  CHECK(gen == 2 && !logout && out.expires_at == 5);
  ag_tokens_clear(&out);
}

static void check_bad_blob(const char *s, int line) {
  ag_tokens out = {0};
  uint64_t gen = 77;
  bool logout = true;
  int rv = read_blob(s, &out, &gen, &logout);
  if (rv != AG_ERR_BAD_BLOB || out.access || out.refresh || gen != 77 || !logout) {
    fprintf(stderr, "  line %d: blob %s read as %d\n", line, s, rv);
    check_failures++;
  }
  ag_tokens_clear(&out);
}
#define BAD_BLOB(s) check_bad_blob(s, __LINE__)

#define TOK "\"type\":\"tokens\",\"access\":\"A\",\"exp\":1"

static void blob_with_older_format_version_is_rejected(void) {
  BAD_BLOB("{\"v\":0,\"gen\":1," TOK "}");
  BAD_BLOB("{\"gen\":1," TOK "}");
}

static void blob_with_newer_or_odd_format_version_is_rejected(void) {
  BAD_BLOB("{\"v\":2,\"gen\":1," TOK "}");
  BAD_BLOB("{\"v\":\"1\",\"gen\":1," TOK "}");
  BAD_BLOB("{\"v\":1.5,\"gen\":1," TOK "}");
  BAD_BLOB("{\"v\":true,\"gen\":1," TOK "}");
}

static void blob_with_bad_generation_is_rejected(void) {
  BAD_BLOB("{\"v\":1," TOK "}");
  BAD_BLOB("{\"v\":1,\"gen\":-1," TOK "}");
  BAD_BLOB("{\"v\":1,\"gen\":1.5," TOK "}");
  BAD_BLOB("{\"v\":1,\"gen\":\"3\"," TOK "}");
  BAD_BLOB("{\"v\":1,\"gen\":null," TOK "}");
  BAD_BLOB("{\"v\":1,\"gen\":9007199254740992," TOK "}");
  BAD_BLOB("{\"v\":1,\"gen\":1e300," TOK "}");
  BAD_BLOB("{\"v\":1,\"gen\":1e400," TOK "}");
}

static void blob_with_bad_type_is_rejected(void) {
  BAD_BLOB("{\"v\":1,\"gen\":1,\"access\":\"A\",\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"Tokens\",\"access\":\"A\",\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"other\"}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":5}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":[\"logout\"]}");
}

static void blob_with_bad_tokens_is_rejected(void) {
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"\",\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\\r\\nB\",\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":7,\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":null,\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\",\"refresh\":null,\"exp\":1}");
  BAD_BLOB(
      "{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\",\"refresh\":\"a b\",\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\",\"refresh\":{},\"exp\":1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"\\u00e9\",\"exp\":1}");
}

static void blob_with_bad_expiry_is_rejected(void) {
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\"}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\",\"exp\":-1}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\",\"exp\":1.5}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\",\"exp\":\"1\"}");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"tokens\",\"access\":\"A\",\"exp\":1e300}");
}

static void malformed_blob_json_is_rejected(void) {
  static const char nul[] = "{\"v\":1,\"gen\":1,\"type\":\"logout\"}\0";
  ag_tokens out = {0};
  uint64_t gen;
  bool logout;
  char deep[256];
  BAD_BLOB("");
  BAD_BLOB("not json");
  BAD_BLOB("[1]");
  BAD_BLOB("\"logout\"");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"logout\"");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"logout\"}x");
  BAD_BLOB("{\"v\":1,\"gen\":1,\"type\":\"log\\u0000out\"}");
  snprintf(deep, sizeof(deep), "{\"v\":1,\"gen\":1,\"type\":\"logout\",\"d\":%s}",
           nested(AG_MAX_JSON_DEPTH, "0"));
  BAD_BLOB(deep);
  CHECK(read_blob_n(nul, sizeof(nul) - 1, &out, &gen, &logout) == AG_ERR_BAD_BLOB);
  CHECK(ag_blob_read(NULL, 0, &out, &gen, &logout) == AG_ERR_BAD_BLOB);
  CHECK(ag_blob_read("{}", 2, NULL, &gen, &logout) == AG_ERR_INVALID);
}

static void oversized_blob_is_rejected(void) {
  static char s[AG_MAX_JSON + 1];
  ag_tokens out = {0};
  uint64_t gen;
  bool logout;
  const char *head = "{\"v\":1,\"gen\":1,\"type\":\"logout\"}";
  memset(s, ' ', sizeof(s));
  memcpy(s, head, strlen(head));
  CHECK(read_blob_n(s, AG_MAX_JSON, &out, &gen, &logout) == AG_OK);
  CHECK(read_blob_n(s, AG_MAX_JSON + 1, &out, &gen, &logout) == AG_ERR_BAD_BLOB);
}

/* ---- secrets and allocation failure, through a recording allocator ---- */

#define MARK "SECRETMARK"
static long budget = -1;    /* allocations left before failing; -1: unlimited */
static int unwiped_secrets; /* blocks freed with MARK still inside */

static void *test_malloc(size_t n) {
  size_t *p;
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  p = malloc(n + sizeof(size_t) * 2);
  if (p == NULL) return NULL;
  p[0] = n;
  return p + 2;
}

static void test_free(void *q) {
  size_t *p = (size_t *)q - 2, n = p[0], k = strlen(MARK), i;
  for (i = 0; i + k <= n; i++)
    if (!memcmp((char *)q + i, MARK, k)) unwiped_secrets++;
  free(p);
}

static void with_test_allocator(bool on) {
  ag_set_allocator(on ? test_malloc : NULL, on ? test_free : NULL);
  budget = -1;
  unwiped_secrets = 0;
}

static void secrets_are_wiped_before_they_are_freed(void) {
  const char *set = "{\"access\":\"" MARK "\"}";
  ag_tokens t = {0}, out = {0};
  uint64_t gen;
  bool logout;
  char *b;
  with_test_allocator(true);
  CHECK(parse(&t, "{\"access_token\":\"" MARK "a\",\"refresh_token\":\"" MARK "r\","
                  "\"other\":\"" MARK "o\"}") == AG_OK);
  b = ag_blob_write(&t, 1);
  CHECK(b != NULL && read_blob(b, &out, &gen, &logout) == AG_OK);
  ag_free_secret(b);
  ag_tokens_clear(&out);
  ag_tokens_clear(&t);
  CHECK(ag_tokens_parse_set(&t, NOW, set, strlen(set)) == AG_OK);
  ag_tokens_clear(&t);
  CHECK(unwiped_secrets == 0);
  with_test_allocator(false);
}

static void allocation_failure_in_parsing_is_reported_and_leaks_nothing(void) {
  ag_tokens t = {0};
  long k;
  int rv = AG_ERR_NOMEM;
  const char *body = with_access(jwt("{\"exp\":1800000000}"), ",\"refresh_token\":\"R\"");
  with_test_allocator(true);
  for (k = 0; k < 200 && (rv != AG_OK || t.expires_at == 0); k++) {
    long before;
    ag_tokens_clear(&t);
    before = ag_live_allocations();
    budget = k;
    rv = parse(&t, body);
    /* cJSON reports no allocation failure of its own: it looks like bad input */
    CHECK(rv == AG_OK ||
          ((rv == AG_ERR_NOMEM || rv == AG_ERR_BAD_TOKENS) && ag_live_allocations() == before));
  }
  CHECK(rv == AG_OK && t.expires_at == 1800000000000.0);
  ag_tokens_clear(&t);
  with_test_allocator(false);
}

static void allocation_failure_in_blobs_is_reported_and_leaks_nothing(void) {
  ag_tokens in = {"A", "R", 5, NULL}, out = {0};
  uint64_t gen;
  bool logout;
  long k;
  int rv = AG_ERR_NOMEM;
  char *b;
  with_test_allocator(true);
  budget = 0;
  CHECK(ag_blob_write(&in, 1) == NULL);
  CHECK(ag_blob_write(NULL, 1) == NULL);
  budget = -1;
  b = ag_blob_write(&in, 1);
  for (k = 0; k < 100 && rv != AG_OK; k++) {
    long before = ag_live_allocations();
    budget = k;
    rv = read_blob(b, &out, &gen, &logout);
    CHECK(rv == AG_OK ||
          ((rv == AG_ERR_NOMEM || rv == AG_ERR_BAD_BLOB) && ag_live_allocations() == before));
  }
  budget = -1;
  CHECK(rv == AG_OK);
  CHECK_STR_EQ(out.refresh, "R");
  ag_tokens_clear(&out);
  ag_free_secret(b);
  with_test_allocator(false);
}

int main(void) {
  ag_set_allocator(NULL, NULL);
  RUN(access_token_and_refresh_token_are_read);
  RUN(short_field_names_access_and_refresh_are_read);
  RUN(access_token_is_preferred_over_access);
  RUN(custom_field_names_are_tried_in_order);
  RUN(custom_field_names_replace_the_defaults);
  RUN(empty_field_lists_and_null_fields_mean_the_defaults);
  RUN(refresh_token_is_optional_and_null_means_absent);
  RUN(expires_in_seconds_sets_the_expiry_from_now);
  RUN(expires_in_as_a_numeric_string_is_accepted);
  RUN(expires_in_wins_over_jwt_exp);
  RUN(jwt_exp_is_used_when_there_is_no_expires_in);
  RUN(unusable_expires_in_falls_back_to_jwt_exp);
  RUN(opaque_token_has_unknown_expiry);
  RUN(missing_or_empty_access_token_is_rejected);
  RUN(tokens_of_the_wrong_type_are_rejected);
  RUN(tokens_with_cr_lf_spaces_or_controls_are_rejected);
  RUN(non_ascii_tokens_are_rejected);
  RUN(token_at_the_size_cap_is_accepted_and_one_more_byte_is_not);
  RUN(malformed_json_is_rejected);
  RUN(set_tokens_input_uses_access_refresh_and_expires_in);
  RUN(set_tokens_without_expires_in_uses_jwt_exp);
  RUN(jwt_exp_is_returned_in_milliseconds);
  RUN(jwt_with_base64_padding_is_accepted);
  RUN(jwt_with_bad_base64url_is_treated_as_opaque);
  RUN(jwt_with_unusable_payload_is_treated_as_opaque);
  RUN(jwt_needs_exactly_three_parts);
  RUN(base64url_decodes_with_and_without_padding);
  RUN(bad_base64url_is_refused);
  RUN(token_validity_is_printable_ascii_without_space);
  RUN(blob_round_trips_tokens);
  RUN(blob_keeps_the_id_token);
  RUN(blob_without_refresh_or_expiry_round_trips);
  RUN(logout_blob_round_trips);
  RUN(blob_generation_of_two_to_the_53_is_not_written);
  RUN(unusable_expiry_is_written_as_unknown);
  RUN(blob_with_extra_fields_and_other_key_order_is_read);
  RUN(blob_with_older_format_version_is_rejected);
  RUN(blob_with_newer_or_odd_format_version_is_rejected);
  RUN(blob_with_bad_generation_is_rejected);
  RUN(blob_with_bad_type_is_rejected);
  RUN(blob_with_bad_tokens_is_rejected);
  RUN(blob_with_bad_expiry_is_rejected);
  RUN(malformed_blob_json_is_rejected);
  RUN(oversized_blob_is_rejected);
  RUN(secrets_are_wiped_before_they_are_freed);
  RUN(allocation_failure_in_parsing_is_reported_and_leaks_nothing);
  RUN(allocation_failure_in_blobs_is_reported_and_leaks_nothing);
  return CHECK_EXIT_CODE();
}
