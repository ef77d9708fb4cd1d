/* test_sha256.c — sha256.c against the FIPS 180-4 / RFC 6234 test vectors. */
#include "check.h"
#include "internal.h"

#include <stdlib.h>

static void hex(char out[65], const unsigned char d[AG_SHA256_SIZE]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < AG_SHA256_SIZE; i++) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 15];
  }
  out[64] = '\0';
}

/* Hashes an exact-length heap copy, so ASan catches a read past the message. */
static void digest_of(char out[65], const char *msg, size_t n) {
  unsigned char d[AG_SHA256_SIZE];
  char *copy = malloc(n ? n : 1);
  if (n) memcpy(copy, msg, n);
  ag_sha256(copy, n, d);
  free(copy);
  hex(out, d);
}

static void abc_is_the_one_block_vector(void) {
  char h[65];
  digest_of(h, "abc", 3);
  CHECK_STR_EQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void empty_input_has_the_known_digest(void) {
  char h[65];
  digest_of(h, "", 0);
  CHECK_STR_EQ(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void the_448_bit_message_spans_two_blocks(void) {
  static const char m[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  char h[65];
  CHECK(strlen(m) * 8 == 448);
  digest_of(h, m, strlen(m));
  CHECK_STR_EQ(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void the_896_bit_message_has_the_known_digest(void) {
  static const char m[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                          "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  char h[65];
  CHECK(strlen(m) * 8 == 896);
  digest_of(h, m, strlen(m));
  CHECK_STR_EQ(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a' in chunks of 1, 2, ... 127 bytes: every offset within a block is crossed. */
static void one_million_a_in_uneven_chunks(void) {
  char chunk[128];
  memset(chunk, 'a', sizeof chunk);
  ag_sha256_ctx s;
  ag_sha256_init(&s);
  size_t left = 1000000, n = 1;
  while (left > 0) {
    size_t take = n < left ? n : left;
    ag_sha256_update(&s, chunk, take);
    left -= take;
    n = n % 127 + 1;
  }
  unsigned char d[AG_SHA256_SIZE];
  char h[65];
  ag_sha256_final(&s, d);
  hex(h, d);
  CHECK_STR_EQ(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The padding's edges: the length fits in the last block (55) or needs one more (56..64);
 * digests of n times 'x' from another implementation. */
static void messages_at_the_padding_boundaries(void) {
  char x[120], h[65];
  memset(x, 'x', sizeof x);
  digest_of(h, x, 55);
  CHECK_STR_EQ(h, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  digest_of(h, x, 56);
  CHECK_STR_EQ(h, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  digest_of(h, x, 63);
  CHECK_STR_EQ(h, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
  digest_of(h, x, 64);
  CHECK_STR_EQ(h, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
  digest_of(h, x, 119);
  CHECK_STR_EQ(h, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
}

/* RFC 7636 appendix B: the S256 challenge of its example verifier. */
static void pkce_example_from_rfc_7636(void) {
  static const char verifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  unsigned char d[AG_SHA256_SIZE];
  ag_sha256(verifier, strlen(verifier), d);
  ag_buf b = {0};
  ag_buf_put_base64url(&b, d, sizeof d);
  char *challenge = ag_buf_take(&b);
  CHECK_STR_EQ(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  ag_free(challenge);
}

int main(void) {
  RUN(abc_is_the_one_block_vector);
  RUN(empty_input_has_the_known_digest);
  RUN(the_448_bit_message_spans_two_blocks);
  RUN(the_896_bit_message_has_the_known_digest);
  RUN(one_million_a_in_uneven_chunks);
  RUN(messages_at_the_padding_boundaries);
  RUN(pkce_example_from_rfc_7636);
  return CHECK_EXIT_CODE();
}
