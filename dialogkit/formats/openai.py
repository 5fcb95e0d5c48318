"""OpenAI chat format: ``{"messages": [...], "tools": [...]}`` per JSONL line (or a JSON array).

This is what HF chat templates and TRL's SFT/DPO trainers consume: tool calls are
``{"id", "type": "function", "function": {"name", "arguments": <JSON string>}}``, tool results
are ``{"role": "tool", "tool_call_id", "name", "content": <string>}``. dialogkit's ``id`` and
``metadata`` travel as top-level keys; ``reasoning`` as ``reasoning_content`` (the key HF
templates such as Qwen3's read). State, acts, ``train``, ``expected`` and ``goal`` have no
OpenAI field: they are dropped with a warning, or kept as extra keys with ``keep_extras``
(templates ignore keys they do not use), which makes the round trip lossless.

Reading is lenient about what OpenAI allows: ``developer`` is a system message, a null
assistant content is ``""``, text content parts are joined, ``arguments`` may be a string or an
object, missing call ids get ``call_<m>_<k>`` and a tool message without ``tool_call_id`` or
``name`` answers the oldest unanswered call. Other OpenAI fields (``refusal``,
``annotations``, a user's ``name`` ...) are ignored. Everything else is passed through as is,
so :func:`dialogkit.records.parse_dialog` reports a wrong role or type at its exact path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from dialogkit.formats import WriteReport
from dialogkit.formats._common import (
    FormatError,
    RecordWriter,
    call_id,
    default_id,
    failed,
    is_lossless_result,
    result_from_text,
    result_to_text,
)
from dialogkit.io import Raw, dumps, iter_records
from dialogkit.schema import Dialog, ToolSpec, dump

# dialogkit message fields with no OpenAI equivalent, kept as extra keys by keep_extras.
EXTRA_MESSAGE_FIELDS = ("state", "acts", "train", "expected")


# ----------------------------------------------------------------------------------- reading
def _text(content: Any) -> Any:
    """OpenAI content parts ``[{"type": "text", "text": ...}]`` joined; anything else as is."""
    if isinstance(content, list) and content and all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content
    ):
        return "".join(p["text"] for p in content)
    return content


def _call_from_openai(call: Any, m: int, k: int) -> Any:
    if not isinstance(call, dict):
        return call
    fn = call.get("function")
    src = fn if isinstance(fn, dict) else call  # also the flat {"name", "arguments"} form
    out: dict[str, Any] = {"id": call.get("id") or call_id(m, k)}
    if src.get("name") is not None:
        out["name"] = src["name"]
    if src.get("arguments") is not None:
        out["arguments"] = src["arguments"]
    return out


def _extras(src: dict[str, Any], dst: dict[str, Any]) -> None:
    for key in EXTRA_MESSAGE_FIELDS:
        if src.get(key) is not None:
            dst[key] = src[key]


def messages_from_openai(messages: list[Any]) -> list[Any]:
    """dialogkit-shaped messages (not validated) from OpenAI ones, index for index."""
    out: list[Any] = []
    pending: list[tuple[str, Any]] = []  # unanswered calls, oldest first
    names: dict[str, Any] = {}
    for m, msg in enumerate(messages):
        if not isinstance(msg, dict):
            out.append(msg)
            continue
        role = "system" if msg.get("role") == "developer" else msg.get("role")
        d: dict[str, Any] = {} if role is None else {"role": role}
        content = _text(msg.get("content"))
        if role == "assistant":
            d["content"] = "" if content is None else content
            calls = msg.get("tool_calls")
            if isinstance(calls, list) and calls:
                d["tool_calls"] = [_call_from_openai(c, m, k) for k, c in enumerate(calls)]
                for c in d["tool_calls"]:
                    if isinstance(c, dict) and isinstance(c.get("id"), str):
                        pending.append((c["id"], c.get("name")))
                        names[c["id"]] = c.get("name")
            elif calls is not None and not isinstance(calls, list):
                d["tool_calls"] = calls  # reported as a wrong type
            reasoning = msg.get("reasoning_content", msg.get("reasoning"))
            if reasoning is not None:
                d["reasoning"] = reasoning
        elif role == "tool":
            tcid = msg.get("tool_call_id") or (pending[0][0] if pending else None)
            if tcid is not None:
                d["tool_call_id"] = tcid
                pending = [p for p in pending if p[0] != tcid]
            name = msg.get("name")
            if name is None and isinstance(tcid, str):
                name = names.get(tcid)
            if name is not None:
                d["name"] = name
            d["content"] = result_from_text(content)
        elif content is not None or "content" in msg:
            d["content"] = content
        _extras(msg, d)
        out.append(d)
    return out


def parse_tools(tools: Any, path: str = "tools") -> Any:
    """``tools`` as a list; many datasets store it as a JSON string."""
    if isinstance(tools, str):
        if not tools.strip():
            return []
        try:
            return orjson.loads(tools)
        except orjson.JSONDecodeError as e:
            raise FormatError("TOOLS_NOT_JSON", f"tools is a string but not JSON: {e}", path) from None
    return tools


def record_to_dialog(rec: dict[str, Any], fallback_id: str, messages_key: str = "messages") -> dict[str, Any]:
    """A dialogkit-shaped dict from one OpenAI record (validated later by ``parse_dialog``)."""
    out: dict[str, Any] = {"id": rec["id"] if rec.get("id") is not None else fallback_id}
    msgs = rec.get(messages_key)
    if msgs is None:
        raise FormatError("FIELD_MISSING", f"{messages_key} is missing", messages_key)
    out["messages"] = messages_from_openai(msgs) if isinstance(msgs, list) else msgs
    tools = parse_tools(rec.get("tools"))
    if tools is not None:
        out["tools"] = tools
    for key in ("goal", "metadata"):
        if rec.get(key) is not None:
            out[key] = rec[key]
    return out


# ----------------------------------------------------------------------------------- writing
def tool_to_openai(tool: ToolSpec) -> dict[str, Any]:
    """A tool in OpenAI's wrapped form, always with ``description`` and ``parameters``."""
    return {"type": "function", "function": tool.function.model_dump(mode="json", exclude_none=True)}


def _message_to_openai(msg: Any, keep_extras: bool, lost: set[str]) -> dict[str, Any]:
    d: dict[str, Any] = {"role": msg.role}
    if msg.role == "tool":
        d.update(tool_call_id=msg.tool_call_id, name=msg.name, content=result_to_text(msg.content))
        if not is_lossless_result(msg.content):
            lost.add("tool result type")
    else:
        d["content"] = msg.content
    if msg.role == "assistant":
        if msg.tool_calls:
            d["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": dumps(c.arguments).decode("utf-8")}}
                for c in msg.tool_calls
            ]
        if msg.reasoning is not None:
            d["reasoning_content"] = msg.reasoning
    carry_extras(msg, d, keep_extras, lost)
    return d


def carry_extras(msg: Any, entry: dict[str, Any], keep_extras: bool, lost: set[str]) -> None:
    """Copy dialogkit-only message fields (state, acts, train …) into ``entry``, or note them as lost."""
    for key in EXTRA_MESSAGE_FIELDS:
        value = getattr(msg, key, None)
        if value is None:
            continue
        if keep_extras:
            entry[key] = value if isinstance(value, (bool, str)) else dump_value(value)
        else:
            lost.add(key)


def dump_value(value: Any) -> Any:
    """A model (or list of models) as JSON-ready data; plain values as they are."""
    if isinstance(value, list):
        return [dump_value(v) for v in value]
    return dump(value) if hasattr(value, "model_dump") else value


def dialog_to_record(dialog: Dialog, keep_extras: bool = False) -> tuple[dict[str, Any], set[str]]:
    """One OpenAI record and the names of the dialogkit features it could not carry."""
    lost: set[str] = set()
    rec: dict[str, Any] = {"id": dialog.id}
    rec["messages"] = [_message_to_openai(m, keep_extras, lost) for m in dialog.messages]
    if dialog.tools:
        rec["tools"] = [tool_to_openai(t) for t in dialog.tools]
    if dialog.goal is not None:
        if keep_extras:
            rec["goal"] = dump(dialog.goal)
        else:
            lost.add("goal")
    meta = dump(dialog.metadata)
    if meta:
        rec["metadata"] = meta
    return rec, lost


class OpenAIConverter:
    name = "openai"
    description = "OpenAI chat JSONL (messages, tool_calls, tool role, tools): what HF templates and TRL eat"
    can_read = True
    can_write = True
    read_options: frozenset[str] = frozenset()
    write_options = frozenset({"keep_extras"})

    def read(self, path: Path, **options: Any) -> Iterator[Raw]:
        for n, raw in enumerate(iter_records(path), 1):
            if not raw.ok or not isinstance(raw.data, dict):
                yield raw  # undecodable, or not an object: parse_dialog says so
                continue
            rid = default_id(path, n)
            try:
                data = record_to_dialog(raw.data, rid)
            except FormatError as e:
                yield failed(raw, e, raw.id or rid)
                continue
            yield Raw(raw.file, raw.line, data)

    def write(self, dialogs: Iterable[Dialog], path: Path, keep_extras: bool = False, **options: Any) -> WriteReport:
        report = WriteReport()
        with RecordWriter(path) as w:
            for d in dialogs:
                rec, lost = dialog_to_record(d, keep_extras)
                w.write(rec)
                for feature in sorted(lost):
                    report.drop(feature)
        report.written = w.count
        return report


CONVERTER = OpenAIConverter()
