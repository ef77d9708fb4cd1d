/*
 * native_bench.c — the core's own cost, counted in instructions by
 * valgrind --tool=callgrind (repeatable on a noisy machine; run.mjs reads the
 * inclusive cost of each bench_* function and divides by the calls it made).
 *
 *   bench_sequential   call → SEND → response 200 → RESOLVE, one call in flight (as gate.fetch in a loop)
 *   bench_calls        n calls planned back to back (n in flight)
 *   bench_responses    the n responses for them
 *   bench_storm        n calls while the token is expired: one refresh, its response, n SENDs, n responses
 *
 * Usage: native_bench [n]   (default 10000). Prints what it did; exits 1 if the core misbehaves.
 */
#include "authgate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTIONS                                                                                    \
  "{\"baseUrl\":\"https://api.example\",\"public\":[\"/auth/\"],"                                  \
  "\"refresh\":{\"url\":\"/auth/refresh\"},\"crossTab\":false}"
#define PAGE "https://app.example"
#define TOKENS "{\"access\":\"acc.1\",\"refresh\":\"ref.1\",\"expiresIn\":3600}"
#define REFRESHED "{\"access_token\":\"acc.2\",\"refresh_token\":\"ref.2\",\"expires_in\":3600}"
#define URL "/api/data?page=1"

static ag_ms now = 1.7e12;

typedef struct tally {
  long send_call, send_own, resolve, reject, other;
  uint32_t last_own; /* id of the last login/refresh SEND */
} tally;

static void drain(ag_client *c, tally *t) {
  ag_action a;
  while (ag_client_next_action(c, &a)) {
    switch (a.type) {
    case AG_ACTION_SEND:
      if (a.code == AG_SEND_CALL) {
        t->send_call++;
      } else {
        t->send_own++;
        t->last_own = a.id;
      }
      break;
    case AG_ACTION_RESOLVE:
      t->resolve++;
      break;
    case AG_ACTION_REJECT:
      t->reject++;
      break;
    default:
      t->other++;
      break;
    }
  }
}

static ag_client *open_client(tally *t) {
  ag_client *c = NULL;
  char err[256];
  if (ag_client_new(&c, OPTIONS, strlen(OPTIONS), PAGE, strlen(PAGE), err, sizeof err) != AG_OK) {
    fprintf(stderr, "native_bench: ag_client_new: %s\n", err);
    exit(1);
  }
  if (ag_client_start(c, now, NULL, 0) != AG_OK ||
      ag_client_set_tokens(c, now, TOKENS, strlen(TOKENS)) != AG_OK) {
    fprintf(stderr, "native_bench: could not start the client\n");
    exit(1);
  }
  drain(c, t);
  return c;
}

static uint32_t call(ag_client *c) {
  uint32_t id = 0;
  if (ag_client_call(c, now, "GET", 3, URL, strlen(URL), NULL, 0, AG_CRED_UNSET, &id) != AG_OK) {
    fprintf(stderr, "native_bench: ag_client_call failed\n");
    exit(1);
  }
  return id;
}

__attribute__((noinline)) void bench_sequential(ag_client *c, tally *t, long n) {
  for (long i = 0; i < n; i++) {
    uint32_t id = call(c);
    drain(c, t);
    ag_client_response(c, now, id, 200, NULL, 0);
    drain(c, t);
  }
}

__attribute__((noinline)) void bench_calls(ag_client *c, tally *t, uint32_t *ids, long n) {
  for (long i = 0; i < n; i++) {
    ids[i] = call(c);
    drain(c, t);
  }
}

__attribute__((noinline)) void bench_responses(ag_client *c, tally *t, const uint32_t *ids,
                                               long n) {
  for (long i = 0; i < n; i++) {
    ag_client_response(c, now, ids[i], 200, NULL, 0);
    drain(c, t);
  }
}

__attribute__((noinline)) void bench_storm(ag_client *c, tally *t, uint32_t *ids, long n) {
  now += 2.0 * 3600 * 1000; /* the access token has expired */
  for (long i = 0; i < n; i++) {
    ids[i] = call(c);
    drain(c, t);
  }
  ag_client_response(c, now, t->last_own, 200, REFRESHED, strlen(REFRESHED));
  drain(c, t);
  for (long i = 0; i < n; i++) {
    ag_client_response(c, now, ids[i], 200, NULL, 0);
    drain(c, t);
  }
}

static int check(const char *what, const tally *t, long sends, long own, long resolves) {
  int ok = t->send_call == sends && t->send_own == own && t->resolve == resolves && t->reject == 0;
  printf("%-11s SEND(call)=%ld SEND(refresh)=%ld RESOLVE=%ld REJECT=%ld %s\n", what, t->send_call,
         t->send_own, t->resolve, t->reject, ok ? "ok" : "UNEXPECTED");
  return ok;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000;
  if (n <= 0) n = 10000;
  uint32_t *ids = calloc((size_t)n, sizeof *ids);
  if (!ids) return 1;
  int ok = 1;

  tally seq = {0};
  ag_client *c = open_client(&seq);
  seq = (tally){0};
  bench_sequential(c, &seq, n);
  ok &= check("sequential", &seq, n, 0, n);
  ag_client_free(c);

  tally batch = {0};
  c = open_client(&batch);
  batch = (tally){0};
  bench_calls(c, &batch, ids, n);
  bench_responses(c, &batch, ids, n);
  ok &= check("batch", &batch, n, 0, n);
  ag_client_free(c);

  tally storm = {0};
  c = open_client(&storm);
  storm = (tally){0};
  bench_storm(c, &storm, ids, n);
  ok &= check("storm", &storm, n, 1, n);
  ag_client_free(c);

  free(ids);
  printf("n=%ld live_allocations=%ld\n", n, ag_live_allocations());
  return ok ? 0 : 1;
}
