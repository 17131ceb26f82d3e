#!/usr/bin/env bash
# Builds what tests/interop/linux_target.sh and linux_host.sh boot: the Debian kernel (as an ELF
# vmlinux, for qemu's fast PVH boot) and an initramfs whose /init (guest_init.sh) serves the Linux
# kernel's nvmet-tcp target with a RAM namespace holding our pattern, or runs its nvme-tcp host. The
# kernel package is downloaded (apt-get download, never installed into /boot) and unpacked into
# INTEROP_CACHE (default <outdir>/cache, in the build tree; point several build trees at one directory
# to download once); the image goes to <outdir>.
#
# usage: build_initramfs.sh <outdir>
# Produces <outdir>/vmlinux, <outdir>/initramfs.cpio.gz and <outdir>/kernel-version. Cached: a second
# run with the same kernel package and the same inputs does nothing. Safe to run concurrently (one
# lock on the cache).
# Installs with apt-get what it needs and is missing: qemu-system-x86, busybox-static, kmod (depmod),
# cpio, xz-utils, g++ (the static pattern_fill), iproute2 (ip and tc for the guest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:?usage: build_initramfs.sh <outdir>}
mkdir -p "$out"
out=$(cd "$out" && pwd)
say() { echo "build_initramfs: $*"; }
die() { echo "build_initramfs: $* FAILED"; exit 1; }

cache=${INTEROP_CACHE:-$out/cache}
mkdir -p "$cache"
# One builder at a time; the others wait (bounded) and then find the result cached.
exec 9> "$cache/.lock"
flock -w 600 9 || die "waited 600 s for another build holding $cache/.lock:"

need_pkgs=(qemu-system-x86 busybox-static kmod cpio xz-utils g++ iproute2)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "needs root to install ${missing[*]}:"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$out/apt.log" 2>&1 ||
    { apt-get update -qq > /dev/null 2>&1; apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$out/apt.log" 2>&1; } ||
    { cat "$out/apt.log"; die "apt-get install ${missing[*]}:"; }
fi

# The kernel package linux-image-amd64 points at now (its version changes with Debian's updates).
kpkg=$(apt-cache depends linux-image-amd64 2> /dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
if [ -z "$kpkg" ]; then
  apt-get update -qq > /dev/null 2>&1 || true
  kpkg=$(apt-cache depends linux-image-amd64 2> /dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
fi
[ -n "$kpkg" ] || die "apt-cache depends linux-image-amd64 names no linux-image-<version> package:"
kver=${kpkg#linux-image-}

# The cache key: the kernel package and every input of the image.
key=$( { echo "$kpkg"; cat "$here/build_initramfs.sh" "$here/guest_init.sh" "$here/pattern_fill.cpp" \
  "$here/guest_host.sh" "$here/extract_vmlinux.sh" "$root/nvmetcp/byte_pattern.hpp"; } | sha256sum | cut -c1-16)
if [ -f "$out/vmlinux" ] && [ -f "$out/initramfs.cpio.gz" ] && [ "$(cat "$out/key" 2> /dev/null)" = "$key" ]; then
  say "cached: $out (kernel $kver)"
  exit 0
fi
rm -f "$out/key"

unpacked="$cache/$kpkg"
if [ ! -f "$unpacked/.done" ]; then
  rm -rf "$unpacked" "$cache"/linux-image-*.deb
  say "downloading $kpkg"
  # apt-get download writes into the current directory; as root it warns that the _apt sandbox user
  # cannot write there, which is harmless.
  (cd "$cache" && apt-get download "$kpkg" > "$cache/download.log" 2>&1) ||
    { apt-get update -qq > /dev/null 2>&1; (cd "$cache" && apt-get download "$kpkg" > "$cache/download.log" 2>&1); } ||
    { cat "$cache/download.log"; die "apt-get download $kpkg:"; }
  dpkg-deb -x "$cache/$kpkg"_*.deb "$unpacked" || die "dpkg-deb -x $kpkg:"
  # The package ships no modules.dep (the postinst makes it): make it for the unpacked tree.
  depmod -b "$unpacked" "$kver" || die "depmod on the unpacked $kpkg:"
  rm -f "$cache/$kpkg"_*.deb
  touch "$unpacked/.done"
fi
moddir="$unpacked/lib/modules/$kver"

"$here/extract_vmlinux.sh" "$unpacked/boot/vmlinuz-$kver" "$out/vmlinux.tmp" > /dev/null || die "extracting vmlinux:"

# The modules /init loads, in this order, each after its dependencies (modules.dep). crc32c_generic and
# crc64_rocksoft_generic are crypto algorithms found by name at run time, not symbol dependencies, so
# they are listed before what uses them (nvmet-tcp's digests; t10-pi through crc64-rocksoft).
wanted=(configfs crc32c_generic crc64_rocksoft_generic crc64-rocksoft t10-pi nvmet nvmet-tcp brd
        nvme-tcp virtio_pci virtio_mmio virtio_net sch_netem)
declare -A dep_of=() loaded=()
while IFS= read -r line; do
  dep_of["${line%%:*}"]=${line#*:}
done < "$moddir/modules.dep"
path_of() {  # module name (- and _ alike) -> its path in modules.dep
  local want=${1//-/_} p base
  for p in "${!dep_of[@]}"; do
    base=${p##*/}; base=${base%.ko*}
    [ "${base//-/_}" = "$want" ] && { echo "$p"; return 0; }
  done
  return 1
}
order=()
visit() {
  local p=$1 d
  [ -n "${loaded[$p]:-}" ] && return 0
  loaded[$p]=1
  for d in ${dep_of[$p]}; do visit "$d"; done
  order+=("$p")
}
for m in "${wanted[@]}"; do
  p=$(path_of "$m") || die "module $m is not in $kpkg:"
  visit "$p"
done

stage="$out/stage.$$"
rm -rf "$stage"
trap 'rm -rf "$stage"; rm -f "$out/vmlinux.tmp" "$out/initramfs.tmp"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc/nvmeddp,proc,sys,dev,tmp,lib/modules/"$kver"}
cp /bin/busybox "$stage/bin/busybox"
file -b "$stage/bin/busybox" 2> /dev/null | grep -q "statically linked" ||
  ldd "$stage/bin/busybox" 2>&1 | grep -q "not a dynamic" || die "/bin/busybox is not static (busybox-static):"
for p in "${order[@]}"; do
  mkdir -p "$stage/lib/modules/$kver/$(dirname "$p")"
  cp "$moddir/$p" "$stage/lib/modules/$kver/$p"
  echo "$p" >> "$stage/etc/nvmeddp/modules.load"
done
cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$kver/"
# A modules.dep for what the image holds, so the kernel's own module requests (through busybox
# modprobe) find them too.
depmod -b "$stage" "$kver" || die "depmod on the initramfs tree:"

g++ -std=c++20 -O2 -static -Wall -Wextra -Wpedantic -Wshadow -Werror -I"$root" "$here/pattern_fill.cpp" -o "$stage/usr/bin/pattern_fill" ||
  die "compiling pattern_fill (static):"

# iproute2's ip and tc with the shared libraries they need (busybox ip cannot set gso_max_segs, and
# busybox has no netem).
for tool in ip tc; do
  bin=$(command -v "$tool" || true)
  [ -n "$bin" ] || continue
  cp -L "$bin" "$stage/usr/sbin/$tool"
  for lib in $(ldd "$bin" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
    [ -f "$lib" ] || continue
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  done
done
# /lib64 is a symlink on the host: its loader was copied into a real /lib64 directory, fine as is.

cp "$here/guest_init.sh" "$stage/init"
cp "$here/guest_host.sh" "$stage/etc/nvmeddp/guest_host.sh"
chmod +x "$stage/init"
mknod -m 600 "$stage/dev/console" c 5 1 2> /dev/null || true
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner 0:0 --quiet) | gzip -1 > "$out/initramfs.tmp" ||
  die "packing the initramfs:"
mv "$out/initramfs.tmp" "$out/initramfs.cpio.gz"
mv "$out/vmlinux.tmp" "$out/vmlinux"
echo "$kver" > "$out/kernel-version"
echo "$key" > "$out/key"
say "built $out/vmlinux and $out/initramfs.cpio.gz ($(stat -c %s "$out/initramfs.cpio.gz") bytes; kernel $kver; modules: $(printf '%s ' "${order[@]##*/}"))"
