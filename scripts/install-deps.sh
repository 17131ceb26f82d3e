#!/usr/bin/env bash
# Installs what nvmeddp builds and tests with, from Debian packages only.
# Idempotent: does nothing (and needs no network) when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  dpdk-dev libdpdk-dev        # DPDK 22.11: EAL, ethdev, rte_flow, mbuf, PMDs, dpdk-testpmd
  libisal-dev                 # crc32_iscsi (CRC32C) reference and fast path
  libgtest-dev libbenchmark-dev
  clang libclang-rt-14-dev    # the sanitizer build and libFuzzer (scripts/sanitize.sh)
  iproute2 ethtool            # network namespaces and veth pairs for the kernel-peer tests
  tcpdump tshark              # captures of those tests and frames tcp/ builds, decoded independently
  fio                         # the storage benchmark our ioengine (apps/fio) plugs into
  python3                     # small helpers of the tests (hand-made frames for testpmd)
  valgrind                    # callgrind's instruction counts of the host's and the engine's part (scripts/instructions.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The driver-SDK headers of the installed DPDK (for our vdev PMD), from Debian's source package.
"$(dirname "$0")/fetch-dpdk-sdk.sh"

# fio and the headers of exactly its version (Debian's fio ships none), for our fio ioengine
# (apps/fio), from Debian's source package.
"$(dirname "$0")/fetch-fio-source.sh" > /dev/null
