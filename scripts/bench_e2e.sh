#!/usr/bin/env bash
# The end-to-end part of scripts/bench.sh (--e2e): bench/fio/e2e_matrix.fio with our fio engine
# against the built-in target on a veth pair in network namespaces (tests/netns/fio_host_target.sh:
# root), in five configurations: our TCP with the offload off and on, each with data digests off and
# on, and the kernel's TCP (offload off, no digest) as the baseline of our TCP's receive path.
# The five run in turn, REPS times over, in reverse order every other time (so that neither off nor
# on always goes first, and the machine's drift falls on both); scripts/bench_report.py takes each
# figure's median. With two CPUs or more to run on, the target runs on the first and fio on the
# second (E2E_PIN=0: unpinned): the host's figures are then its own thread's, not whatever the
# scheduler mixed in. Writes one line per repetition, configuration and job to
# OUT/e2e.tsv and the fio logs beside it.
#
#   scripts/bench_e2e.sh OUT [RUNTIME seconds per job, default 3] [REPS, default 3]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${NVMEDDP_BUILD_DIR:-$root/build}
out=${1:?usage: scripts/bench_e2e.sh OUT [RUNTIME] [REPS]}
runtime=${2:-3}
reps=${3:-3}
case "$runtime" in '' | *[!0-9]*) echo "bench_e2e: RUNTIME must be a number of seconds, not '$runtime'" >&2; exit 2 ;; esac
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench_e2e: REPS must be a positive number, not '$reps'" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench_e2e: needs root (network namespaces and a veth pair)" >&2; exit 2; }
engine="$build/apps/fio/libnvmeddp_fio.so"
[ -f "$engine" ] || { echo "bench_e2e: no fio engine at $engine (see README, Requirements)" >&2; exit 1; }
command -v fio > /dev/null || { echo "bench_e2e: fio is not installed (scripts/install-deps.sh)" >&2; exit 1; }
mkdir -p "$out"
jobfile="$root/bench/fio/e2e_matrix.fio"
jobs=$(grep '^\[' "$jobfile" | grep -v '^\[global\]' | tr -d '[]')
tsv="$out/e2e.tsv"
printf 'rep\tconfig\ttcp\tddp\tdigest\tjob\tread_iops\tread_bw\tplaced\tdigests_device\tdigests_host\tusr\tsys\tbusy_ms_per_gib\tport_rx_ms_per_gib\tport_tx_ms_per_gib\thost_ms_per_gib\n' > "$tsv"
pinning="not pinned"
# The CPUs this script may run on (a cpuset may leave out CPU 0), as taskset lists them: "0-3,6".
read -r -a cpus <<< "$(python3 -c 'import os; print(" ".join(str(c) for c in sorted(os.sched_getaffinity(0))))')"
if [ "${E2E_PIN:-1}" != 0 ] && [ "${#cpus[@]}" -ge 2 ]; then
  export TARGET_CPUS=${cpus[0]} HOST_CPUS=${cpus[1]}
  pinning="target on CPU $TARGET_CPUS, fio on CPU $HOST_CPUS"
fi
echo "$pinning" > "$out/e2e_pinning.txt"
# name tcp ddp digest
configs="ours-off-none ours off none
ours-on-none ours on none
ours-off-data ours off data
ours-on-data ours on data
kernel-off-none kernel off none"
export RUNTIME=$runtime TIMEOUT=$((runtime * 4 * 2 + 120))
for rep in $(seq "$reps"); do
  order=$configs
  [ $((rep % 2)) -eq 0 ] && order=$(tac <<< "$configs")
  while read -r name tcp ddp digest; do
    echo "bench_e2e: $name, repetition $rep of $reps (${runtime} s per job, $pinning)..." >&2
    log="$out/e2e-$name-$rep.log"
    KERNEL_TCP=$([ "$tcp" = kernel ] && echo 1 || echo 0) DDP=$ddp DIGEST=$digest \
      "$root/tests/netns/fio_host_target.sh" "$build/apps/nvmeddp-target" "$engine" "$jobfile" > "$log" 2>&1 || {
      tail -20 "$log" >&2; echo "bench_e2e: the $name run FAILED (log: $log)" >&2; exit 1; }
    for job in $jobs; do
      read -r iops bw _ _ placed dev sw usr sys busy rx tx own <<< "$(awk -v job="$job" -f "$root/scripts/fio_figures.awk" "$log")"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$name" "$tcp" "$ddp" "$digest" "$job" \
        "$iops" "$bw" "$placed" "$dev" "$sw" "$usr" "$sys" "$busy" "$rx" "$tx" "$own" >> "$tsv"
    done
  done <<< "$order"
done
echo "bench_e2e: results in $tsv" >&2
