#!/usr/bin/env bash
# Instructions a benchmark's timed part executes per item, counted by callgrind
# (bench/callgrind_part.hpp), for one build or two side by side: the host's part of bench_host_rx's
# BM_HostReceiveTcp per read, or with --engine bench_engine's per packet. Where the VM's speed moves
# by a third between minutes, this count moves by 1-2% (the host's TCP timers still see the clock):
# it says whether a change took instructions off, the timed A/B (scripts/bench_ab.sh) whether that
# was time.
# Under valgrind the CPU reports no AVX-512, so the copy and CRC paths are not this CPU's: compare
# the host with the offload on (no copy, no CRC), the engine without digests, or the same path in
# both builds.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/instructions.sh [--engine] [--filter REGEX] BUILD_A [BUILD_B]

  BUILD_A, BUILD_B   build directories (each has bench/bench_host_rx, or bench/bench_engine)
  --engine           bench_engine's BM_EnginePlaceAndVerify and BM_EngineNonDataPacket, per packet
                     (default: bench_host_rx's BM_HostReceiveTcp, the host's part, per read)
  --filter REGEX     which of them (default host: 64, 128 and 512 KiB reads, MSS 1448, data
                     digests, offload on, no LRO; engine: MSS 1448 and 8948 with 4 and 64 KiB PDUs,
                     no digest, the port's checksum, and every packet with nothing to place)

Prints, per benchmark, instructions per item of each build (and B/A). Needs valgrind (apt-get install
valgrind; its callgrind.h must have been there when the benchmark was built).
Examples:
  scripts/instructions.sh /tmp/build-before build
  scripts/instructions.sh --engine --filter 'NonDataPacket/kind:5/' /tmp/build-before build
USAGE
}

bench=bench_host_rx
prefix=HostReceiveTcp
unit=read
filter=
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) bench=bench_engine; prefix='Engine(PlaceAndVerify|NonDataPacket)'; unit=packet; shift ;;
    --filter) [ -n "${2:-}" ] || { echo "instructions: --filter needs a regex" >&2; exit 2; }; filter=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "instructions: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ -z "$filter" ]; then
  if [ "$bench" = bench_engine ]; then
    filter='Engine(PlaceAndVerify/mss:(1448|8948)/pdu:(4096|65536)/digest:0/csum:1|NonDataPacket/kind:[0-5])(/|$)'
  else
    filter='HostReceiveTcp/read:(65536|131072|524288)/mss:1448/digest:1/offload:1/lro:0'
  fi
fi
[ $# -ge 1 ] && [ $# -le 2 ] || { usage >&2; exit 2; }
command -v valgrind > /dev/null || { echo "instructions: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
for build in "$@"; do
  [ -x "$build/bench/$bench" ] || { echo "instructions: no $build/bench/$bench" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instructions per item of one benchmark in one build: callgrind counts only the timed part.
per_item() {
  local build=$1 name=$2 out="$work/cg.out" log="$work/run.log"
  valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out" \
    "$build/bench/$bench" --benchmark_filter="^BM_${name}\$" --benchmark_min_time=0.1 > "$log" 2>&1 ||
    { echo "instructions: $build: the benchmark failed:" >&2; tail -5 "$log" >&2; exit 1; }
  local items instructions
  items=$(sed -n 's/.*callgrind_part: counted part of \([0-9]*\) items.*/\1/p' "$log")
  [ -n "$items" ] || { echo "instructions: $build: $bench was built without valgrind/callgrind.h (it counted nothing)" >&2; exit 1; }
  [ "$items" -gt 0 ] || { echo "instructions: $build: $name counted no $unit" >&2; exit 1; }
  instructions=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$log")
  [ -n "$instructions" ] || { echo "instructions: $build: no instruction count in callgrind's output" >&2; exit 1; }
  echo $((instructions / items))
}

names=$("$1/bench/$bench" --benchmark_list_tests --benchmark_filter="$filter" | grep -E "^BM_${prefix}/" | sed 's/^BM_//' || true)
[ -n "$names" ] || { echo "instructions: no $bench benchmark matches '$filter'" >&2; exit 1; }
printf '%-70s %14s' "benchmark (instructions per $unit)" "$1"
[ $# -eq 2 ] && printf ' %14s %7s' "$2" "B/A"
echo
for name in $names; do
  a=$(per_item "$1" "$name")
  printf '%-70s %14d' "$name" "$a"
  if [ $# -eq 2 ]; then
    b=$(per_item "$2" "$name")
    printf ' %14d %7s' "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
  fi
  echo
done
