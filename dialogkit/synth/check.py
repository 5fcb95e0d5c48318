"""Checks every synthesized dialog must pass before it is written.

Schema first (``parse_dialog``), then the semantic rules a trainer and a scorer rely on:
every tool call answered, no orphan results, tools declared, arguments valid against the
tool's JSON Schema, the dialog ending with an assistant reply, no empty or half-rendered
text. When ``dialogkit.validate`` offers a dialog-level check, its errors are added too.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from dialogkit.errors import Issue, RecordError
from dialogkit.io import dumps
from dialogkit.records import parse_dialog
from dialogkit.schema import Dialog

_VALIDATORS: dict[bytes, Draft202012Validator] = {}
_RESULTS: dict[bytes, list[str]] = {}
_MAX_MEMO = 100_000


def argument_errors(schema: dict[str, Any], arguments: Any) -> list[str]:
    """jsonschema messages for ``arguments`` against ``schema``, memoised.

    The policy's call is validated by the database when executed and again by the final
    check; the memo makes the second time free (jsonschema costs ~100 us a call).
    """
    skey = dumps(schema)
    key = skey + b"\0" + dumps(arguments)
    hit = _RESULTS.get(key)
    if hit is not None:
        return hit
    v = _VALIDATORS.get(skey)
    if v is None:
        v = _VALIDATORS[skey] = Draft202012Validator(schema)
    errs = [e.message for e in v.iter_errors(arguments)]
    if len(_RESULTS) >= _MAX_MEMO:
        _RESULTS.clear()
    _RESULTS[key] = errs
    return errs


def _external_check() -> Callable[[Dialog], list[Issue]] | None:
    """``dialogkit.validate.validate_dialog`` when the validate stage provides it."""
    if importlib.util.find_spec("dialogkit.validate") is None:
        return None
    mod = importlib.import_module("dialogkit.validate")
    fn = getattr(mod, "validate_dialog", None)
    return fn if callable(fn) else None


def check_dialog(data: dict[str, Any], external: bool = True,
                 trusted_tools: list[dict[str, Any]] | None = None) -> list[Issue]:
    """All defects of one synthesized dialog (empty list: fine).

    ``trusted_tools``: a tools list already validated once; when ``data["tools"]`` is that very
    object (a generator shares one list across all its dialogs) it is not parsed again.
    """
    rid = str(data.get("id")) if isinstance(data, dict) else None
    shared = trusted_tools is not None and isinstance(data, dict) and data.get("tools") is trusted_tools
    try:
        dialog = parse_dialog({**data, "tools": []} if shared else data)
    except RecordError as e:
        return e.issues
    tools = trusted_tools if shared else [t.model_dump() for t in dialog.tools]
    specs = {t["function"]["name"]: t["function"].get("parameters", {}) for t in tools or []}
    issues = _semantic(dialog, specs)
    fn = _external_check() if external else None
    if fn is not None:
        issues += [i for i in fn(dialog) if i.severity == "error" and i not in issues]
    return [i.located(record_id=rid) for i in issues]


def validate_tools(tools: list[dict[str, Any]]) -> list[Issue]:
    """Schema issues of a tools list (checked once per generator, not once per dialog)."""
    try:
        parse_dialog({"id": "tools", "messages": [], "tools": tools})
    except RecordError as e:
        return e.issues
    return []


def _semantic(d: Dialog, specs: dict[str, dict[str, Any]]) -> list[Issue]:
    out: list[Issue] = []
    pending: dict[str, int] = {}
    msgs = d.messages
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if m.role == "assistant":
            if pending:
                out.append(Issue("TOOL_CALL_UNANSWERED", f"calls {sorted(pending)} have no result", path=where))
                pending = {}
            if not m.content and not m.tool_calls:
                out.append(Issue("TEXT_EMPTY", "assistant message has neither text nor tool calls", path=where))
            for j, c in enumerate(m.tool_calls):
                pending[c.id] = i
                if c.name not in specs:
                    out.append(Issue("TOOL_UNDECLARED", f"tool {c.name!r} is not in tools", path=f"{where}.tool_calls[{j}]"))
                    continue
                for msg in argument_errors(specs[c.name], c.arguments):
                    out.append(Issue("TOOL_ARGS_INVALID", msg, path=f"{where}.tool_calls[{j}].arguments"))
        elif m.role == "tool":
            if pending.pop(m.tool_call_id, None) is None:
                out.append(Issue("TOOL_RESULT_ORPHAN", f"no open call with id {m.tool_call_id!r}", path=where))
        elif m.role == "user":
            if pending:
                out.append(Issue("TOOL_CALL_UNANSWERED", f"calls {sorted(pending)} have no result", path=where))
                pending = {}
            if not m.content.strip():
                out.append(Issue("TEXT_EMPTY", "user message is empty", path=where))
        if m.role in ("user", "assistant") and "{" in m.content and "}" in m.content:
            out.append(Issue("TEMPLATE_LEFTOVER", "text still holds a {placeholder}", path=where))
    if pending:
        out.append(Issue("TOOL_CALL_UNANSWERED", f"calls {sorted(pending)} have no result", path="messages"))
    last = msgs[-1] if msgs else None
    if last is None or last.role != "assistant" or not last.content:
        out.append(Issue("DIALOG_NOT_ENDED", "the dialog must end with an assistant reply", path="messages"))
    return out
