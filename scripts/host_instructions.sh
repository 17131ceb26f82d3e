#!/usr/bin/env bash
# Instructions the host's timed part of bench_host_rx's BM_HostReceiveTcp executes per read, counted
# by callgrind (bench/callgrind_part.hpp), for one build or two side by side. Where the VM's speed
# moves by a third between minutes, this count moves by 1-2% (the TCP's timers still see the
# clock): it says whether a change to the host's per-segment work took instructions off, the timed
# A/B (scripts/bench_ab.sh) whether that was time.
# Under valgrind the CPU reports no AVX-512, so the copy and CRC paths are not this CPU's: compare
# the host with the offload on (no copy, no CRC), or the same path in both builds.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/host_instructions.sh [--filter REGEX] BUILD_A [BUILD_B]

  BUILD_A, BUILD_B   build directories (each has bench/bench_host_rx)
  --filter REGEX     BM_HostReceiveTcp benchmarks (default: 64, 128 and 512 KiB reads, MSS 1448,
                     data digests, offload on, no LRO)

Prints, per benchmark, instructions per read of each build (and B/A). Needs valgrind (apt-get install
valgrind; its callgrind.h must have been there when bench_host_rx was built).
Example:
  scripts/host_instructions.sh /tmp/build-before build
USAGE
}

filter='HostReceiveTcp/read:(65536|131072|524288)/mss:1448/digest:1/offload:1/lro:0'
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) [ -n "${2:-}" ] || { echo "host_instructions: --filter needs a regex" >&2; exit 2; }; filter=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "host_instructions: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || { usage >&2; exit 2; }
command -v valgrind > /dev/null || { echo "host_instructions: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
for build in "$@"; do
  [ -x "$build/bench/bench_host_rx" ] || { echo "host_instructions: no $build/bench/bench_host_rx" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instructions per read of one benchmark in one build: callgrind counts only the host's part.
per_read() {
  local build=$1 name=$2 out="$work/cg.out" log="$work/run.log"
  valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out" \
    "$build/bench/bench_host_rx" --benchmark_filter="^BM_${name}\$" --benchmark_min_time=0.1 > "$log" 2>&1 ||
    { echo "host_instructions: $build: the benchmark failed:" >&2; tail -5 "$log" >&2; exit 1; }
  local reads instructions
  reads=$(sed -n 's/.*callgrind_part: host part of \([0-9]*\) reads.*/\1/p' "$log")
  [ -n "$reads" ] || { echo "host_instructions: $build: bench_host_rx was built without valgrind/callgrind.h (it counted nothing)" >&2; exit 1; }
  [ "$reads" -gt 0 ] || { echo "host_instructions: $build: $name ran no read" >&2; exit 1; }
  instructions=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$log")
  [ -n "$instructions" ] || { echo "host_instructions: $build: no instruction count in callgrind's output" >&2; exit 1; }
  echo $((instructions / reads))
}

names=$("$1/bench/bench_host_rx" --benchmark_list_tests --benchmark_filter="$filter" | grep '^BM_HostReceiveTcp/' | sed 's/^BM_//' || true)
[ -n "$names" ] || { echo "host_instructions: no BM_HostReceiveTcp benchmark matches '$filter'" >&2; exit 1; }
printf '%-70s %14s' "benchmark (instructions per read)" "$1"
[ $# -eq 2 ] && printf ' %14s %7s' "$2" "B/A"
echo
for name in $names; do
  a=$(per_read "$1" "$name")
  printf '%-70s %14d' "$name" "$a"
  if [ $# -eq 2 ]; then
    b=$(per_read "$2" "$name")
    printf ' %14d %7s' "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
  fi
  echo
done
