#!/usr/bin/env bash
# Two builds side by side: runs one Google Benchmark program of build A and of build B in turn, ROUNDS
# times (A B, then B A, ...), each run with repetitions, and prints for every benchmark and per-packet or
# per-read figure the fastest and the median of each build and the ratio B/A. On a VM whose speed moves
# within minutes (these machines), alternating rounds keep a slow spell from landing on one build only,
# and the fastest of many runs is the steadiest figure of what the code costs.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench_ab.sh [--rounds N] [--reps N] [--min-time S] BUILD_A BUILD_B PROGRAM FILTER

  BUILD_A, BUILD_B   two build directories (each has bench/PROGRAM)
  PROGRAM            bench_engine, bench_host_rx, bench_packet, ...
  FILTER             a --benchmark_filter regex
  --rounds N         rounds of A and B (default 2; the order flips every round)
  --reps N           repetitions per run (default 5)
  --min-time S       --benchmark_min_time per repetition (default 0.2)
  --cpu N            the CPU both run on (taskset; default the last CPU this shell may use): on
                     these VMs one vCPU runs the same code up to 1.7x slower than the other

Figures compared, in ns: every user counter in ns (ns/packet, host_ns_per_read, engine_ns_per_read),
else the real time. Example:
  scripts/bench_ab.sh /tmp/build-before build bench_engine 'NonDataPacket'
EOF
}

rounds=2 reps=5 min_time=0.2 cpu=
positive() {  # option value: a whole number from 1
  if ! [[ "${2:-}" =~ ^[1-9][0-9]*$ ]]; then echo "bench_ab: $1 needs a whole number from 1, not '${2:-}'" >&2; exit 2; fi
}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) positive "$1" "${2:-}"; rounds=$2; shift 2 ;;
    --reps) positive "$1" "${2:-}"; reps=$2; shift 2 ;;
    --min-time)
      if ! [[ "${2:-}" =~ ^[0-9]*\.?[0-9]+$ ]]; then echo "bench_ab: --min-time needs seconds, not '${2:-}'" >&2; exit 2; fi
      min_time=$2; shift 2 ;;
    --cpu) cpu=${2:?bench_ab: --cpu needs a CPU number}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "bench_ab: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 4 ]; then usage >&2; exit 2; fi
build_a=$1 build_b=$2 program=$3 filter=$4
for b in "$build_a" "$build_b"; do
  if [ ! -x "$b/bench/$program" ]; then echo "bench_ab: $b/bench/$program: no such program (built?)" >&2; exit 2; fi
done

source "$(dirname "$(readlink -f "$0")")/lib/pin_cpu.sh"
cpu=$(choose_bench_cpu bench_ab "$cpu") || exit $?
echo "bench_ab: both on CPU $cpu" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq "$rounds"); do
  order=("A:$build_a" "B:$build_b")
  if [ $((r % 2)) -eq 0 ]; then order=("B:$build_b" "A:$build_a"); fi
  for entry in "${order[@]}"; do
    side=${entry%%:*} dir=${entry#*:}
    # JSON to a file of its own: the program's console output (and DPDK's log) stays out of it.
    taskset -c "$cpu" "$dir/bench/$program" --benchmark_filter="$filter" --benchmark_repetitions="$reps" \
      --benchmark_min_time="$min_time" --benchmark_out="$work/$side.$r.json" --benchmark_out_format=json \
      > "$work/$side.$r.log" 2>&1 || {
      echo "bench_ab: $dir/bench/$program failed:" >&2; cat "$work/$side.$r.log" >&2; exit 1; }
  done
done

# The JSON is read as scripts/bench_report.py reads it (row_metrics: times in ns, Google Benchmark's
# inverted rate counters such as ns/packet from seconds to ns).
python3 - "$work" "$build_a" "$build_b" "$(dirname "$0")" <<'PY'
import collections, glob, json, os, statistics, sys
work, build_a, build_b, scripts = sys.argv[1:5]
sys.path.insert(0, scripts)
from bench_report import row_metrics
values = collections.defaultdict(lambda: {"A": [], "B": []})
for path in sorted(glob.glob(os.path.join(work, "*.json"))):
    side = os.path.basename(path).split(".")[0]
    with open(path) as f:
        text = f.read()
    if not text.strip():
        continue  # Google Benchmark writes nothing when the filter matches no benchmark
    for b in json.loads(text).get("benchmarks", []):
        if b.get("error_occurred"):
            # A benchmark that gave up still has counters; they must not count as the faster build's.
            sys.exit(f"bench_ab: build {side}: {b['name']} failed: {b.get('error_message', '')}")
        if b.get("run_type") != "iteration":
            continue
        metrics = row_metrics(b)
        figures = [k for k, (_, unit) in metrics.items() if unit == "ns" and k not in ("real_time", "cpu_time")]
        for k in figures or ["real_time"]:
            values[(b["name"], k)][side].append(metrics[k][0])
if not values:
    sys.exit("bench_ab: the filter matched no benchmark in either build")
print(f"A = {build_a}\nB = {build_b}\n")
print("| benchmark | figure | A fastest | B fastest | B/A fastest | A median | B median | B/A median |")
print("|---|---|---|---|---|---|---|---|")
for (name, key), v in sorted(values.items()):
    a, b = v["A"], v["B"]
    if not a or not b or (max(a) == 0 and max(b) == 0):
        continue  # in one build only, or a figure the benchmark leaves at 0 (the engine with the offload off)
    fa, fb, ma, mb = min(a), min(b), statistics.median(a), statistics.median(b)
    ratio = lambda x, y: f"{y / x:.2f}x" if x > 0 else "-"
    print(f"| {name} | {key} | {fa:.1f} | {fb:.1f} | {ratio(fa, fb)} | {ma:.1f} | {mb:.1f} | {ratio(ma, mb)} |")
PY
