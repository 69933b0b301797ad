#!/bin/sh
# Record labelled sealchat traffic on loopback: starts a sealrelay, plays a scenario with sealchat,
# captures with tcpdump (libpcap), writes captures/sealchat-NAME.pcap and appends its flows to labels.tsv.
# usage: captures/sealchat/record.sh BUILD_DIR SCENARIO.yaml NAME [OUT_DIR]
#   BUILD_DIR  a build with sealrelay and sealchat (cmake --build BUILD_DIR --target sealrelay sealchat)
#   OUT_DIR    where sealchat-NAME.pcap goes (default: captures/)
#   LABELS     environment: labels file to append to (default: captures/sealchat/labels.tsv)
# Needs tcpdump (scripts/install-deps.sh installs it) and root or CAP_NET_RAW for capturing on lo.
# Uses the default ports 5443/5444 (TCP) and 5445 (UDP), which must be free; the scenario's relay must
# be 127.0.0.1:5443. Exits non-zero if the scenario fails (see sealchat(1): every message must arrive).
set -eu
[ $# -ge 3 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
build=$1
scenario=$2
name=$3
here=$(cd "$(dirname "$0")" && pwd)
out=${4:-$(dirname "$here")}
labels=${LABELS:-$here/labels.tsv}
command -v tcpdump >/dev/null || { echo "record.sh: tcpdump not found (run scripts/install-deps.sh)" >&2; exit 2; }
for b in sealrelay sealchat; do
    [ -x "$build/$b" ] || { echo "record.sh: $build/$b not built" >&2; exit 2; }
done
mkdir -p "$out"
pcap="$out/sealchat-$name.pcap"
work=$(mktemp -d /tmp/sealchat-record.XXXXXX)
relay_pid=
dump_pid=
cleanup() {
    [ -n "$dump_pid" ] && kill -INT "$dump_pid" 2>/dev/null && wait "$dump_pid" 2>/dev/null || true
    [ -n "$relay_pid" ] && kill -TERM "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# -Z: keep the capture owned by the invoking user (tcpdump otherwise switches to its own account).
tcpdump -Z "$(id -un)" -i lo -s 0 -U -w "$pcap" 'tcp port 5443 or tcp port 5444 or udp port 5445' 2>"$work/tcpdump.log" &
dump_pid=$!
"$build/sealrelay" -d "$work/relay" -l "$work/relay.log" --ports-file "$work/ports" &
relay_pid=$!
i=0
while [ ! -s "$work/ports" ] || ! grep -q listening "$work/tcpdump.log"; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "relay or tcpdump did not start" >&2; exit 1; }
    sleep 0.1
done
"$build/sealchat" --log "$work/actions.jsonl" scenario "$scenario"
sleep 1
kill -INT "$dump_pid"; wait "$dump_pid" || true; dump_pid=
kill -TERM "$relay_pid"; wait "$relay_pid" || true; relay_pid=
[ -s "$labels" ] || head -n 1 "$here/labels.tsv" > "$labels"
python3 "$here/labels.py" "$pcap" >> "$labels"  # ndpi42_label: fill from ndpiReader -v 2 (Unknown for all flows so far)
echo "wrote $pcap ($(wc -c < "$pcap") bytes); actions:" >&2
cut -c1-160 "$work/actions.jsonl" | sed -n '1,5p' >&2
