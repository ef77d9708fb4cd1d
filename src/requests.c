/*
 * requests.c — the core's own requests (login, refresh): their bodies as
 * the options say (JSON, an OAuth2 form, or nothing for cookie refresh)
 * and their credentials mode.
 */
#include "client.h"
#include "json.h"

#include <string.h>

static const char json_type[] = "application/json";
static const char form_type[] = "application/x-www-form-urlencoded";

static int take_body(call *k, ag_buf *b, const char *type) {
  k->body = ag_buf_take(b);
  if (!k->body) return AG_ERR_NOMEM;
  k->body_len = strlen(k->body);
  k->content_type = type;
  return AG_OK;
}

/* Every credential value must be a string: numbers or objects here are an app bug. */
static int check_credentials(const cJSON *root) {
  if (!cJSON_IsObject(root)) return AG_ERR_BAD_CONFIG;
  const cJSON *el;
  cJSON_ArrayForEach(el, root) {
    if (!cJSON_IsString(el)) return AG_ERR_BAD_CONFIG;
  }
  return AG_OK;
}

int ag_build_login_body(ag_client *c, call *k, const char *credentials_json, size_t len) {
  if (!credentials_json || len > AG_MAX_JSON) return AG_ERR_BAD_CONFIG;
  unsigned long failures = ag_alloc_failures();
  cJSON *root = ag_json_parse(credentials_json, len);
  if (!root) return ag_alloc_failures() != failures ? AG_ERR_NOMEM : AG_ERR_BAD_CONFIG;
  int rc = check_credentials(root);
  if (rc == AG_OK) {
    ag_buf b = {0};
    bool form = c->cfg.login_body == AG_BODY_FORM;
    const cJSON *el;
    if (!form) ag_buf_putc(&b, '{');
    cJSON_ArrayForEach(el, root) {
      if (el != root->child) ag_buf_putc(&b, form ? '&' : ',');
      if (form) {
        ag_buf_put_form(&b, el->string);
        ag_buf_putc(&b, '=');
        ag_buf_put_form(&b, el->valuestring);
      } else {
        ag_buf_put_json_string(&b, el->string);
        ag_buf_putc(&b, ':');
        ag_buf_put_json_string(&b, el->valuestring);
      }
    }
    if (!form) ag_buf_putc(&b, '}');
    rc = take_body(k, &b, form ? form_type : json_type);
  }
  ag_json_free(root);
  return rc;
}

int ag_build_refresh_body(ag_client *c, call *k) {
  ag_buf b = {0};
  switch (c->cfg.refresh_send) {
  case AG_REFRESH_COOKIE: /* the httpOnly cookie is the credential; no body */
    return AG_OK;
  case AG_REFRESH_FORM:
    ag_buf_puts(&b, "grant_type=refresh_token&refresh_token=");
    ag_buf_put_form(&b, c->tok.refresh);
    return take_body(k, &b, form_type);
  default:
    ag_buf_putc(&b, '{');
    ag_buf_put_json_string(&b, c->cfg.refresh_field);
    ag_buf_putc(&b, ':');
    ag_buf_put_json_string(&b, c->tok.refresh);
    ag_buf_putc(&b, '}');
    return take_body(k, &b, json_type);
  }
}

/* Cookie refresh needs the cookie sent, and set by the login's answer: always include. */
int ag_own_request_credentials(const ag_client *c, const char *url) {
  if (c->cfg.refresh_send == AG_REFRESH_COOKIE) return AG_CRED_INCLUDE;
  ag_url u;
  if (ag_url_parse(&u, url, strlen(url)) != AG_OK) return AG_CRED_UNSET;
  int mode = ag_config_credentials(&c->cfg, &u, AG_CRED_UNSET);
  ag_url_free(&u);
  return mode;
}

bool ag_config_same_origin_as_page(const ag_client *c, const ag_url *u) {
  if (!c->cfg.page_origin[0]) return true; /* no page (Node): no CORS */
  return ag_url_same_origin(u, &c->cfg.page);
}
