"""Is a chat template prefix-stable?

A template is prefix-stable when every assistant turn renders the same inside the whole
conversation as it does as the last turn, and the inference prompt (history + generation
prompt) is a prefix of both. Then one row per dialog trains every turn on exactly the context
the model sees at inference. Qwen3's stock template is the classic counter-example: it drops
``<think>`` blocks of turns before the last user query, and adds an empty one to the last turn.

Untagged templates are checked per dialog (prefix rendering does it anyway); tagged templates
render once per dialog, so they are probed here once with dialogs that exercise what templates
branch on: several user turns, tool calls (parallel ones too), tool results, reasoning, a
system prompt or none, tools or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialogkit.errors import RecordError
from dialogkit.prepare.render import Renderer
from dialogkit.prepare.spans import render_turn

_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def _call(cid: str, city: str) -> dict[str, Any]:
    return {"type": "function", "id": cid, "function": {"name": "get_weather", "arguments": {"city": city}}}


def probe_dialogs() -> list[tuple[list[dict[str, Any]], list[dict[str, Any]] | None]]:
    """Small dialogs covering the branches templates take; ``(messages, tools)`` each."""
    sys = {"role": "system", "content": "You are a helpful assistant."}
    u1 = {"role": "user", "content": "Hi, what's the weather in Paris and 北京?"}
    calls = {"role": "assistant", "content": "", "tool_calls": [_call("c1", "Paris"), _call("c2", "北京")]}
    r1 = {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": '{"temp": 21}'}
    r2 = {"role": "tool", "tool_call_id": "c2", "name": "get_weather", "content": '{"temp": 25}'}
    a1 = {"role": "assistant", "content": "Paris is 21°C, 北京 25°C.", "reasoning_content": "Both lookups returned."}
    u2 = {"role": "user", "content": "Thanks! And tomorrow?"}
    a2 = {"role": "assistant", "content": "I can only see today's weather.", "reasoning_content": "No forecast tool."}
    u3 = {"role": "user", "content": "OK, bye."}
    a3 = {"role": "assistant", "content": "Bye!"}
    plain = [sys, {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there."},
             {"role": "user", "content": "How are you?"}, {"role": "assistant", "content": "Fine, thanks."}]
    return [
        (plain, None),
        (plain[1:], None),
        ([sys, u1, calls, r1, r2, a1, u2, a2, u3, a3], _TOOLS),
        ([u1, calls, r1, r2, a1, u2, a2], _TOOLS),
    ]


@dataclass(frozen=True)
class Stability:
    stable: bool | None  # None: no probe could be rendered
    reason: str | None = None


def dialog_stability(renderer: Renderer, messages: list[dict[str, Any]], tools: Any) -> str | None:
    """Why ``messages`` is not prefix-stable under ``renderer`` (None when it is)."""
    full = renderer.render(messages, tools).text
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        turn = render_turn(renderer, messages, tools, i)
        if not turn.prompt_is_prefix:
            return f"messages[{i}]: the inference prompt is not a prefix of the turn rendered last"
        if not full.startswith(turn.full):
            return f"messages[{i}]: the turn renders differently inside the conversation than as the last turn"
    return None


def template_stability(renderer: Renderer) -> Stability:
    """Probe ``renderer`` with :func:`probe_dialogs`; probes the template refuses are skipped."""
    rendered = 0
    for messages, tools in probe_dialogs():
        try:
            reason = dialog_stability(renderer, messages, tools)
        except RecordError:
            continue  # e.g. a template without tool support that raises on the tool role
        rendered += 1
        if reason is not None:
            return Stability(False, reason)
    if not rendered:
        return Stability(None, "the template rendered none of the probe dialogs")
    return Stability(True)
