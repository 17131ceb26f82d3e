#!/usr/bin/env bash
# The layering check must fail on a lower layer including a higher one, and on "../" includes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/nvmetcp" "$tmp/ddp"
printf '#include "nvmetcp/pdu.hpp"\n' > "$tmp/ddp/ok.hpp"
printf '#include "ddp/ok.hpp"\n' > "$tmp/nvmetcp/bad.hpp"
if "$here/check_layers.sh" "$tmp" > "$tmp/out" 2>&1; then
  echo "FAIL: nvmetcp including ddp was not reported"; cat "$tmp/out"; exit 1
fi
grep -q 'nvmetcp/bad.hpp (layer 1) includes "ddp/ok.hpp" (layer 2)' "$tmp/out" || { cat "$tmp/out"; exit 1; }
printf '#include "../ddp/ok.hpp"\n' > "$tmp/nvmetcp/bad.hpp"
if "$here/check_layers.sh" "$tmp" > "$tmp/out" 2>&1; then
  echo "FAIL: relative include was not reported"; exit 1
fi
rm "$tmp/nvmetcp/bad.hpp"
"$here/check_layers.sh" "$tmp" > "$tmp/out" 2>&1 || { echo "FAIL: a clean tree was reported"; cat "$tmp/out"; exit 1; }
echo "layering self-test: ok"
