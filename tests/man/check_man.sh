#!/usr/bin/env bash
# Man pages: every page renders without a single groff warning, and every long option that
# `sealscope analyze|policy|audit|eval --help` offers is documented in sealscope.1 (so --help and the man page cannot drift);
# and no line of any --help is wider than 100 columns (a terminal's worth, as Boost lays out the options).
set -u
bin=$1 mandir=$2
fail=0
for page in "$mandir"/*.[1-8]; do
  out=$(groff -man -ww -z "$page" 2>&1)
  if [ -n "$out" ]; then
    echo "FAIL $(basename "$page"): groff warnings:"; echo "$out" | head -n 20; fail=1
  else
    echo "ok $(basename "$page")"
  fi
done
for cmd in analyze policy audit eval; do
  opts=$("$bin" "$cmd" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
  [ -n "$opts" ] || { echo "FAIL: sealscope $cmd --help lists no options"; fail=1; }
  for o in $opts; do
    esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    if ! grep -q -- "$esc" "$mandir/sealscope.1"; then
      echo "FAIL: option $o of 'sealscope $cmd' is not documented in sealscope.1"; fail=1
    fi
  done
done
for cmd in "" analyze policy "policy check" "policy test" "policy enforce" audit eval; do
  # shellcheck disable=SC2086
  wide=$("$bin" $cmd --help | awk 'length($0) > 100 { printf "  %d columns: %s\n", length($0), $0 }')
  if [ -n "$wide" ]; then
    echo "FAIL: 'sealscope${cmd:+ $cmd} --help' has lines wider than 100 columns:"; echo "$wide"; fail=1
  else
    echo "ok: 'sealscope${cmd:+ $cmd} --help' fits 100 columns"
  fi
done
# sealscope-flows(5) documents every field a record has, in the record's order: a field added to the
# writer without its entry (or an entry left for a field gone) fails here.
record=$("$bin" analyze -q --no-progress --flows - "$mandir/../captures/mixed.pcap" | head -n 1)
drift=$(printf '%s\n' "$record" | python3 -c '
import json, re, sys
keys = list(json.loads(sys.stdin.readline()))
lines = open(sys.argv[1]).read().split("\n")
body = lines[lines.index(".SH FIELDS"):lines.index(".SH EXAMPLE")]
documented = []
for prev, line in zip(body, body[1:]):  # each entry: the line after .TP names its fields
    if prev == ".TP" and not line.split(" ", 1)[1].startswith(("{", "\\%")):
        documented += [w for w in re.findall(r"[a-z_0-9]+", line.split(" ", 1)[1]) if w != "BR"]
if documented != keys:
    print("  record:", " ".join(keys)); print("  page:  ", " ".join(documented))
' "$mandir/sealscope-flows.5")
if [ -z "$record" ] || [ -n "$drift" ]; then
  echo "FAIL: the fields of sealscope-flows(5) are not those of a record, in order:"; echo "$drift"; fail=1
else
  echo "ok: sealscope-flows(5) documents every field of a record, in order"
fi
exit $fail
