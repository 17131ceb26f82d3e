#!/usr/bin/env bash
# Our NVMe/TCP host (nvmeddp-host: DPDK, net_af_packet, the offload) against the Linux kernel's own
# nvmet-tcp target, a target nobody here wrote: a qemu guest (TCG; the Debian kernel, an initramfs from
# build_initramfs.sh) serves nqn.2026-12.io.nvmeddp:linux with a RAM namespace holding our pattern, on
# 192.0.2.1:4420 behind a tap device in a network namespace this script creates and always removes.
# The host runs in the same namespace on the tap (192.0.2.2) and checks every byte it reads.
#
# usage: linux_target.sh <nvmeddp-host> [nvmeddp-host options...] [-- EAL arguments]
# Environment: TIMEOUT (seconds for the host's run, default 300), BOOT_TIMEOUT (seconds for the guest to
#   be ready, default 90), INTEROP_DIR (where the kernel and initramfs are built and cached; default
#   <nvmeddp-host's build tree>/interop), NS_MIB (RAM namespace size, default 64), CAPTURE=1 (qemu
#   records the guest's traffic; tshark's nvme-tcp dissector must decode it with no malformed PDU and
#   find C2HData; it prints the PDU counts by type and the C2HData that carry SUCCESS),
#   CAPTURE_FILE (keep that capture there), NETEM (tc netem options for the guest's egress, e.g.
#   "delay 1ms reorder 1% loss 1%": the target's data lost and reordered on its way to our host).
#   GUEST_STALL_RETRY=0 (do not repeat a run whose guest stalled, below).
# Prints "linux_target: PASSED" or "linux_target: FAILED" (with the reason) last.
#
# A run that fails only because our host gave up waiting (a command or connect timed out, or the
# run's time was up; no wrong byte, nothing else failed) while the guest's transmit path stalled
# below its TCP (qemu took none of its frames while its TCP had retransmissions due, before the
# host ended: guest_tx_stall.awk reads that from the guest's own record) is repeated once with a
# fresh guest. That stall is qemu's (TCG, virtio-net; seen about
# once in 30 runs on a loaded 2-core machine), not our host's: a host that stopped answering leaves
# the guest's retransmissions leaving. The first attempt's output is printed in full, with FAILED
# written as "failed", and the repetition says why it happens. Any other failure is final.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${LINUX_TARGET_ATTEMPT:-}" ] && [ "${GUEST_STALL_RETRY:-1}" != 0 ]; then
  first=$(mktemp)
  trap 'rm -f "$first"' EXIT
  set +e
  LINUX_TARGET_ATTEMPT=1 "$here/$(basename "$0")" "$@" 2>&1 | tee "$first" | sed -u 's/FAILED/failed/g'
  set -e
  grep -q "^linux_target: PASSED" "$first" && exit 0
  if stall=$(grep -m1 "^linux_target: the guest's transmit path stalled" "$first"); then
    echo "linux_target: REPEATED: the first attempt failed because ${stall#linux_target: }; once more with a fresh guest"
    rm -f "$first"
    trap - EXIT
    LINUX_TARGET_ATTEMPT=2 exec "$here/$(basename "$0")" "$@"
  fi
  echo "linux_target: FAILED"
  exit 1
fi
host=${1:?usage: linux_target.sh <nvmeddp-host> [host options] [-- EAL arguments]}
shift
host=$(cd "$(dirname "$host")" && pwd)/$(basename "$host")
timeout_s=${TIMEOUT:-300}
boot_timeout_s=${BOOT_TIMEOUT:-90}
interop_dir=${INTEROP_DIR:-$(dirname "$(dirname "$host")")/interop}
ns_mib=${NS_MIB:-64}
subnqn=nqn.2026-12.io.nvmeddp:linux
die() { echo "linux_target: $*"; echo "linux_target: FAILED"; exit 1; }

[ -x "$host" ] || die "$host is not an executable"
# shellcheck source=guest_lib.sh
. "$here/guest_lib.sh"
guest_setup
# The tap has no address: the namespace's kernel must not answer for 192.0.2.2, our host's own TCP does.
guest_boot $((boot_timeout_s + timeout_s + 60)) "nvmeddp.ns_mib=$ns_mib${NETEM:+ nvmeddp.netem=${NETEM// /_}}"
start=$(date +%s)
if ! guest_wait "NVMEDDP-GUEST READY" "$boot_timeout_s"; then
  echo "--- guest (last 40 lines)"; tail -40 "$work/guest.log"
  die "the guest was not ready after $(($(date +%s) - start)) s: $guest_failure"
fi
echo "linux_target: $(guest_line "NVMEDDP-GUEST READY") (boot $(($(date +%s) - start)) s)"
ready_ns=$(date +%s%N)
[ -n "${NETEM:-}" ] && echo "linux_target: $(guest_line "nvmeddp-guest: eth0 egress")"

host_args=(--port net_af_packet0 --local-ip 192.0.2.2 --traddr 192.0.2.1 --trsvcid 4420 --subnqn "$subnqn")
# With a capture the host logs each I/O command it completed, to hold tshark's reading against.
[ "${CAPTURE:-0}" = 1 ] && host_args+=(--log-commands "$work/commands.log")
eal=("--vdev=net_af_packet0,iface=$tap")
set +e
if printf '%s\n' "$@" | grep -qx -- '--'; then
  timeout "$timeout_s" ip netns exec "$ns" "$host" "${host_args[@]}" "$@" "${eal[@]}" 2>&1 | tee "$work/host.out"
else
  timeout "$timeout_s" ip netns exec "$ns" "$host" "${host_args[@]}" "$@" -- "${eal[@]}" 2>&1 | tee "$work/host.out"
fi
host_rc=${PIPESTATUS[0]}
set -e
host_s=$(( ($(date +%s%N) - ready_ns) / 1000000 ))

fail=0  # how many of the checks below failed
host_gave_up=0
if [ "$host_rc" -ne 0 ]; then
  why="exit $host_rc"
  [ "$host_rc" -eq 124 ] && why="killed after $timeout_s s"
  echo "linux_target: the host failed ($why)"; fail=$((fail + 1))
  # It gave up waiting for the target, and read no wrong byte: the one failure a stalled guest explains.
  if { [ "$host_rc" -eq 124 ] || grep -qE "timed out|not connected within" "$work/host.out"; } &&
    ! grep -qE "(^|[^0-9])[1-9][0-9]* with wrong bytes" "$work/host.out"; then
    host_gave_up=1
  fi
fi
kill -0 "$qemu_pid" 2> /dev/null || { echo "linux_target: qemu exited during the run"; fail=$((fail + 1)); }
# The Linux target's own complaints (kernel warnings at loglevel 4 and above reach the console).
if guest_kernel_problems; then
  echo "linux_target: the guest kernel reported a problem"; fail=$((fail + 1))
fi
echo "--- guest kernel messages after ready"
sed -n '/NVMEDDP-GUEST READY/,$p' "$work/guest.log" | tail -n +2 | tail -30
if [ "${CAPTURE:-0}" = 1 ]; then
  [ -n "${CAPTURE_FILE:-}" ] && cp "$work/cap.pcap" "$CAPTURE_FILE"
  # One pass of tshark's own NVMe/TCP dissector over the whole capture (full frames, so it reassembles
  # PDUs across segments): every PDU's type and flags, and the frames it found malformed.
  tshark -r "$work/cap.pcap" -d tcp.port==4420,nvme-tcp -T fields -E occurrence=a -E aggregator=, \
    -e frame.number -e nvme-tcp.type -e nvme-tcp.flags -e _ws.malformed > "$work/pdus.txt" 2> "$work/tshark.err" ||
    { echo "linux_target: tshark failed:"; cat "$work/tshark.err"; fail=$((fail + 1)); }
  # Linux nvmet-tcp completes a read with SUCCESS on its C2HData (and no CapsuleResp) only when the
  # host's I/O queue Connect disabled SQ flow control.
  # (mawk here: no bit operators, so the SUCCESS bit, 0x08, is read from the flags' hex digits.)
  summary=$(awk -F '\t' '
    function hexval(h,   v, i) { v = 0; h = tolower(h); sub(/^0x/, "", h)
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v }
    { if ($4 != "") { bad++; if (nb < 5) { badlist = badlist " " $1; nb++ } }
      n = split($2, types, ","); split($3, flags, ",")
      for (i = 1; i <= n; i++) { count[types[i]]++; if (types[i] == 7 && int(hexval(flags[i]) / 8) % 2 == 1) success++ } }
    END { printf "PDUs by type:"; for (t in count) printf " %s=%d", t, count[t]
          printf "; C2HData with SUCCESS: %d; malformed frames: %d%s\n", success, bad, badlist }' "$work/pdus.txt")
  echo "--- tshark: $summary"
  echo "$summary" | grep -q "malformed frames: 0$" || { echo "linux_target: tshark found malformed PDUs"; fail=$((fail + 1)); }
  echo "$summary" | grep -qw "7=[0-9]*" || { echo "linux_target: tshark saw no C2HData (type 7)"; fail=$((fail + 1)); }
  # The I/O commands tshark decoded (those with an SLBA: admin commands have none) must be the ones
  # the host logged, command id, opcode, SLBA and block count alike; and per command id the C2HData
  # bytes tshark counted on the I/O queues (those whose Connect named a queue other than 0) must
  # equal the bytes the host's reads with that id received. A command id with a failed command is
  # left out of the byte count (its commands stay in the list): a command the host gave up on
  # counts the bytes it had of a PDU cut off mid-way, which the dissector, reassembling whole PDUs,
  # does not; the failure itself already failed the run.
  tshark -r "$work/cap.pcap" -d tcp.port==4420,nvme-tcp -T fields -E occurrence=a -E aggregator=, \
    -e nvme-tcp.type -e nvme.cmd.opc -e nvme.cmd.cid -e nvme.cmd.slba -e nvme.cmd.nlb -e nvme-tcp.cmd.cid \
    -e nvme-tcp.data.length -e tcp.stream -e nvme.fabrics.cmd.connect.qid > "$work/ios.txt" 2> /dev/null || true
  awk -F '\t' '
    function num(h,   v, i) { if (h !~ /^0x/) return h + 0
      v = 0; h = tolower(substr(h, 3))
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v }
    { n = split($2, opc, ","); split($3, cid, ","); split($4, slba, ","); split($5, nlb, ",")
      for (i = 1; i <= n; i++) if (slba[i] != "") printf "cmd %d %d %d %d\n", num(cid[i]), num(opc[i]), num(slba[i]), num(nlb[i])
      if ($9 != "") qid[$8] = $9 + 0  # the Connect names the queue of its connection
      if (qid[$8] == 0) next           # the admin queue: its C2HData is Identify data, not reads
      n = split($1, type, ","); split($6, dcid, ","); split($7, dlen, ",")
      for (i = 1; i <= n; i++) if (type[i] == 7) c2h[num(dcid[i])] += dlen[i] }
    END { for (c in c2h) printf "c2h %d %d\n", c, c2h[c] }' "$work/ios.txt" 2> "$work/awk.err" | sort > "$work/seen.txt" ||
    { echo "linux_target: reading tshark's fields failed: $(cat "$work/awk.err")"; fail=$((fail + 1)); }
  # One pass over the host's log: its commands and per command id its reads' bytes into logged.txt,
  # and the command ids of failed commands (its seventh field, the status, not 0x0000) taken out of
  # tshark's counts too, with how many they are. The log is named by FILENAME, since NR == FNR would
  # take tshark's file for the log when the log is empty.
  : > "$work/logged_unsorted.txt"
  awk -v host_log="$work/commands.log" -v logged_to="$work/logged_unsorted.txt" -v count_to="$work/left_out.txt" '
    FILENAME == host_log {
      printf "cmd %d %d %d %d\n", $2, $3, $4, $5 > logged_to
      if ($3 == 2) c2h[$2] += $6
      if ($7 != "0x0000" && !($2 in bad)) { bad[$2] = 1; ids++ }
      next }
    !($1 == "c2h" && ($2 in bad))
    END { for (c in c2h) if (!(c in bad)) printf "c2h %d %d\n", c, c2h[c] > logged_to
          print ids + 0 > count_to }' "$work/commands.log" "$work/seen.txt" > "$work/seen_ok.txt"
  sort "$work/logged_unsorted.txt" > "$work/logged.txt"
  mv "$work/seen_ok.txt" "$work/seen.txt"
  left_out=$(cat "$work/left_out.txt")
  [ "$left_out" -gt 0 ] || left_out=
  if [ ! -s "$work/logged.txt" ] || ! cmp -s "$work/seen.txt" "$work/logged.txt"; then
    echo "linux_target: tshark's commands and data lengths differ from the host's log (< tshark, > host):"
    diff "$work/seen.txt" "$work/logged.txt" | head -10; fail=$((fail + 1))
  else
    echo "--- tshark: $(grep -c '^cmd' "$work/seen.txt") I/O commands and the C2HData bytes of $(grep -c '^c2h' "$work/seen.txt") command ids, as the host logged them${left_out:+ ($left_out command ids with a failed command not counted)}"
  fi
fi
if [ "$fail" -ne 0 ]; then
  echo "--- guest (last 20 lines)"; tail -20 "$work/guest.log"
  # Both ends of the link, to hold against the host's counters: the tap (its TX is what our host sent
  # towards qemu, TX dropped what qemu did not read in time) and the guest's own record (guest_init.sh).
  echo "--- the tap, our side of the guest's link"
  ip -n "$ns" -s link show "$tap" | sed -n '3,$p'
  echo "--- the guest's side every 2 s, last 16 (the host's run ended $((host_s / 1000)).$(printf '%03d' $((host_s % 1000))) s after the guest was ready)"
  tr -d '\r' < "$work/watch.log" | tail -16
  # Only records up to the host's end count (guest uptime at ready + the host's run, and one record
  # for the last completion), and only when the host's giving up is the whole failure.
  ready_uptime=$(guest_line "NVMEDDP-GUEST READY" | sed -n 's/.*uptime \([0-9.]*\) s.*/\1/p')
  if [ "$fail" -eq 1 ] && [ "$host_gave_up" = 1 ] && [ -n "$ready_uptime" ]; then
    until=$(awk -v r="$ready_uptime" -v h="$host_s" 'BEGIN { printf "%.2f", r + h / 1000 + 2 }')
    stall=$(tr -d '\r' < "$work/watch.log" | awk -v until="$until" -f "$here/guest_tx_stall.awk")
    [ -n "$stall" ] && echo "linux_target: $stall"
  fi
  die "see above"
fi
echo "linux_target: PASSED"
