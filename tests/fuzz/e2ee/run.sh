#!/bin/sh
# Run each e2ee libFuzzer target for SECONDS (default 600) on a copy of its seed corpus, one at a time.
# usage: tests/fuzz/e2ee/run.sh BUILD_DIR [SECONDS] [TARGET...]
#   BUILD_DIR: a clang build with -DSEALSCOPE_FUZZ=ON (targets in BUILD_DIR/tests/fuzz/e2ee/).
# Corpora grow under $E2EE_FUZZ_WORK (default /tmp/e2ee-fuzz); findings (crash-*, timeout-*, oom-*) land
# in WORK/TARGET/artifacts/. Minimise one with: TARGET -minimize_crash=1 -runs=100000 FILE, fix the bug,
# then commit the minimised input to seeds/TARGET/ as regression-NAME so the seed replay test keeps it.
# Prints, per target, the final libFuzzer line (execs/s, cov, ft) and exits non-zero on any finding.
set -eu
build=$1
secs=${2:-600}
shift 2 2>/dev/null || shift $#
here=$(cd "$(dirname "$0")" && pwd)
work=${E2EE_FUZZ_WORK:-/tmp/e2ee-fuzz}
targets=${*:-fuzz_noise_handshake fuzz_frame_parser fuzz_ratchet_message fuzz_relay_request}
status=0
for t in $targets; do
    bin=$(find "$build" -type f -name "$t" -perm -u+x | head -n 1)
    [ -n "$bin" ] || { echo "$t: not built in $build" >&2; exit 2; }
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp -n "$here/seeds/$t/"* "$work/$t/corpus/" 2>/dev/null || true
    echo "== $t for ${secs}s" >&2
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=70000 -print_final_stats=1 \
        -dict="$here/dictionary.txt" -artifact_prefix="$work/$t/artifacts/" \
        "$work/$t/corpus" >"$work/$t/log" 2>&1; then
        :
    else
        status=1
        echo "$t: FINDING, see $work/$t/log and $work/$t/artifacts/" >&2
    fi
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$work/$t/log" | tail -n 1
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/$t/log" || true
done
exit $status
