"""A demo folder whose score stage holds real reports, for report/summary/browser tests."""

from __future__ import annotations

import json
from pathlib import Path

from dialogkit.demo.config import STAGE_DIRS, build_config
from dialogkit.demo.runner import Context, fingerprint

ASSETS = Path(__file__).parent / "assets" / "score"


def _manifest(ctx: Context, stage: str, outputs: dict, facts: dict | None = None, commands=()) -> None:
    d = ctx.dir(stage)
    d.mkdir(parents=True, exist_ok=True)
    man = {"stage": stage, "fingerprint": fingerprint(ctx.cfg, stage), "seconds": 1.5,
           "commands": list(commands), "outputs": {k: str(v) for k, v in outputs.items()}, "facts": facts or {}}
    (d / "stage.json").write_text(json.dumps(man))


def make_demo_dir(root: Path) -> Context:
    """Stage manifests for synth, sft, dpo and score; score reports from the scorer fixtures."""
    from dialogkit.score.runner import dialogs_report
    from dialogkit.score.suite import load_suite

    ctx = Context(build_config(root, fast=True), echo=lambda s: None)
    _manifest(ctx, "synth", {}, {"train": 64, "heldout": 12, "scenario": "demo_restaurant"},
              ["dialogkit synth --scenario s.yaml --n 64 --seed 1 --out train.raw.jsonl"])
    for stage, losses in (("sft", [3.2, 1.4, 0.9]), ("dpo", [0.69, 0.41])):
        run = ctx.dir(stage) / "run"
        run.mkdir(parents=True)
        (run / "metrics.jsonl").write_text("".join(json.dumps({"step": 10 * (i + 1), "loss": v}) + "\n"
                                                   for i, v in enumerate(losses)))
        (run / "config.yaml").write_text("method: " + stage + "\n")
        _manifest(ctx, stage, {"run": run, "config": run / "config.yaml"})
    score = ctx.dir("score")
    score.mkdir(parents=True)
    outputs = {}
    report, _ = dialogs_report(load_suite("task_oriented"), ASSETS / "pred.jsonl", ASSETS / "ref.jsonl")
    oracle, _ = dialogs_report(load_suite("task_oriented"), ASSETS / "ref.jsonl", ASSETS / "ref.jsonl")
    for name, rep in (("base", report), ("sft", oracle), ("dpo", oracle)):
        path = score / f"{name}.json"
        path.write_text(json.dumps(rep))
        outputs[f"{name}_report"] = path
    losses = {"base": {"eval_loss": 6.9}, "sft": {"eval_loss": 1.2}, "dpo": {"eval_loss": 1.25}}
    (score / "eval_loss.json").write_text(json.dumps(losses))
    outputs["eval_loss"] = score / "eval_loss.json"
    _manifest(ctx, "score", outputs)
    assert set(STAGE_DIRS) >= {"synth", "sft", "dpo", "score"}
    return ctx
