#!/bin/sh
# captures/sealchat/record.sh: a failed run leaves the previous capture as it was (and no partial file); a
# successful one replaces it and labels its flows under its final name.
# usage: record_test.sh SOURCE_DIR BUILD_DIR (the folder of sealrelay and sealchat)
# Exit 77 = skipped: tcpdump missing or unable to capture on lo (needs root or CAP_NET_RAW).
set -eu
src=$1
build=$2
record="$src/captures/sealchat/record.sh"
command -v tcpdump >/dev/null || { echo "record_test.sh: SKIP: tcpdump not installed" >&2; exit 77; }
work=$(mktemp -d /tmp/sealchat-record-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 143' INT TERM
fail() { echo "FAIL: $*" >&2; cat "$work/log" >&2 2>/dev/null || true; exit 1; }
leftovers() { find "$work/out" -mindepth 1 -name '.sealchat-*' | grep -q . ; }
mkdir "$work/out"
printf 'the previous capture\n' > "$work/out/sealchat-t.pcap"

# A run whose scenario fails (no such file) after tcpdump started.
set +e
PORTS=auto LABELS="$work/labels.tsv" timeout 60 sh "$record" "$build" "$work/missing.yaml" t "$work/out" \
    >"$work/log" 2>&1
rc=$?
set -e
[ "$rc" -eq 77 ] && { cat "$work/log" >&2; exit 77; }
[ "$rc" -ne 0 ] || fail "record.sh succeeded with a missing scenario"
grep -q 'scenario failed' "$work/log" || fail "record.sh did not fail in the scenario (status $rc)"
[ "$(cat "$work/out/sealchat-t.pcap")" = 'the previous capture' ] || fail "a failed run changed the old capture"
leftovers && fail "a failed run left a partial recording: $(ls -A "$work/out")"
[ ! -e "$work/labels.tsv" ] || fail "a failed run wrote labels"

# A run that succeeds replaces the capture.
cat > "$work/one.yaml" <<YAML
relay: 127.0.0.1:5443
seed: 3
drain_s: 2
users: [alice, bob]
actions:
  - chat: {from: alice, to: bob, texts: ["hello"], gap_median_s: 0.1, gap_sigma: 0.1, reply_prob: 0, typing_s_per_char: 0.002}
YAML
PORTS=auto LABELS="$work/labels.tsv" timeout 90 sh "$record" "$build" "$work/one.yaml" t "$work/out" \
    >"$work/log" 2>&1 || fail "record.sh failed on a good scenario"
magic=$(od -An -tx1 -N4 "$work/out/sealchat-t.pcap" | tr -d ' ')
[ "$magic" = d4c3b2a1 ] || [ "$magic" = a1b2c3d4 ] || [ "$magic" = 4d3cb2a1 ] || [ "$magic" = a1b23c4d ] ||
    fail "sealchat-t.pcap is not a pcap file (magic $magic)"
leftovers && fail "a successful run left its temporary folder: $(ls -A "$work/out")"
grep -q '^sealchat-t\.pcap	TCP	' "$work/labels.tsv" || fail "no labels under the capture's name"

# LISTEN=::1: the relay, the scenario and the labels follow it over IPv6 (where ::1 exists).
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    PORTS=auto LISTEN=::1 LABELS="$work/labels6.tsv" timeout 90 sh "$record" "$build" "$work/one.yaml" six \
        "$work/out" >"$work/log" 2>&1 || fail "record.sh failed with LISTEN=::1"
    n=$(grep -c '^sealchat-six\.pcap	TCP		\[::1\]:[0-9]*	\[::1\]:[0-9]*	[0-9]*	SealChat	' "$work/labels6.tsv" || true)
    [ "$n" -ge 2 ] || fail "LISTEN=::1: expected two IPv6 chat flows in the labels, found $n: $(cat "$work/labels6.tsv")"
else
    echo "record_test.sh: ::1 cannot be bound here: the IPv6 recording is not tested" >&2
fi
echo "record_test.sh: ok"
