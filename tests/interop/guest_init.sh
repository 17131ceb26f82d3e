#!/bin/busybox sh
# shellcheck shell=dash
# /init of the qemu guest of tests/interop (build_initramfs.sh packs it). It loads the modules the
# build listed and brings eth0 up as 192.0.2.1/24, then plays one of two roles:
#  - target (default; linux_target.sh): fills a RAM disk with the namespace pattern and exports it as
#    namespace 1 of nqn.2026-12.io.nvmeddp:linux on tcp/ipv4 192.0.2.1:4420 through nvmet's configfs,
#    then prints "NVMEDDP-GUEST READY" (or "NVMEDDP-GUEST FAILED: <why>") and serves;
#  - host (linux_host.sh): the kernel's own nvme-tcp host connects to our target at nvmeddp.traddr,
#    once per option set (no digests; both digests), checks reads of the namespace pattern (4 KiB and
#    1 MiB direct I/O), writes another pattern in 64 KiB I/Os and reads it back, disconnects, and
#    prints "NVMEDDP-GUEST HOST PASSED" (or "NVMEDDP-GUEST FAILED: <why>").
#
# Kernel command line options (all optional): nvmeddp.role=target|host, nvmeddp.ns_mib=<RAM disk MiB,
# default 64>, nvmeddp.traddr=<our target's IPv4 address>, nvmeddp.subnqn=<its subsystem NQN>,
# nvmeddp.mib=<MiB of the namespace the host checks, default 16>, nvmeddp.netem=<tc netem options with
# _ for spaces, on eth0's egress, e.g. delay_1ms_reorder_1%_loss_1%>.
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2> /dev/null
# The kernel opened /dev/console from the initramfs; take the devtmpfs one in case that was missing.
exec < /dev/console > /dev/console 2>&1

fail() {
  echo "NVMEDDP-GUEST FAILED: $*"
  # PID 1 must not exit (the kernel would panic and hide the reason): wait for the harness to stop us.
  while :; do sleep 3600; done
}

ns_mib=64
role=target
traddr=
subnqn=
host_mib=16
netem=
# shellcheck disable=SC2013  # the command line is words
for word in $(cat /proc/cmdline); do
  case "$word" in
    nvmeddp.ns_mib=*) ns_mib=${word#nvmeddp.ns_mib=} ;;
    nvmeddp.role=*) role=${word#nvmeddp.role=} ;;
    nvmeddp.traddr=*) traddr=${word#nvmeddp.traddr=} ;;
    nvmeddp.subnqn=*) subnqn=${word#nvmeddp.subnqn=} ;;
    nvmeddp.mib=*) host_mib=${word#nvmeddp.mib=} ;;
    nvmeddp.netem=*) netem=$(echo "${word#nvmeddp.netem=}" | tr '_' ' ') ;;
  esac
done

kver=$(uname -r)
# The build resolved the dependency order (modules.load, one path under /lib/modules/<ver> per line).
while read -r module; do
  [ -n "$module" ] || continue
  args=
  case "$module" in
    */brd.ko) args="rd_nr=1 rd_size=$((ns_mib * 1024)) max_part=0" ;;
  esac
  # shellcheck disable=SC2086  # args is a list of module parameters
  insmod "/lib/modules/$kver/$module" $args 2> /tmp/insmod.err ||
    grep -q "File exists" /tmp/insmod.err || fail "insmod $module: $(cat /tmp/insmod.err)"
done < /etc/nvmeddp/modules.load

mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
# iproute2's ip (packed with its libraries) when the build found one: busybox's ip cannot cap GSO.
# busybox --install put its own ip earlier in PATH, hence the full path.
IP=ip
[ -x /usr/sbin/ip ] && /usr/sbin/ip -V > /dev/null 2>&1 && IP=/usr/sbin/ip
$IP link set lo up
# One segment per skb keeps what the guest's qdiscs see (netem, later) equal to what goes on the wire.
$IP link set eth0 gso_max_segs 1 2> /dev/null || echo "nvmeddp-guest: gso_max_segs not set ($IP)"
$IP addr add 192.0.2.1/24 dev eth0 || fail "ip addr on eth0"
$IP link set eth0 up || fail "eth0 up"
if [ -n "$netem" ]; then
  # What the guest sends (the target's C2HData) is lost, delayed and reordered on the way out.
  [ -x /usr/sbin/tc ] || fail "netem asked but the image has no tc (iproute2 on the build machine?)"
  # shellcheck disable=SC2086  # the options are words
  /usr/sbin/tc qdisc add dev eth0 root netem $netem || fail "tc qdisc add dev eth0 root netem $netem"
  echo "nvmeddp-guest: eth0 egress: $(/usr/sbin/tc qdisc show dev eth0 | head -1)"
fi

if [ "$role" = host ]; then
  dmesg -n 7
  # shellcheck source=guest_host.sh
  . /etc/nvmeddp/guest_host.sh
  run_host "$traddr" "$subnqn" "$host_mib"
  while :; do sleep 3600; done
fi

for _ in $(seq 50); do [ -b /dev/ram0 ] && break; sleep 0.1; done
[ -b /dev/ram0 ] || fail "/dev/ram0 missing after loading brd"
/usr/bin/pattern_fill /dev/ram0 $((ns_mib * 1024 * 1024)) || fail "pattern_fill /dev/ram0"

nqn=nqn.2026-12.io.nvmeddp:linux
cfg=/sys/kernel/config/nvmet
subsys=$cfg/subsystems/$nqn
mkdir "$subsys" || fail "mkdir $subsys"
echo 1 > "$subsys/attr_allow_any_host" || fail "attr_allow_any_host"
mkdir "$subsys/namespaces/1" || fail "mkdir namespace 1"
echo -n /dev/ram0 > "$subsys/namespaces/1/device_path" || fail "device_path"
echo 1 > "$subsys/namespaces/1/enable" || fail "enable namespace 1"
mkdir "$cfg/ports/1" || fail "mkdir port 1"
echo tcp > "$cfg/ports/1/addr_trtype" || fail "addr_trtype"
echo ipv4 > "$cfg/ports/1/addr_adrfam" || fail "addr_adrfam"
echo 192.0.2.1 > "$cfg/ports/1/addr_traddr" || fail "addr_traddr"
echo 4420 > "$cfg/ports/1/addr_trsvcid" || fail "addr_trsvcid"
ln -s "$subsys" "$cfg/ports/1/subsystems/$nqn" || fail "link $nqn to port 1"

# From here on nvmet's own messages (controllers created, errors it saw) reach the console: the
# harness prints them after the run. The boot stayed at loglevel 4 (serial output is slow under TCG).
dmesg -n 7
# The target's side of the link, every 2 s, on the second serial port (a file the harness prints when
# a run fails): eth0's frame counts, the virtio-net interrupts taken, and each NVMe/TCP connection's
# state, unsent + unacknowledged bytes : bytes nvmet has not read, timer (1 retransmission, 4 window
# probe) and retransmissions, from /proc/net/tcp. Beside the host's own counters they say whether
# frames stopped crossing qemu in one direction, the guest's TCP held data back, or nvmet stopped
# reading or writing its sockets. One awk per line keeps it cheap under TCG.
watch_target() {
  stat=/sys/class/net/eth0/statistics
  while :; do
    awk 'FILENAME == "/proc/uptime" { t = $1 }
         FILENAME ~ /statistics/ { n = split(FILENAME, p, "/"); c[p[n]] = $1 }
         FILENAME == "/proc/interrupts" && /virtio0-input/ { irq_in += $2 }
         FILENAME == "/proc/interrupts" && /virtio0-output/ { irq_out += $2 }
         FILENAME == "/proc/net/tcp" && $2 ~ /:1144$/ && $4 != "0A" {
           split($3, r, ":"); tcp = tcp sprintf(" | peer:%s st %s q %s tm %s retr %s", r[2], $4, $5, $6, $7) }
         END { printf "watch %s eth0 rx %s tx %s dropped %s/%s irq in %d out %d%s\n", t, c["rx_packets"],
                      c["tx_packets"], c["rx_dropped"], c["tx_dropped"], irq_in, irq_out, tcp }' \
      /proc/uptime $stat/rx_packets $stat/tx_packets $stat/rx_dropped $stat/tx_dropped /proc/interrupts /proc/net/tcp
    sleep 2
  done
}
if [ -c /dev/ttyS1 ]; then
  stty -F /dev/ttyS1 115200 raw 2> /dev/null
  watch_target > /dev/ttyS1 2>&1 &
fi
echo "NVMEDDP-GUEST READY: $nqn on tcp 192.0.2.1:4420, namespace 1 = /dev/ram0 ($ns_mib MiB of the pattern), kernel $kver, uptime $(cut -d' ' -f1 /proc/uptime) s"
while :; do sleep 3600; done
