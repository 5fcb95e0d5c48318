"""A rate-limited, retrying, journaled chat-completions client for LLM synthesis.

One :class:`ChatClient` is shared by every dialog and role of a run (user simulator,
assistant, paraphraser), so the limits are global:

- a concurrency cap (requests in flight), an RPM and a TPM budget (leaky buckets; tokens are
  estimated before sending and corrected from ``usage`` after);
- retries with exponential backoff and jitter on 429, 5xx, timeouts and connection errors;
  ``Retry-After`` / ``retry-after-ms`` on a 429 is honoured and pauses *all* new requests, so
  the retries of many dialogs do not fire in lockstep; backoff sleeps never hold a slot;
- a malformed body (not JSON, no ``choices``) is retried a bounded number of times; an answer
  the caller rejects (tool call with broken arguments, unknown tool, empty text) is asked again
  with a bumped ``seed`` (a new request); when the budget is spent the caller gets a
  :class:`RequestFailed` with a stable code, and the journal a ``fail`` record — never ``None``;
- every answer is written to the :class:`~dialogkit.synth.journal.Journal` (fsync) before it
  is used, and a request whose key is already answered there is never sent again.

The wire is a :class:`Transport` (:mod:`dialogkit.synth.transports`): any OpenAI-compatible
endpoint through the ``openai`` SDK (its own retries off), or an in-process
``dialogkit.generate`` backend (a local model or LoRA run) with micro-batching.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field

from dialogkit.errors import DialogkitError
from dialogkit.synth.journal import Journal, request_key


class ClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(8, ge=1, description="Requests in flight at most.")
    rpm: float | None = Field(None, gt=0, description="Requests per minute at most.")
    tpm: float | None = Field(None, gt=0, description="Tokens per minute at most (estimated, then corrected).")
    max_retries: int = Field(6, ge=0, description="Retries of one request on 429, 5xx, timeouts, connection errors.")
    max_invalid: int = Field(2, ge=0, description="Extra attempts after a malformed body or a rejected answer.")
    timeout: float = Field(120.0, gt=0, description="Seconds per HTTP request.")
    backoff_base: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    max_retry_after: float = Field(120.0, ge=0, description="Longest Retry-After honoured (longer ones are capped).")
    jitter_seed: int | None = None


class TransportError(Exception):
    """One failed attempt. ``kind``: rate_limit, server, timeout, connection, bad_request, fatal."""

    def __init__(self, kind: str, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class RequestFailed(DialogkitError):
    """A request that could not be answered usefully within its retry budget (explicit, coded)."""

    def __init__(self, code: str, message: str, key: str, attempts: int):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.key = key
        self.attempts = attempts


class EndpointError(DialogkitError):
    """The endpoint refuses every request (bad key, unknown model): the run stops."""


_CODE = re.compile(r"[A-Z][A-Z0-9_]+")
_FAIL_CODES = {"rate_limit": "RATE_LIMITED", "server": "SERVER_ERROR", "timeout": "TIMEOUT",
               "connection": "CONNECTION_ERROR", "bad_request": "BAD_REQUEST"}


class Transport(Protocol):
    name: str

    async def send(self, payload: dict[str, Any], timeout: float) -> bytes:
        """The raw response body, or :class:`TransportError`."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class Completion:
    """One usable answer: the assistant message as plain JSON plus bookkeeping."""

    key: str
    content: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    cached: bool = False
    sample: int = 0  # how many rejected answers came before this one


@dataclass
class ClientStats:
    sent: int = 0  # HTTP attempts
    answered: int = 0  # answers journaled
    cached: int = 0  # answers read back from the journal instead of sent
    retries: int = 0
    rejected: int = 0  # answers or bodies not usable (asked again)
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0
    started: float = field(default_factory=time.perf_counter)

    def count(self, code: str) -> None:
        self.codes[code] = self.codes.get(code, 0) + 1

    def line(self) -> str:
        el = max(time.perf_counter() - self.started, 1e-9)
        codes = ", ".join(f"{k} {v}" for k, v in sorted(self.codes.items()))
        return (f"requests: sent {self.sent} ({self.sent / el:.1f}/s), answered {self.answered}, "
                f"from journal {self.cached}, retries {self.retries}, rejected {self.rejected}, "
                f"failed {self.failed}; tokens {self.prompt_tokens}+{self.completion_tokens}"
                + (f"; {codes}" if codes else ""))


class Bucket:
    """A leaky bucket of ``per_minute`` units; one second of burst; debt allowed for big requests."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.cap = max(1.0, self.rate)
        self.level = self.cap
        self.t = time.monotonic()
        self.lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.cap, self.level + (now - self.t) * self.rate)
        self.t = now

    async def take(self, amount: float) -> None:
        async with self.lock:  # FIFO: a big request is not starved by small ones
            while True:
                self._refill()
                need = min(amount, self.cap)
                if self.level >= need:
                    self.level -= amount
                    return
                await asyncio.sleep((need - self.level) / self.rate)

    def give_back(self, amount: float) -> None:
        self.level = min(self.cap, self.level + amount)


def estimate_tokens(payload: dict[str, Any]) -> int:
    """A cheap upper-ish guess: ~3 bytes of JSON per token, plus the completion budget."""
    return len(orjson.dumps(payload.get("messages", []))) // 3 + int(payload.get("max_tokens") or 256)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON body of a chat completion, or ValueError when it is not one."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise ValueError("body is not a JSON object")  # noqa: TRY004 - one error type for every unusable body
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict) \
            or not isinstance(choices[0].get("message"), dict):
        raise ValueError("body has no choices[0].message")
    return body


def message_of(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Content and tool calls (arguments parsed) of a body; ValueError for an unusable tool call."""
    msg = body["choices"][0]["message"]
    content = msg.get("content") or ""
    if not isinstance(content, str):
        raise ValueError("message content is not text")  # noqa: TRY004 - one error type for every unusable body
    calls = []
    for k, call in enumerate(msg.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise ValueError(f"tool_calls[{k}] has no function name")
        args = fn.get("arguments")
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                raise ValueError(f"tool_calls[{k}] ({fn['name']}): arguments are not JSON: {e}") from None
        if not isinstance(args, dict):
            raise ValueError(f"tool_calls[{k}] ({fn['name']}): arguments are not a JSON object")  # noqa: TRY004
        calls.append({"id": call.get("id") or f"call_{k}", "name": fn["name"], "arguments": args})
    return content, calls


Check = Callable[[str, list[dict[str, Any]]], str | None]


class PriorityGate:
    """A semaphore whose waiters get a slot lowest ``priority`` first (FIFO among equals).

    Self-play passes the dialog index, so the dialogs the run needs first are never slowed by
    ones started later to keep the slots busy (see :class:`~dialogkit.synth.journal.OrderedRunner`).
    """

    def __init__(self, slots: int):
        self.free = slots
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    async def acquire(self, priority: float = 0.0) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as this waiter was cancelled
            raise

    def release(self) -> None:
        while self._waiters:
            fut = heapq.heappop(self._waiters)[2]
            if not fut.done():  # cancelled waiters are skipped here, not searched for
                fut.set_result(None)
                return
        self.free += 1


class ChatClient:
    """Shared by all dialogs of a run; see the module docstring for the guarantees."""

    def __init__(self, transport: Transport, journal: Journal, config: ClientConfig | None = None):
        self.transport = transport
        self.journal = journal
        self.cfg = config or ClientConfig()
        self.stats = ClientStats()
        self.gate = PriorityGate(self.cfg.concurrency)
        self.rpm = Bucket(self.cfg.rpm) if self.cfg.rpm else None
        self.tpm = Bucket(self.cfg.tpm) if self.cfg.tpm else None
        self.pause_until = 0.0
        self.rng = random.Random(self.cfg.jitter_seed)

    async def complete(self, payload: dict[str, Any], meta: dict[str, Any] | None = None,
                       check: Check | None = None, priority: float = 0.0) -> Completion:
        """A usable answer to ``payload`` (from the journal when it has one).

        ``check(content, tool_calls)`` returns why an answer is unusable (or None); the request
        is then asked again with ``seed`` bumped, up to ``max_invalid`` times. When requests
        wait for a slot, the lowest ``priority`` goes first.

        Raises:
            RequestFailed: retries spent; the journal has a ``fail`` record with the code.
            EndpointError: the endpoint refuses every request (401, 403, 404).
        """
        problem, code, key = "", "INVALID_RESPONSE", ""
        for sample in range(self.cfg.max_invalid + 1):
            p = payload if sample == 0 else {**payload, "seed": int(payload.get("seed", 0)) + sample}
            key = request_key(p)
            hit = self.journal.responses.get(key)
            if hit is not None:
                self.stats.cached += 1
                body = hit["body"]
            else:
                body = await self._fetch(p, key, meta or {}, priority)
            try:
                content, calls = message_of(body)
                why = check(content, calls) if check is not None else None
            except ValueError as e:
                why, code = str(e), "INVALID_TOOL_CALL"
            else:
                code = "INVALID_RESPONSE"
            if why is None:
                return self._completion(key, body, content, calls, hit is not None, sample)
            problem = why
            self.stats.rejected += 1
            # a check may name its reason: "VALUE_LOST: ..." is counted as VALUE_LOST
            head = why.split(":", 1)[0]
            label = head if _CODE.fullmatch(head) else code
            self.stats.count(label)
            if hit is None:
                await self.journal.aappend({"t": "bad", "key": key, "code": label, "message": why[:300], **meta_of(meta)})
        await self._fail(key, code, problem, self.cfg.max_invalid + 1, meta)
        raise AssertionError("unreachable")

    def _completion(self, key: str, body: dict[str, Any], content: str, calls: list[dict[str, Any]],
                    cached: bool, sample: int) -> Completion:
        choice = body["choices"][0]
        return Completion(key=key, content=content, tool_calls=calls, finish_reason=choice.get("finish_reason"),
                          usage=body.get("usage") or {}, fingerprint=body.get("system_fingerprint"),
                          cached=cached, sample=sample)

    async def _fail(self, key: str, code: str, message: str, attempts: int, meta: dict[str, Any] | None) -> None:
        self.stats.failed += 1
        self.stats.count(code)
        await self.journal.aappend({"t": "fail", "key": key, "code": code, "message": message[:500],
                                    "attempts": attempts, **meta_of(meta)})
        raise RequestFailed(code, message, key, attempts)

    async def _admit(self, tokens: int) -> None:
        while True:
            wait = self.pause_until - time.monotonic()
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        if self.rpm is not None:
            await self.rpm.take(1)
        if self.tpm is not None:
            await self.tpm.take(tokens)

    def _backoff(self, attempt: int) -> float:
        d = min(self.cfg.backoff_max, self.cfg.backoff_base * 2 ** attempt)
        return d * (0.5 + self.rng.random())

    async def _fetch(self, payload: dict[str, Any], key: str, meta: dict[str, Any],
                     priority: float = 0.0) -> dict[str, Any]:
        attempt = malformed = 0
        est = estimate_tokens(payload)
        while True:
            # Slot first, then the rate budget: when a limit binds, the waiting order (priority)
            # decides who gets the budget too. Backoff sleeps below never hold a slot.
            await self.gate.acquire(priority)
            try:
                await self._admit(est)
                self.journal.log.append({"t": "req", "key": key, "attempt": attempt + malformed,
                                         "ts": round(time.time(), 3), **meta_of(meta)}, sync=False)
                self.stats.sent += 1
                self.stats.in_flight += 1
                self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
                t0 = time.perf_counter()
                try:
                    raw = await self.transport.send(payload, self.cfg.timeout)
                    err = None
                except TransportError as e:
                    err = e
                finally:
                    self.stats.in_flight -= 1
                latency = time.perf_counter() - t0
            finally:
                self.gate.release()
            if err is None:
                try:
                    body = parse_body(raw)
                except ValueError as e:
                    malformed += 1
                    self.stats.rejected += 1
                    self.stats.count("MALFORMED_RESPONSE")
                    await self.journal.aappend({"t": "bad", "key": key, "code": "MALFORMED_RESPONSE",
                                                "message": str(e)[:300], "raw": raw[:200].decode("utf-8", "replace")})
                    if malformed > self.cfg.max_invalid:
                        await self._fail(key, "MALFORMED_RESPONSE", str(e), attempt + malformed, meta)
                    self.stats.retries += 1
                    continue
                return await self._answered(key, body, est, latency, attempt + malformed + 1, meta)
            await self._on_error(err, key, attempt + malformed, meta)
            attempt += 1

    async def _answered(self, key: str, body: dict[str, Any], est: int, latency: float, attempts: int,
                        meta: dict[str, Any]) -> dict[str, Any]:
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        used = int(usage.get("total_tokens") or 0)
        self.stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        self.stats.completion_tokens += int(usage.get("completion_tokens") or 0)
        if self.tpm is not None and used:
            self.tpm.give_back(est - used)
        keep = {k: body[k] for k in ("choices", "usage", "model", "system_fingerprint") if k in body}
        await self.journal.aappend({"t": "resp", "key": key, "body": keep, "attempts": attempts,
                                    "latency": round(latency, 4), "ts": round(time.time(), 3), **meta_of(meta)})
        self.stats.answered += 1
        return keep

    async def _on_error(self, err: TransportError, key: str, attempt: int, meta: dict[str, Any]) -> None:
        """Sleep before the next attempt, or fail the request / the run."""
        if err.kind == "fatal":
            raise EndpointError(f"the endpoint refuses requests: {err}")
        code = _FAIL_CODES.get(err.kind, "SERVER_ERROR")
        self.stats.count(f"HTTP_{err.status}" if err.status else code)
        if err.kind == "bad_request":
            low = str(err).lower()
            await self._fail(key, "CONTEXT_LENGTH" if "context" in low and "length" in low else code,
                             str(err), attempt + 1, meta)
        if attempt >= self.cfg.max_retries:
            await self._fail(key, code, str(err), attempt + 1, meta)
        self.stats.retries += 1
        if err.kind == "rate_limit" and err.retry_after is not None:
            wait = min(err.retry_after, self.cfg.max_retry_after)
            wait += self.rng.random() * min(1.0, 0.1 * wait + 0.01)
            # Everyone holds off until the server's window reopens, not just this dialog.
            self.pause_until = max(self.pause_until, time.monotonic() + wait)
        else:
            wait = self._backoff(attempt)
        await asyncio.sleep(wait)

    async def aclose(self) -> None:
        await self.transport.aclose()


def meta_of(meta: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (meta or {}).items() if k in ("item", "role", "turn")}
