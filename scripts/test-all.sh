#!/usr/bin/env bash
# Builds and runs the whole test suite twice (CI runs this; see README "Quick start"):
#   1. build/       RelWithDebInfo, warnings as errors;
#   2. build-asan/  the same with AddressSanitizer + UndefinedBehaviorSanitizer, compiled with clang (the
#                   first with gcc, so every run compiles everything with both under -Werror), every test
#                   again, any report fatal (halt_on_error, abort_on_error, leaks checked).
# With --tsan (first argument), a third: build-tsan/ with ThreadSanitizer, every test again, any data race
# or lock-order report failing its test (about 10 more minutes on 2 cores, so CI does not run it).
# Each ctest run prints its summary; the exit status is non-zero when any build or run fails.
# SEALSCOPE_JOBS sets the parallelism (default 2); SEALSCOPE_BUILD_DIR, SEALSCOPE_ASAN_BUILD_DIR and
# SEALSCOPE_TSAN_BUILD_DIR the build folders (default build, build-asan, build-tsan); SEALSCOPE_ASAN_CC and
# SEALSCOPE_ASAN_CXX the sanitizer build's compilers (default clang, clang++). A sanitizer folder configured
# earlier with other compilers (gcc, before) is configured afresh (cmake --fresh). Other arguments go to
# every ctest run (e.g. -L fuzz-seeds).
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=${SEALSCOPE_JOBS:-2}
status=0

compiler_path() {  # compiler_path NAME_OR_PATH: its path as CMake compares it (found on PATH, not resolved)
  if [[ $1 == */* ]]; then echo "$1"; else command -v "$1"; fi
}

run() {  # run NAME BUILD_DIR CMAKE_ARGS...
  local name=$1 dir=$2
  shift 2
  local t0=$SECONDS fresh=() a var cached
  echo "== test-all: $name build in $dir"
  # CMake cannot switch a configured folder to another compiler: given a new CMAKE_C(XX)_COMPILER it deletes
  # the cache and configures again WITHOUT the other -D options (no sanitizers, no -Werror) and exits 0.
  for a in "$@"; do
    [[ $a =~ ^-D(CMAKE_CX?X?_COMPILER)= && -f $dir/CMakeCache.txt ]] || continue
    var=${BASH_REMATCH[1]}
    cached=$(sed -n "s/^$var:[A-Z]*=//p" "$dir/CMakeCache.txt")
    if [[ $(compiler_path "$cached") != "$(compiler_path "${a#*=}")" ]]; then
      echo "== test-all: $dir was configured with $cached, not ${a#*=}: configuring it afresh"
      fresh=(--fresh)
    fi
  done
  if cmake "${fresh[@]}" -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALSCOPE_WERROR=ON "$@" &&
     cmake --build "$dir" -j"$jobs" &&
     ctest --test-dir "$dir" --output-on-failure -j"$jobs" "${ctest_args[@]}"; then
    echo "== test-all: $name: all tests passed ($((SECONDS - t0)) s)"
  else
    echo "== test-all: $name: FAILED ($((SECONDS - t0)) s)"
    status=1
  fi
}

tsan=0
if [[ ${1:-} == --tsan ]]; then
  tsan=1
  shift
fi
ctest_args=("$@")
run normal "${SEALSCOPE_BUILD_DIR:-build}"  # Debian's default compilers: gcc, g++

# Sanitizer reports end the test that caused them; LeakSanitizer runs at every exit. The suppressions
# file lists only leaks inside Debian's libndpi 4.2 itself (each documented in tests/fuzz/KNOWN_NDPI.md).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan-ndpi.supp:print_suppressions=0"
# Compiled with clang: its sanitizer runtime (libclang-rt-14-dev) symbolizes stack traces, and so matches
# suppressions by function name, with /usr/bin/llvm-symbolizer-14 (llvm-14); without it frames are bare
# addresses.
run sanitizer "${SEALSCOPE_ASAN_BUILD_DIR:-build-asan}" -DSEALSCOPE_SANITIZE=ON \
  -DCMAKE_C_COMPILER="${SEALSCOPE_ASAN_CC:-clang}" -DCMAKE_CXX_COMPILER="${SEALSCOPE_ASAN_CXX:-clang++}"

if ((tsan)); then
  # A report makes the process exit 66 (tests check exit statuses); it is printed on stderr, which ctest
  # shows for a failed test.
  export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
  run thread "${SEALSCOPE_TSAN_BUILD_DIR:-build-tsan}" -DSEALSCOPE_TSAN=ON
fi

exit $status
