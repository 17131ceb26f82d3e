#!/usr/bin/env bash
# Installs what nvmeddp builds and tests with, from Debian packages only.
# Idempotent: does nothing (and needs no network) when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  dpdk-dev libdpdk-dev        # DPDK 22.11: EAL, ethdev, rte_flow, mbuf, PMDs, dpdk-testpmd
  libisal-dev                 # crc32_iscsi (CRC32C) reference and fast path
  libgtest-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
