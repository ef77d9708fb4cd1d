/* test_base64url.c — base64url.c: unpadded encoding, and decoding it back. */
#include "check.h"
#include "internal.h"

static char *encode(const char *s, size_t n) {
  ag_buf b = {0};
  ag_buf_put_base64url(&b, (const unsigned char *)s, n);
  return ag_buf_take(&b);
}

static void encoding_never_pads(void) {
  /* RFC 4648 section 10 vectors, with the padding dropped. */
  static const char *const want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  for (size_t n = 0; n <= 6; n++) {
    char *s = encode("foobar", n);
    CHECK_STR_EQ(s, want[n]);
    ag_free(s);
  }
}

static void encoding_uses_the_url_safe_alphabet(void) {
  char *s = encode("\xfb\xff\xbf", 3); /* "+/+/" in standard base64 */
  CHECK_STR_EQ(s, "-_-_");
  ag_free(s);
}

static void thirty_two_random_bytes_give_43_characters(void) {
  unsigned char bytes[32];
  for (int i = 0; i < 32; i++) bytes[i] = (unsigned char)(i * 37 + 11);
  ag_buf b = {0};
  ag_buf_put_base64url(&b, bytes, sizeof bytes);
  char *s = ag_buf_take(&b);
  CHECK(s && strlen(s) == 43);
  size_t n = 0;
  unsigned char *back = s ? ag_base64url_decode(s, strlen(s), &n) : NULL;
  CHECK(back && n == 32 && !memcmp(back, bytes, 32));
  ag_free(back);
  ag_free(s);
}

static void every_byte_value_round_trips(void) {
  unsigned char all[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  for (size_t n = 0; n <= 256; n += 1 + n / 8) {
    char *s = encode((const char *)all, n);
    size_t got = 99;
    unsigned char *back = s ? ag_base64url_decode(s, strlen(s), &got) : NULL;
    CHECK(back && got == n && (n == 0 || !memcmp(back, all, n)));
    ag_free(back);
    ag_free(s);
  }
}

static void encoding_appends_across_its_block_boundary(void) {
  unsigned char bytes[48 + 3]; /* 64 characters fill the encoder's block once, then 4 more */
  for (int i = 0; i < (int)sizeof bytes; i++) bytes[i] = (unsigned char)(i * 91 + 7);
  ag_buf b = {0};
  ag_buf_puts(&b, "x.");
  ag_buf_put_base64url(&b, bytes, sizeof bytes);
  char *s = ag_buf_take(&b);
  CHECK(s && strlen(s) == 2 + 68 && !strncmp(s, "x.", 2));
  size_t n = 0;
  unsigned char *back = s ? ag_base64url_decode(s + 2, strlen(s) - 2, &n) : NULL;
  CHECK(back && n == sizeof bytes && !memcmp(back, bytes, sizeof bytes));
  ag_free(back);
  ag_free(s);
}

static void decoding_refuses_the_standard_alphabet_and_stray_bits(void) {
  size_t n = 1;
  CHECK(ag_base64url_decode("+/+/", 4, &n) == NULL && n == 0);
  CHECK(ag_base64url_decode("Zh", 2, &n) == NULL); /* "Zg" with a leftover bit set */
  CHECK(ag_base64url_decode("Z", 1, &n) == NULL);  /* 6 bits are no byte */
  unsigned char *ok = ag_base64url_decode("Zg==", 4, &n);
  CHECK(ok && n == 1 && ok[0] == 'f');
  ag_free(ok);
}

int main(void) {
  RUN(encoding_never_pads);
  RUN(encoding_uses_the_url_safe_alphabet);
  RUN(thirty_two_random_bytes_give_43_characters);
  RUN(every_byte_value_round_trips);
  RUN(encoding_appends_across_its_block_boundary);
  RUN(decoding_refuses_the_standard_alphabet_and_stray_bits);
  return CHECK_EXIT_CODE();
}
