#!/bin/sh
# The audit's end-to-end tests: the real binary on captures, its report checked by check_report.py.
# usage: run.sh CASE SEALSCOPE SOURCE_DIR [BUILD_DIR]
#   canary     captures/canary.pcap: every placement found where captures/canary-placements.tsv says, FAIL
#   clean      captures/canary-clean.pcap (same traffic, no canary): PASS
#   controls   fresh sealchat captures (tests/audit/make_controls.sh): encrypted PASS, --null-cipher FAIL
#   caps       tiny reassembly caps: the out-of-order canary's hole becomes a gap, counted in the report
#   errors     usage errors, a bad canaries file (file:line:column), a missing and a truncated capture
#   corpus     ../shared/corpus (skipped without it): encrypted messengers PASS, plaintext XMPP/SIP FAIL
# Exit 77 = skipped (ctest SKIP_RETURN_CODE).
set -eu
case_=$1 bin=$2 src=$3 build=${4:-}
work=$(mktemp -d /tmp/sealscope-audit-test.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
check="python3 $src/tests/audit/check_report.py"
expect_rc() {  # expect_rc WANT CMD...: runs CMD, fails unless it exits WANT
    want=$1; shift
    set +e; "$@" >"$work/out" 2>"$work/err"; rc=$?; set -e
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL: exit $rc, expected $want: $*" >&2; cat "$work/out" "$work/err" >&2; exit 1
    fi
}
case "$case_" in
canary)
    expect_rc 3 "$bin" audit --canaries "$src/captures/canary-canaries.txt" --report-json "$work/r.json" \
        "$src/captures/canary.pcap"
    grep -q '^audit verdict: FAIL' "$work/out"
    $check "$work/r.json" placements "$src/captures/canary-placements.tsv"
    ;;
clean)
    expect_rc 0 "$bin" audit --canaries "$src/captures/canary-canaries.txt" --report-json "$work/r.json" \
        "$src/captures/canary-clean.pcap"
    grep -q '^audit verdict: PASS' "$work/out"
    $check "$work/r.json" clean
    ;;
controls)
    set +e; sh "$src/tests/audit/make_controls.sh" "$build" "$work/ctl"; rc=$?; set -e
    [ "$rc" -eq 77 ] && exit 77
    [ "$rc" -eq 0 ] || { echo "FAIL: make_controls.sh exited $rc" >&2; exit 1; }
    expect_rc 0 "$bin" audit --canaries "$work/ctl/canaries.txt" --report-json "$work/enc.json" \
        "$work/ctl/control-encrypted.pcap"
    $check "$work/enc.json" controls-pass
    expect_rc 3 "$bin" audit --canaries "$work/ctl/canaries.txt" --report-json "$work/null.json" \
        "$work/ctl/control-null.pcap"
    $check "$work/null.json" controls-fail "$work/ctl/canaries.txt"
    ;;
caps)
    expect_rc 3 "$bin" audit --canaries "$src/captures/canary-canaries.txt" --report-json "$work/r.json" \
        --reassembly-stream-cap 8 --reassembly-total-cap 8 "$src/captures/canary.pcap"
    grep -q 'caps hit [1-9][0-9]* (stream)' "$work/out"
    python3 - "$work/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ra, hits = r["reassembly"], r["hits"]
assert ra["stream_cap_hits"] >= 1 and ra["gaps"] >= 1, ra
assert ra["limit_per_stream_bytes"] == 8 and ra["limit_total_bytes"] == 8, ra
found = {c["line"] for c in hits["per_canary"]}
# REORDER-CANARY (line 6) spans the hole the cap gave up on: not in any stream, and in no single packet.
assert 6 not in found, found
assert found == {4, 5, 7, 8, 9, 11, 12, 13}, found  # everything else is still found (11-13 in their datagrams)
PY
    ;;
errors)
    printf 'a canary long enough\n' > "$work/c.txt"
    expect_rc 2 "$bin" audit "$src/captures/mixed.pcap"
    grep -q -- '--canaries FILE is required' "$work/err"
    expect_rc 2 "$bin" audit --canaries "$work/c.txt"
    grep -q 'no capture given' "$work/err"
    expect_rc 2 "$bin" audit --canaries "$work/c.txt" --no-such-option "$src/captures/mixed.pcap"
    printf '# comment\nlong enough canary\nabc\n' > "$work/short.txt"
    expect_rc 2 "$bin" audit --canaries "$work/short.txt" "$src/captures/mixed.pcap"
    grep -q "short.txt:3:1: canary of 3 bytes; expected at least 6" "$work/err"
    expect_rc 2 "$bin" audit --canaries "$work/missing.txt" "$src/captures/mixed.pcap"
    grep -q "missing.txt" "$work/err"
    expect_rc 1 "$bin" audit --canaries "$work/c.txt" "$work/missing.pcap"
    grep -q "missing.pcap" "$work/err"
    # A truncated capture: the verdict on what was read, the report written, where it stopped said, exit 1.
    expect_rc 1 "$bin" audit --canaries "$work/c.txt" --report-json "$work/t.json" "$src/captures/truncated.pcap"
    grep -q 'stopped at byte offset 1087' "$work/err"
    grep -q '"verdict": "PASS"' "$work/t.json"
    python3 - "$work/t.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["capture"]
assert [(p["input"].rsplit("/", 1)[1], p["offset"], p["packets"]) for p in c["problems"]] == \
    [("truncated.pcap", 1087, 7)], c
assert c["interrupted"] is False, c
PY
    # ... and the text report, which may be all that is kept, says it too.
    grep -q '^  INCOMPLETE: .*truncated.pcap: .*(stopped at byte 1087 after 7 packets)' "$work/out"
    # A capture without a flow: PASS (nothing was found), but every report says that nothing was searched.
    python3 -c 'import struct, sys; open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))' \
        "$work/empty.pcap"
    expect_rc 0 "$bin" audit --canaries "$work/c.txt" --report-json "$work/e.json" --html "$work/e.html" "$work/empty.pcap"
    grep -q '^  WARNING: no flow in the captures: nothing was searched or measured, so PASS says nothing' "$work/out"
    grep -q '<li>WARNING: no flow in the captures: nothing was searched' "$work/e.html"
    expect_rc 0 "$bin" audit -q --canaries "$work/c.txt" "$work/empty.pcap"  # -q: the verdict, and the warning
    grep -qx 'audit verdict: PASS' "$work/out"
    grep -qx 'sealscope audit: warning: no flow in the captures: nothing was searched or measured, so PASS says nothing about content' "$work/err"
    python3 - "$work/e.json" "$work/t.json" <<'PY'
import json, sys
e, t = (json.load(open(p)) for p in sys.argv[1:])
assert e["verdict"] == "PASS" and e["warnings"] == [
    "no flow in the captures: nothing was searched or measured, so PASS says nothing about content"], e
# The truncated capture had flows, none of them messaging: only the canary search could have failed.
assert t["warnings"] == ["no flow was classified as messaging: only the canary search could fail, so PASS says "
                         "nothing about the cleartext or randomness of a messenger that was not recognised"], t["warnings"]
PY
    ;;
corpus)
    corpus="$src/../shared/corpus/pcap"
    [ -d "$corpus" ] || { echo "SKIP: no $corpus" >&2; exit 77; }
    printf 'a made-up canary 9c1e77\n' > "$work/c.txt"
    expect_rc 3 "$bin" audit --canaries "$work/c.txt" --report-json "$work/r.json" "$corpus"/*
    $check "$work/r.json" corpus
    ;;
*) echo "usage: run.sh canary|clean|controls|errors|corpus SEALSCOPE SOURCE_DIR [BUILD_DIR]" >&2; exit 2 ;;
esac
echo "ok: audit $case_"
