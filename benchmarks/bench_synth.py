"""Throughput of ``dialogkit synth --mode outline`` per shipped scenario.

Prints dialogs/s (valid, deduplicated, checked dialogs, serialised to JSONL bytes) and the
ratio to the 1,000 dialogs/s target, by wall clock and per CPU-second of this process (the
second is what a busy shared machine cannot distort much). As a same-run baseline it also times the floor every
generator pays: parsing the produced dialogs with pydantic (``parse_dialog``) and
serialising them, so a slow machine shows up in both numbers.

    .venv/bin/python benchmarks/bench_synth.py [--n 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

from dialogkit.io import dumps
from dialogkit.records import parse_dialog
from dialogkit.synth import SynthReport
from dialogkit.synth.outline import OutlineGenerator, generate
from dialogkit.synth.scenario import load_scenario, shipped_scenarios

TARGET = 1000.0


def bench(name: str, n: int, repeat: int) -> tuple[float, float, float]:
    sc = load_scenario(name)
    best, floor, cpu = 0.0, 0.0, 0.0
    for r in range(repeat):
        gen = OutlineGenerator(sc, seed=r)
        t0, c0 = time.perf_counter(), time.process_time()
        dialogs = generate(gen, n, SynthReport())
        b"".join(dumps(d) + b"\n" for d in dialogs)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best = max(best, len(dialogs) / dt)
        cpu = max(cpu, len(dialogs) / dc)
        t1 = time.perf_counter()
        for d in dialogs:
            parse_dialog(d)
            dumps(d)
        floor = max(floor, len(dialogs) / (time.perf_counter() - t1))
    return best, floor, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'scenario':<22}{'dialogs/s':>10}{'x target':>10}{'per CPU-s':>11}{'x target':>10}"
          f"{'parse+dump/s':>14}{'share':>8}")
    for name in shipped_scenarios():
        rate, floor, cpu = bench(name, args.n, args.repeat)
        print(f"{name:<22}{rate:>10.0f}{rate / TARGET:>10.2f}{cpu:>11.0f}{cpu / TARGET:>10.2f}"
              f"{floor:>14.0f}{rate / floor:>8.2f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"target: {TARGET:.0f} dialogs/s per process (x target >= 1.00 meets it); "
          f"load average {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
