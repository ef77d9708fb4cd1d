/* test_buf.c — the growable string and its writers (buf.c). */
#include "check.h"
#include "internal.h"

static void json_strings_are_escaped(void) {
  ag_buf b = {0};
  ag_buf_put_json_string(&b, "a\"b\\c\n\x01z");
  char *s = ag_buf_take(&b);
  CHECK_STR_EQ(s, "\"a\\\"b\\\\c\\u000A\\u0001z\"");
  ag_free(s);
}

static void unsigned_numbers_are_written_in_full(void) {
  ag_buf b = {0};
  ag_buf_put_uint(&b, 0);
  ag_buf_putc(&b, ' ');
  ag_buf_put_uint(&b, 9007199254740991ULL);
  ag_buf_putc(&b, ' ');
  ag_buf_put_uint(&b, UINT64_MAX);
  char *s = ag_buf_take(&b);
  CHECK_STR_EQ(s, "0 9007199254740991 18446744073709551615");
  ag_free(s);
}

static void the_one_formatter_fills_exactly_its_digits(void) {
  char out[AG_UINT_DIGITS + 1];
  memset(out, 'x', sizeof out);
  CHECK(ag_format_uint(out, UINT64_MAX) == AG_UINT_DIGITS && out[AG_UINT_DIGITS] == 'x');
  CHECK(!memcmp(out, "18446744073709551615", AG_UINT_DIGITS));
  CHECK(ag_format_uint(out, 0) == 1 && out[0] == '0' && out[1] == '8');
}

static void form_values_are_percent_encoded(void) {
  ag_buf b = {0};
  ag_buf_put_form(&b, "a b&c=d/é~*-._");
  char *s = ag_buf_take(&b);
  CHECK(s && !strncmp(s, "a+b%26c%3Dd%2F%C3%A9", 20));
  ag_free(s);
}

static void a_buffer_grows_past_its_first_block(void) {
  ag_buf b = {0};
  for (int i = 0; i < 5000; i++) ag_buf_putc(&b, (char)('a' + i % 26));
  CHECK(b.len == 5000 && !b.failed);
  char *s = ag_buf_take(&b);
  CHECK(s && strlen(s) == 5000 && s[4999] == (char)('a' + 4999 % 26));
  ag_free(s);
  ag_buf_reset(&b); /* after take: nothing left to free */
}

int main(void) {
  RUN(json_strings_are_escaped);
  RUN(unsigned_numbers_are_written_in_full);
  RUN(the_one_formatter_fills_exactly_its_digits);
  RUN(form_values_are_percent_encoded);
  RUN(a_buffer_grows_past_its_first_block);
  return CHECK_EXIT_CODE();
}
