"""Continual learning on CPU with the tiny model: how much does an increment forget, and what helps?

A base run learns one scenario (A: en_restaurant_hotel), then increments learn another (B:
support), each from the base run, with: nothing, replay, KL to the base model, L2-SP, and
replay + KL, and the first block frozen. Every increment writes ``forgetting.json``; this script prints, per variant, the
loss on A's dev data (held out by the base run) before and after the increment, and on B's dev
data. Everything goes through the CLI (``synth``, ``model init-tiny``, ``train sft``).

    python benchmarks/continual_forgetting.py                 # ~25 min on 2 CPU cores
    python benchmarks/continual_forgetting.py --base-steps 20 --inc-steps 10 --n 30   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "none": [],
    "replay0.3": ["--replay", "0.3"],
    "kl1": ["--regularize", "kl", "--reg-strength", "1.0"],
    "l2sp0.1": ["--regularize", "l2sp", "--reg-strength", "0.1"],
    "l2sp1": ["--regularize", "l2sp", "--reg-strength", "1.0"],
    "replay0.3+kl1": ["--replay", "0.3", "--regularize", "kl", "--reg-strength", "1.0"],
    "freeze-first1": ["--freeze", "first:1"],
}


def dk(*args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "dialogkit", *map(str, args)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="dialogs per scenario")
    ap.add_argument("--base-steps", type=int, default=120)
    ap.add_argument("--inc-steps", type=int, default=60)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma list of " + ", ".join(VARIANTS))
    ap.add_argument("--workdir", help="keep the runs here (default: a temporary folder)")
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="continual-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    A, B = work / "A.jsonl", work / "B.jsonl"
    dk("synth", "--scenario", ROOT / "generators/en_restaurant_hotel.yaml", "--mode", "outline", "--lang", "en",
       "--n", a.n, "--seed", 0, "--out", A)
    dk("synth", "--scenario", ROOT / "generators/support.yaml", "--mode", "outline", "--lang", "en",
       "--n", a.n, "--seed", 0, "--out", B)
    both = work / "AB.jsonl"
    both.write_bytes(A.read_bytes() + B.read_bytes())  # the tokenizer covers both scenarios, like a real base model
    dk("model", "init-tiny", "--data", both, "--out", work / "tiny", "--overwrite")
    common = ["--config", ROOT / "configs/train/tiny_cpu.yaml", "--set", "eval_fraction=0.2",
              "--set", "logging_steps=10", "--set", "save_steps=1000", "--overwrite"]
    runs = work / "runs"
    dk("train", "sft", "--model", work / "tiny", "--data", A, "--output", runs / "base",
       "--set", f"max_steps={a.base_steps}", *common)
    rows = []
    for name in a.variants.split(","):
        out = runs / f"inc-{name}"
        dk("train", "sft", "--init-from", runs / "base", "--data", B, "--output", out,
           "--set", f"max_steps={a.inc_steps}", "--set", "forgetting_generate_dialogs=4", *VARIANTS[name], *common)
        rep = json.loads((out / "forgetting.json").read_text())
        old = next(s for s in rep["sets"] if s["role"] == "earlier")
        new = next(s for s in rep["sets"] if s["role"] == "new")
        rows.append((name, old, new))
    print(f"tiny model, CPU, {a.n} dialogs per scenario (dev: 20% held out), base {a.base_steps} steps on A, "
          f"increments {a.inc_steps} steps on B; {time.monotonic() - t0:.0f} s")
    print("A = en_restaurant_hotel (old), B = support (new); loss = mean NLL of assistant tokens on dev dialogs")
    head = f"{'variant':<15}{'A loss before':>14}{'A loss after':>13}{'A Δ':>9}{'A tok-acc after':>16}" \
           f"{'B loss before':>14}{'B loss after':>13}"
    print(head)
    for name, old, new in rows:
        print(f"{name:<15}{old['before']['loss']:>14.4f}{old['after']['loss']:>13.4f}{old['delta']['loss']:>+9.4f}"
              f"{old['after']['token_accuracy']:>16.4f}{new['before']['loss']:>14.4f}{new['after']['loss']:>13.4f}")
    print(f"runs and forgetting reports: {runs}")


if __name__ == "__main__":
    main()
