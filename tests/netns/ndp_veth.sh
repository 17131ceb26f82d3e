#!/usr/bin/env bash
# Our IPv6 neighbour discovery against the Linux kernel's: a veth pair in a network namespace this test
# creates (and removes, also on failure); veth0 has IPv6 and 2001:db8::1/64 (nodad: usable at once),
# veth1 has no IPv6 of its own. ndp_kernel_probe sends our Neighbor Solicitation for 2001:db8::1 on
# veth1 and must see the kernel's solicited Neighbor Advertisement with veth0's MAC. Needs root (ip
# netns, AF_PACKET, the EAL); fails saying so otherwise.
set -euo pipefail
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
probe=${1:?usage: ndp_veth.sh <path to ndp_kernel_probe>}
ns="nvmeddp-ndp-$$"
if [ "$(id -u)" -ne 0 ]; then echo "ndp_veth: needs root (ip netns, AF_PACKET): FAILED"; exit 1; fi
command -v ip > /dev/null || { echo "ndp_veth: iproute2 (ip) missing: FAILED"; exit 1; }
[ -d /proc/sys/net/ipv6 ] || { echo "ndp_veth: the kernel has no IPv6: FAILED"; exit 1; }
cleanup() { ip netns del "$ns" 2> /dev/null || true; }
trap cleanup EXIT
reap_orphan_namespaces
ip netns add "$ns"
ip -n "$ns" link add veth0 type veth peer name veth1
# veth1 is the probe's: without IPv6 the kernel neither answers nor sends anything of its own there.
ip netns exec "$ns" sysctl -qw net.ipv6.conf.veth1.disable_ipv6=1
ip netns exec "$ns" sysctl -qw net.ipv6.conf.veth0.disable_ipv6=0
ip -n "$ns" link set lo up
ip -n "$ns" link set veth0 up
ip -n "$ns" link set veth1 up
ip -n "$ns" addr add 2001:db8::1/64 dev veth0 nodad
mac=$(ip netns exec "$ns" cat /sys/class/net/veth0/address)
if ! timeout 60 ip netns exec "$ns" "$probe" veth1 2001:db8::1 "$mac"; then
  echo "ndp_veth: FAILED"
  exit 1
fi
