/*
 * base64url.c — base64url (RFC 4648 section 5) both ways. Decoding reads
 * JWT parts (ID and access tokens); encoding writes PKCE values (verifier,
 * challenge), state and nonce. Encoding never pads (RFC 7636 appendix A);
 * decoding accepts padding if it is complete, and canonical input only.
 */
#include "internal.h"

#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/* Encodes through a small local block, so the buffer is reserved once per
 * 64 characters rather than once per character (a DPoP proof's signing input
 * is mostly base64url). */
void ag_buf_put_base64url(ag_buf *b, const unsigned char *s, size_t n) {
  char out[64];
  size_t k = 0;
  uint32_t acc = 0;
  unsigned bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8) | s[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[k++] = alphabet[(acc >> bits) & 63];
    }
    acc &= (1u << bits) - 1;
    if (k > sizeof out - 2) { /* a byte adds at most two characters, the end one more */
      ag_buf_put(b, out, k);
      k = 0;
    }
  }
  if (bits > 0) out[k++] = alphabet[(acc << (6 - bits)) & 63];
  ag_buf_put(b, out, k);
  ag_wipe(out, sizeof out); /* it held encoded secrets (PKCE verifiers) */
  ag_wipe(&acc, sizeof acc);
}

/* Decodes n base64url characters (no padding) into out; false on bad input. */
static bool decode_into(unsigned char *out, size_t *out_len, const char *s, size_t n) {
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64url_value(s[i]);
    if (v < 0) return false;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  *out_len = o;
  return acc == 0; /* leftover bits must be zero (canonical encoding) */
}

unsigned char *ag_base64url_decode(const char *s, size_t len, size_t *out_len) {
  size_t n = len, o = 0;
  if (out_len != NULL) *out_len = 0;
  if (s == NULL && len > 0) return NULL;
  if (n > 0 && s[n - 1] == '=') n--; /* padding is optional, but if present complete */
  if (n > 0 && s[n - 1] == '=') n--;
  if ((n != len && len % 4 != 0) || n % 4 == 1) return NULL;
  size_t cap = n / 4 * 3 + 3;
  unsigned char *out = ag_malloc(cap);
  if (out == NULL) return NULL;
  if (!decode_into(out, &o, s, n)) {
    ag_wipe(out, cap);
    ag_free(out);
    return NULL;
  }
  out[o] = '\0';
  if (out_len != NULL) *out_len = o;
  return out;
}
