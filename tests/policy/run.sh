#!/usr/bin/env bash
# Golden dry-run: `sealscope policy test` on a case's captures with its rules; diffs the JSON report, the
# exit status and the packet counts of the pass/drop pcaps against the reviewed expectations.
#   run.sh SEALSCOPE REPO_ROOT CASE_DIR [--update]
# A case folder holds: rules.yaml, args (capture paths relative to the repo root), expected.report.json,
# expected.rc, expected.pcaps (packets in pass.pcap and drop.pcap). README.md derives every number by hand.
set -u
bin=$1 root=$2 case=$3 update=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 2
read -r -a args < "$case/args"
"$bin" policy test -q --rules "$case/rules.yaml" --report-json "$tmp/report.json" \
  --pass-pcap "$tmp/pass.pcap" --drop-pcap "$tmp/drop.pcap" "${args[@]}" 2>"$tmp/stderr"
echo $? > "$tmp/rc"
# The report names its rules file and outputs by path: make them independent of where the test runs.
sed -i -e "s|$tmp/||g" -e "s|$case/||g" "$tmp/report.json"
count() { if command -v capinfos >/dev/null; then capinfos -c -M "$1" | awk '/Number of packets/ {print $NF}'; else echo "?"; fi; }
printf 'pass %s\ndrop %s\n' "$(count "$tmp/pass.pcap")" "$(count "$tmp/drop.pcap")" > "$tmp/pcaps"
if [ "$update" = "--update" ]; then
  cp "$tmp/report.json" "$case/expected.report.json"
  cp "$tmp/rc" "$case/expected.rc"
  cp "$tmp/pcaps" "$case/expected.pcaps"
  echo "updated $case: review it against README.md before committing"
  exit 0
fi
fail=0
for f in rc report.json pcaps; do
  if [ "$f" = pcaps ] && grep -q '?' "$tmp/pcaps"; then continue; fi  # no capinfos: skip the pcap check
  if ! diff -u "$case/expected.$f" "$tmp/$f" > "$tmp/diff.$f"; then
    echo "policy golden $(basename "$case"): $f differs from the reviewed expectation:"
    head -n 60 "$tmp/diff.$f"
    cat "$tmp/stderr"
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "policy golden $(basename "$case"): report, pcaps and exit status as reviewed"
exit $fail
