"""``summary.json``: one entry per model with the headline numbers, their definitions and checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dialogkit.demo.config import STAGES

# summary key -> (report metric, what it measures). Every value is the real scorer's number.
HEADLINE = {
    "task_success": ("task_success", ("held-out dialogs meeting every checkable goal condition (dialogkit.score."
                     "dialog): constraints in the model's calls/state, every reference call made with the right "
                     "arguments, requested values given, and the database after replaying the model's calls equal "
                     "to the reference's; every assistant turn generated from the gold history")),
    "inform": ("inform_rate", "dialogs whose goal constraints are in the model's final state"),
    "slot_f1": ("slot_f1", ("micro F1 of slot values of the state the model writes before each turn "
                "(SGD semantics, previous turns' gold states in the history)")),
    "tool_args_accuracy": ("tool_call_accuracy", ("turns with a reference or predicted call whose calls pass "
                           "BFCL's AST check: right names and every argument right")),
    "json_parse_rate": ("json_parse_rate", "generated tool calls (and JSON replies) whose JSON parses"),
}
EXTRA = ("tool_arg_accuracy", "tool_name_accuracy", "joint_goal_accuracy", "request_rate", "db_match_rate",
         "behaviour_accuracy", "bleu")


def _metric(report: dict[str, Any], name: str) -> Any:
    m = report.get("metrics", {}).get(name)
    return None if m is None else m.get("value")


def model_entry(report: dict[str, Any], loss: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {key: _metric(report, metric) for key, (metric, _) in HEADLINE.items()}
    entry["eval_loss"] = (loss or {}).get("eval_loss")
    entry["headline"] = report.get("headline")
    entry["more"] = {k: _metric(report, k) for k in EXTRA}
    entry["dialogs"] = report.get("inputs", {}).get("references")
    return entry


def _ge(a: Any, b: Any) -> bool | None:
    return None if a is None or b is None else a >= b


def build_summary(ctx: Any) -> dict[str, Any]:
    """Read the score stage's reports and losses; state whether the demo's claims hold."""
    score = ctx.manifest("score") or {}
    outputs = score.get("outputs", {})
    losses = json.loads(Path(outputs["eval_loss"]).read_text(encoding="utf-8")) if "eval_loss" in outputs else {}
    models: dict[str, Any] = {}
    for key, path in outputs.items():
        if key.endswith("_report"):
            name = key[: -len("_report")]
            report = json.loads(Path(path).read_text(encoding="utf-8"))
            models[name] = model_entry(report, losses.get(name))
    base, sft, dpo = (models.get(n, {}) for n in ("base", "sft", "dpo"))
    checks = {
        "sft_beats_base_on_task_success": None if not sft or not base else
        (sft["task_success"] or 0) > (base["task_success"] or 0),
        "dpo_not_worse_than_sft_on_task_success": _ge(dpo.get("task_success"), sft.get("task_success")),
        "sft_lower_eval_loss_than_base": None if not sft or not base or sft.get("eval_loss") is None else
        sft["eval_loss"] < base["eval_loss"],
    }
    stages = {s: ctx.manifest(s) for s in STAGES}
    return {
        "summary_format": "dialogkit.demo/1",
        "models": models,
        "definitions": {k: d for k, (_, d) in HEADLINE.items()} | {
            "eval_loss": "mean NLL of the held-out assistant tokens prepare marks (the SFT loss), same for every model"},
        "checks": checks,
        "data": (stages.get("synth") or {}).get("facts"),
        "pairs": (stages.get("mine") or {}).get("facts"),
        "seconds": {s: m["seconds"] for s, m in stages.items() if m},
        "config": json.loads(ctx.cfg.model_dump_json()),
    }
