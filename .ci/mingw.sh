#!/usr/bin/env bash
# libgmm for Windows (x86-64) with mingw-w64, through CMake
# (libgmm/cmake/toolchains/mingw-w64-x86_64.cmake):
#   1. the DLL and the C tests, -Werror (the Win32 side of util/thread.c, the
#      format strings checked as mingw's C99 printf);
#   2. the DLL: its name (libgmm-<ABI>.dll), the DLLs it imports (only
#      KERNEL32.dll and msvcrt.dll), its exports (exactly
#      libgmm/abi/symbols.txt, from objdump -p);
#   3. the package layout of a wheel build (SKBUILD): pyvl/ holds the DLL and
#      a _libinfo.py that names it, with the name pyvl/_core/libname.py
#      expects on win32;
#   4. with wine: ctest (every unit test, thread pool included) and two
#      consumers linked against the DLL's import library (consumer.c,
#      examples/c/fisher_example.c).
#
# Needs (Debian packages): gcc-mingw-w64-x86-64 cmake ninja-build python3;
#   wine wine64 for step 4 (skipped, with a note, without wine unless
#   MINGW_REQUIRE_WINE=1).
# Environment: MINGW_BUILD_DIR (default /tmp/libgmm-mingw), WINEPREFIX
#   (default: a fresh one under the build directory), GMM_TEST_QUICK.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${MINGW_BUILD_DIR:-/tmp/libgmm-mingw}
TOOLCHAIN=$ROOT/libgmm/cmake/toolchains/mingw-w64-x86_64.cmake
PREFIX=x86_64-w64-mingw32
t0=$(date +%s)
step() { echo; echo "::: mingw: $* ($(( $(date +%s) - t0 )) s)"; }
fail() { echo "mingw: FAILED: $*" >&2; exit 1; }
for tool in $PREFIX-gcc $PREFIX-objdump cmake ninja python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install gcc-mingw-w64-x86-64 cmake ninja-build)"
done
abi=$(sed -n 's/^#define LIBGMM_ABI_VERSION \([0-9][0-9]*\)$/\1/p' libgmm/include/vl/libgmm.h)

step "configure and build in $BUILD (-Werror)"
rm -rf "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGMM_BUILD_TESTS=ON \
  -DCMAKE_C_FLAGS=-Werror --toolchain "$TOOLCHAIN" | grep -E "SIMD levels|Build files" || true
cmake --build "$BUILD" -j2

step "the DLL"
dll=$BUILD/libgmm/libgmm-$abi.dll
[ -f "$dll" ] || fail "no $dll (the DLL carries the ABI version in its name)"
[ -f "$BUILD/libgmm/libgmm.dll.a" ] || fail "no import library libgmm.dll.a"
$PREFIX-objdump -p "$dll" >"$BUILD/dll-headers.txt"
imports=$(sed -n 's/^\tDLL Name: //p' "$BUILD/dll-headers.txt" | sort -u)
echo "imports: $(echo $imports)"
for d in $imports; do
  case $d in
    KERNEL32.dll|msvcrt.dll|api-ms-win-crt-*.dll|ucrtbase.dll) ;;
    *) fail "the DLL needs $d (only Windows' own DLLs are expected)" ;;
  esac
done
# The export table: "[Ordinal/Name Pointer] Table" then "\t[   n] name" lines.
sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/s/^\t\[ *[0-9]*\] //p' "$BUILD/dll-headers.txt" |
  sort -u >"$BUILD/exported.txt"
grep '^[A-Za-z_]' libgmm/abi/symbols.txt | sort -u >"$BUILD/expected.txt"
diff "$BUILD/expected.txt" "$BUILD/exported.txt" >&2 ||
  fail "the DLL does not export exactly libgmm/abi/symbols.txt (diff: expected, exported)"
echo "exports: exactly libgmm/abi/symbols.txt ($(wc -l <"$BUILD/expected.txt") functions)"

step "the wheel's layout (SKBUILD install)"
sk=$BUILD-skbuild
rm -rf "$sk" "$sk-install"
cmake -S . -B "$sk" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSKBUILD=2 --toolchain "$TOOLCHAIN" >/dev/null
cmake --build "$sk" -j2 >/dev/null
cmake --install "$sk" --prefix "$sk-install" >/dev/null
(cd "$sk-install" && find . -type f | sort)
python3 - "$sk-install/pyvl" "$ROOT/pyvl/_core/libname.py" <<'EOF'
import ast, importlib.util, os, sys
folder, libname_path = sys.argv[1:]
spec = importlib.util.spec_from_file_location("libname", libname_path)  # no pyvl import: nothing loads
libname = importlib.util.module_from_spec(spec)
spec.loader.exec_module(libname)
info = {n.targets[0].id: ast.literal_eval(n.value)
        for n in ast.parse(open(os.path.join(folder, "_libinfo.py")).read()).body
        if isinstance(n, ast.Assign)}
names = libname.library_file_names("win32", info["ABI_VERSION"])
files = sorted(f for f in os.listdir(folder) if f != "_libinfo.py")
print(f"_libinfo.py: LIBRARY_FILE = {info['LIBRARY_FILE']!r}; libname on win32: {names}; pyvl/: {files}")
assert files == [info["LIBRARY_FILE"]], "pyvl/ must hold exactly the file _libinfo.py names"
assert info["LIBRARY_FILE"] == names[0], "CMake's DLL name is not the one the loader expects"
assert libname.wrong_platform_message(info["LIBRARY_FILE"], "win32", info["ABI_VERSION"]) is None
EOF
cmp -s "$sk-install/pyvl/libgmm-$abi.dll" "$dll" || echo "(the SKBUILD DLL is a separate build of the same sources)"

WINE=$(command -v wine64 || command -v wine || true)
if [ -z "$WINE" ]; then
  [ "${MINGW_REQUIRE_WINE:-0}" != 1 ] || fail "wine is not installed (apt-get install wine wine64)"
  step "no wine: the tests and consumers were built, not run"
  exit 0
fi
export WINEPREFIX=${WINEPREFIX:-$BUILD/wineprefix} WINEDEBUG=${WINEDEBUG:--all}
step "wine $("$WINE" --version 2>/dev/null) in $WINEPREFIX"
"$WINE" wineboot -i >/dev/null 2>&1 || true

step "ctest under wine"
GMM_TEST_QUICK=${GMM_TEST_QUICK:-0} ctest --test-dir "$BUILD" -j2 --output-on-failure | tail -n 12
grep -q "^level 3 (avx512): ok\|^level 2 (avx2): ok" "$BUILD/Testing/Temporary/LastTest.log" &&
  echo "(the AVX2 / AVX-512 kernels ran under wine)" || true

step "consumers of the DLL under wine"
cdir=$BUILD/consumers
mkdir -p "$cdir"
$PREFIX-gcc -std=c11 -Wall -Wextra -Werror -Ilibgmm/include libgmm/tests/abi/consumer.c \
  -o "$cdir/consumer.exe" -L"$BUILD/libgmm" -lgmm
$PREFIX-gcc -std=c11 -Wall -Wextra -Werror -Ilibgmm/include examples/c/fisher_example.c \
  -o "$cdir/fisher_example.exe" -L"$BUILD/libgmm" -lgmm
cp "$dll" "$cdir/"   # Windows finds a DLL beside the program
version=$(sed -n 's/^#define LIBGMM_VERSION_STRING "\(.*\)"$/\1/p' libgmm/include/vl/libgmm.h)
(cd "$cdir" && "$WINE" consumer.exe - "$version")
(cd "$cdir" && "$WINE" fisher_example.exe) | tr -d '\r' | tee "$cdir/fisher.out" | tail -n 2
grep -q 'Fisher vector (improved): .* L2 norm 1\.000000$' "$cdir/fisher.out" ||
  fail "fisher_example did not print a unit-norm improved Fisher vector"

step "done"
