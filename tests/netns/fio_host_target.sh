#!/usr/bin/env bash
# fio with our ioengine (libnvmeddp_fio.so: our NVMe/TCP host, DPDK, net_af_packet) against our
# built-in target (nvmeddp-target, kernel sockets) on a veth pair: two network namespaces this script
# creates and always removes, the target on veth0 (192.0.2.1:4420, subsystem
# nqn.2026-12.io.nvmeddp:demo), fio on veth1 (192.0.2.2). The CTest fio_* tests run it.
#
# usage: fio_host_target.sh <nvmeddp-target> <libnvmeddp_fio.so> <job.fio> [more fio arguments...]
# The job file names the engine as ioengine=external:${NVMEDDP_FIO_ENGINE}, and may use ${DDP},
# ${DIGEST} and ${KERNEL_TCP} (this script exports them: the engine, DDP default on, DIGEST default
# both, KERNEL_TCP default 0).
# Environment: TIMEOUT (seconds for the fio run, default 120), TARGET_ARGS (extra nvmeddp-target
#   options), DDP, DIGEST, KERNEL_TCP=1 (the engine's kernel_tcp=1: the host uses the kernel's TCP on
#   veth1, which then gets 192.0.2.2; use DDP=off with it), TARGET_CPUS and HOST_CPUS (CPU lists for
#   taskset: the target's process and fio's, each kept on its own CPUs; default: not pinned).
# PASSED needs: fio exits 0; no verify error; "nvmeddp offload:" lines (one per job) with no failed
# command; with DDP=on, read bytes placed by the device > 0 in some job, with DDP=off in none; every
# job that completed commands states its busy time in the host per GiB as a number, split into the
# port's receive and send calls and the host's own work (our TCP) or saying there is no port (kernel).
set -euo pipefail
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
target=${1:?usage: fio_host_target.sh <nvmeddp-target> <libnvmeddp_fio.so> <job.fio> [fio args]}
engine=${2:?usage: fio_host_target.sh <nvmeddp-target> <libnvmeddp_fio.so> <job.fio> [fio args]}
job=${3:?usage: fio_host_target.sh <nvmeddp-target> <libnvmeddp_fio.so> <job.fio> [fio args]}
shift 3
timeout_s=${TIMEOUT:-120}
export DDP=${DDP:-on} DIGEST=${DIGEST:-both} KERNEL_TCP=${KERNEL_TCP:-0}
subnqn=nqn.2026-12.io.nvmeddp:demo
if [ "$(id -u)" -ne 0 ]; then echo "fio_host_target: needs root (ip netns, AF_PACKET): FAILED"; exit 1; fi
for tool in ip ethtool fio; do
  command -v "$tool" > /dev/null || { echo "fio_host_target: $tool missing (scripts/install-deps.sh): FAILED"; exit 1; }
done
[ -f "$engine" ] || { echo "fio_host_target: no engine at $engine: FAILED"; exit 1; }
NVMEDDP_FIO_ENGINE=$(readlink -f "$engine")
job=$(readlink -f "$job")
export NVMEDDP_FIO_ENGINE
tag="nvmeddp-fio-$$"
nt="$tag-t"
nh="$tag-h"
work=$(mktemp -d)
cleanup() {
  [ -n "${target_pid:-}" ] && kill "$target_pid" 2> /dev/null || true
  ip netns del "$nt" 2> /dev/null || true
  ip netns del "$nh" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

veth_namespaces "$nt" "$nh"
[ "$KERNEL_TCP" = 1 ] && ip -n "$nh" addr add 192.0.2.2/24 dev veth1

# shellcheck disable=SC2086  # TARGET_ARGS is a list of options
ip netns exec "$nt" ${TARGET_CPUS:+taskset -c "$TARGET_CPUS"} "$target" --listen 192.0.2.1 --port 4420 --subnqn "$subnqn" ${TARGET_ARGS:-} \
  --duration "$((timeout_s + 30))" > "$work/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 100); do grep -q listening "$work/target.log" 2> /dev/null && break; sleep 0.05; done
grep -q listening "$work/target.log" || { echo "fio_host_target: the target did not start:"; cat "$work/target.log"; echo FAILED; exit 1; }

echo "fio_host_target: fio $job (DDP=$DDP DIGEST=$DIGEST KERNEL_TCP=$KERNEL_TCP) $*"
set +e
(cd "$work" && timeout "$timeout_s" ip netns exec "$nh" ${HOST_CPUS:+taskset -c "$HOST_CPUS"} fio "$job" "$@") 2>&1 | tee "$work/fio.log"
fio_rc=${PIPESTATUS[0]}
set -e
kill -INT "$target_pid" 2> /dev/null || true
wait "$target_pid" 2> /dev/null
target_pid=
echo "--- target"
cat "$work/target.log"

fail=0
[ "$fio_rc" -eq 0 ] || { echo "fio_host_target: fio failed (exit $fio_rc)"; fail=1; }
if grep -qiE "verify: |bad magic|crc32c: verify failed|md5: verify failed|pattern.*(mismatch|verify)" "$work/fio.log"; then
  echo "fio_host_target: fio reported verify errors"; fail=1
fi
jobs=$(grep -c '^\[' "$job" | tr -d ' ')
global=$(grep -c '^\[global\]' "$job" | tr -d ' ')
lines=$(grep -c "^nvmeddp offload: " "$work/fio.log" || true)
# At least one per job section (numjobs=N makes N).
[ "$lines" -ge "$((jobs - global))" ] || { echo "fio_host_target: $lines offload lines for $((jobs - global)) jobs"; fail=1; }
if grep -q "^nvmeddp: .*a bug" "$work/fio.log"; then echo "fio_host_target: the engine lost a completion"; fail=1; fi
if grep "^nvmeddp offload: " "$work/fio.log" | grep -vq "(failed 0)$"; then echo "fio_host_target: commands failed"; fail=1; fi
split='port receive [0-9]+\.[0-9], port send [0-9]+\.[0-9], host [0-9]+\.[0-9] '
[ "$KERNEL_TCP" = 1 ] && split='port receive -, port send -, host - '
if grep "^nvmeddp offload: " "$work/fio.log" | grep -v "commands 0 (" | grep -vqE "lcore busy [0-9]+\.[0-9] ms per GiB: $split"; then
  echo "fio_host_target: a job that moved data gave no busy time per GiB"; fail=1
fi
placed=$(grep "^nvmeddp offload: " "$work/fio.log" | grep -c "bytes placed [1-9]" || true)
if [ "$DDP" = on ] && [ "$placed" -eq 0 ]; then echo "fio_host_target: ddp=on but the device placed no read bytes"; fail=1; fi
if [ "$DDP" = off ] && [ "$placed" -ne 0 ]; then echo "fio_host_target: ddp=off but bytes were placed"; fail=1; fi
if [ "$fail" -ne 0 ]; then echo "fio_host_target: FAILED"; exit 1; fi
echo "fio_host_target: PASSED"
