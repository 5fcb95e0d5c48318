"""Time ``dialogkit score multiwoz`` against mwzeval on the same 1,000-dialogue input.

The input is built from the 7 MultiWOZ test dialogues shipped in ../shared/data/multiwoz: copies
with new ids and matching goals / booked domains / references / gold states in a temporary data
folder. Every copy after the first 7 gets a few random words inserted into its responses and
some state values swapped for other database values (seeded), so the texts and database queries
are not just 7 cached repeats. Both scorers run in fresh subprocesses (cold caches) and are
timed from reading the input to the finished numbers (imports excluded on both sides).

mwzeval is run when a checkout is given (``--mwzeval DIR`` or env ``MWZEVAL_DIR``; the folder
that holds the ``mwzeval`` package) with a Python that has its dependencies (``--mwzeval-python``
or env ``MWZEVAL_PYTHON``; default: this interpreter). Its package is copied to a temporary
folder whose ``data/`` is the generated data, so it never downloads. Without mwzeval, dialogkit's
time is printed alone.

``--predictions DIR`` additionally scores every ``*.json`` in DIR (e.g. mwzeval's shipped system
predictions), restricted to the dialogues of the shipped data folder, with both scorers and
checks that the numbers are identical.

    .venv/bin/python benchmarks/bench_score_multiwoz.py --mwzeval /tmp/mwzeval --mwzeval-python /tmp/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DIALOGKIT_SHARED", ROOT.parent / "shared")) / "data" / "multiwoz"
WORDS = ("sure okay great the a nice cheap expensive north south hotel restaurant train leaves at please thanks "
         ", . ? ! 's n't don't i'm [name] [phone] [address] [postcode] [ref] [trainid] [area] [food] [choice] "
         "[price] 10:15 5,300 \"quoted\" (paren) it's & - ... e.g. no. 5").split()

DIALOGKIT_DRIVER = """
import json, sys, time
from dialogkit.score.multiwoz import score_multiwoz
import sacrebleu.metrics  # imported up front, like mwzeval's module imports
pred, data, out = sys.argv[1:4]
t = time.perf_counter()
r = score_multiwoz(pred, data)
elapsed = time.perf_counter() - t
json.dump({"seconds": elapsed, "bleu": r["bleu"], "inform": r["inform"], "success": r["success"],
           "dst": r["dst"]}, open(out, "w"))
"""

MWZEVAL_DRIVER = """
import contextlib, io, json, shutil, sys, tempfile, time
src, data, pred, out = sys.argv[1:5]
tmp = tempfile.mkdtemp()
shutil.copytree(src + "/mwzeval", tmp + "/mwzeval", ignore=shutil.ignore_patterns("data"))
shutil.copytree(data, tmp + "/mwzeval/data")
sys.path.insert(0, tmp)
from mwzeval.metrics import Evaluator
t = time.perf_counter()
inp = json.load(open(pred))
with contextlib.redirect_stdout(io.StringIO()):  # "Unknown slot name" chatter
    e = Evaluator(bleu=True, success=True, richness=False, dst=all("state" in x for d in inp.values() for x in d))
    r = e.evaluate(inp)
elapsed = time.perf_counter() - t
shutil.rmtree(tmp)
json.dump({"seconds": elapsed, "bleu": r["bleu"]["mwz22"], "inform": r["success"]["inform"],
           "success": r["success"]["success"], "dst": r["dst"]}, open(out, "w"))
"""


def _perturb_state(state: dict, rng: random.Random, names: dict[str, list[str]]) -> dict:
    out = {d: dict(s) for d, s in state.items()}
    for domain, slots in out.items():
        if "name" in slots and domain in names and rng.random() < 0.3:
            slots["name"] = rng.choice(names[domain])
        if "leaveat" in slots and rng.random() < 0.3:
            slots["leaveat"] = f"{rng.randint(5, 21):02d}:{rng.choice(['00', '15', '30', '45'])}"
    return out


def build(out: Path, n: int, seed: int = 0) -> Path:
    """A data folder with ``n`` dialogues and its ``pred.json``; returns the prediction path."""
    src = SHARED / "mwzeval-data"
    (out / "references").mkdir(parents=True, exist_ok=True)
    shutil.copytree(src / "database", out / "database", dirs_exist_ok=True)
    load = lambda p: json.loads(p.read_text())  # noqa: E731
    goals, booked, gold = load(src / "goals.json"), load(src / "booked_domains.json"), load(src / "gold_states.json")
    refs = load(src / "references" / "mwz22.json")
    inputs = load(SHARED / "inputs" / "input_gt_bracketed_with_state.json")
    names = {d: [v["name"] for v in load(src / "database" / f"{d}_db.json")] for d in ("restaurant", "hotel", "attraction")}
    rng, ids = random.Random(seed), list(goals)
    tables: dict[str, dict] = {"goals": {}, "booked": {}, "gold": {}, "refs": {}, "pred": {}}
    for k in range(n):
        base = ids[k % len(ids)]
        new = f"{base}x{k:04d}"
        for name, table in (("goals", goals), ("booked", booked), ("gold", gold), ("refs", refs)):
            tables[name][new] = table[base]
        turns = []
        for turn in inputs[base]:
            response, state = turn["response"], turn["state"]
            if k >= len(ids):
                tokens = response.split()
                for _ in range(rng.randint(0, 4)):
                    tokens.insert(rng.randint(0, len(tokens)), rng.choice(WORDS))
                response, state = " ".join(tokens), _perturb_state(state, rng, names)
            turns.append({"response": response, "state": state})
        tables["pred"][new] = turns
    for name, path in (("goals", "goals.json"), ("booked", "booked_domains.json"), ("gold", "gold_states.json"),
                       ("refs", "references/mwz22.json")):
        (out / path).write_text(json.dumps(tables[name]))
    pred = out.parent / "pred.json"
    pred.write_text(json.dumps(tables["pred"]))
    return pred


def run(python: str, driver: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        result = Path(fh.name)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([python, "-c", driver, *args, str(result)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"driver failed:\n{proc.stderr[-3000:]}")
    try:
        return json.loads(result.read_text())
    finally:
        result.unlink(missing_ok=True)


def numbers(r: dict) -> dict:
    return {k: r[k] for k in ("bleu", "inform", "success", "dst")}


def check_predictions(folder: Path, mwz: str, mwz_python: str) -> bool:
    """Score each prediction file (restricted to the shipped dialogues) with both; compare."""
    data = SHARED / "mwzeval-data"
    ids = set(json.loads((data / "goals.json").read_text()))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(folder.glob("*.json")):
            pred = {k: v for k, v in json.loads(path.read_text()).items() if k in ids}
            if not pred:
                continue
            sub = Path(tmp) / path.name
            sub.write_text(json.dumps(pred))
            a = run(sys.executable, DIALOGKIT_DRIVER, str(sub), str(data))
            b = run(mwz_python, MWZEVAL_DRIVER, mwz, str(data), str(sub))
            same = numbers(a) == numbers(b)
            ok &= same
            print(f"  {path.stem:14s} {len(pred)} dialogs  BLEU {a['bleu']:.4f}  inform {a['inform']['total']}  "
                  f"success {a['success']['total']}  identical to mwzeval: {same}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dialogs", type=int, default=1000)
    ap.add_argument("--mwzeval", default=os.environ.get("MWZEVAL_DIR"), help="folder holding the mwzeval package")
    ap.add_argument("--mwzeval-python", default=os.environ.get("MWZEVAL_PYTHON", sys.executable))
    ap.add_argument("--predictions", type=Path, help="also check these mwzeval-format files (e.g. mwzeval/predictions)")
    args = ap.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED}: not found (set DIALOGKIT_SHARED)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        pred = build(data, args.dialogs)
        turns = sum(len(v) for v in json.loads(pred.read_text()).values())
        print(f"input: {args.dialogs} dialogues, {turns} system turns (built from the 7 shipped)")
        dk = run(sys.executable, DIALOGKIT_DRIVER, str(pred), str(data))
        print(f"dialogkit score multiwoz: {dk['seconds']:.2f} s  BLEU {dk['bleu']:.4f}  inform "
              f"{dk['inform']['total']}  success {dk['success']['total']}  JGA {dk['dst']['joint_accuracy']:.4f}")
        if not args.mwzeval:
            print("mwzeval: not run (give --mwzeval DIR or set MWZEVAL_DIR to compare)")
            return
        mw = run(args.mwzeval_python, MWZEVAL_DRIVER, args.mwzeval, str(data), str(pred))
        print(f"mwzeval @ {Path(args.mwzeval).resolve()}: {mw['seconds']:.2f} s  BLEU {mw['bleu']:.4f}  inform "
              f"{mw['inform']['total']}  success {mw['success']['total']}  JGA {mw['dst']['joint_accuracy']:.4f}")
        print(f"speed-up: {mw['seconds'] / dk['seconds']:.1f}x")
        same = numbers(dk) == numbers(mw)
        print(f"numbers identical (bleu, inform, success, dst; exact float equality): {same}")
    if args.predictions:
        print(f"prediction files in {args.predictions}:")
        same &= check_predictions(args.predictions, args.mwzeval, args.mwzeval_python)
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
