#!/bin/bash
# The sealscope executable's own snprintf and __snprintf_chk (src/cli/snprintf_interpose.cpp) are the ones
# libndpi calls: asks the dynamic linker, which reports every binding it makes (LD_DEBUG=bindings; with
# LD_BIND_NOW all of them at start). Fails if the interposer is left out of the executable (moved into a
# library, say), where nDPI would silently go back to glibc's general printf for every JA3 number.
set -u
bin=$1
name=$(basename "$bin")
out=$(LD_BIND_NOW=1 LD_DEBUG=bindings "$bin" --version 2>&1 >/dev/null) || { echo "FAIL: $bin --version"; exit 1; }
for sym in __snprintf_chk snprintf; do
  line=$(grep -E "binding file [^ ]*/libndpi\.so[^ ]* .* to [^ ]*$name \[.*symbol \`$sym'" <<<"$out" | head -n 1)
  if [ -z "$line" ]; then
    echo "FAIL: libndpi's $sym is not bound to $name; the dynamic linker says:"
    grep -E "libndpi.*symbol \`$sym'" <<<"$out" || echo "  (no binding of $sym for libndpi)"
    exit 1
  fi
  echo "ok: ${line#*binding file }"
done
