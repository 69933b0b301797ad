#!/usr/bin/env bash
# Parity with nDPI's own driver: for every capture in ../shared/corpus, the number of flows per nDPI label
# that sealscope reports (`ndpi_label`) must equal what Debian's `ndpiReader -q -t -v 2` lists per label.
# ndpiReader 4.2 never expires flows when reading files, so sealscope runs with idle/active expiry and the
# idle give-up of classification off for
# this comparison; everything else (packet limits, give-up, guessing, tunnels) is sealscope's default.
# Skips (exit 77) when the corpus or ndpiReader is not there.
set -u
bin=$1 corpus=$2
[ -d "$corpus/pcap" ] || { echo "SKIP: no corpus at $corpus"; exit 77; }
command -v ndpiReader >/dev/null || { echo "SKIP: ndpiReader not installed (package libndpi-bin)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
for f in "$corpus"/pcap/*; do
  n=$((n + 1))
  ndpiReader -q -t -v 2 -i "$f" 2>/dev/null |
    sed -n 's/^[[:space:]]*[0-9][0-9]*[[:space:]].*\[proto: [^/]*\/\([^]]*\)\].*/\1/p' | sort | uniq -c |
    awk '{print $2, $1}' | sort > "$tmp/ndpi"
  "$bin" analyze -q --no-progress --tcp-timeout 100000000 --udp-timeout 100000000 --other-timeout 100000000 \
    --active-timeout 0 --classify-idle 0 --flows "$tmp/flows.jsonl" "$f" >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL $(basename "$f"): sealscope exit $rc: $(head -n 1 "$tmp/err")"
    bad=$((bad + 1))
    continue
  fi
  grep -o '"ndpi_label":"[^"]*"' "$tmp/flows.jsonl" | sed 's/"ndpi_label":"\(.*\)"/\1/' | sort | uniq -c |
    awk '{print $2, $1}' | sort > "$tmp/ours"
  if ! [ -s "$tmp/ndpi" ]; then
    echo "FAIL $(basename "$f"): ndpiReader listed no flow (cannot compare)"
    bad=$((bad + 1))
  elif ! diff -q "$tmp/ndpi" "$tmp/ours" >/dev/null; then
    echo "FAIL $(basename "$f"): per-label flow counts differ (< ndpiReader, > sealscope):"
    diff "$tmp/ndpi" "$tmp/ours" | grep '^[<>]' | head -n 20
    bad=$((bad + 1))
  fi
done
echo "$((n - bad)) passed, $bad failed"
[ $bad -eq 0 ]
