#!/usr/bin/env bash
# Stock dpdk-testpmd drives net_nvmeddp stacked on a kernel interface, as a DPDK user would try it:
# LD_PRELOAD=librte_net_nvmeddp.so dpdk-testpmd --vdev=net_nvmeddp0,port=veth1,queues=2 -- -i ...
# in a network namespace this test creates (and removes, also on failure). Hand-made TCP frames
# (send_tcp_frames.py) come from the kernel end of a veth pair; testpmd's own flow commands steer,
# mark and drop them, its rx checksum offload judges them, and what testpmd prints (verbose rx lines,
# xstats, flow messages) is checked. Needs root; fails saying so otherwise.
set -euo pipefail
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
pmd=${1:?usage: testpmd_stacked.sh <path to librte_net_nvmeddp.so>}
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "testpmd_stacked: $*: FAILED"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (ip netns, AF_PACKET)"
for tool in ip dpdk-testpmd dpdk-telemetry.py python3 stdbuf; do command -v "$tool" > /dev/null || fail "$tool missing"; done
[ -f "$pmd" ] || fail "no PMD at $pmd"

# A PMD built with ASan/UBSan (scripts/sanitize.sh) runs in the uninstrumented testpmd with clang's
# shared sanitizer runtime loaded first.
preload="$pmd"
if nm -D "$pmd" 2> /dev/null | grep " U __asan_init" > /dev/null; then  # not -q: nm must not die of SIGPIPE (pipefail)
  runtime=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2> /dev/null || true)
  [ -f "$runtime" ] || fail "the PMD is built with ASan but clang's shared ASan runtime is not found"
  preload="$runtime:$pmd"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"  # testpmd's own allocations are not ours to judge
  echo "testpmd_stacked: the PMD is instrumented: running testpmd with $runtime"
fi

ns="nvmeddp-tpmd-$$"
dir=$(mktemp -d)
tpmd_pid=
cleanup() {
  exec 3>&- 2> /dev/null || true
  [ -n "$tpmd_pid" ] && kill "$tpmd_pid" 2> /dev/null && sleep 0.5
  [ -n "$tpmd_pid" ] && kill -9 "$tpmd_pid" 2> /dev/null
  ip netns del "$ns" 2> /dev/null || true
  rm -rf "/var/run/dpdk/$ns"  # the EAL's runtime directory (telemetry socket) of --file-prefix
  [ "${KEEP_OUTPUT:-0}" = 1 ] && echo "testpmd_stacked: output kept in $dir" || rm -rf "$dir"
}
trap cleanup EXIT
reap_orphan_namespaces
ip netns add "$ns"
ip -n "$ns" link add veth0 type veth peer name veth1
for v in veth0 veth1; do
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$v.disable_ipv6=1"  # only the test's frames on the wire
  ip -n "$ns" link set "$v" up
done
mac=$(ip netns exec "$ns" cat /sys/class/net/veth1/address)

out="$dir/testpmd.out"
mkfifo "$dir/commands"
# stdbuf: testpmd's printf output reaches the file line by line, so the test can wait for it.
LD_PRELOAD="$preload" ip netns exec "$ns" stdbuf -oL -eL timeout 120 dpdk-testpmd -l 0-1 --no-huge -m 512 --no-pci \
  --no-shconf --file-prefix="$ns" --vdev=net_nvmeddp0,port=veth1,queues=2 -- -i --total-num-mbufs=8192 --rxq=2 --txq=2 \
  < "$dir/commands" > "$out" 2>&1 &
tpmd_pid=$!
exec 3> "$dir/commands"

# Waits (at most 20 s) until testpmd's output holds a line matching $1 at least ${2:-1} times.
wait_for() {
  local want=${2:-1}
  for _ in $(seq 200); do
    [ "$(grep -c -- "$1" "$out" || true)" -ge "$want" ] && return 0
    kill -0 "$tpmd_pid" 2> /dev/null || { tail -20 "$out"; fail "testpmd exited while waiting for '$1'"; }
    sleep 0.1
  done
  tail -30 "$out"; fail "no '$1' from testpmd within 20 s"
}
prompts=1
cmd() { echo "$1" >&3; prompts=$((prompts + 1)); wait_for "testpmd> " "$prompts"; }

wait_for "testpmd> "
cmd "show port info 0"
grep -q "Driver name: net_nvmeddp" "$out" || fail "port 0 is not net_nvmeddp (the lower port should be hidden)"
grep -q "Max possible RX queues: 16" "$out" || fail "port info lacks net_nvmeddp's queue limit"

# The rx checksum offload, enabled as testpmd users do.
cmd "port stop 0"
cmd "port config 0 rx_offload tcp_cksum on"
cmd "port config 0 rx_offload ipv4_cksum on"
cmd "port start 0"

flow="flow create 0 ingress pattern eth / ipv4 src is 192.0.2.1 dst is 192.0.2.2 / tcp src is"
cmd "$flow 40000 dst is 4420 / end actions queue index 1 / mark id 42 / end"
cmd "$flow 40001 dst is 4420 / end actions drop / count / end"
cmd "$flow 40004 dst is 4420 / end actions queue index 0 / mark id 43 / end"
[ "$(grep -c "Flow rule #[0-2] created" "$out")" = 3 ] || { tail -20 "$out"; fail "the three flow rules were not all created"; }
# Refused, each with the reason testpmd prints from our rte_flow_error.
cmd "$flow 40005 dst is 4420 / end actions queue index 7 / end"
grep -q "Caught PMD error.*queue" "$out" || { tail -5 "$out"; fail "a rule to a queue the port lacks was not refused with a reason"; }
cmd "flow create 0 egress pattern eth / ipv4 src is 192.0.2.1 dst is 192.0.2.2 / tcp src is 1 dst is 2 / end actions mark id 1 / end"
grep -q "Caught PMD error.*gress" "$out" || { tail -5 "$out"; fail "an egress rule was not refused with a reason"; }
cmd "$flow 40006 dst is 4420 / end actions queue index 0 / rss queues 1 end / end"
grep -q "Caught PMD error type 16 (specific action).*only one of QUEUE, RSS and DROP" "$out" || fail "QUEUE with RSS was not refused naming the action"
cmd "$flow 40006 dst is 4420 src last 40010 / end actions queue index 0 / end"
grep -q "Caught PMD error type 11 (item specification range).*ranges (last) are not supported" "$out" || fail "a port range was not refused naming the item's last"
# Same 5-tuple as rule 0, lower priority: it exists beside it and takes over only if rule 0 goes.
cmd "flow create 0 ingress priority 1 pattern eth / ipv4 src is 192.0.2.1 dst is 192.0.2.2 / tcp src is 40000 dst is 4420 / end actions queue index 1 / mark id 44 / end"
grep -q "Flow rule #3 created" "$out" || fail "a lower-priority rule for the same flow was not created"
cmd "flow list 0"
grep -q "ETH IPV4 TCP => QUEUE MARK" "$out" || fail "flow list lacks the QUEUE MARK rule"
grep -q "ETH IPV4 TCP => DROP COUNT" "$out" || fail "flow list lacks the DROP COUNT rule"

cmd "set fwd rxonly"
cmd "set verbose 1"
cmd "start"
# 8 frames steered to queue 1 and marked 42; 5 dropped by a rule; 3 without a rule; 2 with a bad
# TCP checksum, marked 43.
ip netns exec "$ns" python3 "$here/send_tcp_frames.py" veth0 "$mac" 192.0.2.1 192.0.2.2 \
  40000:4420:8 40001:4420:5 40002:4420:3 40004:4420:2:bad
wait_for "ol_flags:" 13
cmd "stop"
cmd "show port xstats 0"

# One line per received frame: its rx line and its ol_flags line joined.
frames=$(awk '/^  src=/ { line = $0; next } /^  ol_flags:/ && line != "" { print line " " $0; line = "" }' "$out")
count() { grep -c -- "$1" <<< "$frames" || true; }
[ "$(count .)" = 13 ] || { echo "$frames"; fail "$(count .) frames received, 13 sent past the DROP rule"; }
[ "$(count "ID=0x2a.*Receive queue=0x1.*L4_CKSUM_GOOD")" = 8 ] || { echo "$frames"; fail "flow 40000 not all on queue 1 marked 42 with a good checksum"; }
[ "$(count "ID=0x2b.*Receive queue=0x0.*L4_CKSUM_BAD")" = 2 ] || { echo "$frames"; fail "flow 40004's bad checksums not reported BAD on queue 0 with mark 43"; }
[ "$(count "FDIR")" = 10 ] || { echo "$frames"; fail "frames without a rule carry a mark"; }
[ "$(count "IP_CKSUM_GOOD")" = 13 ] || { echo "$frames"; fail "not every IPv4 header checksum reported GOOD"; }
grep -q "rx_flow_drop_packets: 5" "$out" || { grep rx_ "$out"; fail "xstats do not count the 5 frames the DROP rule took"; }
grep -q "rx_good_packets: 13" "$out" || { grep rx_ "$out"; fail "xstats do not count 13 frames received"; }
# The offload runs on the port (ddp=on by default when stacked): Linux's ULP DDP counters are there.
for name in sk_add sk_add_fail sk_del setup setup_fail teardown drop resync packets bytes; do
  grep -q "rx_nvme_tcp_$name: 0" "$out" || fail "xstats lack rx_nvme_tcp_$name"
done

# The same counters through DPDK telemetry, as dpdk-telemetry.py shows them.
telemetry=$(echo "/ethdev/xstats,0" | timeout 20 dpdk-telemetry.py -f "$ns" 2>&1 || true)
grep -q '"rx_flow_drop_packets": 5' <<< "$telemetry" || { echo "$telemetry"; fail "telemetry's /ethdev/xstats lacks the DROP count"; }
grep -q '"rx_nvme_tcp_sk_add": 0' <<< "$telemetry" || { echo "$telemetry"; fail "telemetry's /ethdev/xstats lacks the offload's counters"; }

cmd "flow query 0 1 count"
grep -q "hits: 5" "$out" || { grep -A3 "COUNT" "$out"; fail "the DROP rule's COUNT does not say 5 hits"; }

cmd "flow destroy 0 rule 0"
grep -q "Flow rule #0 destroyed" "$out" || fail "flow destroy did not destroy rule 0"
# Rule 3 (priority 1) now steers flow 40000: still to queue 1, marked 44.
cmd "start"
ip netns exec "$ns" python3 "$here/send_tcp_frames.py" veth0 "$mac" 192.0.2.1 192.0.2.2 40000:4420:4
wait_for "ol_flags:" 17
cmd "stop"
frames=$(awk '/^  src=/ { line = $0; next } /^  ol_flags:/ && line != "" { print line " " $0; line = "" }' "$out")
[ "$(count "ID=0x2c.*Receive queue=0x1")" = 4 ] && [ "$(count "ID=0x2a")" = 8 ] ||
  { echo "$frames"; fail "after rule 0 went, the lower-priority rule 3 did not take flow 40000 (mark 44, queue 1)"; }
cmd "flow flush 0"
cmd "flow list 0"
cmd "show port xstats 0"
grep -q "flow_rules: 0" "$out" || fail "flush left rules behind"
echo "quit" >&3
exec 3>&-
wait "$tpmd_pid" || fail "testpmd exited with status $?"
tpmd_pid=
grep -q "Bye" "$out" || fail "testpmd did not close cleanly"
grep -q "Sanitizer" "$out" && { grep -A20 "Sanitizer" "$out"; fail "a sanitizer reported an error"; }
echo "testpmd_stacked: steering, marks, DROP, rx checksums and xstats as testpmd shows them: PASSED"
