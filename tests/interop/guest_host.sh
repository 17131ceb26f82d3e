# shellcheck shell=dash
# The host role of the interop guest (sourced by guest_init.sh): the Linux kernel's nvme-tcp host
# against our built-in target. No nvme-cli in the image: it connects as nvme-cli does underneath, by
# writing the options to /dev/nvme-fabrics, and disconnects through sysfs. Uses fail() from /init.
HOST_NQN=nqn.2026-12.io.nvmeddp:linux-host
MIB=1048576

# connect_ctrl <traddr> <subnqn> <extra options>: sets `instance` to the controller's number (not
# printed: fail() inside a command substitution would not reach the console).
connect_ctrl() {
  # One write with every option, as the kernel wants; it answers "instance=N,cntlid=M".
  exec 3<> /dev/nvme-fabrics || fail "open /dev/nvme-fabrics"
  printf '%s' "transport=tcp,traddr=$1,trsvcid=4420,nqn=$2,hostnqn=$HOST_NQN,nr_io_queues=1,nr_write_queues=1$3" >&3 ||
    { exec 3<&-; fail "connect to $1 $2 ($3) refused: $(dmesg | tail -5 | tr '\n' '|')"; }
  read -r reply <&3
  exec 3<&-
  instance=${reply#instance=}
  instance=${instance%%,*}
  case "$instance" in
    '' | *[!0-9]*) fail "connect to $1 answered '$reply'" ;;
  esac
}

# check_set <traddr> <subnqn> <mib> <name> <extra options>
check_set() {
  connect_ctrl "$1" "$2" "$5"
  n=$instance
  dev=/dev/nvme${n}n1
  for _ in $(seq 100); do [ -b "$dev" ] && break; sleep 0.1; done
  [ -b "$dev" ] || fail "$4: $dev did not appear after connecting"
  echo "nvmeddp-guest: $4: connected nvme$n ($(cat /sys/class/nvme/nvme"$n"/transport 2> /dev/null)" \
    "$(cat /sys/class/nvme/nvme"$n"/address 2> /dev/null | tr '\n' ' '))"
  # Reads of the namespace pattern: 4 KiB I/Os, then 1 MiB I/Os (several C2HData PDUs each).
  pattern_fill --check --direct --block 4096 "$dev" $MIB || fail "$4: 4 KiB reads"
  pattern_fill --check --direct --block $MIB --offset $MIB "$dev" $((($3 - 1) * MIB)) || fail "$4: 1 MiB reads"
  # Writes through R2T/H2CData (64 KiB, above the in-capsule size), read back, then the namespace
  # pattern put back for the next set.
  pattern_fill --pattern 7 --direct --block 65536 --offset $((4 * MIB)) "$dev" $((2 * MIB)) || fail "$4: 64 KiB writes"
  pattern_fill --check --pattern 7 --direct --block 131072 --offset $((4 * MIB)) "$dev" $((2 * MIB)) ||
    fail "$4: reading back what was written"
  pattern_fill --direct --block 4096 --offset $((4 * MIB)) "$dev" $((2 * MIB)) || fail "$4: 4 KiB writes"
  pattern_fill --check --direct --offset $((4 * MIB)) "$dev" $((2 * MIB)) || fail "$4: reading back the 4 KiB writes"
  echo 1 > /sys/class/nvme/nvme"$n"/delete_controller || fail "$4: delete_controller"
  for _ in $(seq 100); do [ -e /sys/class/nvme/nvme"$n" ] || break; sleep 0.1; done
  [ -e /sys/class/nvme/nvme"$n" ] && fail "$4: nvme$n still there after delete_controller"
  echo "nvmeddp-guest: $4: reads and writes checked, disconnected"
}

# run_host <traddr> <subnqn> <mib>
run_host() {
  [ -n "$1" ] && [ -n "$2" ] || fail "host role needs nvmeddp.traddr and nvmeddp.subnqn"
  [ -c /dev/nvme-fabrics ] || fail "/dev/nvme-fabrics missing (nvme-fabrics not loaded?)"
  check_set "$1" "$2" "$3" "no digests" ""
  check_set "$1" "$2" "$3" "header and data digests" ",hdr_digest,data_digest"
  echo "NVMEDDP-GUEST HOST PASSED: the kernel $(uname -r) nvme-tcp host read and wrote our target, with and without digests"
}
