/*
 * actions.c — the action ring: what the embedder must do, queued in order
 * by the state machine and drained one at a time by ag_client_next_action.
 * A drained action's text stays valid until the next drain.
 *
 * Entry points reserve the ring before they change anything
 * (ag_actions_reserve), so pushing an action never fails once the state
 * machine has started to commit.
 */
#include "client.h"

#include <string.h>
#include <stddef.h>

/*
 * The wasm ABI: js/core.js reads ag_action as AG_ACTION_FIELDS words, field i at
 * byte 4*i (tests/js/abi.test.mjs holds js/core.js to the header's order). On a
 * 32-bit target (wasm32) the layout itself is pinned here: a field added, moved
 * or widened fails the build.
 */
#if UINTPTR_MAX == 0xFFFFFFFFu
#define AG_FIELD_AT(f, i)                                                                          \
  _Static_assert(offsetof(ag_action, f) == 4 * (i), "ag_action." #f " moved")
_Static_assert(sizeof(ag_action) == 4 * AG_ACTION_FIELDS, "ag_action is AG_ACTION_FIELDS words");
_Static_assert(sizeof(pending) == 12, "the action ring's entries grew");
AG_FIELD_AT(type, 0);
AG_FIELD_AT(id, 1);
AG_FIELD_AT(code, 2);
AG_FIELD_AT(credentials, 3);
AG_FIELD_AT(replay, 4);
AG_FIELD_AT(method, 5);
AG_FIELD_AT(url, 6);
AG_FIELD_AT(authorization, 7);
AG_FIELD_AT(body, 8);
AG_FIELD_AT(body_len, 9);
AG_FIELD_AT(content_type, 10);
AG_FIELD_AT(text, 11);
AG_FIELD_AT(text_len, 12);
AG_FIELD_AT(dpop, 13);
#endif

int ag_actions_reserve(ag_client *c, size_t extra) {
  if (extra > SIZE_MAX / 2 - c->n_actions) return AG_ERR_NOMEM;
  size_t need = c->n_actions + extra;
  if (need <= c->cap_actions) return AG_OK;
  size_t cap = c->cap_actions ? c->cap_actions : 16;
  while (cap < need) cap *= 2;
  pending *grown = ag_calloc(cap, sizeof *grown);
  if (!grown) return AG_ERR_NOMEM;
  for (size_t i = 0; i < c->n_actions; i++)
    grown[i] = c->actions[(c->head_action + i) % c->cap_actions];
  ag_free(c->actions);
  c->actions = grown;
  c->cap_actions = cap;
  c->head_action = 0;
  return AG_OK;
}

static void push(ag_client *c, int type, uint32_t id, int code, char *text, const char *fixed) {
  /* Reserved by the entry point; growing here is a fallback that the sweep test would catch. */
  if (c->n_actions == c->cap_actions && ag_actions_reserve(c, 1) != AG_OK) {
    c->oom = true;
    ag_free_secret(text);
    return;
  }
  pending *p = &c->actions[(c->head_action + c->n_actions) % c->cap_actions];
  p->type = (uint8_t)type;
  p->id = id;
  p->code = (int16_t)code;
  p->text = text ? text : fixed;
  p->owned = text != NULL;
  c->n_actions++;
}

void ag_action_push(ag_client *c, int type, uint32_t id, int code, char *text) {
  push(c, type, id, code, text, NULL);
}

void ag_action_push_static(ag_client *c, int type, uint32_t id, int code, const char *text) {
  push(c, type, id, code, NULL, text);
}

void ag_emit(ag_client *c, int type) { ag_action_push(c, type, 0, 0, NULL); }

void ag_actions_clear_current(ag_client *c) {
  ag_free_secret(c->current_text);
  c->current_text = NULL;
}

/*
 * A protected app call without the gate's bearer must never leave. The state
 * machine does not emit one; should it ever (a bug), the call is rejected here
 * instead of being sent bare.
 */
static const char no_bearer[] =
    "this protected call had no bearer token to carry when it was due to leave (the gate holds "
    "none now); it was not sent. Log in again, then retry";
static const char no_bearer_fixed[] =
    "a protected call had no bearer token to carry when it was due to leave (the gate holds none "
    "now); it was not sent. Log in again, then retry.";

static bool needs_bearer(const call *k) {
  return k->kind == AG_SEND_CALL && k->route == AG_ROUTE_PROTECTED && !k->own_auth;
}

static void fill_send(const ag_client *c, const call *k, ag_action *out) {
  out->credentials = k->credentials;
  out->replay = k->replay;
  out->method = k->method;
  out->url = k->url;
  out->body = k->body;
  out->body_len = k->body ? (uint32_t)k->body_len : 0;
  out->content_type = k->content_type;
  if (needs_bearer(k)) out->authorization = k->dpop_auth ? k->dpop_auth : c->bearer;
  out->dpop = k->proof;
  out->abortable = k->timeout_ms > 0; /* what arms the attempt's timer (client.c) */
}

int ag_client_next_action(ag_client *c, ag_action *out) {
  if (!c || !out) return 0;
  ag_actions_clear_current(c);
  while (c->n_actions) {
    pending p = c->actions[c->head_action];
    c->head_action = (c->head_action + 1) % c->cap_actions;
    c->n_actions--;
    memset(out, 0, sizeof *out);
    out->type = p.type;
    out->id = p.id;
    out->code = p.code;
    c->current_text = p.owned ? (char *)p.text : NULL;
    out->text = p.text;
    out->text_len = out->text ? (uint32_t)strlen(out->text) : 0;
    call *k = p.type == AG_ACTION_SEND || p.type == AG_ACTION_SIGN ? ag_call_find(c, p.id) : NULL;
    if (p.type == AG_ACTION_SIGN && (!k || !k->signing)) { /* cancelled: nothing to sign */
      ag_actions_clear_current(c);
      continue;
    }
    if (p.type != AG_ACTION_SEND) return 1;
    if (!k || !k->in_flight) { /* cancelled before it was drained */
      ag_actions_clear_current(c);
      continue;
    }
    if (needs_bearer(k) && !c->bearer) {
      c->current_text = ag_explain_rejection(c, k, AG_CODE_NO_TOKEN, no_bearer);
      ag_call_free(c, k);
      out->type = AG_ACTION_REJECT;
      out->code = AG_CODE_NO_TOKEN;
      out->text = c->current_text ? c->current_text : no_bearer_fixed;
      out->text_len = (uint32_t)strlen(out->text);
      return 1;
    }
    fill_send(c, k, out);
    return 1;
  }
  return 0;
}

void ag_actions_free_all(ag_client *c) {
  while (c->n_actions) {
    const pending *p = &c->actions[c->head_action];
    if (p->owned) ag_free_secret((char *)p->text);
    c->head_action = (c->head_action + 1) % c->cap_actions;
    c->n_actions--;
  }
  ag_free(c->actions);
  c->actions = NULL;
  c->cap_actions = 0;
  ag_actions_clear_current(c);
}
