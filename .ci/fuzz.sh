#!/usr/bin/env bash
# Coverage-guided fuzzing of libgmm's C API (libgmm/fuzz/fuzz_api.c) with
# libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer),
# for a bounded time, starting from the committed corpus libgmm/fuzz/corpus/.
# Fails on any crash, broken API invariant, leak, timeout, out-of-memory or
# sanitizer report; prints the number of executions.
#
# Needs (Debian packages): clang libclang-rt-dev (libFuzzer and the clang
#   sanitizer runtimes) llvm (llvm-symbolizer, for readable stack traces)
#   cmake ninja-build.
# Environment: FUZZ_SECONDS (default 60), FUZZ_BUILD_DIR (default
#   /tmp/libgmm-fuzz-build), FUZZ_TIMEOUT (seconds per input, default 20),
#   FUZZ_MERGE=1 (after the run, replace libgmm/fuzz/corpus/ by a -merge=1
#   -use_counters=0 minimisation of itself plus the new inputs: for
#   maintainers, it edits the repository).
# A failing input is left in $FUZZ_BUILD_DIR/run/artifacts/; replay it with
#   $FUZZ_BUILD_DIR/fuzz_api <file>     (FUZZ_API_TRACE=1 lists the calls)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD_DIR:-/tmp/libgmm-fuzz-build}
PER_INPUT=${FUZZ_TIMEOUT:-20}
CORPUS=libgmm/fuzz/corpus
WORK="$BUILD/run"
t0=$(date +%s)

command -v clang >/dev/null || { echo "clang is not installed (apt-get install clang libclang-rt-dev)"; exit 1; }

echo "::: fuzz: build (clang, -fsanitize=fuzzer,address,undefined) in $BUILD"
cmake -S libgmm/fuzz -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target fuzz_api
t_build=$(( $(date +%s) - t0 ))

rm -rf "$WORK"
mkdir -p "$WORK/new" "$WORK/artifacts"
sym=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
if [ -n "$sym" ]; then export ASAN_SYMBOLIZER_PATH="$sym"; fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "::: fuzz: $SECS s on $(find "$CORPUS" -type f | wc -l) corpus inputs"
log="$WORK/fuzz.log"
rc=0
# New inputs go to $WORK/new (the committed corpus is only read).
"$BUILD/fuzz_api" -max_total_time="$SECS" -timeout="$PER_INPUT" -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" "$WORK/new" "$CORPUS" \
  >"$log" 2>&1 || rc=$?
t_run=$(( $(date +%s) - t0 - t_build ))

stat() { grep -m1 "^stat::$1:" "$log" | awk '{print $2}'; }
execs=$(stat number_of_executed_units || true)
rate=$(stat average_exec_per_sec || true)
cov=$(grep -E "^#[0-9]+" "$log" | tail -1 | grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+" || true)
problems=$(grep -E "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|INVARIANT VIOLATED|Sanitizer: CHECK failed" "$log" || true)
artifacts=$(find "$WORK/artifacts" -type f)

if [ "$rc" != 0 ] || [ -n "$problems" ] || [ -n "$artifacts" ]; then
  echo "----- fuzzer output (last 80 lines of $log)"
  tail -80 "$log"
fi

if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$rc" = 0 ]; then
  echo "::: fuzz: merging the new inputs into $CORPUS (-merge=1)"
  merged="$WORK/merged"
  mkdir -p "$merged"
  # edges only (-use_counters=0): one input per new edge, not per new hit count
  "$BUILD/fuzz_api" -merge=1 -use_counters=0 "$merged" "$CORPUS" "$WORK/new" >"$WORK/merge.log" 2>&1
  rm -rf "$CORPUS"
  mkdir -p "$CORPUS"
  cp "$merged"/* "$CORPUS"/
  echo "corpus: $(find "$CORPUS" -type f | wc -l) files, $(du -sh "$CORPUS" | cut -f1)"
fi

echo
echo "::: fuzz summary"
echo "build:       ${t_build} s"
echo "fuzzing:     ${t_run} s (limit ${SECS} s)"
echo "executions:  ${execs:-?} total, ${rate:-?} exec/s"
echo "coverage:    ${cov:-?}"
echo "new inputs:  $(find "$WORK/new" -type f | wc -l) (in $WORK/new, not committed)"
if [ "$rc" != 0 ] || [ -n "$problems" ] || [ -n "$artifacts" ]; then
  echo "libFuzzer exit code: $rc"
  [ -z "$problems" ] || printf 'report: %s\n' "$problems" | head -5
  for a in $artifacts; do echo "failing input: $a  (replay: $BUILD/fuzz_api $a)"; done
  echo "fuzz: FAILED"
  exit 1
fi
echo "fuzz: OK"
