"""Model text → an assistant message: reasoning, tool calls and the visible reply.

Tool calls follow the Hermes/Qwen convention every dialogkit template renders:
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``. A block that is not valid JSON is
kept verbatim in ``content`` so that JSON-validity scorers see the failure instead of losing it.
"""

from __future__ import annotations

import json
import re

from dialogkit.schema import AssistantMessage, ToolCall

_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.S)
_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


def parse_completion(text: str, call_id_prefix: str = "call") -> AssistantMessage:
    """Split generated ``text`` into reasoning, tool calls and content."""
    reasoning = None
    m = _THINK.match(text)
    if m:
        reasoning = m.group(1).strip()
        text = text[m.end():]
    calls: list[ToolCall] = []
    kept: list[str] = []
    pos = 0
    for k, block in enumerate(_CALL.finditer(text)):
        kept.append(text[pos:block.start()])
        pos = block.end()
        call = _parse_call(block.group(1), f"{call_id_prefix}_{k}")
        if call is None:
            kept.append(block.group(0))
        else:
            calls.append(call)
    kept.append(text[pos:])
    content = "".join(kept).strip()
    return AssistantMessage(role="assistant", content=content, tool_calls=calls, reasoning=reasoning or None)


def _parse_call(body: str, call_id: str) -> ToolCall | None:
    try:
        obj = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return None
    if not isinstance(args, dict):
        return None
    return ToolCall(id=call_id, name=obj["name"], arguments=args)
