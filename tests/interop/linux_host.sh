#!/usr/bin/env bash
# The Linux kernel's own nvme-tcp host against our built-in target (nvmeddp-target): the target must
# be correct enough that the host every Linux machine has can use it. A qemu guest (TCG; the image of
# build_initramfs.sh, host role of guest_init.sh / guest_host.sh) connects through a tap device to
# nvmeddp-target on 192.0.2.2:4420 in a network namespace this script creates and always removes; it
# reads the namespace pattern in 4 KiB and 1 MiB direct I/Os, writes and reads back 2 MiB in 64 KiB and
# 4 KiB I/Os, without and then with header and data digests, and disconnects. The target's counters
# must show that traffic and no error.
#
# usage: linux_host.sh <nvmeddp-target> [nvmeddp-target options...]
# Environment: TIMEOUT (seconds for the guest's checks, default 180), BOOT_TIMEOUT (default 90),
#   INTEROP_DIR (the image; default <nvmeddp-target's build tree>/interop), CHECK_MIB (namespace MiB
#   the guest reads, default 16), CAPTURE=1 (qemu records the traffic; tshark's nvme-tcp dissector
#   must find no malformed PDU), CAPTURE_FILE (keep that capture there).
# Prints "linux_host: PASSED" or "linux_host: FAILED" (with the reason) last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: linux_host.sh <nvmeddp-target> [target options]}
shift
target=$(cd "$(dirname "$target")" && pwd)/$(basename "$target")
timeout_s=${TIMEOUT:-180}
boot_timeout_s=${BOOT_TIMEOUT:-90}
interop_dir=${INTEROP_DIR:-$(dirname "$(dirname "$target")")/interop}
check_mib=${CHECK_MIB:-16}
subnqn=nqn.2026-12.io.nvmeddp:for-linux
die() { echo "linux_host: $*"; echo "linux_host: FAILED"; exit 1; }

[ -x "$target" ] || die "$target is not an executable"
# shellcheck source=guest_lib.sh
. "$here/guest_lib.sh"
target_pid=
stop_target() { [ -n "$target_pid" ] && kill "$target_pid" 2> /dev/null; return 0; }
guest_extra_cleanup=stop_target
guest_setup

# Our target on the namespace's kernel TCP, behind the tap's address.
ip -n "$ns" addr add 192.0.2.2/24 dev "$tap" || die "ip addr on $tap"
ip netns exec "$ns" "$target" --listen 192.0.2.2 --port 4420 --subnqn "$subnqn" --ns-size $((check_mib * 2))M \
  --verbose "$@" > "$work/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/target.log" 2> /dev/null && break; sleep 0.05; done
grep -q "listening on" "$work/target.log" || { cat "$work/target.log"; die "nvmeddp-target did not start"; }

guest_boot $((boot_timeout_s + timeout_s + 30)) \
  "nvmeddp.role=host nvmeddp.traddr=192.0.2.2 nvmeddp.subnqn=$subnqn nvmeddp.mib=$check_mib"
start=$(date +%s)
guest_wait "NVMEDDP-GUEST HOST PASSED" $((boot_timeout_s + timeout_s)) && guest_ok=1 || guest_ok=0
elapsed=$(($(date +%s) - start))
kill -INT "$target_pid" 2> /dev/null || true
wait "$target_pid" 2> /dev/null || true
target_pid=

echo "--- guest: the kernel's nvme-tcp host (its messages after boot)"
tr -d '\r' < "$work/guest.log" | grep -E "nvme|nvmeddp-guest|pattern_fill|NVMEDDP" | tail -40
echo "--- nvmeddp-target"
cat "$work/target.log"
fail=0
if [ "$guest_ok" -eq 1 ]; then
  echo "linux_host: $(guest_line "NVMEDDP-GUEST HOST PASSED") ($elapsed s from boot)"
else
  echo "linux_host: the guest's checks did not pass: $guest_failure"; fail=1
fi
guest_kernel_problems && { echo "linux_host: the guest kernel reported a problem"; fail=1; }
# The kernel host retries a read that failed its data digest, and the check above still passes: its
# complaints are failures here (none is expected from a target with no faults).
if tr -d '\r' < "$work/guest.log" | grep -E "nvme" | grep -qiE "digest error|I/O error|timeout|reset|reconnect|failed"; then
  echo "linux_host: the kernel's nvme host complained:"
  tr -d '\r' < "$work/guest.log" | grep -E "nvme" | grep -iE "digest error|I/O error|timeout|reset|reconnect|failed" | head -5
  fail=1
fi
# The target saw what the guest did: reads and writes, and no error of any kind.
grep -qE "reads [1-9][0-9]* " "$work/target.log" || { echo "linux_host: the target counted no reads"; fail=1; }
grep -qE "writes [1-9][0-9]* " "$work/target.log" || { echo "linux_host: the target counted no writes"; fail=1; }
grep -q "H2CTermReq received 0, data digest errors 0" "$work/target.log" ||
  { echo "linux_host: the target saw a termination or a digest error"; fail=1; }
if [ "${CAPTURE:-0}" = 1 ]; then
  [ -n "${CAPTURE_FILE:-}" ] && cp "$work/cap.pcap" "$CAPTURE_FILE"
  bad=$(tshark -r "$work/cap.pcap" -d tcp.port==4420,nvme-tcp -Y '_ws.malformed' -T fields -e frame.number 2> /dev/null | wc -l)
  pdus=$(tshark -r "$work/cap.pcap" -d tcp.port==4420,nvme-tcp -T fields -e nvme-tcp.type 2> /dev/null | tr ',' '\n' | grep -v '^$' | sort | uniq -c | tr '\n' ' ')
  echo "--- tshark: PDU types (count type): $pdus; malformed frames: $bad"
  [ "$bad" -eq 0 ] || { echo "linux_host: tshark found malformed PDUs"; fail=1; }
fi
[ "$fail" -eq 0 ] || die "see above"
echo "linux_host: PASSED"
