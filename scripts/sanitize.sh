#!/usr/bin/env bash
# The suite a second time under AddressSanitizer + UndefinedBehaviorSanitizer (clang), then every
# libFuzzer target for a bounded time from its seed corpus. Fails on any test failure, sanitizer
# report, fuzzer crash or broken invariant. Called by scripts/test.sh.
#
#   FUZZ_SECONDS   seconds per fuzz target (default 60); 0 skips fuzzing
#   NVMEDDP_SANITIZE_BUILD_DIR   build directory (default build-sanitize/)
#
# A crashing input is saved under <build>/fuzz-crashes/<target>/; to keep it as a regression test,
# copy it to tests/fuzz/regressions/<target>/ (the normal suite replays that directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${NVMEDDP_SANITIZE_BUILD_DIR:-$root/build-sanitize}
seconds=${FUZZ_SECONDS:-60}
"$root/scripts/install-deps.sh"

flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
mkdir -p "$build"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNVMEDDP_BUILD_BENCH=OFF -DNVMEDDP_TSAN_TESTS=OFF -DNVMEDDP_FUZZ=ON \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > "$build/configure.log" 2>&1 || {
  cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)"

echo "== unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS="suppressions=$root/scripts/lsan-suppressions.txt:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The interop tests (a qemu guest under TCG, label interop) run once, in the plain build: here they
# would boot the guest again and download a second kernel package for the same host code. The fio
# tests (label fio) too: an instrumented engine cannot be loaded into the installed fio.
(cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 600 -LE 'interop|fio')

if [ "$seconds" -eq 0 ]; then
  echo "== fuzzing skipped (FUZZ_SECONDS=0)"
  exit 0
fi
for target in parser frame engine tcp_receive tcp_connection host_queue lro tx_digest; do
  echo "== fuzz_$target for ${seconds}s"
  work="$build/fuzz-work/$target"
  crashes="$build/fuzz-crashes/$target"
  rm -rf "$work"
  mkdir -p "$work" "$crashes"
  cp "$root/tests/fuzz/corpus/$target/"* "$work/"
  "$build/tests/fuzz/fuzz_$target" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" 2>&1 | tail -n 12 || {
    echo "fuzz_$target FAILED: crashing input(s) in $crashes"; ls -l "$crashes"; exit 1; }
  if [ -n "$(ls -A "$crashes")" ]; then
    echo "fuzz_$target FAILED: crashing input(s) in $crashes"; ls -l "$crashes"; exit 1
  fi
done
echo "sanitize: all tests and fuzz targets passed"
