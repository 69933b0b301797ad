#!/usr/bin/env bash
# A capture named - is standard input, for analyze, policy test and audit: what comes through a pipe gives
# the same records and reports as the same bytes read from a file (pcap and pcapng, with a BPF filter,
# among other files), a stream cut short is reported with the same byte offset as the same bytes in a
# truncated file (and its flows are kept), an empty stream, a terminal, a bad filter and - given twice are
# refused with a message, and a stop request ends a wait on a quiet pipe. The pipes are real (cat |
# sealscope, a FIFO), so nothing can seek.
# Arguments: the sealscope binary and the repository root.
set -u
bin=$1 root=$2
cap=$root/captures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# same NAME FILE_A FILE_B: the two outputs are byte-identical and not empty.
same() {
  if [ -s "$2" ] && cmp -s "$2" "$3"; then ok "$1 ($(wc -l <"$2") lines)"; else bad "$1: $2 and $3 differ or are empty"; fi
}

# 1. Whole captures through a pipe, as the file: flow records and CSV byte for byte.
for f in mixed.pcap link-eth.pcapng gtpu.pcap; do
  "$bin" analyze -q "$cap/$f" --flows "$work/file.jsonl" --csv "$work/file.csv" || bad "$f from the file: exit $?"
  cat "$cap/$f" | "$bin" analyze -q - --flows "$work/pipe.jsonl" --csv "$work/pipe.csv" || bad "$f from a pipe: exit $?"
  same "$f: flows from a pipe = flows from the file" "$work/file.jsonl" "$work/pipe.jsonl"
  same "$f: CSV from a pipe = CSV from the file" "$work/file.csv" "$work/pipe.csv"
done

# 2. A BPF filter applies to standard input as to a file.
"$bin" analyze -q --bpf udp "$cap/mixed.pcap" --flows "$work/file.jsonl"
cat "$cap/mixed.pcap" | "$bin" analyze -q --bpf udp - --flows "$work/pipe.jsonl"
same "--bpf udp on a pipe = on the file" "$work/file.jsonl" "$work/pipe.jsonl"
if grep -q '"l4":"tcp"' "$work/pipe.jsonl"; then bad "--bpf udp let a TCP flow through"; fi

# 3. - among files keeps its place in the order given (flows continue across inputs).
"$bin" analyze -q "$cap/dns.pcap" "$cap/stun.pcap" "$cap/tls-sni.pcap" --flows "$work/file.jsonl"
"$bin" analyze -q "$cap/dns.pcap" - "$cap/tls-sni.pcap" --flows "$work/pipe.jsonl" <"$cap/stun.pcap"
same "dns.pcap - tls-sni.pcap < stun.pcap = the three files" "$work/file.jsonl" "$work/pipe.jsonl"

# 4. A stream cut short: exit 1, the same offset and packets as the same bytes in a file, flows kept.
for f in mixed.pcap link-eth.pcapng; do
  size=$(stat -c %s "$cap/$f")
  head -c $((size * 2 / 3)) "$cap/$f" >"$work/cut.${f##*.}"
  "$bin" analyze -q "$work/cut.${f##*.}" --flows "$work/file.jsonl" 2>"$work/file.err"
  rc_file=$?
  head -c $((size * 2 / 3)) "$cap/$f" | "$bin" analyze -q - --flows "$work/pipe.jsonl" 2>"$work/pipe.err"
  rc_pipe=${PIPESTATUS[1]}
  where_file=$(grep -o '(read [0-9]* packets, stopped at byte offset [0-9]*)' "$work/file.err")
  where_pipe=$(grep -o '(read [0-9]* packets, stopped at byte offset [0-9]*)' "$work/pipe.err")
  if [ "$rc_file" = 1 ] && [ "$rc_pipe" = 1 ] && [ -n "$where_pipe" ] && [ "$where_pipe" = "$where_file" ] &&
     grep -q '^sealscope analyze: -: ' "$work/pipe.err" && ! grep -q 'offset 0)' "$work/pipe.err"; then
    ok "$f cut to 2/3 in a pipe: exit 1, $where_pipe, as the truncated file"
  else
    bad "$f cut short: file exit $rc_file '$where_file', pipe exit $rc_pipe '$where_pipe': $(cat "$work/pipe.err")"
  fi
  same "$f cut short: the flows read before the cut are written, as from the file" "$work/file.jsonl" "$work/pipe.jsonl"
done

# expect RC NEEDLE ARGS... (standard input from $in): exit status RC and NEEDLE on stderr.
expect() {
  local rc=$1 needle=$2; shift 2
  "$@" <"$in" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$rc" ] && grep -qF -- "$needle" "$work/err"; then
    ok "$* -> exit $rc: $(head -n 1 "$work/err")"
  else
    bad "$* -> exit $got (want $rc), stderr: $(head -c 300 "$work/err")"
  fi
}
in=/dev/null
expect 1 "-: standard input is empty, not a capture" "$bin" analyze -q -
in=$cap/dns.pcap
expect 2 "- (standard input) can be given only once" "$bin" analyze -q - -
expect 2 "- (standard input) can be given only once" "$bin" audit --canaries "$cap/canary-canaries.txt" - "$cap/dns.pcap" -
rm -f "$work/never.jsonl"
expect 2 "--bpf 'port 99999': illegal port number" "$bin" analyze -q --bpf 'port 99999' - --flows "$work/never.jsonl"
if [ -e "$work/never.jsonl" ]; then bad "a bad filter on standard input still created the flows file"; fi
in=$root/README.md
expect 1 "-: not a readable pcap/pcapng capture" "$bin" analyze -q -
# A compressed capture is named as such, with the command that reads it (libpcap reads none).
gzip -c "$cap/dns.pcap" >"$work/dns.pcap.gz"
in=$work/dns.pcap.gz
expect 1 "-: gzip-compressed, not a pcap/pcapng capture; decompress it on the way in: zcat FILE | sealscope ... -" \
  "$bin" analyze -q -
expect 1 "$work/dns.pcap.gz: gzip-compressed, not a pcap/pcapng capture; decompress it on the way in: zcat $work/dns.pcap.gz |" \
  "$bin" audit -q --canaries "$cap/canary-canaries.txt" "$work/dns.pcap.gz"

# A terminal on standard input is refused, not waited on (script(1) gives the command a terminal; where
# no pseudo-terminal can be made, as in a chroot without /dev/pts, the case is skipped).
if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
  script -qec "$bin analyze -q -" /dev/null >"$work/tty.out" 2>&1
  rc=$?
  if [ "$rc" = 1 ] && grep -q 'standard input is a terminal' "$work/tty.out"; then
    ok "a terminal on standard input -> exit 1: $(tr -d '\r' <"$work/tty.out" | head -n 1)"
  else
    bad "a terminal on standard input -> exit $rc: $(head -c 300 "$work/tty.out")"
  fi
else
  echo "skip: no script(1) or no pseudo-terminal for the terminal case"
fi

# 5. The progress bar on a pipe counts bytes (no size, so no percentage).
cat "$cap/mixed.pcap" | "$bin" analyze --progress - 2>"$work/progress" >/dev/null
last=$(tr '\r' '\n' <"$work/progress" | grep -v '^$' | tail -n 1)
if echo "$last" | grep -q '^- 0\.4 MB read [0-9]* pkt/s' && ! grep -q '%' "$work/progress"; then
  ok "progress on a pipe: '$last'"
else
  bad "progress on a pipe: $(head -c 300 "$work/progress")"
fi

# 6. A stop request ends a wait on a quiet pipe (say tcpdump -w - on a link with no traffic): SIGINT and
# SIGTERM give exit 130 within seconds, with the flows read so far written, while the writer keeps the pipe
# open. The writer is this shell, through a FIFO, so nothing is left behind.
for sig in INT TERM; do
  rm -f "$work/fifo" "$work/int.jsonl"
  mkfifo "$work/fifo"
  "$bin" analyze - --flows "$work/int.jsonl" <"$work/fifo" >"$work/int.out" 2>"$work/int.err" &
  pid=$!
  exec 3>"$work/fifo"
  cat "$cap/dns.pcap" >&3
  # Signal once sealscope waits for more data (its main thread sleeps in poll), so a slow start (a
  # sanitizer build on a busy machine) cannot take the signal before the handlers are in place.
  for _ in $(seq 100); do
    grep -q poll "/proc/$pid/wchan" 2>/dev/null && break
    sleep 0.1
  done
  kill -"$sig" "$pid"
  waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    bad "SIG$sig: still waiting on the quiet pipe 5 s later"
    exec 3>&-
    wait "$pid"
  else
    wait "$pid"
    rc=$?
    exec 3>&-
    "$bin" analyze -q "$cap/dns.pcap" --flows "$work/file.jsonl"
    if [ "$rc" = 130 ] && grep -q INTERRUPTED "$work/int.out" && cmp -s "$work/file.jsonl" "$work/int.jsonl"; then
      ok "SIG$sig while the pipe is quiet: exit 130, the $(wc -l <"$work/int.jsonl") flows read so far written"
    else
      bad "SIG$sig on a quiet pipe: exit $rc, $(cat "$work/int.out" "$work/int.err" | head -c 300)"
    fi
  fi
done

# 7. policy test and audit: the report from a pipe is the file's, but for the input's name.
rules=$root/rules/calls-blocked-chat-allowed.yaml
"$bin" policy test -q --rules "$rules" --report-json "$work/file.json" "$cap/mixed.pcap"
cat "$cap/mixed.pcap" | "$bin" policy test -q --rules "$rules" --report-json "$work/pipe.json" -
sed "s|\"$cap/mixed.pcap\"|\"-\"|g" "$work/file.json" >"$work/file-renamed.json"
same "policy test report from a pipe = from the file" "$work/file-renamed.json" "$work/pipe.json"
"$bin" audit -q --canaries "$cap/canary-canaries.txt" --report-json "$work/file.json" "$cap/canary.pcap" >/dev/null
rc_file=$?
cat "$cap/canary.pcap" | "$bin" audit -q --canaries "$cap/canary-canaries.txt" --report-json "$work/pipe.json" - >/dev/null
rc_pipe=${PIPESTATUS[1]}
sed "s|\"$cap/canary.pcap\"|\"-\"|g" "$work/file.json" >"$work/file-renamed.json"
same "audit report from a pipe = from the file" "$work/file-renamed.json" "$work/pipe.json"
if [ "$rc_file" = 3 ] && [ "$rc_pipe" = 3 ]; then ok "audit verdict FAIL (exit 3) both ways on canary.pcap"; else
  bad "audit exit: file $rc_file, pipe $rc_pipe (want 3, canary.pcap carries canaries in clear)"; fi

exit $fail
