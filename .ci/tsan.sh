#!/usr/bin/env bash
# ThreadSanitizer run of libgmm's C tests: the library and the tests built
# with -DGMM_SANITIZE=thread (gcc, whose libtsan also links into the shared
# library) in their own build directory, then every
# unit test. The thread pool (core/sched.c), the batch encoders' shared
# state, the offsets races and fork() after use are all exercised by
# test_threads, test_races and the encoders' multi-thread tests.
#
#   GMM_TEST_QUICK=1        the kernel tests' reduced size set (they are
#                           single-threaded; TSan only slows them down)
#   TSAN_OPTIONS            halt_on_error=1: any data race fails the test
#                           (but the deliberate one of test_races.c,
#                           .ci/tsan.supp);
#                           die_after_fork=0: the children of test_threads
#                           start threads after fork(), which is what is
#                           tested (the pool is reset in the child)
#
# Needs (Debian packages): gcc (libtsan) cmake ninja-build.
# Environment: TSAN_BUILD_DIR (default /tmp/libgmm-tsan-build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TSAN_BUILD_DIR:-/tmp/libgmm-tsan-build}
t0=$(date +%s)

[ -e "$(gcc -print-file-name=libtsan.so)" ] || { echo "gcc's libtsan is not installed"; exit 1; }

echo "::: tsan: build (gcc, -DGMM_SANITIZE=thread) in $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGMM_BUILD_TESTS=ON -DGMM_SANITIZE=thread >/dev/null
cmake --build "$BUILD" -j2
t_build=$(( $(date +%s) - t0 ))

echo "::: tsan: C unit tests"
rc=0
# allocator_may_return_null=1: some tests ask libgmm for absurd sizes (as in
# .ci/sanitize.sh); libgmm must get NULL back and report an error code.
GMM_TEST_QUICK=1 OMP_NUM_THREADS=2 \
TSAN_OPTIONS="halt_on_error=1:die_after_fork=0:second_deadlock_stack=1:allocator_may_return_null=1:suppressions=$PWD/.ci/tsan.supp" \
  ctest --test-dir "$BUILD" -L unit --output-on-failure -j2 || rc=$?
echo "build: ${t_build} s, total: $(( $(date +%s) - t0 )) s"
if [ "$rc" != 0 ]; then
  echo "tsan: FAILED"
  exit 1
fi
echo "tsan: OK"
