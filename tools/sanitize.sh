#!/usr/bin/env bash
# Builds steepest._core with AddressSanitizer and UndefinedBehaviorSanitizer into build-sanitize/,
# then runs the test suite and the fuzzer (tests/fuzz, a larger budget) on that build. Exits
# non-zero on any sanitizer report and on any pytest failure; its last line is a one-line summary
# (the pytest counts, the sanitizer reports, the wall time).
#
# Usage: tools/sanitize.sh [pytest arguments...]     (default: the whole suite, tests/)
#   STEEPEST_FUZZ_EXAMPLES  the fuzzer's examples per test (default 1000)
#   SANITIZE_KEEP_GOING=1   report every undefined behaviour instead of stopping at the first
#                           (the run still fails if there was any)
#
# Run it with the Python environment that has numpy, pytest and hypothesis (and pybind11).
# It is slow (the build takes minutes, the suite runs several times slower than usual): run it
# niced. torch (2.13, CPU) imports and runs under ASan's LD_PRELOAD, so its tests run too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="$root/build-sanitize"
python=${PYTHON:-python}
cxx=${CXX:-g++}

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTEEPEST_SANITIZE=ON \
    -DCMAKE_CXX_COMPILER="$cxx" -DPython_EXECUTABLE="$(command -v "$python")" \
    -Dpybind11_DIR="$("$python" -m pybind11 --cmakedir)" "${launcher[@]}" >/dev/null
fi
ninja -C "$build" >/dev/null

# The package as it is in python/, with the sanitized extension in it (python/ keeps its own).
stage="$build/stage"
rm -rf "$stage" && mkdir -p "$stage"
cp -r "$root/python/steepest" "$stage/steepest"
rm -f "$stage"/steepest/_core*.so
cp "$build"/_core*.so "$stage/steepest/"

log="$build/sanitizer.log"
rm -f "$log".*
# libstdc++ too: CPython does not load it, and without it ASan cannot intercept C++ throws
# ("CHECK failed: ... real___cxa_throw") at the first exception a binding raises.
export LD_PRELOAD="$("$cxx" -print-file-name=libasan.so) $("$cxx" -print-file-name=libstdc++.so)"
export ASAN_OPTIONS="detect_leaks=0:log_path=$log"  # CPython keeps memory on purpose until exit
halt=1
[[ "${SANITIZE_KEEP_GOING:-0}" == 1 ]] && halt=0
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=$halt:log_path=$log"
export STEEPEST_FUZZ_EXAMPLES="${STEEPEST_FUZZ_EXAMPLES:-1000}"
export PYTHONPATH="$stage"

status=0
"$python" -m pytest -q -p no:cacheprovider -rs "${@:-tests}" 2>&1 | tee "$build/pytest.log" ||
  status=$?
counts=$(grep -E "^=* ?([0-9]+ (passed|failed|skipped|errors?|deselected)|no tests ran)" \
           "$build/pytest.log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')

# Each process (pytest, its subprocesses and forked children) writes its own $log.<pid>. A
# report is an UndefinedBehaviorSanitizer "runtime error:" or an "ERROR: AddressSanitizer".
reports=$(cat "$log".* 2>/dev/null | grep -cE "runtime error:|ERROR: AddressSanitizer" || true)
if compgen -G "$log.*" >/dev/null; then
  echo "sanitize.sh: the sanitizer logs ($log.*):" >&2
  cat "$log".* >&2
fi
summary="pytest: ${counts:-no summary line} (status $status); $reports sanitizer report(s); \
${SECONDS} s"
if [[ "$reports" != 0 || "$status" != 0 ]]; then
  echo "sanitize.sh: FAILED: $summary" >&2
  exit 1
fi
echo "sanitize.sh: OK, no sanitizer report: $summary"
