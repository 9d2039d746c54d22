#!/usr/bin/env bash
# Cross build for aarch64 (64-bit ARM Linux) with nothing but the cross
# compiler and qemu-user, and the C tests run under qemu:
#   1. configure with libgmm/cmake/toolchains/aarch64-linux-gnu.cmake, build;
#   2. the SIMD level the library picks under qemu (must be neon), and the
#      GMM_SIMD environment variable on ARM (scalar caps it, an x86 name is
#      ignored);
#   3. ctest under qemu (CMAKE_CROSSCOMPILING_EMULATOR): every unit test
#      (kernels_neon must run, not skip) and install_consumers (the installed
#      library used by C consumers);
#   4. bench_kernels under qemu, NEON against scalar, "for what it is worth":
#      qemu translates each NEON instruction into host code, so the ratio says
#      that the NEON path runs, not how fast it is on ARM hardware.
#
#   test_kernels runs in full (1e6-point exp sweeps against expl, which is
#   software IEEE quad on aarch64: about 75 s of CPU under qemu, more on a
#   busy machine); GMM_TEST_QUICK=1 selects its reduced size set and 2e4-point
#   sweeps (still every tail of every vector width), about 6 s.
#
# Needs (Debian packages): gcc-aarch64-linux-gnu libc6-dev-arm64-cross
#   qemu-user-static cmake ninja-build pkg-config.
# Environment: CROSS_BUILD_DIR (default /tmp/libgmm-cross-aarch64),
#   GMM_TEST_QUICK (default 0), CROSS_BENCH_N (bench points, default 3000).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${CROSS_BUILD_DIR:-/tmp/libgmm-cross-aarch64}
TOOLCHAIN=$PWD/libgmm/cmake/toolchains/aarch64-linux-gnu.cmake
t0=$(date +%s)
step() { echo; echo "::: cross-aarch64: $* ($(( $(date +%s) - t0 )) s)"; }

for tool in aarch64-linux-gnu-gcc cmake ninja; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed"; exit 1; }
done
command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null ||
  { echo "qemu-aarch64(-static) is not installed (apt-get install qemu-user-static)"; exit 1; }

step "configure and build in $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGMM_BUILD_TESTS=ON \
  --toolchain "$TOOLCHAIN" | grep -E "SIMD levels|GMM_MATH|Build files" || true
cmake --build "$BUILD" -j2
# The emulator command exactly as ctest uses it (from the toolchain file).
qemu=$(sed -n 's/^GMM_QEMU_AARCH64:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
prefix=$(sed -n 's/^GMM_QEMU_LD_PREFIX:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
[ -n "$qemu" ] || { echo "the toolchain file found no qemu-aarch64"; exit 1; }
emulate() { if [ -n "$prefix" ]; then "$qemu" -L "$prefix" "$@"; else "$qemu" "$@"; fi; }
aarch64-linux-gnu-readelf -h "$BUILD/libgmm/libgmm.so.1" | grep -E "Class|Machine"

step "SIMD level under qemu"
lib=$(dirname "$(find "$BUILD/libgmm" -maxdepth 1 -name 'libgmm.so.*' | head -n 1)")
cat >"$BUILD/simd_level.c" <<'EOF'
#include <stdio.h>
#include <vl/libgmm.h>
int main(void)
{
  int level = vl_get_simd_level(), best = vl_get_simd_max_level();
  printf("%s %s\n", vl_get_simd_level_name(level), vl_get_simd_level_name(best));
  return 0;
}
EOF
aarch64-linux-gnu-gcc -std=c11 -Wall -Wextra -Werror -Ilibgmm/include "$BUILD/simd_level.c" \
  -o "$BUILD/simd_level" -L"$lib" -lgmm -Wl,-rpath,"$lib"
check_level() { # GMM_SIMD value ("" for unset), expected level in use
  got=$(GMM_SIMD=$1 emulate "$BUILD/simd_level")
  echo "GMM_SIMD=${1:-(unset)}: level in use ${got% *}, best available ${got#* }"
  [ "${got% *}" = "$2" ] || { echo "FAILED: expected $2"; exit 1; }
}
check_level "" neon
check_level scalar scalar
check_level avx2 neon      # an x86 level on ARM: ignored
check_level neon neon

step "ctest under qemu"
GMM_TEST_QUICK=${GMM_TEST_QUICK:-0} ctest --test-dir "$BUILD" --output-on-failure -j2
echo "test_kernels, per level (one ctest case each):"
grep -E "^(level [0-9]|  neon )" "$BUILD/Testing/Temporary/LastTest.log"
grep -q "^level 4 (neon): ok" "$BUILD/Testing/Temporary/LastTest.log" ||
  { echo "FAILED: kernels_neon did not run the NEON kernels"; exit 1; }

step "bench_kernels under qemu (for what it is worth: emulated timing)"
N=${CROSS_BENCH_N:-3000}
emulate "$BUILD/libgmm/tests/bench_kernels" "$N" 2 | tee "$BUILD/bench.txt"
awk '
  $1 == "level" { lse = ($2 == "kernel") }
  !lse && ($1 == "scalar" || $1 == "neon") && $3 ~ /^[0-9.]+$/ { w[$1, $2] = $3; l[$1, $2] = $4 }
  lse && ($1 == "scalar" || $1 == "neon") && $3 ~ /^[0-9.]+$/ { t[$1, $2] = $3 }
  END {
    printf "NEON vs scalar under qemu:";
    for (d = 64; d <= 128; d *= 2)
      if (w["scalar", d] > 0)
        printf " wdist_f D=%d x%.1f, l2dist_f D=%d x%.1f;", d, w["neon", d] / w["scalar", d], d, l["neon", d] / l["scalar", d];
    if (t["neon", "lse_f"] > 0) printf " lse_f x%.1f,", t["scalar", "lse_f"] / t["neon", "lse_f"];
    if (t["neon", "lse_d"] > 0) printf " lse_d x%.1f", t["scalar", "lse_d"] / t["neon", "lse_d"];
    printf "\n";
  }' "$BUILD/bench.txt"

step "done"
