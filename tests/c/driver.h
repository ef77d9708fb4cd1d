/*
 * driver.h — scripted event feeds for the client tests: make a client,
 * drain its actions into a log with copied strings, and find actions in it.
 */
#ifndef AUTHGATE_DRIVER_H
#define AUTHGATE_DRIVER_H

#include "authgate.h"

#include <stdlib.h>
#include <string.h>

#define PAGE "http://app.test"
#define MAX_LOG 20000

typedef struct logged {
  int type, code, credentials, replay, abortable;
  uint32_t id;
  char *url, *method, *authorization, *body, *content_type, *text, *dpop;
} logged;

typedef struct driver {
  ag_client *c;
  logged log[MAX_LOG];
  int n;
} driver;

static inline char *dup_or_null(const char *s, size_t n) {
  if (!s) return NULL;
  char *p = malloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static inline void drv_reset_log(driver *d) {
  for (int i = 0; i < d->n; i++) {
    logged *l = &d->log[i];
    free(l->url), free(l->method), free(l->authorization), free(l->body), free(l->content_type),
        free(l->text), free(l->dpop);
  }
  d->n = 0;
}

/* Drains every action into the log (appending); returns how many. */
static inline int drv_drain(driver *d) {
  ag_action a;
  int before = d->n;
  while (ag_client_next_action(d->c, &a)) {
    if (d->n == MAX_LOG) abort();
    logged *l = &d->log[d->n++];
    memset(l, 0, sizeof *l);
    l->type = a.type, l->code = a.code, l->id = a.id, l->credentials = a.credentials,
    l->replay = a.replay;
    l->abortable = a.abortable;
    l->url = dup_or_null(a.url, a.url ? strlen(a.url) : 0);
    l->method = dup_or_null(a.method, a.method ? strlen(a.method) : 0);
    l->authorization = dup_or_null(a.authorization, a.authorization ? strlen(a.authorization) : 0);
    l->body = dup_or_null(a.body, a.body_len);
    l->content_type = dup_or_null(a.content_type, a.content_type ? strlen(a.content_type) : 0);
    l->text = dup_or_null(a.text, a.text_len);
    l->dpop = dup_or_null(a.dpop, a.dpop ? strlen(a.dpop) : 0);
  }
  return d->n - before;
}

static inline int drv_open(driver *d, const char *options) {
  memset(d, 0, sizeof *d);
  char err[256];
  int rc = ag_client_new(&d->c, options, strlen(options), PAGE, strlen(PAGE), err, sizeof err);
  if (rc != AG_OK) fprintf(stderr, "  ag_client_new: %s\n", err);
  return rc;
}

static inline void drv_close(driver *d) {
  drv_reset_log(d);
  ag_client_free(d->c);
  d->c = NULL;
}

static inline uint32_t drv_call(driver *d, ag_ms now, const char *method, const char *url,
                                const char *auth) {
  uint32_t id = 0;
  ag_client_call(d->c, now, method, strlen(method), url, strlen(url), auth, auth ? strlen(auth) : 0,
                 AG_CRED_UNSET, &id);
  drv_drain(d);
  return id;
}

static inline void drv_respond(driver *d, ag_ms now, uint32_t id, int status, const char *body) {
  ag_client_response(d->c, now, id, status, body, body ? strlen(body) : 0);
  drv_drain(d);
}

static inline void drv_start(driver *d, ag_ms now, const char *blob) {
  ag_client_start(d->c, now, blob, blob ? strlen(blob) : 0);
  drv_drain(d);
}

static inline void drv_tick(driver *d, ag_ms now) {
  ag_client_tick(d->c, now);
  drv_drain(d);
}

/* ag_client_call_opts with per-call options JSON. */
static inline uint32_t drv_call_opts(driver *d, ag_ms now, const char *method, const char *url,
                                     const char *options) {
  uint32_t id = 0;
  ag_client_call_opts(d->c, now, method, strlen(method), url, strlen(url), NULL, 0, AG_CRED_UNSET,
                      options, options ? strlen(options) : 0, &id);
  drv_drain(d);
  return id;
}

/* A response to an app call with its Retry-After value (NULL: none). */
static inline void drv_respond_after(driver *d, ag_ms now, uint32_t id, int status,
                                     const char *retry_after) {
  ag_client_response_ex(d->c, now, id, status, NULL, 0, retry_after,
                        retry_after ? strlen(retry_after) : 0);
  drv_drain(d);
}

/* A started client given tokens {A1, R1, expiresIn 300} at `now`, its log emptied. */
static inline void drv_logged_in(driver *d, const char *options, ag_ms now) {
  drv_open(d, options);
  drv_start(d, now, NULL);
  const char *set = "{\"access\":\"A1\",\"refresh\":\"R1\",\"expiresIn\":300}";
  ag_client_set_tokens(d->c, now, set, strlen(set));
  drv_drain(d);
  drv_reset_log(d);
}

/* The id of the last refresh request sent, 0 when none. */
static inline uint32_t drv_refresh_id(const driver *d) {
  for (int i = d->n - 1; i >= 0; i--)
    if (d->log[i].type == AG_ACTION_SEND && d->log[i].code == AG_SEND_REFRESH) return d->log[i].id;
  return 0;
}

/* Counts logged actions of `type` (and, for SEND, of send kind `code`; -1: any). */
static inline int drv_count(const driver *d, int type, int code) {
  int n = 0;
  for (int i = 0; i < d->n; i++)
    if (d->log[i].type == type && (code < 0 || d->log[i].code == code)) n++;
  return n;
}

/* The last logged action of `type` (and kind/code), or NULL. */
static inline const logged *drv_last(const driver *d, int type, int code) {
  for (int i = d->n - 1; i >= 0; i--)
    if (d->log[i].type == type && (code < 0 || d->log[i].code == code)) return &d->log[i];
  return NULL;
}

/* Counts logged actions of `type` for call `id`. */
static inline int drv_count_for(const driver *d, int type, uint32_t id) {
  int n = 0;
  for (int i = 0; i < d->n; i++)
    if (d->log[i].type == type && d->log[i].id == id) n++;
  return n;
}

/* The logged action for call `id` of `type`, or NULL. */
static inline const logged *drv_for(const driver *d, int type, uint32_t id) {
  for (int i = d->n - 1; i >= 0; i--)
    if (d->log[i].type == type && d->log[i].id == id) return &d->log[i];
  return NULL;
}

#endif
