/*
 * retry.c — the retry option, Retry-After and the back-off. Pure functions:
 * the state machine (client.c) decides when a failed attempt is retried and
 * asks here which methods and statuses qualify and how long to wait. The
 * jitter comes from a generator the embedder seeds (no randomness inside).
 */
#include "internal.h"
#include "json.h"

#include <string.h>

/* Methods the option may list; the first five are retried by default (idempotent). */
static const char *const method_names[] = {"GET",    "HEAD", "OPTIONS", "PUT",
                                           "DELETE", "POST", "PATCH",   NULL};
#define DEFAULT_METHODS 0x1fu
static const uint16_t default_statuses[] = {408, 429, 500, 502, 503, 504};
#define BACKOFF_BASE_MS 300
#define BACKOFF_CAP_MS 10000

static int method_bit(const char *s) {
  for (int i = 0; method_names[i]; i++) {
    const char *m = method_names[i];
    size_t j = 0;
    while (m[j] && s[j] && (s[j] == m[j] || s[j] == (char)(m[j] + ('a' - 'A')))) j++;
    if (!m[j] && !s[j]) return i;
  }
  return -1;
}

bool ag_retry_allows_method(const ag_retry_policy *p, const char *method) {
  int bit = method ? method_bit(method) : -1;
  return bit >= 0 && (p->methods >> bit & 1u);
}

bool ag_retry_allows_status(const ag_retry_policy *p, int status) {
  for (size_t i = 0; i < p->n_statuses; i++)
    if (p->statuses[i] == status) return true;
  return false;
}

static void set_defaults(ag_retry_policy *p) {
  memset(p, 0, sizeof *p);
  p->enabled = true;
  p->limit = 2;
  p->methods = DEFAULT_METHODS;
  p->n_statuses = sizeof default_statuses / sizeof *default_statuses;
  memcpy(p->statuses, default_statuses, sizeof default_statuses);
  p->max_retry_after_ms = 60000;
}

static int parse_methods(ag_retry_policy *p, const cJSON *item, const char **why) {
  *why = "retry.methods must be an array of HTTP methods (GET, HEAD, OPTIONS, PUT, DELETE, POST, "
         "PATCH)";
  if (!cJSON_IsArray(item)) return AG_ERR_BAD_CONFIG;
  p->methods = 0;
  const cJSON *el;
  cJSON_ArrayForEach(el, item) {
    int bit = cJSON_IsString(el) ? method_bit(el->valuestring) : -1;
    if (bit < 0) return AG_ERR_BAD_CONFIG;
    p->methods |= 1u << bit;
  }
  return AG_OK;
}

static int parse_statuses(ag_retry_policy *p, const cJSON *item, const char **why) {
  *why = "retry.statuses must be an array of at most 16 HTTP statuses (100..599)";
  if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) > AG_RETRY_MAX_STATUSES)
    return AG_ERR_BAD_CONFIG;
  p->n_statuses = 0;
  const cJSON *el;
  cJSON_ArrayForEach(el, item) {
    double v = cJSON_IsNumber(el) ? el->valuedouble : 0;
    if (!(v >= 100 && v <= 599) || v != (double)(int)v) return AG_ERR_BAD_CONFIG;
    p->statuses[p->n_statuses++] = (uint16_t)v;
  }
  return AG_OK;
}

static int parse_number(const cJSON *item, double hi, double *out) {
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble <= hi))
    return AG_ERR_BAD_CONFIG;
  *out = item->valuedouble;
  return AG_OK;
}

int ag_retry_policy_parse(ag_retry_policy *out, const cJSON *item, const char **why) {
  if (!item) return AG_OK;
  if (cJSON_IsFalse(item)) {
    memset(out, 0, sizeof *out);
    return AG_OK;
  }
  *why = "retry must be false or an object {limit, methods, statuses, maxRetryAfterMs}";
  if (!cJSON_IsObject(item)) return AG_ERR_BAD_CONFIG;
  ag_retry_policy p;
  set_defaults(&p);
  const cJSON *el;
  cJSON_ArrayForEach(el, item) {
    double v = 0;
    int rc = AG_OK;
    if (!strcmp(el->string, "limit")) {
      *why = "retry.limit must be a whole number from 0 to 10";
      rc = parse_number(el, 10, &v);
      if (rc == AG_OK && v != (double)(int)v) rc = AG_ERR_BAD_CONFIG;
      p.limit = (int)v;
    } else if (!strcmp(el->string, "maxRetryAfterMs")) {
      *why = "retry.maxRetryAfterMs must be a number of ms from 0 to 86400000";
      rc = parse_number(el, 86400000, &v);
      p.max_retry_after_ms = (ag_ms)(int64_t)v;
    } else if (!strcmp(el->string, "methods")) {
      rc = parse_methods(&p, el, why);
    } else if (!strcmp(el->string, "statuses")) {
      rc = parse_statuses(&p, el, why);
    } else {
      *why = "retry accepts only limit, methods, statuses, maxRetryAfterMs";
      rc = AG_ERR_BAD_CONFIG;
    }
    if (rc != AG_OK) return rc;
  }
  *out = p;
  return AG_OK;
}

/* ---- Retry-After ---- */

int64_t ag_days_from_civil(int64_t y, int m, int d) {
  /* Counted in 400-year eras from March 1st, so February's leap day comes last. */
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

typedef struct cursor {
  const char *s;
  size_t n, i;
} cursor;

static bool take_lit(cursor *c, const char *lit) {
  size_t n = strlen(lit);
  if (c->n - c->i < n || memcmp(c->s + c->i, lit, n)) return false;
  c->i += n;
  return true;
}

/* Exactly `digits` decimal digits (a space may pad asctime's day). */
static bool take_num(cursor *c, int digits, int *out) {
  int v = 0;
  for (int k = 0; k < digits; k++) {
    if (c->i >= c->n) return false;
    char ch = c->s[c->i++];
    if (ch == ' ' && k == 0 && digits == 2) continue;
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  *out = v;
  return true;
}

static int take_month(cursor *c) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (c->n - c->i < 3) return 0;
  for (int m = 0; m < 12; m++) {
    if (!memcmp(c->s + c->i, months + 3 * m, 3)) {
      c->i += 3;
      return m + 1;
    }
  }
  return 0;
}

static bool take_day_name(cursor *c, bool long_form) {
  static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const char *const long_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};
  for (int k = 0; k < 7; k++)
    if (take_lit(c, long_form ? long_days[k] : days[k])) return true;
  return false;
}

static bool take_clock(cursor *c, int *h, int *mi, int *sec) {
  return take_num(c, 2, h) && take_lit(c, ":") && take_num(c, 2, mi) && take_lit(c, ":") &&
         take_num(c, 2, sec) && *h < 24 && *mi < 60 && *sec < 61;
}

/* The date as ms since the epoch, or -1 when it is not one of the three HTTP-date forms. */
static ag_ms parse_http_date(const char *s, size_t n) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  cursor c = {s, n, 0};
  bool ok;
  if (take_day_name(&c, false) && take_lit(&c, ", ")) { /* Sun, 06 Nov 1994 08:49:37 GMT */
    ok = take_num(&c, 2, &d) && take_lit(&c, " ") && (mo = take_month(&c)) && take_lit(&c, " ") &&
         take_num(&c, 4, &y) && take_lit(&c, " ") && take_clock(&c, &h, &mi, &sec) &&
         take_lit(&c, " GMT");
  } else if ((c.i = 0, take_day_name(&c, true)) && take_lit(&c, ", ")) { /* RFC 850 */
    ok = take_num(&c, 2, &d) && take_lit(&c, "-") && (mo = take_month(&c)) && take_lit(&c, "-") &&
         take_num(&c, 2, &y) && take_lit(&c, " ") && take_clock(&c, &h, &mi, &sec) &&
         take_lit(&c, " GMT");
    y += y < 70 ? 2000 : 1900; /* two-digit years as RFC 9110 reads them, near enough */
  } else if ((c.i = 0, take_day_name(&c, false)) && take_lit(&c, " ")) { /* asctime */
    ok = (mo = take_month(&c)) && take_lit(&c, " ") && take_num(&c, 2, &d) && take_lit(&c, " ") &&
         take_clock(&c, &h, &mi, &sec) && take_lit(&c, " ") && take_num(&c, 4, &y);
  } else {
    return -1;
  }
  if (!ok || c.i != c.n || d < 1 || d > 31) return -1;
  int64_t days = ag_days_from_civil(y, mo, d);
  return (ag_ms)(((days * 24 + h) * 60 + mi) * 60 + sec) * 1000;
}

ag_ms ag_retry_after_ms(const char *s, size_t len, ag_ms now) {
  if (!s) return -1;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
  while (len && (*s == ' ' || *s == '\t')) s++, len--;
  if (!len || len > 64) return -1;
  if (s[0] >= '0' && s[0] <= '9') {
    double secs = 0;
    for (size_t i = 0; i < len; i++) {
      if (s[i] < '0' || s[i] > '9') return -1;
      if (secs < 1e12) secs = secs * 10 + (s[i] - '0'); /* beyond: "huge" is all that matters */
    }
    return secs * 1000;
  }
  ag_ms at = parse_http_date(s, len);
  if (at < 0) return -1;
  return at > now ? at - now : 0;
}

/* ---- back-off ---- */

void ag_rng_seed(uint64_t *rng, const unsigned char *bytes, size_t len) {
  for (size_t i = 0; i < len; i++) *rng = (*rng ^ bytes[i]) * 0x100000001b3ull;
}

uint64_t ag_rng_next(uint64_t *rng) {
  uint64_t z = (*rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

ag_ms ag_retry_backoff_ms(int n, uint64_t *rng) {
  int shift = n < 1 ? 0 : n > 10 ? 9 : n - 1;
  uint64_t full = (uint64_t)BACKOFF_BASE_MS << shift;
  if (full > BACKOFF_CAP_MS) full = BACKOFF_CAP_MS;
  /* Half fixed, half random: tabs and clients that failed together spread out. */
  uint64_t half = full / 2;
  return (ag_ms)(half + ag_rng_next(rng) % (half + 1));
}
