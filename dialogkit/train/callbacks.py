"""Trainer callbacks: ``RUN/metrics.jsonl`` (one JSON object per log event) and early stopping.

The metrics file is what dashboards, tests and later lifecycle stages read, so it has one fixed
shape whatever the method: ``step``, ``epoch``, then every number TRL logged under its own name
(``loss``, ``learning_rate``, ``grad_norm``, ``eval_loss``, ``rewards/accuracies``,
``rewards/margins`` ...). On ``--resume`` lines after the checkpoint's step are dropped first,
so the file never holds two histories of the same steps.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


def _clean(value: Any) -> Any:
    # JSON has no NaN/inf; keep the line valid and the fact visible.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` (missing file: empty list)."""
    p = Path(path)
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_metrics(path: str | Path, last_step: int) -> None:
    """Keep only records up to ``last_step`` (a resumed run rewrites what came after its checkpoint)."""
    p = Path(path)
    if not p.is_file():
        return
    keep = [r for r in read_metrics(p) if int(r.get("step", 0)) <= last_step]
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), encoding="utf-8")
    tmp.replace(p)


class MetricsJsonl(TrainerCallback):
    """Append one line per ``on_log`` event on the main process, flushed at once (a crash keeps it)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._t0 = time.monotonic()

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": _clean(state.epoch)}
        record.update({k: _clean(v) for k, v in logs.items() if isinstance(v, (int, float, str, bool))})
        record["time_s"] = round(time.monotonic() - self._t0, 3)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()


def early_stopping(patience: int | None, threshold: float) -> list[Any]:
    """transformers' EarlyStoppingCallback on ``eval_loss`` when asked for."""
    if not patience:
        return []
    from transformers import EarlyStoppingCallback

    return [EarlyStoppingCallback(early_stopping_patience=patience, early_stopping_threshold=threshold)]
