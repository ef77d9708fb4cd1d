/*
 * url.c — the WHATWG URL Standard's parser and serializer for http(s).
 *
 * The core is the resolver: the shim hands it the caller's raw input
 * (String(input)), and the origin computed here decides who receives the
 * bearer token. So this follows the standard's state machine for special
 * schemes step by step (trimming, tab/newline removal, backslash as slash,
 * scheme-relative and scheme-with-path forms, the percent-encode sets, dot
 * segments, default ports, IPv6 compression) and refuses, with a reason that
 * says what to write instead, the few inputs whose host would need machinery
 * the core does not carry:
 *  - non-ASCII hosts (IDNA): write the ASCII (punycode) form;
 *  - percent-encoded hosts: write the host decoded;
 *  - an IPv4 address in any form but canonical dotted decimal (0x7f.1,
 *    127.1, 0177.0.0.1, 2130706433, a trailing dot): write a.b.c.d;
 *  - host characters other than letters, digits, '-', '_' and '.' (outside
 *    IPv6 brackets), which browsers do not all treat alike.
 * A label starting with "xn--" is taken as written (lower-cased): its punycode
 * is not checked, and one the browser finds invalid makes fetch fail, never go
 * elsewhere. Non-special schemes are refused: the gate handles http(s) only.
 * Userinfo is refused unless empty ("http://@host/"), as fetch refuses
 * credentials in URLs.
 */
#include "internal.h"

#include <string.h>

typedef struct span {
  const char *p;
  size_t n;
} span;

/* The standard's percent-encode sets for the parts of a special URL. */
enum enc_set { ENC_PATH, ENC_QUERY, ENC_FRAGMENT };

/* Why a URL was refused: static text, finished by the caller's context. */
static const char R_SCHEME[] = "only http: and https: URLs go through the gate";
static const char R_NO_BASE[] = "a relative URL needs a base here: write an absolute http(s) URL";
static const char R_CREDENTIALS[] =
    "the URL carries credentials (user:password@), which fetch refuses too; send them in a header";
static const char R_NO_HOST[] = "the URL has no host";
static const char R_HOST_CHAR[] = "the host contains a character no URL host may contain";
static const char R_HOST_IDN[] =
    "the host is not ASCII, which the gate does not convert (IDNA): write its ASCII (punycode) "
    "form, e.g. xn--mnchen-3ya.example for münchen.example";
static const char R_HOST_PERCENT[] =
    "the host is percent-encoded: write it decoded, in plain ASCII";
static const char R_HOST_SYMBOL[] =
    "the host may only use letters, digits, '-', '_' and '.' here: write the plain DNS name";
static const char R_IPV4[] =
    "the host reads as an IPv4 address but is not in dotted-decimal form: write four numbers "
    "0-255 without leading zeros, e.g. 127.0.0.1 (not 0x7f.1, 127.1 or 0177.0.0.1)";
static const char R_IPV6[] = "the host is not a valid IPv6 address in brackets";
static const char R_PORT[] = "the port is not a number from 0 to 65535";
static const char R_TOO_LARGE[] = "the URL is too long";

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
static bool is_slash(char c) { return c == '/' || c == '\\'; }
static char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c; }

static span span_from(const char *p, size_t n) {
  span s;
  s.p = p;
  s.n = n;
  return s;
}

static bool span_ieq(span s, const char *lit) {
  size_t i, n = strlen(lit);
  if (s.n != n) return false;
  for (i = 0; i < n; i++)
    if (to_lower(s.p[i]) != lit[i]) return false;
  return true;
}

/* Index of the first byte of s at or after `from` that is in `set`, or s.n. */
static size_t find_any(span s, size_t from, const char *set) {
  size_t i, k;
  for (i = from; i < s.n; i++)
    for (k = 0; set[k] != '\0'; k++)
      if (s.p[i] == set[k]) return i;
  return s.n;
}

/* ---- input hygiene: the standard's first two steps ---- */

static bool is_tab_or_newline(char c) { return c == '\t' || c == '\n' || c == '\r'; }

/*
 * The input without leading/trailing C0-or-space and without any tab, LF or
 * CR: a view of `s` itself when nothing inside needs removing (the usual
 * case, and no allocation), else a copy, left in *copy for the caller to free.
 */
static int clean_input(const char *s, size_t len, span *in, char **copy) {
  size_t i, o = 0;
  *copy = NULL;
  while (len > 0 && (unsigned char)s[0] <= 0x20) s++, len--;
  while (len > 0 && (unsigned char)s[len - 1] <= 0x20) len--;
  for (i = 0; i < len && !is_tab_or_newline(s[i]); i++) {}
  if (i == len) {
    *in = span_from(s, len);
    return AG_OK;
  }
  *copy = ag_malloc(len + 1);
  if (*copy == NULL) return AG_ERR_NOMEM;
  for (i = 0; i < len; i++)
    if (!is_tab_or_newline(s[i])) (*copy)[o++] = s[i];
  *in = span_from(*copy, o);
  return AG_OK;
}

/* Length of a leading scheme (the ':' excluded), or 0 when there is none. */
static size_t scheme_len(span in) {
  size_t i;
  if (in.n == 0 || !is_alpha(in.p[0])) return 0;
  for (i = 1; i < in.n; i++) {
    char c = in.p[i];
    if (c == ':') return i;
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

/* "http" or "https" (static), or NULL for any other scheme. */
static const char *known_scheme(span s) {
  if (span_ieq(s, "http")) return "http";
  if (span_ieq(s, "https")) return "https";
  return NULL;
}

/* ---- percent-encoding ---- */

static bool needs_encoding(unsigned char c, enum enc_set set) {
  if (c <= 0x20 || c > 0x7e || c == '"' || c == '<' || c == '>') return true;
  switch (set) {
  case ENC_PATH:
    return c == '#' || c == '?' || c == '`' || c == '{' || c == '}';
  case ENC_QUERY: /* the special-query set */
    return c == '#' || c == '\'';
  case ENC_FRAGMENT:
    return c == '`';
  }
  return false;
}

/* Writes s encoded into dst (room for 3 * s.n bytes); returns the bytes written. */
static size_t encode_into(char *dst, span s, enum enc_set set) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i, o = 0;
  for (i = 0; i < s.n; i++) {
    unsigned char c = (unsigned char)s.p[i];
    if (is_alpha((char)c) || is_digit((char)c)) { /* the most bytes, in no set */
      dst[o++] = (char)c;
    } else if (needs_encoding(c, set)) {
      dst[o++] = '%';
      dst[o++] = hex[c >> 4];
      dst[o++] = hex[c & 15];
    } else {
      dst[o++] = (char)c;
    }
  }
  return o;
}

static char *encode_dup(span s, enum enc_set set) {
  char *out = ag_malloc(3 * s.n + 1);
  if (out == NULL) return NULL;
  out[encode_into(out, s, set)] = '\0';
  return out;
}

/* ---- the path state ---- */

static bool is_dot(span s) { return span_ieq(s, ".") || span_ieq(s, "%2e"); }

static bool is_dotdot(span s) {
  return span_ieq(s, "..") || span_ieq(s, ".%2e") || span_ieq(s, "%2e.") || span_ieq(s, "%2e%2e");
}

/* False for most segments, cheaply: a dot segment is ".", "..", or those with %2e. */
static bool may_be_dots(span s) { return s.n > 0 && s.n <= 6 && (s.p[0] == '.' || s.p[0] == '%'); }

/* Drops the last segment of out[0..*o) (the standard's "shorten"). */
static void pop_segment(const char *out, size_t *o) {
  while (*o > 0 && out[*o - 1] != '/') (*o)--;
  if (*o > 0) (*o)--;
}

/*
 * Runs the path state over `in` (the bytes up to '?', '#' or the end),
 * appending segments to the path `start` (already serialized: "/a/b", or
 * empty). Segments end at '/' or '\'; each is "/" + its encoded bytes.
 */
static char *run_path(span start, span in) {
  size_t o = start.n, seg = 0, j;
  char *out = ag_malloc(start.n + 4 * in.n + 2);
  if (out == NULL) return NULL;
  if (start.n > 0) memcpy(out, start.p, start.n);
  for (j = 0; j <= in.n; j++) {
    bool at_slash = j < in.n && is_slash(in.p[j]);
    span s;
    if (j < in.n && !at_slash) continue;
    s = span_from(in.p + seg, j - seg);
    if (!may_be_dots(s)) {
      out[o++] = '/';
      o += encode_into(out + o, s, ENC_PATH);
    } else if (is_dotdot(s)) {
      pop_segment(out, &o);
      if (!at_slash) out[o++] = '/';
    } else if (is_dot(s)) {
      if (!at_slash) out[o++] = '/';
    } else {
      out[o++] = '/';
      o += encode_into(out + o, s, ENC_PATH);
    }
    seg = j + 1;
  }
  out[o] = '\0';
  return out;
}

/* ---- hosts and ports ---- */

/* The standard's "IPv4 number" check, enough to tell whether a label is a number. */
static bool is_ipv4_number(span s) {
  size_t i = 0;
  int radix = 10;
  if (s.n == 0) return false;
  if (s.n >= 2 && s.p[0] == '0' && to_lower(s.p[1]) == 'x') i = 2, radix = 16;
  else if (s.n >= 2 && s.p[0] == '0') i = 1, radix = 8;
  for (; i < s.n; i++) {
    int v = hex_value(s.p[i]);
    if (v < 0 || v >= radix) return false;
  }
  return true;
}

/* The standard's "ends in a number": then the host can only be an IPv4 address. */
static bool ends_in_number(span h) {
  size_t end = h.n, start, i;
  if (end > 0 && h.p[end - 1] == '.') end--; /* a trailing dot ends no label */
  start = end;
  while (start > 0 && h.p[start - 1] != '.') start--;
  for (i = start; i < end && is_digit(h.p[i]); i++) {}
  if (end > start && i == end) return true; /* all digits, even if not a valid number */
  return is_ipv4_number(span_from(h.p + start, end - start));
}

/* Only the canonical dotted-quad form, which is also the serialization. */
static bool is_canonical_ipv4(span h) {
  size_t i = 0, parts = 0;
  while (parts < 4) {
    size_t start = i;
    unsigned v = 0;
    while (i < h.n && is_digit(h.p[i]) && i - start < 3) v = v * 10 + (unsigned)(h.p[i++] - '0');
    if (i == start || v > 255 || (i - start > 1 && h.p[start] == '0')) return false;
    parts++;
    if (i == h.n) return parts == 4;
    if (h.p[i] != '.') return false;
    i++;
  }
  return false;
}

/* The dotted-decimal IPv4 tail of an IPv6 address into pieces[*k], pieces[*k + 1]. */
static bool ipv6_ipv4_tail(span s, size_t i, uint16_t *pieces, size_t *k) {
  int seen = 0;
  if (*k > 6) return false;
  while (i < s.n) {
    unsigned v = 0;
    size_t start;
    if (seen > 0) {
      if (s.p[i] != '.' || seen >= 4) return false;
      i++;
    }
    start = i;
    while (i < s.n && is_digit(s.p[i])) {
      if (i > start && v == 0) return false; /* no leading zeros */
      v = v * 10 + (unsigned)(s.p[i++] - '0');
      if (v > 255) return false;
    }
    if (i == start) return false;
    pieces[*k] = (uint16_t)(pieces[*k] * 0x100 + v);
    if (++seen == 2 || seen == 4) (*k)++;
  }
  return seen == 4;
}

/* The standard's IPv6 parser over the text inside the brackets. */
static bool parse_ipv6(span s, uint16_t pieces[8]) {
  size_t i = 0, k = 0;
  long compress = -1;
  memset(pieces, 0, 8 * sizeof(uint16_t));
  if (s.n > 0 && s.p[0] == ':') {
    if (s.n < 2 || s.p[1] != ':') return false;
    i = 2;
    compress = (long)++k;
  }
  while (i < s.n) {
    unsigned v = 0;
    size_t len = 0;
    if (k == 8) return false;
    if (s.p[i] == ':') {
      if (compress != -1) return false;
      i++;
      compress = (long)++k;
      continue;
    }
    while (len < 4 && i < s.n && hex_value(s.p[i]) >= 0)
      v = v * 16 + (unsigned)hex_value(s.p[i++]), len++;
    if (i < s.n && s.p[i] == '.') {
      if (len == 0 || !ipv6_ipv4_tail(s, i - len, pieces, &k)) return false;
      break;
    }
    if (i < s.n && s.p[i] == ':') {
      if (++i == s.n) return false;
    } else if (i < s.n) {
      return false;
    }
    pieces[k++] = (uint16_t)v;
  }
  if (compress == -1) return k == 8;
  for (size_t swaps = k - (size_t)compress, j = 7; j != 0 && swaps > 0; j--, swaps--) {
    uint16_t t = pieces[j];
    pieces[j] = pieces[(size_t)compress + swaps - 1];
    pieces[(size_t)compress + swaps - 1] = t;
  }
  return true;
}

/* "[...]" in the standard's serialization: lower-case hex, the first longest zero run as "::". */
static char *serialize_ipv6(const uint16_t pieces[8]) {
  static const char hex[] = "0123456789abcdef";
  size_t best = 8, best_len = 1, i, o = 0;
  char *out = ag_malloc(42);
  if (out == NULL) return NULL;
  for (i = 0; i < 8; i++) {
    size_t j = i;
    while (j < 8 && pieces[j] == 0) j++;
    if (j - i > best_len) best = i, best_len = j - i;
    if (j > i) i = j - 1;
  }
  out[o++] = '[';
  for (i = 0; i < 8; i++) {
    if (i == best) {
      out[o++] = ':';
      if (i == 0) out[o++] = ':';
      i += best_len - 1;
      continue;
    }
    bool lead = true;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned d = (pieces[i] >> shift) & 15;
      if (lead && d == 0 && shift > 0) continue;
      lead = false;
      out[o++] = hex[d];
    }
    if (i != 7) out[o++] = ':';
  }
  out[o++] = ']';
  out[o] = '\0';
  return out;
}

/* The forbidden domain code points that can reach the host parser. */
static bool is_forbidden_host_byte(unsigned char c) {
  return c <= 0x20 || c == 0x7f || strchr("#/:<>?@[\\]^|%", c) != NULL;
}

/* A domain (not bracketed): ASCII lower-cased, or refused with *why. */
static char *parse_domain(span h, const char **why) {
  size_t i;
  char *host;
  for (i = 0; i < h.n; i++)
    if ((unsigned char)h.p[i] >= 0x80) return *why = R_HOST_IDN, NULL;
  if (memchr(h.p, '%', h.n) != NULL) return *why = R_HOST_PERCENT, NULL;
  for (i = 0; i < h.n; i++)
    if (is_forbidden_host_byte((unsigned char)h.p[i])) return *why = R_HOST_CHAR, NULL;
  if (ends_in_number(h) && !is_canonical_ipv4(h)) return *why = R_IPV4, NULL;
  for (i = 0; i < h.n; i++) {
    char c = h.p[i];
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
      return *why = R_HOST_SYMBOL, NULL;
  }
  host = ag_strndup(h.p, h.n);
  if (host == NULL) return *why = NULL, NULL;
  for (i = 0; i < h.n; i++) host[i] = to_lower(host[i]);
  return host;
}

/* The host parser for special URLs; *why stays NULL on allocation failure. */
static char *parse_host(span h, const char **why) {
  uint16_t pieces[8];
  *why = NULL;
  if (h.n == 0) return *why = R_NO_HOST, NULL;
  if (h.p[0] != '[') return parse_domain(h, why);
  if (h.p[h.n - 1] != ']' || !parse_ipv6(span_from(h.p + 1, h.n - 2), pieces))
    return *why = R_IPV6, NULL;
  return serialize_ipv6(pieces);
}

/* The port state: digits only, any number of leading zeros, the default becomes -1. */
static bool parse_port(int *port, span p, const char *scheme) {
  size_t i;
  long v = 0;
  *port = -1;
  for (i = 0; i < p.n; i++) {
    if (!is_digit(p.p[i])) return false;
    v = v * 10 + (p.p[i] - '0');
    if (v > 65535) return false;
  }
  if (p.n == 0) return true; /* "host:" means the default port */
  if ((v == 80 && !strcmp(scheme, "http")) || (v == 443 && !strcmp(scheme, "https"))) return true;
  *port = (int)v;
  return true;
}

/* ---- the parser ---- */

typedef struct parser {
  span in;         /* the cleaned input */
  size_t i;        /* the standard's pointer */
  ag_url *u;       /* what is being built */
  const char *why; /* the reason for an AG_ERR_BAD_URL */
} parser;

static int refuse(parser *ps, const char *why) {
  ps->why = why;
  return AG_ERR_BAD_URL;
}

static int copy_string(char **dst, const char *src) {
  if (src == NULL) return AG_OK;
  *dst = ag_strndup(src, strlen(src));
  return *dst ? AG_OK : AG_ERR_NOMEM;
}

/* The host and port state over "host[:port]"; the credentials are already split off. */
static int set_host_port(parser *ps, span hp) {
  size_t i, colon = hp.n;
  bool brackets = false;
  for (i = 0; i < hp.n && colon == hp.n; i++) {
    if (hp.p[i] == '[') brackets = true;
    else if (hp.p[i] == ']') brackets = false;
    else if (hp.p[i] == ':' && !brackets) colon = i;
  }
  ps->u->host = parse_host(span_from(hp.p, colon), &ps->why);
  if (ps->u->host == NULL) return ps->why ? AG_ERR_BAD_URL : AG_ERR_NOMEM;
  if (colon < hp.n &&
      !parse_port(&ps->u->port, span_from(hp.p + colon + 1, hp.n - colon - 1), ps->u->scheme))
    return refuse(ps, R_PORT);
  return AG_OK;
}

/* The authority state from ps->i: credentials (refused unless empty), host, port. */
static int parse_authority(parser *ps) {
  size_t end = find_any(ps->in, ps->i, "/\\?#"), at = end;
  span creds, hp;
  while (at > ps->i && ps->in.p[at - 1] != '@') at--;
  if (at > ps->i) { /* the last '@' ends the credentials */
    creds = span_from(ps->in.p + ps->i, at - 1 - ps->i);
    if (creds.n > 1 || (creds.n == 1 && creds.p[0] != ':')) return refuse(ps, R_CREDENTIALS);
    if (at == end) return refuse(ps, R_NO_HOST);
  } else {
    at = ps->i;
  }
  hp = span_from(ps->in.p + at, end - at);
  ps->i = end;
  return set_host_port(ps, hp);
}

/* The query and fragment states, from `at` ('?', '#' or the end). */
static int parse_query_fragment(parser *ps, size_t at) {
  size_t hash = find_any(ps->in, at, "#");
  if (at < hash) { /* ps->in.p[at] is '?' */
    ag_free(ps->u->query);
    ps->u->query = encode_dup(span_from(ps->in.p + at + 1, hash - at - 1), ENC_QUERY);
    if (ps->u->query == NULL) return AG_ERR_NOMEM;
  }
  if (hash < ps->in.n) {
    ps->u->fragment = encode_dup(span_from(ps->in.p + hash + 1, ps->in.n - hash - 1), ENC_FRAGMENT);
    if (ps->u->fragment == NULL) return AG_ERR_NOMEM;
  }
  return AG_OK;
}

/* The path state from ps->i, continuing the path `start`; then query and fragment. */
static int parse_tail(parser *ps, span start) {
  size_t end = find_any(ps->in, ps->i, "?#");
  ps->u->path = run_path(start, span_from(ps->in.p + ps->i, end - ps->i));
  if (ps->u->path == NULL) return AG_ERR_NOMEM;
  return parse_query_fragment(ps, end);
}

/* Special authority ignore slashes, authority, host, port, then path start. */
static int parse_from_authority(parser *ps) {
  int rv;
  while (ps->i < ps->in.n && is_slash(ps->in.p[ps->i])) ps->i++;
  rv = parse_authority(ps);
  if (rv != AG_OK) return rv;
  if (ps->i < ps->in.n && is_slash(ps->in.p[ps->i])) ps->i++; /* path start */
  return parse_tail(ps, span_from(NULL, 0));
}

/* Scheme, host and port from base, and as asked its path and query. */
static int copy_base(ag_url *u, const ag_url *base, bool path, bool query) {
  int rv = copy_string(&u->host, base->host);
  u->scheme = base->scheme;
  u->port = base->port;
  if (rv == AG_OK && path) rv = copy_string(&u->path, base->path);
  if (rv == AG_OK && query) rv = copy_string(&u->query, base->query);
  return rv;
}

/* The relative state (a special base): what follows decides what base gives. */
static int parse_relative(parser *ps, const ag_url *base) {
  span rest = span_from(ps->in.p + ps->i, ps->in.n - ps->i);
  span dir;
  int rv;
  if (rest.n >= 2 && is_slash(rest.p[0]) && is_slash(rest.p[1])) { /* its own authority */
    ps->u->scheme = base->scheme;
    return parse_from_authority(ps);
  }
  if (rest.n > 0 && is_slash(rest.p[0])) { /* an absolute path on base's host */
    rv = copy_base(ps->u, base, false, false);
    ps->i++;
    return rv == AG_OK ? parse_tail(ps, span_from(NULL, 0)) : rv;
  }
  if (rest.n == 0 || rest.p[0] == '?' || rest.p[0] == '#') { /* base's path, maybe its query */
    rv = copy_base(ps->u, base, true, rest.n == 0 || rest.p[0] == '#');
    return rv == AG_OK ? parse_query_fragment(ps, ps->i) : rv;
  }
  rv = copy_base(ps->u, base, false, false); /* a path relative to base's directory */
  if (rv != AG_OK) return rv;
  dir = span_from(base->path, strlen(base->path));
  pop_segment(base->path, &dir.n);
  return parse_tail(ps, dir);
}

/* The scheme start and scheme states, then whichever state the scheme leads to. */
static int parse(parser *ps, const ag_url *base) {
  size_t n = scheme_len(ps->in);
  if (n > 0) {
    const char *scheme = known_scheme(span_from(ps->in.p, n));
    if (scheme == NULL) return refuse(ps, R_SCHEME);
    ps->i = n + 1;
    /* Same scheme as base: read as relative ("http:x", "http:/x"); else its own authority. */
    if (base != NULL && strcmp(scheme, base->scheme) == 0) return parse_relative(ps, base);
    ps->u->scheme = scheme;
    return parse_from_authority(ps);
  }
  if (base == NULL) return refuse(ps, R_NO_BASE);
  return parse_relative(ps, base);
}

static bool is_usable_base(const ag_url *b) {
  return b->scheme != NULL && b->host != NULL && b->path != NULL && b->path[0] == '/';
}

static size_t str_len(const char *s) { return s ? strlen(s) : 0; }

/* The whole URL, fragment included, must stay within AG_MAX_URL. */
static bool fits(const ag_url *u) {
  size_t n = str_len(u->scheme) + str_len(u->host) + str_len(u->path) + str_len(u->query) +
             str_len(u->fragment) + 16;
  return n <= AG_MAX_URL;
}

/*
 * Parses the cleaned `in` against base into *out (zeroed with port -1 on
 * failure). With `prefix` (a leading part of base's path), `in` is a path
 * relative to it: the path state runs from there, as if on "prefix/in".
 */
static int run(ag_url *out, const ag_url *base, span in, const span *prefix, const char **why) {
  parser ps;
  ag_url u;
  int rv;
  memset(&u, 0, sizeof(u));
  u.port = -1;
  ps.in = in;
  ps.i = 0;
  ps.u = &u;
  ps.why = NULL;
  if (prefix != NULL) {
    rv = copy_base(&u, base, false, false);
    if (rv == AG_OK) rv = parse_tail(&ps, *prefix);
  } else {
    rv = parse(&ps, base);
  }
  if (rv == AG_OK && !fits(&u)) rv = AG_ERR_TOO_LARGE, ps.why = R_TOO_LARGE;
  if (why != NULL) *why = rv == AG_OK ? NULL : ps.why;
  if (rv != AG_OK) ag_url_free(&u);
  *out = u;
  return rv;
}

/* Validates the arguments shared by the entry points and cleans the input. */
static int start(ag_url *out, const ag_url *base, const char *ref, size_t len, span *in,
                 char **copy, const char **why) {
  if (why != NULL) *why = NULL;
  if (out == NULL) return AG_ERR_INVALID;
  memset(out, 0, sizeof(*out));
  out->port = -1;
  if (base != NULL && !is_usable_base(base)) return AG_ERR_INVALID;
  if (len > AG_MAX_URL) {
    if (why != NULL) *why = R_TOO_LARGE;
    return AG_ERR_TOO_LARGE;
  }
  if (len > 0 && ref == NULL) return AG_ERR_INVALID;
  return clean_input(len ? ref : "", len, in, copy);
}

int ag_url_resolve_why(ag_url *out, const ag_url *base, const char *ref, size_t len,
                       const char **why) {
  char *copy;
  span in;
  int rv = start(out, base, ref, len, &in, &copy, why);
  if (rv != AG_OK) return rv;
  rv = run(out, base, in, NULL, why);
  ag_free(copy);
  return rv;
}

int ag_url_resolve(ag_url *out, const ag_url *base, const char *ref, size_t len) {
  return ag_url_resolve_why(out, base, ref, len, NULL);
}

int ag_url_parse(ag_url *out, const char *s, size_t len) {
  return ag_url_resolve_why(out, NULL, s, len, NULL);
}

/*
 * base's path without its trailing '/', when base has one beyond "/" and
 * `in` (cleaned) is a path: no scheme, no authority of its own.
 */
static bool prefix_applies(const ag_url *base, span in, size_t *prefix_len) {
  size_t n = strlen(base->path);
  if (n > 1 && base->path[n - 1] == '/') n--;
  *prefix_len = n;
  if (n <= 1 || scheme_len(in) > 0) return false;
  return !(in.n >= 2 && is_slash(in.p[0]) && is_slash(in.p[1]));
}

int ag_url_resolve_prefixed(ag_url *out, const ag_url *base, const char *ref, size_t len,
                            const char **why) {
  char *copy;
  size_t prefix_len;
  span in, prefix;
  int rv;
  if (base == NULL) return ag_url_resolve_why(out, base, ref, len, why);
  rv = start(out, base, ref, len, &in, &copy, why);
  if (rv != AG_OK) return rv;
  if (!prefix_applies(base, in, &prefix_len)) {
    rv = run(out, base, in, NULL, why);
  } else {
    if (in.n > 0 && is_slash(in.p[0])) in = span_from(in.p + 1, in.n - 1);
    prefix = span_from(base->path, prefix_len);
    rv = run(out, base, in, &prefix, why);
  }
  ag_free(copy);
  return rv;
}

/* ---- serialisation ---- */

static size_t put(char *dst, const char *s) {
  size_t n = strlen(s);
  memcpy(dst, s, n);
  return n;
}

static size_t put_port(char *dst, int port) {
  dst[0] = ':';
  return 1 + ag_format_uint(dst + 1, (uint64_t)port);
}

/* Writes "scheme://host[:port]" (room: origin_size) and returns its length. */
static size_t put_origin(char *dst, const ag_url *u) {
  size_t o = put(dst, u->scheme);
  o += put(dst + o, "://");
  o += put(dst + o, u->host);
  if (u->port >= 0) o += put_port(dst + o, u->port);
  return o;
}

static size_t origin_size(const ag_url *u) { return strlen(u->scheme) + 3 + strlen(u->host) + 7; }

char *ag_url_origin(const ag_url *u) {
  char *s;
  if (u == NULL || u->scheme == NULL || u->host == NULL) return NULL;
  s = ag_malloc(origin_size(u) + 1);
  if (s == NULL) return NULL;
  s[put_origin(s, u)] = '\0';
  return s;
}

static char *serialize(const ag_url *u, bool fragment) {
  char *s;
  size_t o;
  if (u == NULL || u->scheme == NULL || u->host == NULL || u->path == NULL) return NULL;
  s = ag_malloc(origin_size(u) + strlen(u->path) + 2 + str_len(u->query) + str_len(u->fragment) +
                1);
  if (s == NULL) return NULL;
  o = put_origin(s, u);
  o += put(s + o, u->path);
  if (u->query != NULL) {
    s[o++] = '?';
    o += put(s + o, u->query);
  }
  if (fragment && u->fragment != NULL) {
    s[o++] = '#';
    o += put(s + o, u->fragment);
  }
  s[o] = '\0';
  return s;
}

char *ag_url_serialize(const ag_url *u) { return serialize(u, false); }

char *ag_url_href(const ag_url *u) { return serialize(u, true); }

bool ag_url_same_origin(const ag_url *a, const ag_url *b) {
  if (a == NULL || b == NULL || !a->scheme || !b->scheme || !a->host || !b->host) return false;
  return !strcmp(a->scheme, b->scheme) && !strcmp(a->host, b->host) && a->port == b->port;
}

void ag_url_free(ag_url *u) {
  if (u == NULL) return;
  ag_free(u->host);
  ag_free(u->path);
  ag_free(u->query);
  ag_free(u->fragment);
  memset(u, 0, sizeof(*u));
  u->port = -1;
}

bool ag_path_has_prefix(const char *path, const char *prefix) {
  size_t n;
  if (path == NULL || prefix == NULL || prefix[0] == '\0') return false;
  n = strlen(prefix);
  if (strncmp(path, prefix, n) != 0) return false;
  return prefix[n - 1] == '/' || path[n] == '\0' || path[n] == '/';
}
