#!/bin/sh
# Record labelled sealchat traffic on loopback: starts a sealrelay, plays a scenario with sealchat,
# captures with tcpdump (libpcap), writes captures/sealchat-NAME.pcap and appends its flows to labels.tsv.
# usage: captures/sealchat/record.sh BUILD_DIR SCENARIO.yaml NAME [OUT_DIR]
# Needs root (or CAP_NET_RAW) for tcpdump on lo. Uses the default ports 5443/5444 (TCP) and 5445 (UDP).
set -eu
build=$1
scenario=$2
name=$3
here=$(cd "$(dirname "$0")" && pwd)
out=${4:-$(dirname "$here")}
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

tcpdump -i lo -s 0 -U -w "$pcap" 'tcp port 5443 or tcp port 5444 or udp port 5445' 2>"$work/tcpdump.log" &
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
python3 "$here/labels.py" "$pcap" >> "$here/labels.tsv"  # ndpi42_label: fill from ndpiReader -v 2 (Unknown for all flows so far)
echo "wrote $pcap ($(wc -c < "$pcap") bytes); actions:" >&2
cut -c1-160 "$work/actions.jsonl" | sed -n '1,5p' >&2
