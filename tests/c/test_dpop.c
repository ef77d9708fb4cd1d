/*
 * test_dpop.c — dpop.c: RFC 7638 thumbprints, the public key from the shim,
 * the proof's header and payload, the finished JWS, the nonce store, and
 * what counts as a use_dpop_nonce challenge.
 *
 * The EC vectors (thumbprint, ath) were computed with Node's own SHA-256
 * (crypto.createHash) over the same canonical text, an implementation
 * independent of src/sha256.c.
 */
#include "check.h"
#include "dpop.h"
#include "internal.h"
#include "json.h"

#include <stdlib.h>

/* RFC 7638 section 3.1's example key, and the thumbprint the RFC gives for it. */
static const char rfc7638_key[] =
    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1"
    "RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
    "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrd"
    "kt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\","
    "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

#define EC_X "s553p1rtiUjPv-w8J3ZalfA-JcEPehOuE6K-oNh9dYI"
#define EC_Y "ConlYlE6BGsBCAZuH2WNuJH1RP_fgVXA7j5mO5XbbGs"
#define EC_JKT "YA1Il3Dtti4foHVTu6k-HrhZMruySvCcXXppFmGRQHM"
/* What WebCrypto's exportKey('jwk') gives for a public key: ext and key_ops too. */
static const char ec_key[] = "{\"kty\":\"EC\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y
                             "\",\"crv\":\"P-256\",\"ext\":true,\"key_ops\":[\"verify\"]}";

static const unsigned char jti[AG_DPOP_JTI_BYTES] = {1, 2,  3,  4,  5,  6,  7,  8,
                                                     9, 10, 11, 12, 13, 14, 15, 16};

static void rsa_thumbprint_matches_rfc7638s_example(void) {
  char *t = NULL;
  CHECK(ag_jwk_thumbprint(rfc7638_key, sizeof rfc7638_key - 1, &t) == AG_OK);
  CHECK_STR_EQ(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  ag_free(t);
}

static void ec_thumbprint_uses_crv_kty_x_y_in_order(void) {
  char *t = NULL;
  CHECK(ag_jwk_thumbprint(ec_key, sizeof ec_key - 1, &t) == AG_OK);
  CHECK_STR_EQ(t, EC_JKT);
  ag_free(t);
  /* Member order and whitespace in the input do not matter. */
  static const char shuffled[] =
      "{ \"y\" : \"" EC_Y "\", \"crv\":\"P-256\",\"x\":\"" EC_X "\",\n\"kty\":\"EC\"}";
  CHECK(ag_jwk_thumbprint(shuffled, sizeof shuffled - 1, &t) == AG_OK);
  CHECK_STR_EQ(t, EC_JKT);
  ag_free(t);
}

static void thumbprint_refuses_incomplete_or_unknown_keys(void) {
  static const char *const bad[] = {
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\"}",         /* no y */
      "{\"kty\":\"RSA\",\"n\":\"abc\"}",                               /* no e */
      "{\"kty\":\"oct\",\"k\":\"abc\"}",                               /* another kty */
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":1,\"y\":\"" EC_Y "\"}", /* x not a string */
      "[1]",
      "{\"kty\":\"RSA\",\"kty\":\"RSA\",\"n\":\"a\",\"e\":\"b\"}", /* kty twice */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *t = (char *)"unset";
    CHECK(ag_jwk_thumbprint(bad[i], strlen(bad[i]), &t) == AG_ERR_INVALID);
    CHECK(t == NULL);
  }
}

static void a_webcrypto_public_key_is_accepted(void) {
  ag_dpop_key k;
  const char *why = "unset";
  CHECK(ag_dpop_key_parse(&k, ec_key, sizeof ec_key - 1, &why) == AG_OK);
  CHECK(why == NULL);
  CHECK_STR_EQ(k.jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}");
  CHECK_STR_EQ(k.jkt, EC_JKT);
  ag_dpop_key_free(&k);
  CHECK(k.jwk == NULL);
}

static void a_key_with_private_material_is_refused(void) {
  static const char with_d[] =
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\",\"d\":\"" EC_X "\"}";
  ag_dpop_key k;
  const char *why = NULL;
  CHECK(ag_dpop_key_parse(&k, with_d, sizeof with_d - 1, &why) == AG_ERR_INVALID);
  CHECK(why && strstr(why, "private"));
  CHECK(k.jwk == NULL && k.x == NULL);
}

static void other_curves_and_bad_coordinates_are_refused(void) {
  static const char *const bad[] = {
      "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}",
      "{\"kty\":\"RSA\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}",
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "A\",\"y\":\"" EC_Y "\"}", /* 33 bytes */
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"s553p1rtiUjPv-w8J3ZalfA-JcEPehOuE6K-oNh9dY\","
      "\"y\":\"" EC_Y "\"}", /* 31 bytes and a bit */
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "=\",\"y\":\"" EC_Y "\"}", /* padded */
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}",
      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"y\":\"" EC_Y "\"}",
      "not json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ag_dpop_key k;
    const char *why = NULL;
    CHECK(ag_dpop_key_parse(&k, bad[i], strlen(bad[i]), &why) == AG_ERR_INVALID);
    CHECK(why != NULL);
  }
}

/* Decodes one base64url part of a JWS into a JSON tree. */
static cJSON *part(const char *jws, int index) {
  const char *s = jws;
  for (int i = 0; i < index; i++) s = strchr(s, '.') + 1;
  const char *end = strchr(s, '.');
  size_t n = end ? (size_t)(end - s) : strlen(s), out = 0;
  unsigned char *raw = ag_base64url_decode(s, n, &out);
  cJSON *root = raw ? cJSON_ParseWithLength((const char *)raw, out) : NULL;
  ag_free(raw);
  return root;
}

static const char *str(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *proof_input(const char *method, const char *url, const char *token,
                         const char *nonce) {
  ag_dpop_key k;
  const char *why;
  if (ag_dpop_key_parse(&k, ec_key, sizeof ec_key - 1, &why) != AG_OK) return NULL;
  ag_dpop_claims in = {method, url, token, nonce, jti, 1700000000999.0};
  char *out = NULL;
  int rc = ag_dpop_signing_input(&k, &in, &out);
  ag_dpop_key_free(&k);
  return rc == AG_OK ? out : NULL;
}

static void the_header_names_dpop_jwt_es256_and_the_public_key(void) {
  char *input = proof_input("POST", "https://id.example/token", NULL, NULL);
  CHECK(input && strchr(input, '.') && !strchr(strchr(input, '.') + 1, '.'));
  cJSON *h = input ? part(input, 0) : NULL;
  CHECK_STR_EQ(str(h, "typ"), "dpop+jwt");
  CHECK_STR_EQ(str(h, "alg"), "ES256");
  const cJSON *jwk = cJSON_GetObjectItemCaseSensitive(h, "jwk");
  CHECK_STR_EQ(str(jwk, "kty"), "EC");
  CHECK_STR_EQ(str(jwk, "crv"), "P-256");
  CHECK_STR_EQ(str(jwk, "x"), EC_X);
  CHECK_STR_EQ(str(jwk, "y"), EC_Y);
  CHECK(cJSON_GetArraySize(jwk) == 4); /* no ext, no key_ops */
  cJSON_Delete(h);
  ag_free(input);
}

static void the_token_endpoint_proof_has_jti_htm_htu_iat_and_no_ath(void) {
  char *input = proof_input("post", "https://ID.example:443/token?x=1#frag", NULL, NULL);
  cJSON *p = input ? part(input, 1) : NULL;
  CHECK_STR_EQ(str(p, "jti"), "AQIDBAUGBwgJCgsMDQ4PEA");
  CHECK_STR_EQ(str(p, "htm"), "POST");                     /* fetch upper-cases post */
  CHECK_STR_EQ(str(p, "htu"), "https://id.example/token"); /* no query, no fragment */
  const cJSON *iat = cJSON_GetObjectItemCaseSensitive(p, "iat");
  CHECK(cJSON_IsNumber(iat) && iat->valuedouble == 1700000000.0); /* whole seconds */
  CHECK(!cJSON_GetObjectItemCaseSensitive(p, "ath"));
  CHECK(!cJSON_GetObjectItemCaseSensitive(p, "nonce"));
  cJSON_Delete(p);
  ag_free(input);
}

static void a_resource_proof_carries_ath_and_the_nonce(void) {
  char *input = proof_input("PATCH", "http://api.test:8080/a/./b/../c?q",
                            "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NKqgV3", "eyJ7S_zG.nonce");
  cJSON *p = input ? part(input, 1) : NULL;
  CHECK_STR_EQ(str(p, "htm"), "PATCH");
  CHECK_STR_EQ(str(p, "htu"), "http://api.test:8080/a/c");
  CHECK_STR_EQ(str(p, "ath"), "XBLzOuu3oOY8DyZEKmQ63L1M2SwF7iSeyK1rpvwYcXk");
  CHECK_STR_EQ(str(p, "nonce"), "eyJ7S_zG.nonce");
  cJSON_Delete(p);
  ag_free(input);
}

static void methods_fetch_does_not_normalise_are_kept_as_given(void) {
  char *input = proof_input("patch", "https://api.test/", NULL, NULL);
  cJSON *p = input ? part(input, 1) : NULL;
  CHECK_STR_EQ(str(p, "htm"), "patch"); /* fetch sends "patch" as it is */
  cJSON_Delete(p);
  ag_free(input);
}

static void a_proof_needs_a_method_a_jti_and_an_http_url(void) {
  ag_dpop_key k;
  const char *why;
  CHECK(ag_dpop_key_parse(&k, ec_key, sizeof ec_key - 1, &why) == AG_OK);
  char *out = NULL;
  ag_dpop_claims no_jti = {"GET", "https://api.test/", NULL, NULL, NULL, 0};
  CHECK(ag_dpop_signing_input(&k, &no_jti, &out) == AG_ERR_INVALID && !out);
  ag_dpop_claims no_method = {"", "https://api.test/", NULL, NULL, jti, 0};
  CHECK(ag_dpop_signing_input(&k, &no_method, &out) == AG_ERR_INVALID && !out);
  ag_dpop_claims ws = {"GET", "wss://api.test/socket", NULL, NULL, jti, 0};
  CHECK(ag_dpop_signing_input(&k, &ws, &out) == AG_ERR_BAD_URL && !out);
  ag_dpop_key_free(&k);
}

static void the_jws_ends_with_the_64_byte_signature_in_base64url(void) {
  unsigned char sig[AG_DPOP_SIGNATURE_BYTES];
  for (int i = 0; i < AG_DPOP_SIGNATURE_BYTES; i++) sig[i] = (unsigned char)(0xff - i);
  char *jws = NULL;
  CHECK(ag_dpop_finish("aGVhZA.Ym9keQ", sig, sizeof sig, &jws) == AG_OK);
  CHECK(jws && !strncmp(jws, "aGVhZA.Ym9keQ.", 14));
  size_t n = 0;
  unsigned char *back = jws ? ag_base64url_decode(jws + 14, strlen(jws + 14), &n) : NULL;
  CHECK(back && n == 64 && !memcmp(back, sig, 64));
  CHECK(jws && strlen(jws + 14) == 86); /* 64 bytes, unpadded */
  ag_free(back);
  ag_free(jws);
  /* A DER signature (70-72 bytes) or a truncated one is not r || s. */
  CHECK(ag_dpop_finish("a.b", sig, 63, &jws) == AG_ERR_INVALID && !jws);
  unsigned char der[72] = {0x30};
  CHECK(ag_dpop_finish("a.b", der, sizeof der, &jws) == AG_ERR_INVALID && !jws);
}

static void nonces_are_kept_per_origin_and_replaced(void) {
  ag_dpop_nonces s = {0};
  CHECK(ag_dpop_nonce_put(&s, "https://id.example", "n1", 2) == AG_OK);
  CHECK(ag_dpop_nonce_put(&s, "https://api.example", "r1", 2) == AG_OK);
  CHECK_STR_EQ(ag_dpop_nonce_get(&s, "https://id.example"), "n1");
  CHECK_STR_EQ(ag_dpop_nonce_get(&s, "https://api.example"), "r1");
  CHECK(ag_dpop_nonce_put(&s, "https://id.example", "n2", 2) == AG_OK);
  CHECK_STR_EQ(ag_dpop_nonce_get(&s, "https://id.example"), "n2");
  CHECK(ag_dpop_nonce_get(&s, "https://other.example") == NULL);
  CHECK(s.n == 2);
  ag_dpop_nonces_free(&s);
}

static void bad_nonces_are_ignored(void) {
  ag_dpop_nonces s = {0};
  CHECK(ag_dpop_nonce_put(&s, "https://a", "good", 4) == AG_OK);
  static const char *const bad[] = {"", "has space", "quo\"te", "back\\slash", "tab\t", "\x7f"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(ag_dpop_nonce_put(&s, "https://a", bad[i], strlen(bad[i])) == AG_ERR_INVALID);
  char big[AG_DPOP_MAX_NONCE + 1];
  memset(big, 'n', sizeof big);
  CHECK(ag_dpop_nonce_put(&s, "https://a", big, sizeof big) == AG_ERR_INVALID);
  CHECK(ag_dpop_nonce_put(&s, "https://a", big, sizeof big - 1) == AG_OK);
  CHECK(strlen(ag_dpop_nonce_get(&s, "https://a")) == AG_DPOP_MAX_NONCE);
  ag_dpop_nonces_free(&s);
}

static void the_nonce_store_is_bounded_and_drops_the_oldest_origin(void) {
  ag_dpop_nonces s = {0};
  char origin[32];
  for (int i = 0; i < AG_DPOP_MAX_NONCES + 3; i++) {
    snprintf(origin, sizeof origin, "https://o%d", i);
    CHECK(ag_dpop_nonce_put(&s, origin, "n", 1) == AG_OK);
  }
  CHECK(s.n == AG_DPOP_MAX_NONCES);
  CHECK(ag_dpop_nonce_get(&s, "https://o0") == NULL);
  CHECK(ag_dpop_nonce_get(&s, "https://o2") == NULL);
  CHECK(ag_dpop_nonce_get(&s, "https://o3") != NULL);
  snprintf(origin, sizeof origin, "https://o%d", AG_DPOP_MAX_NONCES + 2);
  CHECK(ag_dpop_nonce_get(&s, origin) != NULL);
  ag_dpop_nonces_free(&s);
}

static bool wants(const char *h) { return ag_dpop_www_auth_wants_nonce(h, strlen(h)); }

static void a_dpop_challenge_with_use_dpop_nonce_is_recognised(void) {
  CHECK(wants("DPoP error=\"use_dpop_nonce\""));
  CHECK(wants("dpop error=use_dpop_nonce"));
  CHECK(wants("DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires "
              "nonce in DPoP proof\", algs=\"ES256 PS256\""));
  CHECK(wants("Bearer realm=\"api\", DPoP algs=\"ES256\", error=\"use_dpop_nonce\""));
  CHECK(wants("Basic realm=\"x\",DPoP error=\"use_dpop_nonce\""));
  CHECK(wants("Negotiate abc/def==, DPoP error=\"use\\_dpop_nonce\"")); /* quoted-pair */
  CHECK(wants("DPoP ERROR = \"use_dpop_nonce\"")); /* names fold case; BWS around '=' */
}

static void other_challenges_are_not_a_nonce_challenge(void) {
  CHECK(!wants(""));
  CHECK(!wants("DPoP"));
  CHECK(!wants("DPoP error=\"invalid_token\""));
  CHECK(!wants("DPoP error=\"USE_DPOP_NONCE\""));   /* error codes are case-sensitive */
  CHECK(!wants("Bearer error=\"use_dpop_nonce\"")); /* not a DPoP challenge */
  CHECK(!wants("DPoP error=\"invalid_token\", error_description=\"use_dpop_nonce\""));
  CHECK(!wants("Bearer error_description=\"DPoP error=use_dpop_nonce\""));
  CHECK(!wants("DPoPx error=\"use_dpop_nonce\""));
  CHECK(!wants("DPoP error=\"use_dpop_nonce_now\""));
}

static void malformed_or_ambiguous_values_are_no_challenge(void) {
  CHECK(!wants("DPoP error=\"use_dpop_nonce")); /* no closing quote */
  CHECK(!wants("DPoP error=\"use_dpop_nonce\" junk"));
  CHECK(!wants("DPoP error=\"use_dpop_nonce\", error=\"use_dpop_nonce\"")); /* named twice */
  CHECK(!wants("DPoP error=\"use_dpop_nonce\", error=\"invalid_token\""));
  CHECK(!wants("DPoP error=\"use\x01_dpop_nonce\""));
  CHECK(!wants("=DPoP error=\"use_dpop_nonce\""));
  CHECK(!ag_dpop_www_auth_wants_nonce(NULL, 0));
  /* An overlong value is not read at all. */
  size_t n = AG_DPOP_MAX_CHALLENGE + 1;
  char *big = malloc(n);
  if (big) {
    memset(big, ' ', n);
    memcpy(big, "DPoP error=\"use_dpop_nonce\"", 27);
    CHECK(!ag_dpop_www_auth_wants_nonce(big, n));
    CHECK(ag_dpop_www_auth_wants_nonce(big, n - 1));
    free(big);
  }
}

static bool token_wants(int status, const char *body) {
  return ag_dpop_token_wants_nonce(status, body, strlen(body));
}

static void the_token_endpoint_asks_for_a_nonce_with_400_use_dpop_nonce(void) {
  CHECK(token_wants(400, "{\"error\":\"use_dpop_nonce\",\"error_description\":\"nonce\"}"));
  CHECK(!token_wants(401, "{\"error\":\"use_dpop_nonce\"}"));
  CHECK(!token_wants(400, "{\"error\":\"invalid_dpop_proof\"}"));
  CHECK(
      !token_wants(400, "{\"error\":\"invalid_grant\",\"error_description\":\"use_dpop_nonce\"}"));
  CHECK(!token_wants(400, "use_dpop_nonce"));
  CHECK(!token_wants(400, "{\"error\":\"use_dpop_nonce\",\"error\":\"x\"}"));
  CHECK(!ag_dpop_token_wants_nonce(400, NULL, 0));
}

static void a_nonce_retry_happens_once_and_only_with_a_nonce(void) {
  bool retried = false;
  CHECK(!ag_dpop_retry_with_nonce(false, true, &retried) && !retried);
  CHECK(!ag_dpop_retry_with_nonce(true, false, &retried) && !retried); /* same nonce: same fate */
  CHECK(ag_dpop_retry_with_nonce(true, true, &retried) && retried);
  CHECK(!ag_dpop_retry_with_nonce(true, true, &retried)); /* the retry was challenged again */
}

int main(void) {
  RUN(rsa_thumbprint_matches_rfc7638s_example);
  RUN(ec_thumbprint_uses_crv_kty_x_y_in_order);
  RUN(thumbprint_refuses_incomplete_or_unknown_keys);
  RUN(a_webcrypto_public_key_is_accepted);
  RUN(a_key_with_private_material_is_refused);
  RUN(other_curves_and_bad_coordinates_are_refused);
  RUN(the_header_names_dpop_jwt_es256_and_the_public_key);
  RUN(the_token_endpoint_proof_has_jti_htm_htu_iat_and_no_ath);
  RUN(a_resource_proof_carries_ath_and_the_nonce);
  RUN(methods_fetch_does_not_normalise_are_kept_as_given);
  RUN(a_proof_needs_a_method_a_jti_and_an_http_url);
  RUN(the_jws_ends_with_the_64_byte_signature_in_base64url);
  RUN(nonces_are_kept_per_origin_and_replaced);
  RUN(bad_nonces_are_ignored);
  RUN(the_nonce_store_is_bounded_and_drops_the_oldest_origin);
  RUN(a_dpop_challenge_with_use_dpop_nonce_is_recognised);
  RUN(other_challenges_are_not_a_nonce_challenge);
  RUN(malformed_or_ambiguous_values_are_no_challenge);
  RUN(the_token_endpoint_asks_for_a_nonce_with_400_use_dpop_nonce);
  RUN(a_nonce_retry_happens_once_and_only_with_a_nonce);
  return CHECK_EXIT_CODE();
}
