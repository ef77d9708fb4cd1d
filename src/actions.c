/*
 * actions.c — the action ring: what the embedder must do, queued in order
 * by the state machine and drained one at a time by ag_client_next_action.
 * A drained action's text stays valid until the next drain.
 */
#include "client.h"

#include <string.h>

void ag_action_push(ag_client *c, int type, uint32_t id, int code, char *text) {
  if (c->n_actions == c->cap_actions) {
    size_t cap = c->cap_actions ? c->cap_actions * 2 : 16;
    pending *grown = ag_calloc(cap, sizeof *grown);
    if (!grown) {
      /* Out of memory while emitting: remember it; the entry point reports NOMEM. */
      c->oom = true;
      ag_free_secret(text);
      return;
    }
    for (size_t i = 0; i < c->n_actions; i++)
      grown[i] = c->actions[(c->head_action + i) % c->cap_actions];
    ag_free(c->actions);
    c->actions = grown;
    c->cap_actions = cap;
    c->head_action = 0;
  }
  pending *p = &c->actions[(c->head_action + c->n_actions) % c->cap_actions];
  p->type = type;
  p->id = id;
  p->code = code;
  p->text = text;
  c->n_actions++;
}

void ag_emit_reject(ag_client *c, uint32_t id, int code, char *message) {
  if (!message) c->oom = true;
  ag_action_push(c, AG_ACTION_REJECT, id, code, message);
}

void ag_emit(ag_client *c, int type) { ag_action_push(c, type, 0, 0, NULL); }

void ag_actions_clear_current(ag_client *c) {
  ag_free_secret(c->current_text);
  c->current_text = NULL;
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
    c->current_text = p.text;
    out->text = p.text;
    out->text_len = p.text ? (uint32_t)strlen(p.text) : 0;
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
    out->credentials = k->credentials;
    out->replay = k->replay;
    out->method = k->method;
    out->url = k->url;
    out->body = k->body;
    out->body_len = k->body ? (uint32_t)k->body_len : 0;
    out->content_type = k->content_type;
    if (k->kind == AG_SEND_CALL && k->route == AG_ROUTE_PROTECTED && !k->own_auth)
      out->authorization = k->dpop_auth ? k->dpop_auth : c->bearer;
    out->dpop = k->proof;
    return 1;
  }
  return 0;
}

void ag_actions_free_all(ag_client *c) {
  while (c->n_actions) {
    ag_free_secret(c->actions[c->head_action].text);
    c->head_action = (c->head_action + 1) % c->cap_actions;
    c->n_actions--;
  }
  ag_free(c->actions);
  c->actions = NULL;
  c->cap_actions = 0;
  ag_actions_clear_current(c);
}
