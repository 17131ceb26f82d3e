#!/usr/bin/env bash
# The one benchmark command (issue 14): builds, runs every Google Benchmark program with JSON output
# (median of several repetitions), then scripts/bench_report.py writes results.csv, report.md (machine,
# paths chosen, versions, command lines, each goal beside its measured ratio) and PNG plots into the
# output directory. --update-readme puts report.md into README.md between its bench.sh markers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${NVMEDDP_BUILD_DIR:-$root/build}

# The programs, in the order they run. One not built (yet) is recorded as absent and the report says
# "not run" for its figures; the run goes on.
binaries=(bench_nvmetcp bench_engine bench_ddp bench_packet bench_host_rx bench_host_tx bench_memory bench_scaling)

usage() {
  cat <<EOF
usage: scripts/bench.sh [options]
  --reps N           repetitions of each benchmark (bench_host_rx's in random order among its
                     other benchmarks, --benchmark_enable_random_interleaving); the report takes
                     their median (default 3)
  --min-time S       --benchmark_min_time of each repetition, in seconds (default 0.2)
  --filter REGEX     run only the benchmarks matching REGEX (--benchmark_filter, in every program)
  --out DIR          where results go (default bench-results/<UTC timestamp>)
  --quick            a smoke run: --reps 1 --min-time 0.02 (figures are not trustworthy)
  --no-build         use the programs already in $build (skip scripts/build.sh)
  --update-readme    replace README.md's text between <!-- bench.sh:begin --> and <!-- bench.sh:end -->
                     with the report
  --e2e [SECONDS]    also the end-to-end figures (scripts/bench_e2e.sh: fio against the built-in target
                     over a veth pair; root; five configurations x four jobs of SECONDS each, default 3,
                     repeated --reps times, off and on in turn; target and fio pinned to CPUs of their own)
  --faults [SEEDS]   also issue 16's figures under the fault shim (scripts/fault_table.py: the offload demo
                     off and on at 0.2% and 1% of loss, reordering and duplication, and with wire corruption
                     added, seeds SEEDS, default 1-10; about 4 minutes; root, as the demo's EAL)
  --cpu N            the CPU every benchmark program runs on (taskset; default the last CPU this
                     shell may use); bench_scaling places its own threads. A ratio of two figures
                     means little when they ran on different CPUs: on these VMs one vCPU runs the
                     same code up to 1.7x slower than the other.
  --help             this text
Environment: NVMEDDP_BUILD_DIR (default build/).
Memory: bench_host_rx's out-of-cache workloads take twice the L3 (64 MiB to 1 GiB) and its heap is
never handed back to the kernel while it runs (so that the next workload reuses the pages): on a
CPU with a large L3 it peaks near 1.6 GB.
EOF
}

reps=3
min_time=0.2
filter=
out=
build_first=1
update_readme=0
e2e_seconds=
fault_seeds=
cpu=
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=${2:?--reps needs a number}; shift 2 ;;
    --min-time) min_time=${2:?--min-time needs seconds}; shift 2 ;;
    --filter) filter=${2:?--filter needs a regex}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --quick) reps=1; min_time=0.02; shift ;;
    --no-build) build_first=0; shift ;;
    --update-readme) update_readme=1; shift ;;
    --e2e)
      if [[ "${2:-}" =~ ^[0-9]+$ ]]; then e2e_seconds=$2; shift 2; else e2e_seconds=3; shift; fi ;;
    --faults)
      if [[ "${2:-}" =~ ^[0-9][0-9,-]*$ ]]; then fault_seeds=$2; shift 2; else fault_seeds=1-10; shift; fi ;;
    --cpu) cpu=${2:?bench.sh: --cpu needs a CPU number}; shift 2 ;;
    --help|-h) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --reps must be a positive integer, not '$reps'" >&2; exit 2; }
[[ "$min_time" =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "bench.sh: --min-time must be seconds, not '$min_time'" >&2; exit 2; }
[ -n "$out" ] || out="$root/bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
source "$root/scripts/lib/pin_cpu.sh"
cpu=$(choose_bench_cpu bench.sh "$cpu") || exit $?

# gnuplot draws the plots (Debian's gnuplot-nox: no X11). Installed the way install-deps.sh installs.
if ! dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null | grep -q "install ok installed"; then
  echo "bench.sh: installing gnuplot-nox (for the plots)" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if ! { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends gnuplot-nox; } >&2; then
    echo "bench.sh: could not install gnuplot-nox: the report will have no plots" >&2
  fi
fi

if [ "$build_first" = 1 ]; then
  echo "bench.sh: building ($root/scripts/build.sh)" >&2
  "$root/scripts/build.sh" > /dev/null
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
# One line per program: name, status (ok, absent, failed, no-match), exit code, command line. The
# report states each program's status and command line from it.
runs="$out/runs.tsv"
: > "$runs"
failed=()
for name in "${binaries[@]}"; do
  exe="$build/bench/$name"
  json="$out/$name.json"
  cmd=()
  [ "$name" = bench_scaling ] || cmd=(taskset -c "$cpu")
  cmd+=("$exe" "--benchmark_out=$json" --benchmark_out_format=json "--benchmark_repetitions=$reps"
        --benchmark_report_aggregates_only=true "--benchmark_min_time=$min_time")
  # bench_host_rx: repetitions in random order among its other benchmarks, not back to back. In
  # order, a run there kept one benchmark's state (where its pools and buffers land) for all its
  # repetitions and moved its figure by 40% against the same benchmark run alone (MSS 1448, 64 KiB
  # reads with the offload on: 0.081 cycles a byte in order, 0.057-0.058 alone and interleaved).
  # Not the other programs: interleaved, their in-cache figures (the engine's packets, memcpy)
  # spread over 15-49% (cv) against a few percent in order. Interleaving costs bench_host_rx little:
  # it keeps its in-cache workloads and builds an out-of-cache one by copying two rounds into pages
  # the last one freed (host_rx_rig.hpp), about 200 s in all.
  [ "$name" != bench_host_rx ] || cmd+=(--benchmark_enable_random_interleaving=true)
  [ -z "$filter" ] || cmd+=("--benchmark_filter=$filter")
  printf -v cmdline '%q ' "${cmd[@]}"
  cmdline=${cmdline% }
  cmdline=${cmdline//"$root/"/}  # paths relative to the repository, as a reader would type them
  if [ ! -x "$exe" ]; then
    echo "bench.sh: $name: not built ($exe missing): its figures will say 'not run'" >&2
    printf '%s\tabsent\t-\t%s\n' "$name" "$cmdline" >> "$runs"
    continue
  fi
  total=$("$exe" --benchmark_list_tests=true ${filter:+"--benchmark_filter=$filter"} 2>/dev/null | grep -c . || true)
  if [ "$total" -eq 0 ]; then
    echo "bench.sh: $name: no benchmark matches the filter" >&2
    printf '%s\tno-match\t0\t%s\n' "$name" "$cmdline" >> "$runs"
    continue
  fi
  echo "bench.sh: $name: $total benchmarks x $reps repetitions ..." >&2
  log="$out/$name.log"
  rm -f "$json"
  start=$SECONDS
  # The console output goes to a log; one progress line per finished benchmark goes to stderr.
  set +e
  "${cmd[@]}" --benchmark_color=false 2>&1 | tee "$log" | awk -v name="$name" -v total="$total" '
      /^BM_/ { sub(/_(mean|median|stddev|cv)$/, "", $1); if (!($1 in seen)) { seen[$1] = 1; n++;
               printf "%s: %d/%d %s\n", name, n, total, $1 > "/dev/stderr"; fflush("/dev/stderr") } }'
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ] || [ ! -s "$json" ]; then
    echo "bench.sh: $name FAILED (exit code $rc); its output: $log" >&2
    tail -n 20 "$log" >&2
    printf '%s\tfailed\t%s\t%s\n' "$name" "$rc" "$cmdline" >> "$runs"
    failed+=("$name")
    continue
  fi
  echo "bench.sh: $name: done in $((SECONDS - start)) s" >&2
  printf '%s\tok\t0\t%s\n' "$name" "$cmdline" >> "$runs"
done

if [ -n "$e2e_seconds" ]; then
  echo "bench.sh: end to end (scripts/bench_e2e.sh, $e2e_seconds s per job, $reps repetitions)" >&2
  printf -v cmdline '%q ' scripts/bench_e2e.sh "$out" "$e2e_seconds" "$reps"
  if NVMEDDP_BUILD_DIR="$build" "$root/scripts/bench_e2e.sh" "$out" "$e2e_seconds" "$reps"; then
    printf '%s\tok\t0\t%s\n' bench_e2e "${cmdline% }" >> "$runs"
  else
    printf '%s\tfailed\t1\t%s\n' bench_e2e "${cmdline% }" >> "$runs"
    failed+=(bench_e2e)
  fi
fi

if [ -n "$fault_seeds" ]; then
  echo "bench.sh: under faults (scripts/fault_table.py, seeds $fault_seeds)" >&2
  printf -v cmdline '%q ' scripts/fault_table.py --build-dir "$build" --seeds "$fault_seeds" --out "$out/fault_table.md"
  cmdline=${cmdline//"$root/"/}
  if python3 "$root/scripts/fault_table.py" --build-dir "$build" --seeds "$fault_seeds" --out "$out/fault_table.md" \
      > "$out/fault_table.log" 2>&1; then
    printf '%s\tok\t0\t%s\n' fault_table "${cmdline% }" >> "$runs"
  else
    rc=$?
    echo "bench.sh: fault_table.py FAILED (exit code $rc); its output: $out/fault_table.log" >&2
    tail -n 20 "$out/fault_table.log" >&2
    printf '%s\tfailed\t%s\t%s\n' fault_table "$rc" "${cmdline% }" >> "$runs"
    failed+=(fault_table)
  fi
fi

report_args=("$out" --build-dir "$build")
[ "$update_readme" = 0 ] || report_args+=(--update-readme "$root/README.md")
(cd "$root" && python3 "$root/scripts/bench_report.py" "${report_args[@]}")

echo "bench.sh: results in $out (report.md, results.csv, *.png)" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench.sh: FAILED: ${failed[*]} (see their .log in $out)" >&2
  exit 1
fi
