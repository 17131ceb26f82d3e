#!/usr/bin/env bash
# Builds and runs the Google Benchmark programs; figures quoted in README.md come from this script.
# Arguments go to every benchmark binary (e.g. --benchmark_filter=Parse).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${NVMEDDP_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" > /dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time=0.2 "$@"
done
