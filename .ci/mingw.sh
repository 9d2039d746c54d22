#!/usr/bin/env bash
# Compiles every source of libgmm for Windows with mingw-w64 (objects only,
# -Werror): the Win32 side of util/thread.c (threads, SRW locks, condition
# variables) and everything that depends on the platform. Nothing is run.
#
# Needs (Debian package): gcc-mingw-w64-x86-64.
set -euo pipefail
cd "$(dirname "$0")/../libgmm"
CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
command -v "$CC" >/dev/null || { echo "$CC is not installed (apt-get install gcc-mingw-w64-x86-64)"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
for f in src/api/*.c src/core/*.c src/util/*.c src/simd/dispatch.c src/simd/cpu_x86.c \
  src/simd/kernels_scalar.c; do
  # %zu is C99; mingw's default printf checks predate it (-Wno-format)
  "$CC" -std=c11 -O1 -Wall -Wextra -Wno-unused-parameter -Wno-format -Werror -DLIBGMM_BUILDING \
    -Iinclude -Isrc -c "$f" -o "$out/$(basename "$f").o"
  n=$((n + 1))
done
echo "mingw: $n sources compiled with $CC"
