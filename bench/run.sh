#!/usr/bin/env bash
# sealscope benchmark: builds (and caches) a large capture from replicated inputs, then times
# `sealscope analyze` against Debian's `ndpiReader` on it, alternating, and checks both report the same
# per-label flow counts, and the same label and packets flow by flow. See bench/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inputs=$repo/captures
target=900000
runs=5
workers="1"
modes="parity default"
sealscope=${SEALSCOPE:-$repo/build/sealscope}
ndpireader=${NDPIREADER:-ndpiReader}
workdir=${BENCH_DIR:-$repo/build-bench/bench}
mkbench=${MKBENCH:-}

usage() {
  cat <<EOF
usage: bench/run.sh [--inputs DIR] [--target-packets N] [--runs R] [--workers "1 2"]
                    [--modes "parity default"] [--sealscope PATH] [--workdir DIR] [--mkbench PATH]

  --inputs DIR          captures to replicate (.pcap/.pcapng, recursively; default: captures/)
  --target-packets N    size of the bench capture (default $target)
  --runs R              timed runs of each program, alternating (default $runs)
  --workers LIST        sealscope --workers values to time, e.g. "1 2" (default "$workers")
  --modes LIST          parity: flow expiry and idle give-up off, as ndpiReader 4.2 reads files (labels
                        compared); default: sealscope's defaults (idle timeouts split long-silent flows, so
                        flow counts differ) (default "$modes")
  --sealscope PATH      binary to time (default: \$SEALSCOPE or build/sealscope)
  --workdir DIR         where the capture is cached and outputs go (default: \$BENCH_DIR or build-bench/bench)
  --mkbench PATH        sealscope-mkbench binary (default: \$MKBENCH, next to sealscope, or compiled here)
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
    --inputs) inputs=$2; shift 2 ;;
    --target-packets) target=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --sealscope) sealscope=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --mkbench) mkbench=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "run.sh: $*" >&2; exit 1; }
[ -x "$sealscope" ] || die "no sealscope binary at $sealscope (build it, or set SEALSCOPE= / --sealscope)"
command -v "$ndpireader" >/dev/null || die "ndpiReader not found (Debian package libndpi-bin)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package time)"
command -v python3 >/dev/null || die "python3 not found (it compares the two programs' flows one by one)"
[ -e "$inputs" ] || die "no inputs at $inputs"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"
sealscope=$(realpath "$sealscope")
inputs=$(realpath "$inputs")
mkdir -p "$workdir"
workdir=$(realpath "$workdir")

# ---- the capture builder ----------------------------------------------------------------------------------
src=$repo/bench/mkbench.cpp
if [ -z "$mkbench" ] && [ -x "$(dirname "$sealscope")/bench/sealscope-mkbench" ] &&
   [ "$(dirname "$sealscope")/bench/sealscope-mkbench" -nt "$src" ]; then
  mkbench=$(dirname "$sealscope")/bench/sealscope-mkbench
fi
if [ -z "$mkbench" ]; then
  mkbench=$workdir/sealscope-mkbench
  if [ ! -x "$mkbench" ] || [ "$src" -nt "$mkbench" ]; then
    echo "building $mkbench" >&2
    g++ -std=c++20 -O2 -Wall -Wextra -DSEALSCOPE_DEFAULT_INPUTS="\"$repo/captures\"" "$src" -o "$mkbench" -lpcap
  fi
fi

# ---- the capture, cached by inputs (names, sizes, times), size and builder --------------------------------
key=$( { echo "$inputs $target"; sha1sum < "$src";
         find -L "$inputs" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -printf '%p %s %T@\n' |
           LC_ALL=C sort; } | sha1sum | cut -c1-12)
cap=$workdir/bench-$key.pcap
if [ ! -s "$cap" ] || [ ! -s "$cap.info" ]; then
  find "$workdir" -maxdepth 1 -name 'bench-*.pcap*' -delete  # one cached capture at a time: they are big
  echo "building the bench capture from $inputs" >&2
  "$mkbench" --target-packets "$target" --out "$cap.tmp" "$inputs" 2> "$cap.log" || { cat "$cap.log" >&2; exit 1; }
  mv "$cap.tmp" "$cap"
  tail -n 1 "$cap.log" | sed "s|$cap.tmp|$(basename "$cap")|" > "$cap.info"
fi
info=$(cat "$cap.info")
packets=$(sed -nE 's/.*: ([0-9]+) packets, .*/\1/p' <<< "$info")
[ -n "$packets" ] || die "cannot read the packet count from $cap.info"

# ---- the runs ---------------------------------------------------------------------------------------------
# ndpiReader 4.2 never expires flows when it reads a file, so sealscope runs with idle and active expiry off:
# both then report each flow once, at the end, and the label counts are comparable. Both decapsulate GTP-U.
noexpiry=(--tcp-timeout 100000000 --udp-timeout 100000000 --other-timeout 100000000 --active-timeout 0
          --classify-idle 0)
out=$workdir/out
rm -rf "$out"
mkdir -p "$out"
# ss_cmd WORKERS MODE
ss_cmd() {
  if [ "$2" = parity ]; then
    echo "$sealscope" analyze -q --no-progress "${noexpiry[@]}" --workers "$1" --flows "$out/flows-$2-w$1.jsonl" \
      --summary-json "$out/summary-$2-w$1.json" "$cap"
  else
    echo "$sealscope" analyze -q --no-progress --workers "$1" --flows "$out/flows-$2-w$1.jsonl" "$cap"
  fi
}
nd_cmd() { echo "$ndpireader" -q -t -i "$cap"; }

# runs one command under /usr/bin/time; appends "wall_us rss_kb cpu_s" to $2; removes the files after $2
# (what the command writes) first
timed() {
  local cmd=$1 res=$2 t0 t1
  shift 2
  # Untimed: the previous run's outputs are removed, and the kernel writes back what is left now, rather
  # than let its writeback threads take CPU from whichever program runs next. Each timed run so starts from
  # the same state: opening an existing 58 MB flow file with O_TRUNC made the kernel free its pages inside
  # the timed run (14 ms, 2 % of a one-worker run; ndpiReader writes no file).
  rm -f "$@"
  sync
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  /usr/bin/time -f '%M %U %S' -o "$out/time.tmp" $cmd > "$out/stdout.tmp" 2> "$out/stderr.tmp" ||
    { cat "$out/stderr.tmp" >&2; die "failed: $cmd"; }
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000 )) $(tail -n 1 "$out/time.tmp" | awk '{print $1, $2 + $3}')" >> "$res"
}

echo "capture:    $cap"
echo "            $info"
for m in $modes; do
  echo "sealscope ($m): $(ss_cmd W "$m" | sed "s/--workers W/--workers {$workers}/; s/-wW\./-w{W}./")"
done
echo "ndpiReader: $(nd_cmd)"
echo "runs:       $runs of each, alternating; wall time by date(1), peak RSS and CPU (user+sys) by /usr/bin/time"
echo
for ((r = 1; r <= runs; r++)); do
  for m in $modes; do for w in $workers; do
    timed "$(ss_cmd "$w" "$m")" "$out/ss-$m-w$w.res" "$out/flows-$m-w$w.jsonl" "$out/summary-$m-w$w.json"
  done; done
  timed "$(nd_cmd)" "$out/nd.res"
  echo "  run $r/$runs done" >&2
done

# a result file's "median_us min_us max_us max_rss_kb median_cpu_s"
median() { sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
stats() {
  echo "$(cut -d' ' -f1 "$1" | median) $(sort -n "$1" | awk 'NR==1{mn=$1} {mx=$1; if ($2>m) m=$2} END{print mn, mx, m}') \
$(cut -d' ' -f3 "$1" | median)"
}
read -r nd_med nd_min nd_max nd_rss nd_cpu < <(stats "$out/nd.res")

# ---- labels: sealscope's ndpi_label against ndpiReader -v 2 "[proto: N/LABEL]" (untimed run) ---------------
"$ndpireader" -t -v 2 -i "$cap" > "$out/ndpireader-v2.txt" 2>&1 || die "ndpiReader -v 2 failed"
grep -oE '\[proto: [^]/]*/[^]]*\]' "$out/ndpireader-v2.txt" | sed -E 's/^\[proto: [^/]*\///; s/\]$//' |
  LC_ALL=C sort | uniq -c | awk '{print $2, $1}' > "$out/labels-ndpireader.txt"
nd_flows=$(awk '{s+=$2} END{print s+0}' "$out/labels-ndpireader.txt")

printf '%-22s %8s %7s %7s %10s %7s %8s %7s\n' program "median s" "min s" "max s" packets/s "CPU s" "RSS MB" flows
row() { awk -v n="$1" -v med="$2" -v mn="$3" -v mx="$4" -v rss="$5" -v cpu="$6" -v p="$packets" -v f="$7" \
  'BEGIN{printf "%-22s %8.3f %7.3f %7.3f %10.0f %7.2f %8.1f %7s\n", n, med/1e6, mn/1e6, mx/1e6, p/(med/1e6), cpu, rss/1024, f}'; }
row ndpiReader "$nd_med" "$nd_min" "$nd_max" "$nd_rss" "$nd_cpu" "$nd_flows"
summary=()
for m in $modes; do for w in $workers; do
  read -r med mn mx rss cpu < <(stats "$out/ss-$m-w$w.res")
  grep -o '"ndpi_label":"[^"]*"' "$out/flows-$m-w$w.jsonl" | sed 's/^"ndpi_label":"//; s/"$//' |
    LC_ALL=C sort | uniq -c | awk '{print $2, $1}' > "$out/labels-sealscope-$m-w$w.txt"
  flows=$(wc -l < "$out/flows-$m-w$w.jsonl")
  row "sealscope $m -w$w" "$med" "$mn" "$mx" "$rss" "$cpu" "$flows"
  # Per round: the two programs ran back to back, so a round's ratio is least touched by the VM's drift.
  read -r rmed rmin rmax < <(paste -d' ' "$out/nd.res" "$out/ss-$m-w$w.res" | awk '{print $1 / $4}' | sort -g |
    awk '{v[NR]=$1} END{printf "%s %s %s\n", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2, v[1], v[NR]}')
  summary+=("$(awk -v w="$w" -v m="$m" -v a="$med" -v b="$nd_med" -v ra="$rss" -v rb="$nd_rss" -v ca="$cpu" -v cb="$nd_cpu" \
    -v q="$rmed" -v qa="$rmin" -v qb="$rmax" \
    'BEGIN{printf "sealscope %s --workers %s vs ndpiReader:  packets/s x%.2f (per round x%.2f, x%.2f-x%.2f; by CPU time x%.2f)   peak RSS x%.3f (1/%.1f)", m, w, b/a, q, qa, qb, cb/ca, ra/rb, rb/ra}')")
done; done
echo
printf '%s\n' "${summary[@]}"
echo
status=0
for w in $workers; do
  [[ " $modes " == *" parity "* ]] || break
  diffs=$(LC_ALL=C join -a1 -a2 -e0 -o 0,1.2,2.2 "$out/labels-ndpireader.txt" "$out/labels-sealscope-parity-w$w.txt" |
          awk '$2 != $3')
  n=$(wc -l < "$out/labels-ndpireader.txt")
  if [ -z "$diffs" ]; then
    echo "labels (--workers $w): OK — same flow count for each of $n ndpi_label values ($nd_flows flows)"
  else
    status=1
    echo "labels (--workers $w): DIFF — label, ndpiReader flows, sealscope flows:"
    sed 's/^/  /' <<< "$diffs"
  fi
  # Flow by flow: the same label and packets for each flow (tests/corpus/ndpi_parity.py, on saved outputs).
  if per_flow=$(python3 "$repo/tests/corpus/ndpi_parity.py" --files "$out/ndpireader-v2.txt" \
                "$out/flows-parity-w$w.jsonl" "$out/summary-parity-w$w.json"); then
    echo "per flow (--workers $w): OK — $(head -n 1 <<< "$per_flow")"
  else
    status=1
    echo "per flow (--workers $w): DIFF — $per_flow"
  fi
done
echo "outputs in $out"
exit $status
