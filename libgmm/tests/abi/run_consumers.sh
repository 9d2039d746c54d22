#!/bin/sh
# run_consumers.sh BUILD_DIR WORK_DIR [CONFIG [EMULATOR [ARG...]]]
#
# The ctest `install_consumers`: install the already built libgmm from
# BUILD_DIR into WORK_DIR/prefix (cmake --install --prefix), check the
# installed layout, then, as an outside user would,
#   1. compile every installed public header alone, as C99, C11 and C++17,
#      with -Wall -Wextra -Werror -pedantic (gcc/g++, and clang/clang++ when
#      installed),
#   2. build consumer.c / consumer.cpp with the flags from pkg-config (plain
#      and --static link flags; gcc, clang, g++, clang++ as available), and
#      examples/c/fisher_example.c the way its README says,
#   3. build them with find_package(libgmm) (the consumer project here),
# and run the consumers, checking that the *installed* library is the one
# loaded (ldd, and /proc/self/maps from inside the programs).
# Needs sh, cmake, a C compiler and pkg-config; the C++ checks are skipped
# (with a note) when no C++ compiler is installed; readelf/nm/ldd checks run
# when those tools exist (readelf and nm: the build's CMAKE_READELF/CMAKE_NM,
# which are the target's tools when cross-compiling). Exit status 0 only if
# everything passed.
#
# Cross-compiling (set by libgmm/tests/CMakeLists.txt in the environment):
#   GMM_CONSUMER_CROSS=1, GMM_CONSUMER_CC / GMM_CONSUMER_CXX (the cross
#   compilers; no C++ checks without one), GMM_CONSUMER_TARGET (a --target
#   for clang), and the build's CMAKE_CROSSCOMPILING_EMULATOR as EMULATOR ARG...
# Then only the cross compilers are used (never the host's gcc/clang), ldd
# (the host's loader) is replaced by the target readelf's DT_NEEDED and
# RUNPATH, and the programs run under the emulator. Without an emulator
# everything is still built and inspected, but each run prints "SKIP: ..."
# and the script exits with 77 (ctest: skipped) instead of 0.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR WORK_DIR [CONFIG]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd -P)
build=$(cd "$1" && pwd -P)
config=${3:-}
cross=${GMM_CONSUMER_CROSS:-0}
case $2 in
  "" | / | "$1" | "$build") echo "$0: refusing to use '$2' as the work directory" >&2; exit 2 ;;
esac
rm -rf "$2"
mkdir -p "$2"
work=$(cd "$2" && pwd -P)
prefix=$work/prefix
include_src=$here/../../include/vl

# The emulator (arguments 4...), wrapped in one executable script.
emulator=""
if [ $# -gt 3 ]; then
  shift 3
  emulator=$work/emulator
  {
    printf '#!/bin/sh\nexec'
    for a in "$@"; do printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"; done
    printf ' "$@"\n'
  } >"$emulator"
  chmod +x "$emulator"
fi
skipped=0

step() { printf '\n=== %s\n' "$*"; }
fail() {
  printf 'install_consumers: FAILED: %s\n' "$*" >&2
  exit 1
}
run() {
  printf '+ %s\n' "$*"
  "$@" || fail "command failed: $*"
}
# Like run, but print the command and its output only when it fails.
run_quiet() {
  if ! out=$("$@" 2>&1); then
    printf '+ %s\n%s\n' "$*" "$out" >&2
    fail "command failed: $*"
  fi
}
have() { command -v "$1" >/dev/null 2>&1; }
first() { echo "$1"; }

# ---- settings of the build being tested (from its CMakeCache.txt) --------
cache_dir=$build
while [ ! -f "$cache_dir/CMakeCache.txt" ] && [ "$cache_dir" != / ]; do
  cache_dir=$(dirname "$cache_dir")
done
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$cache_dir/CMakeCache.txt" 2>/dev/null | head -n 1; }
cmake=$(cache_get CMAKE_COMMAND)
[ -n "$cmake" ] || cmake=cmake
build_cc=${GMM_CONSUMER_CC:-$(cache_get CMAKE_C_COMPILER)}
target_flags=""
[ -z "${GMM_CONSUMER_TARGET:-}" ] || target_flags="--target=$GMM_CONSUMER_TARGET"
readelf=$(cache_get CMAKE_READELF)
[ -n "$readelf" ] && [ -x "$readelf" ] || readelf=$(command -v readelf 2>/dev/null || true)
nm=$(cache_get CMAKE_NM)
[ -n "$nm" ] && [ -x "$nm" ] || nm=$(command -v nm 2>/dev/null || true)
generator=$(cache_get CMAKE_GENERATOR)
make_program=$(cache_get CMAKE_MAKE_PROGRAM)
sanitize=$(cache_get GMM_SANITIZE | tr ';' ',')
san_flags=""
[ -z "$sanitize" ] || san_flags="-fsanitize=$sanitize -fno-omit-frame-pointer"

version=$(sed -n 's/^#define LIBGMM_VERSION_STRING "\(.*\)"$/\1/p' "$include_src/libgmm.h")
abi=$(sed -n 's/^#define LIBGMM_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$include_src/libgmm.h")
[ -n "$version" ] && [ -n "$abi" ] || fail "cannot read the version from $include_src/libgmm.h"
echo "libgmm $version, ABI $abi; build $build; work $work"

# Compilers: for C the one that built the library first, then gcc and clang;
# for C++ g++ and clang++. With sanitizers only the build's family (one runtime).
realpath_of() { readlink -f "$1" 2>/dev/null || echo "$1"; }
c_compilers=""
cxx_compilers=""
add_compiler() { # list-var name
  p=$(command -v "$2" 2>/dev/null) || return 0
  p=$(realpath_of "$p")
  eval "cur=\$$1"
  for q in $cur; do [ "$(realpath_of "$q")" = "$p" ] && return 0; done
  eval "$1=\"\$cur \$2\""
}
if [ -n "$build_cc" ]; then add_compiler c_compilers "$build_cc"; fi
if [ "$cross" = 1 ]; then
  # the host's compilers cannot link against a library built for the target
  [ -z "${GMM_CONSUMER_CXX:-}" ] || add_compiler cxx_compilers "$GMM_CONSUMER_CXX"
  if [ -n "$emulator" ]; then
    echo "cross-compiling; emulator: $(sed -n 's/^exec \(.*\) "\$@"$/\1/p' "$emulator")"
  else
    echo "cross-compiling; no emulator: the programs are built but not run"
  fi
elif [ -n "$sanitize" ]; then
  case $build_cc in
    *clang*) add_compiler cxx_compilers clang++ ;;
    *) add_compiler cxx_compilers g++ ;;
  esac
else
  add_compiler c_compilers gcc
  add_compiler c_compilers clang
  add_compiler cxx_compilers g++
  add_compiler cxx_compilers clang++
fi
[ -n "$c_compilers" ] || add_compiler c_compilers cc
[ -n "$c_compilers" ] || fail "no C compiler found"
if [ -z "$cxx_compilers" ] && [ "$cross" != 1 ]; then add_compiler cxx_compilers c++; fi
echo "C compilers:$c_compilers"
echo "C++ compilers:${cxx_compilers:- none (the C++ checks are skipped)}"

# ---- 1. install ------------------------------------------------------------
step "install into $prefix"
if [ -n "$config" ]; then
  run "$cmake" --install "$build" --prefix "$prefix" --config "$config"
else
  run "$cmake" --install "$build" --prefix "$prefix"
fi

step "installed layout"
lib=$(find "$prefix" -name libgmm.so -print | head -n 1)
[ -n "$lib" ] || fail "no libgmm.so under $prefix"
libdir=$(cd "$(dirname "$lib")" && pwd -P)
echo "libdir: $libdir"
[ -L "$libdir/libgmm.so" ] || fail "libgmm.so is not a symlink"
[ "$(readlink "$libdir/libgmm.so")" = "libgmm.so.$abi" ] ||
  fail "libgmm.so -> $(readlink "$libdir/libgmm.so"), expected libgmm.so.$abi"
[ -L "$libdir/libgmm.so.$abi" ] || fail "libgmm.so.$abi is not a symlink"
[ "$(readlink "$libdir/libgmm.so.$abi")" = "libgmm.so.$version" ] ||
  fail "libgmm.so.$abi -> $(readlink "$libdir/libgmm.so.$abi"), expected libgmm.so.$version"
[ -f "$libdir/libgmm.so.$version" ] && [ ! -L "$libdir/libgmm.so.$version" ] ||
  fail "libgmm.so.$version is not a regular file"
echo "libgmm.so -> libgmm.so.$abi -> libgmm.so.$version"
headers=$(cd "$include_src" && find . -name '*.h' | sed 's|^\./||' | sort)
for h in $headers; do
  cmp -s "$include_src/$h" "$prefix/include/vl/$h" || fail "include/vl/$h missing or different"
done
[ "$(find "$prefix" -name '*.h' | wc -l)" -eq "$(find "$include_src" -name '*.h' | wc -l)" ] ||
  fail "installed headers other than the public ones: $(find "$prefix" -name '*.h')"
echo "headers: $(echo $headers)"
for f in pkgconfig/libgmm.pc cmake/libgmm/libgmmConfig.cmake cmake/libgmm/libgmmConfigVersion.cmake \
  cmake/libgmm/libgmmTargets.cmake; do
  [ -f "$libdir/$f" ] || fail "missing $libdir/$f"
done
ls "$libdir"/cmake/libgmm/libgmmTargets-*.cmake >/dev/null 2>&1 || fail "no per-configuration libgmmTargets-*.cmake"
if grep -q gmm_objects "$libdir"/cmake/libgmm/libgmmTargets*.cmake; then
  fail "the build-only OBJECT library gmm_objects leaked into the exported targets"
fi
if [ -n "$readelf" ]; then
  soname=$("$readelf" -d "$libdir/libgmm.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
  [ "$soname" = "libgmm.so.$abi" ] || fail "SONAME is '$soname', expected libgmm.so.$abi"
  echo "SONAME: $soname"
  if "$readelf" -d "$libdir/libgmm.so.$version" | grep -Eq '\((RPATH|RUNPATH)\)'; then
    fail "the installed library carries an RPATH/RUNPATH"
  fi
  # only the C runtime: libc, libm, the thread library (no OpenMP runtime)
  needed=$("$readelf" -d "$libdir/libgmm.so.$version" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
  for lib in $needed; do
    case $lib in
      libc.so.*|libm.so.*|libpthread.so.*|ld-linux*.so.*) ;;
      # a GMM_SANITIZE build links the sanitizers' runtimes (never a release)
      libasan.so.*|libubsan.so.*|libtsan.so.*|liblsan.so.*)
        [ -n "${GMM_SANITIZE_BUILD:-}" ] || fail "libgmm depends on $lib but was not built with GMM_SANITIZE" ;;
      *) fail "libgmm depends on $lib (only libc, libm and libpthread are expected)" ;;
    esac
  done
  echo "NEEDED: $(echo $needed)"
fi
if [ -n "$nm" ]; then
  "$nm" -D --defined-only "$libdir/libgmm.so.$version" |
    sed -n 's/^[0-9a-fA-F]* [TDBRVW] \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' | sort -u >"$work/exported.txt"
  grep '^[A-Za-z_]' "$here/../../abi/symbols.txt" | sort -u >"$work/expected.txt"
  if ! cmp -s "$work/exported.txt" "$work/expected.txt"; then
    diff "$work/expected.txt" "$work/exported.txt" >&2 || true
    fail "the installed library does not export exactly abi/symbols.txt (diff: expected, exported)"
  fi
  echo "exports: exactly abi/symbols.txt ($(wc -l <"$work/expected.txt") functions)"
fi

# ---- 2. every public header on its own ------------------------------------------
step "public headers alone, -Wall -Wextra -Werror -pedantic"
mkdir -p "$work/headers"
count=0
for h in $headers; do
  name=${h%.h}
  id=$(echo "$name" | tr '/' '_')
  tu=$work/headers/$id
  # Included twice: the include guard must hold.
  printf '#include <vl/%s.h>\n#include <vl/%s.h>\ntypedef int header_check_%s;\n' \
    "$name" "$name" "$id" >"$tu.c"
  cp "$tu.c" "$tu.cpp"
  for cc in $c_compilers; do
    for std in c99 c11; do
      run_quiet "$cc" $target_flags -std=$std -Wall -Wextra -Werror -pedantic -Wundef -Wstrict-prototypes \
        -I"$prefix/include" -c "$tu.c" -o "$tu.o"
      count=$((count + 1))
    done
  done
  for cxx in $cxx_compilers; do
    run_quiet "$cxx" $target_flags -std=c++17 -Wall -Wextra -Werror -pedantic -Wundef \
      -I"$prefix/include" -c "$tu.cpp" -o "$tu.o"
    count=$((count + 1))
  done
  echo "vl/$name.h: OK as c99 and c11 with$c_compilers; as c++17 with${cxx_compilers:- (no C++ compiler)}"
done
echo "$count header compilations passed"

# Run a consumer: the installed library must be the one loaded.
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Cross-compiled: the loader's view (ldd) is replaced by the DT_NEEDED entry
# and the RUNPATH/RPATH; the program, run under the emulator, still checks
# /proc/self/maps itself.
run_target() { # executable args...
  if [ "$cross" != 1 ]; then
    run "$@"
  elif [ -n "$emulator" ]; then
    run "$emulator" "$@"
  else
    echo "SKIP: not running $1 (cross-compiled for another machine, no emulator given)"
    skipped=$((skipped + 1))
    return 1
  fi
}
run_consumer() { # executable expected-version
  if [ "$cross" = 1 ]; then
    if [ -n "$readelf" ]; then
      dyn=$("$readelf" -d "$1")
      echo "$dyn" | grep -q "(NEEDED).*\[libgmm\.so\.$abi\]" ||
        fail "$1 does not record libgmm.so.$abi as DT_NEEDED"
      rpath=$(echo "$dyn" | sed -n -e 's/.*(RUNPATH).*\[\(.*\)\]$/\1/p' -e 's/.*(RPATH).*\[\(.*\)\]$/\1/p')
      case ":$rpath:" in
        *":$libdir:"*) ;;
        *) fail "$1 has RUNPATH/RPATH '$rpath', not $libdir" ;;
      esac
      echo "$(basename "$1"): DT_NEEDED libgmm.so.$abi, RUNPATH $libdir ($(basename "$readelf"))"
    fi
  elif have ldd; then
    line=$(ldd "$1" | grep 'libgmm\.so' || true)
    echo "ldd: $line"
    case $line in
      *"=> $libdir/libgmm.so.$abi "*) ;;
      *) fail "ldd: $1 does not resolve libgmm.so.$abi to $libdir" ;;
    esac
  fi
  run_target "$1" "$libdir" "$2" || true
}

# ---- 3. pkg-config -----------------------------------------------------------
step "pkg-config"
have pkg-config || fail "pkg-config not found (apt-get install pkg-config)"
pc() { PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config "$@"; }
pc --exists --print-errors libgmm || fail "pkg-config cannot find libgmm"
[ "$(pc --modversion libgmm)" = "$version" ] || fail "pkg-config version $(pc --modversion libgmm) != $version"
pc_libdir=$(pc --variable=libdir libgmm)
[ "$(cd "$pc_libdir" && pwd -P)" = "$libdir" ] || fail "libgmm.pc libdir $pc_libdir is not $libdir (not relocatable?)"
[ "$(pc --variable=abi_version libgmm)" = "$abi" ] || fail "libgmm.pc abi_version is not $abi"
cflags=$(pc --cflags libgmm)
libs=$(pc --libs libgmm)
static_libs=$(pc --static --libs libgmm)
echo "cflags: $cflags"
echo "libs: $libs"
echo "libs (--static): $static_libs"
mkdir -p "$work/pc"
i=0
for cc in $c_compilers; do
  i=$((i + 1))
  exe=$work/pc/consumer_c_$i
  # shellcheck disable=SC2086 # word splitting of the pkg-config flags is intended
  run "$cc" $target_flags -std=c99 -Wall -Wextra -Werror -pedantic $san_flags $cflags "$here/consumer.c" \
    -o "$exe" $libs -Wl,-rpath,"$libdir"
  run_consumer "$exe" "$version"
done
# Libs.private must be valid link flags too (what a static link would add).
# shellcheck disable=SC2086
run "$(first $c_compilers)" $target_flags -std=c11 -Wall -Wextra -Werror -pedantic $san_flags $cflags "$here/consumer.c" \
  -o "$work/pc/consumer_c_static_flags" $static_libs -Wl,-rpath,"$libdir"
run_consumer "$work/pc/consumer_c_static_flags" "$version"
i=0
for cxx in $cxx_compilers; do
  i=$((i + 1))
  exe=$work/pc/consumer_cpp_$i
  # shellcheck disable=SC2086
  run "$cxx" $target_flags -std=c++17 -Wall -Wextra -Werror -pedantic $san_flags $cflags "$here/consumer.cpp" \
    -o "$exe" $libs -Wl,-rpath,"$libdir"
  run_consumer "$exe" "$version"
done

# The C example (examples/c), built the way its README says.
example=$here/../../../examples/c/fisher_example.c
if [ -f "$example" ]; then
  # shellcheck disable=SC2086
  run "$(first $c_compilers)" $target_flags -std=c11 -Wall -Wextra -Werror -pedantic $san_flags $cflags "$example" \
    -o "$work/pc/fisher_example" $libs -lm -Wl,-rpath,"$libdir"
  if run_target "$work/pc/fisher_example" >"$work/pc/fisher_example.out"; then
    cat "$work/pc/fisher_example.out"
    grep -q 'Fisher vector (improved): .* L2 norm 1\.000000$' "$work/pc/fisher_example.out" ||
      fail "fisher_example did not print a unit-norm improved Fisher vector"
  else
    cat "$work/pc/fisher_example.out"
  fi
fi

# ---- 4. find_package -----------------------------------------------------------
step "find_package(libgmm) with CMAKE_PREFIX_PATH=$prefix"
set -- -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
[ -z "$generator" ] || set -- "$@" -G "$generator"
[ -z "$make_program" ] || set -- "$@" -DCMAKE_MAKE_PROGRAM="$make_program"
[ -z "$build_cc" ] || set -- "$@" -DCMAKE_C_COMPILER="$build_cc"
toolchain=$(cache_get CMAKE_TOOLCHAIN_FILE)
[ -z "$toolchain" ] || set -- "$@" -DCMAKE_TOOLCHAIN_FILE="$toolchain"
# the settings of toolchains/zig.cmake (its target and its zig)
for var in GMM_ZIG GMM_ZIG_TARGET; do
  value=$(cache_get $var)
  [ -z "$value" ] || set -- "$@" -D$var="$value"
done
if [ -n "$cxx_compilers" ]; then
  set -- "$@" -DCMAKE_CXX_COMPILER="$(command -v "$(first $cxx_compilers)")"
else
  set -- "$@" -DCONSUMER_CXX=OFF
fi
[ -z "$san_flags" ] || set -- "$@" -DCMAKE_C_FLAGS="$san_flags" -DCMAKE_CXX_FLAGS="$san_flags"
run "$cmake" "$@"
run "$cmake" --build "$work/cmake" --config Release
found_dir=$(sed -n 's/^dir=//p' "$work/cmake/found_libgmm.txt")
found_version=$(sed -n 's/^version=//p' "$work/cmake/found_libgmm.txt")
found_abi=$(sed -n 's/^abi=//p' "$work/cmake/found_libgmm.txt")
case $(cd "$found_dir" && pwd -P) in
  "$libdir"/cmake/libgmm) ;;
  *) fail "find_package found libgmm in $found_dir, not in $prefix" ;;
esac
[ "$found_abi" = "$abi" ] || fail "libgmm_ABI_VERSION is '$found_abi', expected $abi"
for name in consumer_c consumer_cpp; do
  [ -n "$cxx_compilers" ] || [ "$name" = consumer_c ] || continue
  exe=$(find "$work/cmake" -type f -name "$name" -perm -u+x | head -n 1)
  [ -n "$exe" ] || fail "$name was not built"
  run_consumer "$exe" "$found_version"
done

if [ "$skipped" -gt 0 ]; then
  step "install_consumers: SKIPPED $skipped program runs (no emulator for the target); every other check passed"
  exit 77
fi
step "install_consumers: all checks passed"
