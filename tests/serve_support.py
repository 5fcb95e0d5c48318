"""Shared helpers for the serve tests: a scriptable fake backend and SSE parsing (not a test module)."""

from __future__ import annotations

import json
import threading
from typing import Any

from dialogkit.generate import parse_completion

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


CALL_TEXT = '<tool_call>{"name": "get_weather", "arguments": {"city": "北京"}}</tool_call>'


class FakeBackend:
    """Answers with ``reply(request)`` text, parsed like a real model's output; records what it saw."""

    name = "fake"

    def __init__(self, reply: Any = "Hello there!", gate: threading.Event | None = None, fail: bool = False):
        self.reply = reply
        self.gate = gate
        self.fail = fail
        self.seen: list[Any] = []
        self.started = threading.Event()

    def generate(self, requests: list[Any], config: Any) -> list[list[Any]]:
        self.seen.append((requests, config))
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        if self.fail:
            raise RuntimeError("CUDA out of memory (simulated) /secret/path/model.py line 42")
        out = []
        for r in requests:
            text = self.reply(r) if callable(self.reply) else self.reply
            out.append([parse_completion(text) for _ in range(config.n)])
        return out


def sse_events(body: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body, JSON-decoded (``[DONE]`` kept as the string)."""
    out = []
    for block in body.split("\n\n"):
        block = block.strip()
        if not block:
            continue
        assert block.startswith("data: "), block
        payload = block.removeprefix("data: ")
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def joined(events: list[Any], key: str, index: int = 0) -> str:
    """Concatenation of one delta field over a stream's chunks."""
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in events
                   if isinstance(c, dict) and c.get("choices") and c["choices"][0]["index"] == index)
