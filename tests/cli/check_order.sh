#!/usr/bin/env bash
# Several capture files: they are read in the time order of their first packets, whatever order they are
# given in, so rotated files that a glob sorts as text (dump.pcap, dump.pcap10, dump.pcap9) give the same
# flows as the capture they were cut from; the change of order is said on stderr. Files that overlap in
# time are counted and reported in the summary (they are read one after the other, not merged). A capture
# of a link type that is not decoded is named on stderr, as is one a BPF filter cannot be compiled for (the
# other inputs are still read); a filter no link type can take is a usage error; an input that cannot be
# opened is reported and the others are read.
# Arguments: the sealscope binary and the repository root.
set -u
bin=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
cap=$root/captures/tls-sni.pcap

# Cuts a classic pcap into files of the given packet ranges (python3: no wireshark tools in the
# dependencies). split.py IN OUT:FIRST:LAST ... (0-based, inclusive).
cat >"$work/split.py" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
head, recs, off = data[:24], [], 24
end = '<' if data[:4] == b'\xd4\xc3\xb2\xa1' else '>'
while off < len(data):
    n = struct.unpack(end + 'I', data[off + 8:off + 12])[0]
    recs.append(data[off:off + 16 + n])
    off += 16 + n
for spec in sys.argv[2:]:
    out, first, last = spec.rsplit(':', 2)
    with open(out, 'wb') as f:
        f.write(head + b''.join(recs[int(first):int(last) + 1]))
EOF

check() {  # check DESCRIPTION CONDITION...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

python3 "$work/split.py" "$cap" "$work/dump.pcap:0:13" "$work/dump.pcap9:14:27" "$work/dump.pcap10:28:40" || exit 1
"$bin" analyze -q --flows "$work/whole.jsonl" "$cap" 2>"$work/err" || { cat "$work/err"; exit 1; }

# Given in the glob's (text) order: read in time order, the same flows as the whole capture.
"$bin" analyze -q --flows "$work/glob.jsonl" --summary-json "$work/glob.json" \
  "$work/dump.pcap" "$work/dump.pcap10" "$work/dump.pcap9" 2>"$work/err"
check "exit 0 for files given out of order" [ $? -eq 0 ]
check "stderr says the order changed, and to what" \
  grep -qF "reading the captures in the time order of their first packets, not as given: $work/dump.pcap, $work/dump.pcap9, $work/dump.pcap10" "$work/err"
check "the same flow records as the whole capture ($(wc -l <"$work/whole.jsonl") flows)" \
  cmp -s "$work/whole.jsonl" "$work/glob.jsonl"
check "the summary lists the inputs in the order read" \
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if [i.rsplit('/',1)[1] for i in s['inputs']]==['dump.pcap','dump.pcap9','dump.pcap10'] and s['inputs_overlapping']==0 else 1)" "$work/glob.json"

# Control: the order given is kept when it is already the time order, and then nothing is said.
"$bin" analyze -q --flows "$work/fwd.jsonl" "$work/dump.pcap" "$work/dump.pcap9" "$work/dump.pcap10" 2>"$work/err"
check "files in time order: no notice" [ ! -s "$work/err" ]
check "files in time order: the same records" cmp -s "$work/whole.jsonl" "$work/fwd.jsonl"

# Standard input keeps its place (it cannot be looked into without being consumed); the files around it
# are still ordered among themselves.
"$bin" analyze -q --flows "$work/stdin.jsonl" "$work/dump.pcap10" - "$work/dump.pcap" <"$work/dump.pcap9" 2>"$work/err"
check "standard input keeps its place, the files swap around it" \
  grep -qF "not as given: $work/dump.pcap, -, $work/dump.pcap10" "$work/err"

# Overlap: A holds the first and last parts, B the middle one. B begins before A ends, so the run is
# counted as overlapping (and flows are cut where the files meet); the summary says how to merge.
python3 "$work/split.py" "$cap" "$work/b.pcap:14:27" || exit 1
python3 - "$work/dump.pcap" "$work/dump.pcap10" "$work/a.pcap" <<'EOF'
import sys
one, two, out = sys.argv[1:]
open(out, 'wb').write(open(one, 'rb').read() + open(two, 'rb').read()[24:])
EOF
"$bin" analyze --summary-json "$work/ov.json" "$work/b.pcap" "$work/a.pcap" >"$work/out" 2>"$work/err"
check "overlapping inputs: said in the summary" grep -qF "inputs overlapping in time: 1:" "$work/out"
check "overlapping inputs: counted in --summary-json" grep -qF '"inputs_overlapping": 1' "$work/ov.json"
check "overlapping inputs: still read first-packet first (a.pcap, then b.pcap)" \
  grep -qF "not as given: $work/a.pcap, $work/b.pcap" "$work/err"

# policy test and audit read their captures the same way.
"$bin" policy test -q --rules "$root/rules/voip-curfew-mobile.yaml" "$work/dump.pcap10" "$work/dump.pcap" 2>"$work/err"
check "policy test orders its captures too" grep -qF "sealscope policy test: reading the captures in the time order" "$work/err"
# A capture of a link type sealscope does not decode (PPI, 192): still read, its frame counted as
# unknown_link_type, and stderr names the link type at once (before, only the anomaly count told).
python3 - "$work/ppi.pcap" <<'EOF'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 192))
    f.write(struct.pack('<IIII', 1700000000, 0, 4, 4) + b'abcd')
EOF
"$bin" analyze -q --summary-json "$work/ppi.json" "$work/ppi.pcap" 2>"$work/err"
check "a link type not decoded: exit 0" [ $? -eq 0 ]
check "a link type not decoded: named on stderr" \
  grep -qF "ppi.pcap: link type 192 (PPI" "$work/err" && grep -qF "is not one sealscope decodes" "$work/err"
check "a link type not decoded: its frame counted" grep -qF '"unknown_link_type": 1' "$work/ppi.json"
"$bin" analyze -q "$cap" 2>"$work/err"
check "a link type decoded: nothing on stderr" [ ! -s "$work/err" ]
# A filter that compiles for one input's link type and not another's names the input it failed on.
"$bin" analyze -q --bpf 'vlan and udp' --flows "$work/never.jsonl" "$root/captures/vlan.pcap" \
  "$root/captures/link-raw.pcap" 2>"$work/err"
check "a filter one link type cannot take: exit 1" [ $? -eq 1 ]
check "a filter one link type cannot take: the input and its link type named" \
  grep -qF "link-raw.pcap: BPF filter 'vlan and udp' for link type 12 (RAW" "$work/err"
"$bin" analyze -q --bpf 'vlan and udp' --flows "$work/vlan-only.jsonl" "$root/captures/vlan.pcap" 2>/dev/null
check "a filter one link type cannot take: the other input's flows still written" \
  cmp -s "$work/never.jsonl" "$work/vlan-only.jsonl"
check "a filter one link type cannot take: the other input had flows to write" [ -s "$work/vlan-only.jsonl" ]
# A filter no link type can take is the command line's fault: usage status, nothing written.
"$bin" analyze -q --bpf 'udp and' --flows "$work/syntax.jsonl" "$cap" 2>"$work/err"
check "a filter that is not BPF: exit 2" [ $? -eq 2 ]
check "a filter that is not BPF: named with libpcap's reason" grep -q -- "--bpf 'udp and': .*syntax error" "$work/err"
check "a filter that is not BPF: no flows file" [ ! -e "$work/syntax.jsonl" ]

# An input that cannot be opened (empty, missing, not a capture) among good ones: named on stderr and in
# the summary, the others read and their flows written (a stale output replaced), exit status 1.
: >"$work/empty.pcap"
head -c 100 /dev/urandom >"$work/noise.pcap"
echo STALE >"$work/some.jsonl"
"$bin" analyze -q --flows "$work/some.jsonl" --summary-json "$work/some.json" "$work/empty.pcap" "$cap" \
  "$work/missing.pcap" "$work/noise.pcap" 2>"$work/err"
check "unopenable inputs among good ones: exit 1" [ $? -eq 1 ]
check "unopenable inputs among good ones: the good one's flows written" cmp -s "$work/some.jsonl" "$work/whole.jsonl"
for bad in "empty.pcap: empty file, not a capture" "missing.pcap: cannot open capture: No such file" \
           "noise.pcap: not a readable pcap/pcapng capture"; do
  check "unopenable inputs among good ones: '$bad' on stderr" grep -qF "$bad" "$work/err"
done
check "unopenable inputs among good ones: three problems in the summary" \
  python3 -c "import json,sys; p=json.load(open(sys.argv[1]))['problems']; sys.exit(len(p) != 3 or any(x['packets'] for x in p))" "$work/some.json"
exit $fail
