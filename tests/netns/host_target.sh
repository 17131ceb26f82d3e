#!/usr/bin/env bash
# Our NVMe/TCP host (nvmeddp-host, DPDK, net_af_packet) against our built-in target (nvmeddp-target,
# kernel sockets) on a veth pair: two network namespaces this script creates and always removes,
# the target on veth0 (192.0.2.1:4420), the host on veth1 (192.0.2.2). The scripts/run.sh main job
# and the CTest host_target_* tests run it.
#
# usage: host_target.sh <nvmeddp-target> <nvmeddp-host> [nvmeddp-host options...] [-- EAL arguments]
# Environment: TARGET_ARGS (extra nvmeddp-target options, e.g. "--c2h-split 8192 --cpda 3"),
#   TIMEOUT (seconds for the whole run, default 600), KERNEL_TCP=1 (the host uses the kernel's TCP on
#   veth1 instead of DPDK: a baseline), CAPTURE=1 (tcpdump on the target's side; tshark's nvme-tcp
#   dissector must decode it with no malformed PDU and find C2HData in it, and without TARGET_ARGS
#   every connection must close with FIN both ways, no RST; KEEP_CAPTURE=file keeps it), DISCOVER=1 (no --subnqn:
#   the host finds the subsystem through the target's discovery controller), NVMEDDP_VDEV=1 (the host
#   uses net_nvmeddp stacked on veth1, which runs the offload itself; NVMEDDP_VDEV=",ddp_io_threshold=32K"
#   adds devargs; NVMEDDP_VDEV=af_xdp stacks it on a net_af_xdp port instead of net_af_packet).
set -euo pipefail
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
# shellcheck source=capture_lib.sh
. "$(dirname "$0")/capture_lib.sh"
target=${1:?usage: host_target.sh <nvmeddp-target> <nvmeddp-host> [host options]}
host=${2:?usage: host_target.sh <nvmeddp-target> <nvmeddp-host> [host options]}
shift 2
timeout_s=${TIMEOUT:-600}
subnqn=nqn.2026-12.io.nvmeddp:demo
if [ "$(id -u)" -ne 0 ]; then echo "host_target: needs root (ip netns, AF_PACKET): FAILED"; exit 1; fi
for tool in ip ethtool; do
  command -v "$tool" > /dev/null || { echo "host_target: $tool missing (scripts/install-deps.sh): FAILED"; exit 1; }
done
if [ "${CAPTURE:-0}" = 1 ]; then
  for tool in tcpdump tshark; do
    command -v "$tool" > /dev/null || { echo "host_target: $tool missing (scripts/install-deps.sh): FAILED"; exit 1; }
  done
fi
tag="nvmeddp-host-$$"
nt="$tag-t"
nh="$tag-h"
work=$(mktemp -d)
cleanup() {
  [ -n "${dump_pid:-}" ] && kill "$dump_pid" 2> /dev/null || true
  [ -n "${target_pid:-}" ] && kill "$target_pid" 2> /dev/null || true
  ip netns del "$nt" 2> /dev/null || true
  ip netns del "$nh" 2> /dev/null || true
  [ -n "${KEEP_CAPTURE:-}" ] && cp "$work/cap.pcap" "$KEEP_CAPTURE" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

veth_namespaces "$nt" "$nh"

if [ "${CAPTURE:-0}" = 1 ]; then
  ip netns exec "$nt" tcpdump -i veth0 -B "$CAPTURE_BUFFER_KIB" -s 0 -w "$work/cap.pcap" -U --immediate-mode tcp port 4420 2> "$work/tcpdump.err" &
  dump_pid=$!
  capture_wait_listening "$work/tcpdump.err" || { echo "host_target: tcpdump did not start: FAILED"; exit 1; }
fi

# shellcheck disable=SC2086  # TARGET_ARGS is a list of options
ip netns exec "$nt" "$target" --listen 192.0.2.1 --port 4420 --subnqn "$subnqn" ${TARGET_ARGS:-} \
  --duration "$timeout_s" > "$work/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 100); do grep -q listening "$work/target.log" 2> /dev/null && break; sleep 0.05; done
grep -q listening "$work/target.log" || { echo "host_target: the target did not start:"; cat "$work/target.log"; echo FAILED; exit 1; }

host_args=(--traddr 192.0.2.1 --trsvcid 4420)
[ "${DISCOVER:-0}" = 1 ] || host_args+=(--subnqn "$subnqn")
if [ "${KERNEL_TCP:-0}" = 1 ]; then
  ip -n "$nh" addr add 192.0.2.2/24 dev veth1
  host_args+=(--kernel-tcp)
elif [ -n "${NVMEDDP_VDEV:-}" ]; then
  # Our vdev stacked on veth1, running the offload itself (its devargs: NVMEDDP_VDEV).
  host_args+=(--port net_nvmeddp0 --local-ip 192.0.2.2)
else
  host_args+=(--port net_af_packet0 --local-ip 192.0.2.2)
fi
# EAL arguments after the caller's options: the port on veth1 (unless KERNEL_TCP).
eal=()
if [ -n "${NVMEDDP_VDEV:-}" ]; then
  lower=${NVMEDDP_VDEV%%,*}      # 1 (af_packet made by the vdev on veth1) or af_xdp
  devargs=${NVMEDDP_VDEV#"$lower"}
  case "$lower" in
    af_xdp) eal=(--vdev=net_af_xdp0,iface=veth1 "--vdev=net_nvmeddp0,port=net_af_xdp0$devargs") ;;
    1|"") eal=("--vdev=net_nvmeddp0,port=veth1$devargs") ;;
    *) echo "host_target: NVMEDDP_VDEV=$NVMEDDP_VDEV: the lower port is 1 or af_xdp: FAILED"; exit 1 ;;
  esac
elif [ "${KERNEL_TCP:-0}" != 1 ]; then
  eal=(--vdev=net_af_packet0,iface=veth1)
fi
set +e
if printf '%s\n' "$@" | grep -qx -- '--'; then
  timeout "$timeout_s" ip netns exec "$nh" "$host" "${host_args[@]}" "$@" "${eal[@]}"
else
  timeout "$timeout_s" ip netns exec "$nh" "$host" "${host_args[@]}" "$@" ${eal:+--} "${eal[@]}"
fi
host_rc=$?
set -e
kill -INT "$target_pid" 2> /dev/null || true
wait "$target_pid" 2> /dev/null
target_pid=
echo "--- target"
cat "$work/target.log"

fail=0
[ "$host_rc" -eq 0 ] || { echo "host_target: the host failed (exit $host_rc)"; fail=1; }
if [ -n "${dump_pid:-}" ]; then
  capture_stop "$dump_pid" "$work/cap.pcap" "$work/tcpdump.err" || fail=1; dump_pid=
  # Whole frames (-s 0): with a short snap length tshark loses the PDU boundaries and decodes data
  # as PDUs of any type without calling them malformed.
  tshark -r "$work/cap.pcap" -d tcp.port==4420,nvme-tcp -Y '_ws.malformed' -T fields -e frame.number \
    > "$work/bad.txt" 2> "$work/tshark.err" || { echo "host_target: tshark failed:"; cat "$work/tshark.err"; fail=1; }
  pdus=$(tshark -r "$work/cap.pcap" -d tcp.port==4420,nvme-tcp -T fields -e nvme-tcp.type 2> /dev/null | tr ',' '\n' | sort | uniq -c | tr '\n' ' ')
  echo "--- tshark: PDU types (count type): $pdus"
  [ -s "$work/bad.txt" ] && { echo "host_target: tshark found malformed PDUs in frames: $(head -5 "$work/bad.txt" | tr '\n' ' ')"; fail=1; }
  echo "$pdus" | grep -qw 7 || { echo "host_target: tshark saw no C2HData (type 7)"; fail=1; }
  # Without faults every queue ends in order: FIN both ways, no reset (a controller whose
  # connections end in a RST, or never end, has to time them out).
  if [ -z "${TARGET_ARGS:-}" ]; then
    resets=$(tshark -r "$work/cap.pcap" -Y tcp.flags.reset==1 -T fields -e frame.number 2> /dev/null | wc -l)
    echo "--- tshark: $(tshark -r "$work/cap.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2> /dev/null | wc -l) connections, $resets resets"
    [ "$resets" -eq 0 ] || { echo "host_target: $resets segments with RST in a session without faults"; fail=1; }
    capture_all_closed "$work/cap.pcap" || { echo "host_target: a connection did not close with FIN both ways"; fail=1; }
  fi
fi
if [ "$fail" -ne 0 ]; then echo "host_target: FAILED"; exit 1; fi
echo "host_target: PASSED"
