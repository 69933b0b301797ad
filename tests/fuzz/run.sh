#!/usr/bin/env bash
# Builds the analyzer's libFuzzer targets with clang (ASan + UBSan + libFuzzer) in build-fuzz/ and runs each
# for SECONDS (default 600) on a working copy of its seed corpus, then prints per target the executions
# per second, coverage (cov = edges, ft = features), corpus size and whether anything was found.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]        (default: every target of tests/fuzz/CMakeLists.txt)
# Environment: SEALSCOPE_FUZZ_BUILD (build dir, default build-fuzz), SEALSCOPE_FUZZ_WORK (corpora and
# findings, default /tmp/sealscope-fuzz), SEALSCOPE_FUZZ_PARALLEL (targets at once, default 1).
# A finding lands in WORK/TARGET/artifacts/ (crash-*, leak-*, timeout-*, oom-*). Minimise it with
#   build-fuzz/tests/fuzz/TARGET -minimize_crash=1 -runs=100000 FILE
# fix the bug, and commit the minimised input as tests/fuzz/regressions/TARGET/NAME: the seed replay
# test of every build then keeps it fixed. Findings inside libndpi: see tests/fuzz/KNOWN_NDPI.md.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-600}
shift $(( $# > 0 ? 1 : 0 ))
build=${SEALSCOPE_FUZZ_BUILD:-$root/build-fuzz}
work=${SEALSCOPE_FUZZ_WORK:-/tmp/sealscope-fuzz}
parallel=${SEALSCOPE_FUZZ_PARALLEL:-1}
all=$(sed -n '/^set(SEALSCOPE_FUZZ_TARGETS/,/)/p' "$here/CMakeLists.txt" | tr -d '()' | tr ' ' '\n' |
      grep '^fuzz_')
targets=${*:-$all}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALSCOPE_FUZZ=ON \
    -DSEALSCOPE_WERROR=ON >/dev/null || exit 2
fi
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets >/dev/null || { echo "fuzz: build failed" >&2; exit 2; }

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:print_stacktrace=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$here/lsan-ndpi.supp:print_suppressions=0"

fuzz_one() {  # fuzz_one TARGET: runs it, leaves WORK/TARGET/log
  local t=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/earlier-artifacts"
  # A finding of an earlier run (already reported then) must not be reported again as this run's.
  find "$dir/artifacts" -mindepth 1 -maxdepth 1 -exec mv -f {} "$dir/earlier-artifacts/" \;
  cp -n "$here/seeds/$t/"* "$dir/corpus/" 2>/dev/null
  [ -d "$here/regressions/$t" ] && cp -n "$here/regressions/$t/"* "$dir/corpus/" 2>/dev/null
  (cd "$dir" && TMPDIR=$dir "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
     -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1)
  echo $? >"$dir/rc"
}

running=0
for t in $targets; do
  echo "fuzz: $t for ${secs}s" >&2
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-24s %10s %10s %8s %8s %8s  %s\n' target execs execs/s cov ft corpus result
for t in $targets; do
  dir=$work/$t
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$dir/log" | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
  result=ok
  # slow-unit-* files are inputs over libFuzzer's 10 s report threshold, not findings.
  if [ "$(cat "$dir/rc")" != 0 ] || ls "$dir/artifacts/" | grep -qE '^(crash|leak|timeout|oom)-'; then
    result="FINDING: $dir/log, $dir/artifacts/"
    status=1
  fi
  printf '%-24s %10s %10s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
exit $status
