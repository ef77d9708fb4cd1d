/*
 * no_oidc.c — the OpenID Connect and DPoP hooks for the wasm core that ships
 * without them (authgate-core.wasm). A gate without `oidc` never reaches
 * them: the shim loads authgate-core-oidc.wasm, built from src/oidc*.c and
 * src/dpop*.c instead of this file, for a gate that has `oidc`. Here they
 * say "none": no OpenID options, no provider requests, nothing to sign, and
 * the OpenID entry points refuse. Keeping them out is a third of the module.
 */
#include "client.h"
#include "dpop.h"
#include "oidc.h"

#include <cjson/cJSON.h>

int ag_oidc_options_parse(ag_oidc_options **out, const cJSON *root, const ag_url *page,
                          const char **why) {
  (void)page;
  *out = NULL;
  *why = NULL;
  if (!cJSON_GetObjectItemCaseSensitive(root, "oidc")) return AG_OK;
  *why = "oidc needs the OpenID build of the core (authgate-core-oidc.wasm), which the gate "
         "loads itself when options.oidc is set";
  return AG_ERR_BAD_CONFIG;
}

void ag_oidc_options_free(ag_oidc_options *o) { (void)o; }
int ag_oidc_flow_new(ag_client *c) { return (void)c, AG_OK; }
void ag_oidc_flow_free(ag_client *c) { (void)c; }
void ag_oidc_start(ag_client *c, ag_ms now) { (void)c, (void)now; }
void ag_oidc_tick(ag_client *c, ag_ms now) { (void)c, (void)now; }
ag_ms ag_oidc_deadline(const ag_client *c) { return (void)c, 0; }
bool ag_oidc_owns(int kind) { return (void)kind, false; }
void ag_oidc_response(ag_client *c, call *k, ag_ms now, int status, const char *body, size_t len) {
  (void)c, (void)k, (void)now, (void)status, (void)body, (void)len;
}
void ag_oidc_network_error(ag_client *c, call *k, ag_ms now) { (void)c, (void)k, (void)now; }
int ag_oidc_refresh_request(ag_client *c, call *k) { return (void)c, (void)k, AG_ERR_INVALID; }
void ag_oidc_refresh_wait(ag_client *c, ag_ms now) { (void)c, (void)now; }
int ag_oidc_refresh_answer(ag_client *c, ag_tokens *t, const char *body, size_t len, ag_ms now,
                           char **msg) {
  (void)c, (void)t, (void)body, (void)len, (void)now;
  *msg = NULL;
  return AG_ERR_INVALID;
}
char *ag_oidc_refresh_refusal(int status, const char *body, size_t len, bool *invalid_grant) {
  (void)status, (void)body, (void)len;
  *invalid_grant = false;
  return NULL;
}

int ag_dpop_flow_new(ag_client *c) { return (void)c, AG_OK; }
void ag_dpop_flow_free(ag_client *c) { (void)c; }
void ag_dpop_forget_key(ag_client *c) { (void)c; }
bool ag_dpop_nonce_retry(ag_client *c, call *k, int status, const char *body, size_t len) {
  return (void)c, (void)k, (void)status, (void)body, (void)len, false;
}
bool ag_dpop_sign_first(ag_client *c, call *k, ag_ms now) {
  return (void)c, (void)k, (void)now, false;
}

int ag_client_login_redirect(ag_client *client, ag_ms now, const unsigned char *random,
                             size_t random_len, const char *return_to, size_t return_to_len,
                             const char *params_json, size_t params_len, uint32_t *id_out) {
  (void)now, (void)return_to, (void)return_to_len, (void)params_json, (void)params_len;
  if (!client || !id_out || !random || random_len < AG_OIDC_RANDOM_BYTES) return AG_ERR_INVALID;
  return ag_refused_task(client, AG_CODE_BAD_CONFIG, AG_NEEDS_OIDC_LOGIN, id_out);
}
int ag_client_redirect_callback(ag_client *client, ag_ms now, const char *url, size_t url_len,
                                const char *transaction, size_t transaction_len, uint32_t *id_out) {
  (void)now, (void)transaction, (void)transaction_len;
  if (!client || !id_out || (!url && url_len)) return AG_ERR_INVALID;
  return ag_refused_task(client, AG_CODE_BAD_CONFIG, AG_NEEDS_OIDC_CALLBACK, id_out);
}
int ag_client_logout_redirect(ag_client *client, ag_ms now, int redirect, uint32_t *id_out) {
  (void)redirect;
  if (!client || !id_out) return AG_ERR_INVALID;
  return ag_logout_task(client, now, id_out);
}
int ag_client_dpop_key(ag_client *client, ag_ms now, const char *jwk, size_t jwk_len,
                       const unsigned char *seed, size_t seed_len) {
  (void)client, (void)now, (void)jwk, (void)jwk_len, (void)seed, (void)seed_len;
  return AG_ERR_INVALID;
}
int ag_client_dpop_signature(ag_client *client, ag_ms now, uint32_t id, const unsigned char *sig,
                             size_t sig_len) {
  (void)client, (void)now, (void)id, (void)sig, (void)sig_len;
  return AG_ERR_INVALID;
}
int ag_client_response_headers(ag_client *client, uint32_t id, const char *dpop_nonce,
                               size_t dpop_nonce_len, const char *www_authenticate,
                               size_t www_authenticate_len) {
  (void)client, (void)id, (void)dpop_nonce, (void)dpop_nonce_len, (void)www_authenticate;
  (void)www_authenticate_len;
  return AG_OK; /* nothing to take: no DPoP here */
}
int ag_client_dpop_proof(ag_client *client, ag_ms now, const char *method, size_t method_len,
                         const char *url, size_t url_len, uint32_t *id_out) {
  (void)now, (void)method, (void)method_len;
  if (!client || !id_out || (!url && url_len)) return AG_ERR_INVALID;
  return ag_refused_task(client, AG_CODE_BAD_CONFIG, AG_NEEDS_DPOP, id_out);
}
