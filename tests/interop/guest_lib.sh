# Shell functions shared by linux_target.sh and linux_host.sh (sourced, not run): the qemu guest
# (TCG; the Debian kernel and the initramfs of build_initramfs.sh) behind a tap device in a network
# namespace the script creates and always removes.
#
# The sourcing script sets `interop_dir` and defines die() (message, FAILED, exit).
# After guest_setup: $ns (the namespace), $tap, $work (a scratch directory, removed at exit).

tap=nvtap0
qemu_pid=
ns=
work=

guest_cleanup() {
  if [ -n "$qemu_pid" ]; then
    kill "$qemu_pid" 2> /dev/null || true
    for _ in $(seq 50); do kill -0 "$qemu_pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$qemu_pid" 2> /dev/null || true
  fi
  [ -n "${guest_extra_cleanup:-}" ] && $guest_extra_cleanup
  [ -n "$ns" ] && ip netns del "$ns" 2> /dev/null
  [ -n "$work" ] && rm -rf "$work"
  return 0
}

# guest_setup: the checks, the image (cached), the namespace and its tap device (up, no offloads:
# whole, checksummed, MTU-sized frames, as a NIC delivers them; the guest's virtio-net has no
# offloads either, qemu's tap runs without vnet headers).
guest_setup() {
  [ "$(id -u)" -eq 0 ] || die "needs root (ip netns, tap devices)"
  [ -c /dev/net/tun ] || die "/dev/net/tun is missing: no tap devices on this machine (load the tun module, or give the container /dev/net/tun)"
  "$(dirname "${BASH_SOURCE[0]}")/build_initramfs.sh" "$interop_dir" || die "the guest image could not be built (above)"
  for tool in ip ethtool qemu-system-x86_64 timeout; do
    command -v "$tool" > /dev/null || die "$tool missing (scripts/install-deps.sh, tests/interop/build_initramfs.sh)"
  done
  if [ "${CAPTURE:-0}" = 1 ]; then
    command -v tshark > /dev/null || die "tshark missing (scripts/install-deps.sh)"
  fi
  ns="nvmeddp-interop-$$"
  work=$(mktemp -d)
  trap guest_cleanup EXIT
  trap 'exit 130' INT TERM
  # shellcheck source=../netns/netns_lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/../netns/netns_lib.sh"
  reap_orphan_namespaces
  ip netns add "$ns" || die "ip netns add $ns failed (no network namespaces here?)"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$ns" link set lo up
  ip -n "$ns" tuntap add dev "$tap" mode tap || die "ip tuntap add $tap failed"
  ip netns exec "$ns" ethtool -K "$tap" tx off tso off gso off gro off > /dev/null 2>&1 || true
  ip -n "$ns" link set "$tap" up
}

# guest_boot <seconds qemu may live> <kernel command line options...>: starts the guest in the
# background; its serial console goes to $work/guest.log, its second serial port (ttyS1: what the
# guest records of its side of the link, guest_init.sh) to $work/watch.log. With CAPTURE=1 qemu itself records the
# guest's traffic both ways into $work/cap.pcap (a tcpdump on the tap would miss DPDK's frames:
# af_packet transmits past the kernel's taps, qdisc_bypass). -no-reboot with panic=-1 turns a guest
# panic into qemu exiting, which guest_wait notices at once.
guest_boot() {
  local lifetime=$1
  shift
  local capture=()
  [ "${CAPTURE:-0}" = 1 ] && capture=(-object "filter-dump,id=dump0,netdev=n0,file=$work/cap.pcap")
  ip netns exec "$ns" timeout "$lifetime" qemu-system-x86_64 \
    -accel tcg -M q35 -cpu max -m 512 -smp 1 -nographic -no-reboot \
    -kernel "$interop_dir/vmlinux" -initrd "$interop_dir/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1 mitigations=off loglevel=4 $*" \
    -serial mon:stdio -serial "file:$work/watch.log" \
    -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vnet_hdr=off" \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,romfile= "${capture[@]}" \
    < /dev/null > "$work/guest.log" 2>&1 &
  qemu_pid=$!
}

# guest_wait <text> <seconds>: until the guest prints <text> (0), says
# "NVMEDDP-GUEST FAILED" or qemu exits (1, with the reason in $guest_failure), or the time is up (1).
guest_wait() {
  local start
  start=$(date +%s)
  guest_failure=
  while [ $(($(date +%s) - start)) -lt "$2" ]; do
    grep -q "$1" "$work/guest.log" && return 0
    guest_failure=$(grep -o "NVMEDDP-GUEST FAILED.*" "$work/guest.log" | head -1 | tr -d '\r' || true)
    [ -n "$guest_failure" ] && return 1
    kill -0 "$qemu_pid" 2> /dev/null || { guest_failure="qemu exited"; return 1; }
    sleep 0.2
  done
  guest_failure="no '$1' after $2 s"
  return 1
}

# guest_line <text>: the first guest line from <text> on.
guest_line() { grep -o "$1.*" "$work/guest.log" | head -1 | tr -d '\r' || true; }

# guest_kernel_problems: true when the guest's kernel reported an oops, a BUG or a WARNING (loglevel
# 4 and above reach the console).
guest_kernel_problems() { grep -qE "Oops|BUG:|WARNING:|Call Trace" "$work/guest.log"; }
