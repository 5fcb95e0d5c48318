"""OpenAI chat-completions wire format ↔ dialogkit: requests, responses, stream chunks, errors.

Requests go through :func:`dialogkit.formats.openai.messages_from_openai` and the dialogkit
schema, so a server request is validated exactly like a training record and a bad one gets the
same located message (``messages[2].role: unknown role 'bot' ... (ROLE_UNKNOWN)``) as an
OpenAI-style 400. Fields the server cannot honour (``logprobs``, forced ``tool_choice``, JSON
mode) are refused with a 400 rather than silently ignored.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialogkit.errors import DialogkitError, RecordError
from dialogkit.formats.openai import messages_from_openai, parse_tools
from dialogkit.formats._common import FormatError
from dialogkit.generate import ChatRequest, GenerationConfig
from dialogkit.records import parse_dialog
from dialogkit.schema import AssistantMessage, MessageAdapter


class APIError(DialogkitError):
    """An error the API answers with ``{"error": {message, type, param, code}}`` and ``status``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class Limits(BaseModel):
    """What one request may ask of this server."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(1024, ge=1, description="upper bound for max_tokens / max_completion_tokens")
    default_max_tokens: int = Field(256, ge=1, description="when the request gives none")
    max_n: int = Field(8, ge=1)
    max_messages: int = Field(512, ge=1)
    default_temperature: float = Field(1.0, ge=0.0, le=2.0, description="when the request gives none (OpenAI: 1)")


class ChatCompletionRequest(BaseModel):
    """The fields of OpenAI's request this server reads; other known OpenAI fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[Any] = Field(min_length=1)
    tools: list[Any] | str | None = None
    tool_choice: Any = None
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int = Field(1, ge=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    logprobs: bool | None = None
    response_format: dict[str, Any] | None = None
    # dialogkit extension: the expected assistant turn, scored in the shadow log.
    reference: str | dict[str, Any] | None = None


def parse_body(raw: bytes) -> ChatCompletionRequest:
    """Bytes of a request body → a request, or an :class:`APIError` 400 that says what is wrong."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise APIError(400, f"the body is not valid JSON: {e}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise APIError(400, "the body must be a JSON object", code="invalid_json")
    try:
        return ChatCompletionRequest.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        param = ".".join(str(p) for p in err["loc"]) or None
        raise APIError(400, f"{param}: {err['msg']}", param=param, code="invalid_value") from None


def _refuse_unsupported(req: ChatCompletionRequest) -> None:
    if req.logprobs:
        raise APIError(400, "logprobs are not supported by this server", param="logprobs", code="unsupported")
    if req.response_format and req.response_format.get("type", "text") != "text":
        raise APIError(400, "response_format other than text is not supported (no constrained decoding)",
                       param="response_format", code="unsupported")
    if req.tool_choice not in (None, "auto", "none"):
        raise APIError(400, "tool_choice must be 'auto' or 'none' (forcing a tool needs constrained decoding)",
                       param="tool_choice", code="unsupported")


def to_chat_request(req: ChatCompletionRequest, limits: Limits) -> tuple[ChatRequest, GenerationConfig, list[str]]:
    """``(chat request, generation config, stop strings)`` for the backend.

    Raises:
        APIError: 400 for messages or tools that do not validate, or limits exceeded.
    """
    _refuse_unsupported(req)
    if len(req.messages) > limits.max_messages:
        raise APIError(400, f"too many messages ({len(req.messages)} > {limits.max_messages})", param="messages")
    try:
        tools = parse_tools(req.tools) if req.tools is not None else []
    except FormatError as e:
        raise APIError(400, f"tools: {e.message}", param="tools", code=e.code) from None
    record = {"id": "request", "messages": messages_from_openai(req.messages), "tools": tools or []}
    try:
        dialog = parse_dialog(record)
    except RecordError as e:
        first = e.issues[0]
        detail = "; ".join(f"{i.path}: {i.message} ({i.code})" if i.path else f"{i.message} ({i.code})"
                           for i in e.issues[:5])
        raise APIError(400, detail, param=first.path, code=first.code) from None
    max_tokens = req.max_completion_tokens or req.max_tokens or min(limits.default_max_tokens, limits.max_tokens)
    if max_tokens > limits.max_tokens:
        raise APIError(400, f"max_tokens {max_tokens} is more than this server allows ({limits.max_tokens})",
                       param="max_tokens", code="invalid_value")
    if req.n > limits.max_n:
        raise APIError(400, f"n {req.n} is more than this server allows ({limits.max_n})", param="n")
    temperature = limits.default_temperature if req.temperature is None else req.temperature
    seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
    config = GenerationConfig(max_new_tokens=max_tokens, temperature=temperature, top_p=req.top_p or 1.0,
                              n=req.n, seed=seed, batch_size=1)
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise APIError(400, "stop takes up to 4 non-empty strings", param="stop")
    tools_on = req.tool_choice != "none"
    return ChatRequest(messages=dialog.messages, tools=dialog.tools if tools_on else []), config, stop


def parse_reference(value: str | dict[str, Any] | None) -> AssistantMessage | None:
    """The request's ``reference`` (text, or an OpenAI assistant message) as a dialogkit message."""
    if value is None:
        return None
    if isinstance(value, str):
        return AssistantMessage(role="assistant", content=value)
    msg = messages_from_openai([{"role": "assistant", **value}])[0]
    try:
        return MessageAdapter.validate_python(msg)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        raise APIError(400, f"reference: {err['msg']}", param="reference") from None


# ---------------------------------------------------------------------------------- responses
def new_id(prefix: str = "chatcmpl") -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def tool_calls_to_openai(msg: AssistantMessage) -> list[dict[str, Any]]:
    """Tool calls with fresh unique ids (the model's own ``call_0`` repeats across turns)."""
    return [{"id": f"call_{secrets.token_hex(12)}", "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
            for c in msg.tool_calls]


def message_to_openai(msg: AssistantMessage) -> dict[str, Any]:
    """An assistant message in OpenAI form; reasoning as ``reasoning_content`` (vLLM/DeepSeek)."""
    out: dict[str, Any] = {"role": "assistant", "content": msg.content if (msg.content or not msg.tool_calls) else None}
    if msg.tool_calls:
        out["tool_calls"] = tool_calls_to_openai(msg)
    if msg.reasoning:
        out["reasoning_content"] = msg.reasoning
    return out


FinishReason = Literal["stop", "length", "tool_calls"]


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion_body(rid: str, model: str, choices: list[tuple[AssistantMessage, str]],
                    prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """A ``chat.completion`` object; ``choices`` are ``(message, finish_reason)`` pairs."""
    return {
        "id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "system_fingerprint": None,
        "choices": [{"index": i, "message": message_to_openai(m), "logprobs": None, "finish_reason": fr}
                    for i, (m, fr) in enumerate(choices)],
        "usage": usage(prompt_tokens, completion_tokens),
    }


def chunk(rid: str, model: str, created: int, index: int, delta: dict[str, Any],
          finish_reason: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    return {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}


def usage_chunk(rid: str, model: str, created: int, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The last chunk when ``stream_options.include_usage`` is set: no choices, only usage."""
    return {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None, "choices": [], "usage": usage(prompt_tokens, completion_tokens)}


def tool_call_deltas(msg: AssistantMessage) -> list[dict[str, Any]]:
    """Stream deltas for the calls: one delta per call, with ``index``, id, name and full arguments."""
    return [{"tool_calls": [{"index": k, **call}]} for k, call in enumerate(tool_calls_to_openai(msg))]


def sse(obj: dict[str, Any] | str) -> bytes:
    """One server-sent event line (``data: {...}``)."""
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {text}\n\n".encode("utf-8")
