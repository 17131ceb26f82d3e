#!/usr/bin/env python3
"""Checks scripts/bench_report.py on hand-made results (tests/bench/fixture: trimmed Google Benchmark
JSON of bench_nvmetcp, bench_engine and bench_ddp, bench_host_rx absent), without running a benchmark:
the CSV rows (median, not mean; units as the report states them), each goal's verdict ("met", "not
met", "not run") in report.md, and the README update between the markers.

usage: bench_report_test.py PATH/TO/bench_report.py
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = None  # set from argv


def run_report(out_dir, *extra):
    p = subprocess.run([sys.executable, REPORT, out_dir, "--no-plots", *extra],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"bench_report.py failed ({p.returncode}): {p.stderr}")
    return p.stdout


def goal_verdicts(report_md):
    """goal id -> verdict, from the goals table of report.md."""
    verdicts = {}
    for line in report_md.splitlines():
        m = re.match(r"\| (G\d( csum:\d)?) \|.*\| \*\*(met|not met|not run)\*\* \|$", line)
        if m:
            verdicts[m.group(1)] = m.group(3)
    return verdicts


class FixtureRun(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bench_report_test.")
        self.out = os.path.join(self.tmp, "results")
        shutil.copytree(os.path.join(HERE, "fixture"), self.out)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def read(self, name):
        with open(os.path.join(self.out, name)) as f:
            return f.read()

    def edit_runs(self, old, new):
        """Replaces `old` with `new` in runs.tsv (what bench.sh recorded of each program)."""
        path = os.path.join(self.out, "runs.tsv")
        with open(path) as f:
            runs = f.read()
        self.assertIn(old, runs)
        with open(path, "w") as f:
            f.write(runs.replace(old, new))

    def csv_rows(self):
        with open(os.path.join(self.out, "results.csv"), newline="") as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["binary", "benchmark", "args", "metric", "median", "unit", "repetitions", "note"])
        return {(r[0], r[1], r[2], r[3]): r for r in rows[1:]}

    def test_csv_has_one_row_per_benchmark_and_metric_with_the_median(self):
        run_report(self.out)
        rows = self.csv_rows()
        memcpy = rows[("bench_nvmetcp", "BM_Memcpy", "bytes:1448/ws:0", "bytes_per_second")]
        self.assertEqual(float(memcpy[4]), 7.24e10)  # the median aggregate, not the mean (5.8e10)
        self.assertEqual(memcpy[5:7], ["B/s", "3"])
        self.assertEqual(float(rows[("bench_nvmetcp", "BM_Memcpy", "bytes:1448/ws:0", "real_time")][4]), 20.0)
        # A time in us is stated in ns.
        self.assertEqual(float(rows[("bench_nvmetcp", "BM_IsalCrc32c", "bytes:4096", "real_time")][4]), 80.0)
        # Google Benchmark stores an inverted rate in seconds and Gbit/s in bit/s: stated as named.
        ack = rows[("bench_engine", "BM_EngineNonDataPacket", "kind:0", "ns/packet")]
        self.assertAlmostEqual(float(ack[4]), 9.0)
        self.assertEqual(ack[5], "ns")
        eng = rows[("bench_engine", "BM_EnginePlaceAndVerify", "mss:1448/pdu:65536/digest:0/csum:1", "Gbit/s")]
        self.assertAlmostEqual(float(eng[4]), 180.0)
        mem = rows[("bench_ddp", "BM_ConnectionMemory", "queue_depth:128/iterations:1", "bytes_per_connection")]
        self.assertEqual((float(mem[4]), mem[5], mem[6]), (11904.0, "B", "1"))
        skipped = rows[("bench_nvmetcp", "BM_Crc32cCopyOnePass/avx2", "bytes:1448/ws:0", "error")]
        self.assertIn("lacks the instructions of avx2", skipped[7])
        self.assertFalse(any(k[0] == "bench_host_rx" for k in rows))

    def test_goals_say_met_not_met_and_not_run(self):
        stdout = run_report(self.out)
        report = self.read("report.md")
        v = goal_verdicts(report)
        self.assertEqual(v["G1"], "met")             # one pass 36 GB/s vs memcpy + isa-l 18: 2.0x >= 1.3x
        self.assertEqual(v["G2"], "not met")         # 36 vs memcpy 72.4: 0.50x < 0.8x
        self.assertEqual(v["G3 csum:1"], "met")      # 180 vs 200 Gbit/s: 0.9x
        self.assertEqual(v["G3 csum:0"], "not met")  # 140 vs 200: 0.7x
        # The engine's row, with the host's setup + teardown of a read (timed apart) in the last column.
        self.assertIn("| 1448 | 65536 | off | 180.0 | 140.0 | 64.0 | 200.0 | not run | 0.90x | 0.70x | 25.0 |", report)
        self.assertEqual(v["G4"], "not met")         # ACK 9 ns = 0.45x, other flow 12 ns = 0.6x of 20 ns
        self.assertEqual(v["G5"], "met")             # 15 ns = 0.75x
        self.assertEqual(v["G6"], "not run")         # bench_host_rx absent
        self.assertEqual(v["G7"], "not run")
        # Every layer (bench_memory): 273151 B at 1024 connections, not the control plane's 11904 B.
        self.assertEqual(v["G8"], "not met")
        self.assertIn("| G8 | queue depth 128, 1024 connections | 16.67x | 273151 B of 16384 B | < 16 KiB | not met |", report)
        self.assertIn("| 128 | 1024 | 11.6 | 2.9 | 47.5 | 67.2 | 137.5 | 266.7 |", report)
        # The memcpy's repetitions varied by 30% (its cv aggregate): the cases that use it say so.
        self.assertIn("| G4 | data frame of another flow | 0.60x | 12.0 vs 20.0 ns (noisy: cv 30%) | <= 0.5x | not met |", report)
        self.assertIn("| G4 | pure ACK | 0.45x | 9.0 vs 20.0 ns (noisy: cv 30%) | <= 0.5x | met |", report)
        self.assertIn("| G4 | data frame of another connection to the target port | 0.80x | 16.0 vs 20.0 ns", report)
        self.assertIn("| G1 | avx512, 1448 B, in cache | 2.00x | 36.0 vs memcpy + isa-l 18.0 GB/s | >= 1.3x | met |", report)
        self.assertIn("not run: this CPU lacks the instructions of avx2", report)
        self.assertIn("Not run: `bench_host_rx` absent.", report)
        self.assertRegex(report, r"\| bench_host_rx \| not built: not run \|")
        self.assertRegex(report, r"\| copy \+ CRC32C path \| `avx512` \|")
        self.assertRegex(report, r"\| TCP checksum path \| `avx2` \|")
        self.assertRegex(stdout, r"G4\s+not met")
        # End to end (e2e.tsv): off and on side by side, and our TCP against the kernel's; fio's
        # suffixes are read as numbers (250MiB/s against 1.0GiB/s is 0.24x). The host's busy time per
        # GiB off and on, their ratio, the host's own part of it and the port's receive and send calls;
        # a run without them (or before they were measured) shows "-". Each
        # figure is the median of its repetitions (20.0k of 18.0k, 20.0k, 24.0k), marked * when they
        # spread over more than 10% of it (30.0k of 29.0k-30.5k is not).
        self.assertIn("| randread-4k-qd1 | none | 20.0k * | 30.0k | 1.50x | 400.0 * | 300.0 | 0.75x | 200.0 * | 120.0 | 0.60x "
                      "| 50.0 * | 45.0 | 150.0 * | 135.0 | 100.0% | 0 / 0 |", report)
        self.assertIn("Each figure is the median of 3 repetition(s)", report)
        self.assertIn("| read-128k-qd32 | none | 250MiB/s | 300MiB/s | 1.20x | 250.0 | - | - | 100.0 | - | - | 37.5 | - | 112.5 "
                      "| - | 99.0% | 0 / 0 |", report)
        self.assertIn("| read-128k-qd32 | 250MiB/s | 1.0GiB/s | 0.24x |", report)

    def test_host_receive_goals_from_bench_host_rx(self):
        shutil.copy(os.path.join(HERE, "host_rx_sample", "bench_host_rx.json"), self.out)
        self.edit_runs("bench_host_rx\tabsent\t-", "bench_host_rx\tok\t0")
        run_report(self.out)
        report = self.read("report.md")
        v = goal_verdicts(report)
        self.assertEqual(v["G6"], "met")      # host on/off: 0.3/1.2 and 0.35/1.2, both <= 1/3
        self.assertEqual(v["G7"], "not met")  # (0.35 + 0.9)/1.2 > 1 at 128 KiB
        self.assertIn("| G7 | 64 KiB, mss 1448, in cache, without TCP | 0.67x | 0.800 vs 1.200 cycles/B | < 1x | met |", report)

    def test_host_receive_goals_with_tcp_and_lro(self):
        # BM_HostReceiveTcp without LRO (on/off 0.6/1.2) and with the port's LRO (0.3/1.0): each a
        # case of G6 and G7, the LRO rows marked in the host table, the merge's own cost beside it.
        shutil.copy(os.path.join(HERE, "host_rx_tcp_sample", "bench_host_rx.json"), self.out)
        self.edit_runs("bench_host_rx\tabsent\t-", "bench_host_rx\tok\t0")
        run_report(self.out)
        report = self.read("report.md")
        self.assertEqual(goal_verdicts(report)["G6"], "not met")
        self.assertIn("| G6 | 64 KiB, mss 1448, in cache, with TCP | 0.50x | 0.600 vs 1.200 cycles/B | <= 0.33x | not met |", report)
        self.assertIn("| G6 | 64 KiB, mss 1448, in cache, with TCP and the port's LRO | 0.30x | 0.300 vs 1.000 cycles/B "
                      "| <= 0.33x | met |", report)
        self.assertIn("| G7 | 64 KiB, mss 1448, in cache, with TCP and the port's LRO | 0.70x | 0.700 vs 1.000 cycles/B", report)
        self.assertIn("| in cache, LRO | on | 1448 | 64 KiB | 1.000 | 0.300 | 0.400 | 0.700 |", report)
        self.assertIn("in neither column: MSS 1448 0.040-0.040 cycles/B, 20.0-20.0 frames per merged arrival.", report)

    def test_faults_section_says_not_run_ran_or_failed(self):
        # The fixture has no fault table: the section says how to get one.
        run_report(self.out)
        self.assertIn("Not run (`scripts/bench.sh --faults`", self.read("report.md"))
        table = "| faults | R | seed | host copied |\n|---|\n| loss+reorder+duplicate | 0.01 | 1 | 0.080% |\n"
        with open(os.path.join(self.out, "fault_table.md"), "w") as f:
            f.write(table)
        with open(os.path.join(self.out, "runs.tsv"), "a") as f:
            f.write("fault_table\tok\t0\tscripts/fault_table.py --seeds 1 --out x\n")
        run_report(self.out)
        report = self.read("report.md")
        self.assertIn("### Under faults", report)
        self.assertIn("| loss+reorder+duplicate | 0.01 | 1 | 0.080% |", report)
        self.assertRegex(report, r"\| fault_table \| ran \| `scripts/fault_table.py --seeds 1 --out x` \|")
        # A run that failed says so, beside the table it wrote.
        self.edit_runs("fault_table\tok\t0", "fault_table\tfailed\t1")
        run_report(self.out)
        report = self.read("report.md")
        self.assertIn("FAILED (exit code 1): a read wrong or changed by the offload", report)
        self.assertIn("| loss+reorder+duplicate | 0.01 | 1 | 0.080% |", report)
        self.assertRegex(report, r"\| fault_table \| FAILED \(exit code 1\) \|")

    def test_scaling_tables_from_bench_scaling(self):
        def row(name, **counters):
            return dict({"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
                         "repetition_index": 0, "threads": 1, "iterations": 10, "real_time": 1.0e+03,
                         "cpu_time": 1.0e+03, "time_unit": "us", "label": "each thread pinned to a CPU of its own"},
                        **counters)
        # As Google Benchmark writes them: Gbit/s in bit/s, ns/packet inverted (seconds per packet).
        rows = [row("BM_EngineLcores/lcores:1/manual_time", **{"Gbit/s": 100e9}),
                row("BM_EngineLcores/lcores:2/manual_time", **{"Gbit/s": 180e9}),
                row("BM_EngineConnections/connections:1/shared_buffers:0/manual_time", **{"ns/packet": 70e-9, "working_set_MiB": 0.03}),
                row("BM_EngineConnections/connections:1024/shared_buffers:0/manual_time", **{"ns/packet": 280e-9, "working_set_MiB": 33.0}),
                row("BM_EngineConnections/connections:1024/shared_buffers:1/manual_time", **{"ns/packet": 150e-9, "working_set_MiB": 17.0}),
                row("BM_EngineOneConnectionSameBytes/connections:1024/manual_time",
                    **{"ns/packet": 100e-9, "working_set_MiB": 33.0})]
        with open(os.path.join(self.out, "bench_scaling.json"), "w") as f:
            json.dump({"context": {"executable": "build/bench/bench_scaling"}, "benchmarks": rows}, f)
        with open(os.path.join(self.out, "runs.tsv"), "a") as f:
            f.write("bench_scaling\tok\t0\tbuild/bench/bench_scaling\n")
        run_report(self.out)
        report = self.read("report.md")
        self.assertIn("| 2 | 180.0 | 90.0 | 0.90x | each thread pinned to a CPU of its own |", report)
        self.assertIn("| 1024 | 33.0 | 280.0 | 4.00x | 150.0 | 100.0 | 180.0 |", report)
        self.assertIn("| 1 | 0.0 | 70.0 | 1.00x | not run | not run | not run |", report)  # no control measured at 1
        self.assertNotIn("BM_EngineLcores |", report)  # not repeated under "Other benchmarks"

    def test_update_readme_replaces_only_the_text_between_the_markers(self):
        readme = os.path.join(self.tmp, "README.md")
        with open(readme, "w") as f:
            f.write("# x\n\n## Benchmarks\n\n<!-- bench.sh:begin -->\nold figures\n<!-- bench.sh:end -->\n\nprose kept\n")
        run_report(self.out, "--update-readme", readme)
        with open(readme) as f:
            text = f.read()
        self.assertNotIn("old figures", text)
        self.assertTrue(text.startswith("# x\n\n## Benchmarks\n\n<!-- bench.sh:begin -->\n"))
        self.assertTrue(text.endswith("<!-- bench.sh:end -->\n\nprose kept\n"))
        inside = text.split("<!-- bench.sh:begin -->")[1].split("<!-- bench.sh:end -->")[0]
        self.assertEqual(goal_verdicts(inside)["G2"], "not met")
        self.assertNotIn("](", inside)  # no image links: the plots are not committed


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    REPORT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
