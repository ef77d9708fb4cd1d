/*
 * buf.c — a growable string. A failed allocation marks the buffer failed;
 * later appends do nothing and ag_buf_take returns NULL, so builders check
 * for ENOMEM once, at the end. Old blocks are wiped: builders hold secrets.
 */
#include "internal.h"

#include <string.h>

static bool reserve(ag_buf *b, size_t extra) {
  if (b->failed) return false;
  if (extra > SIZE_MAX - b->len - 1) {
    b->failed = true;
    return false;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = ag_malloc(cap);
  if (!p) {
    b->failed = true;
    return false;
  }
  if (b->len) memcpy(p, b->data, b->len);
  if (b->data) ag_wipe(b->data, b->len);
  ag_free(b->data);
  b->data = p;
  b->cap = cap;
  return true;
}

void ag_buf_put(ag_buf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void ag_buf_puts(ag_buf *b, const char *s) { ag_buf_put(b, s, strlen(s)); }

void ag_buf_putc(ag_buf *b, char c) { ag_buf_put(b, &c, 1); }

size_t ag_format_uint(char *dst, uint64_t v) {
  char tmp[AG_UINT_DIGITS];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  memcpy(dst, tmp + i, sizeof tmp - i);
  return sizeof tmp - i;
}

void ag_buf_put_uint(ag_buf *b, uint64_t v) {
  char tmp[AG_UINT_DIGITS];
  ag_buf_put(b, tmp, ag_format_uint(tmp, v));
}

static const char hex[] = "0123456789ABCDEF";

void ag_buf_put_json_string(ag_buf *b, const char *s) {
  ag_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      ag_buf_putc(b, '\\');
      ag_buf_putc(b, (char)c);
    } else if (c < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      ag_buf_put(b, esc, sizeof esc);
    } else {
      ag_buf_putc(b, (char)c);
    }
  }
  ag_buf_putc(b, '"');
}

void ag_buf_put_form(ag_buf *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '*') {
      ag_buf_putc(b, (char)c);
    } else if (c == ' ') {
      ag_buf_putc(b, '+');
    } else {
      char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
      ag_buf_put(b, esc, sizeof esc);
    }
  }
}

char *ag_buf_take(ag_buf *b) {
  char *out = NULL;
  if (!b->failed) {
    if (!b->data) reserve(b, 0);
    if (!b->failed) {
      if (!b->len) b->data[0] = '\0';
      out = b->data;
      b->data = NULL;
    }
  }
  ag_buf_reset(b);
  return out;
}

/* Builders hold secrets (bearer headers, bodies with tokens or passwords): wipe first. */
void ag_buf_reset(ag_buf *b) {
  if (b->data) ag_wipe(b->data, b->len);
  ag_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = false;
}
