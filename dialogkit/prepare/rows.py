"""Training rows: token ids, unshifted labels (-100 = no loss) and what each row trains."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogkit.prepare.spans import TokenSpan
from dialogkit.prepare.truncate import Context

IGNORE = -100


@dataclass(slots=True)
class Row:
    """One training example.

    ``turn`` is the dialog index of the trained message when the row trains exactly one,
    else None. ``spans`` and ``context`` are the audit trail (which message each trained
    span belongs to, and the messages the row renders); they are not written to Parquet.
    """

    input_ids: list[int]
    labels: list[int]
    dialog_id: str
    turn: int | None = None
    position_ids: list[int] | None = None
    spans: list[TokenSpan] = field(default_factory=list)
    context: Context | None = None

    @property
    def trained_tokens(self) -> int:
        return len(self.labels) - self.labels.count(IGNORE)  # a C loop, for lists and arrays alike

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "input_ids": self.input_ids,
            "labels": self.labels,
            "dialog_id": self.dialog_id,
            "turn": self.turn,
        }
        if self.position_ids is not None:
            d["position_ids"] = self.position_ids
        return d


def labels_from_spans(ids: list[int], spans: list[TokenSpan]) -> list[int]:
    labels = [IGNORE] * len(ids)
    for s in spans:
        labels[s.start : s.end] = ids[s.start : s.end]
    return labels


def make_row(ids: list[int], spans: list[TokenSpan], dialog_id: str, ctx: Context) -> Row:
    """A row whose labels are the tokens of ``spans``; ``turn`` set when one message is trained."""
    trained = {s.msg for s in spans}
    turn = None
    if len(trained) == 1:
        (m,) = trained
        turn = ctx.index[m] if 0 <= m < len(ctx.index) else None
    return Row(ids, labels_from_spans(ids, spans), dialog_id, turn, None, spans, ctx)
