/*
 * token.c — token responses, JWT expiry and the persisted/broadcast blob.
 *
 * Every JSON input goes through ag_json_parse(): at most AG_MAX_JSON bytes,
 * nesting at most AG_MAX_JSON_DEPTH, exactly one value spanning the whole
 * input (no NUL terminator is trusted), and no NUL anywhere, raw or as
 * \u0000, so strlen() of a parsed string is its real length. Parsed trees
 * have their strings wiped before cJSON_Delete, and the blob is written into
 * one exactly-sized allocation, so no stray copy of a secret is left behind
 * (a growing ag_buf would free unwiped intermediate copies).
 *
 * No float formatting: numbers written are integers (cJSON_Print and
 * printf's %g stay out of the wasm).
 */
#include "internal.h"
#include "json.h"

#include <string.h>

#define MAX_SAFE_INTEGER 9007199254740992.0 /* 2^53: integers exact in a double */
#define MAX_EXPIRES_IN_S 315360000.0        /* ten years of 365 days */

static const char *const default_access[] = {"access_token", "access"};
static const char *const default_refresh[] = {"refresh_token", "refresh"};
static const char *const default_expires_in[] = {"expires_in"};
static const char *const set_access[] = {"access"};
static const char *const set_refresh[] = {"refresh"};
static const char *const set_expires_in[] = {"expiresIn"};

typedef struct name_list {
  const char *const *v;
  size_t n;
} name_list;

/* ---- tokens ---- */

bool ag_token_is_valid(const char *s, size_t len) {
  size_t i;
  if (s == NULL || len == 0 || len > AG_MAX_TOKEN) return false;
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return false;
  return true;
}

void ag_tokens_clear(ag_tokens *t) {
  if (t == NULL) return;
  ag_free_secret(t->access);
  ag_free_secret(t->refresh);
  ag_free_secret(t->id_token);
  memset(t, 0, sizeof(*t));
}

/* A copy of a valid token string, or AG_ERR_BAD_TOKENS for anything else. */
static int copy_token(char **out, const cJSON *item) {
  size_t n;
  if (!cJSON_IsString(item) || item->valuestring == NULL) return AG_ERR_BAD_TOKENS;
  n = strlen(item->valuestring);
  if (!ag_token_is_valid(item->valuestring, n)) return AG_ERR_BAD_TOKENS;
  *out = ag_strndup(item->valuestring, n);
  return *out ? AG_OK : AG_ERR_NOMEM;
}

/* The custom names, or the defaults when there are none. */
static name_list names_or(char **v, size_t n, const char *const *defs, size_t n_defs) {
  name_list l;
  l.v = (v != NULL && n > 0) ? (const char *const *)v : defs;
  l.n = (v != NULL && n > 0) ? n : n_defs;
  return l;
}

/* The first named member that is present and not null, or NULL. */
static const cJSON *find_field(const cJSON *obj, name_list names) {
  size_t i;
  for (i = 0; i < names.n; i++) {
    const cJSON *item;
    if (names.v[i] == NULL) continue;
    item = cJSON_GetObjectItemCaseSensitive(obj, names.v[i]);
    if (item != NULL && !cJSON_IsNull(item)) return item;
  }
  return NULL;
}

/* Seconds from a string of 1..10 ASCII digits, or -1. */
static double digits_value(const char *s) {
  double v = 0;
  size_t i;
  for (i = 0; s[i] != '\0'; i++) {
    if (s[i] < '0' || s[i] > '9' || i >= 10) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return i > 0 ? v : -1;
}

/* expires_in in whole milliseconds, or -1 when absent or unusable. */
static double expires_in_ms(const cJSON *item) {
  double s;
  if (cJSON_IsNumber(item)) s = item->valuedouble;
  else if (cJSON_IsString(item) && item->valuestring != NULL) s = digits_value(item->valuestring);
  else return -1;
  if (!(s > 0 && s < MAX_EXPIRES_IN_S)) return -1; /* also false for NaN and infinities */
  return (double)(int64_t)(s * 1000.0);
}

/* names: access, refresh, expires_in. */
static int tokens_from_json(ag_tokens *out, const cJSON *root, const name_list *names, ag_ms now) {
  ag_tokens t = {0};
  const cJSON *refresh;
  double ms;
  int rv;
  if (!cJSON_IsObject(root)) return AG_ERR_BAD_TOKENS;
  rv = copy_token(&t.access, find_field(root, names[0]));
  refresh = find_field(root, names[1]);
  if (rv == AG_OK && refresh != NULL) rv = copy_token(&t.refresh, refresh);
  if (rv != AG_OK) {
    ag_tokens_clear(&t);
    return rv;
  }
  ms = expires_in_ms(find_field(root, names[2]));
  unsigned long failures = ag_alloc_failures();
  t.expires_at = ms >= 0 ? now + ms : ag_jwt_exp_ms(t.access, strlen(t.access));
  if (ag_alloc_failures() != failures) { /* no expiry read is not "never expires" */
    ag_tokens_clear(&t);
    return AG_ERR_NOMEM;
  }
  *out = t;
  return AG_OK;
}

static int parse_with_names(ag_tokens *out, const name_list *names, ag_ms now, const char *json,
                            size_t len) {
  cJSON *root;
  int rv;
  if (out == NULL) return AG_ERR_INVALID;
  unsigned long failures = ag_alloc_failures();
  root = ag_json_parse(json, len);
  if (root == NULL) return ag_alloc_failures() != failures ? AG_ERR_NOMEM : AG_ERR_BAD_TOKENS;
  rv = tokens_from_json(out, root, names, now);
  ag_json_free(root);
  return rv;
}

int ag_tokens_parse_response(ag_tokens *out, const ag_token_fields *fields, ag_ms now,
                             const char *body, size_t len) {
  name_list names[3];
  names[0] =
      names_or(fields ? fields->access : NULL, fields ? fields->n_access : 0, default_access, 2);
  names[1] =
      names_or(fields ? fields->refresh : NULL, fields ? fields->n_refresh : 0, default_refresh, 2);
  names[2] = names_or(fields ? fields->expires_in : NULL, fields ? fields->n_expires_in : 0,
                      default_expires_in, 1);
  return parse_with_names(out, names, now, body, len);
}

int ag_tokens_parse_set(ag_tokens *out, ag_ms now, const char *json, size_t len) {
  name_list names[3];
  names[0] = names_or(NULL, 0, set_access, 1);
  names[1] = names_or(NULL, 0, set_refresh, 1);
  names[2] = names_or(NULL, 0, set_expires_in, 1);
  return parse_with_names(out, names, now, json, len);
}

/* ---- JWT ---- */

static void free_wiped(unsigned char *p, size_t n) {
  ag_wipe(p, n);
  ag_free(p);
}

/* A numeric exp claim (seconds) as whole ms, or 0. */
static ag_ms exp_claim_ms(const cJSON *payload) {
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(payload, "exp");
  double ms;
  if (!cJSON_IsObject(payload) || !cJSON_IsNumber(exp) || !(exp->valuedouble > 0)) return 0;
  ms = exp->valuedouble * 1000.0;
  if (!(ms < MAX_SAFE_INTEGER)) return 0;
  return (double)(int64_t)ms;
}

unsigned char *ag_jwt_payload(const char *token, size_t len, size_t *out_len) {
  const char *d1, *d2;
  if (out_len != NULL) *out_len = 0;
  if (token == NULL || len == 0 || len > AG_MAX_TOKEN) return NULL;
  d1 = memchr(token, '.', len);
  if (d1 == NULL || d1 == token) return NULL;
  d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
  if (d2 == NULL || d2 == d1 + 1) return NULL;
  if (memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL) return NULL; /* JWE has 5 */
  return ag_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), out_len);
}

ag_ms ag_jwt_exp_ms(const char *token, size_t len) {
  size_t plen;
  unsigned char *payload = ag_jwt_payload(token, len, &plen);
  cJSON *root;
  ag_ms ms;
  if (payload == NULL) return 0;
  root = ag_json_parse((const char *)payload, plen);
  free_wiped(payload, plen);
  if (root == NULL) return 0;
  ms = exp_claim_ms(root);
  ag_json_free(root);
  return ms;
}

/* ---- the blob ---- */

/* A JSON number that is an integer in [0, 2^53). */
static bool json_uint(const cJSON *item, uint64_t *out) {
  double d;
  if (!cJSON_IsNumber(item)) return false;
  d = item->valuedouble;
  if (!(d >= 0 && d < MAX_SAFE_INTEGER) || (double)(uint64_t)d != d) return false;
  *out = (uint64_t)d;
  return true;
}

static int blob_tokens(ag_tokens *out, const cJSON *root) {
  ag_tokens t = {0};
  const cJSON *refresh = cJSON_GetObjectItemCaseSensitive(root, "refresh");
  const cJSON *id_token = cJSON_GetObjectItemCaseSensitive(root, "id");
  uint64_t exp;
  int rv;
  if (!json_uint(cJSON_GetObjectItemCaseSensitive(root, "exp"), &exp)) return AG_ERR_BAD_BLOB;
  rv = copy_token(&t.access, cJSON_GetObjectItemCaseSensitive(root, "access"));
  if (rv == AG_OK && refresh != NULL) rv = copy_token(&t.refresh, refresh);
  if (rv == AG_OK && id_token != NULL) rv = copy_token(&t.id_token, id_token);
  if (rv != AG_OK) {
    ag_tokens_clear(&t);
    return rv == AG_ERR_NOMEM ? rv : AG_ERR_BAD_BLOB;
  }
  t.expires_at = (double)exp;
  *out = t;
  return AG_OK;
}

static int blob_from_json(const cJSON *root, ag_tokens *out, uint64_t *gen, bool *is_logout) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
  ag_tokens t = {0};
  uint64_t v, g;
  bool logout;
  if (!cJSON_IsObject(root) || !json_uint(cJSON_GetObjectItemCaseSensitive(root, "v"), &v) ||
      v != 1 || !json_uint(cJSON_GetObjectItemCaseSensitive(root, "gen"), &g) ||
      !cJSON_IsString(type) || type->valuestring == NULL)
    return AG_ERR_BAD_BLOB;
  logout = strcmp(type->valuestring, "logout") == 0;
  if (!logout) {
    int rv = strcmp(type->valuestring, "tokens") ? AG_ERR_BAD_BLOB : blob_tokens(&t, root);
    if (rv != AG_OK) return rv;
  }
  *out = t;
  *gen = g;
  *is_logout = logout;
  return AG_OK;
}

int ag_blob_read(const char *s, size_t len, ag_tokens *out, uint64_t *gen, bool *is_logout) {
  cJSON *root;
  int rv;
  if (out == NULL || gen == NULL || is_logout == NULL) return AG_ERR_INVALID;
  unsigned long failures = ag_alloc_failures();
  root = ag_json_parse(s, len);
  if (root == NULL) return ag_alloc_failures() != failures ? AG_ERR_NOMEM : AG_ERR_BAD_BLOB;
  rv = blob_from_json(root, out, gen, is_logout);
  ag_json_free(root);
  return rv;
}

/* An expiry as written: whole ms in [0, 2^53), anything else as 0 (unknown). */
static uint64_t exp_field(ag_ms e) { return (e >= 0 && e < MAX_SAFE_INTEGER) ? (uint64_t)e : 0; }

char *ag_blob_write(const ag_tokens *t, uint64_t gen) {
  if (gen >= (uint64_t)1 << 53) return NULL; /* ag_blob_read would refuse it */
  bool logout = t == NULL || t->access == NULL;
  ag_buf b = {0};
  ag_buf_puts(&b, logout ? "{\"v\":1,\"type\":\"logout\",\"gen\":"
                         : "{\"v\":1,\"type\":\"tokens\",\"gen\":");
  ag_buf_put_uint(&b, gen);
  if (!logout) {
    ag_buf_puts(&b, ",\"access\":");
    ag_buf_put_json_string(&b, t->access);
    if (t->refresh != NULL) {
      ag_buf_puts(&b, ",\"refresh\":");
      ag_buf_put_json_string(&b, t->refresh);
    }
    if (t->id_token != NULL) {
      ag_buf_puts(&b, ",\"id\":");
      ag_buf_put_json_string(&b, t->id_token);
    }
    ag_buf_puts(&b, ",\"exp\":");
    ag_buf_put_uint(&b, exp_field(t->expires_at));
  }
  ag_buf_putc(&b, '}');
  return ag_buf_take(&b); /* ag_buf wipes what it outgrows: no stray copy of a token */
}
