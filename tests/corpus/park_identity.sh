#!/usr/bin/env bash
# Parking nDPI state (--park-idle) must change nothing but memory: on every capture of ../shared/corpus the
# flow records with the most eager parking (--park-idle 1) must equal, byte for byte, those of a run that
# never parks (--park-idle 0), both as ndpiReader reads files (no expiry, no idle give-up) and with
# sealscope's defaults (where a parked flow may later be given up). To prove the comparison is not
# vacuous, the runs must have parked and restored state (summary ndpi_state) in the corpus as a whole.
# Skips (exit 77) when the corpus is not there.
set -u
bin=$1 corpus=$2
[ -d "$corpus/pcap" ] || { echo "SKIP: no corpus at $corpus"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
parity=(--tcp-timeout 100000000 --udp-timeout 100000000 --other-timeout 100000000 --active-timeout 0
        --classify-idle 0)
n=0 bad=0 parked=0 restored=0
for f in "$corpus"/pcap/*; do
  for mode in parity default; do
    extra=()
    [ $mode = parity ] && extra=("${parity[@]}")
    n=$((n + 1))
    for p in 0 1; do
      if ! "$bin" analyze -q --no-progress "${extra[@]}" --park-idle $p --flows "$tmp/flows-$p.jsonl" \
          --summary-json "$tmp/summary-$p.json" "$f" >/dev/null 2>"$tmp/err"; then
        echo "FAIL $(basename "$f") ($mode, --park-idle $p): $(head -n 1 "$tmp/err")"
        bad=$((bad + 1))
        continue 2
      fi
    done
    if ! cmp -s "$tmp/flows-0.jsonl" "$tmp/flows-1.jsonl"; then
      echo "FAIL $(basename "$f") ($mode): records differ when nDPI state is parked (< never, > --park-idle 1):"
      diff "$tmp/flows-0.jsonl" "$tmp/flows-1.jsonl" | cut -c1-300 | head -n 6
      bad=$((bad + 1))
    fi
    read -r p r < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["ndpi_state"]; print(s["parked"], s["restored"])' "$tmp/summary-1.json")
    read -r p0 r0 < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["ndpi_state"]; print(s["parked"], s["restored"])' "$tmp/summary-0.json")
    if [ "$p0" -ne 0 ] || [ "$r0" -ne 0 ]; then
      echo "FAIL $(basename "$f") ($mode): --park-idle 0 parked $p0 times"
      bad=$((bad + 1))
    fi
    # Every parked state is restored exactly once: on its next packet, for its verdict or at its end.
    if [ "$p" -ne "$r" ]; then
      echo "FAIL $(basename "$f") ($mode): parked $p times but restored $r times"
      bad=$((bad + 1))
    fi
    parked=$((parked + p))
    restored=$((restored + r))
  done
done
echo "$((n - bad)) runs identical, $bad failed; state parked $parked times, restored $restored times"
if [ "$parked" -eq 0 ]; then
  echo "FAIL: nothing was parked: the comparison proves nothing"
  exit 1
fi
[ $bad -eq 0 ]
