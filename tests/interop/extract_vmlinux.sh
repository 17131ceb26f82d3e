#!/usr/bin/env bash
# Extracts the ELF kernel image (vmlinux) from a compressed x86 bzImage (vmlinuz), so qemu can boot it
# directly through its PVH entry point, which is faster under TCG than the bzImage's real-mode setup
# and self-decompression.
#
# A bzImage holds its kernel as one compressed payload after the setup code. This finds each place
# where a known compressor's magic number occurs, decompresses from there and keeps the first result
# that starts with the ELF magic: the magic bytes can also occur by chance inside the setup code or the
# payload, and such false starts decompress to nothing or to garbage.
#
# usage: extract_vmlinux.sh <vmlinuz> <vmlinux output>
set -euo pipefail
in=${1:?usage: extract_vmlinux.sh <vmlinuz> <vmlinux output>}
out=${2:?usage: extract_vmlinux.sh <vmlinuz> <vmlinux output>}
[ -r "$in" ] || { echo "extract_vmlinux: cannot read $in"; exit 1; }

# Each entry: the magic as a grep -P byte pattern, then the command that decompresses one stream from
# stdin (trailing bytes after the stream are ignored or only make the tool complain at the end).
formats=(
  '\xfd\x37\x7a\x58\x5a\x00|xz -dc --single-stream'
  '\x28\xb5\x2f\xfd|zstd -dcq'
  '\x1f\x8b\x08|gzip -dcq'
  '\x02\x21\x4c\x18|lz4 -dcq'
  '\x5d\x00\x00\x00|xz -dc --format=lzma'
  '\x42\x5a\x68|bzip2 -dcq'
)
tmp="$out.partial"
trap 'rm -f "$tmp"' EXIT
for entry in "${formats[@]}"; do
  magic=${entry%%|*}
  decompress=${entry#*|}
  command -v "${decompress%% *}" > /dev/null || continue
  while IFS=: read -r offset _; do
    # Decompression errors at the end of the stream are expected (the bytes after it are not part of
    # it); whether the output is a kernel is decided by its ELF header alone.
    tail -c "+$((offset + 1))" "$in" | $decompress > "$tmp" 2> /dev/null || true
    if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
      mv "$tmp" "$out"
      echo "extract_vmlinux: ${decompress%% *} payload at byte $offset -> $out ($(stat -c %s "$out") bytes)"
      exit 0
    fi
  done < <(LC_ALL=C grep -obUaP "$magic" "$in" || true)
done
echo "extract_vmlinux: no compressed ELF kernel found in $in"
exit 1
