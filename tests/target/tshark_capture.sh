#!/usr/bin/env bash
# A short NVMe/TCP session with nvmeddp-target (tests/target/target_session.cpp: IC with both
# digests, admin and I/O queues, R2T and H2CData, C2HData) captured on loopback in a private network
# namespace and decoded by tshark's nvme-tcp dissector with digest checking on: no malformed packet,
# no expert error, every header and data digest good, and every PDU type of the session present.
#
# usage: tshark_capture.sh <nvmeddp-target> <target_session>
# Exit 77 (CTest SKIP_RETURN_CODE) with "SKIPPED: reason" when a tool or root is missing.
set -u
target=$1
session=$2
# shellcheck source=../netns/capture_lib.sh
. "$(dirname "$0")/../netns/capture_lib.sh"

for tool in tshark tcpdump unshare ip; do
  command -v "$tool" > /dev/null || { echo "SKIPPED: $tool is not installed"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root (a private network namespace, tcpdump)"; exit 77; }
if [ -z "${TSHARK_CAPTURE_IN_NETNS:-}" ]; then
  exec unshare -n env TSHARK_CAPTURE_IN_NETNS=1 "$0" "$@"
fi

port=4420  # nvme-tcp's own port; the namespace is ours alone
subnqn=nqn.2026-12.io.nvmeddp:capture
work=$(mktemp -d)
cleanup() {
  [ -n "${KEEP_CAPTURE:-}" ] && cp "$work/cap.pcap" "$KEEP_CAPTURE" 2> /dev/null
  [ -n "${target_pid:-}" ] && kill "$target_pid" 2> /dev/null
  [ -n "${dump_pid:-}" ] && kill "$dump_pid" 2> /dev/null
  wait 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "tshark_capture: $*: FAILED"; exit 1; }

# Waits up to 10 s for a pattern in a file.
wait_for() {
  for _ in $(seq 100); do grep -q "$1" "$2" 2> /dev/null && return 0; sleep 0.1; done
  return 1
}

ip link set lo up || fail "ip link set lo up"
tcpdump -i lo -B "$CAPTURE_BUFFER_KIB" -U --immediate-mode -s 0 -w "$work/cap.pcap" "tcp port $port" 2> "$work/tcpdump.err" &
dump_pid=$!
capture_wait_listening "$work/tcpdump.err" || fail "tcpdump did not start"

# No PDA padding (HPDA = CPDA = 0): Wireshark 4.0's dissector computes a padded PDU's DDGST over
# padding and data, where the specification (and every host) takes the data only, and would call
# correct digests bad. target_tests cover the padding.
"$target" --port $port --subnqn $subnqn --c2h-split 4096 --duration 60 --verbose > "$work/target.out" 2>&1 &
target_pid=$!
wait_for "listening on" "$work/target.out" || { cat "$work/target.out"; fail "the target did not start"; }

timeout 20 "$session" $port $subnqn || { cat "$work/target.out"; fail "the session failed"; }
kill -INT "$target_pid"
wait "$target_pid"
target_pid=
cat "$work/target.out"
capture_stop "$dump_pid" "$work/cap.pcap" "$work/tcpdump.err" || fail "the capture is incomplete"
dump_pid=

decode=(-r "$work/cap.pcap" -d "tcp.port==$port,nvme-tcp" -o nvme-tcp.check_hdgst:TRUE -o nvme-tcp.check_ddgst:TRUE)
frames=$(tshark "${decode[@]}" -T fields -e frame.number 2> /dev/null | wc -l)
echo "--- tshark: $frames frames"
[ "$frames" -gt 0 ] || fail "the capture is empty"
tshark "${decode[@]}" -Y '_ws.malformed || _ws.expert.severity == "error" || nvme-tcp.hdgst.status == 0 || nvme-tcp.ddgst.status == 0' -T fields -e frame.number -e _ws.expert.message \
  > "$work/bad.txt" 2> "$work/tshark.err" || { cat "$work/tshark.err"; fail "tshark could not read the capture"; }
if [ -s "$work/bad.txt" ]; then echo "malformed packets or errors:"; head -20 "$work/bad.txt"; fail "tshark found errors"; fi

types=$(tshark "${decode[@]}" -Y nvme-tcp -T fields -e nvme-tcp.type 2> /dev/null | tr ',' '\n' | grep -v '^$' | sort -un | tr '\n' ' ')
echo "--- PDU types seen: $types"
for t in 0 1 4 5 6 7 9; do  # ICReq ICResp CapsuleCmd CapsuleResp H2CData C2HData R2T
  echo " $types " | grep -q " $t " || fail "no PDU of type $t in the capture"
done
echo "tshark_capture: $frames frames, every PDU type of the session, nothing malformed: PASSED"
