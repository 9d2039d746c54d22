#!/usr/bin/env bash
# libgmm for macOS, built from Linux with zig cc (libgmm/cmake/toolchains/
# zig.cmake with a macOS target: zig ships the SDK's headers and libSystem's
# link stubs) for x86_64 (macOS 10.13) and arm64 (macOS 11.0), the library and
# the C tests, -Werror. Nothing can run here: this checks that every source
# compiles against Darwin's headers (nothing Linux-only unguarded, no API
# newer than the deployment target) and that the dylib is what
# libgmm/CMakeLists.txt asks for: install name @rpath/libgmm.<ABI>.dylib,
# compatibility version <ABI>.0.0, only libSystem linked, exactly the
# functions of abi/symbols.txt exported (plus the two header symbols zig's
# linker adds), the SIMD kernels present (AVX2 FMA and AVX-512 on x86_64,
# NEON on arm64). Not checked: the current version (zig's linker writes
# 1.0.0 whatever -current_version says), running anything.
#
# Needs: python3 with ziglang (pip install ziglang) or zig on PATH, cmake,
#   ninja, llvm-objdump and llvm-nm (Debian package llvm).
# Environment: MACOS_BUILD_DIR (default /tmp/libgmm-macos), GMM_ZIG.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${MACOS_BUILD_DIR:-/tmp/libgmm-macos}
t0=$(date +%s)
step() { echo; echo "::: macos-zig: $* ($(( $(date +%s) - t0 )) s)"; }
fail() { echo "macos-zig: FAILED: $*" >&2; exit 1; }
for tool in cmake ninja llvm-objdump llvm-nm; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
ZIG=${GMM_ZIG:-$(command -v zig || python3 -c "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))")}
abi=$(sed -n 's/^#define LIBGMM_ABI_VERSION \([0-9][0-9]*\)$/\1/p' libgmm/include/vl/libgmm.h)
mkdir -p "$BUILD"
grep '^[A-Za-z_]' libgmm/abi/symbols.txt | sort -u >"$BUILD/expected.txt"

for target in x86_64-macos.10.13 aarch64-macos.11.0; do
  b=$BUILD-${target%%-*}
  step "$target: configure and build in $b (-Werror)"
  rm -rf "$b"
  cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGMM_BUILD_TESTS=ON -DCMAKE_C_FLAGS=-Werror \
    --toolchain libgmm/cmake/toolchains/zig.cmake -DGMM_ZIG="$ZIG" -DGMM_ZIG_TARGET="$target" |
    grep -E "SIMD levels|Build files" || true
  cmake --build "$b" -j2 >/dev/null
  lib=$b/libgmm/libgmm.$abi.dylib
  [ -f "$lib" ] || fail "no $lib"
  step "$target: the dylib"
  llvm-objdump --macho --private-headers "$lib" >"$b/headers.txt"
  grep -E '^ +cputype|^ +cmd LC_(BUILD_VERSION|VERSION_MIN)' "$b/headers.txt" | head -n 3 || true
  id=$(llvm-objdump --macho --dylib-id "$lib" | tail -n 1)
  [ "$id" = "@rpath/libgmm.$abi.dylib" ] || fail "install name '$id', expected @rpath/libgmm.$abi.dylib"
  echo "install name: $id"
  compat=$(grep -A5 'cmd LC_ID_DYLIB' "$b/headers.txt" | sed -n 's/^compatibility version //p')
  [ "$compat" = "$abi.0.0" ] || fail "compatibility version '$compat', expected $abi.0.0"
  echo "compatibility version: $compat"
  used=$(llvm-objdump --macho --dylibs-used "$lib" | tail -n +2 | awk '{print $1}' | grep -v "libgmm\.$abi\.dylib" || true)
  echo "links: $(echo $used)"
  [ "$used" = /usr/lib/libSystem.B.dylib ] || fail "the dylib links more than libSystem: $used"
  llvm-nm -gU "$lib" | awk '{print $3}' | sed 's/^_//' | grep -vxE '__dso_handle|_mh_dylib_header' |
    sort -u >"$b/exported.txt"
  diff "$BUILD/expected.txt" "$b/exported.txt" >&2 ||
    fail "the dylib does not export exactly libgmm/abi/symbols.txt (diff: expected, exported)"
  echo "exports: exactly libgmm/abi/symbols.txt ($(wc -l <"$b/exported.txt") functions)"
  llvm-objdump --macho -d --no-show-raw-insn "$lib" >"$b/disasm.txt"
  case $target in
    x86_64-*)
      fma=$(grep -cE 'vfmadd[0-9a-z]+[[:space:]]+.*%ymm' "$b/disasm.txt" || true)
      zmm=$(grep -c '%zmm' "$b/disasm.txt" || true)
      echo "SIMD code: $fma AVX2 FMA instructions, $zmm AVX-512 instructions"
      [ "$fma" -gt 0 ] && [ "$zmm" -gt 0 ] || fail "the AVX2 or AVX-512 kernels are missing" ;;
    *)
      fmla=$(grep -cE 'fml[as](\.(4s|2d))?[[:space:]]+v[0-9]+' "$b/disasm.txt" || true)  # Apple syntax: fmla.4s v0, ...
      echo "SIMD code: $fmla NEON fused multiply-add instructions"
      [ "$fmla" -gt 0 ] || fail "the NEON kernels are missing" ;;
  esac
done
step "done (built and inspected; nothing run)"
