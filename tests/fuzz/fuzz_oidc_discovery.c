/*
 * fuzz_oidc_discovery.c — ag_oidc_discovery_parse on the input as the
 * discovery document, then, when it is accepted, an authorization request
 * and an end-session URL built from it.
 *
 * Invariants: an accepted document has an authorization and a token
 * endpoint, every endpoint kept is https or http on a loopback host, and
 * the authorization URL starts with the authorization endpoint; a refused
 * one is PROVIDER_ERROR with a message and nothing kept; nothing leaks.
 */
#include "fuzz_oidc_common.h"

static void check_endpoint(const char *e, bool required) {
  if (!e) {
    FUZZ_CHECK(!required);
    return;
  }
  ag_url u;
  FUZZ_CHECK(ag_url_parse(&u, e, strlen(e)) == AG_OK);
  FUZZ_CHECK(!strcmp(u.scheme, "https") || ag_oidc_is_loopback(u.host));
  FUZZ_CHECK(u.fragment == NULL);
  ag_url_free(&u);
}

static void use_provider(const ag_config *cfg, const ag_oidc_provider *p) {
  unsigned char random[AG_OIDC_RANDOM_BYTES] = {0};
  char *url, *txn, *msg;
  FUZZ_CHECK(ag_oidc_authorize(cfg->oidc, p, random, sizeof random, NULL, 0, NULL, 0, FUZZ_T0, &url,
                               &txn, &msg) == AG_OK);
  FUZZ_CHECK(!strncmp(url, p->authorization_endpoint, strlen(p->authorization_endpoint)));
  ag_free(url);
  ag_free(txn);
  char *end = ag_oidc_end_session_url(cfg->oidc, p, "h.p.s");
  FUZZ_CHECK((end != NULL) == (p->end_session_endpoint != NULL));
  ag_free(end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live = ag_live_allocations();
  ag_config cfg;
  fuzz_oidc_config(&cfg);
  ag_oidc_provider p;
  char *msg = NULL;
  int rc = ag_oidc_discovery_parse(&p, cfg.oidc, (const char *)data, size, &msg);
  if (rc == AG_OK) {
    FUZZ_CHECK(msg == NULL);
    check_endpoint(p.authorization_endpoint, true);
    check_endpoint(p.token_endpoint, true);
    check_endpoint(p.end_session_endpoint, false);
    check_endpoint(p.revocation_endpoint, false);
    use_provider(&cfg, &p);
    ag_oidc_provider_free(&p);
  } else {
    FUZZ_CHECK(rc == AG_CODE_PROVIDER_ERROR);
    FUZZ_CHECK(!p.authorization_endpoint && !p.token_endpoint && !p.end_session_endpoint &&
               !p.revocation_endpoint);
    fuzz_check_refusal(rc, msg);
  }
  ag_config_free(&cfg);
  FUZZ_CHECK(ag_live_allocations() == live);
  return 0;
}
