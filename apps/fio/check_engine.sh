#!/usr/bin/env bash
# Loads the built fio ioengine into the installed fio (fio --enghelp) and fails, saying why, when fio
# refuses it: a FIO_IOOPS_VERSION other than the installed fio's (the headers are of another fio
# version), or a shared object that does not load. Run after each build (apps/fio/CMakeLists.txt).
# usage: check_engine.sh <fio> <libnvmeddp_fio.so>
set -uo pipefail
fio=${1:?usage: check_engine.sh <fio> <engine.so>}
engine=${2:?usage: check_engine.sh <fio> <engine.so>}
out=$("$fio" --enghelp="$engine" 2>&1)
rc=$?
if grep -q "bad ioops version" <<< "$out"; then
  echo "check_engine: $engine was built against fio headers whose FIO_IOOPS_VERSION differs from the installed" \
       "$("$fio" --version)'s: $(grep -o 'bad ioops version.*' <<< "$out" | head -1)." \
       "Run scripts/fetch-fio-source.sh (it fetches the source of exactly the installed fio) and rebuild." >&2
  rm -f "$engine"
  exit 1
fi
if [ "$rc" -ne 0 ] || ! grep -q "digest" <<< "$out"; then
  echo "check_engine: the installed fio could not load $engine (exit $rc):" >&2
  echo "$out" >&2
  rm -f "$engine"
  exit 1
fi
exit 0
