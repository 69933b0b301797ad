#!/usr/bin/env bash
# Golden test: runs `sealscope analyze` on a case's capture(s) and diffs the flow records, the summary JSON
# and the exit status against the reviewed expected files of the case.
#   run.sh SEALSCOPE REPO_ROOT CASE_DIR [--update]
# A case folder holds: args (the analyze arguments, paths relative to the repo root), expected.rc,
# expected.flows.jsonl and expected.summary.json; README.md says why each expectation is right.
set -u
bin=$1 root=$2 case=$3 update=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 2
read -r -a args < "$case/args"
"$bin" analyze -q --no-progress --flows "$tmp/flows.jsonl" --summary-json "$tmp/summary.json" "${args[@]}" \
  2>"$tmp/stderr"
echo $? > "$tmp/rc"
if [ "$update" = "--update" ]; then
  cp "$tmp/flows.jsonl" "$case/expected.flows.jsonl"
  cp "$tmp/summary.json" "$case/expected.summary.json"
  cp "$tmp/rc" "$case/expected.rc"
  echo "updated $case: review it before committing"
  exit 0
fi
fail=0
for f in rc flows.jsonl summary.json; do
  if ! diff -u "$case/expected.$f" "$tmp/$f" > "$tmp/diff.$f"; then
    echo "golden $(basename "$case"): $f differs from the reviewed expectation:"
    head -n 40 "$tmp/diff.$f"
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "golden $(basename "$case"): flows, summary and exit status as reviewed"
exit $fail
