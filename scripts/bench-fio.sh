#!/usr/bin/env bash
# The fio benchmark at blktests nvme/056's shape (bench/fio/nvme056_qd128.fio: queue depth 128,
# random reads of 64 KiB and 512 KiB, a random read/write mix), run with the offload off and then on,
# against the built-in target on a veth pair in network namespaces (tests/netns/fio_host_target.sh,
# root). Prints the machine, then a markdown table: per job, IOPS and bandwidth off and on, their
# ratio, the fio job thread's busy time in the host per GiB moved off and on (apps/fio/lcore_time.h)
# with their ratio and the host's own part of it (the port's receive and send calls left out), and
# what the offload did (read bytes placed, data digests verified by the device).
#
#   scripts/bench-fio.sh [RUNTIME seconds per job, default 5]   (DIGEST=none|header|data|both, default data)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${NVMEDDP_BUILD_DIR:-$root/build}
runtime=${1:-5}
case "$runtime" in '' | *[!0-9]*) echo "bench-fio: RUNTIME must be a number of seconds, not '$runtime'" >&2; exit 2 ;; esac
"$root/scripts/build.sh" > /dev/null
engine="$build/apps/fio/libnvmeddp_fio.so"
[ -f "$engine" ] || { echo "bench-fio: no fio engine at $engine (see README, Requirements)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RUNTIME=$runtime DIGEST=${DIGEST:-data} TIMEOUT=$((runtime * 3 * 2 + 120))
for ddp in off on; do
  echo "bench-fio: offload $ddp (${runtime} s per job)..." >&2
  DDP=$ddp "$root/tests/netns/fio_host_target.sh" "$build/apps/nvmeddp-target" "$engine" \
    "$root/bench/fio/nvme056_qd128.fio" > "$work/$ddp.log" 2>&1 || {
    cat "$work/$ddp.log"; echo "bench-fio: the offload-$ddp run FAILED" >&2; exit 1; }
done

# One job's figures of one run (scripts/fio_figures.awk).
figures() {  # log job -> "read_iops read_bw write_iops write_bw placed% digests_dev digests_sw usr% sys% busy_ms_per_gib port_rx port_tx host (ms/GiB)"
  awk -v job="$2" -f "$root/scripts/fio_figures.awk" "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'function v(x) { if (x ~ /k$/) return x * 1000; return x + 0 }
  BEGIN { if (v(a) > 0 && b != "-") printf "%.2f", v(b) / v(a); else printf "-" }'; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
  "avx512f $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no), vpclmulqdq $(grep -qw vpclmulqdq /proc/cpuinfo && echo yes || echo no)"
echo "fio $(fio --version), digest=$DIGEST, iodepth 128, one job thread, ${runtime} s per job, net_af_packet on a veth"
echo
echo "| job | read IOPS off | on | on/off | read BW off | on | write IOPS off | on | host busy ms/GiB off | on | on/off | of it host off | on | read bytes placed (on) | digests device / host (on) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for job in randread-64k randread-512k randrw-64k; do
  read -r r_off bw_off w_off _ _ _ _ _ _ busy_off _ _ own_off <<< "$(figures "$work/off.log" "$job")"
  read -r r_on bw_on w_on _ placed dev sw _ _ busy_on _ _ own_on <<< "$(figures "$work/on.log" "$job")"
  echo "| $job | $r_off | $r_on | $(ratio "$r_off" "$r_on") | $bw_off | $bw_on | $w_off | $w_on | $busy_off | $busy_on |" \
    "$(ratio "$busy_off" "$busy_on") | $own_off | $own_on | $placed | $dev / $sw |"
done
