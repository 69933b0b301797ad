#!/usr/bin/env bash
# sealscope eval on the repository's own captures (always present): what it says when the captures and the
# labels file do not correspond, its exit statuses, and the fields of --report-json.
# Arguments: the sealscope binary and the repository root.
set -u
bin=$(realpath "$1") root=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
cd "$work" || exit 1

header='file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\n'
stun_row='stun.pcap\tUDP\t\t192.0.2.10:50012\t198.51.100.20:3478\t0\tSTUN.RTP\tVoIP\tcall\n'
dns_row='dns.pcap\tUDP\t\t192.0.2.10:53001\t198.51.100.53:53\t0\tDNS\t\tdns\n'
printf "$header$stun_row$dns_row" >both.tsv
printf "$header$stun_row" >stun.tsv
printf "$header$dns_row" >dns.tsv
printf "$header" >header-only.tsv
mkdir ok swap allswap
cp "$root/captures/stun.pcap" "$root/captures/dns.pcap" ok/
cp "$root/captures/dns.pcap" swap/stun.pcap && cp "$root/captures/dns.pcap" swap/
cp "$root/captures/dns.pcap" allswap/stun.pcap

# expect RC NEEDLE ARGS...: exit status RC and NEEDLE on stderr (NEEDLE "" = stderr empty).
expect() {
  local want=$1 needle=$2; shift 2
  "$bin" eval "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  local ok=1
  [ "$rc" = "$want" ] || ok=0
  if [ -z "$needle" ]; then [ -s "$work/err" ] && ok=0; else grep -qF -- "$needle" "$work/err" || ok=0; fi
  if [ $ok = 1 ]; then
    echo "ok: eval $* -> exit $rc: $(head -n 1 "$work/err")"
  else
    echo "FAIL: eval $* -> exit $rc (want $want), stderr: $(head -c 400 "$work/err") (want: '$needle')"; fail=1
  fi
}
# json EXPR ARGS...: --report-json - of the run, and the Python expression EXPR on it (as j) holds.
json() {
  local expr=$1; shift
  "$bin" eval "$@" --report-json - >"$work/j" 2>/dev/null
  if python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" "$work/j"; then
    echo "ok: eval $* --report-json -: $expr"
  else
    echo "FAIL: eval $* --report-json -: not $expr in: $(head -c 600 "$work/j")"; fail=1
  fi
}

# Captures and labels that correspond: no warning, full agreement.
expect 0 "" --labels both.tsv ok --min-agreement 100
grep -q "app agreement: *100.0%  (1/1)" out || { echo "FAIL: positive control: $(cat out)"; fail=1; }
# One capture that is not the one its rows describe: a warning naming it, the rest still scored.
expect 0 "warning: swap/stun.pcap: none of its 1 row in both.tsv matched a flow of the capture" --labels both.tsv swap
# No row matched at all, or no row: nothing to score is an error, never "below the threshold".
expect 1 "nothing to score: none of the 1 row in stun.tsv matched a flow of the captures" --labels stun.tsv allswap
expect 1 "nothing to score: none of the 1 row in stun.tsv matched" --labels stun.tsv allswap --min-agreement 50
grep -q "below the threshold" err && { echo "FAIL: nothing to score reported as below the threshold"; fail=1; }
expect 1 "nothing to score: header-only.tsv has no rows" --labels header-only.tsv ok --min-agreement 50
# Rows matched but none of them messaging/VoIP: a threshold cannot be met over nothing.
expect 0 "" --labels dns.tsv ok
expect 3 "no messaging/VoIP row (family set, activity not dns) in dns.tsv: agreement not measured" \
  --labels dns.tsv ok --min-agreement 0
# A labels file that is missing or malformed is the command line's error (exit 2), as for policy test.
printf 'file\tl4\n' >badhdr.tsv
expect 2 "badhdr.tsv:1:1: expected the header" --labels badhdr.tsv ok
expect 2 "missing.tsv: cannot open labels file: No such file or directory" --labels missing.tsv ok
printf "$header"'stun.pcap\tUDP\t\t192.0.2.10\t198.51.100.20:3478\t0\tSTUN\tVoIP\tcall\n' >badrow.tsv
expect 2 "badrow.tsv:2:" --labels badrow.tsv ok
# A threshold is a percentage from 0 to 100: nan (which would disable the check), negatives, more than 100
# and text are refused naming the option; the bounds themselves are accepted.
for v in nan -5 150 inf 50% abc ""; do
  expect 2 "--min-agreement must be a percentage from 0 to 100, found '$v'" --labels both.tsv ok --min-agreement "$v"
done
expect 2 "--min-family-activity must be a percentage from 0 to 100, found 'NaN'" \
  --labels both.tsv ok --min-family-activity NaN
expect 0 "" --labels both.tsv ok --min-agreement 0 --min-family-activity 100.0
expect 3 "agreement below the threshold" --labels both.tsv swap --min-agreement 0.5
# A capture that is not there is said to be so, once, without a meaningless "stopped at byte 0"; one cut
# short says where it stopped.
expect 1 "sealscope eval: nodir/stun.pcap: cannot open capture: No such file or directory" --labels both.tsv nodir
if grep -q "stopped at" err || [ "$(grep -c "cannot open capture" err)" != 2 ]; then
  echo "FAIL: missing captures: $(cat err)"; fail=1
fi
cp "$root/captures/truncated.pcap" ok/
printf "$header"'truncated.pcap\tUDP\t\t192.0.2.1:1\t192.0.2.2:2\t0\tSTUN\tVoIP\tcall\n' >truncated.tsv
expect 1 "ok/truncated.pcap: " --labels truncated.tsv ok
grep -q "ok/truncated.pcap: .* (read [0-9]* packets, stopped at byte offset [0-9]*)" err ||
  { echo "FAIL: a capture cut short: $(cat err)"; fail=1; }
# An absolute path in the file column is read where it points, CAPTURE_DIR aside (as documented).
printf "$header"'%s\tUDP\t\t192.0.2.10:50012\t198.51.100.20:3478\t0\tSTUN.RTP\tVoIP\tcall\n' "$work/ok/stun.pcap" >abs.tsv
expect 0 "" --labels abs.tsv nodir --min-agreement 100
# The JSON report says whether every capture was read, and why not.
json 'j["inputs_ok"] is True and j["problems"] == [] and j["matched"] == 2 and j["rows"] == 2' --labels both.tsv ok
json 'j["inputs_ok"] is False and j["problems"][0]["input"] == "nodir/stun.pcap" and
      "No such file" in j["problems"][0]["reason"] and set(j["problems"][0]) == {"input", "reason", "offset", "packets"}' \
  --labels stun.tsv nodir
json 'j["unmatched_captures"] == ["stun.pcap"] and j["inputs_ok"] is True' --labels both.tsv swap
# No messaging/VoIP row: the per-family and per-file tables are there, empty.
json 'j["by_family"] == {} and j["by_file"] == {} and j["total"]["flows"] == 0' --labels dns.tsv ok
# One flow without a family: "1 flow", not "1 flows".
expect 0 "" --labels dns.tsv ok
grep -qx "false messaging labels: 0 of 1 flow without a family" out || { echo "FAIL: singular: $(cat out)"; fail=1; }
exit $fail
