#!/usr/bin/env bash
# An output that names an input (a capture, the rules, the canaries, the labels) or another output is a
# usage error, found before anything is opened for writing, so the input survives: by the same name, by
# another spelling, through a hard link, through a symbolic link, and as the file standard input comes
# from. A capture given twice (any of those ways) is refused too. Positive controls: distinct outputs are
# written, /dev/null may take several outputs, and two different captures are read.
# Arguments: the sealscope binary and the repository root.
set -u
bin=$(realpath "$1") root=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
cd "$work" || exit 1

cp "$root/captures/dns.pcap" cap.pcap
cp "$root/rules/calls-blocked-chat-allowed.yaml" rules.yaml
cp "$root/captures/canary-canaries.txt" canaries.txt
printf 'file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\tndpi42_label\n' >labels.tsv
ln cap.pcap hard.pcap
ln -s cap.pcap soft.pcap
mkdir -p caps && cp cap.pcap caps/
for f in cap.pcap rules.yaml canaries.txt labels.tsv; do cp "$f" "$f.orig"; done

# refuse NEEDLE ARGS...: exit 2, NEEDLE on stderr, and every input still byte for byte what it was.
refuse() {
  local needle=$1; shift
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  local changed=""
  for f in cap.pcap rules.yaml canaries.txt labels.tsv; do cmp -s "$f" "$f.orig" || changed="$changed $f"; done
  if [ "$rc" = 2 ] && grep -qF -- "$needle" "$work/err" && [ -z "$changed" ]; then
    echo "ok: sealscope ${*:2} -> exit 2: $(head -n 1 "$work/err")"
  else
    echo "FAIL: $* -> exit $rc, changed:${changed:- none}, stderr: $(head -c 300 "$work/err")"
    fail=1
    for f in cap.pcap rules.yaml canaries.txt labels.tsv; do cp "$f.orig" "$f"; done
  fi
}

over="refusing to overwrite an input"
refuse "--flows cap.pcap is the capture cap.pcap: $over" "$bin" analyze -q cap.pcap --flows cap.pcap
refuse "--csv ./cap.pcap is the capture cap.pcap: $over" "$bin" analyze -q cap.pcap --csv ./cap.pcap
refuse "--summary-json $work/cap.pcap is the capture cap.pcap: $over" \
  "$bin" analyze -q cap.pcap --summary-json "$work/cap.pcap"
refuse "--flows hard.pcap is the capture cap.pcap: $over" "$bin" analyze -q cap.pcap --flows hard.pcap
refuse "--flows soft.pcap is the capture cap.pcap: $over" "$bin" analyze -q cap.pcap --flows soft.pcap
refuse "--flows cap.pcap is the capture caps/../cap.pcap: $over" "$bin" analyze -q caps/../cap.pcap --flows cap.pcap
refuse "--flows cap.pcap is the capture - (standard input): $over" \
  bash -c '"$0" analyze -q - --flows cap.pcap <cap.pcap' "$bin"
refuse "--html cap.pcap is the capture cap.pcap: $over" "$bin" analyze -q cap.pcap --html cap.pcap
refuse "--flows out.jsonl and --csv ./out.jsonl are the same file" \
  "$bin" analyze -q cap.pcap --flows out.jsonl --csv ./out.jsonl
refuse "--pass-pcap cap.pcap is the capture cap.pcap: $over" \
  "$bin" policy test -q --rules rules.yaml cap.pcap --pass-pcap cap.pcap
refuse "--report-json rules.yaml is --rules rules.yaml: $over" \
  "$bin" policy test -q --rules rules.yaml cap.pcap --report-json rules.yaml
refuse "--drop-pcap labels.tsv is --labels labels.tsv: $over" \
  "$bin" policy test -q --rules rules.yaml --labels labels.tsv cap.pcap --drop-pcap labels.tsv
refuse "--pass-pcap p.pcap and --drop-pcap p.pcap are the same file" \
  "$bin" policy test -q --rules rules.yaml cap.pcap --pass-pcap p.pcap --drop-pcap p.pcap
refuse "--report-json canaries.txt is --canaries canaries.txt: $over" \
  "$bin" audit -q --canaries canaries.txt cap.pcap --report-json canaries.txt
refuse "--report-json cap.pcap is the capture cap.pcap: $over" \
  "$bin" audit -q --canaries canaries.txt cap.pcap --report-json cap.pcap
refuse "--html canaries.txt is --canaries canaries.txt: $over" \
  "$bin" audit -q --canaries canaries.txt cap.pcap --html canaries.txt
refuse "--report-json r.json and --html ./r.json are the same file" \
  "$bin" audit -q --canaries canaries.txt cap.pcap --report-json r.json --html ./r.json
refuse "--report-json labels.tsv is --labels labels.tsv: $over" \
  "$bin" eval --labels labels.tsv caps --report-json labels.tsv
# eval's captures are the files its labels file names, in CAPTURE_DIR: inputs too.
cp labels.tsv cap-labels.tsv
printf 'cap.pcap\tUDP\t\t10.0.0.1:1024\t10.0.0.2:53\t2\tDNS\t\tdns\tDNS\n' >>cap-labels.tsv
refuse "--report-json cap.pcap is the capture ./cap.pcap: $over" \
  "$bin" eval --labels cap-labels.tsv . --report-json cap.pcap
refuse "--report-json soft.pcap is the capture ./cap.pcap: $over" \
  "$bin" eval --labels cap-labels.tsv . --report-json soft.pcap
# The same capture twice would count every packet twice: refused by name, spelling, link and stdin.
same="are the same capture: give each input once"
refuse "cap.pcap and cap.pcap $same" "$bin" analyze -q cap.pcap cap.pcap --flows out.jsonl
refuse "cap.pcap and caps/../cap.pcap $same" "$bin" analyze -q cap.pcap caps/../cap.pcap --flows out.jsonl
refuse "cap.pcap and hard.pcap $same" "$bin" analyze -q cap.pcap hard.pcap --flows out.jsonl
refuse "soft.pcap and cap.pcap $same" "$bin" policy test -q --rules rules.yaml soft.pcap cap.pcap --pass-pcap p.pcap
refuse "cap.pcap and - (standard input) $same" \
  bash -c '"$0" audit -q --canaries canaries.txt cap.pcap - --report-json out.jsonl <cap.pcap' "$bin"
if [ -e out.jsonl ] || [ -e p.pcap ] || [ -e r.json ]; then echo "FAIL: a refused run created an output"; fail=1; fi

# Positive controls: distinct outputs are written; /dev/null takes two outputs.
if "$bin" analyze -q cap.pcap --flows out.jsonl --csv out.csv --summary-json sum.json &&
   "$bin" analyze -q - --flows in.jsonl <cap.pcap && cmp -s out.jsonl in.jsonl &&
   [ -s out.jsonl ] && [ -s out.csv ] && [ -s sum.json ] && cmp -s cap.pcap cap.pcap.orig; then
  echo "ok: distinct outputs are written (from the file and from standard input redirected from it)"
else
  echo "FAIL: distinct outputs"; fail=1
fi
cp cap.pcap other.pcap
if "$bin" analyze -q cap.pcap other.pcap --summary-json two.json && grep -q '"frames": 12' two.json; then
  echo "ok: a copy of a capture is another input (12 frames from two 6-frame files)"
else
  echo "FAIL: two distinct captures: $(grep '"frames"' two.json 2>/dev/null)"; fail=1
fi
if "$bin" analyze -q cap.pcap --flows /dev/null --csv /dev/null &&
   "$bin" policy test -q --rules rules.yaml cap.pcap --pass-pcap pass.pcap --drop-pcap drop.pcap --report-json r.json &&
   [ -s pass.pcap ] && [ -s r.json ]; then
  echo "ok: /dev/null for two outputs, and policy test with three distinct outputs"
else
  echo "FAIL: /dev/null or policy test with distinct outputs"; fail=1
fi
exit $fail
