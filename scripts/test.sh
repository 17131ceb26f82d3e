#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test through CTest (including
# the ThreadSanitizer build of the concurrency test and the replay of the fuzz corpora), then the
# suite again under ASan + UBSan and each fuzz target for FUZZ_SECONDS (default 60) seconds
# (scripts/sanitize.sh). NVMEDDP_QUICK=1 stops after the first part, and says so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${NVMEDDP_BUILD_DIR:-$root/build}
"$root/scripts/build.sh"
(cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 600)
if [ "${NVMEDDP_QUICK:-0}" = 1 ]; then
  echo "test: NVMEDDP_QUICK=1: the sanitizer build and the fuzzing were NOT run"
  exit 0
fi
"$root/scripts/sanitize.sh"
