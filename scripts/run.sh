#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the offload demo (nvmeddp-offload) on its
# embedded default traffic. Arguments are passed to it (see --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" > /dev/null
exec "${NVMEDDP_BUILD_DIR:-$root/build}/apps/nvmeddp-offload" "$@"
