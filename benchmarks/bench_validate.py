"""Validation speed: ``dialogkit validate`` (full rules) against baselines in the same run.

Data: ``../shared/bench/make_data.py`` (OpenAI-format 2 KB zh/en dialogs with tool calls),
converted to dialogkit form with the ``openai`` reader. Baselines on the same lines: orjson
parsing alone, the pydantic model ``dialogkit.schema.Dialog`` (``model_validate_json``) and
the ``jsonschema`` package with the Dialog JSON Schema. Goal: full rules in one process at
>= 0.5 x the speed of plain orjson parsing; ``--workers`` scales across cores; peak RSS stays
flat as the file grows (``--scale``).

Usage: python benchmarks/bench_validate.py [--n 20000] [--workers 2] [--scale 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DIALOGKIT_SHARED", ROOT.parent / "shared"))


def make_data(n: int, folder: Path) -> Path:
    """``n`` bench dialogs in dialogkit form (make_data.py output, read with the openai reader)."""
    from dialogkit.formats import read_raw
    from dialogkit.records import parse_dialog
    from dialogkit.schema import dump

    script = SHARED / "bench" / "make_data.py"
    if not script.is_file():
        sys.exit(f"{script} not found: set DIALOGKIT_SHARED to the shared folder")
    raw = folder / f"openai_{n}.jsonl"
    subprocess.run([sys.executable, str(script), str(n), str(raw)], check=True)
    out = folder / f"dialogkit_{n}.jsonl"
    with out.open("wb") as f:
        for r in read_raw(raw, "openai"):
            f.write(orjson.dumps(dump(parse_dialog(r.data))) + b"\n")
    raw.unlink()
    return out


def best_rate(fn, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def interleaved(fns: dict[str, Callable[[], object]], n: int, repeat: int) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Best rate of each function, timed in rounds (one call of each per round), and each round's times."""
    best = dict.fromkeys(fns, float("inf"))
    rounds = []
    for _ in range(repeat):
        times = {}
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name] = time.perf_counter() - t
            best[name] = min(best[name], times[name])
        rounds.append(times)
    return {k: n / v for k, v in best.items()}, rounds


# VmHWM, not ru_maxrss: on Linux ru_maxrss keeps the forked parent's size across exec.
_RSS_SCRIPT = """
import re, resource, sys, time
from dialogkit.validate import ValidateConfig, validate_file
t = time.perf_counter()
n = [0]
s = validate_file(sys.argv[1], ValidateConfig(), workers=int(sys.argv[2]), on_issue=lambda i: n.__setitem__(0, n[0] + 1))
try:
    kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
except OSError:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(kb, time.perf_counter() - t, s.dialogs)
"""


def child_rss_mb(path: Path, workers: int) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process running validate on ``path`` (issues streamed, not kept)."""
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path), str(workers)], check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) / 1024, float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scale", type=int, default=0, help="also measure peak RSS on a file this many times larger")
    args = ap.parse_args()

    from jsonschema import Draft202012Validator

    from dialogkit.schema import Dialog, json_schemas
    from dialogkit.validate import ValidateConfig, validate_file

    with tempfile.TemporaryDirectory() as tmp:
        path = make_data(args.n, Path(tmp))
        lines = path.read_bytes().splitlines()
        n = len(lines)
        mb = sum(map(len, lines)) / 1e6
        print(f"data: {n} dialogs, {mb / n * 1e6:.0f} bytes each on average ({mb:.1f} MB), cores: {os.cpu_count()}")

        summary = {}

        def run(workers: int, disabled: frozenset[str] = frozenset()) -> None:
            summary.update(validate_file(path, ValidateConfig(disabled=disabled), workers=workers).to_dict())

        full_name, orjson_name = "dialogkit validate, full rules, 1 process", "orjson parse"
        no_pii = frozenset({"PII_EMAIL", "PII_PHONE", "PII_ID_CN", "PII_ID_US", "PII_BANK_CARD", "PII_IP"})
        # The goal compares validate with orjson parsing (as ../shared/bench/limit_validate.py
        # does: parse every line and keep the objects). On a shared machine the load changes
        # within a run, so the two are timed back to back in each round, best of the rounds.
        rates, rounds = interleaved({
            orjson_name: lambda: [orjson.loads(x) for x in lines],
            full_name: lambda: run(1),
        }, n, args.repeat)
        full = dict(summary)
        rates["orjson parse, objects dropped (strict)"] = best_rate(lambda: [orjson.loads(x) and None for x in lines], n, args.repeat)
        rates["pydantic Dialog.model_validate_json"] = best_rate(lambda: [Dialog.model_validate_json(x) for x in lines], n, args.repeat)
        validator = Draft202012Validator(json_schemas()["dialog.schema.json"])
        objs = [orjson.loads(x) for x in lines[:2000]]
        rates["jsonschema (pre-parsed, 2000)"] = best_rate(lambda: [validator.is_valid(o) for o in objs], len(objs), 1)
        rates["dialogkit validate, without PII, 1 process"] = best_rate(lambda: run(1, no_pii), n, args.repeat)
        if args.workers > 1:
            import resource

            cpu0, kids0 = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
            rates[f"dialogkit validate, full rules, --workers {args.workers}"] = best_rate(lambda: run(args.workers), n, args.repeat)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            parent_cpu = time.process_time() - cpu0
            workers_cpu = (kids.ru_utime + kids.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
            cpu_note = (f"--workers {args.workers}: parent {parent_cpu:.1f} CPU-s (duplicates, merging), "
                        f"workers {workers_cpu:.1f} CPU-s (reading, parsing, rules), over {args.repeat} runs")

        base = rates[orjson_name]
        print(f"\n{'':48s} {'dialogs/s':>10s} {'MB/s':>7s} {'vs orjson':>9s}")
        for name, rate in rates.items():
            print(f"{name:48s} {rate:>10.0f} {rate * mb / n:>7.1f} {rate / base:>8.2f}x")
        codes = ", ".join(f"{k} {v['count']}" for k, v in full["by_code"].items())
        print(f"\nfull-rules result: {full['dialogs']} dialogs, {full['clean']} without errors, {full['errors']} errors, "
              f"{full['warnings']} warnings; codes: {codes}")
        if args.workers > 1:
            print(cpu_note)
        per_round = " ".join(f"{r[orjson_name] / r[full_name]:.2f}x" for r in rounds)
        print(f"validate / orjson in each back-to-back round: {per_round}")
        ratio = rates[full_name] / base
        strict = rates[full_name] / rates["orjson parse, objects dropped (strict)"]
        print(f"goal: full rules, one process >= 0.5 x orjson parsing: {'MET' if ratio >= 0.5 else 'NOT MET'} "
              f"({ratio:.2f}x, best of {args.repeat} rounds each; {strict:.2f}x against parsing that drops its objects)")
        print(f"goal: >= 12,000 dialogs/s, full rules, one process: {'MET' if rates[full_name] >= 12000 else 'NOT MET'} "
              f"({rates[full_name]:.0f}/s)")

        rss, wall = child_rss_mb(path, 1)
        print(f"\npeak RSS of a fresh process validating {n} dialogs: {rss:.0f} MB ({wall:.1f}s)")
        if args.scale > 1:
            big = make_data(n * args.scale, Path(tmp))
            rss, wall = child_rss_mb(big, 1)
            print(f"peak RSS of a fresh process validating {n * args.scale} dialogs: {rss:.0f} MB ({wall:.1f}s)")


if __name__ == "__main__":
    main()
