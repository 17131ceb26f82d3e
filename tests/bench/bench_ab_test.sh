#!/usr/bin/env bash
# scripts/bench_ab.sh on one build against itself, with a quick benchmark: the table has the row and a
# ratio for each figure, and bad input (no such program, a filter that matches nothing) fails with a
# message instead of an empty table, as does a CPU the shell may not run on.
set -euo pipefail
script=$1 build=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$script" --rounds 2 --reps 2 --min-time 0.01 "$build" "$build" bench_engine 'NonDataPacket/kind:0' > "$out"
cat "$out"
grep -q '^| BM_EngineNonDataPacket/kind:0 | ns/packet | [0-9.]* | [0-9.]* | [0-9.]*x | [0-9.]* | [0-9.]* | [0-9.]*x |$' "$out" || {
  echo "FAIL: no row for kind:0 with both builds' figures and ratios"; exit 1; }

if "$script" "$build" "$build" bench_nonexistent 'x' > "$out" 2>&1; then
  echo "FAIL: a missing program was accepted"; exit 1
fi
grep -q 'no such program' "$out" || { echo "FAIL: no message for a missing program"; cat "$out"; exit 1; }

if "$script" --reps 1 --min-time 0.01 "$build" "$build" bench_engine 'matches_no_benchmark_at_all' > "$out" 2>&1; then
  echo "FAIL: a filter that matches nothing gave a table"; cat "$out"; exit 1
fi
grep -q -i 'match' "$out" || { echo "FAIL: no message for a filter that matches nothing"; cat "$out"; exit 1; }
if "$script" --rounds 0 "$build" "$build" bench_engine 'x' > "$out" 2>&1; then
  echo "FAIL: --rounds 0 was accepted"; exit 1
fi
grep -q 'whole number' "$out" || { echo "FAIL: no message for --rounds 0"; cat "$out"; exit 1; }
for bad in 4095 x; do
  if "$script" --cpu "$bad" "$build" "$build" bench_engine 'x' > "$out" 2>&1; then
    echo "FAIL: --cpu $bad was accepted"; exit 1
  fi
  grep -q -e "--cpu $bad: not one of the CPUs" -e "--cpu needs a CPU number, not '$bad'" "$out" || {
    echo "FAIL: no message for --cpu $bad"; cat "$out"; exit 1; }
done
echo "bench_ab: ok"
