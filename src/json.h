/*
 * json.h — cJSON's header: the source folder the build compiles (CMake puts
 * a forwarding cjson/cJSON.h on the include path), or the system package.
 */
#ifndef AUTHGATE_JSON_H
#define AUTHGATE_JSON_H
#include <cjson/cJSON.h>
#endif
