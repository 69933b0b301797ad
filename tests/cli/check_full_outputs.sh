#!/usr/bin/env bash
# Outputs that cannot be written in full: every output option of every command pointed at /dev/full
# (every write fails with ENOSPC), and standard output and standard error redirected there or closed. Each
# must end with exit status 1 and a message that names the file (or standard output), never exit 0 with a
# missing or cut file, never an abort.
# Arguments: the sealscope binary and the repository root.
set -u
bin=$1 root=$2
[ -c /dev/full ] || { echo "SKIP: no /dev/full here"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
cap=$root/captures/dns.pcap
rules=$root/rules/voip-curfew-mobile.yaml
canaries=$root/captures/canary-canaries.txt

# expect NEEDLE ARGS... (stdout to a file): exit 1 and NEEDLE on stderr.
expect() {
  local needle=$1; shift
  "$bin" "$@" >"$work/out" 2>"$work/err" </dev/null
  check $? "$needle" "$*"
}
# expect_stdout NEEDLE ARGS...: the same with standard output on /dev/full.
expect_stdout() {
  local needle=$1; shift
  "$bin" "$@" >/dev/full 2>"$work/err" </dev/null
  check $? "$needle" "$* >/dev/full"
}
check() {
  if [ "$1" -ne 1 ] || ! grep -qF -- "$2" "$work/err"; then
    echo "FAIL: sealscope $3 -> exit $1 (want 1), stderr: $(head -c 300 "$work/err")"; fail=1
  else
    echo "ok: sealscope $3 -> exit 1: $(head -n 1 "$work/err")"
  fi
}

expect "/dev/full: write failed: No space left on device" analyze -q --flows /dev/full "$cap"
expect "/dev/full: write failed: No space left on device" analyze -q --csv /dev/full "$cap"
expect "/dev/full: write failed: No space left on device" analyze -q --summary-json /dev/full "$cap"
expect "/dev/full: write failed: No space left on device" analyze -q --html /dev/full "$cap"
expect "/dev/full: write failed" policy test -q --rules "$rules" --pass-pcap /dev/full "$cap"
expect "/dev/full: write failed" policy test -q --rules "$rules" --drop-pcap /dev/full --pass-pcap "$work/p.pcap" "$cap"
expect "/dev/full: write failed: No space left on device" policy test -q --rules "$rules" --report-json /dev/full "$cap"
expect "/dev/full: write failed: No space left on device" audit -q --canaries "$canaries" --report-json /dev/full "$cap"
expect "/dev/full: write failed: No space left on device" policy test -q --rules "$rules" --html /dev/full "$cap"
expect "/dev/full: write failed: No space left on device" audit -q --canaries "$canaries" --html /dev/full "$cap"
printf 'file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\n' >"$work/labels.tsv"
printf 'dns.pcap\tUDP\t\t192.0.2.10:53001\t198.51.100.53:53\t0\tDNS\t\tdns\n' >>"$work/labels.tsv"
expect "/dev/full: write failed: No space left on device" eval --labels "$work/labels.tsv" "$root/captures" --report-json /dev/full
# A report that cannot be created says why, as the other outputs do.
expect "$work/no/r.json: cannot create output file: No such file or directory" \
  eval --labels "$work/labels.tsv" "$root/captures" --report-json "$work/no/r.json"
expect "$work/no/r.json: cannot create output file: No such file or directory" \
  audit -q --canaries "$canaries" --report-json "$work/no/r.json" "$cap"
expect "$work: cannot create output file: Is a directory" policy test -q --rules "$rules" --html "$work" "$cap"
expect_stdout "standard output: write failed" analyze "$cap"
expect_stdout "write failed" analyze -q --flows - "$cap"
expect_stdout "standard output: write failed" analyze -q --summary-json - "$cap"
expect_stdout "standard output: write failed" analyze -q --html - "$cap"
expect_stdout "standard output: write failed" policy test --rules "$rules" "$cap"
expect_stdout "standard output: write failed" audit --canaries "$canaries" "$cap"
expect_stdout "standard output: write failed" policy test -q --rules "$rules" --html - "$cap"
expect_stdout "standard output: write failed" audit -q --canaries "$canaries" --html - "$cap"
expect_stdout "standard output: write failed" policy check "$rules"
# A summary longer than stdio's buffer (4 KiB) fails while it is printed, not at the end: the same message
# and exit status, not an abort (fmt::print throws on a short write). Four copies of canary.pcap give the
# audit over 6 kB of failing flows to list.
for x in a b c d; do cp "$root/captures/canary.pcap" "$work/$x.pcap"; done
"$bin" audit --canaries "$canaries" "$work/a.pcap" "$work/b.pcap" "$work/c.pcap" "$work/d.pcap" >"$work/long" 2>/dev/null
if [ "$(wc -c <"$work/long")" -gt 4096 ]; then
  expect_stdout "standard output: write failed: No space left on device" \
    audit --canaries "$canaries" "$work/a.pcap" "$work/b.pcap" "$work/c.pcap" "$work/d.pcap"
else
  echo "FAIL: the long audit summary is only $(wc -c <"$work/long") bytes: the case does not test what it says"; fail=1
fi

# Started with standard output or error closed: no output file may take its number (the summary or a
# message would land in the flow records), the run must not abort, and exit 1 says something was lost.
closed() {  # closed WHICH: analyze with --flows and --summary-json, WHICH (stdout or stderr) closed
  rm -f "$work/c.jsonl" "$work/c.json"
  # The capture comes on standard input, so that the first file opened is an output.
  if [ "$1" = stdout ]; then
    "$bin" analyze --no-progress --flows "$work/c.jsonl" --summary-json "$work/c.json" - \
      <"$root/captures/truncated.pcap" >&- 2>"$work/err"
  else
    "$bin" analyze -q --flows "$work/c.jsonl" --summary-json "$work/c.json" - <"$root/captures/truncated.pcap" 2>&-
  fi
  rc=$?
  if [ "$rc" -eq 1 ] && cmp -s "$work/c.jsonl" "$work/ref.jsonl" && cmp -s "$work/c.json" "$work/ref.json"; then
    echo "ok: $1 closed: exit 1, the flow records and the summary JSON the same bytes as with it open"
  else
    echo "FAIL: $1 closed: exit $rc, or the flow records or the summary JSON differ from a normal run's"; fail=1
  fi
}
"$bin" analyze -q --flows "$work/ref.jsonl" --summary-json "$work/ref.json" - <"$root/captures/truncated.pcap" 2>/dev/null
[ -s "$work/ref.jsonl" ] && [ -s "$work/ref.json" ] || { echo "FAIL: no reference outputs"; fail=1; }
closed stdout
grep -q "standard output: write failed" "$work/err" || { echo "FAIL: stdout closed: not said"; fail=1; }
# A reader that goes away (| head): not a silent SIGPIPE death but exit 1 and one line naming standard output.
# The pipe's reading end is closed before sealscope starts, so the first write fails (no race with a reader).
python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
with open(sys.argv[3], "wb") as err:
    sys.exit(subprocess.run([sys.argv[1], "analyze", "-q", "--flows", "-", sys.argv[2]], stdout=w, stderr=err).returncode)
' "$bin" "$root/captures/mixed.pcap" "$work/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "standard output: write failed: Broken pipe" "$work/err" && [ "$(wc -l <"$work/err")" -eq 1 ]; then
  echo "ok: reader gone: exit 1, one line naming standard output"
else
  echo "FAIL: reader gone: exit $rc, stderr: $(head -c 300 "$work/err")"; fail=1
fi
closed stderr

# --ipfix to a port nothing listens on: 127.0.0.1 answers with ICMP port unreachable, which the connected
# socket reports as "Connection refused"; the run ends with exit 1 naming the collector, its other
# outputs written in full.
port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" analyze -q --flows "$work/ipfix.jsonl" --ipfix "127.0.0.1:$port" "$root/captures/mixed.pcap" >"$work/out" 2>"$work/err" </dev/null
check $? "--ipfix 127.0.0.1:$port:" "analyze --ipfix to a closed port"
if ! grep -qF "Connection refused" "$work/err" || [ "$(wc -l <"$work/ipfix.jsonl")" -ne 11 ]; then
  echo "FAIL: --ipfix to a closed port: no 'Connection refused', or the flows file cut: $(head -c 300 "$work/err")"
  fail=1
fi

# Positive control: the same commands with real files exit 0 and leave non-empty files.
if "$bin" analyze -q --flows "$work/f.jsonl" --csv "$work/f.csv" --summary-json "$work/s.json" --html "$work/r.html" \
     "$cap" >"$work/out" && [ -s "$work/r.html" ] &&
   "$bin" policy test -q --rules "$rules" --pass-pcap "$work/p.pcap" --drop-pcap "$work/d.pcap" "$cap" >"$work/out" &&
   [ -s "$work/f.jsonl" ] && [ -s "$work/f.csv" ] && [ -s "$work/s.json" ] && [ -s "$work/p.pcap" ] && [ -s "$work/d.pcap" ]; then
  echo "ok: the same outputs to real files succeed"
else
  echo "FAIL: the positive control failed"; fail=1
fi
exit $fail
