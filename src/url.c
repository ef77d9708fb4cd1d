/*
 * url.c — WHATWG-flavoured URL parsing and resolution, for http(s) only.
 *
 * The aim is to agree with the browser's `new URL(ref, base)` on every URL
 * the core accepts, and to refuse the rest (AG_ERR_BAD_URL) rather than
 * guess: the origin we compute decides who receives the bearer token.
 *
 * What is refused: schemes other than http/https, userinfo, empty hosts, bad
 * ports, NUL, control characters and spaces inside the input (leading and
 * trailing C0-or-space is trimmed, as WHATWG does), backslashes and '@' in the
 * authority, percent signs in hosts, non-canonical IPv4 forms (0x7f.1,
 * 2130706433) and non-ASCII hosts. We do no IDNA/punycode: the shim hands us
 * `new URL(x).href`, which the browser has already punycoded.
 *
 * What mirrors the browser: scheme and host are lower-cased; :80/:443 are the
 * default and become -1; backslashes in the path are '/'; any run of two or
 * more slashes/backslashes starting a reference makes it scheme-relative;
 * dot segments (also %2e forms) are removed; non-ASCII and a few ASCII bytes
 * are percent-encoded with the WHATWG path/query/fragment sets; existing
 * percent-escapes are left alone. IPv6 literals are lower-cased and kept in
 * brackets but not re-compressed, so "[0::1]" and "[::1]" compare as
 * different origins (that fails closed: no token is sent).
 */
#include "internal.h"

#include <string.h>

typedef struct span {
  const char *p;
  size_t n;
} span;

/* Which bytes besides non-ASCII each component percent-encodes (WHATWG). */
enum enc_set { ENC_PATH, ENC_QUERY, ENC_FRAGMENT };

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_slash(char c) { return c == '/' || c == '\\'; }
static char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c; }

static span span_from(const char *p, size_t n) {
  span s;
  s.p = p;
  s.n = n;
  return s;
}

static void advance(span *s, size_t k) {
  s->p += k;
  s->n -= k;
}

/* ---- input hygiene ---- */

static int clean_input(span *out, const char *s, size_t len) {
  size_t i;
  if (len > AG_MAX_URL) return AG_ERR_TOO_LARGE;
  if (len > 0 && (s == NULL || memchr(s, '\0', len) != NULL)) return AG_ERR_BAD_URL;
  while (len > 0 && (unsigned char)s[0] <= 0x20) { /* C0 control or space */
    s++;
    len--;
  }
  while (len > 0 && (unsigned char)s[len - 1] <= 0x20) len--;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f) return AG_ERR_BAD_URL;
  }
  *out = span_from(s, len);
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

static bool span_ieq(span s, const char *lit) {
  size_t i, n = strlen(lit);
  if (s.n != n) return false;
  for (i = 0; i < n; i++)
    if (to_lower(s.p[i]) != lit[i]) return false;
  return true;
}

/* "http" or "https" (static), or NULL for any other scheme. */
static const char *known_scheme(span s) {
  if (span_ieq(s, "http")) return "http";
  if (span_ieq(s, "https")) return "https";
  return NULL;
}

/* ---- percent-encoding ---- */

static bool needs_encoding(unsigned char c, enum enc_set set) {
  if (c >= 0x7f || c == '"' || c == '<' || c == '>') return true;
  switch (set) {
  case ENC_PATH:
    return c == '`' || c == '{' || c == '}';
  case ENC_QUERY:
    return c == '\'';
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
    if (needs_encoding(c, set)) {
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

/* ---- paths ---- */

static bool is_dot(span s) { return span_ieq(s, ".") || span_ieq(s, "%2e"); }

static bool is_dotdot(span s) {
  return span_ieq(s, "..") || span_ieq(s, ".%2e") || span_ieq(s, "%2e.") || span_ieq(s, "%2e%2e");
}

/* Drops the last segment of out[0..*o) (WHATWG "shorten"). */
static void pop_segment(const char *out, size_t *o) {
  while (*o > 0 && out[*o - 1] != '/') (*o)--;
  if (*o > 0) (*o)--;
}

/*
 * Writes the normalised form of `in` (which starts with a slash or is empty)
 * into out (room for 3 * in.n + 2) and NUL-terminates it.
 */
static void normalise_path(char *out, span in) {
  size_t i = 0, o = 0;
  while (i < in.n) {
    size_t end = i + 1;
    span seg;
    bool last;
    while (end < in.n && !is_slash(in.p[end])) end++;
    seg = span_from(in.p + i + 1, end - i - 1);
    last = end >= in.n;
    if (is_dotdot(seg)) {
      pop_segment(out, &o);
      if (last) out[o++] = '/';
    } else if (is_dot(seg)) {
      if (last) out[o++] = '/';
    } else {
      out[o++] = '/';
      o += encode_into(out + o, seg, ENC_PATH);
    }
    i = end;
  }
  if (o == 0) out[o++] = '/';
  out[o] = '\0';
}

/* dir (a base path up to its last '/', or empty) joined with rel, normalised. */
static char *build_path(span dir, span rel) {
  size_t n = dir.n + rel.n;
  char *joined, *out;
  joined = ag_malloc(n + 1);
  if (joined == NULL) return NULL;
  if (dir.n > 0) memcpy(joined, dir.p, dir.n);
  if (rel.n > 0) memcpy(joined + dir.n, rel.p, rel.n);
  out = ag_malloc(3 * n + 2);
  if (out != NULL) normalise_path(out, span_from(joined, n));
  ag_free(joined);
  return out;
}

/* The base path up to and including its last '/'. */
static span base_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  return span_from(path, slash ? (size_t)(slash - path) + 1 : 0);
}

/* ---- hosts and ports ---- */

static bool all_digits(span s) {
  size_t i;
  for (i = 0; i < s.n; i++)
    if (!is_digit(s.p[i])) return false;
  return s.n > 0;
}

/* WHATWG "ends in a number": then the host must be an IPv4 address. */
static bool ends_in_number(span h) {
  size_t end = h.n, start, i;
  if (end > 0 && h.p[end - 1] == '.') end--;
  start = end;
  while (start > 0 && h.p[start - 1] != '.') start--;
  if (all_digits(span_from(h.p + start, end - start))) return true;
  if (end - start < 2 || h.p[start] != '0' || to_lower(h.p[start + 1]) != 'x') return false;
  for (i = start + 2; i < end; i++)
    if (!is_hex(h.p[i])) return false;
  return true;
}

/* Only the canonical dotted-quad form, so our origin matches the browser's. */
static bool is_canonical_ipv4(span h) {
  size_t i = 0, parts = 0;
  while (i <= h.n && parts < 4) {
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

/* "[...]": hex digits, ':' and '.' (an IPv4 tail) only; no zone ids. */
static bool is_ipv6_literal(span h) {
  size_t i, colons = 0;
  if (h.n < 4 || h.n > 47 || h.p[0] != '[' || h.p[h.n - 1] != ']') return false;
  for (i = 1; i + 1 < h.n; i++) {
    if (h.p[i] == ':') colons++;
    else if (!is_hex(h.p[i]) && h.p[i] != '.') return false;
  }
  return colons >= 2;
}

/* ASCII letters, digits, '-', '.', '_' only: no '%', no IDN (see the top). */
static bool is_domain(span h) {
  size_t i;
  if (h.n == 0) return false;
  for (i = 0; i < h.n; i++) {
    char c = h.p[i];
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return !ends_in_number(h) || is_canonical_ipv4(h);
}

static int parse_port(int *port, span p, const char *scheme) {
  size_t i;
  long v = 0;
  *port = -1;
  if (p.n == 0) return AG_OK; /* "host:" means the default port */
  for (i = 0; i < p.n; i++) {
    if (!is_digit(p.p[i])) return AG_ERR_BAD_URL;
    v = v * 10 + (p.p[i] - '0');
    if (v > 65535) return AG_ERR_BAD_URL;
  }
  if ((v == 80 && !strcmp(scheme, "http")) || (v == 443 && !strcmp(scheme, "https"))) return AG_OK;
  *port = (int)v;
  return AG_OK;
}

static int set_host(ag_url *u, span a) {
  span host = a;
  size_t i;
  int rv;
  if (a.n > 0 && a.p[0] == '[') {
    const char *close = memchr(a.p, ']', a.n);
    if (close == NULL) return AG_ERR_BAD_URL;
    host.n = (size_t)(close - a.p) + 1;
  } else if (a.n > 0) {
    const char *colon = memchr(a.p, ':', a.n);
    if (colon != NULL) host.n = (size_t)(colon - a.p);
  }
  if (host.n < a.n && a.p[host.n] != ':') return AG_ERR_BAD_URL;
  if (host.n == 0 || !(host.p[0] == '[' ? is_ipv6_literal(host) : is_domain(host)))
    return AG_ERR_BAD_URL;
  rv = parse_port(&u->port,
                  host.n < a.n ? span_from(a.p + host.n + 1, a.n - host.n - 1) : span_from(a.p, 0),
                  u->scheme);
  if (rv != AG_OK) return rv;
  u->host = ag_strndup(host.p, host.n);
  if (u->host == NULL) return AG_ERR_NOMEM;
  for (i = 0; i < host.n; i++) u->host[i] = to_lower(u->host[i]);
  return AG_OK;
}

/* Consumes the authority (up to '/', '?', '#' or the end) from *in. */
static int parse_authority(ag_url *u, span *in) {
  size_t i = 0;
  while (i < in->n && in->p[i] != '/' && in->p[i] != '?' && in->p[i] != '#') {
    if (in->p[i] == '\\' || in->p[i] == '@') return AG_ERR_BAD_URL;
    i++;
  }
  advance(in, i);
  return set_host(u, span_from(in->p - i, i));
}

/* ---- path, query and fragment ---- */

typedef struct tail {
  span path, query, fragment;
  bool has_query, has_fragment;
} tail;

static void split_tail(tail *t, span in) {
  const char *hash = in.n ? memchr(in.p, '#', in.n) : NULL;
  const char *q;
  memset(t, 0, sizeof(*t));
  if (hash != NULL) {
    t->has_fragment = true;
    t->fragment = span_from(hash + 1, in.n - (size_t)(hash - in.p) - 1);
    in.n = (size_t)(hash - in.p);
  }
  q = in.n ? memchr(in.p, '?', in.n) : NULL;
  if (q != NULL) {
    t->has_query = true;
    t->query = span_from(q + 1, in.n - (size_t)(q - in.p) - 1);
    in.n = (size_t)(q - in.p);
  }
  t->path = in;
}

static int set_query_fragment(ag_url *u, const tail *t) {
  if (t->has_query && (u->query = encode_dup(t->query, ENC_QUERY)) == NULL) return AG_ERR_NOMEM;
  if (t->has_fragment && (u->fragment = encode_dup(t->fragment, ENC_FRAGMENT)) == NULL)
    return AG_ERR_NOMEM;
  return AG_OK;
}

/* Path (relative to dir), query and fragment from what follows the authority. */
static int set_tail(ag_url *u, span dir, span in) {
  tail t;
  split_tail(&t, in);
  u->path = build_path(dir, t.path);
  if (u->path == NULL) return AG_ERR_NOMEM;
  return set_query_fragment(u, &t);
}

static int set_scheme(ag_url *u, const char *scheme) {
  u->scheme = ag_strndup(scheme, strlen(scheme));
  return u->scheme ? AG_OK : AG_ERR_NOMEM;
}

static int parse_absolute(ag_url *u, const char *scheme, span in) {
  int rv = set_scheme(u, scheme);
  while (rv == AG_OK && in.n > 0 && is_slash(in.p[0])) advance(&in, 1);
  if (rv == AG_OK) rv = parse_authority(u, &in);
  if (rv == AG_OK) rv = set_tail(u, span_from(NULL, 0), in);
  return rv;
}

static int copy_string(char **dst, const char *src) {
  if (src == NULL) return AG_OK;
  *dst = ag_strndup(src, strlen(src));
  return *dst ? AG_OK : AG_ERR_NOMEM;
}

/* Copies scheme, host, port and, as asked, path and query from base. */
static int copy_base(ag_url *u, const ag_url *base, bool path, bool query) {
  int rv = copy_string(&u->scheme, base->scheme);
  if (rv == AG_OK) rv = copy_string(&u->host, base->host);
  u->port = base->port;
  if (rv == AG_OK && path) rv = copy_string(&u->path, base->path);
  if (rv == AG_OK && query) rv = copy_string(&u->query, base->query);
  return rv;
}

/* A reference without a scheme (or with base's scheme), against base. */
static int resolve_relative(ag_url *u, const ag_url *base, span in) {
  tail t;
  int rv;
  if (in.n >= 2 && is_slash(in.p[0]) && is_slash(in.p[1]))
    return parse_absolute(u, base->scheme, in); /* scheme-relative: another host */
  if (in.n == 0) return copy_base(u, base, true, true);
  if (in.p[0] == '#') {
    rv = copy_base(u, base, true, true);
    split_tail(&t, in);
    return rv == AG_OK ? set_query_fragment(u, &t) : rv;
  }
  if (in.p[0] == '?') {
    rv = copy_base(u, base, true, false);
    split_tail(&t, in);
    return rv == AG_OK ? set_query_fragment(u, &t) : rv;
  }
  rv = copy_base(u, base, false, false);
  if (rv != AG_OK) return rv;
  return set_tail(u, is_slash(in.p[0]) ? span_from(NULL, 0) : base_dir(base->path), in);
}

static bool is_usable_base(const ag_url *b) {
  return b->scheme != NULL && b->host != NULL && b->path != NULL && b->path[0] == '/';
}

static int resolve(ag_url *u, const ag_url *base, span in) {
  size_t n = scheme_len(in);
  if (n > 0) {
    const char *scheme = known_scheme(span_from(in.p, n));
    if (scheme == NULL) return AG_ERR_BAD_URL;
    advance(&in, n + 1);
    /* "http:x" is relative to an http base (as in browsers), absolute otherwise */
    if (base == NULL || strcmp(scheme, base->scheme) != 0) return parse_absolute(u, scheme, in);
  }
  if (base == NULL) return AG_ERR_BAD_URL;
  return resolve_relative(u, base, in);
}

static size_t str_len(const char *s) { return s ? strlen(s) : 0; }

/* The whole URL, fragment included, must stay within AG_MAX_URL. */
static bool fits(const ag_url *u) {
  size_t n = str_len(u->scheme) + str_len(u->host) + str_len(u->path) + str_len(u->query) +
             str_len(u->fragment) + 16;
  return n <= AG_MAX_URL;
}

int ag_url_resolve(ag_url *out, const ag_url *base, const char *ref, size_t len) {
  ag_url u;
  span in;
  int rv;
  if (out == NULL || (base != NULL && !is_usable_base(base))) return AG_ERR_INVALID;
  memset(&u, 0, sizeof(u));
  u.port = -1;
  rv = clean_input(&in, ref, len);
  if (rv == AG_OK) rv = resolve(&u, base, in);
  if (rv == AG_OK && !fits(&u)) rv = AG_ERR_TOO_LARGE;
  if (rv != AG_OK) {
    ag_url_free(&u);
    memset(out, 0, sizeof(*out));
    out->port = -1;
    return rv;
  }
  *out = u;
  return AG_OK;
}

int ag_url_parse(ag_url *out, const char *s, size_t len) {
  return ag_url_resolve(out, NULL, s, len);
}

/* ---- serialisation ---- */

static size_t put(char *dst, const char *s) {
  size_t n = strlen(s);
  memcpy(dst, s, n);
  return n;
}

static size_t put_port(char *dst, int port) {
  char digits[8];
  size_t n = 0, o = 0;
  unsigned v = (unsigned)port;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  dst[o++] = ':';
  while (n > 0) dst[o++] = digits[--n];
  return o;
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

char *ag_url_serialize(const ag_url *u) {
  char *s;
  size_t o;
  if (u == NULL || u->scheme == NULL || u->host == NULL || u->path == NULL) return NULL;
  s = ag_malloc(origin_size(u) + strlen(u->path) + 1 + str_len(u->query) + 1);
  if (s == NULL) return NULL;
  o = put_origin(s, u);
  o += put(s + o, u->path);
  if (u->query != NULL) {
    s[o++] = '?';
    o += put(s + o, u->query);
  }
  s[o] = '\0';
  return s;
}

bool ag_url_same_origin(const ag_url *a, const ag_url *b) {
  if (a == NULL || b == NULL || !a->scheme || !b->scheme || !a->host || !b->host) return false;
  return !strcmp(a->scheme, b->scheme) && !strcmp(a->host, b->host) && a->port == b->port;
}

void ag_url_free(ag_url *u) {
  if (u == NULL) return;
  ag_free(u->scheme);
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
