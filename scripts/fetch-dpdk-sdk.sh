#!/usr/bin/env bash
# Fetches the four DPDK driver-SDK headers that libdpdk-dev does not ship (ethdev_driver.h,
# ethdev_vdev.h, bus_vdev_driver.h, dev_driver.h) from Debian's source package of exactly the
# installed libdpdk-dev version, into the directory given (default .cache/dpdk-sdk). They are needed
# to build our vdev PMD (pmd/net_nvmeddp/net_nvmeddp.cpp). Idempotent: nothing to do when they are there.
# Adds a deb-src entry for Debian's bookworm main when none exists (root or sudo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/dpdk-sdk}
headers=(ethdev_driver.h ethdev_vdev.h bus_vdev_driver.h dev_driver.h)
version=$(dpkg-query -W -f='${source:Version}' libdpdk-dev)
stamp="$out/.version"
have=1
for h in "${headers[@]}"; do [ -f "$out/$h" ] || have=0; done
if [ "$have" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then exit 0; fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "fetch-dpdk-sdk: adding a deb-src entry (bookworm main) to fetch the DPDK source package"
  "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/nvmeddp-debian-src.sources > /dev/null <<EOS
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
  "${sudo_cmd[@]}" apt-get update -qq
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-dpdk-sdk: fetching the dpdk $version source package for its driver headers"
(cd "$tmp" && apt-get source --download-only -qq "dpdk=$version" > /dev/null 2>&1) || {
  echo "fetch-dpdk-sdk: apt-get source dpdk=$version failed (no network, or no deb-src entry for its suite)"; exit 1; }
mkdir -p "$out"
tar -xJf "$tmp"/dpdk_*.orig.tar.xz -C "$out" --wildcards --transform='s,.*/,,' \
  '*/lib/ethdev/ethdev_driver.h' '*/lib/ethdev/ethdev_vdev.h' \
  '*/lib/eal/include/dev_driver.h' '*/drivers/bus/vdev/bus_vdev_driver.h'
for h in "${headers[@]}"; do [ -f "$out/$h" ] || { echo "fetch-dpdk-sdk: $h missing from the source package"; exit 1; }; done
echo "$version" > "$stamp"
echo "fetch-dpdk-sdk: ${headers[*]} in $out"
