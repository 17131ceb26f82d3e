#!/usr/bin/env bash
# Our TCP endpoint against the Linux kernel's TCP on a veth pair: two network namespaces this test
# creates (and removes, also on failure), the kernel on veth0 (192.0.2.1) with a small socket
# program (tcp_kernel_peer), our endpoint on veth1 (192.0.2.2) through net_af_packet. Both check
# every byte against the shared pattern; the kernel's nstat must show no reset while the
# connection lived (with tx faults, a reset to a segment of ours held back until after the kernel's
# end closed is its correct answer and is allowed, and said), and, with CAPTURE=1, tshark must find
# no malformed segment and no error in a capture of the kernel's side.
#
# usage: tcp_kernel_peer.sh <nvmeddp-tcp> <tcp_kernel_peer> <mode> [nvmeddp-tcp options...]
#   mode: upload BYTES | download BYTES | both BYTES | rr COUNT:REQ:RESP | accept BYTES
#         kernel BYTES / kernel-upload BYTES: the kernel on both ends (the same veth and settings),
#         both ways or one way: the baselines for ratios
# Environment: CAPTURE=1 (tcpdump + tshark check; KEEP_CAPTURE=file keeps the capture), TIMEOUT (seconds, default 240),
#   MAX_STALL_MS (default 3000: the longest time the kernel peer may see nothing move; a few RTOs),
#   PMD=af_packet (default), af_xdp (net_af_xdp in copy mode on veth1) or tap (net_tap: its kernel
#   side dtap0 in our namespace is the kernel's end, no veth; mode accept only, our endpoint listens
#   first and the tap exists only once it runs) or nvmeddp (net_nvmeddp stacked on veth1, which does
#   TSO, tx checksums and LRO in software over its af_packet port),
#   IPV6=1: the kernel on 2001:db8::1, ours on 2001:db8::2 (neighbour discovery instead of ARP).
set -euo pipefail
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
# shellcheck source=capture_lib.sh
. "$(dirname "$0")/capture_lib.sh"
ours=${1:?usage: tcp_kernel_peer.sh <nvmeddp-tcp> <tcp_kernel_peer> <mode> <arg> [options]}
kpeer=${2:?}
mode=${3:?}
arg=${4:?}
shift 4
timeout_s=${TIMEOUT:-240}
max_stall=${MAX_STALL_MS:-3000}
# Our endpoint gives up a little before the outer timeout, so its statistics still get printed.
ours_timeout=$((timeout_s > 20 ? timeout_s - 10 : timeout_s))
case "${PMD:-af_packet}" in
  af_packet) vdev=(--port net_af_packet0 -- --vdev=net_af_packet0,iface=veth1) ;;
  af_xdp)    vdev=(--port net_af_xdp0 -- --vdev=net_af_xdp0,iface=veth1,force_copy=1) ;;
  tap)       vdev=(--port net_tap0 --mac 02:00:00:00:00:02 -- --vdev=net_tap0,iface=dtap0) ;;
  nvmeddp)   vdev=(--port net_nvmeddp0 -- --vdev=net_nvmeddp0,port=veth1,ddp=off) ;;
  *) echo "tcp_kernel_peer: PMD must be af_packet, af_xdp, tap or nvmeddp: FAILED"; exit 1 ;;
esac
tag="nvmeddp-tcp-$$"
nk="$tag-k"
nd="$tag-d"
work=$(mktemp -d)
if [ "$(id -u)" -ne 0 ]; then echo "tcp_kernel_peer: needs root (ip netns, AF_PACKET): FAILED"; exit 1; fi
for tool in ip ethtool nstat; do
  command -v "$tool" > /dev/null || { echo "tcp_kernel_peer: $tool missing (scripts/install-deps.sh): FAILED"; exit 1; }
done
if [ "${CAPTURE:-0}" = 1 ]; then
  for tool in tcpdump tshark; do
    command -v "$tool" > /dev/null || { echo "tcp_kernel_peer: $tool missing (scripts/install-deps.sh): FAILED"; exit 1; }
  done
fi
cleanup() {
  [ -n "${dump_pid:-}" ] && kill "$dump_pid" 2> /dev/null || true
  [ -n "${peer_pid:-}" ] && kill "$peer_pid" 2> /dev/null || true
  ip netns del "$nk" 2> /dev/null || true
  ip netns del "$nd" 2> /dev/null || true
  [ -n "${KEEP_CAPTURE:-}" ] && cp "$work/cap.pcap" "$KEEP_CAPTURE" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

reap_orphan_namespaces
ip netns add "$nk"
ip netns add "$nd"
ip -n "$nk" link add veth0 type veth peer name veth1 netns "$nd"
if [ "${IPV6:-0}" = 1 ]; then
  o_ip=2001:db8::2 k_addr="[2001:db8::1]" o_addr="[2001:db8::2]"
  ip netns exec "$nd" sysctl -qw net.ipv6.conf.all.disable_ipv6=1  # veth1 is ours alone
  ip -n "$nk" addr add 2001:db8::1/64 dev veth0 nodad
else
  o_ip=192.0.2.2 k_addr=192.0.2.1 o_addr=192.0.2.2
  for ns in "$nk" "$nd"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
  ip -n "$nk" addr add 192.0.2.1/24 dev veth0
fi
for ns in "$nk" "$nd"; do ip -n "$ns" link set lo up; done
# The kernel must put whole, checksummed, MTU-sized frames on the wire: veth would otherwise hand
# af_packet partial checksums and 64 KiB GSO segments that no wire carries.
ip netns exec "$nk" ethtool -K veth0 tx off tso off gso off gro off > /dev/null 2>&1 || true
ip netns exec "$nd" ethtool -K veth1 tx off tso off gso off gro off rx off > /dev/null 2>&1 || true
ip -n "$nk" link set veth0 up
ip -n "$nd" link set veth1 up
# The namespace of the kernel's end: the veth pair's other side, or ours for a tap.
peer_ns=$nk
if [ "${PMD:-af_packet}" = tap ]; then
  [ "$mode" = accept ] || { echo "tcp_kernel_peer: PMD=tap runs mode accept only: FAILED"; exit 1; }
  peer_ns=$nd
fi
ip netns exec "$peer_ns" nstat -n > /dev/null  # start the kernel's counters from here

if [ "${CAPTURE:-0}" = 1 ]; then
  ip netns exec "$nk" tcpdump -i veth0 -B "$CAPTURE_BUFFER_KIB" -s 128 -w "$work/cap.pcap" -U --immediate-mode tcp 2> "$work/tcpdump.err" &
  dump_pid=$!
  capture_wait_listening "$work/tcpdump.err" || { echo "tcp_kernel_peer: tcpdump did not start: FAILED"; exit 1; }
fi

k="$k_addr:5001"
case "$mode" in
  upload)   kargs=(--listen "$k" --expect "$arg");        oargs=(--connect "$k" --send "$arg") ;;
  download) kargs=(--listen "$k" --send "$arg");          oargs=(--connect "$k" --expect "$arg") ;;
  both)     kargs=(--listen "$k" --expect "$arg" --send "$arg"); oargs=(--connect "$k" --send "$arg" --expect "$arg") ;;
  rr)       kargs=(--listen "$k" --rr "$arg");            oargs=(--connect "$k" --rr "$arg") ;;
  accept)   kargs=(--connect "$o_addr:5002" --expect "$arg" --send "$arg"); oargs=(--listen 5002 --send "$arg" --expect "$arg") ;;
  kernel)   kargs=(--listen "$k" --expect "$arg" --send "$arg"); oargs=(--send "$arg" --expect "$arg") ;;
  kernel-upload) kargs=(--listen "$k" --expect "$arg"); oargs=(--send "$arg") ;;
  *) echo "tcp_kernel_peer: unknown mode $mode: FAILED"; exit 1 ;;
esac

if [ "$mode" = kernel ] || [ "$mode" = kernel-upload ]; then
  # The kernel's own socket-to-socket figure: veth1 gets the address our endpoint would have had.
  if [ "${IPV6:-0}" = 1 ]; then
    ip netns exec "$nd" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
    ip -n "$nd" addr add 2001:db8::2/64 dev veth1 nodad
  else
    ip -n "$nd" addr add 192.0.2.2/24 dev veth1
  fi
  timeout "$timeout_s" ip netns exec "$nk" "$kpeer" "${kargs[@]}" --timeout "$timeout_s" --max-stall-ms "$max_stall" > "$work/peer.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/peer.log" 2> /dev/null && break; sleep 0.1; done
  set +e
  timeout "$timeout_s" ip netns exec "$nd" "$kpeer" --connect "$k" "${oargs[@]}" --as-ours \
    --timeout "$timeout_s" > "$work/ours.log" 2>&1
  ours_rc=$?
  wait "$peer_pid"; peer_rc=$?
  set -e
elif [ "$mode" = accept ]; then
  timeout "$timeout_s" ip netns exec "$nd" "$ours" "${oargs[@]}" "$@" --timeout "$ours_timeout" \
    --local-ip "$o_ip" "${vdev[@]}" > "$work/ours.log" 2>&1 &
  ours_pid=$!
  sleep 2  # our endpoint listens once the EAL is up
  if [ "${PMD:-af_packet}" = tap ]; then
    for _ in $(seq 50); do ip -n "$nd" link show dtap0 > /dev/null 2>&1 && break; sleep 0.1; done
    ip -n "$nd" addr add 192.0.2.1/24 dev dtap0
    ip -n "$nd" link set dtap0 up
  fi
  timeout "$timeout_s" ip netns exec "$peer_ns" "$kpeer" "${kargs[@]}" --timeout "$timeout_s" --max-stall-ms "$max_stall" > "$work/peer.log" 2>&1 &
  peer_pid=$!
  set +e
  wait "$ours_pid"; ours_rc=$?
  wait "$peer_pid"; peer_rc=$?
  set -e
else
  timeout "$timeout_s" ip netns exec "$nk" "$kpeer" "${kargs[@]}" --timeout "$timeout_s" --max-stall-ms "$max_stall" > "$work/peer.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/peer.log" 2> /dev/null && break; sleep 0.1; done
  set +e
  timeout "$timeout_s" ip netns exec "$nd" "$ours" "${oargs[@]}" "$@" --timeout "$ours_timeout" \
    --local-ip "$o_ip" "${vdev[@]}" > "$work/ours.log" 2>&1
  ours_rc=$?
  wait "$peer_pid"; peer_rc=$?
  set -e
fi
peer_pid=
echo "--- our endpoint (exit $ours_rc)"; cat "$work/ours.log"
echo "--- kernel peer (exit $peer_rc)"; cat "$work/peer.log"
echo "--- kernel counters (nstat)"
ip netns exec "$peer_ns" nstat -a 2> /dev/null | grep -E "TcpOutRsts|TcpEstabResets|TcpAttemptFails|TcpRetransSegs|TcpExtTCPSACKRecovery|TcpExtTCPSACKReorder|TcpExtTCPOFOQueue|TcpExtTCPTimeouts|TcpInErrs|TcpInCsumErrors|PAWS|Prune|Drop|Pruned|TCPACKSkipped|TCPRenege" || true
counters=$(ip netns exec "$peer_ns" nstat -a 2> /dev/null || true)
out_rsts=$(awk '$1=="TcpOutRsts"{s+=$2} END{print s+0}' <<< "$counters")
resets=$(awk '$1=="TcpEstabResets"||$1=="TcpAttemptFails"{s+=$2} END{print s+0}' <<< "$counters")
# Resets the kernel sent until its end of the connection had closed (the kernel peer reads its
# count then); the rest answered segments that arrived after it, for which there was no connection
# any more (RFC 9293 3.10.7.1). Our tx fault shim holds frames back (reordered behind later ones,
# delayed by delay_us), so with tx faults a segment of ours may arrive behind our last ACK: a reset
# to that is the kernel's correct answer, not a fault of the connection. Without tx faults it means
# we sent after the end, and fails.
open_rsts=$(sed -n 's/.*resets the kernel sent until then: \(-\{0,1\}[0-9]*\).*/\1/p' "$work/peer.log" | tail -n 1)
# The kernel peer waits a little for its end to close; if it did not, no reset counts as "after".
if ! grep -q "kernel peer: its end closed" "$work/peer.log"; then open_rsts=-1; fi
case " $* " in *" --faults-tx "*) tx_faults=1 ;; *) tx_faults=0 ;; esac

fail=0
[ "$ours_rc" -eq 0 ] || { echo "tcp_kernel_peer: our endpoint failed"; fail=1; }
[ "$peer_rc" -eq 0 ] || { echo "tcp_kernel_peer: the kernel peer failed"; fail=1; }
[ "$resets" -eq 0 ] || { echo "tcp_kernel_peer: the kernel reset $resets connections or connection attempts"; fail=1; }
if [ "$out_rsts" -gt 0 ]; then
  if [ -z "$open_rsts" ] || [ "$open_rsts" -lt 0 ]; then
    echo "tcp_kernel_peer: the kernel sent $out_rsts resets (the kernel peer did not see its end close)"; fail=1
  elif [ "$open_rsts" -gt 0 ]; then
    echo "tcp_kernel_peer: the kernel sent $open_rsts resets before its end of the connection closed"; fail=1
  elif [ "$tx_faults" -eq 0 ]; then
    echo "tcp_kernel_peer: the kernel sent $out_rsts resets to segments of ours after its end closed (no tx faults: we sent after the end)"; fail=1
  else
    echo "tcp_kernel_peer: $out_rsts reset(s) answered segments of ours that the tx fault shim held back until after the kernel's end had closed: allowed"
  fi
fi
if [ -n "${dump_pid:-}" ]; then
  capture_stop "$dump_pid" "$work/cap.pcap" "$work/tcpdump.err" || fail=1; dump_pid=
  frames=$(tshark -r "$work/cap.pcap" -T fields -e frame.number 2> /dev/null | wc -l)
  # Malformed segments, errors in tshark's expert analysis, more SACK blocks than fit an option.
  # The payload is our test pattern, decoded as plain data: an application dissector guessing a
  # protocol in it (by port or heuristics) reports "errors" that are not TCP's.
  if ! tshark -r "$work/cap.pcap" -d tcp.port==5001,data -d tcp.port==5002,data -Y '_ws.malformed || _ws.expert.severity == "error" || tcp.options.sack.count > 4' \
       -T fields -e frame.number -e _ws.expert.message > "$work/bad.txt" 2> "$work/tshark.err"; then
    echo "tcp_kernel_peer: tshark could not check the capture:"; cat "$work/tshark.err"; fail=1
  fi
  echo "--- tshark: $frames frames captured on the kernel's side"
  if [ -s "$work/bad.txt" ]; then echo "tshark found malformed segments or errors:"; head -20 "$work/bad.txt"; fail=1; fi
  [ "$frames" -gt 0 ] || { echo "tcp_kernel_peer: the capture is empty"; fail=1; }
  # Each reset (the first three) with the six segments before it: what drew it.
  for rst in $(tshark -r "$work/cap.pcap" -Y 'tcp.flags.reset == 1' -T fields -e frame.number 2> /dev/null | head -n 3); do
    echo "--- a reset in the capture (frame $rst) and the segments before it"
    tshark -r "$work/cap.pcap" -d tcp.port==5001,data -d tcp.port==5002,data -t r -Y "frame.number >= $((rst > 6 ? rst - 6 : 1)) && frame.number <= $rst" 2> /dev/null
  done
fi
if [ "$fail" -ne 0 ]; then echo "tcp_kernel_peer $mode $arg: FAILED"; exit 1; fi
echo "tcp_kernel_peer $mode $arg: every byte exactly once and in order both ways, no reset while connected: PASSED"
