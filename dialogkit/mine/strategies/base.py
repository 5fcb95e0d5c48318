"""What a negative strategy sees (:class:`TurnContext`) and returns (:class:`Negative`).

A strategy makes one *small* edit of the gold assistant turn. It declares the scorer metrics
that must catch the edit (``targets``: the rejected turn must fail one of them while the chosen
turn passes it) and the metrics the edit must *not* break (``must_pass``, e.g. wrong arguments
must stay valid against the tool's JSON Schema). The runner enforces both; a strategy only
proposes, and returns ``None`` when it does not apply to the turn.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, ClassVar

from dialogkit.mine.corpus import Corpus
from dialogkit.schema import AssistantMessage, Dialog, ToolCall, ToolSpec


@dataclass
class TurnContext:
    """One gold assistant turn of a dialog, with the corpus-wide value pools."""

    dialog: Dialog
    index: int  # message index of the turn; the pair's prompt is ``messages[:index]``
    k: int  # ordinal among the dialog's assistant messages
    language: str
    corpus: Corpus
    annotation: dict[str, Any] | None = None

    @property
    def message(self) -> AssistantMessage:
        return self.dialog.messages[self.index]  # type: ignore[return-value]

    @property
    def history(self) -> list[Any]:
        return self.dialog.messages[: self.index]

    @property
    def expected(self) -> str | None:
        return self.message.expected or (self.annotation or {}).get("expected")

    @property
    def zh(self) -> bool:
        return self.language == "zh"

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.dialog.tools if t.function.name == name), None)

    def tool_results(self) -> list[Any]:
        return [m for m in self.history if m.role == "tool"]

    def context_text(self) -> str:
        """What the model was told before this turn: system, user and tool messages."""
        parts = []
        for m in self.history:
            if m.role in ("system", "user"):
                parts.append(m.content)
            elif m.role == "tool":
                parts.append(
                    m.content if isinstance(m.content, str) else json.dumps(m.content, ensure_ascii=False)
                )
        return "\n".join(parts)

    def later(self) -> list[Any]:
        return self.dialog.messages[self.index + 1 :]


@dataclass
class Negative:
    """A proposed rejected turn and what was changed (kept in the pair's metadata)."""

    message: AssistantMessage
    edit: dict[str, Any] = field(default_factory=dict)


class Strategy:
    """Base of the built-in strategies; plugins may implement the same attributes and ``propose``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    targets: ClassVar[tuple[str, ...]] = ()
    must_pass: ClassVar[tuple[str, ...]] = ()

    def propose(
        self, ctx: TurnContext, rng: random.Random
    ) -> Negative | list[Negative] | None:  # pragma: no cover
        """The rejected turn, or several in order of preference (the first verified one is kept)."""
        raise NotImplementedError


def rng_for(seed: int, *parts: Any) -> random.Random:
    """A generator keyed by the seed and the turn, independent of order and of PYTHONHASHSEED."""
    key = hashlib.sha256("|".join(map(str, (seed, *parts))).encode("utf-8")).digest()
    return random.Random(int.from_bytes(key[:8], "big"))


def rejected_turn(
    gold: AssistantMessage, content: str = "", tool_calls: list[ToolCall] | None = None
) -> AssistantMessage:
    """A rejected turn: new content/calls; the gold turn's labels (state, acts, expected) are not
    carried over since they describe the gold action. Reasoning is kept so only the action differs
    (``wrong_state`` is the one strategy that edits the reasoning, with :func:`retell`)."""
    return AssistantMessage(
        role="assistant", content=content, tool_calls=tool_calls or [], reasoning=gold.reasoning
    )


def value_pattern(value: Any) -> re.Pattern[str]:
    # ASCII word boundaries only: "2" must not match inside "12:00", but a Chinese value may sit
    # between Chinese characters ("去北京的").
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(str(value))}(?![A-Za-z0-9_])")


def retell(text: str | None, changes: dict[Any, Any]) -> str | None:
    """``text`` with each old value replaced by its new one, all at once; ``None`` unless every old
    value occurs in it exactly once (an ambiguous or absent value is left to the caller)."""
    if not text or not changes:
        return None
    spans = []
    for old, new in changes.items():
        hits = list(value_pattern(old).finditer(text))
        if len(hits) != 1:
            return None
        spans.append((hits[0].start(), hits[0].end(), str(new)))
    spans.sort()
    if any(a[1] > b[0] for a, b in pairwise(spans)):
        return None
    out, pos = [], 0
    for start, end, new in spans:
        out += [text[pos:start], new]
        pos = end
    return "".join([*out, text[pos:]])


def pick(rng: random.Random, options: list[Any]) -> Any:
    return options[rng.randrange(len(options))] if options else None
