#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run of libgmm:
#   1. the library and the C tests built with -DGMM_SANITIZE="address;undefined"
#      (gcc) in their own build directory, then ctest;
#   2. the Python test suite against that build: the source tree's pyvl
#      (PYTHONPATH) loading the sanitized libgmm.so.1 (PYVL_LIBRARY) in a python
#      that has gcc's libasan preloaded.
# Any test failure or sanitizer report fails the script.
#
# Needs (Debian packages): gcc g++ cmake ninja-build python3 python3-venv
#   libvlfeat-dev (the tests' VLFeat oracle) binutils (nm/objdump, ABI tests).
# Python packages: pyvl's dependencies and its [test] extra, plus
#   tests/plugin_pkg; if the python in use lacks any of them, a venv is made
#   (or reused) at $SANITIZE_VENV and they are installed there from PyPI.
#
# Environment: SANITIZE_BUILD_DIR (default /tmp/libgmm-sanitize-build),
#   SANITIZE_VENV (/tmp/libgmm-sanitize-venv), PYTHON (python3),
#   SANITIZE_PYTEST_TIMEOUT (seconds, default 1500), SANITIZE_PYTEST_ARGS
#   (extra pytest arguments).
#
# Sanitizer options, and why:
#   ctest:  detect_leaks=1 (LeakSanitizer on: the C tests free everything).
#   pytest: detect_leaks=0 -- in a Python process LeakSanitizer reports
#           CPython's own allocations (interned objects, module state that is
#           never freed at exit), thousands of them, none libgmm's; libgmm's
#           leaks are caught by the C tests above, the fuzzer and valgrind.
#   both:   allocator_may_return_null=1 -- some tests ask libgmm for absurd
#           allocations (2^50 bytes) and expect VL_ERR_ALLOC; by default ASan
#           aborts instead of returning NULL.
#   pytest: quarantine_size_mb=16 -- freed blocks are kept 16 MB deep to catch
#           use-after-free (ASan's default of 256 MB breaks the tests that
#           bound the process's peak RSS).
#   pytest: LD_PRELOAD also holds libstdc++: with only libasan preloaded into
#           an uninstrumented python, the first C++ exception thrown by an
#           extension loaded later (matplotlib's ft2font) hits ASan's
#           unresolved __cxa_throw interceptor ("CHECK failed").
#   pytest: log_path -- ASan reports go to files, since pytest captures the
#           stderr of tests and of their subprocesses (dask workers, CLI
#           runs); every file with an error report fails the script. (gcc's
#           UBSan runtime ignores log_path and writes to stderr; its reports
#           abort the process, -fno-sanitize-recover=all, so the test fails,
#           and the script also counts them in pytest's output.)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SANITIZE_BUILD_DIR:-/tmp/libgmm-sanitize-build}
VENV=${SANITIZE_VENV:-/tmp/libgmm-sanitize-venv}
PY=${PYTHON:-python3}
PYTEST_TIMEOUT=${SANITIZE_PYTEST_TIMEOUT:-1500}
LOGS="$BUILD/sanitizer-logs"
t0=$(date +%s)

echo "::: sanitize: build (gcc, -DGMM_SANITIZE=address;undefined) in $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGMM_BUILD_TESTS=ON "-DGMM_SANITIZE=address;undefined" >/dev/null
cmake --build "$BUILD" -j2
t_build=$(( $(date +%s) - t0 ))

echo "::: sanitize: C tests (ctest)"
t1=$(date +%s)
ctest_log="$BUILD/ctest.log"
ctest_rc=0
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$BUILD" --output-on-failure -j2 2>&1 | tee "$ctest_log" || ctest_rc=$?
ctest_line=$(grep -E "tests passed|tests failed" "$ctest_log" | tail -1 || true)
t_ctest=$(( $(date +%s) - t1 ))

echo "::: sanitize: Python environment"
t2=$(date +%s)
# Requirement names of pyvl (dependencies + the [test] extra) and the test plugin.
reqs() {
  "$1" - "$ROOT" <<'EOF'
import os, re, sys
try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib
root = sys.argv[1]
with open(os.path.join(root, "pyproject.toml"), "rb") as f:
    proj = tomllib.load(f)["project"]
for r in proj.get("dependencies", []) + proj.get("optional-dependencies", {}).get("test", []):
    print(r)
EOF
}
missing() { # prints the requirements the interpreter $1 does not have
  "$1" - "$ROOT" "$(reqs "$1")" <<'EOF'
import os, re, sys
from importlib import metadata
root, reqs = sys.argv[1], [r for r in sys.argv[2].splitlines() if r.strip()]
if os.path.isdir(os.path.join(root, "tests", "plugin_pkg")):
    reqs.append("pyvl-test-plugin")
for r in reqs:
    name = re.match(r"[A-Za-z0-9_.\-]+", r).group(0)
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        print(r)
EOF
}
if ! "$PY" -c "import sys; assert sys.version_info >= (3, 9)" 2>/dev/null ||
   [ -n "$(missing "$PY" 2>/dev/null || echo unknown)" ]; then
  echo "$PY lacks test requirements: using the venv $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  PY="$VENV/bin/python"
  todo=$(missing "$PY" || true)
  if [ -n "$todo" ]; then
    "$PY" -m pip install -q --upgrade pip
    mapfile -t todo_list <<<"$(printf '%s\n' "$todo" | grep -v '^pyvl-test-plugin$' || true)"
    if [ -n "${todo_list[0]:-}" ]; then "$PY" -m pip install -q "${todo_list[@]}"; fi
    if printf '%s\n' "$todo" | grep -qx 'pyvl-test-plugin'; then
      "$PY" -m pip install -q ./tests/plugin_pkg
    fi
  fi
fi
# the interpreter itself (not a wrapper script such as a pyenv shim) runs with libasan preloaded
PY=$("$PY" -c 'import sys; print(sys.executable)')
echo "python: $PY $("$PY" -c 'import sys; print(sys.version.split()[0])')"

echo "::: sanitize: Python tests against $BUILD/libgmm/libgmm.so.1"
libasan=$(gcc -print-file-name=libasan.so)
libstdcxx=$(gcc -print-file-name=libstdc++.so)
[ -e "$libasan" ] || { echo "gcc's libasan.so not found (install gcc)"; exit 1; }
rm -rf "$LOGS"
mkdir -p "$LOGS"
pytest_log="$BUILD/pytest.log"
pytest_rc=0
# shellcheck disable=SC2086
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
PYVL_LIBRARY="$BUILD/libgmm/libgmm.so.1" \
PYVL_KNOWN_SKIPS="$ROOT/tests/known_skips.txt:$ROOT/.ci/known_skips_sanitize.txt" \
LD_PRELOAD="$libasan $libstdcxx" \
ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:quarantine_size_mb=16:log_path=$LOGS/asan" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan" \
  timeout --kill-after=30 "$PYTEST_TIMEOUT" "$PY" -m pytest tests -x -q -p no:cacheprovider \
  ${SANITIZE_PYTEST_ARGS:-} 2>&1 | tee "$pytest_log" || pytest_rc=$?  # pipefail: pytest's status
[ "$pytest_rc" != 124 ] || echo "pytest timed out after $PYTEST_TIMEOUT s"
pytest_line=$(grep -E "^(=+ )?[0-9]+ (passed|failed)|no tests ran" "$pytest_log" | tail -1 || true)
t_pytest=$(( $(date +%s) - t2 ))

# Sanitizer reports written by the python processes (warnings such as
# "failed to allocate 0x... bytes" under allocator_may_return_null are not errors).
reports=()
for f in "$LOGS"/*; do
  [ -e "$f" ] || continue
  if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error:|Sanitizer: CHECK failed" "$f"; then
    reports+=("$f")
  fi
done
for f in "${reports[@]}"; do
  echo "----- sanitizer report $f"
  head -60 "$f"
done
in_output=$(grep -cE "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error:|Sanitizer: CHECK failed" "$pytest_log" || true)

echo
echo "::: sanitize summary"
echo "build:        ${t_build} s"
echo "ctest:        ${t_ctest} s  ${ctest_line:-no summary} (exit $ctest_rc)"
echo "pytest:       ${t_pytest} s  ${pytest_line:-no summary} (exit $pytest_rc)"
echo "reports:      ${#reports[@]} sanitizer report file(s) from the Python processes, $in_output report line(s) in pytest's output"
echo "total:        $(( $(date +%s) - t0 )) s"
if [ "$ctest_rc" != 0 ] || [ "$pytest_rc" != 0 ] || [ "${#reports[@]}" != 0 ] || [ "$in_output" != 0 ]; then
  echo "sanitize: FAILED"
  exit 1
fi
echo "sanitize: OK"
