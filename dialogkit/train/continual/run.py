"""Forgetting measurement around an increment's training: before (starting model), after (trained)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue
from dialogkit.io import AtomicWriter
from dialogkit.train.config import TrainConfig
from dialogkit.train.continual.forgetting import Forgetting, dev_sets
from dialogkit.train.continual.increment import Plan, reg_strength
from dialogkit.train.run import is_main_process, write_json


def _on_device(model: Any) -> None:
    # The trainer would move the model anyway; measuring "before" on CPU would be slow on a GPU box.
    import torch

    if torch.cuda.is_available() and next(model.parameters()).device.type == "cpu" \
            and not getattr(model, "is_loaded_in_4bit", False):
        model.to(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")


def start_forgetting(cfg: TrainConfig, plan: Plan, tokenizer: Any, model: Any, data: Any,
                     run: Path) -> tuple[Forgetting | None, list[Issue]]:
    """Collect the dev sets and measure the starting model on them (rank 0 only)."""
    if not is_main_process():
        return None, []
    sets, issues = dev_sets(plan.ancestors, data.eval_dialogs, data.train_dialogs, f"{run.name} (new)",
                            cfg.forgetting_max_dialogs)
    batch = int(cfg.training.get("per_device_eval_batch_size") or 8)
    f = Forgetting(sets, tokenizer, cfg.prepare, suite=cfg.forgetting_suite,
                   generate_dialogs=cfg.forgetting_generate_dialogs, batch_size=batch)
    _on_device(model)
    f.measure(model, "before")
    return f, issues


def finish_forgetting(f: Forgetting | None, model: Any, cfg: TrainConfig, plan: Plan, run: Path) -> dict[str, Any] | None:
    """Measure the trained model, write ``forgetting.json`` and ``forgetting.html``; returns the summary."""
    if f is None or not is_main_process():
        return None
    from dialogkit.train.continual.report_html import render

    f.measure(model, "after")
    settings = {"init_from": str(Path(cfg.init_from).resolve()) if cfg.init_from else None,
                "lineage": [str(r.path) for r in plan.ancestors], "replay": cfg.replay,
                "replay_from": [str(r.path) for r in plan.replay_records] if cfg.replay else [],
                "regularize": cfg.regularize, "reg_strength": reg_strength(cfg), "freeze": cfg.freeze,
                "suite": cfg.forgetting_suite if cfg.forgetting_generate_dialogs else None}
    report = f.to_dict(run, settings)
    write_json(run / "forgetting.json", report)
    with AtomicWriter(run / "forgetting.html") as fh:
        fh.write(render(report).encode("utf-8"))
    return {**report["summary"], "json": str(run / "forgetting.json"), "html": str(run / "forgetting.html")}
