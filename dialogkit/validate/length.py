"""The length rule: render each dialog with the tokenizer's chat template, count tokens, and
say how many of the oldest whole turns truncation would have to drop to fit.

transformers is imported only when ``--tokenizer`` is given, so ``validate`` stays light.
"""

from __future__ import annotations

import json
from typing import Any

from dialogkit.errors import InputError, MissingDependencyError
from dialogkit.validate.tools import Emit


def to_chat(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dialogkit messages in the shape HF chat templates expect (OpenAI-style tool calls)."""
    out = []
    for m in messages:
        role = m["role"]
        if role == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.get("content", "")}
            if m.get("tool_calls"):
                msg["tool_calls"] = [
                    {"id": c["id"], "type": "function",
                     "function": {"name": c["name"], "arguments": c.get("arguments") or {}}}
                    for c in m["tool_calls"]
                ]
            if m.get("reasoning"):
                msg["reasoning_content"] = m["reasoning"]
            out.append(msg)
        elif role == "tool":
            content = m["content"] if isinstance(m["content"], str) else json.dumps(m["content"], ensure_ascii=False)
            out.append({"role": "tool", "content": content, "tool_call_id": m["tool_call_id"], "name": m["name"]})
        else:
            out.append({"role": role, "content": m["content"]})
    return out


def _turns(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Leading system messages, and the turns: each from a user message to the next one."""
    head: list[dict[str, Any]] = []
    turns: list[list[dict[str, Any]]] = []
    for m in messages:
        if m["role"] == "user" or (not turns and m["role"] != "system"):
            turns.append([m])
        elif turns:
            turns[-1].append(m)
        else:
            head.append(m)
    return head, turns


class LengthChecker:
    """Counts chat-template tokens with a local tokenizer (one per process, loaded once)."""

    def __init__(self, tokenizer: str, max_length: int):
        try:
            from transformers import AutoTokenizer
        except ImportError as e:  # pragma: no cover - depends on the install
            raise MissingDependencyError("transformers", "train") from e
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        except (OSError, ValueError) as e:
            raise InputError(f"{tokenizer}: cannot load the tokenizer: {e}") from e
        if not getattr(self.tokenizer, "chat_template", None):
            raise InputError(f"{tokenizer}: the tokenizer has no chat template")
        self.max_length = max_length

    def count(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> int:
        text = self.tokenizer.apply_chat_template(to_chat(messages), tools=tools or None, tokenize=False)
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def check(self, dialog: dict[str, Any], emit: Emit) -> int | None:
        """Emit TOO_LONG (or TEMPLATE_ERROR); return the token count when it could be rendered."""
        tools = dialog.get("tools")
        msgs = dialog["messages"]
        try:
            n = self.count(msgs, tools)
        except Exception as e:  # noqa: BLE001 - templates raise anything (jinja, KeyError ...)
            emit(("TEMPLATE_ERROR", "messages", f"the chat template cannot render this dialog: {type(e).__name__}: {e}"))
            return None
        if n <= self.max_length:
            return n
        head, turns = _turns(msgs)
        emit(("TOO_LONG", "messages", f"{n} tokens > --max-length {self.max_length}; {self._fit(head, turns, tools)}"))
        return n

    def _fit(self, head: list[dict[str, Any]], turns: list[list[dict[str, Any]]], tools: Any) -> str:
        # Fewest oldest whole turns to drop (binary search: fewer turns never render longer).
        lo, hi = 1, len(turns) - 1
        best = None
        while lo <= hi:
            mid = (lo + hi) // 2
            kept = head + [m for t in turns[mid:] for m in t]
            if self.count(kept, tools) <= self.max_length:
                best, hi = mid, mid - 1
            else:
                lo = mid + 1
        if best is None:
            last = self.count(head + turns[-1], tools) if turns else 0
            return f"even the last turn alone (with system and tools) is {last} tokens"
        return f"truncation would drop the {best} oldest of {len(turns)} turns"
