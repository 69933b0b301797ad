#!/usr/bin/env bash
# SealChat traffic (captures/sealchat-*.pcap, labels in captures/sealchat/labels.tsv) must be labelled
# SealChat / SealChatCall with the right activity on every flow.
set -u
bin=$1 src=$2
"$bin" eval --labels "$src/captures/sealchat/labels.tsv" "$src/captures" --min-agreement 100 --min-family-activity 100
