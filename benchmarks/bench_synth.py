"""Throughput of ``dialogkit synth --mode outline`` per shipped scenario, with 1 and 2 workers.

What is timed is what the CLI does between building the generator and writing the file:
``generate_lines`` (dialogs made, checked with validate's rules, near-duplicates dropped,
serialised to JSONL bytes), best of ``--repeat`` runs. Worker start-up (fork) is inside the
timing. Printed per row:

- ``dialogs/s`` and ``x target``: wall clock against the 1,000 dialogs/s target;
- ``per CPU-s``: dialogs per CPU-second of all processes (parent + workers) — what a busy
  shared machine distorts least; ``x 1w`` compares the 2-worker wall rate with 1 worker;
- same-run baselines on the very dialogs produced: ``dump/s``, a plain ``orjson`` dump of
  each dialog (the floor of any generator that writes JSONL), and ``x dump``, how many times
  slower the whole synthesis is than that dump alone.

The output bytes are compared between 1 and 2 workers on every run (they must be equal).

    .venv/bin/python benchmarks/bench_synth.py [--n 2000] [--repeat 3] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import time

import orjson

from dialogkit.synth import SynthReport
from dialogkit.synth.outline import OutlineGenerator, generate_lines
from dialogkit.synth.scenario import load_scenario, shipped_scenarios

TARGET = 1000.0


def cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(gen: OutlineGenerator, n: int, workers: int) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds of every process, the JSONL bytes) of one run."""
    t0, c0 = time.perf_counter(), cpu()
    lines = generate_lines(gen, n, SynthReport(), workers=workers)
    blob = b"".join(line + b"\n" for line in lines)
    return time.perf_counter() - t0, cpu() - c0, blob


def dump_rate(blob: bytes) -> float:
    """Dialogs/s of a plain orjson dump of the same dialogs (decoded once, outside the timing)."""
    dialogs = [orjson.loads(line) for line in blob.splitlines()]
    t0 = time.perf_counter()
    for d in dialogs:
        orjson.dumps(d)
    return len(dialogs) / (time.perf_counter() - t0)


def bench(name: str, n: int, repeat: int, workers: list[int]) -> dict[int, tuple[float, float, float]]:
    gen = OutlineGenerator(load_scenario(name), seed=0)
    generate_lines(gen, 20, SynthReport())  # warm the lazy caches (indexes, compiled schemas) once
    best: dict[int, tuple[float, float, float]] = {}
    blobs: dict[int, bytes] = {}
    for _ in range(repeat):
        for w in workers:  # interleaved, so a burst of load hits every worker count alike
            wall, secs, blob = timed(gen, n, w)
            floor = dump_rate(blob)
            blobs.setdefault(w, blob)
            if blob != blobs[workers[0]]:
                raise SystemExit(f"{name}: output bytes differ between {workers[0]} and {w} workers")
            rate, per_cpu = n / wall, n / secs
            old = best.get(w)
            best[w] = (max(rate, old[0]) if old else rate, max(per_cpu, old[1]) if old else per_cpu,
                       max(floor, old[2]) if old else floor)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", default="1,2", help="comma list of worker counts")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    print(f"{'scenario':<22}{'workers':>8}{'dialogs/s':>10}{'x target':>9}{'per CPU-s':>10}{'x 1w':>6}"
          f"{'dump/s':>9}{'x dump':>8}")
    for name in shipped_scenarios():
        best = bench(name, args.n, args.repeat, workers)
        base = best[workers[0]][0]
        for w, (rate, per_cpu, floor) in best.items():
            print(f"{name:<22}{w:>8}{rate:>10.0f}{rate / TARGET:>9.2f}{per_cpu:>10.0f}{rate / base:>6.2f}"
                  f"{floor:>9.0f}{floor / rate:>8.1f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"n={args.n}, best of {args.repeat}; output bytes identical for workers {args.workers}; "
          f"target {TARGET:.0f} dialogs/s (x target >= 1.00 meets it); load average {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
