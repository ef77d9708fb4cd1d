/*
 * session.c — what the app may know about the session, without the
 * tokens: expiry, when the gate refreshes, scope, the token type and the
 * claims (the access JWT's payload for an own backend; an OpenID provider's
 * ID token claims replace them through c->claims). Written as JSON for
 * gate.session and for the SESSION action that follows every change.
 */
#include "client.h"
#include "json.h"

#include <string.h>

/* The decoded payload of a JWT when it is a JSON object (NULL otherwise), and it parsed. */
static char *jwt_payload(const char *token, cJSON **parsed) {
  *parsed = NULL;
  size_t len = strlen(token);
  const char *d1 = memchr(token, '.', len);
  if (!d1) return NULL;
  const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
  if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) return NULL;
  size_t n;
  unsigned char *payload = ag_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
  if (!payload) return NULL;
  cJSON *root = ag_json_parse((const char *)payload, n);
  if (!cJSON_IsObject(root)) {
    ag_json_free(root);
    ag_free_secret((char *)payload);
    return NULL;
  }
  *parsed = root;
  return (char *)payload; /* checked by the hardened parser: safe to embed as it is */
}

static void put_ms(ag_buf *b, ag_ms t) {
  if (t > 0) ag_buf_put_uint(b, (uint64_t)t);
  else ag_buf_puts(b, "null");
}

static void put_string_or_null(ag_buf *b, const char *s) {
  if (s) ag_buf_put_json_string(b, s);
  else ag_buf_puts(b, "null");
}

char *ag_session_json_of(const ag_client *c, const ag_tokens *t, const char *scope_given,
                         const char *claims_given, ag_ms refresh_at) {
  /* jwt_payload cannot tell "not a JWT" from ENOMEM; a moved failure count can. */
  unsigned long failures = ag_alloc_failures();
  cJSON *root = NULL;
  /* An OpenID provider's ID token (checked when it came) speaks for the user; else the access JWT. */
  const char *source = t->id_token ? t->id_token : t->access;
  char *payload = claims_given ? NULL : jwt_payload(source, &root);
  const cJSON *claimed = cJSON_GetObjectItemCaseSensitive(root, "scope");
  const char *scope = scope_given               ? scope_given
                      : cJSON_IsString(claimed) ? claimed->valuestring
                                                : NULL;
  ag_buf b = {0};
  ag_buf_puts(&b, "{\"expiresAt\":");
  put_ms(&b, t->expires_at);
  ag_buf_puts(&b, ",\"refreshAt\":");
  put_ms(&b, refresh_at);
  ag_buf_puts(&b, ",\"scope\":");
  put_string_or_null(&b, scope);
  /* With dpop every token is DPoP-bound: the token endpoint's token_type must say so. */
  ag_buf_puts(&b, c->cfg.dpop ? ",\"tokenType\":\"DPoP\",\"claims\":"
                              : ",\"tokenType\":\"Bearer\",\"claims\":");
  const char *claims = claims_given ? claims_given : payload;
  ag_buf_puts(&b, claims ? claims : "null");
  ag_buf_putc(&b, '}');
  ag_json_free(root);
  ag_free_secret(payload);
  char *json = ag_buf_take(&b);
  if (json && ag_alloc_failures() != failures) {
    ag_free(json); /* the claims were lost to ENOMEM: not the session to announce */
    return NULL;
  }
  return json;
}

char *ag_session_json(const ag_client *c, ag_ms refresh_at) {
  if (c->state == AG_STATE_INITIALIZING || !c->tok.access) return ag_strndup("null", 4);
  return ag_session_json_of(c, &c->tok, c->scope, c->claims, refresh_at);
}

void ag_session_emit(ag_client *c, char *json) {
  bool visible = json != NULL;
  if (!visible && !c->session_visible) return; /* still none: nothing to tell */
  c->session_visible = visible;
  if (json) ag_action_push(c, AG_ACTION_SESSION, 0, 0, json);
  else ag_action_push_static(c, AG_ACTION_SESSION, 0, 0, "null");
}

char *ag_session_scope_of(const char *body, size_t len) {
  if (!body || !len) return NULL;
  cJSON *root = ag_json_parse(body, len);
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(root, "scope");
  char *out = NULL;
  if (cJSON_IsString(scope) && strlen(scope->valuestring) <= AG_MAX_TOKEN)
    out = ag_strndup(scope->valuestring, strlen(scope->valuestring));
  ag_json_free(root);
  return out;
}

void ag_session_forget(ag_client *c) {
  ag_free(c->scope);
  ag_free(c->claims);
  c->scope = c->claims = NULL;
}

const char *ag_client_session(ag_client *c) {
  if (!c) return NULL;
  ag_free(c->scratch);
  c->scratch = ag_session_json(c, ag_refresh_at(c));
  return c->scratch;
}
