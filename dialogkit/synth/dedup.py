"""Near-duplicate removal for synthesized dialogs.

Two keys, both stable across processes (sha1 of canonical text, never ``hash()``):

- **text**: the user and assistant texts, case-folded, with whitespace and punctuation removed;
  equal keys are the same conversation up to formatting.
- **skeleton** (outline only): the goal plus the sequence of dialog acts and tool calls. Two
  template dialogs with the same skeleton differ only in which wording variant was drawn, so
  the second teaches nothing new and is dropped as a near-duplicate.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from dialogkit.io import dumps

_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    # casefold already folds full-width Latin letters' case; NFKC is left out for speed.
    return _DROP.sub("", text.casefold())


def text_key(d: dict[str, Any]) -> str:
    # One regex pass over the whole conversation; "\n" + role letter keeps turns apart.
    parts = [f"{m['role'][0]}\n{m.get('content') or ''}\n" for m in d.get("messages", [])
             if m.get("role") in ("user", "assistant")]
    text = "".join(parts).casefold()
    return hashlib.sha1(re.sub(r"[^\S\n]+|[^\w\n]+|_", "", text).encode()).hexdigest()


def skeleton_key(d: dict[str, Any]) -> str:
    goal = dict(d.get("goal") or {})
    goal.pop("description", None)
    steps = []
    for m in d.get("messages", []):
        if m.get("role") == "tool":
            continue
        steps.append([m.get("role"), m.get("acts"), [(c["name"], c["arguments"]) for c in m.get("tool_calls", [])]])
    return hashlib.sha1(dumps([goal, steps])).hexdigest()


class Deduper:
    """Remembers keys of accepted dialogs; ``seen(d)`` says whether ``d`` repeats one."""

    def __init__(self, skeleton: bool = True):
        self.skeleton = skeleton
        self._keys: set[str] = set()

    def keys(self, d: dict[str, Any]) -> tuple[str, ...]:
        """The keys ``seen`` compares (computable in another process: plain strings)."""
        return (text_key(d), skeleton_key(d)) if self.skeleton else (text_key(d),)

    def has(self, keys: tuple[str, ...]) -> bool:
        return any(k in self._keys for k in keys)

    def add(self, keys: tuple[str, ...]) -> None:
        self._keys.update(keys)

    def seen(self, d: dict[str, Any]) -> bool:
        if self.skeleton:
            # Most template near-duplicates share the skeleton: the text key is then not needed.
            first = skeleton_key(d)
            if first in self._keys:
                return True
            keys: tuple[str, ...] = (first, text_key(d))
        else:
            keys = self.keys(d)
        if self.has(keys):
            return True
        self.add(keys)
        return False
