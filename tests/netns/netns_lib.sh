# Sourced by the netns tests: the two network namespaces a target and a host run in.
#
# veth_namespaces NT NH: creates namespaces NT and NH joined by a veth pair, veth0 (192.0.2.1/24, the
# target's side) in NT and veth1 (no address: a DPDK port takes it) in NH, both up; no IPv6 chatter;
# whole checksummed MTU-sized frames on the wire (no GSO bundles, no partial checksums handed to
# af_packet), as a NIC would deliver them. The caller removes both namespaces in its EXIT trap
# (`ip netns del`), also when this fails half-way.
veth_namespaces() {
  local nt=$1 nh=$2 ns
  reap_orphan_namespaces
  ip netns add "$nt"
  ip netns add "$nh"
  ip -n "$nt" link add veth0 type veth peer name veth1 netns "$nh"
  for ns in "$nt" "$nh"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$nt" addr add 192.0.2.1/24 dev veth0
  ip netns exec "$nt" ethtool -K veth0 tx off tso off gso off gro off > /dev/null 2>&1 || true
  ip netns exec "$nh" ethtool -K veth1 tx off tso off gso off gro off rx off > /dev/null 2>&1 || true
  ip -n "$nt" link set veth0 up
  ip -n "$nh" link set veth1 up
}

# Namespaces of earlier runs that were killed outright (SIGKILL: a test timeout, a kill -9; no trap
# runs then): every test names its namespaces nvmeddp-<what>-<pid>[-<side>], so one whose process is
# gone is removed here. Another test running at the same time keeps its own (its process lives).
reap_orphan_namespaces() {
  local name pid
  for name in $(ip netns list 2> /dev/null | awk '{print $1}'); do
    [[ $name =~ ^nvmeddp-[a-z]+-([0-9]+)(-[a-z]+)?$ ]] || continue
    pid=${BASH_REMATCH[1]}
    kill -0 "$pid" 2> /dev/null && continue
    ip netns del "$name" 2> /dev/null && echo "netns: removed $name, left by an earlier run (process $pid is gone)"
  done
  return 0
}
