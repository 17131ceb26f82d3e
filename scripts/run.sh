#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the NVMe/TCP host with the receive offload
# end to end. With no arguments (or options only): a veth pair in private network namespaces (always
# removed), the built-in target (nvmeddp-target) on one end, our DPDK host (nvmeddp-host, through
# net_af_packet, the offload attached) on the other; reads of 4 KiB..1 MiB at queue depth 32 with
# header and data digests, offload off then on, every byte checked, and a side-by-side table.
# Options are nvmeddp-host's (see --help), e.g. --faults-rx drop=0.01,reorder=0.01 or --writes;
# TARGET_ARGS="..." passes options to the target (e.g. "--c2h-split 8192").
# With --traddr: your own target; then give --port, --local-ip and EAL arguments after --, e.g.
#   scripts/run.sh --traddr 192.0.2.1 --subnqn nqn... --port net_af_packet0 --local-ip 192.0.2.2 \
#       -- --vdev=net_af_packet0,iface=eth1
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${NVMEDDP_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" > /dev/null
for arg in "$@"; do
  case "$arg" in
    -h|--help) exec "$build/apps/nvmeddp-host" --help ;;
    --traddr|--trid) exec "$build/apps/nvmeddp-host" "$@" ;;
    --) break ;;
  esac
done
exec "$root/tests/netns/host_target.sh" "$build/apps/nvmeddp-target" "$build/apps/nvmeddp-host" "$@"
