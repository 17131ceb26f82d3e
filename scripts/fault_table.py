#!/usr/bin/env python3
"""The offload under the fault shim's faults (issue 16's goals), seed by seed.

Runs build/apps/nvmeddp-offload with the offload off and on (--offload both) for every fault set,
fault rate and seed given, the rate applied alike to each fault of the set (no lying peer unless
--lying), and writes a markdown table: what the host copied against the copy floor (read data no
device could place: it came only before its PDU's header), the share of data digests the device
verified, and whether every read ended right and the same as without the offload. Then, per set and
rate, how many seeds meet each goal. Exits 1 when a run fails (a read wrong or changed by the
offload), never because a goal is missed: the goals are reported, not asserted.

The default sets are issue 16's faults (loss, reordering, duplication) and the same with wire
corruption added (frames whose checksum the receiver rejects: more loss, and bytes a device must
not follow).

  scripts/fault_table.py [--build-dir build] [--sets loss+reorder+duplicate,loss+reorder+duplicate+wire-corrupt]
                         [--rates 0.002,0.01] [--seeds 1-10] [--lying P] [--out FILE]
                         [--update-readme README.md]

--update-readme replaces the text between the README's fault-table markers with the table.
"""
import argparse
import os
import re
import subprocess
import sys
import time

COPY_GOAL = 0.1       # host-copied bytes, percent of the read data: below
VERIFIED_GOAL = 99.0  # data digests the device verified, percent: at least

BEGIN = "<!-- fault-table begin (scripts/fault_table.py --update-readme) -->"
END = "<!-- fault-table end -->"


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            seeds.extend(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise argparse.ArgumentTypeError("no seeds")
    return seeds


def parse_rates(text):
    rates = [float(r) for r in text.split(",") if r]
    if not rates or any(not 0 <= r < 1 for r in rates):
        raise argparse.ArgumentTypeError("rates are probabilities in [0, 1)")
    return rates


ON_BLOCK = re.compile(r"^offload on: .*?(?=^offload on vs off|^nvmeddp-offload:|\Z)", re.M | re.S)
COPIED = re.compile(r"host copied\s+(\d+) bytes .*?\((\d+) bytes\) no device could place")
PLACED = re.compile(r"device placed\s+(\d+) bytes")
DIGESTS = re.compile(r"host computed\s+(\d+) data digests .*?device verified (\d+)")


FAULTS = ("loss", "reorder", "duplicate", "wire-corrupt")  # the demo's options, in its order
DEFAULT_SETS = "loss+reorder+duplicate,loss+reorder+duplicate+wire-corrupt"


def parse_sets(text):
    sets = []
    for part in text.split(","):
        kinds = tuple(k for k in part.split("+") if k)
        unknown = [k for k in kinds if k not in FAULTS]
        if not kinds or unknown:
            raise argparse.ArgumentTypeError(f"a fault set is kinds joined by '+', of {', '.join(FAULTS)}: {part!r}")
        if len(set(kinds)) != len(kinds):
            raise argparse.ArgumentTypeError(f"a fault named twice in {part!r}")
        sets.append(tuple(k for k in FAULTS if k in kinds))
    return sets


def fault_args(kinds, rate):
    """Every fault option of the demo: the set's at `rate`, the others 0 (the demo's defaults may differ)."""
    args = []
    for k in FAULTS:
        args += [f"--{k}", str(rate) if k in kinds else "0"]
    return args


def set_name(kinds):
    return "+".join(kinds)


def run_one(binary, kinds, rate, seed, lying, timeout):
    cmd = [binary, "--offload", "both", "--quiet", *fault_args(kinds, rate), "--lying", str(lying), "--seed", str(seed)]
    started = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"cmd": cmd, "ok": False, "why": f"no answer in {timeout} s"}
    out = p.stdout
    block = ON_BLOCK.search(out)
    c = COPIED.search(block.group(0)) if block else None
    pl = PLACED.search(block.group(0)) if block else None
    d = DIGESTS.search(block.group(0)) if block else None
    if p.returncode not in (0, 1) or not (c and pl and d):
        return {"cmd": cmd, "ok": False, "why": f"exit {p.returncode}, output not understood: {(p.stderr or out)[-300:]}"}
    copied, floor, placed = int(c.group(1)), int(c.group(2)), int(pl.group(1))
    computed, verified = int(d.group(1)), int(d.group(2))
    data = copied + placed
    return {
        "cmd": cmd,
        "ok": p.returncode == 0 and "every read as it must be" in out,
        "why": "" if p.returncode == 0 else "a read wrong or changed by the offload (exit 1)",
        "copied": 100.0 * copied / data if data else 0.0,
        "floor": 100.0 * floor / data if data else 0.0,
        "verified": 100.0 * verified / (verified + computed) if verified + computed else 100.0,
        "computed": computed,
        "digests": verified + computed,
        "seconds": time.monotonic() - started,
    }


def table(results, sets, rates, seeds, lying, binary):
    lines = []
    lines.append(f"`{os.path.relpath(binary)} --offload both --loss R --reorder R --duplicate R --wire-corrupt R "
                 f"--lying {lying:g} --seed S`, R 0 for a fault not in the set (8 connections, 384 reads of "
                 "4 KiB..256 KiB, data digests):")
    lines.append("")
    lines.append("| faults | R | seed | host copied | floor | above floor | device verified | reads |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for kinds in sets:
        for rate in rates:
            for seed in seeds:
                r = results[(kinds, rate, seed)]
                if "copied" not in r:
                    lines.append(f"| {set_name(kinds)} | {rate:g} | {seed} | | | | | **failed**: {r['why']} |")
                    continue
                reads = "all right, as without offload" if r["ok"] else f"**failed**: {r['why']}"
                lines.append(f"| {set_name(kinds)} | {rate:g} | {seed} | {r['copied']:.3f}% | {r['floor']:.3f}% | "
                             f"{r['copied'] - r['floor']:.3f} | "
                             f"{r['verified']:.1f}% ({r['digests'] - r['computed']} of {r['digests']}) | {reads} |")
    lines.append("")
    lines.append(f"| faults | R | host copied < {COPY_GOAL:g}% | floor < {COPY_GOAL:g}% | device verified >= {VERIFIED_GOAL:g}% "
                 "| most copied | most above floor | every read right |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for kinds in sets:
        for rate in rates:
            rs = [results[(kinds, rate, s)] for s in seeds if "copied" in results[(kinds, rate, s)]]
            n = len(seeds)
            copy_met = sum(1 for r in rs if r["copied"] < COPY_GOAL)
            floor_below = sum(1 for r in rs if r["floor"] < COPY_GOAL)
            ver_met = sum(1 for r in rs if r["verified"] >= VERIFIED_GOAL)
            most = max((r["copied"] for r in rs), default=0.0)
            above = max((r["copied"] - r["floor"] for r in rs), default=0.0)
            right = sum(1 for s in seeds if results[(kinds, rate, s)]["ok"])
            lines.append(f"| {set_name(kinds)} | {rate:g} | {copy_met} of {n} seeds | {floor_below} of {n} | {ver_met} of {n} | "
                         f"{most:.3f}% | {above:.3f} points | {right} of {n} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--sets", type=parse_sets, default=parse_sets(DEFAULT_SETS),
                    help=f"fault sets, comma-separated, each kinds joined by '+' (default {DEFAULT_SETS})")
    ap.add_argument("--rates", type=parse_rates, default=parse_rates("0.002,0.01"))
    ap.add_argument("--seeds", type=parse_seeds, default=parse_seeds("1-10"))
    ap.add_argument("--lying", type=float, default=0.0)
    ap.add_argument("--timeout", type=int, default=300, help="seconds per run (default 300)")
    ap.add_argument("--out", help="write the table here too")
    ap.add_argument("--update-readme", metavar="README", help="replace the README's fault-table section")
    a = ap.parse_args()

    binary = os.path.join(a.build_dir, "apps", "nvmeddp-offload")
    if not os.access(binary, os.X_OK):
        print(f"fault_table.py: {binary} not found: build first (scripts/build.sh)", file=sys.stderr)
        return 2
    results = {}
    total = len(a.sets) * len(a.rates) * len(a.seeds)
    for kinds in a.sets:
        for rate in a.rates:
            for seed in a.seeds:
                r = run_one(binary, kinds, rate, seed, a.lying, a.timeout)
                results[(kinds, rate, seed)] = r
                done = len(results)
                summary = (f"copied {r['copied']:.3f}% (floor {r['floor']:.3f}%), verified {r['verified']:.1f}%"
                           if "copied" in r else r["why"])
                print(f"fault_table.py: [{done}/{total}] {set_name(kinds)} {rate:g} seed {seed}: {summary}"
                      f"{'' if r['ok'] else ' FAILED'}", file=sys.stderr)
    text = table(results, a.sets, a.rates, a.seeds, a.lying, binary)
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    if a.update_readme:
        with open(a.update_readme) as f:
            readme = f.read()
        if BEGIN not in readme or END not in readme:
            print(f"fault_table.py: {a.update_readme} has no fault-table markers", file=sys.stderr)
            return 2
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(a.update_readme, "w") as f:
            f.write(head + BEGIN + "\n" + text + END + tail)
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
