#!/usr/bin/python3
"""Reads Google Benchmark JSON and prints min/median/max of Full/<alg> over Raw/<alg>, repetition by repetition.

    /usr/bin/python3 bench/ratio.py results.json
Uses CPU time (the machine is shared; wall time counts other people's work). Repetition i of Full is paired with
repetition i of Raw (with random interleaving both ran in the same stretch of time, so noise hits both alike).
"""
import json
import statistics
import sys

with open(sys.argv[1]) as f:
    report = json.load(f)
times = {}
for b in report["benchmarks"]:
    if b.get("run_type") != "iteration" or b.get("error_occurred"):
        continue
    times.setdefault(b["run_name"], {})[b.get("repetition_index", 0)] = b["cpu_time"]
    unit = b["time_unit"]

print(f"\n{'alg':<6} {'full median':>12} {'raw median':>12} {'ratio min':>10} {'ratio median':>13} {'ratio max':>10}")
for alg in ("RS256", "ES256", "EdDSA"):
    full, raw = times.get(f"Full/{alg}"), times.get(f"Raw/{alg}")
    if not full or not raw:
        continue
    ratios = sorted(full[i] / raw[i] for i in full if i in raw)
    print(f"{alg:<6} {statistics.median(full.values()):>9.1f} {unit} {statistics.median(raw.values()):>9.1f} {unit}"
          f" {ratios[0]:>10.3f} {statistics.median(ratios):>13.3f} {ratios[-1]:>10.3f}")
