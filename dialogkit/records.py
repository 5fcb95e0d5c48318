"""Turn raw JSON objects into schema records, or into located issues with stable codes.

Pydantic's error types are an implementation detail; the codes here are the contract
(``ROLE_UNKNOWN``, ``TOOL_ARGS_NOT_JSON`` ...), and the field path is written the way a
user would point at it: ``messages[3].tool_calls[0].arguments``.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dialogkit.errors import Issue, RecordError
from dialogkit.schema import ROLES, Dialog, PreferencePair

M = TypeVar("M", bound=BaseModel)

_CODE_BY_TYPE = {
    "missing": "FIELD_MISSING",
    "extra_forbidden": "FIELD_UNKNOWN",
    "union_tag_invalid": "ROLE_UNKNOWN",
    "union_tag_not_found": "ROLE_MISSING",
    "tool_args_not_json": "TOOL_ARGS_NOT_JSON",
    "tool_args_not_object": "TOOL_ARGS_NOT_OBJECT",
    "pair_not_assistant": "PAIR_NOT_ASSISTANT",
    "string_too_short": "VALUE_EMPTY",
    "too_short": "VALUE_EMPTY",
    "literal_error": "VALUE_INVALID",
    "model_type": "TYPE_WRONG",
    "model_attributes_type": "TYPE_WRONG",
}
# Names pydantic inserts into a location for union members; they are not fields.
_UNION_MEMBER = re.compile(r"^(str|int|float|bool|none|list\[.*|dict\[.*|function-.*|[A-Z]\w*Message)$")


def error_code(err_type: str) -> str:
    if err_type in _CODE_BY_TYPE:
        return _CODE_BY_TYPE[err_type]
    if err_type.endswith(("_type", "_parsing")):
        return "TYPE_WRONG"
    return "SCHEMA_INVALID"


def field_path(loc: tuple[Any, ...]) -> str:
    """``('messages', 3, 'assistant', 'tool_calls', 0)`` -> ``messages[3].tool_calls[0]``."""
    out = ""
    prev: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (isinstance(prev, int) and part in ROLES) or _UNION_MEMBER.match(str(part)):
            pass  # discriminator tag or union member name
        else:
            out += f".{part}" if out else str(part)
        prev = part
    return out


def issues_from_error(err: ValidationError, **where: Any) -> list[Issue]:
    """One issue per distinct field error, deduplicated across union branches."""
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors(include_url=False):
        path = field_path(tuple(e["loc"]))
        code = error_code(e["type"])
        if (path, code) in seen:
            continue
        seen.add((path, code))
        msg = e["msg"]
        if code == "ROLE_UNKNOWN":
            tag = (e.get("ctx") or {}).get("tag")
            msg = f"unknown role {tag!r} (expected one of {', '.join(ROLES)})"
        elif code == "FIELD_UNKNOWN":
            msg = "unknown field"
        elif code == "TYPE_WRONG" and "input" in e:
            msg = f"{msg}, got {type(e['input']).__name__}"
        issues.append(Issue(code=code, message=msg, path=path, **where))
    return issues


def record_id(data: Any) -> str | None:
    if isinstance(data, dict):
        rid = data.get("id")
        if isinstance(rid, (str, int)) and not isinstance(rid, bool):
            return str(rid)
    return None


def parse_record(model: type[M], data: Any, **where: Any) -> M:
    """Validate ``data`` as ``model``; raise :class:`RecordError` with located issues."""
    if not isinstance(data, dict):
        raise RecordError(
            [Issue(code="TYPE_WRONG", message=f"a record must be a JSON object, got {type(data).__name__}", **where)]
        )
    try:
        return model.model_validate(data)
    except ValidationError as e:
        where.setdefault("record_id", record_id(data))
        raise RecordError(issues_from_error(e, **where)) from e


def parse_dialog(data: Any, **where: Any) -> Dialog:
    return parse_record(Dialog, data, **where)


def parse_pair(data: Any, **where: Any) -> PreferencePair:
    return parse_record(PreferencePair, data, **where)
