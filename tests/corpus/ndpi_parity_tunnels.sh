#!/usr/bin/env bash
# ndpiReader 4.2 (-t) takes apart TZSP with Ethernet, CAPWAP with plain 802.11 data headers and IP in IP as
# sealscope does: the flow-by-flow parity test of the corpus (ndpi_parity.py, which reads DIR/pcap/) on
# captures/tunnels-ndpi.pcap alone, so it runs wherever ndpiReader is installed, corpus or not.
#   ndpi_parity_tunnels.sh SEALSCOPE REPO_ROOT
set -u
bin=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/pcap"
cp "$root/captures/tunnels-ndpi.pcap" "$tmp/pcap/"
python3 "$root/tests/corpus/ndpi_parity.py" "$bin" "$tmp"
