#!/usr/bin/env bash
# Builds and runs the whole test suite twice (CI runs this; see README "Quick start"):
#   1. build/       RelWithDebInfo, warnings as errors;
#   2. build-asan/  the same with AddressSanitizer + UndefinedBehaviorSanitizer (gcc), every test again,
#                   any report fatal (halt_on_error, abort_on_error, leaks checked).
# With --tsan (first argument), a third: build-tsan/ with ThreadSanitizer, every test again, any data race
# or lock-order report failing its test (about 10 more minutes on 2 cores, so CI does not run it).
# Each ctest run prints its summary; the exit status is non-zero when any build or run fails.
# SEALSCOPE_JOBS sets the parallelism (default 2); SEALSCOPE_BUILD_DIR, SEALSCOPE_ASAN_BUILD_DIR and
# SEALSCOPE_TSAN_BUILD_DIR the build folders (default build, build-asan, build-tsan); other arguments go to
# every ctest run (e.g. -L fuzz-seeds).
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=${SEALSCOPE_JOBS:-2}
status=0

run() {  # run NAME BUILD_DIR CMAKE_ARGS...
  local name=$1 dir=$2
  shift 2
  local t0=$SECONDS
  echo "== test-all: $name build in $dir"
  if cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALSCOPE_WERROR=ON "$@" &&
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
run normal "${SEALSCOPE_BUILD_DIR:-build}"

# Sanitizer reports end the test that caused them; LeakSanitizer runs at every exit. The suppressions
# file lists only leaks inside Debian's libndpi 4.2 itself (each documented in tests/fuzz/KNOWN_NDPI.md).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan-ndpi.supp:print_suppressions=0"
run sanitizer "${SEALSCOPE_ASAN_BUILD_DIR:-build-asan}" -DSEALSCOPE_SANITIZE=ON

if ((tsan)); then
  # A report makes the process exit 66 (tests check exit statuses); it is printed on stderr, which ctest
  # shows for a failed test.
  export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
  run thread "${SEALSCOPE_TSAN_BUILD_DIR:-build-tsan}" -DSEALSCOPE_TSAN=ON
fi

exit $status
