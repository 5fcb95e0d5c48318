"""The run folder: refuse to clobber a run, find the checkpoint to resume, record what was trained on.

Layout of ``RUN/``::

    config.yaml         the resolved TrainConfig (reusable with --config)
    data_manifest.json  inputs with sha256 and counts, rows/tokens prepared, held-out split
    rejects.jsonl       bad input records with their located issues (only when there were some)
    metrics.jsonl       one JSON object per logging step (see callbacks.py)
    checkpoints/        TRL/transformers checkpoints (checkpoint-N), the --resume source
    final/              adapter (or full model) + tokenizer; final/merged with --set merge=true
    summary.json        what the run ended with
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue, OutputError, UsageError
from dialogkit.io import AtomicWriter, JsonlWriter
from dialogkit.train.config import TrainConfig, dump_config


def is_main_process() -> bool:
    """Rank 0 (or no launcher). Only it writes run files; every rank trains."""
    return int(os.environ.get("RANK", "0")) == 0


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def last_checkpoint(run: Path) -> Path | None:
    """The newest ``checkpoints/checkpoint-N`` that holds a trainer state, or None."""
    ckpts = []
    for p in (run / "checkpoints").glob("checkpoint-*"):
        step = p.name.rsplit("-", 1)[-1]
        if step.isdigit() and (p / "trainer_state.json").is_file():
            ckpts.append((int(step), p))
    return max(ckpts)[1] if ckpts else None


def checkpoint_step(ckpt: Path) -> int:
    return int(json.loads((ckpt / "trainer_state.json").read_text())["global_step"])


def prepare_run_dir(run: Path, *, resume: bool, overwrite: bool) -> Path | None:
    """Check ``run`` can be used; returns the checkpoint to resume from (None: start fresh).

    Raises:
        UsageError: the folder exists with content and neither --resume nor --overwrite was given,
            or --resume was given but there is nothing to resume.
    """
    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if run.exists() and not run.is_dir():
        raise OutputError(f"{run}: exists and is not a folder")
    has_content = run.is_dir() and any(run.iterdir())
    if resume:
        ckpt = last_checkpoint(run)
        if ckpt is None:
            raise UsageError(f"{run}: nothing to resume (no checkpoints/checkpoint-N with a trainer state)")
        return ckpt
    if has_content and is_main_process():
        if not overwrite:
            raise UsageError(f"{run}: exists and is not empty; use --resume to continue it or --overwrite to replace it")
        if not (run / "config.yaml").is_file():
            # --overwrite only ever deletes a dialogkit run, never an arbitrary folder.
            raise OutputError(f"{run}: not a dialogkit run folder (no config.yaml); refusing to delete it")
        shutil.rmtree(run)
    return None


def write_config(run: Path, cfg: TrainConfig) -> None:
    if not is_main_process():
        return
    with AtomicWriter(run / "config.yaml") as fh:
        fh.write(dump_config(cfg).encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    if not is_main_process():
        return
    with AtomicWriter(path) as fh:
        fh.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str).encode("utf-8") + b"\n")


def write_rejects(run: Path, rejects: list[dict[str, Any]]) -> None:
    if not rejects or not is_main_process():
        return
    with JsonlWriter(run / "rejects.jsonl") as w:
        for r in rejects:
            w.write(r)


def input_entry(path: str, role: str, counts: dict[str, int]) -> dict[str, Any]:
    """One manifest line for an input file: where, its hash, and what came of its records."""
    p = Path(path)
    return {"role": role, "path": str(p.resolve()), "sha256": sha256_file(p), "bytes": p.stat().st_size, **counts}


def issue_lines(issues: list[Issue], limit: int = 20) -> list[str]:
    """Formatted issues for the CLI, capped (the rejects file has them all)."""
    lines = [i.format() for i in issues[:limit]]
    if len(issues) > limit:
        lines.append(f"... and {len(issues) - limit} more (see rejects.jsonl)")
    return lines

