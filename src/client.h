/*
 * client.h — the client's state, shared by client.c (the state machine),
 * requests.c (the core's own request bodies), explain.c (messages,
 * diagnose) and guard.c. Private.
 */
#ifndef AUTHGATE_CLIENT_H
#define AUTHGATE_CLIENT_H

#include "internal.h"

enum { WAIT_NONE = 0, WAIT_READY = 1, WAIT_REFRESH = 2 };

/* One call: an app call, or the core's own login/refresh request. */
typedef struct call {
  uint32_t id;
  int kind;          /* enum ag_send_kind */
  int route;         /* enum ag_route (app calls) */
  int credentials;   /* enum ag_credentials for the SEND */
  int waiting;       /* WAIT_* while queued */
  int status;        /* the status that ended it, for messages */
  bool cross_origin; /* another origin than the page's: CORS applies */
  bool own_auth;     /* the caller set Authorization itself: left alone */
  bool in_flight;    /* SEND emitted, no response yet */
  bool replay;       /* this send is the one replay after a 401 */
  bool awaiting_replay;
  uint64_t sent_gen; /* token generation it was sent with */
  ag_ms deadline;    /* while waiting */
  char *method;
  char *url;  /* final absolute URL */
  char *body; /* login/refresh body (a secret) */
  size_t body_len;
  const char *content_type;   /* static string */
  struct call *hnext;         /* hash chain */
  struct call *wprev, *wnext; /* wait FIFO */
} call;

typedef struct pending {
  int type;
  uint32_t id;
  int code;
  char *text; /* owned; wiped when freed */
} pending;

struct ag_client {
  ag_config cfg;
  int state;
  bool started;
  bool oom; /* an allocation failed while emitting; the entry point returns NOMEM */

  /* tokens */
  ag_tokens tok;
  char *bearer; /* "Bearer <access>", a secret */
  uint64_t gen; /* generation of what we hold; orders tabs' messages */
  ag_ms obtained_at;
  bool access_dead; /* the server refused it (401): do not send it again */

  /* refresh: at most one in flight (single flight) */
  bool need_refresh;
  bool lock_wanted; /* LOCK emitted, not granted yet */
  bool lock_held;
  bool initial_refresh;     /* the start-up refresh decides the first state */
  bool initial_had_session; /* ...of a stored session (vs a cookie probe) */
  bool bad_refresh_body;
  uint32_t refresh_id; /* the refresh request in flight, 0 when none */
  ag_ms retry_at;      /* back-off after a failed refresh, 0 when none */
  ag_ms refused_until; /* a refused refresh waits for another tab's newer tokens, 0 when none */
  int refused_code;    /* what the waiting calls get if none come */
  int refresh_failures;
  int last_refresh_status; /* the failed refresh's HTTP status; 0: network or none */

  /* calls */
  call **buckets;
  size_t n_buckets;
  size_t n_calls;
  uint32_t next_id;
  int logins_pending; /* login requests not yet answered: calls wait for their outcome */
  call *wait_head, *wait_tail;

  /* actions: a ring */
  pending *actions;
  size_t cap_actions, head_action, n_actions;
  char *current_text; /* the drained action's text, freed at the next drain */
  char *scratch;      /* plan/diagnose JSON, freed at the next such call */
};

/* client.c */
void ag_emit_reject(ag_client *c, uint32_t id, int code, char *message);

/* requests.c */
int ag_build_login_body(ag_client *c, call *k, const char *credentials_json, size_t len);
int ag_build_refresh_body(ag_client *c, call *k);
/* Credentials for the core's own login and refresh requests to `url`. */
int ag_own_request_credentials(const ag_client *c, const char *url);
bool ag_config_same_origin_as_page(const ag_client *c, const ag_url *u);

/* explain.c: the message of a rejection (heap string, NULL on ENOMEM). */
char *ag_explain_rejection(const ag_client *c, const call *k, int code, const char *why);

#endif
