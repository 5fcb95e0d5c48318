"""Value pools gathered from the whole input, so an edit can swap in *another real value of the
same kind* (another city, another restaurant, another refusal) instead of an invented token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dialogkit.schema import Dialog

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_VALUES = 200  # per pool: enough variety, bounded memory on large inputs
MAX_REPLIES = 5000


def language_of(dialog: Dialog) -> str:
    """``zh`` or ``en``: the metadata language when given, else whether the user writes CJK."""
    lang = (dialog.metadata.language or "").lower()
    if lang:
        return "zh" if lang.startswith("zh") else lang.split("-")[0]
    users = " ".join(m.content for m in dialog.messages if m.role == "user")
    return "zh" if _CJK.search(users) else "en"


def domain_of(dialog: Dialog) -> str:
    d = dialog.metadata.domain
    if isinstance(d, list):
        return ",".join(sorted(map(str, d)))
    return d or ""


@dataclass(frozen=True)
class Reply:
    """A text reply of some dialog, a candidate off-topic or refusal text for another dialog."""

    dialog_id: str
    language: str
    domain: str
    intent: str
    expected: str
    text: str


def _add(pool: dict[Any, list[Any]], key: Any, value: Any) -> None:
    values = pool.setdefault(key, [])
    if value not in values and len(values) < MAX_VALUES:
        values.append(value)


def scalars(obj: Any, key: str | None = None) -> Iterable[tuple[str, Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from scalars(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from scalars(v, key)
    elif key is not None and isinstance(obj, (str, int, float)) and not isinstance(obj, bool):
        yield key, obj


@dataclass
class Corpus:
    """Per-kind value pools, in input order (so a seed gives the same choice every run)."""

    arg_values: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    slot_values: dict[str, list[Any]] = field(default_factory=dict)
    result_values: dict[str, list[Any]] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)

    def add(self, dialog: Dialog) -> None:
        lang, domain = language_of(dialog), domain_of(dialog)
        for m in dialog.messages:
            if m.role == "assistant":
                for call in m.tool_calls:
                    for arg, value in call.arguments.items():
                        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                            _add(self.arg_values, (call.name, arg), value)
                if m.state is not None:
                    for slot, value in m.state.slots.items():
                        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                            _add(self.slot_values, slot, value)
                if m.content.strip() and not m.tool_calls and len(self.replies) < MAX_REPLIES:
                    intent = (m.state.active_intent if m.state else None) or ""
                    self.replies.append(Reply(dialog.id, lang, domain, intent, m.expected or "", m.content))
            elif m.role == "tool":
                for key, value in scalars(m.content):
                    _add(self.result_values, key, value)

    def values_for(self, tool: str, arg: str, slot: str | None = None) -> list[Any]:
        """Known values of a tool argument, then of the slot that fills it."""
        out = list(self.arg_values.get((tool, arg), []))
        for v in self.slot_values.get(slot or arg, []):
            if v not in out:
                out.append(v)
        return out
