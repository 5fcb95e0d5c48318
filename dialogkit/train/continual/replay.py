"""Replay: draw a share of the training mix from the training dialogs of earlier runs.

``replay=f`` makes ``f`` the share of replayed dialogs in the final training mix: with ``n`` new
training dialogs, ``round(n * f / (1 - f))`` old ones are drawn (uniformly, seeded, without
repeats) from the pool of every source run's training files. Dialogs an earlier run held out as
dev are never replayed, so the forgetting numbers on that dev data stay clean. What was drawn is
recorded (source run, file, sha256, ids), so the mix can be rebuilt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue
from dialogkit.train.continual.lineage import DataFile, RunRecord


@dataclass
class Replay:
    """Replayed dialogs with their file/line, and the manifest section describing them."""

    dialogs: list[Any] = field(default_factory=list)
    where: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def replay_count(n_new: int, fraction: float) -> int:
    """Old dialogs to add to ``n_new`` new ones so that they make up ``fraction`` of the mix."""
    if fraction <= 0 or n_new <= 0:
        return 0
    return max(1, round(n_new * fraction / (1.0 - fraction)))


def _pool(files: list[DataFile], records: dict[Path, RunRecord]) -> list[tuple[DataFile, Any, dict[str, Any]]]:
    from dialogkit.train.data import load_dialogs

    pool, seen = [], set()
    for df in files:
        held = set(records[df.run].eval_ids or [])
        loaded = load_dialogs(df.path, df.fmt)
        for dialog, where in zip(loaded.records, loaded.where):
            key = (df.path, dialog.id)
            if dialog.id in held or key in seen:
                continue  # a source's dev dialogs stay unseen; a file shared by two runs counts once
            seen.add(key)
            pool.append((df, dialog, where))
    return pool


def draw(files: list[DataFile], records: list[RunRecord], n_new: int, fraction: float, seed: int) -> Replay:
    """Draw the replay share for ``n_new`` new dialogs from ``files`` (already checked by sha256)."""
    by_path = {r.path: r for r in records}
    pool = _pool(files, by_path)
    want = replay_count(n_new, fraction)
    picked = sorted(random.Random(seed).sample(range(len(pool)), min(want, len(pool))))
    out = Replay()
    per_file: dict[str, list[str]] = {}
    for i in picked:
        df, dialog, where = pool[i]
        out.dialogs.append(dialog)
        out.where.append(where)
        per_file.setdefault(df.path, []).append(dialog.id)
    if len(picked) < want:
        out.issues.append(Issue("REPLAY_CAPPED", f"wanted {want} replay dialogs for replay={fraction} but the "
                                f"earlier runs have only {len(pool)}; using all of them", severity="warning"))
    pool_sizes: dict[str, int] = {}
    for df, _, _ in pool:
        pool_sizes[df.path] = pool_sizes.get(df.path, 0) + 1
    out.manifest = {
        "fraction": fraction,
        "requested": want,
        "drawn": len(picked),
        "pool": len(pool),
        "seed": seed,
        "share_of_mix": round(len(picked) / (len(picked) + n_new), 4) if n_new else None,
        "sources": [{"run": str(df.run), "path": df.path, "sha256": df.sha256, "format": df.fmt,
                     "pool": pool_sizes.get(df.path, 0), "drawn": len(per_file.get(df.path, [])),
                     "ids": per_file.get(df.path, [])} for df in files],
    }
    return out
