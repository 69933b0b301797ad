#!/usr/bin/env bash
# Installs the Debian 12 packages sealscope needs to build, test and benchmark, skipping those present.
# Every dependency comes from Debian's archive; nothing is downloaded from anywhere else.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git
      libpcap-dev libndpi-dev libndpi-bin libgcrypt20-dev libxxhash-dev liblz4-dev
      libboost-program-options-dev libyaml-cpp-dev catch2 nlohmann-json3-dev libfmt-dev
      libhowardhinnant-date-dev tzdata
      libhyperscan-dev libsodium-dev libsrtp2-dev libopus-dev libsqlite3-dev
      libnetfilter-queue-dev  # policy enforce: verdicts on the packets a netfilter queue holds
      iptables  # tests/live/enforce_nfqueue.py sends a test namespace's packets to a queue (-j NFQUEUE)
      groff-base tcpdump time iproute2 util-linux python3
      python3-yaml  # tests/policy/recompute.py reads the rules file itself, to recompute every figure
      # tests/export/: nfcapd as a real IPFIX collector, nfdump to read its file. Debian 12's package starts no
      # collector: nfdump.service is a oneshot /bin/true and nfdump@NAME.service runs only once configured in
      # /etc/nfdump/NAME.conf; the test's nfcapd listens on a free port of 127.0.0.1 anyway.
      nfdump
      clang libclang-rt-14-dev llvm-14  # the sanitizer build: clang 14, its ASan/UBSan runtime, llvm-symbolizer
      chromium)  # headless, for the test that reads the --html report in a real browser
# A test calls a relay by the name "localhost". A Debian system resolves it from /etc/hosts; a bare chroot
# or container may have none, and then the name reaches DNS, which need not know it. libnss-myhostname
# (systemd's NSS module; its installation adds it to /etc/nsswitch.conf) resolves it without either.
getent hosts localhost >/dev/null || pkgs+=(libnss-myhostname)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: need root to install packages" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
