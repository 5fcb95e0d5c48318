"""The part every method shares once its trainer exists: train (or resume), evaluate, save, summarize."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue
from dialogkit.train.callbacks import truncate_metrics
from dialogkit.train.model import save_final
from dialogkit.train.run import checkpoint_step, is_main_process, write_json


@dataclass
class RunResult:
    """What a finished run reports to the CLI (and writes to ``RUN/summary.json``)."""

    run: Path
    summary: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)


def fit(trainer: Any, run: Path, ckpt: Path | None, *, has_eval: bool) -> dict[str, Any]:
    """Train from scratch or from ``ckpt``; evaluate once at the end when there is an eval set."""
    start_step = 0
    if ckpt is not None:
        start_step = checkpoint_step(ckpt)
        if is_main_process():
            truncate_metrics(run / "metrics.jsonl", start_step)
    t0 = time.monotonic()
    out = trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    result: dict[str, Any] = {
        "resumed_from_step": start_step if ckpt else None,
        "global_step": trainer.state.global_step,
        "world_size": trainer.args.world_size,
        "train_loss": out.training_loss,
        "train_seconds": round(time.monotonic() - t0, 2),
        **{k: v for k, v in out.metrics.items() if isinstance(v, (int, float))},
    }
    if has_eval:
        result.update({k: v for k, v in trainer.evaluate().items() if isinstance(v, (int, float))})
    return result


def finish(trainer: Any, tokenizer: Any, run: Path, cfg: Any, result: dict[str, Any],
           extra: dict[str, Any]) -> dict[str, Any]:
    """Save ``RUN/final`` (and merged model if asked) and write ``RUN/summary.json``."""
    final = save_final(trainer, tokenizer, run / "final", merge=cfg.merge)
    summary = {"method": cfg.method, "adapter": cfg.adapter, "final": final, **result, **extra}
    write_json(run / "summary.json", summary)
    # No rank may exit (and have the launcher kill the others) while rank 0 is still writing final/.
    trainer.accelerator.wait_for_everyone()
    return summary
