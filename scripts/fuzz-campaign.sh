#!/usr/bin/env bash
# A long fuzz campaign: every libFuzzer target for RUNS executions (default ten
# million), JOBS targets at a time, at the lowest CPU priority. This is how the
# figures in SECURITY.md are made; `make test` runs only the short smoke runs.
#
#   bash scripts/fuzz-campaign.sh                 # all targets, 10,000,000 runs each
#   RUNS=100000 bash scripts/fuzz-campaign.sh fuzz_url fuzz_jwt
#   MAX_SECONDS=3600 bash scripts/fuzz-campaign.sh fuzz_state_machine   # stop at an hour
#   SANITIZERS=undefined bash scripts/fuzz-campaign.sh                  # UBSan only, faster
#   TRACE_CMP=0 bash scripts/fuzz-campaign.sh fuzz_state_machine        # edge coverage only
#   FLAGS=-entropic=0 bash scripts/fuzz-campaign.sh                     # more libFuzzer flags
#
# The build is optimised (-O2) with ASan and UBSan, unlike `make fuzz-build`'s
# debug build, so the runs finish in hours rather than days. SANITIZERS=undefined
# drops ASan: the whole-client targets then run 1.5 to 2 times as many inputs a
# second, and at the end every target's merged corpus is replayed, input by
# input, on an ASan + UBSan build, so a memory error among the inputs kept is
# still caught (one found only by an input libFuzzer did not keep would not be).
# TRACE_CMP=0 drops libFuzzer's comparison tracing: the whole-client targets
# spend most of their time in it (4.5 times the inputs a second without it, on
# the state machine), so the long depth runs go without it once runs with it
# have built the corpus they start from (it guides mutations past magic values).
# FLAGS goes to every libFuzzer run: -entropic=0 (the plain schedule) doubles
# the DPoP flow target's rate, whose time went into the entropic bookkeeping.
#
# New inputs go to build-fuzz-campaign/corpus/<target>/; at the end each target's new inputs are
# merged into tests/fuzz/corpus/<target>/ with -merge=1, which keeps only those
# that add coverage. Logs: build-fuzz-campaign/<target>.log. A crash stops that
# target, leaves its input in build-fuzz-campaign/artifacts/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10000000}
MAX_SECONDS=${MAX_SECONDS:-0} # 0: no time limit
JOBS=${JOBS:-$(nproc)}
export FLAGS=${FLAGS:-}
OUT=${OUT:-build-fuzz-campaign}
SANITIZERS=${SANITIZERS:-address,undefined}
TRACE_CMP=${TRACE_CMP:-1}
if [ "$TRACE_CMP" = 0 ]; then CFLAGS_EXTRA=-fno-sanitize-coverage=trace-cmp; else CFLAGS_EXTRA=; fi
CJSON=${AUTHGATE_CJSON_SOURCE_DIR:-$PWD/.deps/cjson/source}

cmake -S . -B "$OUT" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAUTHGATE_FUZZ=ON -DAUTHGATE_FUZZ_SANITIZERS="$SANITIZERS" -DAUTHGATE_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="$CFLAGS_EXTRA" -DAUTHGATE_CJSON_SOURCE_DIR="$CJSON" >/dev/null
cmake --build "$OUT" --parallel "$JOBS" >/dev/null

if [ $# -gt 0 ]; then targets=("$@"); else
  # Slowest first (the whole client per input), so the long ones start at once.
  targets=(fuzz_state_machine fuzz_dpop_flow fuzz_message)
  for f in tests/fuzz/fuzz_*.c; do
    t=$(basename "$f" .c)
    case " ${targets[*]} " in *" $t "*) ;; *) targets+=("$t") ;; esac
  done
fi

mkdir -p "$OUT/artifacts"
run_one() {
  local t=$1 out=$2 runs=$3 seconds=$4
  mkdir -p "$out/corpus/$t"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n 19 "$out/$t" "$out/corpus/$t" "tests/fuzz/corpus/$t" -runs="$runs" -max_total_time="$seconds" -timeout=10 $FLAGS \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" >"$out/$t.log" 2>&1; then
    echo "$t: done"
  else
    echo "$t: FAILED (see $out/$t.log and $out/artifacts/)"
    return 1
  fi
}
export -f run_one
status=0
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ {} "$OUT" "$RUNS" "$MAX_SECONDS" || status=1

printf '\n%-22s %14s %10s %8s %8s\n' target executions 'exec/s' seeds kept
for t in "${targets[@]}"; do
  log="$OUT/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  before=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    "$OUT/$t" -merge=1 "tests/fuzz/corpus/$t" "$OUT/corpus/$t" >"$OUT/$t.merge.log" 2>&1
  fi
  after=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
  printf '%-22s %14s %10s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$before" "+$((after - before))"
done

if [ "$status" -eq 0 ] && [[ "$SANITIZERS" != *address* ]]; then
  # Every kept input once more, under ASan and UBSan (-runs=0: the corpus, no mutations).
  cmake -S . -B "$OUT-asan" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAUTHGATE_FUZZ=ON -DAUTHGATE_BUILD_TESTS=OFF -DCMAKE_C_FLAGS= -DAUTHGATE_CJSON_SOURCE_DIR="$CJSON" >/dev/null
  cmake --build "$OUT-asan" --parallel "$JOBS" >/dev/null
  for t in "${targets[@]}"; do
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$OUT-asan/$t" -runs=0 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$OUT/artifacts/$t-asan-" \
      "tests/fuzz/corpus/$t" >"$OUT/$t.replay.log" 2>&1; then
      echo "$t: corpus replayed under ASan + UBSan ($(find "tests/fuzz/corpus/$t" -type f | wc -l) inputs), clean"
    else
      echo "$t: REPLAY FAILED under ASan + UBSan (see $OUT/$t.replay.log)"
      status=1
    fi
  done
fi
exit "$status"
