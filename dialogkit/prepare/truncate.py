"""Truncation that keeps the latest turns: "recent turns + summary".

A dialog is a head (its leading system messages; tools travel separately and are always kept)
followed by turns. A turn starts at a user message and holds everything up to the next one:
the assistant's replies, its tool calls and their results. Only whole turns are dropped,
oldest first, so a tool call is never separated from its result and no turn is cut inside.
Optionally a summary of what was dropped joins the system message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialogkit.schema import Dialog

# (dialog, dropped messages in dialogkit form) -> summary text, or None for no summary
Summarizer = Callable[[Dialog, list[Any]], "str | None"]


@dataclass(slots=True)
class Context:
    """The messages one row renders, and where each came from in the dialog."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    index: list[int | None]  # dialog message index of each message (None: inserted summary)
    dropped_turns: int = 0
    summary: bool = False
    dropped: list[int] = field(default_factory=list)  # dialog indices of dropped messages


@dataclass(slots=True)
class Turns:
    head: list[int]
    groups: list[list[int]]

    def group_of(self, index: int) -> int:
        for g, members in enumerate(self.groups):
            if index in members:
                return g
        raise ValueError(f"message {index} is in the head")


def split_turns(messages: list[dict[str, Any]]) -> Turns:
    """Leading system messages, then groups that each start at a user message."""
    n = 0
    while n < len(messages) and messages[n]["role"] == "system":
        n += 1
    groups: list[list[int]] = []
    for i in range(n, len(messages)):
        if messages[i]["role"] == "user" or not groups:
            groups.append([])
        groups[-1].append(i)
    return Turns(list(range(n)), groups)


def build_context(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    turns: Turns,
    drop: int = 0,
    upto: int | None = None,
    summary: str | None = None,
    summary_prefix: str = "",
) -> Context:
    """The head, the turns from ``drop`` on, up to message ``upto`` (inclusive) if given."""
    last_group = len(turns.groups) if upto is None else turns.group_of(upto) + 1
    kept = [i for g in turns.groups[drop:last_group] for i in g if upto is None or i <= upto]
    dropped = [i for g in turns.groups[:drop] for i in g]
    index: list[int | None] = [*turns.head, *kept]
    msgs = [messages[i] for i in index if i is not None]
    has_summary = False
    if drop and summary:
        text = summary_prefix + summary
        if turns.head:
            first = dict(msgs[0])
            first["content"] = f"{first['content']}\n\n{text}"
            msgs[0] = first
        else:
            msgs.insert(0, {"role": "system", "content": text})
            index.insert(0, None)
        has_summary = True
    return Context(msgs, tools, index, drop, has_summary, dropped)


def metadata_summary(dialog: Dialog, key: str) -> str | None:
    """``dialog.metadata[key]`` when it is a non-empty string."""
    value = (dialog.metadata.model_extra or {}).get(key)
    return value if isinstance(value, str) and value.strip() else None


def fit(length_of: Callable[[int], int | None], max_drop: int, max_length: int) -> int | None:
    """The fewest turns to drop (0..max_drop) so that ``length_of(drop) <= max_length``.

    ``length_of`` returns None when that context can't be built; lengths shrink as turns go,
    so a binary search needs only a few renders even for very long dialogs.
    """

    def fits(d: int) -> bool:
        n = length_of(d)
        return n is not None and n <= max_length

    if fits(0):
        return 0
    if not fits(max_drop):
        return None
    lo, hi = 0, max_drop  # lo does not fit, hi fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi
