#!/usr/bin/env bash
# The offload on a real kernel interface: a veth pair in a network namespace this test creates (and
# removes, also on failure), net_af_packet on both ends, generated read traffic sent on veth0 and
# received with the offload on veth1. Needs root (ip netns, AF_PACKET); fails saying so otherwise.
set -euo pipefail
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
demo=${1:?usage: af_packet_veth.sh <path to nvmeddp-offload>}
ns="nvmeddp-afp-$$"
if [ "$(id -u)" -ne 0 ]; then echo "af_packet_veth: needs root (ip netns, AF_PACKET): FAILED"; exit 1; fi
command -v ip > /dev/null || { echo "af_packet_veth: iproute2 (ip) missing: FAILED"; exit 1; }
cleanup() { ip netns del "$ns" 2> /dev/null || true; }
trap cleanup EXIT
reap_orphan_namespaces
ip netns add "$ns"
ip -n "$ns" link add veth0 type veth peer name veth1
for v in veth0 veth1; do
  # No IPv6 neighbour discovery or other chatter on the wire: only the test's frames.
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$v.disable_ipv6=1"
  ip -n "$ns" link set "$v" up
done
ip -n "$ns" link set lo up
timeout 120 ip netns exec "$ns" "$demo" --queues 1 --connections 2 --reads 8 --max-len 65536 --offload on \
  --port net_af_packet1 --tx-port net_af_packet0 \
  -- --vdev=net_af_packet0,iface=veth0 --vdev=net_af_packet1,iface=veth1
