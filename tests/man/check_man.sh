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
exit $fail
