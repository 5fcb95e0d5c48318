"""Best-fit-decreasing packing with per-sample ``position_ids`` (padding-free, no contamination).

Rows are never split: each packed row is whole samples laid end to end, and ``position_ids``
restart at 0 for each, so FlashAttention varlen kernels and transformers' sdpa/eager path
(which rebuilds a block-diagonal mask from the position resets) keep samples apart.
``seq_lengths`` is what TRL's padding-free collator reads.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass
from typing import Any

from dialogkit.errors import UsageError
from dialogkit.prepare.rows import Row


@dataclass(slots=True)
class PackedRow:
    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]
    seq_lengths: list[int]
    dialog_ids: list[str]
    turns: list[int | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_ids": self.input_ids,
            "labels": self.labels,
            "dialog_id": "|".join(self.dialog_ids),
            "turn": None,
            "position_ids": self.position_ids,
            "seq_lengths": self.seq_lengths,
            "dialog_ids": self.dialog_ids,
            "turns": self.turns,
        }


def best_fit_decreasing(lengths: list[int], capacity: int) -> list[list[int]]:
    """Bins of item indices: longest first, each into the fullest bin it still fits."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (space left, bin index), sorted
    for i in order:
        n = lengths[i]
        if n > capacity:
            raise UsageError(f"a row of {n} tokens does not fit in a pack of {capacity}")
        pos = bisect_left(free, (n, -1))
        if pos == len(free):
            bins.append([i])
            insort(free, (capacity - n, len(bins) - 1))
            continue
        left, b = free.pop(pos)
        bins[b].append(i)
        insort(free, (left - n, b))
    return bins


def pack_rows(rows: list[Row], capacity: int) -> tuple[list[PackedRow], float]:
    """Packed rows and the packing efficiency (tokens / (packs * capacity))."""
    lengths = [len(r.input_ids) for r in rows]
    packed = []
    for members in best_fit_decreasing(lengths, capacity):
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        for i in members:
            r = rows[i]
            ids += r.input_ids
            labels += r.labels
            pos += range(len(r.input_ids))
        packed.append(PackedRow(ids, labels, pos, [lengths[i] for i in members],
                                [rows[i].dialog_id for i in members], [rows[i].turn for i in members]))
    total = sum(lengths)
    eff = total / (len(packed) * capacity) if packed else 0.0
    return packed, eff
