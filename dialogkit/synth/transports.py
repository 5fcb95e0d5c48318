"""The wire under :class:`~dialogkit.synth.client.ChatClient`: an endpoint or an in-process model.

- :class:`OpenAITransport`: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp
  server ...) through the ``openai`` SDK with its own retries off (``max_retries=0``), so the
  client's retries are the only ones. Errors become :class:`TransportError` with a kind the
  client acts on (429 with its ``Retry-After``, 5xx, timeout, connection, bad request, fatal).
- :class:`BackendTransport`: a ``dialogkit.generate`` backend (a local model or LoRA run) with
  micro-batching; its answers are OpenAI-shaped bodies, so journal and checks are the same.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import orjson

from dialogkit.errors import MissingDependencyError
from dialogkit.synth.client import TransportError


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    for name, div in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / div)
        except ValueError:
            continue  # an HTTP date: let backoff decide
    return None


class OpenAITransport:
    """Any OpenAI-compatible endpoint through the ``openai`` SDK (``max_retries=0``: ours only)."""

    name = "openai"

    def __init__(self, base_url: str | None, api_key: str, concurrency: int = 8):
        try:
            import openai
        except ImportError as e:
            raise MissingDependencyError("openai", "synth") from e
        try:  # openai >= 3 ships on httpx2; older releases on httpx
            import httpx2
        except ImportError:  # pragma: no cover - depends on the installed openai
            import httpx as httpx2  # type: ignore[no-redef]

        self._openai = openai
        self._httpx2 = httpx2
        limits = httpx2.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0,
                                         http_client=httpx2.AsyncClient(limits=limits, timeout=None))

    async def send(self, payload: dict[str, Any], timeout: float) -> bytes:
        oa = self._openai
        try:
            # The SDK's generic post: its error mapping and connection handling, without the
            # per-field transform of typed ``create()`` params (milliseconds per long request).
            resp = await self.client.post("/chat/completions", cast_to=self._httpx2.Response, body=payload,
                                          options={"timeout": timeout})
            return await resp.aread()
        except oa.APITimeoutError as e:
            raise TransportError("timeout", f"no answer within {timeout:g}s") from e
        except oa.APIConnectionError as e:
            raise TransportError("connection", str(e) or "connection error") from e
        except oa.APIStatusError as e:
            raise _status_error(e.status_code, e.message, e.response.headers) from e

    async def aclose(self) -> None:
        await self.client.close()


def _status_error(status: int, message: str, headers: Any) -> TransportError:
    if status == 429:
        return TransportError("rate_limit", f"429: {message}", status, _retry_after(headers))
    if status in (401, 403, 404):
        return TransportError("fatal", f"{status}: {message}", status)
    if status >= 500 or status in (408, 409):
        return TransportError("server", f"{status}: {message}", status, _retry_after(headers))
    return TransportError("bad_request", f"{status}: {message}", status)


class BackendTransport:
    """An in-process ``dialogkit.generate`` backend (local model or LoRA run), micro-batched.

    Requests arriving within ``wait_s`` of each other (up to ``batch_size``) are generated in one
    ``Backend.generate`` call in a worker thread; the answer is an OpenAI-shaped body, so the
    journal, checks and resume work exactly as for an endpoint.
    """

    def __init__(self, backend: Any, batch_size: int = 8, wait_s: float = 0.02):
        self.backend = backend
        self.name = f"backend:{getattr(backend, 'name', 'local')}"
        self.batch_size = batch_size
        self.wait_s = wait_s
        self.queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[bytes]]] | None = None
        self.worker: asyncio.Task[None] | None = None

    async def send(self, payload: dict[str, Any], timeout: float) -> bytes:
        if self.queue is None:
            self.queue = asyncio.Queue()
            self.worker = asyncio.create_task(self._run())
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        await self.queue.put((payload, fut))
        return await fut

    async def _run(self) -> None:
        assert self.queue is not None
        while True:
            batch = [await self.queue.get()]
            deadline = time.monotonic() + self.wait_s
            while len(batch) < self.batch_size:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), left))
                except asyncio.TimeoutError:
                    break
            groups: dict[tuple[Any, ...], list[tuple[dict[str, Any], asyncio.Future[bytes]]]] = {}
            for item in batch:
                p = item[0]
                # One sampling seed per batch (that of its first request): exact per-request seeds
                # would mean batches of one. Greedy decoding (temperature 0) does not use it.
                groups.setdefault((p.get("temperature", 0.0), p.get("max_tokens", 256)), []).append(item)
            for items in groups.values():
                await self._generate(items)

    async def _generate(self, items: list[tuple[dict[str, Any], asyncio.Future[bytes]]]) -> None:
        from dialogkit.generate import ChatRequest, GenerationConfig

        p0 = items[0][0]
        try:
            reqs = [ChatRequest(messages=_to_messages(p["messages"]), tools=_to_tools(p.get("tools")))
                    for p, _ in items]
            cfg = GenerationConfig(max_new_tokens=int(p0.get("max_tokens", 256)),
                                   temperature=float(p0.get("temperature", 0.0)), seed=int(p0.get("seed", 0)),
                                   batch_size=len(items))
            outs = await asyncio.to_thread(self.backend.generate, reqs, cfg)
        except Exception as e:  # noqa: BLE001 - a local model error is this batch's failure, retried like a 5xx
            for _, fut in items:
                if not fut.done():
                    fut.set_exception(TransportError("server", f"local backend: {type(e).__name__}: {e}"))
            return
        for (_, fut), out in zip(items, outs):
            if not fut.done():
                fut.set_result(orjson.dumps(_body(out[0])))

    async def aclose(self) -> None:
        if self.worker is not None:
            self.worker.cancel()


def _to_messages(messages: list[dict[str, Any]]) -> list[Any]:
    from dialogkit.formats.openai import messages_from_openai
    from dialogkit.schema import MessageAdapter

    return [MessageAdapter.validate_python(m) for m in messages_from_openai(messages)]


def _to_tools(tools: list[dict[str, Any]] | None) -> list[Any]:
    from dialogkit.schema import ToolSpec

    return [ToolSpec.model_validate(t) for t in tools or []]


def _body(msg: Any) -> dict[str, Any]:
    """An AssistantMessage as an OpenAI chat-completion body."""
    m: dict[str, Any] = {"role": "assistant", "content": msg.content}
    if msg.tool_calls:
        m["tool_calls"] = [{"id": c.id, "type": "function",
                            "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                           for c in msg.tool_calls]
    return {"choices": [{"index": 0, "message": m, "finish_reason": "tool_calls" if msg.tool_calls else "stop"}]}
