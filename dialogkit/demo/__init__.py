"""``dialogkit demo``: the whole loop end to end, offline, on a tiny model and 2 CPU cores.

:func:`run_demo` runs the stages of :mod:`dialogkit.demo.stages` (each the real ``dialogkit``
commands) into ``DIR/NN_stage/`` folders, reusing finished ones, and returns ``summary.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dialogkit.demo.config import STAGES, DemoConfig, build_config

__all__ = ["STAGES", "DemoConfig", "build_config", "run_demo"]


def run_demo(cfg: DemoConfig, group: Any, *, force: bool = False, stages: list[str] | None = None,
             from_stage: str | None = None, echo: Callable[[str], None] = lambda s: None) -> dict[str, Any] | None:
    """Run the demo with the ``dialogkit`` click ``group`` (``dialogkit.cli.cli``).

    Returns:
        The summary when the report stage has run, else ``None``.
    """
    from dialogkit.demo.runner import Context, run_stages
    from dialogkit.demo.stages import FUNCS

    _set_threads(cfg.threads)
    ctx = Context(cfg, echo, group)
    done = run_stages(ctx, FUNCS, force=force, stages=stages, from_stage=from_stage)
    report = done.get("report")
    if report is None:
        return None
    with open(report["outputs"]["summary"], encoding="utf-8") as fh:
        return json.load(fh)


def _set_threads(n: int) -> None:
    # One torch thread per process is several times faster than two on a small shared CPU.
    import torch

    torch.set_num_threads(n)
