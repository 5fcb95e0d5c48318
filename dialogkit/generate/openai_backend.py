"""Generation through any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server …).

The API key comes from the environment (``OPENAI_API_KEY`` or the variable named by
``api_key_env``); local servers that need none get a placeholder. Tool-call arguments that are
not JSON are kept visible in ``content`` as a ``<tool_call>`` block, so JSON-validity scorers
count the failure instead of the message being dropped.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dialogkit.errors import MissingDependencyError
from dialogkit.formats.openai import dialog_to_record
from dialogkit.generate.base import ChatRequest, GenerationConfig
from dialogkit.schema import AssistantMessage, Dialog, ToolCall


class OpenAIBackend:
    name = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 4, timeout: float = 120.0, max_retries: int = 3):
        try:
            import openai
        except ImportError as e:
            raise MissingDependencyError("openai", "synth") from e
        self.model = model
        self.concurrency = concurrency
        self.client = openai.OpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
            api_key=os.environ.get(api_key_env) or "not-needed",
            timeout=timeout,
            max_retries=max_retries,
        )

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        rec, _ = dialog_to_record(Dialog(id="request", messages=request.messages, tools=request.tools))
        payload: dict[str, Any] = {"model": self.model, "messages": rec["messages"]}
        if "tools" in rec:
            payload["tools"] = rec["tools"]
        return payload

    def _one(self, request: ChatRequest, config: GenerationConfig) -> list[AssistantMessage]:
        resp = self.client.chat.completions.create(
            **self._payload(request),
            temperature=config.temperature,
            top_p=config.top_p,
            max_tokens=config.max_new_tokens,
            n=config.n,
            seed=config.seed,
        )
        return [to_assistant(choice.message) for choice in resp.choices]

    def generate(self, requests: list[ChatRequest], config: GenerationConfig) -> list[list[AssistantMessage]]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda r: self._one(r, config), requests))


def to_assistant(message: Any) -> AssistantMessage:
    """An OpenAI response message (object or dict) as a dialogkit assistant message."""
    get = message.get if isinstance(message, dict) else (lambda k, d=None: getattr(message, k, d))
    content = get("content") or ""
    calls: list[ToolCall] = []
    broken: list[str] = []
    for k, call in enumerate(get("tool_calls") or []):
        fn = call["function"] if isinstance(call, dict) else call.function
        name = fn["name"] if isinstance(fn, dict) else fn.name
        raw = fn["arguments"] if isinstance(fn, dict) else fn.arguments
        cid = (call.get("id") if isinstance(call, dict) else call.id) or f"call_{k}"
        try:
            args = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            args = None
        if isinstance(args, dict):
            calls.append(ToolCall(id=cid, name=name, arguments=args))
        else:
            broken.append(f'<tool_call>{{"name": {json.dumps(name)}, "arguments": {raw}}}</tool_call>')
    if broken:
        content = "\n".join([content, *broken]).strip()
    reasoning = get("reasoning_content", None) or get("reasoning", None)
    return AssistantMessage(role="assistant", content=content, tool_calls=calls,
                            reasoning=reasoning if isinstance(reasoning, str) else None)
