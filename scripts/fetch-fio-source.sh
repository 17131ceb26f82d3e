#!/usr/bin/env bash
# Installs fio and fetches Debian's source package of exactly the installed fio version into the
# directory given (default .cache/fio-src), configured, for building our external ioengine
# (apps/fio/nvmeddp_fio.c). Debian's fio ships no headers; an external engine includes fio's own
# "fio.h" and "optgroup.h", and those need the "config-host.h" that fio's ./configure writes, so the
# script runs that configure (quietly) in the unpacked source. Prints the include directory (the
# unpacked source) on stdout, everything else on stderr. Idempotent: nothing to do when the source of
# the installed version is there. Adds a deb-src entry for Debian's bookworm main when none exists
# (root or sudo), as scripts/fetch-dpdk-sdk.sh does.
#
# Why our configure's config-host.h is good enough for an engine loaded into Debian's binary: Debian
# configures with more libraries found (libaio, rdma, rbd, gluster, pmem, nbd, gtk). In the headers an
# engine includes, those only change the last member of struct io_u (a union of per-engine request
# structs, io_u.h) and CUDA fields at the end of struct thread_data (not in Debian's build). An engine
# never allocates either, so every member it uses sits at the same offset. The engine's
# FIO_IOOPS_VERSION is checked against the installed fio binary itself when the engine is built (fio
# refuses a mismatched engine): see apps/fio/CMakeLists.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/fio-src}
say() { echo "fetch-fio-source: $*" >&2; }

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if ! dpkg-query -W -f='${Status}' fio 2> /dev/null | grep -q "install ok installed"; then
  say "installing fio"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends fio > /dev/null
fi
version=$(dpkg-query -W -f='${source:Version}' fio)
upstream=${version#*:}
upstream=${upstream%-*}
src="$out/fio-$upstream"
stamp="$out/.version"
if [ -f "$src/fio.h" ] && [ -f "$src/optgroup.h" ] && [ -f "$src/config-host.h" ] &&
   [ "$(cat "$stamp" 2> /dev/null)" = "$version" ]; then
  echo "$src"
  exit 0
fi

if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  say "adding a deb-src entry (bookworm main) to fetch the fio source package"
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
say "fetching the fio $version source package for its headers"
# Unpacked by dpkg-source with Debian's patches applied: the headers of exactly the installed binary.
(cd "$tmp" && apt-get source -qq "fio=$version" > "$tmp/apt.log" 2>&1) || {
  cat "$tmp/apt.log" >&2
  say "apt-get source fio=$version failed (no network, or no deb-src entry for its suite)"; exit 1; }
[ -f "$tmp/fio-$upstream/fio.h" ] || { say "fio-$upstream/fio.h missing from the source package"; exit 1; }
say "configuring fio $upstream (for config-host.h)"
(cd "$tmp/fio-$upstream" && ./configure --disable-native --prefix=/usr > "$tmp/configure.log" 2>&1) || {
  cat "$tmp/configure.log" >&2; say "fio's ./configure failed"; exit 1; }
[ -f "$tmp/fio-$upstream/config-host.h" ] || { say "fio's ./configure wrote no config-host.h"; exit 1; }
mkdir -p "$out"
rm -rf "$src"
mv "$tmp/fio-$upstream" "$src"
echo "$version" > "$stamp"
say "fio $version headers in $src"
echo "$src"
