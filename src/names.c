/*
 * names.c — the static names of the core's enums: errors, rejection codes
 * (they match AuthGateError.code), states and credentials modes.
 */
#include "client.h"

#include <string.h>

const char *ag_strerror(int err) {
  switch (err) {
  case AG_OK:
    return "ok";
  case AG_ERR_NOMEM:
    return "out of memory";
  case AG_ERR_BAD_CONFIG:
    return "bad options";
  case AG_ERR_BAD_TOKENS:
    return "unusable token response";
  case AG_ERR_BAD_BLOB:
    return "malformed stored or broadcast tokens";
  case AG_ERR_STALE:
    return "older than the tokens held";
  case AG_ERR_BAD_URL:
    return "invalid URL";
  case AG_ERR_INVALID:
    return "invalid argument";
  case AG_ERR_TOO_LARGE:
    return "input too large";
  default:
    return "unknown error";
  }
}

static const char *const code_names[] = {"",
                                         "NO_TOKEN",
                                         "SESSION_EXPIRED",
                                         "FOREIGN_ORIGIN",
                                         "READY_TIMEOUT",
                                         "CORS_OR_NETWORK",
                                         "REFRESH_FAILED",
                                         "BAD_CONFIG",
                                         "BAD_TOKEN_RESPONSE",
                                         "LOGIN_FAILED",
                                         "LOGIN_REQUIRED",
                                         "TIMEOUT",
                                         "PROVIDER_ERROR",
                                         "OUT_OF_MEMORY"};

const char *ag_code_name(int code) {
  if (code < 0 || code >= (int)(sizeof code_names / sizeof *code_names)) return "";
  return code_names[code];
}

const char *ag_state_name(int state) {
  static const char *const names[] = {"initializing", "authenticated", "anonymous", "refreshing"};
  return state >= 0 && state <= 3 ? names[state] : "initializing";
}

const char *ag_credentials_name(int mode) {
  static const char *const names[] = {"default", "omit", "same-origin", "include"};
  return mode >= 0 && mode <= 3 ? names[mode] : "default";
}
