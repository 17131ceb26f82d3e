# One fio job's figures from fio's normal output and our engine's "nvmeddp offload: job ..." line
# (apps/fio): read and write IOPS and bandwidth as fio prints them (e.g. 12.3k, 48.0MiB/s), the job
# thread's CPU (usr% sys%), the share of read bytes the device placed, the data digests the device
# and the host verified, and the job thread's busy time in the host per GiB moved with its parts in
# the port's receive and send calls and in the host's own work (ms; apps/fio/lcore_time.h). Used by
# scripts/bench-fio.sh and scripts/bench_e2e.sh.
#   awk -v job=NAME -f scripts/fio_figures.awk fio.log
#   -> "read_iops read_bw write_iops write_bw placed% digests_dev digests_host usr% sys% busy_ms_per_gib
#       port_rx_ms_per_gib port_tx_ms_per_gib host_ms_per_gib"
#      ("-" if absent)
$0 ~ "^" job ": \\(groupid" { in_job = 1; next }
in_job && /^ *(read|write): IOPS=/ {
  dir = ($1 == "read:") ? "r" : "w"
  split($2, a, "="); iops[dir] = a[2]; sub(",", "", iops[dir])
  split($3, b, "="); bw[dir] = b[2]; sub(",", "", bw[dir])
}
in_job && /^ *cpu *: usr=/ {
  for (i = 1; i <= NF; i++) {
    if ($i ~ /^usr=/) { usr = $i; sub("usr=", "", usr); sub("%,?", "", usr) }
    if ($i ~ /^sys=/) { sys = $i; sub("sys=", "", sys); sub("%,?", "", sys) }
  }
}
in_job && /^[a-z0-9-]+: \(groupid/ { in_job = 0 }
$0 ~ "^nvmeddp offload: job " job ":" {
  for (i = 1; i <= NF; i++) {
    if ($i == "placed") { pl = $(i + 2); gsub(/[()]/, "", pl) }
    if ($i == "offloaded") dev = $(i + 1)
    if ($i == "computed") sw = $(i + 1)
    if ($i == "busy" && $(i - 1) == "lcore") busy = $(i + 1)
    if ($i == "receive" && $(i - 1) == "port") { rx = $(i + 1); sub(",", "", rx) }
    if ($i == "send" && $(i - 1) == "port") { tx = $(i + 1); sub(",", "", tx) }
    if ($i == "host" && $(i - 1) ~ /,$/ && $(i - 2) == "send") own = $(i + 1)
  }
}
function or_dash(x) { return x == "" ? "-" : x }
END {
  printf "%s %s %s %s %s %s %s %s %s %s %s %s %s\n", or_dash(iops["r"]), or_dash(bw["r"]), or_dash(iops["w"]), or_dash(bw["w"]),
         or_dash(pl), or_dash(dev), or_dash(sw), or_dash(usr), or_dash(sys), or_dash(busy), or_dash(rx), or_dash(tx),
         or_dash(own)
}
