#!/usr/bin/env bash
# Every C unit test (the ctest tests labelled "unit") of a normal
# (non-sanitized) RelWithDebInfo build, run under valgrind's memcheck:
#   valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
#            --child-silent-after-fork=yes
# Fails on any memcheck error, definite or indirect leak, or test failure.
#
#   GMM_SIMD=avx2       valgrind cannot run AVX-512 (it also hides it from cpuid)
#   GMM_TEST_QUICK=1    test_kernels runs a reduced size set (its full run
#                       takes ~7 minutes under valgrind, the quick one ~10 s)
#   --child-silent-after-fork=yes
#                       test_threads forks while another thread is inside
#                       libgmm: in the child that thread's blocks are
#                       unreachable (the thread does not exist there), which
#                       memcheck would report as leaks of the child; the
#                       children are checked by the ASan and TSan runs
#   OMP_NUM_THREADS=2   two threads (libgmm's default honours it): the
#                       thread pool's code paths are checked too (its idle
#                       workers spin only briefly before they sleep)
#
# Needs (Debian packages): valgrind gcc cmake ninja-build python3 (reads
#   ctest's JSON test list).
# Environment: VALGRIND_BUILD_DIR (default /tmp/libgmm-valgrind-build),
#   VALGRIND_JOBS (tests run in parallel, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VALGRIND_BUILD_DIR:-/tmp/libgmm-valgrind-build}
JOBS=${VALGRIND_JOBS:-2}
LOGS="$BUILD/valgrind-logs"
t0=$(date +%s)

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }

echo "::: valgrind: build (RelWithDebInfo, no sanitizer) in $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGMM_BUILD_TESTS=ON \
  -DGMM_SANITIZE= >/dev/null
cmake --build "$BUILD" -j2
t_build=$(( $(date +%s) - t0 ))

# name <TAB> working directory <TAB> command (shell-quoted), one unit test a line
tests=$(ctest --test-dir "$BUILD" -N -L unit --show-only=json-v1 | python3 -c '
import json, shlex, sys
for t in json.load(sys.stdin)["tests"]:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    print(t["name"], props.get("WORKING_DIRECTORY", "."), shlex.join(t["command"]), sep="\t")
')
[ -n "$tests" ] || { echo "no unit tests found in $BUILD"; exit 1; }

rm -rf "$LOGS"
mkdir -p "$LOGS"
export GMM_SIMD=avx2 GMM_TEST_QUICK=1 OMP_NUM_THREADS=2

run_one() { # name dir command: writes $LOGS/name.log, .rc and .sec; always returns 0
  local name=$1 dir=$2 cmd=$3 s rc=0
  s=$(date +%s)
  (cd "$dir" && eval "exec valgrind --error-exitcode=1 --leak-check=full \
     --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes --num-callers=30 $cmd") \
    >"$LOGS/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$LOGS/$name.rc"
  echo $(( $(date +%s) - s )) >"$LOGS/$name.sec"
}

echo "::: valgrind: $(printf '%s\n' "$tests" | wc -l) unit tests, $JOBS at a time"
t1=$(date +%s)
while IFS=$'\t' read -r name dir cmd; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  echo "  start $name"
  run_one "$name" "$dir" "$cmd" &
done <<<"$tests"
wait
t_tests=$(( $(date +%s) - t1 ))

echo
echo "::: valgrind summary"
failed=0 passed=0 skipped=0
while IFS=$'\t' read -r name dir cmd; do
  rc=$(cat "$LOGS/$name.rc")
  sec=$(cat "$LOGS/$name.sec")
  # memcheck's own lines start with ==PID==; errors make the ERROR SUMMARY non-zero
  verrs=$(grep -E "^==[0-9]+== ERROR SUMMARY: [1-9]" "$LOGS/$name.log" | head -1 || true)
  if [ "$rc" = 0 ] && [ -z "$verrs" ]; then
    status=ok
    passed=$((passed + 1))
  elif [ "$rc" = 77 ] && [ -z "$verrs" ]; then
    status=skipped
    skipped=$((skipped + 1))
  else
    status="FAILED (exit $rc)${verrs:+ ${verrs#*== }}"
    failed=$((failed + 1))
  fi
  printf '  %-16s %4s s  %s\n' "$name" "$sec" "$status"
  if [ "$status" != ok ] && [ "$status" != skipped ]; then
    echo "  ----- $LOGS/$name.log (memcheck lines and the end)"
    grep -E "^==[0-9]+==" "$LOGS/$name.log" | head -80 || true
    tail -20 "$LOGS/$name.log"
  fi
done <<<"$tests"
echo "build: ${t_build} s, tests: ${t_tests} s, total: $(( $(date +%s) - t0 )) s"
echo "valgrind: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || exit 1
