# Sourced by the benchmark scripts: the one CPU a benchmark program runs on (under taskset).
# A process left to the scheduler lands on either vCPU of a VM, and they need not run at one speed
# (on the 2-vCPU Zen 5 VMs here vCPU 0 ran the same benchmark 1.4-1.7x slower than vCPU 1).
#
# choose_bench_cpu WHO REQUESTED: prints REQUESTED when this shell may run on it, the last CPU it
# may run on when REQUESTED is empty; otherwise says why on stderr (prefixed WHO) and returns 2.
choose_bench_cpu() {
  local who=$1 requested=$2 allowed
  command -v taskset > /dev/null || { echo "$who: taskset not found (apt-get install util-linux)" >&2; return 1; }
  if [ -n "$requested" ] && ! [[ "$requested" =~ ^[0-9]+$ ]]; then
    echo "$who: --cpu needs a CPU number, not '$requested'" >&2; return 2
  fi
  allowed=$(python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0)))))') || return 1
  [ -n "$requested" ] || requested=${allowed##* }
  if [[ " $allowed " != *" $requested "* ]]; then
    echo "$who: --cpu $requested: not one of the CPUs this shell may use ($allowed)" >&2; return 2
  fi
  echo "$requested"
}
