#!/usr/bin/env python3
"""Turns one scripts/bench.sh run into results.csv, report.md and PNG plots (issue 14).

Reads the Google Benchmark JSON files of a results directory (bench_<name>.json, the median aggregate
of each benchmark, or the single run when there was one repetition), the programs' statuses and
command lines (runs.tsv, written by bench.sh) and the machine's facts (machine.json, collected here on
the first report of a directory so that a later report of the same run states the same machine).
Judges each goal of issue 14 as a ratio of two figures of the same run: "met", "not met", or "not
run" when a figure is missing. Standard library only; the plots are drawn by gnuplot when it is
installed, else skipped saying so.

usage: bench_report.py RESULTS_DIR [--build-dir DIR] [--update-readme README.md]
"""

import argparse
import csv
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

# The programs bench.sh runs; one without results has its figures reported as "not run".
BINARIES = ["bench_nvmetcp", "bench_engine", "bench_ddp", "bench_packet", "bench_host_rx", "bench_host_tx",
            "bench_memory", "bench_scaling"]
CPU_FLAGS = ["sse4_2", "pclmulqdq", "avx2", "avx512f", "avx512bw", "avx512vl", "vpclmulqdq"]
COPY_PATHS = ["avx512_mixed", "avx512", "avx2_mixed", "avx2", "pclmul_mixed", "pclmul", "crc32q"]  # BM_Crc32cCopyOnePass/<path> (avx512-mixed)
VPCLMUL_PATHS = ["avx512_mixed", "avx512", "avx2_mixed", "avx2"]
COPY_BYTES = [1448, 8948, 65536]
ENGINE_MSS = [1448, 8948]
ENGINE_PDU = [4096, 65536, 524288]
HOST_READS = [4096, 32768, 65536, 131072, 524288]
HOST_WRITES = [4096, 32768, 131072, 524288]
README_BEGIN = "<!-- bench.sh:begin -->"
README_END = "<!-- bench.sh:end -->"

# A figure whose repetitions vary more than this (coefficient of variation) is marked noisy.
NOISY_CV = 0.10
TIME_TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


# --- reading the results ----------------------------------------------------------------------------

# What Google Benchmark appends to a name for UseManualTime() / UseRealTime(): not part of it.
TIMING_SUFFIXES = {"manual_time", "real_time", "process_time"}


class Result:
    """One benchmark of one program: its median figures, or the error it stopped with."""

    def __init__(self, binary, run_name):
        self.binary = binary
        self.run_name = run_name
        parts = run_name.split("/")
        names, args = [], {}
        for p in parts:
            if p in TIMING_SUFFIXES:
                continue
            if ":" in p:
                k, v = p.split(":", 1)
                args[k] = v
            elif p.isdigit() and names:
                args[f"arg{len(args)}"] = p
            else:
                names.append(p)
        self.name = "/".join(names)        # the family and capture name: BM_Crc32cCopyOnePass/avx2
        self.args = args                   # named args as text: {"bytes": "1448", "ws": "0"}
        self.metrics = {}                  # metric -> (median, unit)
        self.cv = {}                       # metric -> coefficient of variation over the repetitions
        self.repetitions = 0
        self.error = None
        self.label = ""

    def args_text(self):
        return "/".join(f"{k}:{v}" for k, v in self.args.items())

    def has(self, **want):
        return all(self.args.get(k) == str(v) for k, v in want.items())

    def get(self, metric):
        m = self.metrics.get(metric)
        return None if m is None or self.error else m[0]


def counter_value(name, value):
    """A user counter as the report states it: Google Benchmark stores a rate counter in units per
    second and an inverted rate in seconds, whatever the counter's name says."""
    if name == "Gbit/s":
        return value / 1e9, "Gbit/s"
    if name.startswith("ns/"):
        return value * 1e9, "ns"
    units = {"bytes_per_connection": "B", "host_cyc_per_B": "cycles/B", "engine_cyc_per_B": "cycles/B",
             "host_ns_per_read": "ns", "engine_ns_per_read": "ns", "copied_pct": "%", "ws_MiB": "MiB",
             "PDUs/s": "1/s"}
    return value, units.get(name, "")


FIXED_KEYS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
              "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
              "aggregate_name", "aggregate_unit", "label", "error_occurred", "error_message",
              "bytes_per_second", "items_per_second", "big_o", "rms", "complexity", "skipped"}


def row_metrics(row):
    """The figures of one JSON row: times in ns, rates, user counters."""
    scale = TIME_TO_NS.get(row.get("time_unit", "ns"), 1.0)
    out = {}
    for key in ("real_time", "cpu_time"):
        if key in row:
            out[key] = (row[key] * scale, "ns")
    if "bytes_per_second" in row:
        out["bytes_per_second"] = (row["bytes_per_second"], "B/s")
    if "items_per_second" in row:
        out["items_per_second"] = (row["items_per_second"], "1/s")
    for key, value in row.items():
        if key not in FIXED_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = counter_value(key, float(value))
    return out


def load_binary(path, binary):
    """Results of one program's JSON file, in the file's order, and its context."""
    with open(path) as f:
        data = json.load(f)
    results, order = {}, []
    iterations = {}
    for row in data.get("benchmarks", []):
        run_name = row.get("run_name") or row["name"]
        r = results.get(run_name)
        if r is None:
            r = results[run_name] = Result(binary, run_name)
            order.append(run_name)
        r.repetitions = max(r.repetitions, int(row.get("repetitions", 1)))
        r.label = row.get("label", r.label)
        if row.get("error_occurred"):
            r.error = row.get("error_message") or "error"
            continue
        if row.get("run_type") == "aggregate":
            if row.get("aggregate_name") == "median":
                r.metrics = row_metrics(row)
            elif row.get("aggregate_name") == "cv":
                # A fraction for every figure, whatever its unit (no time scaling).
                r.cv = {k: float(v) for k, v in row.items() if k not in FIXED_KEYS - {"real_time", "bytes_per_second",
                        "items_per_second"} and isinstance(v, (int, float)) and not isinstance(v, bool)}
        else:
            iterations.setdefault(run_name, []).append(row_metrics(row))
    # One repetition (or aggregates not reported): the median of the runs there are.
    for run_name, runs in iterations.items():
        r = results[run_name]
        if r.metrics or r.error:
            continue
        for key in runs[0]:
            values = [m[key][0] for m in runs if key in m]
            r.metrics[key] = (statistics.median(values), runs[0][key][1])
    return [results[n] for n in order], data.get("context", {})


def load_runs(out_dir):
    """runs.tsv: program -> (status, exit code, command line)."""
    runs = {}
    path = os.path.join(out_dir, "runs.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 4:
                    runs[parts[0]] = (parts[1], parts[2], parts[3])
    return runs


class Results:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.runs = load_runs(out_dir)
        self.by_binary = {}
        self.contexts = {}
        self.errors = []
        names = list(BINARIES)
        for f in sorted(os.listdir(out_dir)):
            m = re.fullmatch(r"(bench_\w+)\.json", f)
            if m and m.group(1) not in names:
                names.append(m.group(1))
        for name in names:
            path = os.path.join(out_dir, name + ".json")
            if not os.path.exists(path):
                continue
            try:
                self.by_binary[name], self.contexts[name] = load_binary(path, name)
            except (OSError, ValueError, KeyError) as e:
                self.errors.append(f"{name}.json unreadable: {e}")
        self.binaries = names

    def all(self):
        for name in self.binaries:
            yield from self.by_binary.get(name, [])

    def find(self, binary, name, **args):
        for r in self.by_binary.get(binary, []):
            if r.name == name and r.has(**args):
                return r
        return None

    def value(self, binary, name, metric, **args):
        r = self.find(binary, name, **args)
        return None if r is None else r.get(metric)

    def cv(self, binary, name, metric, **args):
        r = self.find(binary, name, **args)
        return None if r is None else r.cv.get(metric)

    def status(self, binary):
        if binary in self.runs:
            return self.runs[binary][0]
        return "ok" if binary in self.by_binary else "not run"

    def context_value(self, key):
        for name in self.binaries:
            v = self.contexts.get(name, {}).get(key)
            if v is not None:
                return v
        return None


# --- the machine ------------------------------------------------------------------------------------

def command_output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cache_size(level):
    v = command_output(["getconf", f"LEVEL{level}_CACHE_SIZE"])
    if v.isdigit() and int(v) > 0:
        return int(v)
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for idx in sorted(os.listdir(base)):
            with open(os.path.join(base, idx, "level")) as f:
                if f.read().strip() != str(level):
                    continue
            with open(os.path.join(base, idx, "size")) as f:
                s = f.read().strip()
            mult = {"K": 1024, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
            return int(s.rstrip("KMG")) * mult
    except (OSError, ValueError):
        pass
    return None


def collect_machine(build_dir):
    """The facts the report states about the machine and build, at the time of the run."""
    cpuinfo = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
    except OSError:
        pass
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    flags_line = re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M)
    flags = set(flags_line.group(1).split()) if flags_line else set()
    cache = {}
    cache_path = os.path.join(build_dir, "CMakeCache.txt") if build_dir else ""
    if cache_path and os.path.exists(cache_path):
        with open(cache_path) as f:
            for line in f:
                m = re.match(r"(CMAKE_CXX_COMPILER|CMAKE_BUILD_TYPE|NVMEDDP_LTO_STATE):\w+=(.*)", line)
                if m:
                    cache[m.group(1)] = m.group(2).strip()
    compiler = cache.get("CMAKE_CXX_COMPILER", "")
    compiler_version = command_output([compiler, "--version"]).splitlines()[0:1] if compiler else []
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": command_output(["nproc"]) or str(os.cpu_count()),
        "cpu_model": model.group(1).strip() if model else platform.processor() or "unknown",
        "cpu_flags": [f for f in CPU_FLAGS if f in flags],
        "l2_bytes": cache_size(2),
        "l3_bytes": cache_size(3),
        "kernel": platform.release(),
        "dpdk": command_output(["pkg-config", "--modversion", "libdpdk"]) or "unknown",
        "compiler": compiler or "unknown",
        "compiler_version": compiler_version[0] if compiler_version else "unknown",
        "build_type": cache.get("CMAKE_BUILD_TYPE", "unknown"),
        "lto": cache.get("NVMEDDP_LTO_STATE", "unknown"),
    }


def machine_facts(out_dir, build_dir):
    path = os.path.join(out_dir, "machine.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    facts = collect_machine(build_dir)
    with open(path, "w") as f:
        json.dump(facts, f, indent=1)
    return facts


# --- goals ------------------------------------------------------------------------------------------

def noisy_mark(cv):
    """What follows a figure whose repetitions spread by more than NOISY_CV."""
    return f" (noisy: cv {cv:.0%})" if cv is not None and cv > NOISY_CV else ""


class Case:
    """One comparison of a goal: measured / bound, judged against the goal's threshold."""

    def __init__(self, what, num, den, detail_fmt, not_run_why=None, cvs=()):
        self.what = what
        # The largest coefficient of variation of the two figures over the repetitions, when known.
        known = [c for c in cvs if c is not None and c == c]
        self.cv = max(known) if known else None
        self.num = num
        self.den = den
        self.detail_fmt = detail_fmt
        self.not_run_why = not_run_why
        self.ratio = num / den if num is not None and den not in (None, 0) else None

    def detail(self):
        if self.ratio is None:
            return self.not_run_why or "a figure is missing"
        return self.detail_fmt.format(num=self.num, den=self.den) + noisy_mark(self.cv)


class Goal:
    def __init__(self, gid, statement, op, threshold, target_text):
        self.gid = gid
        self.statement = statement
        self.op = op                # ">=", "<=" or "<": ratio op threshold is "met"
        self.threshold = threshold
        self.target_text = target_text
        self.cases = []

    def judge(self, case):
        if case.ratio is None:
            return "not run"
        ok = {">=": case.ratio >= self.threshold, "<=": case.ratio <= self.threshold,
              "<": case.ratio < self.threshold}[self.op]
        return "met" if ok else "not met"

    def measured(self):
        return [c for c in self.cases if c.ratio is not None]

    def verdict(self):
        measured = self.measured()
        if not measured:
            return "not run"
        return "met" if all(self.judge(c) == "met" for c in measured) else "not met"

    def worst(self):
        measured = self.measured()
        if not measured:
            return None
        pick = min if self.op == ">=" else max
        return pick(measured, key=lambda c: c.ratio)


def gbps(v):
    return None if v is None else v / 1e9


def copy_goal_cases(res, goal, paths, bound_name, bound_label):
    cpu_lacks = {}
    for path in paths:
        r = res.find("bench_nvmetcp", f"BM_Crc32cCopyOnePass/{path}")
        if r is not None and r.error:
            cpu_lacks[path] = r.error
    for path in paths:
        for ws in (0, 1):
            for n in COPY_BYTES:
                where = "in cache" if ws == 0 else "out of cache"
                fused = res.find("bench_nvmetcp", f"BM_Crc32cCopyOnePass/{path}", bytes=n, ws=ws)
                bound = res.value("bench_nvmetcp", bound_name, "bytes_per_second", bytes=n, ws=ws)
                why = None
                if fused is not None and fused.error:
                    why = f"not run: {fused.error}"
                elif path in cpu_lacks:
                    why = f"not run: {cpu_lacks[path]}"
                cvs = (fused.cv.get("bytes_per_second") if fused else None,
                       res.cv("bench_nvmetcp", bound_name, "bytes_per_second", bytes=n, ws=ws))
                goal.cases.append(Case(f"{path}, {n} B, {where}", gbps(fused.get("bytes_per_second") if fused else None),
                                       gbps(bound), "{num:.1f} vs " + bound_label + " {den:.1f} GB/s", why, cvs))


def evaluate_goals(res):
    goals = []

    g = Goal("G1", "fused copy + CRC32C vs memcpy then isa-l, per path the CPU has", ">=", 1.3, ">= 1.3x")
    copy_goal_cases(res, g, COPY_PATHS, "BM_CopyThenIsal", "memcpy + isa-l")
    goals.append(g)

    g = Goal("G2", "fused copy + CRC32C vs plain memcpy, VPCLMULQDQ paths", ">=", 0.8, ">= 0.8x")
    copy_goal_cases(res, g, VPCLMUL_PATHS, "BM_Memcpy", "memcpy")
    goals.append(g)

    for csum, who in ((1, "the port checked the TCP checksum (csum:1)"),
                      (0, "the engine verifies the TCP checksum itself (csum:0)")):
        g = Goal(f"G3 csum:{csum}", f"engine without digest vs memcpy of the same packets; {who}", ">=", 0.8, ">= 0.8x")
        for mss in ENGINE_MSS:
            for pdu in ENGINE_PDU:
                eng = res.value("bench_engine", "BM_EnginePlaceAndVerify", "Gbit/s", mss=mss, pdu=pdu, digest=0, csum=csum)
                mem = res.value("bench_engine", "BM_MemcpyIsalPerPacket", "Gbit/s", mss=mss, pdu=pdu, digest=0)
                cvs = (res.cv("bench_engine", "BM_EnginePlaceAndVerify", "Gbit/s", mss=mss, pdu=pdu, digest=0, csum=csum),
                       res.cv("bench_engine", "BM_MemcpyIsalPerPacket", "Gbit/s", mss=mss, pdu=pdu, digest=0))
                g.cases.append(Case(f"mss {mss}, pdu {pdu}, csum:{csum}", eng, mem,
                                    "{num:.1f} vs {den:.1f} Gbit/s", cvs=cvs))
        goals.append(g)

    memcpy_1448 = res.value("bench_nvmetcp", "BM_Memcpy", "real_time", bytes=1448, ws=0)
    memcpy_cv = res.cv("bench_nvmetcp", "BM_Memcpy", "real_time", bytes=1448, ws=0)
    kinds = {0: "pure ACK", 1: "data frame of another flow", 2: "CapsuleResp-only packet, csum:0",
             5: "CapsuleResp-only packet, csum:1",
             3: "data frame of another connection to the target port",
             4: "data frame of another connection to the target port, same port bucket"}
    g = Goal("G4", "a packet with nothing to place vs a 1448-byte memcpy (in cache)", "<=", 0.5, "<= 0.5x")
    for kind in (0, 1, 3):
        ns = res.value("bench_engine", "BM_EngineNonDataPacket", "ns/packet", kind=kind)
        cvs = (res.cv("bench_engine", "BM_EngineNonDataPacket", "ns/packet", kind=kind), memcpy_cv)
        g.cases.append(Case(kinds[kind], ns, memcpy_1448, "{num:.1f} vs {den:.1f} ns", cvs=cvs))
    goals.append(g)
    g = Goal("G5", "a CapsuleResp-only packet vs a 1448-byte memcpy (in cache)", "<=", 1.0, "<= 1x")
    for kind in (5, 2):  # the port checked the TCP checksum (csum:1), or the engine does (csum:0)
        ns = res.value("bench_engine", "BM_EngineNonDataPacket", "ns/packet", kind=kind)
        cvs = (res.cv("bench_engine", "BM_EngineNonDataPacket", "ns/packet", kind=kind), memcpy_cv)
        g.cases.append(Case(kinds[kind], ns, memcpy_1448, "{num:.1f} vs {den:.1f} ns", cvs=cvs))
    goals.append(g)

    # Judged on the path with the host's TCP in front (BM_HostReceiveTcp, in cache), as the issue
    # defines the host's receive path; without TCP (BM_HostReceive) where that was not run.
    g6 = Goal("G6", "host cost with offload on vs off, reads >= 64 KiB with data digest, the host's TCP included", "<=", 1 / 3, "<= 0.33x")
    g7 = Goal("G7", "engine + host with offload on vs host alone with offload off (same reads)", "<", 1.0, "< 1x")
    with_tcp = any(r.name == "BM_HostReceiveTcp" for r in res.by_binary.get("bench_host_rx", []))
    # With the port's LRO (lro:1) beside the frames as sent (lro:0), each a case of its own.
    variants = [("BM_HostReceiveTcp", {"lro": 0}, "in cache, with TCP"),
                ("BM_HostReceiveTcp", {"lro": 1}, "in cache, with TCP and the port's LRO")] if with_tcp else \
        [("BM_HostReceive", {"ws": 0}, "in cache, without TCP"), ("BM_HostReceive", {"ws": 1}, "out of cache, without TCP")]
    for name, extra, where in variants:
        for mss in ENGINE_MSS:
            for read in (r for r in HOST_READS if r >= 65536):
                on = res.find("bench_host_rx", name, read=read, mss=mss, digest=1, offload=1, **extra)
                off = res.find("bench_host_rx", name, read=read, mss=mss, digest=1, offload=0, **extra)
                host_on = on.get("host_cyc_per_B") if on else None
                eng_on = on.get("engine_cyc_per_B") if on else None
                host_off = off.get("host_cyc_per_B") if off else None
                what = f"{read // 1024} KiB, mss {mss}, {where}"
                cvs = (on.cv.get("host_cyc_per_B") if on else None, off.cv.get("host_cyc_per_B") if off else None)
                g6.cases.append(Case(what, host_on, host_off, "{num:.3f} vs {den:.3f} cycles/B", cvs=cvs))
                both = host_on + eng_on if host_on is not None and eng_on is not None else None
                g7.cases.append(Case(what, both, host_off, "{num:.3f} vs {den:.3f} cycles/B", cvs=cvs))
    goals += [g6, g7]

    # Every layer's state (bench_memory): the control plane alone (bench_ddp's figure) is not the goal.
    g = Goal("G8", "memory per connection at queue depth 128, every layer (ddp, engine, host queue, DdpReceive, TCP)",
             "<", 1.0, "< 16 KiB")
    for conns in MEMORY_CONNECTIONS:
        b = res.value("bench_memory", "BM_MemoryPerConnection", "total_B", queue_depth=128, connections=conns)
        g.cases.append(Case(f"queue depth 128, {conns} connections", b, 16384.0 if b is not None else None,
                            "{num:.0f} B of 16384 B", None if b is not None else "bench_memory absent or failed"))
    goals.append(g)
    return goals


# --- tables -----------------------------------------------------------------------------------------

def fmt(v, digits=1):
    if v is None:
        return "not run"
    if abs(v) >= 1000 and digits <= 1:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio_text(r):
    return "not run" if r is None else f"{r:.2f}x"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # A "|" in a cell would end it: escaped (one already escaped, as in a shell-quoted command, stays).
    lines += ["| " + " | ".join(re.sub(r"(?<!\\)\|", r"\\|", str(c)) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def goals_section(goals):
    rows = []
    for g in goals:
        w = g.worst()
        measured = g.measured()
        met = sum(1 for c in measured if g.judge(c) == "met")
        not_run = len(g.cases) - len(measured)
        cases = f"{met} of {len(measured)} met" + (f", {not_run} not run" if not_run else "")
        rows.append([g.gid, g.statement, g.target_text,
                     f"{ratio_text(w.ratio)} ({w.what})" if w else "not run", cases, f"**{g.verdict()}**"])
    noisy = sum(1 for g in goals for c in g.cases if c.cv is not None and c.cv > NOISY_CV)
    out = ["### Goals (issue 14), each a ratio of two figures of this run", "",
           "Each figure is the median of the repetitions. A verdict covers the cases measured; "
           f"{noisy} case(s) below are marked noisy (a figure's repetitions varied by more than "
           f"{NOISY_CV:.0%}: the machine had other work, see the load average above).", "",
           table(["goal", "what", "goal", "worst case measured", "cases", "verdict"], rows), ""]
    detail = []
    for g in goals:
        if not g.measured():
            detail.append([g.gid, f"all {len(g.cases)} cases", "not run", "no figures in this run", g.target_text, "not run"])
            continue
        for c in g.cases:
            detail.append([g.gid, c.what, ratio_text(c.ratio), c.detail(), g.target_text, g.judge(c)])
    out += ["<details><summary>Every case of every goal</summary>", "",
            table(["goal", "case", "ratio", "figures", "goal", "verdict"], detail), "", "</details>", ""]
    return out


def copy_section(res, default_path):
    out = ["### Copy + CRC32C per path (`bench_nvmetcp`, GB/s, one call of `bytes`)", ""]
    # The benchmark names a path as crc32c_copy_select() does, with '_' for '-' (a C++ identifier).
    paths = [f"`{p}`" + (" (default)" if p == (default_path or "").replace("-", "_") else "") for p in COPY_PATHS]
    rows = []
    for ws in (0, 1):
        for n in COPY_BYTES:
            row = ["in cache" if ws == 0 else "out of cache", n]
            row.append(fmt(gbps(res.value("bench_nvmetcp", "BM_Memcpy", "bytes_per_second", bytes=n, ws=ws))))
            row.append(fmt(gbps(res.value("bench_nvmetcp", "BM_CopyThenIsal", "bytes_per_second", bytes=n, ws=ws))))
            for p in COPY_PATHS:
                r = res.find("bench_nvmetcp", f"BM_Crc32cCopyOnePass/{p}", bytes=n, ws=ws)
                if r is None:
                    r = res.find("bench_nvmetcp", f"BM_Crc32cCopyOnePass/{p}")
                row.append("CPU lacks it" if r is not None and r.error else fmt(gbps(r.get("bytes_per_second") if r else None)))
            rows.append(row)
    out += [table(["working set", "bytes", "memcpy", "memcpy + isa-l"] + paths, rows), ""]
    return out


def engine_section(res):
    out = ["### Offload engine per packet (`bench_engine`, Gbit/s of PDU data)", "",
           "csum:1: the port checked the TCP checksum; csum:0: the engine verifies it itself. The bound: "
           "memcpy (+ isa-l with digest) of each packet's data bytes; per PDU: one call each per PDU. "
           "The engine's figures are the receive alone; the host's registration and teardown of each read "
           "(its calls, counted in the host's figure in `bench_host_rx`) are timed apart, in the last column "
           "(two clock reads a round included).", ""]
    rows = []
    for mss in ENGINE_MSS:
        for pdu in ENGINE_PDU:
            for digest in (0, 1):
                e1 = res.value("bench_engine", "BM_EnginePlaceAndVerify", "Gbit/s", mss=mss, pdu=pdu, digest=digest, csum=1)
                e0 = res.value("bench_engine", "BM_EnginePlaceAndVerify", "Gbit/s", mss=mss, pdu=pdu, digest=digest, csum=0)
                ns = res.value("bench_engine", "BM_EnginePlaceAndVerify", "ns/packet", mss=mss, pdu=pdu, digest=digest, csum=1)
                pp = res.value("bench_engine", "BM_MemcpyIsalPerPacket", "Gbit/s", mss=mss, pdu=pdu, digest=digest)
                pd = res.value("bench_engine", "BM_MemcpyIsalPerPdu", "Gbit/s", mss=0, pdu=pdu, digest=digest)
                r1 = e1 / pp if e1 is not None and pp else None
                r0 = e0 / pp if e0 is not None and pp else None
                regs = res.value("bench_engine", "BM_EnginePlaceAndVerify", "host_regs_ns_per_read", mss=mss, pdu=pdu,
                                 digest=digest, csum=1)
                rows.append([mss, pdu, "on" if digest else "off", fmt(e1), fmt(e0), fmt(ns), fmt(pp), fmt(pd),
                             ratio_text(r1), ratio_text(r0), fmt(regs)])
    out += [table(["mss", "pdu", "digest", "engine csum:1", "engine csum:0", "ns/packet (csum:1)",
                   "bound per packet", "per PDU", "engine/bound csum:1", "engine/bound csum:0",
                   "host's setup + teardown, ns a read (csum:1)"], rows), ""]
    return out


def nondata_section(res):
    memcpy_1448 = res.value("bench_nvmetcp", "BM_Memcpy", "real_time", bytes=1448, ws=0)
    out = ["### Packets with nothing to place (`bench_engine`)", ""]
    rows = []
    for kind, what, goal in ((0, "pure ACK of an offloaded flow", "<= 0.5x"),
                             (1, "a 1448-byte data frame of another flow (a port no offloaded peer uses)", "<= 0.5x"),
                             (3, "a 1448-byte data frame of another connection to the target port (another port bucket)", "<= 0.5x"),
                             (4, "as 3, from a local port in an offloaded connection's bucket (about N in 256 "
                                 "of them with N offloaded; looked up, not found)", "(not judged)"),
                             (5, "one CapsuleResp, the port checked the TCP checksum (csum:1)", "<= 1x"),
                             (2, "one CapsuleResp, the engine verifies the TCP checksum (csum:0)", "<= 1x")):
        ns = res.value("bench_engine", "BM_EngineNonDataPacket", "ns/packet", kind=kind)
        rows.append([kind, what, fmt(ns), ratio_text(ns / memcpy_1448 if ns is not None and memcpy_1448 else None), goal])
    rows.append(["", "memcpy of 1448 bytes, in cache (`bench_nvmetcp`)", fmt(memcpy_1448), "1.00x", ""])
    out += [table(["kind", "packet", "ns/packet", "x memcpy 1448 B", "goal"], rows), ""]
    return out


def host_rows(res, name, extra_keys):
    """Rows of one host receive benchmark: for each (extra args, digest, mss, read), off and on."""
    rows = []
    for extra in extra_keys:
        for digest in (1, 0):
            for mss in ENGINE_MSS:
                for read in HOST_READS:
                    on = res.find("bench_host_rx", name, read=read, mss=mss, digest=digest, offload=1, **extra)
                    off = res.find("bench_host_rx", name, read=read, mss=mss, digest=digest, offload=0, **extra)
                    if on is None and off is None:
                        continue
                    h_on = on.get("host_cyc_per_B") if on else None
                    e_on = on.get("engine_cyc_per_B") if on else None
                    h_off = off.get("host_cyc_per_B") if off else None
                    both = h_on + e_on if h_on is not None and e_on is not None else None
                    where = ("in cache" if extra.get("ws", 0) == 0 else "out of cache") + \
                        (", LRO" if extra.get("lro", 0) == 1 else "")
                    rows.append([where, "on" if digest else "off", mss,
                                 f"{read // 1024} KiB", fmt(h_off, 3), fmt(h_on, 3), fmt(e_on, 3), fmt(both, 3),
                                 ratio_text(h_on / h_off if h_on is not None and h_off else None),
                                 ratio_text(both / h_off if both is not None and h_off else None),
                                 fmt(on.get("copied_pct") if on else None)])
    return rows


def host_section(res):
    out = ["### Host receive path (`bench_host_rx`, cycles per byte of read data)", ""]
    if res.status("bench_host_rx") != "ok":
        out += [f"Not run: `bench_host_rx` {res.status('bench_host_rx')}.", ""]
        return out
    header = ["working set", "digest", "mss", "read", "host, offload off", "host, offload on", "engine",
              "host + engine", "on/off", "(host + engine)/off", "copied % (on)"]
    rows = host_rows(res, "BM_HostReceiveTcp", [{"lro": 0}, {"lro": 1}])
    if rows:
        out += ["With the host's TCP in front (`BM_HostReceiveTcp`: tcp::Connection input, in-order delivery, "
                "ACKs, then the queue); \"LRO\": the port merged each burst's in-order frames first (net_nvmeddp's "
                "software LRO, as the host's `--lro` asks), alike with the offload off and on:", "", table(header, rows), ""]
        lro = [r for r in res.by_binary.get("bench_host_rx", [])
               if r.name == "BM_HostReceiveTcp" and r.has(lro=1) and r.get("lro_cyc_per_B") is not None]
        if lro:
            # Per MSS, over the cases whose bursts had frames to merge: a read that fits one frame
            # has none, and its cost (the merge's look at each frame) would blur the range.
            parts = []
            for mss in sorted({r.args.get("mss") for r in lro}, key=lambda m: int(m) if m and m.isdigit() else 0):
                merged = [r for r in lro if r.args.get("mss") == mss and (r.get("frames_per_arrival") or 0) > 1]
                if not merged:
                    continue
                cost = [r.get("lro_cyc_per_B") for r in merged]
                per = [r.get("frames_per_arrival") for r in merged]
                parts.append(f"MSS {mss} {min(cost):.3f}-{max(cost):.3f} cycles/B, "
                             f"{min(per):.1f}-{max(per):.1f} frames per merged arrival")
            single = len(lro) - sum(1 for r in lro if (r.get("frames_per_arrival") or 0) > 1)
            out += ["The merge itself, the port's work (a NIC's where it has LRO), is in neither column: "
                    + ("; ".join(parts) if parts else "no case had frames to merge")
                    + (f" ({single} case(s) with nothing to merge left out)" if single and parts else "") + ".", ""]
    rows = host_rows(res, "BM_HostReceive", [{"ws": 0}, {"ws": 1}])
    if rows:
        out += ["From in-order payload on (`BM_HostReceive`: the queue alone), in cache and over twice the L3:", "",
                table(header, rows), ""]
    return out


def host_write_section(res):
    """The write path: data digests computed by the host (in one pass with its copy) or by the device."""
    out = ["### Host write path (`bench_host_tx`, cycles per byte of write data)", ""]
    if res.status("bench_host_tx") != "ok":
        out += [f"Not run: `bench_host_tx` {res.status('bench_host_tx')}.", ""]
        return out
    rows = []
    for mss in ENGINE_MSS:
        for write in HOST_WRITES:
            none = res.find("bench_host_tx", "BM_HostWriteTcp", write=write, mss=mss, digest=0, offload=0)
            host = res.find("bench_host_tx", "BM_HostWriteTcp", write=write, mss=mss, digest=1, offload=0)
            dev = res.find("bench_host_tx", "BM_HostWriteTcp", write=write, mss=mss, digest=1, offload=1)
            if none is None and host is None and dev is None:
                continue
            h_none = none.get("host_cyc_per_B") if none else None
            h_host = host.get("host_cyc_per_B") if host else None
            h_dev = dev.get("host_cyc_per_B") if dev else None
            d_dev = dev.get("device_cyc_per_B") if dev else None
            rows.append([mss, f"{write // 1024} KiB", fmt(h_none, 3), fmt(h_host, 3), fmt(h_dev, 3), fmt(d_dev, 3),
                         ratio_text(h_dev / h_host if h_dev is not None and h_host else None),
                         ratio_text(h_dev / h_none if h_dev is not None and h_none else None)])
    if rows:
        out += ["`BM_HostWriteTcp`: writes through the host's TCP to a controller that checks every data digest; "
                "the host computes the digests in one pass with its copy into mbufs, or leaves them to the device "
                "(transmit digests), whose tx callback is timed apart.", "",
                table(["mss", "write", "host, no digest", "host, digest by host", "host, digest by device", "device",
                       "by device / by host", "by device / no digest"], rows), ""]
    return out


SCALING_CONNECTIONS = (1, 64, 1024, 4096, 16384)


def scaling_section(res):
    """bench_scaling: the engine over 1..N lcores, and over many connections on one queue beside the
    same bytes on one connection."""
    out = []
    one = res.value("bench_scaling", "BM_EngineLcores", "Gbit/s", lcores=1)
    rows = []
    for r in res.by_binary.get("bench_scaling", []):
        if r.name != "BM_EngineLcores":
            continue
        n = int(r.args.get("lcores", "0") or 0)
        if r.error:
            rows.append([n, "skipped: " + r.error, "", "", ""])
            continue
        g = r.get("Gbit/s")
        rows.append([n, fmt(g) + noisy_mark(r.cv.get("Gbit/s")), fmt(g / n if g is not None and n else None),
                     ratio_text(g / (n * one) if g is not None and one and n else None), r.label])
    if rows:
        out += ["### The engine over 1..N lcores (`bench_scaling`, Gbit/s of PDU data)", "",
                "Each lcore a thread pinned to a CPU of its own, polling its own queue of one device with one "
                "connection: MSS 1448, 64 KiB reads with data digests, the port having checked the checksum. "
                "Scaling: the lcores' sum against that many times one lcore's figure.", "",
                table(["lcores", "Gbit/s", "per lcore", "scaling", "threads"], rows), ""]
    rows = []
    base = res.value("bench_scaling", "BM_EngineConnections", "ns/packet", connections=1, shared_buffers=0)
    for k in SCALING_CONNECTIONS:
        many = res.find("bench_scaling", "BM_EngineConnections", connections=k, shared_buffers=0)
        shared = res.find("bench_scaling", "BM_EngineConnections", connections=k, shared_buffers=1)
        ctrl = res.find("bench_scaling", "BM_EngineOneConnectionSameBytes", connections=k)
        if many is None and ctrl is None:
            continue
        m = many.get("ns/packet") if many else None
        c = ctrl.get("ns/packet") if ctrl else None
        ws = (many or ctrl).get("working_set_MiB")
        rows.append([k, fmt(ws), fmt(m) + noisy_mark(many.cv.get("ns/packet") if many else None),
                     ratio_text(m / base if m is not None and base else None),
                     fmt(shared.get("ns/packet") if shared else None) + noisy_mark(shared.cv.get("ns/packet") if shared else None),
                     fmt(c) + noisy_mark(ctrl.cv.get("ns/packet") if ctrl else None),
                     fmt(m - c if m is not None and c is not None else None)])
    if rows:
        out += ["### The engine over many connections on one queue (`bench_scaling`, ns per packet)", "",
                "K connections, each receiving a 16 KiB read with a data digest (MSS 1448, 12 packets), their "
                "packets interleaved one by one; beside it the same K reads, frames and buffers on one connection. "
                "Only the engine's processing is timed. The difference is what K connections' own state costs "
                "(classifier entries, engines, control-plane objects, registrations, and buffers written in "
                "their interleaved order); with one buffer shared by every connection (a diagnostic: it stays "
                "in the cache), what is left is the connections' own state.", "",
                table(["connections", "frames + buffers MiB", "K connections", "x one connection",
                       "K connections, one shared buffer", "same bytes, one connection", "difference"], rows), ""]
    return out


MEMORY_CONNECTIONS = (1, 64, 1024, 4096, 65536)
MEMORY_LAYERS = (("ddp_B", "ddp"), ("engine_B", "engine"), ("host_queue_B", "host queue"),
                 ("ddp_receive_B", "DdpReceive"), ("tcp_B", "TCP"), ("total_B", "total"))


def memory_section(res):
    lines = []
    rows = []
    for r in res.by_binary.get("bench_memory", []):
        if r.name == "BM_MemoryPerConnection":
            rows.append([r.args.get("queue_depth", "?"), r.args.get("connections", "?")] +
                        [fmt(r.get(m) / 1024 if r.get(m) is not None else None) for m, _ in MEMORY_LAYERS])
    if rows:
        lines += ["### Memory per connection, every layer (`bench_memory`, KiB)", "",
                  "Heap bytes each layer's per-connection state holds (the engine's tables shared by `connections`, "
                  "divided among them); mbufs are the port's pool's and not counted.", "",
                  table(["queue depth", "connections"] + [name for _, name in MEMORY_LAYERS], rows), ""]
    rows = []
    for r in res.by_binary.get("bench_ddp", []):
        if r.name == "BM_ConnectionMemory":
            b = r.get("bytes_per_connection")
            rows.append([r.args.get("queue_depth", "?"), fmt(b, 0), fmt(b / 1024 if b is not None else None)])
    if rows:
        lines += ["### Memory per connection, control plane only (`bench_ddp`)", "",
                  table(["queue depth", "bytes per connection", "KiB"], rows), ""]
    return lines


E2E_FIGURES = ("read_iops", "read_bw", "placed", "digests_device", "digests_host", "usr", "sys", "busy_ms_per_gib",
               "port_rx_ms_per_gib", "port_tx_ms_per_gib", "host_ms_per_gib")


def e2e_value(text):
    """A figure of e2e.tsv as a number (fio's suffixes, a trailing %), or None ('-', empty)."""
    return fio_number((text or "").rstrip("%"))


def e2e_median(reps):
    """One row from a (config, job)'s repetitions: each figure the median one as it was written (the
    lower middle of an even count), and its spread (max - min over the median) under '<figure>_spread'."""
    merged = dict(reps[0])
    for field in E2E_FIGURES:
        known = sorted((e2e_value(r.get(field)), r.get(field)) for r in reps if e2e_value(r.get(field)) is not None)
        if not known:
            merged[field] = "-"
            continue
        mid = known[(len(known) - 1) // 2]
        merged[field] = mid[1]
        merged[field + "_spread"] = (known[-1][0] - known[0][0]) / mid[0] if mid[0] else 0.0
    merged["reps"] = len(reps)
    return merged


def read_e2e(out_dir):
    """e2e.tsv (scripts/bench_e2e.sh): {(config, job): row, the median of its repetitions}, and the
    configurations and jobs in order. A file without a rep column is one repetition."""
    path = os.path.join(out_dir, "e2e.tsv")
    reps, configs, jobs = {}, [], []
    if not os.path.exists(path):
        return {}, configs, jobs
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            reps.setdefault((r["config"], r["job"]), []).append(r)
            if r["config"] not in configs:
                configs.append(r["config"])
            if r["job"] not in jobs:
                jobs.append(r["job"])
    return {key: e2e_median(rs) for key, rs in reps.items()}, configs, jobs


def fio_number(text):
    """fio's figures with their suffix (12.3k IOPS, 48.0MiB/s, 1.2GiB/s) as plain numbers (MiB/s for
    bandwidth); None for '-'."""
    m = re.fullmatch(r"([0-9.]+)([kKMG]?)(i?B/s)?", text or "")
    if not m:
        return None
    v = float(m.group(1))
    if m.group(3):  # bandwidth: to MiB/s
        return v * {"": 1 / 1048576, "k": 1 / 1024, "K": 1 / 1024, "M": 1, "G": 1024}[m.group(2)]
    return v * {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]


def e2e_section(out_dir, runs):
    rows, configs, jobs = read_e2e(out_dir)
    status = runs.get("bench_e2e", (None, None, ""))
    if not rows:
        if status[0] == "failed":
            return ["### End to end (`scripts/bench_e2e.sh`)", "", "FAILED: see its logs in the results directory.", ""]
        return ["### End to end", "", "Not run (`scripts/bench.sh --e2e`: fio against the built-in target over a veth pair, root).", ""]

    def ratio(a, b):
        x, y = fio_number(a), fio_number(b)
        return f"{y / x:.2f}x" if x and y is not None else "-"

    def figure(r, field):  # the median, marked when its repetitions spread over more than 10% of it
        text = r.get(field) or "-"
        return text + " *" if r.get(field + "_spread", 0.0) > 0.10 else text

    most_reps = max(r["reps"] for r in rows.values())
    pinning_path = os.path.join(out_dir, "e2e_pinning.txt")
    pinning = open(pinning_path).read().strip() if os.path.exists(pinning_path) else "not recorded"

    lines = ["### End to end (`scripts/bench_e2e.sh`: fio, our engine, the built-in target over a veth pair)", "",
             "One job thread; IOPS for the 4 KiB jobs, bandwidth for 128 KiB. Host and target share this "
             "machine's CPUs and the kernel's veth, so the offload's saving on the host shows only where the "
             "host is the bottleneck. The fio job thread polls, so fio's CPU figure for it is always near "
             "100%. Busy is that thread's time in calls into "
             "the host that did work (frames arrived or sent, a completion, a command submitted; "
             "`apps/fio/lcore_time.h`) per GiB read, split into the port's receive calls that returned frames (the software device runs "
             "in them when the offload is on: a NIC would take that part), its send calls (af_packet's: the "
             "kernel's send, in which the veth also runs the target's receive) and the host's own work (TCP, "
             "NVMe/TCP, the copies and digests the offload takes off it). "
             f"Each figure is the median of {most_reps} repetition(s), the configurations run in turn; * marks "
             f"one whose repetitions spread over more than 10% of it. CPUs: {pinning}.", ""]
    out_rows = []
    for digest in ("none", "data"):
        off, on = f"ours-off-{digest}", f"ours-on-{digest}"
        if (off, jobs[0]) not in rows and (on, jobs[0]) not in rows:
            continue
        for job in jobs:
            a, b = rows.get((off, job), {}), rows.get((on, job), {})
            metric = "read_bw" if "128k" in job else "read_iops"
            out_rows.append([job, digest, figure(a, metric), figure(b, metric), ratio(a.get(metric), b.get(metric)),
                             figure(a, "busy_ms_per_gib"), figure(b, "busy_ms_per_gib"),
                             ratio(a.get("busy_ms_per_gib"), b.get("busy_ms_per_gib")),
                             figure(a, "host_ms_per_gib"), figure(b, "host_ms_per_gib"),
                             ratio(a.get("host_ms_per_gib"), b.get("host_ms_per_gib")),
                             figure(a, "port_rx_ms_per_gib"), figure(b, "port_rx_ms_per_gib"),
                             figure(a, "port_tx_ms_per_gib"), figure(b, "port_tx_ms_per_gib"), b.get("placed", "-"),
                             f"{b.get('digests_device', '-')} / {b.get('digests_host', '-')}"])
    lines += [table(["job", "data digest", "offload off", "offload on", "on/off", "busy ms/GiB off", "on", "on/off",
                     "of it host off", "on", "on/off", "port receive off", "on", "port send off", "on",
                     "read bytes placed (on)", "digests device / host (on)"], out_rows), ""]
    kernel = "kernel-off-none"
    if any(c == kernel for c in configs):
        krows = []
        for job in jobs:
            metric = "read_bw" if "128k" in job else "read_iops"
            ours, k = rows.get(("ours-off-none", job), {}), rows.get((kernel, job), {})
            krows.append([job, figure(ours, metric), figure(k, metric), ratio(k.get(metric), ours.get(metric))])
        lines += ["Our TCP's receive path against the kernel's, on the same veth (offload off, no digest):", "",
                  table(["job", "our TCP (DPDK, af_packet)", "kernel TCP", "ours / kernel"], krows), ""]
    return lines


def faults_section(out_dir, runs):
    """Issue 16's figures under the fault shim (scripts/fault_table.py, run by bench.sh --faults)."""
    status = runs.get("fault_table", (None, None, ""))
    path = os.path.join(out_dir, "fault_table.md")
    title = "### Under faults (`scripts/fault_table.py`: issue 16's goals, the offload demo off and on)"
    if status[0] == "failed":
        return [title, "", f"FAILED (exit code {status[1]}): a read wrong or changed by the offload, or the demo did not "
                "answer; see fault_table.log in the results directory.", ""] + (
                    [open(path).read().rstrip(), ""] if os.path.exists(path) else [])
    if not os.path.exists(path):
        return ["### Under faults", "", "Not run (`scripts/bench.sh --faults`: the offload demo under the fault shim, root).", ""]
    return [title, "", "Host-copied bytes against the copy floor (read data no device could place: it came only "
            "before its PDU's header), data digests the device verified, every read checked against the same "
            "run without the offload.", "", open(path).read().rstrip(), ""]


AREA_NAMES = {"BM_Memcpy", "BM_CopyThenIsal", "BM_EnginePlaceAndVerify", "BM_MemcpyIsalPerPacket",
              "BM_MemcpyIsalPerPdu", "BM_EngineNonDataPacket", "BM_HostReceive", "BM_HostReceiveTcp", "BM_ConnectionMemory",
              "BM_MemoryPerConnection", "BM_EngineLcores", "BM_EngineConnections", "BM_EngineOneConnectionSameBytes"}


def other_section(res):
    rows = []
    for r in res.all():
        if r.name in AREA_NAMES or r.name.startswith("BM_Crc32cCopyOnePass"):
            continue
        if r.error:
            rows.append([r.binary, r.name, r.args_text(), "skipped: " + r.error, ""])
            continue
        extra = []
        for k, (v, unit) in r.metrics.items():
            if k in ("real_time", "cpu_time"):
                continue
            if unit in ("B/s",):
                extra.append(f"{v / 1e9:.1f} GB/s")
            elif unit == "1/s":
                extra.append(f"{v / 1e6:.2f} M{k.replace('items_per_second', 'items')}/s".replace("/s/s", "/s"))
            else:
                extra.append(f"{k} {v:.3g}")
        rows.append([r.binary, r.name, r.args_text(), fmt(r.get("real_time")), ", ".join(extra)])
    if not rows:
        return []
    return ["### Other benchmarks", "", table(["program", "benchmark", "args", "ns", "figures"], rows), ""]


# --- CSV --------------------------------------------------------------------------------------------

def write_csv(res, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["binary", "benchmark", "args", "metric", "median", "unit", "repetitions", "note"])
        for r in res.all():
            if r.error:
                w.writerow([r.binary, r.name, r.args_text(), "error", "", "", r.repetitions, r.error])
                continue
            for metric, (value, unit) in r.metrics.items():
                w.writerow([r.binary, r.name, r.args_text(), metric, f"{value:.6g}", unit, r.repetitions, r.label])


# --- plots ------------------------------------------------------------------------------------------

def gnuplot_terminal(gnuplot):
    probe = subprocess.run([gnuplot, "-e", "set terminal pngcairo"], capture_output=True, text=True)
    return "pngcairo size 1000,{h} font ',10'" if probe.returncode == 0 and not probe.stderr.strip() else "png size 1000,{h}"


def write_plot(out_dir, name, data, script, gnuplot, terminal, height):
    dat = os.path.join(out_dir, name + ".dat")
    gp = os.path.join(out_dir, name + ".gp")
    png = name + ".png"
    with open(dat, "w") as f:
        f.write(data)
    with open(gp, "w") as f:
        f.write(f"set terminal {terminal.format(h=height)}\nset output '{png}'\n" + script)
    p = subprocess.run([gnuplot, os.path.basename(gp)], cwd=out_dir, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        print(f"bench_report: gnuplot failed on {gp}: {p.stderr.strip()}", file=sys.stderr)
        return None
    return png


def has_values(rows, col):
    return any(row[col] is not None for row in rows)


def data_line(label, values, digits=3):
    return f"{label} " + " ".join("NaN" if v is None else f"{v:.{digits}f}" for v in values)


def plot_copy(res, out_dir, gnuplot, terminal):
    series = [("memcpy", "BM_Memcpy"), ("memcpy + isa-l", "BM_CopyThenIsal")] + \
             [(f"one pass {p}", f"BM_Crc32cCopyOnePass/{p}") for p in COPY_PATHS]
    blocks, panels = [], []
    for ws in (0, 1):
        rows = [[gbps(res.value("bench_nvmetcp", b, "bytes_per_second", bytes=n, ws=ws)) for _, b in series]
                for n in COPY_BYTES]
        blocks.append("\n".join(data_line(n, row) for n, row in zip(COPY_BYTES, rows)) + "\n\n\n")
        # Only the series this run measured: a key entry without a line would read as a figure.
        plots = [f"'copy_crc.dat' index {ws} using 1:{i + 2} with linespoints lc {i + 1} lw 2 title '{title}'"
                 for i, (title, _) in enumerate(series) if has_values(rows, i)]
        if plots:
            panels.append(f"set title '{'in cache' if ws == 0 else 'out of cache (working set > L3)'}'\n"
                          "plot " + ", \\\n     ".join(plots) + "\n")
    if not panels:
        return None, "copy + CRC32C: no figures in this run"
    script = (f"set multiplot layout 1,{len(panels)} title 'Copy + CRC32C per path and its baselines: GB/s against bytes per call'\n"
              "set xlabel 'bytes per call'\nset ylabel 'GB/s'\nset logscale x 2\nset xrange [1024:131072]\n"
              "set xtics (1448, 8948, 65536)\nset key below\nset grid\nset yrange [0:*]\n"
              + "".join(panels) + "unset multiplot\n")
    return write_plot(out_dir, "copy_crc", "".join(blocks), script, gnuplot, terminal, 500), None


def plot_engine(res, out_dir, gnuplot, terminal):
    blocks, panels = [], []
    for digest in (0, 1):
        labels, rows = [], []
        for mss in ENGINE_MSS:
            for pdu in ENGINE_PDU:
                labels.append(f'"{mss}/{pdu // 1024}K"')
                rows.append([res.value("bench_engine", "BM_EnginePlaceAndVerify", "Gbit/s", mss=mss, pdu=pdu, digest=digest, csum=1),
                             res.value("bench_engine", "BM_EnginePlaceAndVerify", "Gbit/s", mss=mss, pdu=pdu, digest=digest, csum=0),
                             res.value("bench_engine", "BM_MemcpyIsalPerPacket", "Gbit/s", mss=mss, pdu=pdu, digest=digest)])
        blocks.append("\n".join(data_line(l, row) for l, row in zip(labels, rows)) + "\n\n\n")
        titles = ["engine, port checked the TCP checksum", "engine verifies the TCP checksum",
                  "memcpy + isa-l per packet" if digest else "memcpy per packet"]
        # gnuplot refuses a histogram series without a point: only the series this run measured.
        plots = [f"'engine.dat' index {digest} using {i + 2}{':xtic(1)' if not k else ''} lc {i + 1} title '{t}'"
                 for k, (i, t) in enumerate((i, t) for i, t in enumerate(titles) if has_values(rows, i))]
        if plots:
            panels.append(f"set title 'data digest {'on' if digest else 'off'}'\nplot " + ", ".join(plots) + "\n")
    if not panels:
        return None, "engine: no figures in this run"
    script = (f"set multiplot layout {len(panels)},1 title 'Offload engine: Gbit/s of PDU data per mss / PDU size'\n"
              "set style data histogram\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
              "set ylabel 'Gbit/s'\nset grid ytics\nset yrange [0:*]\nset key outside right\n"
              + "".join(panels) + "unset multiplot\n")
    return write_plot(out_dir, "engine", "".join(blocks), script, gnuplot, terminal, 400 * len(panels)), None


def plot_host(res, out_dir, gnuplot, terminal):
    if res.status("bench_host_rx") != "ok":
        return None, f"host receive path: bench_host_rx {res.status('bench_host_rx')}"
    blocks, panels, index = [], [], 0
    for mss in ENGINE_MSS:
        plots = []
        for name, extra, where, dash in (("BM_HostReceive", {"ws": 0}, "in cache", ""),
                                         ("BM_HostReceive", {"ws": 1}, "out of cache", " dt 2"),
                                         ("BM_HostReceiveTcp", {"lro": 0}, "with TCP, in cache", " dt 3"),
                                         ("BM_HostReceiveTcp", {"lro": 1}, "with TCP and LRO, in cache", " dt 4")):
            rows = []
            for read in HOST_READS:
                on = res.find("bench_host_rx", name, read=read, mss=mss, digest=1, offload=1, **extra)
                off = res.find("bench_host_rx", name, read=read, mss=mss, digest=1, offload=0, **extra)
                h_off = off.get("host_cyc_per_B") if off else None
                h_on = on.get("host_cyc_per_B") if on else None
                e_on = on.get("engine_cyc_per_B") if on else None
                rows.append([h_off, h_on, h_on + e_on if h_on is not None and e_on is not None else None])
            blocks.append("\n".join(data_line(r, row, 4) for r, row in zip(HOST_READS, rows)) + "\n\n\n")
            for i, title in enumerate(("offload off", "offload on", "offload on + engine")):
                if has_values(rows, i):
                    plots.append(f"'host.dat' index {index} using 1:{i + 2} with linespoints lc {i + 1} lw 2{dash} "
                                 f"title '{title}, {where}'")
            index += 1
        if plots:
            panels.append(f"set title 'mss {mss}'\nplot " + ", \\\n     ".join(plots) + "\n")
    if not panels:
        return None, "host receive path: no BM_HostReceive figures with data digest in this run"
    script = (f"set multiplot layout 1,{len(panels)} title 'Host receive path, data digest on: cycles per byte against read size'\n"
              "set xlabel 'read bytes'\nset ylabel 'cycles/B'\nset logscale x 2\nset xrange [2048:1048576]\n"
              "set xtics ('4K' 4096, '32K' 32768, '64K' 65536, '128K' 131072, '512K' 524288)\n"
              "set grid\nset yrange [0:*]\nset key top right\n" + "".join(panels) + "unset multiplot\n")
    return write_plot(out_dir, "host", "".join(blocks), script, gnuplot, terminal, 550), None


def make_plots(res, out_dir):
    """PNG files written, and messages for the plots not drawn."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return [], ["gnuplot is not installed (Debian: gnuplot-nox): no plots"]
    terminal = gnuplot_terminal(gnuplot)
    pngs, skipped = [], []
    for title, fn in (("Copy + CRC32C per path against buffer size", plot_copy),
                      ("Offload engine throughput per packet size and PDU", plot_engine),
                      ("Host cycles per byte against read size, offload on and off", plot_host)):
        png, why = fn(res, out_dir, gnuplot, terminal)
        if png:
            pngs.append((title, png))
        elif why:
            skipped.append(why)
        else:
            skipped.append(f"{title}: gnuplot failed")
    return pngs, skipped


# --- report -----------------------------------------------------------------------------------------

def mib(v):
    return "unknown" if not v else (f"{v / (1 << 20):.0f} MiB" if v >= 1 << 20 else f"{v // 1024} KiB")


def render(res, machine, goals, pngs, skipped, out_dir, for_readme):
    default_path = res.context_value("crc32c_copy_path")
    default_reason = res.context_value("crc32c_copy_reason")
    l4_path = res.context_value("l4_checksum_path")
    date = machine.get("date", "unknown")
    out = [f"Generated by `scripts/bench.sh` ({date}); results: `{out_dir}`.", ""]
    flags = machine.get("cpu_flags", [])
    lacking = [f for f in CPU_FLAGS if f not in flags]
    lib_type = res.context_value("library_build_type")
    facts = [
        ["date", date],
        ["CPU", f"{machine.get('cpu_model', 'unknown')}, `nproc` {machine.get('nproc', '?')}"],
        ["CPU flags", " ".join(flags) + (f" (lacks: {' '.join(lacking)})" if lacking else "")],
        ["caches", f"L2 {mib(machine.get('l2_bytes'))}, L3 {mib(machine.get('l3_bytes'))}"],
        ["kernel", machine.get("kernel", "unknown")],
        ["load average at each program's start", ", ".join(
            f"{b} {res.contexts[b]['load_avg'][0]:.2f}" for b in res.binaries
            if isinstance(res.contexts.get(b, {}).get("load_avg"), list) and res.contexts[b]["load_avg"]) or "unknown"],
        ["copy + CRC32C path", (f"`{default_path}`" + (f": {default_reason}" if default_reason else ""))
         if default_path else "unknown (no bench_nvmetcp or bench_engine results)"],
        ["TCP checksum path", f"`{l4_path}`" if l4_path else "unknown (no bench_engine or bench_packet results)"],
        ["DPDK", machine.get("dpdk", "unknown")],
        ["compiler", f"{machine.get('compiler_version', 'unknown')} (`{machine.get('compiler', '?')}`)"],
        ["build type", machine.get("build_type", "unknown") +
         f", link-time optimisation {machine.get('lto', 'unknown')}" +
         (f"; Google Benchmark library built as {lib_type}" if lib_type else "")],
    ]
    out += [table(["machine", ""], facts), ""]
    out += goals_section(goals)
    out += copy_section(res, default_path)
    out += engine_section(res)
    out += nondata_section(res)
    out += host_section(res)
    out += host_write_section(res)
    out += memory_section(res)
    out += scaling_section(res)
    out += e2e_section(res.out_dir, res.runs)
    out += faults_section(res.out_dir, res.runs)
    out += other_section(res)
    out += ["### Plots", ""]
    for title, png in pngs:
        out.append(f"- {title}: `{png}`, written to `{out_dir}`" if for_readme else f"![{title}]({png})")
    out += [f"- not drawn: {why}" for why in skipped]
    out += ["", "### Programs and command lines", ""]
    rows = []
    for b in res.binaries + [s for s in ("bench_e2e", "fault_table") if s in res.runs]:
        status = res.status(b)
        cmd = res.runs.get(b, (None, None, ""))[2]
        rows.append([b, {"ok": "ran", "absent": "not built: not run", "no-match": "no benchmark matched: not run",
                         "failed": f"FAILED (exit code {res.runs.get(b, ('', '?', ''))[1]})"}.get(status, status),
                     f"`{cmd}`" if cmd else ""])
    out += [table(["program", "status", "command line"], rows), ""]
    out += [f"Unreadable results: {e}" for e in res.errors]
    return "\n".join(out).rstrip() + "\n"


def update_readme(path, text):
    with open(path) as f:
        readme = f.read()
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin < 0 or end < begin:
        raise SystemExit(f"bench_report: {path} has no {README_BEGIN} ... {README_END} markers")
    readme = readme[:begin + len(README_BEGIN)] + "\n" + text + readme[end:]
    with open(path, "w") as f:
        f.write(readme)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--build-dir", default="", help="the build directory (its CMakeCache.txt names the compiler)")
    ap.add_argument("--update-readme", metavar="README", help="put the report between the README's bench.sh markers")
    ap.add_argument("--no-plots", action="store_true", help="do not draw the plots (tests)")
    a = ap.parse_args()
    out_dir = os.path.abspath(a.out_dir)
    res = Results(out_dir)
    machine = machine_facts(out_dir, a.build_dir)
    goals = evaluate_goals(res)
    write_csv(res, os.path.join(out_dir, "results.csv"))
    pngs, skipped = ([], ["--no-plots"]) if a.no_plots else make_plots(res, out_dir)
    for why in skipped:
        print(f"bench_report: plot skipped: {why}", file=sys.stderr)
    # The directory as the reader finds it: relative to where the report was made (bench.sh: the
    # repository's root) when it is below it.
    shown_dir = os.path.relpath(out_dir) if not os.path.relpath(out_dir).startswith("..") else out_dir
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(render(res, machine, goals, pngs, skipped, shown_dir, for_readme=False))
    if a.update_readme:
        update_readme(a.update_readme, render(res, machine, goals, pngs, skipped, shown_dir, for_readme=True))
    print("goal        verdict   worst case")
    for g in goals:
        w = g.worst()
        print(f"{g.gid:11} {g.verdict():9} {ratio_text(w.ratio) + ' ' + w.what if w else ''}  ({g.target_text}: {g.statement})")
    for e in res.errors:
        print(f"bench_report: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
