#!/bin/sh
# Record labelled sealchat traffic on loopback: starts a sealrelay, plays a scenario with sealchat,
# captures with tcpdump (libpcap), writes captures/sealchat-NAME.pcap and appends its flows to labels.tsv.
# usage: captures/sealchat/record.sh BUILD_DIR SCENARIO.yaml NAME [OUT_DIR]
#   BUILD_DIR  a build with sealrelay and sealchat (cmake --build BUILD_DIR --target sealrelay sealchat)
#   OUT_DIR    where sealchat-NAME.pcap goes (default: captures/)
# environment:
#   LABELS          labels file to append to (default: captures/sealchat/labels.tsv); /dev/null: no labels
#   PORTS           "auto": the relay takes free ports and the capture filter and the scenario follow them
#                   (for runs beside other tests); default: 5443/5444 (TCP) and 5445 (UDP), which must be
#                   free, and the scenario's relay must be 127.0.0.1:5443
#   LISTEN          the relay's address (default 127.0.0.1; ::1 records over IPv6); with PORTS=auto the
#                   scenario follows it, otherwise the scenario's relay must name it
#   SEALRELAY_ARGS  extra sealrelay arguments (e.g. --allow-null-cipher)
#   SEALCHAT_ARGS   extra sealchat arguments (e.g. --null-cipher)
# Needs tcpdump (scripts/install-deps.sh installs it) and root or CAP_NET_RAW for capturing on lo: exits 77
# (the ctest "skipped" status) when tcpdump cannot capture. Exits non-zero if the scenario fails (see
# sealchat(1): every message must arrive). The capture is recorded under a temporary name in OUT_DIR and
# moved into place only when the run succeeded: a failed run leaves an existing sealchat-NAME.pcap as it was.
set -eu
[ $# -ge 3 ] || { sed -n '2,19p' "$0" >&2; exit 2; }
build=$1
scenario=$2
name=$3
here=$(cd "$(dirname "$0")" && pwd)
out=${4:-$(dirname "$here")}
labels=${LABELS:-$here/labels.tsv}
ports_mode=${PORTS:-fixed}
listen=${LISTEN:-127.0.0.1}
case $listen in
    *:*) relay_host="[$listen]" ;;  # an IPv6 address: in brackets before a port (sealchat(1))
    *) relay_host=$listen ;;
esac
command -v tcpdump >/dev/null || { echo "record.sh: tcpdump not found (run scripts/install-deps.sh)" >&2; exit 2; }
for b in sealrelay sealchat; do
    [ -x "$build/$b" ] || { echo "record.sh: $build/$b not built" >&2; exit 2; }
done
case $ports_mode in
    auto) relay_ports="--chat-port 0 --blob-port 0 --media-port 0" ;;
    fixed) relay_ports="--chat-port 5443 --blob-port 5444 --media-port 5445" ;;
    *) echo "record.sh: PORTS must be 'auto' or unset" >&2; exit 2 ;;
esac
mkdir -p "$out"
pcap="$out/sealchat-$name.pcap"
work=$(mktemp -d /tmp/sealchat-record.XXXXXX)
# The recording, under its final file name (labels.py labels flows by it), in a folder beside the
# destination so that the last step is a rename.
part_dir=
relay_pid=
dump_pid=
cleanup() {
    [ -n "$dump_pid" ] && kill -INT "$dump_pid" 2>/dev/null && wait "$dump_pid" 2>/dev/null || true
    [ -n "$relay_pid" ] && kill -TERM "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null || true
    rm -rf "$work"
    [ -z "$part_dir" ] || rm -rf "$part_dir"
}
trap cleanup EXIT
trap 'exit 143' INT TERM
part_dir=$(mktemp -d "$out/.sealchat-$name.XXXXXX")
part="$part_dir/sealchat-$name.pcap"

# shellcheck disable=SC2086  # the *_ARGS and port lists are meant to be split into words
"$build/sealrelay" -d "$work/relay" -l "$work/relay.log" --ports-file "$work/ports" --listen "$listen" $relay_ports \
    ${SEALRELAY_ARGS:-} &
relay_pid=$!
i=0
while [ ! -s "$work/ports" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$relay_pid" 2>/dev/null; then
        echo "record.sh: sealrelay did not start" >&2; exit 1
    fi
    sleep 0.1
done
chat=$(sed -n 's/^chat=//p' "$work/ports")
blob=$(sed -n 's/^blob=//p' "$work/ports")
media=$(sed -n 's/^media=//p' "$work/ports")

: > "$work/tcpdump.log"
# -Z: keep the capture owned by the invoking user (tcpdump otherwise switches to its own account).
tcpdump -Z "$(id -un)" -i lo -s 0 -U -w "$part" "tcp port $chat or tcp port $blob or udp port $media" \
    2>"$work/tcpdump.log" &
dump_pid=$!
i=0
while ! grep -q listening "$work/tcpdump.log"; do
    i=$((i + 1))
    if ! kill -0 "$dump_pid" 2>/dev/null; then
        dump_pid=
        sed 's/^/tcpdump: /' "$work/tcpdump.log" >&2
        if grep -qi -e 'permission' -e 'not permitted' "$work/tcpdump.log"; then
            echo "record.sh: tcpdump cannot capture on lo (needs root or CAP_NET_RAW): skipped" >&2
            exit 77
        fi
        echo "record.sh: tcpdump failed" >&2; exit 1
    fi
    [ $i -gt 100 ] && { echo "record.sh: tcpdump did not start" >&2; exit 1; }
    sleep 0.1
done
scenario_args=
[ "$ports_mode" = auto ] && scenario_args="--relay $relay_host:$chat --blob-port $blob"
# shellcheck disable=SC2086
if ! "$build/sealchat" --log "$work/actions.jsonl" ${SEALCHAT_ARGS:-} $scenario_args scenario "$scenario"; then
    echo "record.sh: scenario failed; relay log:" >&2
    tail -n 20 "$work/relay.log" >&2
    exit 1
fi
sleep 1
kill -INT "$dump_pid"; wait "$dump_pid" || true; dump_pid=
kill -TERM "$relay_pid"; wait "$relay_pid" || true; relay_pid=
if [ "$labels" != /dev/null ]; then
    # ndpi42_label: fill from ndpiReader -v 2 (Unknown for all flows so far)
    python3 "$here/labels.py" "$part" "$chat" "$blob" "$media" > "$work/labels"
fi
mv -f "$part" "$pcap"
if [ "$labels" != /dev/null ]; then
    [ -s "$labels" ] || head -n 1 "$here/labels.tsv" > "$labels"
    cat "$work/labels" >> "$labels"
fi
echo "wrote $pcap ($(wc -c < "$pcap") bytes); actions:" >&2
cut -c1-160 "$work/actions.jsonl" | sed -n '1,5p' >&2
