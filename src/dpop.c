/*
 * dpop.c — the DPoP rules of the core (see dpop.h): RFC 9449 proofs and
 * nonces, RFC 7638 thumbprints, and the WWW-Authenticate grammar of RFC 9110
 * section 11.6.1, read properly rather than by looking for a substring (a
 * Bearer challenge's error_description may well mention use_dpop_nonce).
 */
#include "dpop.h"
#include "json.h"

#include <string.h>

#define P256_COORD_BYTES 32

/* ---- JWK members ---- */

/* The string value of member `name` when there is exactly one and it is a string, else NULL. */
static const char *unique_string(const cJSON *root, const char *name, int *count) {
  const cJSON *found = NULL;
  *count = 0;
  for (const cJSON *m = root ? root->child : NULL; m; m = m->next) {
    if (m->string && !strcmp(m->string, name)) {
      found = m;
      (*count)++;
    }
  }
  return *count == 1 && cJSON_IsString(found) ? found->valuestring : NULL;
}

static bool has_member(const cJSON *root, const char *name) {
  int n;
  (void)unique_string(root, name, &n);
  return n > 0;
}

/* Private members of EC, RSA and symmetric JWKs (RFC 7518 section 6). */
static bool has_private_member(const cJSON *root) {
  static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
  for (size_t i = 0; i < sizeof priv / sizeof *priv; i++)
    if (has_member(root, priv[i])) return true;
  return false;
}

/* Appends "name":"value" (with a leading comma unless first). */
static void put_member(ag_buf *b, const char *name, const char *value, bool first) {
  if (!first) ag_buf_putc(b, ',');
  ag_buf_put_json_string(b, name);
  ag_buf_putc(b, ':');
  ag_buf_put_json_string(b, value);
}

/* The canonical JSON of RFC 7638 section 3.2 from `names` (already in lexicographic order). */
static char *canonical_jwk(const cJSON *root, const char *const *names, size_t n) {
  ag_buf b = {0};
  ag_buf_putc(&b, '{');
  for (size_t i = 0; i < n; i++) {
    int count;
    const char *v = unique_string(root, names[i], &count);
    if (!v) {
      ag_buf_reset(&b);
      return NULL;
    }
    put_member(&b, names[i], v, i == 0);
  }
  ag_buf_putc(&b, '}');
  return ag_buf_take(&b);
}

static char *thumbprint_of(const char *canonical) {
  unsigned char digest[AG_SHA256_SIZE];
  ag_sha256(canonical, strlen(canonical), digest);
  ag_buf b = {0};
  ag_buf_put_base64url(&b, digest, sizeof digest);
  return ag_buf_take(&b);
}

static const char *const ec_members[] = {"crv", "kty", "x", "y"};
static const char *const rsa_members[] = {"e", "kty", "n"};

int ag_jwk_thumbprint(const char *json, size_t len, char **out) {
  *out = NULL;
  cJSON *root = ag_json_parse(json, len);
  if (!cJSON_IsObject(root)) return ag_json_free(root), AG_ERR_INVALID;
  int count;
  const char *kty = unique_string(root, "kty", &count);
  char *canonical = NULL;
  bool known = kty && (!strcmp(kty, "EC") || !strcmp(kty, "RSA"));
  if (known && !strcmp(kty, "EC")) canonical = canonical_jwk(root, ec_members, 4);
  else if (known) canonical = canonical_jwk(root, rsa_members, 3);
  /* canonical_jwk fails on a missing member or on ENOMEM: tell them apart. */
  bool complete = known && canonical != NULL;
  if (known && !canonical) {
    const char *const *names = !strcmp(kty, "EC") ? ec_members : rsa_members;
    size_t n = !strcmp(kty, "EC") ? 4 : 3;
    complete = true;
    for (size_t i = 0; i < n; i++) complete = complete && unique_string(root, names[i], &count);
  }
  ag_json_free(root);
  if (!complete) return AG_ERR_INVALID;
  if (!canonical) return AG_ERR_NOMEM;
  *out = thumbprint_of(canonical);
  ag_free(canonical);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

/* ---- the public key ---- */

static bool is_coordinate(const char *s) {
  size_t n = 0;
  unsigned char *raw = s ? ag_base64url_decode(s, strlen(s), &n) : NULL;
  bool ok = raw && n == P256_COORD_BYTES && strchr(s, '=') == NULL;
  ag_free(raw);
  return ok;
}

static const char *check_key(const cJSON *root, const char **x, const char **y) {
  int count;
  if (!cJSON_IsObject(root)) return "the DPoP key must be a JWK object";
  if (has_private_member(root)) return "the DPoP key carries private material; give the public key";
  const char *kty = unique_string(root, "kty", &count);
  const char *crv = unique_string(root, "crv", &count);
  if (!kty || strcmp(kty, "EC") || !crv || strcmp(crv, "P-256"))
    return "the DPoP key must be an EC P-256 key (kty EC, crv P-256)";
  *x = unique_string(root, "x", &count);
  *y = unique_string(root, "y", &count);
  if (!is_coordinate(*x) || !is_coordinate(*y))
    return "the DPoP key's x and y must be 32-byte base64url values";
  return NULL;
}

int ag_dpop_key_parse(ag_dpop_key *out, const char *json, size_t len, const char **why) {
  memset(out, 0, sizeof *out);
  *why = NULL;
  cJSON *root = ag_json_parse(json, len);
  const char *x = NULL, *y = NULL;
  *why = root ? check_key(root, &x, &y) : "the DPoP key is not JSON";
  if (*why) return ag_json_free(root), AG_ERR_INVALID;
  out->x = ag_strndup(x, strlen(x));
  out->y = ag_strndup(y, strlen(y));
  out->jwk = canonical_jwk(root, ec_members, 4);
  ag_json_free(root);
  out->jkt = out->jwk ? thumbprint_of(out->jwk) : NULL;
  if (!out->x || !out->y || !out->jwk || !out->jkt) {
    ag_dpop_key_free(out);
    return AG_ERR_NOMEM;
  }
  return AG_OK;
}

void ag_dpop_key_free(ag_dpop_key *k) {
  ag_free(k->x);
  ag_free(k->y);
  ag_free(k->jwk);
  ag_free(k->jkt);
  memset(k, 0, sizeof *k);
}

/* ---- proofs ---- */

/* fetch() upper-cases these methods whatever case the caller used (Fetch, "normalize"). */
static void put_method(ag_buf *b, const char *m) {
  static const char *const normalised[] = {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"};
  for (size_t i = 0; i < sizeof normalised / sizeof *normalised; i++) {
    const char *n = normalised[i];
    size_t j = 0;
    while (n[j] && m[j] && (m[j] | 0x20) == (n[j] | 0x20)) j++;
    if (!n[j] && !m[j]) {
      ag_buf_put_json_string(b, n);
      return;
    }
  }
  ag_buf_put_json_string(b, m);
}

/* htu: scheme, host, port and path of the URL as the core normalised it; no query, no fragment. */
static char *target_uri(const char *url) {
  ag_url u;
  if (ag_url_parse(&u, url, strlen(url)) != AG_OK) return NULL;
  ag_buf b = {0};
  char *origin = ag_url_origin(&u);
  if (!origin) b.failed = true;
  ag_buf_puts(&b, origin ? origin : "");
  ag_buf_puts(&b, u.path);
  ag_free(origin);
  ag_url_free(&u);
  return ag_buf_take(&b);
}

static void put_ath(ag_buf *b, const char *token) {
  unsigned char digest[AG_SHA256_SIZE];
  ag_sha256(token, strlen(token), digest);
  ag_buf_puts(b, ",\"ath\":\"");
  ag_buf_put_base64url(b, digest, sizeof digest);
  ag_buf_putc(b, '"');
}

static char *payload_json(const ag_dpop_claims *in, const char *htu) {
  ag_buf b = {0};
  ag_buf_puts(&b, "{\"jti\":\"");
  ag_buf_put_base64url(&b, in->jti, AG_DPOP_JTI_BYTES);
  ag_buf_puts(&b, "\",\"htm\":");
  put_method(&b, in->method);
  ag_buf_puts(&b, ",\"htu\":");
  ag_buf_put_json_string(&b, htu);
  ag_buf_puts(&b, ",\"iat\":");
  ag_buf_put_uint(&b, in->now > 0 ? (uint64_t)(in->now / 1000) : 0);
  if (in->access_token) put_ath(&b, in->access_token);
  if (in->nonce) {
    ag_buf_puts(&b, ",\"nonce\":");
    ag_buf_put_json_string(&b, in->nonce);
  }
  ag_buf_putc(&b, '}');
  return ag_buf_take(&b);
}

static void put_b64_text(ag_buf *b, const char *s) {
  ag_buf_put_base64url(b, (const unsigned char *)s, strlen(s));
}

int ag_dpop_signing_input(const ag_dpop_key *k, const ag_dpop_claims *in, char **out) {
  *out = NULL;
  if (!k || !k->jwk || !in->method || !in->method[0] || !in->jti || !in->url) return AG_ERR_INVALID;
  ag_url probe;
  if (ag_url_parse(&probe, in->url, strlen(in->url)) != AG_OK) return AG_ERR_BAD_URL;
  ag_url_free(&probe);
  char *htu = target_uri(in->url);
  char *payload = htu ? payload_json(in, htu) : NULL;
  ag_buf b = {0};
  ag_buf_puts(&b, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":");
  ag_buf_puts(&b, k->jwk);
  ag_buf_putc(&b, '}');
  char *header = ag_buf_take(&b);
  if (header && payload) {
    put_b64_text(&b, header);
    ag_buf_putc(&b, '.');
    put_b64_text(&b, payload);
    *out = ag_buf_take(&b);
  }
  ag_free(htu);
  ag_free(payload);
  ag_free(header);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

int ag_dpop_finish(const char *signing_input, const unsigned char *sig, size_t sig_len,
                   char **out) {
  *out = NULL;
  if (!signing_input || !sig || sig_len != AG_DPOP_SIGNATURE_BYTES) return AG_ERR_INVALID;
  ag_buf b = {0};
  ag_buf_puts(&b, signing_input);
  ag_buf_putc(&b, '.');
  ag_buf_put_base64url(&b, sig, sig_len);
  *out = ag_buf_take(&b);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

/* ---- nonces ---- */

static bool is_nonce(const char *v, size_t len) {
  if (!v || len == 0 || len > AG_DPOP_MAX_NONCE) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\') return false;
  }
  return true;
}

static long nonce_slot(const ag_dpop_nonces *s, const char *origin) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->origin[i], origin)) return (long)i;
  return -1;
}

int ag_dpop_nonce_put(ag_dpop_nonces *s, const char *origin, const char *value, size_t len) {
  if (!origin || !is_nonce(value, len)) return AG_ERR_INVALID;
  char *v = ag_strndup(value, len);
  if (!v) return AG_ERR_NOMEM;
  long i = nonce_slot(s, origin);
  if (i >= 0) {
    ag_free(s->value[i]);
    s->value[i] = v;
    return AG_OK;
  }
  char *o = ag_strndup(origin, strlen(origin));
  if (!o) return ag_free(v), AG_ERR_NOMEM;
  if (s->n == AG_DPOP_MAX_NONCES) { /* the oldest origin goes */
    ag_free(s->origin[0]);
    ag_free(s->value[0]);
    memmove(s->origin, s->origin + 1, (s->n - 1) * sizeof *s->origin);
    memmove(s->value, s->value + 1, (s->n - 1) * sizeof *s->value);
    s->n--;
  }
  s->origin[s->n] = o;
  s->value[s->n] = v;
  s->n++;
  return AG_OK;
}

const char *ag_dpop_nonce_get(const ag_dpop_nonces *s, const char *origin) {
  long i = origin ? nonce_slot(s, origin) : -1;
  return i >= 0 ? s->value[i] : NULL;
}

void ag_dpop_nonces_free(ag_dpop_nonces *s) {
  for (size_t i = 0; i < s->n; i++) {
    ag_free(s->origin[i]);
    ag_free(s->value[i]);
  }
  memset(s, 0, sizeof *s);
}

/* ---- WWW-Authenticate (RFC 9110 section 11.6.1) ---- */

typedef struct scan {
  const char *s;
  size_t len, pos;
} scan;

static bool is_tchar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool is_token68_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch && strchr("-._~+/", ch) != NULL);
}

static char peek(const scan *p) { return p->pos < p->len ? p->s[p->pos] : '\0'; }

static void skip_ows(scan *p) {
  while (peek(p) == ' ' || peek(p) == '\t') p->pos++;
}

/* Reads a token; its length (0: none). */
static size_t read_token(scan *p, const char **tok) {
  *tok = p->s + p->pos;
  size_t start = p->pos;
  while (p->pos < p->len && is_tchar(p->s[p->pos])) p->pos++;
  return p->pos - start;
}

static bool token_is(const char *t, size_t n, const char *want, bool fold) {
  size_t w = strlen(want);
  if (n != w) return false;
  for (size_t i = 0; i < n; i++) {
    char a = t[i], b = want[i];
    if (fold && a >= 'A' && a <= 'Z') a = (char)(a + 32);
    if (a != b) return false;
  }
  return true;
}

/*
 * Reads a token or quoted-string value; *match tells whether it equals
 * `want` (after unescaping). False when malformed.
 */
static bool read_value(scan *p, const char *want, bool *match) {
  size_t w = strlen(want), n = 0;
  *match = false;
  if (peek(p) != '"') {
    const char *t;
    size_t tn = read_token(p, &t);
    *match = token_is(t, tn, want, false);
    return tn > 0;
  }
  bool same = true;
  for (p->pos++; p->pos < p->len; p->pos++) {
    unsigned char ch = (unsigned char)p->s[p->pos];
    if (ch == '"') {
      p->pos++;
      *match = same && n == w;
      return true;
    }
    if (ch == '\\' && ++p->pos >= p->len) return false;
    ch = (unsigned char)p->s[p->pos];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return false;
    same = same && n < w && ch == (unsigned char)want[n];
    n++;
  }
  return false; /* no closing quote */
}

/* After a comma: does an auth-param (token BWS "=") follow, or the next challenge? */
static bool param_follows(const scan *p) {
  scan q = *p;
  const char *t;
  if (!read_token(&q, &t)) return false;
  skip_ows(&q);
  return peek(&q) == '=';
}

/* token68 (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="), ending the challenge. */
static bool skip_token68(scan *p) {
  scan q = *p;
  size_t start = q.pos;
  while (q.pos < q.len && is_token68_char(q.s[q.pos])) q.pos++;
  if (q.pos == start) return false;
  while (peek(&q) == '=') q.pos++;
  skip_ows(&q);
  if (q.pos < q.len && peek(&q) != ',') return false;
  *p = q;
  return true;
}

/*
 * A challenge's auth-params, up to the next challenge (left unread) or the
 * end. *wants: a DPoP challenge with one error parameter, use_dpop_nonce.
 */
static bool read_params(scan *p, bool dpop, bool *wants) {
  int errors = 0;
  bool nonce_error = false;
  if (skip_token68(p)) return true;
  for (;;) {
    const char *name;
    size_t nn = read_token(p, &name);
    skip_ows(p);
    if (!nn || peek(p) != '=') return false;
    p->pos++;
    skip_ows(p);
    bool match;
    if (!read_value(p, "use_dpop_nonce", &match)) return false;
    if (token_is(name, nn, "error", true)) errors++, nonce_error = match;
    skip_ows(p);
    size_t comma = p->pos;
    if (peek(p) != ',') break;
    while (peek(p) == ' ' || peek(p) == '\t' || peek(p) == ',') p->pos++;
    if (!param_follows(p)) {
      p->pos = comma; /* the next challenge starts after this comma */
      break;
    }
  }
  if (dpop && errors > 1) return false; /* a parameter named twice */
  if (dpop && errors == 1 && nonce_error) *wants = true;
  return true;
}

bool ag_dpop_www_auth_wants_nonce(const char *value, size_t len) {
  if (!value || len > AG_DPOP_MAX_CHALLENGE) return false;
  scan p = {value, len, 0};
  bool wants = false;
  while (p.pos < p.len) {
    while (peek(&p) == ' ' || peek(&p) == '\t' || peek(&p) == ',') p.pos++;
    if (p.pos >= p.len) break;
    const char *scheme;
    size_t sn = read_token(&p, &scheme);
    if (!sn) return false;
    bool dpop = token_is(scheme, sn, "dpop", true);
    if (peek(&p) == ' ' || peek(&p) == '\t') {
      skip_ows(&p);
      if (peek(&p) != ',' && !read_params(&p, dpop, &wants)) return false;
    }
    skip_ows(&p);
    if (p.pos < p.len && peek(&p) != ',') return false;
  }
  return wants;
}

bool ag_dpop_token_wants_nonce(int status, const char *body, size_t len) {
  if (status != 400 || !body) return false;
  cJSON *root = ag_json_parse(body, len);
  int count;
  const char *error = cJSON_IsObject(root) ? unique_string(root, "error", &count) : NULL;
  bool wants = error && !strcmp(error, "use_dpop_nonce");
  ag_json_free(root);
  return wants;
}

bool ag_dpop_retry_with_nonce(bool challenge, bool got_nonce, bool *retried) {
  if (!challenge || !got_nonce || *retried) return false;
  *retried = true;
  return true;
}
