#!/usr/bin/env bash
# Cross-compile check: every C++ source (kernels, runtime, bindings) builds and links into
# steepest._core for Linux aarch64 with Debian's cross GCC, through the project's own CMakeLists
# (on aarch64 it compiles the kernels once, for the baseline target: NEON is part of it).
#   apt-get install -y g++-aarch64-linux-gnu     # the cross compiler
#   tools/cross_check_aarch64.sh [python3]       # a Python with pybind11 installed (pip)
# The bindings compile against the given (host) Python's headers: no aarch64 Python is needed;
# its pyconfig.h describes x86_64, which matches aarch64 in everything the bindings use (LP64,
# little-endian), but the .so is a compile and link check, not a module to ship.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-python3}
cxx=${CXX_AARCH64:-aarch64-linux-gnu-g++}
command -v "$cxx" >/dev/null || { echo "$cxx not found: apt-get install g++-aarch64-linux-gnu" >&2; exit 1; }
pybind11_dir=$("$python" -m pybind11 --cmakedir) || { echo "pip install pybind11 for $python" >&2; exit 1; }
py_include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/aarch64.cmake" <<TOOLCHAIN
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER $cxx)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
TOOLCHAIN
cmake -S "$repo" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$work/aarch64.cmake" -DPython_EXECUTABLE="$(command -v "$python")" \
  -DPython_INCLUDE_DIR="$py_include" -Dpybind11_DIR="$pybind11_dir" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log"; exit 1; }
ninja -C "$work/build" -v >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; exit 1; }
so=$(ls "$work"/build/_core*.so)
objects=$(grep -c -- ' -c ' "$work/build.log" || true)
warnings=$(grep -c 'warning:' "$work/build.log" || true)
echo "aarch64: $objects sources compiled with $("$cxx" -dumpfullversion), $warnings warnings; linked:"
file -b "$so" | cut -d, -f1-2
grep 'warning:' "$work/build.log" || true
