#!/usr/bin/env bash
# Live capture for real: two network namespaces joined by a veth pair, made and removed by this test.
# sealscope captures on one end for a bounded time while 10 UDP datagrams and one TCP connection cross
# from the other; the flow records must show them, the idle UDP flow's while the capture still runs (ended
# by the wall clock and flushed at once). Promiscuous mode by default and not with --no-promisc; a burst
# past a small --buffer-mib counted as kernel drops to the packet. Also: an unknown interface and missing
# permissions each give one clear line and exit status 1. Traffic stays inside the namespaces (3 000
# datagrams at most per burst); skips (77) without root or iproute2. The first capture also sends its records
# with --ipfix to a receiver on the namespace's loopback: live, one message per record, as each flow ends.
set -u
bin=$1
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2 not installed"; exit 77; }
# `ip netns exec` remounts / as a slave mount: impossible inside a chroot whose / is no mount point.
if command -v mountpoint >/dev/null && ! mountpoint -q /; then
  echo "SKIP: / is not a mount point here (a chroot?): ip netns exec cannot work"; exit 77
fi
tag=ss$$
a=${tag}a b=${tag}b
tmp=$(mktemp -d)
rpid=
cleanup() {
  [ -n "$rpid" ] && kill "$rpid" 2>/dev/null
  ip netns del "$a" 2>/dev/null
  ip netns del "$b" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

ip netns add "$a" && ip netns add "$b" || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip link add "${tag}x" netns "$a" type veth peer name "${tag}y" netns "$b" || fail "cannot create veth pair"
ip -n "$a" addr add 10.77.0.1/24 dev "${tag}x" && ip -n "$a" link set "${tag}x" up && ip -n "$a" link set lo up
ip -n "$b" addr add 10.77.0.2/24 dev "${tag}y" && ip -n "$b" link set "${tag}y" up && ip -n "$b" link set lo up

# Waits until a capture's packet socket exists in namespace $a (not a fixed sleep: a loaded machine starts
# sealscope slowly), at most 5 s, then a little longer ($1 s, default 0.3) for the filter to be attached.
wait_for_capture() {
  for _ in $(seq 1 50); do
    [ "$(ip netns exec "$a" cat /proc/net/packet | wc -l)" -gt 1 ] && break
    sleep 0.1
  done
  sleep "${1:-0.3}"
}

# An IPFIX collector stand-in on namespace $a's loopback: logs each datagram's version, length, sequence
# number and size; it ends after 30 s without one (and at cleanup).
ip netns exec "$a" python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 4739))
s.settimeout(30)
with open(sys.argv[1], "a", buffering=1) as f:
    while True:
        try:
            d = s.recv(65535)
        except socket.timeout:
            break
        version, length, _, seq = struct.unpack("!HHII", d[:12])
        f.write(f"{version} {length} {seq} {len(d)}\n")
' "$tmp/ipfix.log" &
rpid=$!
for _ in $(seq 1 50); do
  ip netns exec "$a" grep -q ':12C3 ' /proc/net/udp && break  # 4739 = 0x12C3
  sleep 0.1
done
# --udp-timeout 1: the UDP flow must end idle while the capture still runs (by the wall clock, the link
# being quiet after it), and its record must be in the file then (flushed, not held in a buffer), and
# sent to the IPFIX collector at once, one record per message.
ip netns exec "$a" "$bin" analyze -q -i "${tag}x" --duration 8 --bpf "udp or tcp" --udp-timeout 1 \
  --flows "$tmp/flows.jsonl" --csv "$tmp/flows.csv" --summary-json "$tmp/summary.json" \
  --ipfix 127.0.0.1:4739 2>"$tmp/err" &
pid=$!
wait_for_capture
# libpcap asks for promiscuous mode per socket (PACKET_MR_PROMISC): the link's flags do not show it, its
# promiscuity count (ip -details) does.
promiscuity() { ip -d -n "$a" link show "${tag}x" | grep -o 'promiscuity [0-9]*' | cut -d' ' -f2; }
[ "$(promiscuity)" = 1 ] || fail "the capture did not make ${tag}x promiscuous: $(ip -d -n "$a" link show "${tag}x")"
# 10 datagrams from one socket to 10.77.0.99:9999 (a static neighbour entry sends them to the capturing
# end, which has no such address and silently drops them: no ICMP error breaks the socket), and one
# refused TCP connection (SYN out, RST back): bash's /dev/udp and /dev/tcp, no server needed.
mac=$(ip -n "$a" link show "${tag}x" | awk '/link\/ether/ {print $2}')
ip -n "$b" neigh add 10.77.0.99 lladdr "$mac" dev "${tag}y" || fail "cannot add the neighbour entry"
ip netns exec "$b" bash -c 'exec 3>/dev/udp/10.77.0.99/9999; for i in $(seq 1 10); do echo "datagram $i" >&3; sleep 0.05; done'
ip netns exec "$b" bash -c 'exec 3<>/dev/tcp/10.77.0.1/9' 2>/dev/null
# The UDP flow's record, 1 s idle plus at most 1.5 s of clock slack after its last datagram, well before
# the capture's 8 s are up.
for i in $(seq 1 50); do
  grep -q '"dst_port":9999' "$tmp/flows.jsonl" 2>/dev/null && break
  sleep 0.1
done
kill -0 $pid 2>/dev/null || fail "the capture ended before the UDP flow's record could be checked"
grep '"dst_port":9999' "$tmp/flows.jsonl" | grep -q '"end":"idle"' ||
  fail "UDP flow idle for 1 s on a quiet link: no record with end idle during the capture: $(cat "$tmp/flows.jsonl")"
grep -q ',9999,udp,' "$tmp/flows.csv" || fail "UDP flow's CSV row not written during the capture: $(cat "$tmp/flows.csv")"
for i in $(seq 1 20); do
  [ -s "$tmp/ipfix.log" ] && break
  sleep 0.1
done
[ -s "$tmp/ipfix.log" ] || fail "--ipfix: no message while the capture runs, after the UDP flow's record was written"
echo "ok: an idle flow's record is written (JSONL, CSV and IPFIX) while the capture runs"
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "live capture exited $rc: $(cat "$tmp/err")"
grep -q '"src_ip":"10.77.0.2"' "$tmp/flows.jsonl" || fail "no flow from 10.77.0.2 ($(wc -l < "$tmp/flows.jsonl") flows)"
udp=$(grep '"dst_port":9999' "$tmp/flows.jsonl" | head -n 3)
echo "$udp" | grep -q '"l4":"udp"' || fail "no UDP flow to port 9999"
echo "$udp" | grep -q '"packets":{"up":10,"down":0}' || fail "UDP flow should have 10 packets up: $udp"
tcp=$(grep '"dst_port":9,' "$tmp/flows.jsonl")
echo "$tcp" | grep -q '"SYN":1' || fail "refused TCP connection: expected 1 SYN: $tcp"
echo "$tcp" | grep -q '"RST":1' || fail "refused TCP connection: expected the RST: $tcp"
grep -q "\"inputs\": \[" "$tmp/summary.json" || fail "no summary"
# Live, each record goes out in a message of its own as its flow ends: message k carries sequence number k.
records=$(wc -l < "$tmp/flows.jsonl")
sleep 0.3
awk -v n="$records" '$1 != 10 || $2 != $4 || $3 != NR - 1 { bad = 1 } END { exit bad || NR != n }' "$tmp/ipfix.log" ||
  fail "--ipfix live: expected $records messages (version 10, sequence numbers 0, 1, ...), got: $(cat "$tmp/ipfix.log")"
echo "ok: --ipfix live: $records records in $records messages, one per record as its flow ended"
echo "ok: live capture on a veth in a test namespace: UDP 10 up, TCP SYN/RST"

# --no-promisc leaves the interface as it was.
ip netns exec "$a" "$bin" analyze -q -i "${tag}x" --duration 1 --no-promisc 2>"$tmp/err.np" &
pid=$!
wait_for_capture 0.2
kill -0 $pid 2>/dev/null || fail "--no-promisc capture ended early: $(cat "$tmp/err.np")"
[ "$(promiscuity)" = 0 ] || fail "--no-promisc: ${tag}x is promiscuous: $(ip -d -n "$a" link show "${tag}x")"
wait $pid || fail "--no-promisc capture failed: $(cat "$tmp/err.np")"
echo "ok: promiscuous by default, not with --no-promisc"

# Drops are counted, not lost: the capture is stopped (SIGSTOP) while a burst of 3000 datagrams of 1400
# bytes (about 4.4 MB) crosses. A 1 MiB buffer cannot hold them: every datagram is either in a record or
# counted as a kernel drop. A 64 MiB buffer holds them all: no drop.
burst() {  # burst BUFFER_MIB PORT
  ip netns exec "$a" "$bin" analyze -i "${tag}x" --duration 6 --bpf "udp port $2" --buffer-mib "$1" \
    --flows "$tmp/burst$1.jsonl" --summary-json "$tmp/burst$1.json" > "$tmp/burst$1.out" 2>"$tmp/err.burst$1" &
  local p=$!
  wait_for_capture
  kill -STOP $p
  ip netns exec "$b" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    s.sendto(b"b" * 1400, ("10.77.0.99", int(sys.argv[1])))' "$2" || fail "burst: cannot send"
  sleep 0.5
  kill -CONT $p
  wait $p || fail "burst with --buffer-mib $1: exit status $?: $(cat "$tmp/err.burst$1")"
  counts=$(python3 - "$tmp/burst$1.jsonl" "$tmp/burst$1.json" 2>&1 <<'PY'
import json, sys
seen = sum(r["packets"]["up"] + r["packets"]["down"] for r in map(json.loads, open(sys.argv[1])))
s = json.load(open(sys.argv[2]))
k, i = s["kernel_drops"], s["interface_drops"]
print(f"  captured {seen}, kernel drops {k}, interface drops {i}")
sys.exit(0 if seen + k + i == 3000 else f"captured {seen} + dropped {k} + {i} is not the 3000 sent")
PY
  ) || fail "burst with --buffer-mib $1: $counts"
  echo "$counts"
}
counts=
burst 1 9001
case $counts in *"kernel drops 0,"*) fail "a 1 MiB buffer held a 4.4 MB burst: no kernel drop counted";; esac
grep -q '^dropped before sealscope saw them: [1-9][0-9]* by the kernel' "$tmp/burst1.out" ||
  fail "summary does not report the kernel drops: $(cat "$tmp/burst1.out")"
burst 64 9002
case $counts in *"captured 3000, kernel drops 0,"*) ;; *) fail "a 64 MiB buffer lost part of a 4.4 MB burst";; esac
grep -q '^dropped before sealscope saw them: 0 by the kernel' "$tmp/burst64.out" ||
  fail "summary of a capture without drops: $(cat "$tmp/burst64.out")"
echo "ok: a burst past a 1 MiB buffer is counted as kernel drops; a 64 MiB buffer holds it"

# Unknown interface: one clear line, exit 1, and no output touched (the interface is opened before any
# output is created: an earlier run's flows file stays as it was).
echo "an earlier run's flows" > "$tmp/keep.jsonl"
ip netns exec "$a" "$bin" analyze -q -i "${tag}nope" --duration 1 --flows "$tmp/keep.jsonl" \
  --summary-json "$tmp/none.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "unknown interface: exit $rc, expected 1"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "unknown interface: expected one line, got: $(cat "$tmp/err")"
grep -q "no such interface" "$tmp/err" || fail "unknown interface message: $(cat "$tmp/err")"
[ "$(cat "$tmp/keep.jsonl")" = "an earlier run's flows" ] || fail "unknown interface: --flows file truncated"
[ ! -e "$tmp/none.json" ] || fail "unknown interface: --summary-json written for a capture that never started"
echo "ok: $(cat "$tmp/err")"

# Missing permission: an unprivileged user gets the capability hint, exit 1.
if command -v setpriv >/dev/null; then
  cp "$bin" "$tmp/sealscope" && chmod 755 "$tmp" "$tmp/sealscope"
  ip netns exec "$a" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$tmp/sealscope" analyze -q -i "${tag}x" --duration 1 2>"$tmp/err.perm"
  rc=$?
  [ $rc -eq 1 ] || fail "unprivileged capture: exit $rc, expected 1 ($(cat "$tmp/err.perm"))"
  grep -q "CAP_NET_RAW" "$tmp/err.perm" || fail "unprivileged capture message: $(cat "$tmp/err.perm")"
  echo "ok: $(cat "$tmp/err.perm")"
fi

# SIGTERM (as Ctrl-C) is a live capture's normal end: exit status 0, the summary written, not "interrupted".
ip netns exec "$a" "$bin" analyze -q -i "${tag}x" --duration 20 --summary-json "$tmp/term.json" 2>"$tmp/err.term" &
pid=$!
wait_for_capture 0.5  # the socket is opened just before the signal handlers are installed
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "SIGTERM during a live capture: exit $rc, expected 0 ($(cat "$tmp/err.term"))"
grep -q '"interrupted": false' "$tmp/term.json" || fail "SIGTERM during a live capture: summary: $(cat "$tmp/term.json")"
echo "ok: SIGTERM ends a live capture with status 0 and its summary"

# The interface removed during the capture: the run stops at once with one line naming it (no byte offset,
# which an interface does not have), exit status 1, and the flows seen until then are written.
ip netns exec "$a" "$bin" analyze -q -i "${tag}x" --duration 20 --bpf udp --flows "$tmp/gone.jsonl" 2>"$tmp/err.gone" &
pid=$!
wait_for_capture
ip netns exec "$b" bash -c 'exec 3>/dev/udp/10.77.0.99/9998; for i in 1 2 3; do echo "datagram $i" >&3; done'
sleep 0.3
ip -n "$a" link del "${tag}x"
wait $pid
rc=$?
[ $rc -eq 1 ] || fail "interface removed: exit $rc, expected 1 ($(cat "$tmp/err.gone"))"
[ "$(wc -l < "$tmp/err.gone")" -eq 1 ] || fail "interface removed: expected one line, got: $(cat "$tmp/err.gone")"
grep -q "^sealscope analyze: ${tag}x: .*(capture stopped after 3 packets; " "$tmp/err.gone" ||
  fail "interface removed: message: $(cat "$tmp/err.gone")"
grep -q '"dst_port":9998.*"packets":{"up":3,"down":0}' "$tmp/gone.jsonl" ||
  fail "interface removed: the flow seen before is not written: $(cat "$tmp/gone.jsonl")"
echo "ok: $(cat "$tmp/err.gone")"
exit 0
