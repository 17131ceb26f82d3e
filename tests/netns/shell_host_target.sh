#!/usr/bin/env bash
# nvmeddp-shell driven through a fifo, as a person would type into it, against our built-in target
# (nvmeddp-target, kernel sockets) on a veth pair between two network namespaces this script creates
# and always removes: the target on veth0 (192.0.2.1:4420), the shell on net_nvmeddp0 stacked on
# veth1 (192.0.2.2), the vdev running the offload itself. Every step's printed answer is checked:
# port info, an rte_flow rule created / listed / queried / destroyed and a bad one refused with
# testpmd's "Caught PMD error" line, connect, writes read back and a 1 MiB read with every byte
# checked, the device placed bytes, caps off (nothing placed, the bytes still right) and on again,
# port stop refused while connected, disconnect, and quit with sk_del for every sk_add.
#
# usage: shell_host_target.sh <nvmeddp-target> <nvmeddp-shell>
# Environment: TIMEOUT (seconds for the whole run, default 150), KEEP_OUTPUT=1 (keep the shell's output).
set -euo pipefail
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
target=${1:?usage: shell_host_target.sh <nvmeddp-target> <nvmeddp-shell>}
shell=${2:?usage: shell_host_target.sh <nvmeddp-target> <nvmeddp-shell>}
timeout_s=${TIMEOUT:-150}
subnqn=nqn.2026-12.io.nvmeddp:shell
fail() { echo "shell_host_target: $*: FAILED"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (ip netns, AF_PACKET)"
command -v ip > /dev/null || fail "ip missing (scripts/install-deps.sh)"

tag="nvmeddp-shell-$$"
nt="$tag-t"
nh="$tag-h"
dir=$(mktemp -d)
out="$dir/shell.out"
target_pid=
shell_pid=
cleanup() {
  set +e  # every step runs, whatever the one before it returned
  exec 3>&- 2> /dev/null
  if [ -n "$shell_pid" ]; then kill "$shell_pid" 2> /dev/null && sleep 0.5; kill -9 "$shell_pid" 2> /dev/null; fi
  if [ -n "$target_pid" ]; then kill "$target_pid" 2> /dev/null; wait "$target_pid" 2> /dev/null; fi
  ip netns del "$nt" 2> /dev/null
  ip netns del "$nh" 2> /dev/null
  if [ "${KEEP_OUTPUT:-0}" = 1 ]; then echo "shell_host_target: output kept in $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

veth_namespaces "$nt" "$nh"

ip netns exec "$nt" "$target" --listen 192.0.2.1 --port 4420 --subnqn "$subnqn" --duration "$timeout_s" \
  > "$dir/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 100); do grep -q listening "$dir/target.log" 2> /dev/null && break; sleep 0.05; done
grep -q listening "$dir/target.log" || { cat "$dir/target.log"; fail "the target did not start"; }

mkfifo "$dir/commands"
timeout "$timeout_s" ip netns exec "$nh" "$shell" --vdev=net_nvmeddp0,port=veth1 -- --local-ip 192.0.2.2 \
  --io-timeout 10 < "$dir/commands" > "$out" 2>&1 &
shell_pid=$!
exec 3> "$dir/commands"

prompts=0
wait_prompt() {  # until the shell printed its prompt for the (prompts)th time: the last command is done
  for _ in $(seq 300); do
    [ "$(grep -o "nvmeddp> " "$out" | wc -l)" -ge "$prompts" ] && return 0
    kill -0 "$shell_pid" 2> /dev/null || { tail -20 "$out"; fail "the shell exited while a command ran"; }
    sleep 0.1
  done
  tail -20 "$out"; fail "no prompt within 30 s"
}
last=""
cmd() {  # run one command; $last is what it printed
  local before
  before=$(wc -l < "$out")
  echo "$1" >&3
  prompts=$((prompts + 1))
  wait_prompt
  last=$(tail -n +"$((before + 1))" "$out")
}
expect() {  # expect <regex> <why>: the last command's output matches
  echo "$last" | grep -Eq -- "$1" || { echo "--- output of the last command:"; echo "$last"; fail "$2"; }
}

prompts=1
wait_prompt
grep -q "host: port 0 (net_nvmeddp0), local IP 192.0.2.2, offload nvmeddp-sw:net_nvmeddp0" "$out" ||
  { cat "$out"; fail "the shell did not bring its host up on net_nvmeddp0 with the port's own offload"; }

cmd "show port info 0"
expect "Driver name: net_nvmeddp" "port 0 is not net_nvmeddp"
expect "DDP offload: nvmeddp-sw:net_nvmeddp0, caps placement\+digest" "port info lacks the offload and its caps"

tuple="tcp src 198.51.100.7 40000 dst 192.0.2.2 5000"
cmd "flow create 0 $tuple actions queue 0 mark 42 count"
expect "^Flow rule #0 created" "a QUEUE + MARK rule was not created"
cmd "flow create 0 tcp src 198.51.100.7 40001 dst 192.0.2.2 5000 actions queue 9"
expect "^Caught PMD error type [0-9]+ \([a-z ]+\): .*queue" "a rule to a queue the port lacks was not refused with testpmd's line"
cmd "flow create 0 $tuple actions"
expect "^Bad arguments: no actions" "a rule without actions was not refused by the shell"
cmd "flow list 0"
expect "^0	0	$tuple actions queue 0 mark 42 count$" "flow list does not show the rule as given"
cmd "flow query 0 0 count"
expect "^Flow rule #0 COUNT: hits 0, bytes 0" "flow query did not print the rule's counters"
cmd "flow destroy 0 rule 0"
expect "^Flow rule #0 destroyed" "the rule was not destroyed"
cmd "flow list 0"
expect "no flow rules" "the destroyed rule is still listed"
cmd "flow create 0 tcp src 198.51.100.7 40002 dst 192.0.2.2 5000 priority 1 actions mark 7"
expect "^Flow rule #1 created" "the second rule was not created (or its id is not the next)"
cmd "flow create 0 tcp src 198.51.100.7 40003 dst 192.0.2.2 5000 actions queue 0"
expect "^Flow rule #2 created" "the third rule was not created"
cmd "flow query 0 1 count"
expect "^Caught PMD error type 16 \(specific action\): the rule has no COUNT action" "a query of a rule without COUNT was not refused"
cmd "flow flush 0"
expect "^Port 0: 2 flow rule\(s\) destroyed" "flow flush did not destroy the shell's two rules"
cmd "flow list 0"
expect "no flow rules" "rules are still listed after flow flush"

cmd "connect 192.0.2.1 4420 $subnqn queues 2 digest both"
expect "^Connected to $subnqn at 192.0.2.1:4420: .* blocks of [0-9]+ bytes, 2 I/O queue" "connect failed"
expect "^Offload: nvmeddp-sw:net_nvmeddp0, caps placement\+digest, 2 connection" "the I/O queues were not offloaded"
bs=$(echo "$last" | sed -n 's/.*blocks of \([0-9]*\) bytes.*/\1/p')
[ -n "$bs" ] || fail "no block size in the connect line"
b4k=$((4096 / bs)); b64k=$((65536 / bs)); b1m=$((1048576 / bs))

cmd "port stop 0"
expect "disconnect first" "port stop was not refused while connected"
cmd "write 0 $b64k"
expect "^write lba 0 blocks $b64k \(65536 bytes\) qid 1: ok" "the 64 KiB write failed"
cmd "read 0 $b64k"
expect "^read lba 0 blocks $b64k \(65536 bytes\) qid 1: ok \([1-9][0-9]* bytes placed" "the 64 KiB read back was not right (or nothing placed)"
cmd "write 4096 $b4k qid 2"
expect "^write lba 4096 blocks $b4k \(4096 bytes\) qid 2: ok" "the 4 KiB write failed"
cmd "read 4096 $b4k qid 2"
expect "^read lba 4096 blocks $b4k \(4096 bytes\) qid 2: ok" "the 4 KiB read back was not right"
cmd "read 8192 $b1m"
expect "^read lba 8192 blocks $b1m \(1048576 bytes\) qid 1: ok \([1-9][0-9]* bytes placed" "the 1 MiB read was not right (or nothing placed)"
cmd "read 0 $b4k qid 3"
expect "qid 3 is not an I/O queue" "an I/O on a queue that does not exist was not refused"
cmd "show ddp stats 0"
expect "^  rx_nvme_tcp_bytes: [1-9]" "the device placed no bytes"
expect "^  rx_nvme_tcp_sk_add: 2$" "the device's sk_add is not 2 (one per I/O queue)"
cmd "show ddp conn"
expect "^qid 1: device: .* placed [1-9][0-9]* bytes" "show ddp conn lacks the I/O queue's placement"

cmd "ddp caps 0 off"
expect "^Port 0: ddp caps none" "caps off was not applied"
cmd "read 8192 $b1m"
expect "^read lba 8192 blocks $b1m \(1048576 bytes\) qid 1: ok \(0 bytes placed by the device, 1048576 copied\)" "with caps off the read was not right, or the device still placed"
cmd "ddp caps 0 on"
expect "^Port 0: ddp caps placement\+digest" "caps on was not applied"
cmd "read 0 $b64k"
expect "^read lba 0 blocks $b64k \(65536 bytes\) qid 1: ok \([1-9][0-9]* bytes placed" "after caps on the device did not place again"

cmd "disconnect"
expect "^Disconnected" "disconnect failed"
cmd "show ddp stats 0"
expect "^  rx_nvme_tcp_sk_del: 2$" "the connections did not leave the device at disconnect"
echo "quit" >&3
exec 3>&-
set +e
wait "$shell_pid"
shell_rc=$?
set -e
shell_pid=
kill -INT "$target_pid" 2> /dev/null || true
wait "$target_pid" 2> /dev/null || true
target_pid=
echo "--- shell"
cat "$out"
echo "--- target"
cat "$dir/target.log"
[ "$shell_rc" -eq 0 ] || fail "the shell exited with $shell_rc after quit"
grep -Eq "^device nvmeddp-sw:net_nvmeddp0: sk_add 2 sk_del 2 setup ([0-9]+) teardown \1$" "$out" ||
  fail "at quit, sk_add != sk_del or setup != teardown"
grep -q "^Bye$" "$out" || fail "the shell did not end cleanly"
echo "shell_host_target: PASSED"
