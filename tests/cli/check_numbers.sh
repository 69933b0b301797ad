#!/usr/bin/env bash
# Number options: a negative value given to an option that counts or times something is refused with a
# usage error that names the option, by every program, instead of being read as 2^32 - N (what
# Boost.Program_options alone does). A positive control shows the same options still work. Also:
# --duration with capture files is refused (it only bounds live capture), and idle timeouts of 0 mean never.
# --tz must name a known zone and comes with --html. --ipfix must be HOST:PORT with a host that resolves.
# Misspelt command names get a did-you-mean.
# Arguments: BINDIR (sealscope, sealrelay, sealchat) and the repository root.
set -u
bin=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
cap=$root/captures/dns.pcap

# expect RC NEEDLE PROGRAM ARGS...: exit status RC, NEEDLE on stderr, nothing on stdout.
expect() {
  local rc=$1 needle=$2; shift 2
  "$@" >"$work/out" 2>"$work/err" </dev/null
  local got=$?
  if [ "$got" -ne "$rc" ] || ! grep -qF -- "$needle" "$work/err" || [ -s "$work/out" ]; then
    echo "FAIL: $* -> exit $got (want $rc), stderr: $(head -c 300 "$work/err"), stdout bytes: $(wc -c <"$work/out")"
    fail=1
  else
    echo "ok: $* -> exit $rc: $(head -n 1 "$work/err")"
  fi
}

neg="is invalid: expected a whole number, 0 or more"
expect 2 "'--max-flows' $neg" "$bin/sealscope" analyze --max-flows -1 "$cap"
expect 2 "'--tcp-timeout' $neg" "$bin/sealscope" analyze --tcp-timeout=-5 "$cap"
expect 2 "'--max-udp-packets' $neg" "$bin/sealscope" analyze --max-udp-packets -24 "$cap"
expect 2 "'--splt' $neg" "$bin/sealscope" analyze --splt -1 "$cap"
expect 2 "'--workers' $neg" "$bin/sealscope" analyze --workers -2 "$cap"
expect 2 "--duration must be 0 (until Ctrl-C) or more seconds" "$bin/sealscope" analyze --duration -3 -i lo
expect 2 "--duration is for live capture (-i)" "$bin/sealscope" analyze --duration 5 "$cap"
# --tz: an IANA zone, and only for the --html page (records and summaries stay UTC).
expect 2 "--tz: unknown time zone 'Mars/Olympus' (expected an IANA name like Europe/Berlin" \
  "$bin/sealscope" analyze --tz Mars/Olympus --html "$work/p.html" "$cap"
expect 2 "--tz sets the zone of the --html page's hour-of-day table; give --html FILE too" \
  "$bin/sealscope" analyze --tz Europe/Berlin --flows "$work/f.jsonl" "$cap"
if [ -e "$work/p.html" ] || [ -e "$work/f.jsonl" ]; then echo "FAIL: a refused --tz wrote an output"; fail=1; fi
expect 2 "'--max-hits' $neg" "$bin/sealscope" audit --max-hits -1 --canaries "$root/captures/canary-canaries.txt" "$cap"
expect 2 "'--udp-timeout' $neg" "$bin/sealscope" policy test --rules "$root/rules/voip-curfew-mobile.yaml" --udp-timeout -1 "$cap"
if [ -x "$bin/sealrelay" ]; then
  expect 2 "sealrelay: the argument ('-1') for option '--chat-port' $neg" "$bin/sealrelay" --chat-port -1
  expect 2 "sealrelay: the argument ('-1') for option '--max-queued-envelopes' $neg" \
    "$bin/sealrelay" --max-queued-envelopes -1
  expect 2 "sealchat: --seconds must be between 0 and 86400" "$bin/sealchat" --seconds -5 call bob
  expect 2 "sealchat: the argument ('-5443') for option '--blob-port' $neg" "$bin/sealchat" --blob-port -5443 whoami
fi

# --ipfix HOST:PORT: the port is required and 1-65535, an IPv6 address in brackets, the host resolvable; all
# refused before any input is read or output written, naming the option.
expect 2 "--ipfix '127.0.0.1': expected HOST:PORT" "$bin/sealscope" analyze --ipfix 127.0.0.1 --flows "$work/i.jsonl" "$cap"
expect 2 "--ipfix '127.0.0.1:0': the port must be a number from 1 to 65535" "$bin/sealscope" analyze --ipfix 127.0.0.1:0 "$cap"
expect 2 "--ipfix '127.0.0.1:70000': the port must be a number from 1 to 65535" "$bin/sealscope" analyze --ipfix 127.0.0.1:70000 "$cap"
expect 2 "--ipfix '::1:4739': an IPv6 address is written in brackets" "$bin/sealscope" analyze --ipfix ::1:4739 "$cap"
expect 2 "--ipfix 'no-such-host.invalid:4739': cannot resolve 'no-such-host.invalid'" \
  "$bin/sealscope" analyze --ipfix no-such-host.invalid:4739 "$cap"
expect 2 "--ipfix-domain sets the observation domain of --ipfix" "$bin/sealscope" analyze --ipfix-domain 5 "$cap"
expect 2 "'--ipfix-domain' $neg" "$bin/sealscope" analyze --ipfix 127.0.0.1:4739 --ipfix-domain -1 "$cap"
if [ -e "$work/i.jsonl" ]; then echo "FAIL: a refused --ipfix wrote an output"; fail=1; fi

# Misspelt command names: a usage error that suggests the command, and none for a word close to nothing.
expect 2 "unknown command 'analyse' (did you mean 'analyze'?)" "$bin/sealscope" analyse "$cap"
expect 2 "unknown sub-command 'lint' (did you mean 'check'?)" "$bin/sealscope" policy lint rules.yaml
expect 2 "unknown sub-command 'tset' (did you mean 'test'?)" "$bin/sealscope" policy tset
expect 2 "unknown command 'frobnicate'" "$bin/sealscope" frobnicate
# Two outputs cannot share standard output.
expect 2 "only one of --flows, --csv, --summary-json and --html can be - (stdout)" \
  "$bin/sealscope" analyze --html - --csv - "$cap"
expect 2 "only one of --report-json and --html can be - (stdout)" \
  "$bin/sealscope" policy test --rules "$root/rules/voip-curfew-mobile.yaml" --html - --report-json - "$cap"
expect 2 "only one of --report-json and --html can be - (stdout)" \
  "$bin/sealscope" audit --canaries "$root/captures/canary-canaries.txt" --html - --report-json - "$cap"
if grep -q "did you mean" "$work/err"; then echo "FAIL: a suggestion for 'frobnicate'"; fail=1; fi

# Positive control: the same options with values in range run as before.
if "$bin/sealscope" analyze -q --max-flows 1 --tcp-timeout 5 --max-udp-packets 24 --splt 0 --workers 1 \
     --summary-json "$work/s.json" "$cap" 2>"$work/err" && grep -q '"flows"' "$work/s.json"; then
  echo "ok: in-range values still accepted"
else
  echo "FAIL: in-range values refused: $(head -c 300 "$work/err")"; fail=1
fi
# Idle timeouts of 0 mean "never" (as --active-timeout 0): tls-sni.pcap keeps its 2 flows, where a
# timeout that ended flows at once would give one per packet (41).
tls=$root/captures/tls-sni.pcap
"$bin/sealscope" analyze -q --tcp-timeout 0 --udp-timeout 0 --other-timeout 0 --summary-json "$work/t0.json" \
  "$tls" 2>"$work/err"
"$bin/sealscope" analyze -q --summary-json "$work/td.json" "$tls" 2>>"$work/err"
f0=$(grep -o '"flows": *[0-9]*' "$work/t0.json" | head -n 1 | grep -o '[0-9]*$')
fd=$(grep -o '"flows": *[0-9]*' "$work/td.json" | head -n 1 | grep -o '[0-9]*$')
if [ -n "$f0" ] && [ "$f0" = "$fd" ] && [ "$f0" -lt 41 ]; then
  echo "ok: idle timeouts of 0 keep flows whole ($f0 flows, as with the defaults)"
else
  echo "FAIL: idle timeouts of 0: '$f0' flows, defaults '$fd' ($(head -c 300 "$work/err"))"; fail=1
fi
# --progress draws even with -q (which silences the summary only); with --no-progress too it is refused.
"$bin/sealscope" analyze -q --progress "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 0 ] && grep -q '100.0%' "$work/err"; then
  echo "ok: -q --progress draws the bar"
else
  echo "FAIL: -q --progress drew no bar: $(head -c 200 "$work/err")"; fail=1
fi
"$bin/sealscope" analyze -q "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 0 ] && [ ! -s "$work/err" ]; then
  echo "ok: -q alone, stderr not a terminal: no bar"
else
  echo "FAIL: -q alone wrote to stderr: $(head -c 200 "$work/err")"; fail=1
fi
"$bin/sealscope" analyze -q --progress --no-progress "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 2 ] && grep -qF -- "--progress and --no-progress" "$work/err"; then
  echo "ok: --progress with --no-progress refused"
else
  echo "FAIL: --progress with --no-progress: $(head -c 200 "$work/err")"; fail=1
fi
# policy test: a pcap output cannot be standard output (the summary is printed there); the rules file's
# warnings (an unknown name with its did-you-mean) are shown in a dry run too, not only by policy check.
printf 'rules:\n  - {name: calls, label: WhatsAppCal, action: block}\ndefault: allow\n' >"$work/typo.yaml"
"$bin/sealscope" policy test -q --rules "$work/typo.yaml" --pass-pcap - "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 2 ] && grep -qF -- "--pass-pcap writes a pcap file" "$work/err"; then
  echo "ok: policy test --pass-pcap - refused"
else
  echo "FAIL: policy test --pass-pcap -: $(head -c 200 "$work/err")"; fail=1
fi
"$bin/sealscope" policy test -q --rules "$work/typo.yaml" "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 0 ] && grep -qF "did you mean 'WhatsAppCall'" "$work/err"; then
  echo "ok: policy test shows the rules file's warnings"
else
  echo "FAIL: policy test hid the rules file's warnings: $(head -c 200 "$work/err")"; fail=1
fi
# policy test --labels: a missing or headerless labels file is the command line's (exit 2, nothing run);
# one with no row for the captures given is a warning.
rules=$root/rules/calls-blocked-chat-allowed.yaml
"$bin/sealscope" policy test -q --rules "$rules" --labels "$work/none.tsv" "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 2 ] && grep -qF "none.tsv: cannot open labels file: No such file" "$work/err"; then
  echo "ok: policy test: a missing labels file is a usage error"
else
  echo "FAIL: policy test, missing labels file: $(head -c 200 "$work/err")"; fail=1
fi
: >"$work/empty.tsv"
"$bin/sealscope" policy test -q --rules "$rules" --labels "$work/empty.tsv" "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 2 ] && grep -qF "empty.tsv:1:1: no header" "$work/err"; then
  echo "ok: policy test: an empty labels file is a usage error"
else
  echo "FAIL: policy test, empty labels file: $(head -c 200 "$work/err")"; fail=1
fi
printf 'file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\nother.pcap\tTCP\t\t192.0.2.1:1\t192.0.2.2:2\t1\tTLS\t\tother\n' >"$work/other.tsv"
"$bin/sealscope" policy test -q --rules "$rules" --labels "$work/other.tsv" "$tls" >/dev/null 2>"$work/err"
if [ $? -eq 0 ] && grep -qF "other.tsv has no row for the captures given" "$work/err"; then
  echo "ok: policy test: a labels file with no row for the captures is a warning"
else
  echo "FAIL: policy test, labels without rows for the captures: $(head -c 200 "$work/err")"; fail=1
fi
exit $fail
