"""ShareGPT as LLaMA-Factory reads it (``formatting: sharegpt``).

A record is ``{"conversations": [{"from", "value"}...], "system": str, "tools": <JSON string>}``.
Tags: ``human``, ``gpt``, ``function_call`` (value = JSON ``{"name", "arguments"}`` or a list of
them for parallel calls), ``observation`` (the results, in call order; parallel results are
joined with LLaMA-Factory's ``\\n</tool_response>\\n<tool_response>\\n``), ``system`` (first
only). LLaMA-Factory enforces alternation (human/observation at even positions,
gpt/function_call at odd ones, even length) and silently drops other records; dialogkit
reports them instead (``SHAREGPT_ALTERNATION``), both when reading and when a dialog cannot
be written. Column and tag names follow a ``dataset_info.json`` entry when one is given.

ShareGPT has no tool-call ids: reading gives ``call_<m>_<k>``, so ``dialogkit -> sharegpt ->
dialogkit`` is an identity on dialogs whose ids follow that convention. ``id`` and
``metadata`` travel as extra columns (LLaMA-Factory ignores them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from dialogkit.errors import Issue
from dialogkit.formats import WriteReport
from dialogkit.formats._common import (
    FormatError, RecordWriter, call_id, expect, is_lossless_result, read_mapped, result_from_text,
    result_to_text,
)
from dialogkit.formats._dataset_info import Mapping, load_mapping
from dialogkit.formats.openai import EXTRA_MESSAGE_FIELDS, carry_extras, parse_tools
from dialogkit.io import Raw, dumps
from dialogkit.schema import Dialog, dump

SEPARATOR = "\n</tool_response>\n<tool_response>\n"  # LLaMA-Factory's join of parallel results
_ALIASES = {"user": "user", "assistant": "assistant", "tool": "observation"}


def _roles(mp: Mapping) -> dict[str, str]:
    roles = {alias: role for alias, role in _ALIASES.items()}
    roles.update({mp.tag("user_tag"): "user", mp.tag("assistant_tag"): "assistant",
                  mp.tag("observation_tag"): "observation", mp.tag("function_tag"): "function_call",
                  mp.tag("system_tag"): "system"})
    return roles


# ----------------------------------------------------------------------------------- reading
def _calls(value: str, m: int, path: str) -> list[dict[str, Any]]:
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as e:
        raise FormatError("FUNCTION_CALL_NOT_JSON", f"function_call content is not JSON: {e}", path) from None
    calls = []
    for k, c in enumerate(parsed if isinstance(parsed, list) else [parsed]):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            raise FormatError("FUNCTION_CALL_INVALID", 'a function call must be {"name", "arguments"}', path)
        args = c.get("arguments", {})
        if isinstance(args, str):
            try:
                args = orjson.loads(args) if args.strip() else {}
            except orjson.JSONDecodeError as e:
                raise FormatError("TOOL_ARGS_NOT_JSON", f"arguments of call {k} are not valid JSON: {e}",
                                  path) from None
        calls.append({"id": call_id(m, k), "name": c["name"], "arguments": args})
    return calls


def _observation(value: str, pending: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    if not pending:
        raise FormatError("SHAREGPT_ORPHAN_OBSERVATION", "observation without a function_call before it", path)
    parts = value.split(SEPARATOR) if len(pending) > 1 else [value]
    if len(parts) != len(pending):
        raise FormatError("SHAREGPT_OBSERVATION_COUNT", f"{len(pending)} parallel calls but {len(parts)} "
                          f"result(s); join results with {SEPARATOR!r}", path)
    return [{"role": "tool", "tool_call_id": c["id"], "name": c["name"], "content": result_from_text(p)}
            for c, p in zip(pending, parts)]


def _entry_extras(entry: dict[str, Any], msg: dict[str, Any]) -> None:
    for key in EXTRA_MESSAGE_FIELDS:
        if entry.get(key) is not None:
            msg[key] = entry[key]


def record_to_dialog(rec: dict[str, Any], mp: Mapping, fallback_id: str) -> dict[str, Any]:
    """A dialogkit-shaped dict from one ShareGPT record; :class:`FormatError` on format errors."""
    col = mp.col("messages")
    conv = expect(rec.get(col), list, col, col)
    role_tag, content_tag = mp.tag("role_tag"), mp.tag("content_tag")
    roles = _roles(mp)
    system = rec.get(mp.col("system"))
    start = 0
    if conv and isinstance(conv[0], dict) and roles.get(conv[0].get(role_tag)) == "system":
        system, start = conv[0].get(content_tag), 1  # LF: a leading system message wins over the column
    msgs: list[dict[str, Any]] = []
    if system:
        msgs.append({"role": "system", "content": expect(system, str, mp.col("system"))})
    pending: list[dict[str, Any]] = []
    for i in range(start, len(conv)):
        path = f"{col}[{i}]"
        entry = expect(conv[i], dict, path)
        tag = entry.get(role_tag)
        role = roles.get(tag) if isinstance(tag, str) else None
        if role is None:
            raise FormatError("ROLE_UNKNOWN", f"unknown role {tag!r} (expected one of {', '.join(roles)})",
                              f"{path}.{role_tag}")
        if role == "system" or (role in ("user", "observation")) != ((i - start) % 2 == 0):
            raise FormatError("SHAREGPT_ALTERNATION", f"{tag!r} at position {i - start}: human/observation and "
                              "gpt/function_call must alternate (LLaMA-Factory drops this record)", f"{path}.{role_tag}")
        value = expect(entry.get(content_tag), str, f"{path}.{content_tag}", content_tag)
        if role == "observation":
            msgs += _observation(value, pending, f"{path}.{content_tag}")
            pending = []
            continue
        msg: dict[str, Any] = {"role": "assistant" if role == "function_call" else role, "content": value}
        if role == "function_call":
            pending = _calls(value, len(msgs), f"{path}.{content_tag}")
            msg.update(content="", tool_calls=pending)
        _entry_extras(entry, msg)
        msgs.append(msg)
    if (len(conv) - start) % 2:
        raise FormatError("SHAREGPT_ALTERNATION", "a conversation must end with gpt or function_call "
                          "(LLaMA-Factory drops this record)", col)
    out: dict[str, Any] = {"id": rec["id"] if rec.get("id") is not None else fallback_id, "messages": msgs}
    tools = parse_tools(rec.get(mp.col("tools")), mp.col("tools"))
    if tools is not None:
        out["tools"] = tools
    for key in ("goal", "metadata"):
        if rec.get(key) is not None:
            out[key] = rec[key]
    return out


# ----------------------------------------------------------------------------------- writing
def _layout(dialog: Dialog) -> tuple[str | None, list[tuple[str, Any]], Issue | None]:
    """System text, ``(role, messages)`` entries in ShareGPT order, or why it cannot be written."""
    msgs = list(dialog.messages)
    system = None
    if msgs and msgs[0].role == "system":
        system, msgs = msgs[0].content, msgs[1:]
    offset = len(dialog.messages) - len(msgs)
    entries: list[tuple[str, Any]] = []
    for j, m in enumerate(msgs):
        if m.role == "tool":
            if entries and entries[-1][0] == "observation":
                entries[-1][1].append(m)
                continue
            role, item = "observation", [m]
        elif m.role == "assistant":
            role, item = ("function_call" if m.tool_calls else "gpt"), m
        else:
            role, item = m.role, m
        n = len(entries)
        expected_user = n % 2 == 0
        if role == "system" or (role in ("user", "observation")) != expected_user or (
                role == "observation" and (not entries or entries[-1][0] != "function_call")):
            return system, entries, _unwritable(j + offset, role, n)
        entries.append((role, item))
    if len(entries) % 2:
        return system, entries, Issue("SHAREGPT_ALTERNATION", "cannot be written as ShareGPT: it must end with "
                                      "an assistant message (LLaMA-Factory drops odd-length records)", path="messages")
    return system, entries, None


def _unwritable(index: int, role: str, n: int) -> Issue:
    want = "user or tool" if n % 2 == 0 else "assistant"
    return Issue("SHAREGPT_ALTERNATION", f"cannot be written as ShareGPT: a {role} message where LLaMA-Factory "
                 f"needs {want} (turns must alternate)", path=f"messages[{index}]")


def dialog_to_record(dialog: Dialog, mp: Mapping, keep_extras: bool = False) -> tuple[dict[str, Any], set[str]]:
    """One ShareGPT record and the dialogkit features it could not carry."""
    system, entries, _ = _layout(dialog)
    lost: set[str] = set()
    role_tag, content_tag = mp.tag("role_tag"), mp.tag("content_tag")
    tag = {"user": mp.tag("user_tag"), "gpt": mp.tag("assistant_tag"), "function_call": mp.tag("function_tag"),
           "observation": mp.tag("observation_tag")}
    conv = []
    index = {id(m): i for i, m in enumerate(dialog.messages)}
    last_calls: list[Any] = []
    for role, item in entries:
        entry: dict[str, Any] = {role_tag: tag[role]}
        if role == "observation":
            entry[content_tag] = SEPARATOR.join(result_to_text(t.content) for t in item)
            if [t.tool_call_id for t in item] != [c.id for c in last_calls] or any(
                    t.name != c.name for t, c in zip(item, last_calls)):
                lost.add("tool results that do not answer the calls in order")
            if any(not is_lossless_result(t.content) for t in item):
                lost.add("tool result type")
            if any(t.train is not None for t in item):
                lost.add("train")
        elif role == "function_call":
            last_calls = item.tool_calls
            calls = [{"name": c.name, "arguments": c.arguments} for c in item.tool_calls]
            entry[content_tag] = dumps(calls[0] if len(calls) == 1 else calls).decode("utf-8")
            if any(c.id != call_id(index[id(item)], k) for k, c in enumerate(item.tool_calls)):
                lost.add("tool call ids")
            if item.content:
                lost.add("assistant text beside tool calls")
        else:
            entry[content_tag] = item.content
        if role != "observation":
            _carry(item, entry, keep_extras, lost)
        conv.append(entry)
    rec: dict[str, Any] = {"id": dialog.id, mp.col("messages"): conv}
    if system is not None:
        rec[mp.col("system")] = system
        if dialog.messages[0].train is not None:
            lost.add("train")
    if dialog.tools:
        flat = [t.function.model_dump(mode="json", exclude_none=True) for t in dialog.tools]
        rec[mp.col("tools")] = dumps(flat).decode("utf-8")
    if dialog.goal is not None:
        rec.update({"goal": dump(dialog.goal)} if keep_extras else {})
        lost.update(() if keep_extras else ("goal",))
    meta = dump(dialog.metadata)
    if meta:
        rec["metadata"] = meta
    return rec, lost


def _carry(msg: Any, entry: dict[str, Any], keep_extras: bool, lost: set[str]) -> None:
    if getattr(msg, "reasoning", None) is not None:
        lost.add("reasoning")
    carry_extras(msg, entry, keep_extras, lost)


class ShareGPTConverter:
    name = "sharegpt"
    description = "ShareGPT as LLaMA-Factory reads it (from/value, function_call, observation, tools)"
    can_read = True
    can_write = True
    read_options = frozenset({"dataset_info", "dataset"})
    write_options = frozenset({"dataset_info", "dataset", "keep_extras"})

    def read(self, path: Path, dataset_info: Path | None = None, dataset: str | None = None,
             **options: Any) -> Iterator[Raw]:
        mp = load_mapping("sharegpt", dataset_info, dataset)
        return read_mapped(path, lambda rec, rid: record_to_dialog(rec, mp, rid))

    def check(self, dialog: Dialog) -> list[Issue]:
        """Why ``dialog`` cannot be a LLaMA-Factory ShareGPT record (empty when it can)."""
        issue = _layout(dialog)[2]
        return [issue] if issue is not None else []

    def write(self, dialogs: Iterable[Dialog], path: Path, dataset_info: Path | None = None,
              dataset: str | None = None, keep_extras: bool = False, **options: Any) -> WriteReport:
        mp = load_mapping("sharegpt", dataset_info, dataset)
        report = WriteReport()
        with RecordWriter(path) as w:
            for d in dialogs:
                rec, lost = dialog_to_record(d, mp, keep_extras)
                w.write(rec)
                for feature in sorted(lost):
                    report.drop(feature)
        report.written = w.count
        return report


CONVERTER = ShareGPTConverter()
