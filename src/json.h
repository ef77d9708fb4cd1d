/*
 * json.h — where cJSON's header lives: the system package natively
 * (libcjson-dev), the Debian source folder in the Emscripten build.
 */
#ifndef AUTHGATE_JSON_H
#define AUTHGATE_JSON_H
#ifdef __EMSCRIPTEN__
#include "cJSON.h"
#else
#include <cjson/cJSON.h>
#endif
#endif
