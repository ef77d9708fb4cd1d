/*
 * fuzz_oidc_common.h — the fixed OpenID setup the oidc fuzz targets share:
 * options with an oidc object, parsed the way ag_client_new parses them.
 */
#ifndef AUTHGATE_FUZZ_OIDC_COMMON_H
#define AUTHGATE_FUZZ_OIDC_COMMON_H

#include "fuzz_common.h"
#include "oidc.h"

#define FUZZ_ISSUER "https://id.example"

static const char fuzz_oidc_options[] =
    "{\"baseUrl\":\"http://api.test\",\"oidc\":{\"issuer\":\"" FUZZ_ISSUER "\","
    "\"clientId\":\"spa\",\"redirectUri\":\"/callback\"}}";

static inline void fuzz_oidc_config(ag_config *cfg) {
  static const char page[] = "http://app.test";
  if (ag_config_parse(cfg, fuzz_oidc_options, sizeof fuzz_oidc_options - 1, page, sizeof page - 1,
                      NULL, 0) != AG_OK)
    FUZZ_FAIL("the fixed options must parse");
}

/* A refusal is one of the codes a check may give, with a message. */
static inline void fuzz_check_refusal(int rc, char *msg) {
  FUZZ_CHECK(rc == AG_CODE_PROVIDER_ERROR || rc == AG_CODE_LOGIN_REQUIRED ||
             rc == AG_CODE_BAD_TOKEN_RESPONSE);
  FUZZ_CHECK(msg != NULL && msg[0] != '\0');
  ag_free(msg);
}

#endif
