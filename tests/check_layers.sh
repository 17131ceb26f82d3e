#!/usr/bin/env bash
# Fails when a source file includes a project header of a higher layer (DESIGN.md's layer order).
# The build already cannot find such headers (cmake/Layers.cmake); this names the offence plainly and
# also catches relative "../" includes, which would bypass the include paths.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2

# Layer rank of a project path, the same for a file's path and an include path; lower may not include
# higher. $2 is the rank of anything else (apps and tests are on top; system headers at the bottom).
# The public C headers (include/nvmeddp/*.h) are declarations only and sit below every layer: each
# layer implements its part of the C ABI, and a public header may include no project header.
rank_of() {
  case "$1" in
    include/*|nvmeddp/*) echo 0 ;;
    nvmetcp/host/*|nvmetcp/target/*) echo 8 ;;
    nvmetcp/*) echo 1 ;;
    ddp/*) echo 2 ;;
    pmd/packet/*) echo 3 ;;
    pmd/engine/*) echo 4 ;;
    pmd/net_nvmeddp/*) echo 6 ;;  # the vdev runs the offload (pmd/dpdk) on its own queues
    pmd/*) echo 5 ;;
    tcp/*) echo 7 ;;
    *) echo "$2" ;;
  esac
}

bad=0
checked=0
while IFS= read -r file; do
  checked=$((checked + 1))
  file_rank=$(rank_of "$file" 9)
  while IFS= read -r inc; do
    [ -n "$inc" ] || continue
    if [[ "$inc" == ../* || "$inc" == */../* ]]; then
      echo "layering: $file includes \"$inc\": relative paths across directories are not allowed"
      bad=1
      continue
    fi
    inc_rank=$(rank_of "$inc" 0)
    if [ "$inc_rank" -gt "$file_rank" ]; then
      echo "layering: $file (layer $file_rank) includes \"$inc\" (layer $inc_rank)"
      bad=1
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(find nvmetcp ddp pmd tcp include -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' -o -name '*.c' \) 2>/dev/null | sort)

echo "layering: checked $checked files"
[ "$checked" -gt 0 ] || { echo "layering: no source files found under $root"; exit 1; }
exit $bad
