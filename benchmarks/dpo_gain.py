"""Does DPO on mined pairs beat its SFT model on held-out dialogs? (the mine issue's measure)

Starts from a finished ``dialogkit demo --out DEMO`` (its SFT model and derived scenario), then
runs real ``dialogkit`` commands:

1. synth fresh *preference* dialogs and a larger *held-out* set, with seeds the demo did not use,
   dropping any dialog whose user turns occur in the demo's training set or in the other split;
2. mine on-policy pairs from the SFT policy (``--policy``, k samples per tool-call, clarify and
   confirm turn, ranked by the checkers, gold turn as chosen when every sample fails), and with
   ``--rules`` rule-based pairs of those strategies on the same dialogs;
3. train DPO from the SFT model with the demo's DPO settings (``--steps`` optimizer steps);
4. score SFT and DPO on the held-out set with the demo's suite, and print each model's tool-call
   and behaviour metrics with a paired bootstrap 95% interval of the difference (held-out
   dialogs resampled; both models answer the same gold histories).

``--reuse`` keeps the files a previous run left in ``--work`` (data, pairs, the SFT model's
predictions) and redoes the rest.

Preference dialogs are fresh because the SFT model has memorised its 400 training dialogs
(chosen turns there have log-probability about -3.6 per turn): its real mistakes, and so useful
negatives, show on dialogs it has not seen.

Usage: python benchmarks/dpo_gain.py DEMO_DIR [--work DIR] [--n-pref 400] [--n-eval 300]
       [--k 4] [--temperature 0.8] [--steps 60] [--labels call_tool,clarify,confirm] [--edit-chosen]
       [--rules S,...] [--reuse] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# tool_arg_accuracy counts only calls whose tool name was right, so a model that gets names
# wrong on hard turns can raise it while calling worse: tool_call_accuracy (every reference call
# turn) and tool_name_accuracy are printed next to it.
METRICS = (("tools", "tool_call_accuracy"), ("tools", "tool_arg_accuracy"), ("tools", "tool_name_accuracy"),
           ("behaviour", "clarify_rate"), ("behaviour", "behaviour_accuracy"))


def sh(*args: Any) -> str:
    cmd = [sys.executable, "-m", "dialogkit", *map(str, args)]
    print("$ dialogkit " + " ".join(map(str, args)), flush=True)
    res = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return res.stdout


def user_key(rec: dict[str, Any]) -> str:
    return json.dumps([m.get("content") for m in rec["messages"] if m.get("role") == "user"], ensure_ascii=False)


def fresh(scenario: Path, n: int, seed: int, seen: set[str], out: Path) -> set[str]:
    """``n`` synthesized dialogs (state written in the reasoning, as the demo trains) unseen in ``seen``."""
    from dialogkit.generate.state_text import state_in_reasoning

    raw = out.with_suffix(".raw.jsonl")
    sh("synth", "--scenario", scenario, "--n", int(n * 1.5) + 10, "--seed", seed, "--out", raw)
    keep = []
    for line in raw.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if user_key(rec) not in seen:
            seen.add(user_key(rec))
            keep.append(state_in_reasoning(rec))
    if len(keep) < n:
        sys.exit(f"only {len(keep)} fresh dialogs from seed {seed}; lower --n-pref/--n-eval")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep[:n]), encoding="utf-8")
    return seen


def per_dialog(pred_path: Path, ref_path: Path) -> dict[str, dict[str, list[float]]]:
    """Summable (hits, count) of each metric per held-out dialog, from the scorers as ``score`` runs them."""
    from dialogkit.score.base import make_scorer
    from dialogkit.score.runner import run_scorers

    names = dict.fromkeys(name for name, _ in METRICS)
    run = run_scorers([make_scorer(name) for name in names], pred_path, ref_path)
    out: dict[str, dict[str, list[float]]] = {}
    for item in run.items:
        stats = out.setdefault(item.dialog, {m: [0.0, 0.0] for _, m in METRICS})
        for _, metric in METRICS:
            if metric in item.stats:
                stats[metric][0] += item.stats[metric][0]
                stats[metric][1] += item.stats[metric][1]
    return out


def rate(d: dict[str, dict[str, list[float]]], ids: list[str], metric: str) -> float:
    den = sum(d[i][metric][1] for i in ids)
    return sum(d[i][metric][0] for i in ids) / den if den else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("demo", type=Path)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--n-pref", type=int, default=400)
    ap.add_argument("--n-eval", type=int, default=300)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--temperature", type=float, default=0.8, help="sampling temperature of the on-policy samples")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--edit-chosen", action="store_true", help="mine minimal-edit pairs (mine --edit-chosen)")
    ap.add_argument("--labels", default="call_tool,clarify,confirm", help="turns sampled on-policy")
    ap.add_argument("--rules", default="", help="rule-based strategies added to the on-policy pairs")
    ap.add_argument("--reuse", action="store_true", help="keep data, pairs and SFT predictions already in --work")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    demo = args.demo.resolve()
    sft, scenario = demo / "04_sft" / "run", demo / "01_synth" / "scenario.yaml"
    suite = demo / "07_score" / "suite.yaml"
    for p in (sft, scenario, suite):
        if not p.exists():
            sys.exit(f"{p} not found: run `dialogkit demo --out {args.demo}` first")
    work = args.work or Path(tempfile.mkdtemp(prefix="dpo_gain_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    seen = {user_key(json.loads(x)) for x in (demo / "01_synth" / "train.raw.jsonl").read_text(encoding="utf-8").splitlines()}
    held, pref = work / "heldout.jsonl", work / "pref.jsonl"
    if not (args.reuse and held.is_file() and pref.is_file()):
        fresh(scenario, args.n_eval, 1000 + args.seed, seen, held)
        fresh(scenario, args.n_pref, 2000 + args.seed, seen, pref)

    onpolicy, pairs = work / "pairs.onpolicy.jsonl", work / "pairs.jsonl"
    if not (args.reuse and onpolicy.is_file()):
        print(sh("mine", pref, "--out", onpolicy, "--strategies", "none", "--policy", sft, "--k", args.k,
                 "--labels", args.labels, "--max-new-tokens", 160, "--temperature", args.temperature,
                 "--seed", args.seed, *(["--edit-chosen"] if args.edit_chosen else [])).strip())
    text = onpolicy.read_text(encoding="utf-8")
    if args.rules:
        rules = work / "pairs.rules.jsonl"
        print(sh("mine", pref, "--out", rules, "--strategies", args.rules, "--seed", args.seed).strip())
        text += rules.read_text(encoding="utf-8")
    pairs.write_text(text, encoding="utf-8")

    from dialogkit.demo.config import tiny_dpo

    dpo = work / "dpo"
    sets = [f"{k}={v}" for k, v in {**tiny_dpo(False), "max_steps": args.steps}.items()]
    out = sh("train", "dpo", "--model", sft, "--data", pairs, "--output", dpo, "--overwrite",
             *[x for s in sets for x in ("--set", s)])
    print(next((x for x in out.splitlines() if x.startswith("trained ")), out.strip()[-300:]))

    per = {}
    for name, model in (("sft", sft), ("dpo", dpo)):
        pred = work / f"{name}.pred.jsonl"
        if name == "sft" and args.reuse and pred.is_file():
            per[name] = per_dialog(pred, held)  # greedy and the same model: the same predictions
            continue
        sh("score", "dialogs", "--model", model, "--ref", held, "--suite", suite, "--out", work / f"{name}.json",
           "--save-pred", pred, "--max-new-tokens", 160, "--batch-size", 32, "--state-from-reasoning",
           "--scenario", scenario)
        per[name] = per_dialog(pred, held)

    ids = sorted(set(per["sft"]) & set(per["dpo"]))
    rng = random.Random(args.seed)
    samples = [[rng.choice(ids) for _ in ids] for _ in range(2000)]
    print(f"\nheld-out: {len(ids)} dialogs; preference dialogs: {args.n_pref}; pairs: "
          f"{sum(1 for _ in pairs.open(encoding='utf-8'))}; DPO steps: {args.steps}; work: {work}")
    print(f"{'metric':22s} {'n':>5s} {'sft':>7s} {'dpo':>7s} {'dpo-sft':>8s}   95% CI (paired bootstrap)")
    # n: the SFT model's denominator (the DPO model's can differ for tool_arg_accuracy)
    for _, metric in METRICS:
        n = int(sum(per["sft"][i][metric][1] for i in ids))
        a, b = rate(per["sft"], ids, metric), rate(per["dpo"], ids, metric)
        diffs = sorted(rate(per["dpo"], s, metric) - rate(per["sft"], s, metric) for s in samples)
        lo, hi = diffs[int(0.025 * len(diffs))], diffs[int(0.975 * len(diffs)) - 1]
        verdict = "better" if lo > 0 else "worse" if hi < 0 else "no clear difference"
        print(f"{metric:22s} {n:>5d} {a:>7.2%} {b:>7.2%} {b - a:>+8.2%}   [{lo:+.2%}, {hi:+.2%}]  {verdict}")
    print(f"took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
