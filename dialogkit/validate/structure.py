"""Structural checks: a hand-written fast path, pydantic as the exact fallback.

:func:`scan` walks the decoded JSON and answers only for records that
:class:`dialogkit.schema.Dialog` certainly accepts *in canonical form* (wrapped tool specs,
arguments as objects, string ids). Anything else - an error, or a form pydantic would coerce -
goes to :func:`dialogkit.records.parse_dialog`, which gives the exact located issues with the
same codes ``convert`` reports. So the verdict is always pydantic's; the fast path only makes
the common case cheap (``tests/test_validate_structure.py`` checks it on mutated records).
Nested task-oriented parts (state, acts, goal) are checked by their own pydantic models.
"""

from __future__ import annotations

from typing import Any, NamedTuple, get_args

import orjson
from pydantic import ValidationError

from dialogkit.errors import Issue, RecordError
from dialogkit.records import parse_dialog
from dialogkit.schema import (
    AssistantMessage,
    Dialog,
    DialogAct,
    DialogState,
    Expected,
    Goal,
    ToolMessage,
    dump,
)

_DIALOG_KEYS = frozenset(("id", "messages", "tools", "goal", "metadata"))
_SYSTEM_KEYS = frozenset(("role", "content", "train"))
_USER_KEYS = frozenset(("role", "content", "acts", "train"))
_ASSISTANT_KEYS = frozenset(("role", "content", "tool_calls", "state", "reasoning", "acts", "train", "expected"))
_TOOL_KEYS = frozenset(("role", "tool_call_id", "name", "content", "train"))
_CALL_KEYS = frozenset(("id", "name", "arguments"))
_SPEC_KEYS = frozenset(("type", "function"))
_FUNCTION_KEYS = frozenset(("name", "description", "parameters", "strict"))
_META_STR = ("source", "split", "language", "variant_of")
_EXPECTED = frozenset(get_args(Expected))
_NONE = type(None)


def _sub_ok(model: Any, value: Any) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


# Hand checks of the task-oriented parts (acts on every turn, a state on every reply in
# generated data): they only accept the plain canonical shapes; pydantic decides the rest.
_SCALARS = (str, int, float, bool)
_ACT_KEYS = frozenset(("act", "slot", "values", "canonical_values", "domain"))
_FRAME_KEYS = frozenset(("active_intent", "slots", "requested_slots"))
_STATE_KEYS = _FRAME_KEYS | {"domain", "frames"}
_EMPTY_DICT: dict[str, Any] = {}
_EMPTY_LIST: list[Any] = []


def _scalars_ok(values: Any) -> bool:
    if type(values) is not list:
        return False
    for v in values:
        if type(v) not in _SCALARS:
            return False
    return True


def _act_ok(a: Any) -> bool:
    # Plain loops, not all(<genexpr>): this runs for every act of every turn.
    if type(a) is not dict or not a.keys() <= _ACT_KEYS:
        return False
    act = a.get("act")
    if type(act) is not str or not act:
        return False
    for key in ("slot", "domain"):
        v = a.get(key)
        if v is not None and type(v) is not str:
            return False
    if "values" in a and not _scalars_ok(a["values"]):
        return False
    cv = a.get("canonical_values")
    return cv is None or _scalars_ok(cv)


def _frame_ok(f: Any, keys: frozenset[str] = _FRAME_KEYS) -> bool:
    if type(f) is not dict or not f.keys() <= keys:
        return False
    intent = f.get("active_intent")
    if intent is not None and type(intent) is not str:
        return False
    slots = f.get("slots", _EMPTY_DICT)
    if type(slots) is not dict:
        return False
    for k, v in slots.items():
        if type(k) is not str or (type(v) not in _SCALARS and not _scalars_ok(v)):
            return False
    req = f.get("requested_slots", _EMPTY_LIST)
    if type(req) is not list:
        return False
    for r in req:
        if type(r) is not str:
            return False
    return True


def _state_ok(state: Any) -> bool:
    if not _frame_ok(state, _STATE_KEYS):
        return False
    domain = state.get("domain")
    if domain is not None and type(domain) is not str:
        return False
    frames = state.get("frames", _EMPTY_DICT)
    if type(frames) is not dict:
        return False
    for k, f in frames.items():
        if type(k) is not str or not _frame_ok(f):
            return False
    return True


def _acts_ok(acts: Any) -> bool:
    if acts is None:
        return True
    if type(acts) is not list:
        return False
    for a in acts:
        if not (_act_ok(a) or _sub_ok(DialogAct, a)):
            return False
    return True


def _tools_ok(tools: Any) -> bool:
    if type(tools) is not list:
        return False
    for t in tools:
        if type(t) is not dict or "function" not in t or not t.keys() <= _SPEC_KEYS:
            return False
        if t.get("type", "function") != "function":
            return False
        fn = t["function"]
        if type(fn) is not dict or not fn.keys() <= _FUNCTION_KEYS:
            return False
        name = fn.get("name")
        if type(name) is not str or not name:
            return False
        if type(fn.get("description", "")) is not str or type(fn.get("parameters", {})) is not dict:
            return False
        if type(fn.get("strict")) not in (bool, _NONE):
            return False
    return True


def _metadata_ok(meta: Any) -> bool:
    if type(meta) is not dict:
        return False
    if len(meta) == 1 and type(meta.get("domain")) is str:
        return True  # the common {"domain": "..."}
    for key in _META_STR:
        if type(meta.get(key)) not in (str, _NONE):
            return False
    domain = meta.get("domain")
    if type(domain) is list:
        if not all(type(x) is str for x in domain):
            return False
    elif type(domain) not in (str, _NONE):
        return False
    return type(meta.get("provenance")) in (dict, _NONE)


def _assistant_ok(m: dict[str, Any]) -> bool:
    if not m.keys() <= _ASSISTANT_KEYS or type(m.get("content", "")) is not str:
        return False
    calls = m.get("tool_calls")
    if calls is not None:
        if type(calls) is not list:
            return False
        for c in calls:
            if type(c) is not dict or not c.keys() <= _CALL_KEYS:
                return False
            cid, name = c.get("id"), c.get("name")
            if type(cid) is not str or not cid or type(name) is not str or not name:
                return False
            if type(c.get("arguments", {})) is not dict:
                return False
    if type(m.get("reasoning")) not in (str, _NONE) or type(m.get("train")) not in (bool, _NONE):
        return False
    expected = m.get("expected")
    if expected is not None and (type(expected) is not str or expected not in _EXPECTED):
        return False
    state = m.get("state")
    if state is not None and not (_state_ok(state) or _sub_ok(DialogState, state)):
        return False
    return _acts_ok(m.get("acts"))


class View(NamedTuple):
    """What the rules need from a valid dialog, gathered in the structural pass.

    ``roles`` has one letter per message: ``s`` system, ``u`` user, ``a`` assistant reply,
    ``c`` assistant with tool calls, ``e`` empty assistant (no text, no calls), ``t`` tool.
    ``texts[i]`` is message i's content as text ("" when it has none). ``extras`` are the other
    texts (reasoning, call arguments as JSON) with their field paths.
    """

    roles: str
    texts: list[str]
    extras: list[tuple[str, str]]
    tools_key: bytes | None = None  # the exact JSON of the dialog's tools list, when it was made


def _assistant_code(m: dict[str, Any], i: int, extras: list[tuple[str, str]]) -> str:
    if m.get("reasoning"):
        extras.append((f"messages[{i}].reasoning", m["reasoning"]))
    calls = m.get("tool_calls")
    if calls:
        for j, c in enumerate(calls):
            if c.get("arguments"):
                extras.append((f"messages[{i}].tool_calls[{j}].arguments", _json(c["arguments"])))
        return "c"
    c = m.get("content", "")
    return "a" if c and not c.isspace() else "e"


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def scan(data: Any) -> View | None:
    """The :class:`View` of a canonical dialog :class:`Dialog` accepts unchanged, else None."""
    if type(data) is not dict or not data.keys() <= _DIALOG_KEYS:
        return None
    rid = data.get("id")
    msgs = data.get("messages")
    if type(rid) is not str or not rid or type(msgs) is not list:
        return None
    tools_key = None
    if "tools" in data:
        tools_key = _tools_key(data["tools"])
        if not (_TOOLS_OK.get(tools_key) if tools_key is not None else _tools_ok(data["tools"])):
            return None
    if "metadata" in data and not _metadata_ok(data["metadata"]):
        return None
    goal = data.get("goal")
    if goal is not None and not _sub_ok(Goal, goal):
        return None
    roles: list[str] = []
    texts: list[str] = []
    extras: list[tuple[str, str]] = []
    add_role, add_text = roles.append, texts.append
    plain = _PLAIN.get
    for i, m in enumerate(msgs):
        if type(m) is not dict:
            return None
        # Two keys (role, content) is the common case: two type checks are then the whole schema.
        if len(m) == 2 and type(content := m.get("content")) is str and type(role := m.get("role")) is str \
                and (code := plain(role)):
            if code == "a" and (not content or content.isspace()):
                code = "e"
            add_role(code)
            add_text(content)
            continue
        found = _message(m, i, extras)
        if found is None:
            return None
        add_role(found[0])
        add_text(found[1])
    return _new(View, ("".join(roles), texts, extras, tools_key))


_new = tuple.__new__  # what View(...) does, minus a Python-level call


def _message(m: dict[str, Any], i: int, extras: list[tuple[str, str]]) -> tuple[str, str] | None:
    """``(role code, text)`` of a message that is not a plain text turn, or None if not canonical."""
    role = m.get("role")
    content = m.get("content")
    if type(role) is not str:
        return None
    if role == "tool" and len(m) == 4 and type(content) is str:
        # The canonical result {"role", "tool_call_id", "name", "content"}: four keys, three known.
        if type(m.get("tool_call_id")) is str and type(m.get("name")) is str:
            return "t", content
    elif role == "assistant" and (found := _plain_calls(m, i, extras)) is not None:
        return found
    if role == "assistant":
        if not _assistant_ok(m):
            return None
        return _assistant_code(m, i, extras), m.get("content", "")
    if role == "user":
        if not (m.keys() <= _USER_KEYS and type(content) is str
                and type(m.get("train")) in (bool, _NONE) and _acts_ok(m.get("acts"))):
            return None
        return "u", content
    if role == "tool":
        if not (m.keys() <= _TOOL_KEYS and type(m.get("tool_call_id")) is str and type(m.get("name")) is str
                and "content" in m and type(m.get("train")) in (bool, _NONE)):
            return None
        if type(content) is not str:
            content = "" if content is None else _json(content)
        return "t", content
    if role == "system":
        if not (m.keys() <= _SYSTEM_KEYS and type(content) is str and type(m.get("train")) in (bool, _NONE)):
            return None
        return "s", content
    return None


def _plain_calls(m: dict[str, Any], i: int, extras: list[tuple[str, str]]) -> tuple[str, str] | None:
    """``("c", text)`` for the canonical call turn ({"role", "tool_calls"} and maybe a text
    ``content``, calls of exactly id, name and object arguments), else None (no extras added)."""
    n = len(m)
    content = m.get("content", "")
    calls = m.get("tool_calls")
    if not (n == 2 or (n == 3 and "content" in m)) or type(calls) is not list or not calls or type(content) is not str:
        return None
    for c in calls:
        if type(c) is not dict or len(c) != 3:
            return None
        cid, name, args = c.get("id"), c.get("name"), c.get("arguments")
        if type(cid) is not str or not cid or type(name) is not str or not name or type(args) is not dict:
            return None
    for j, c in enumerate(calls):
        if c["arguments"]:
            extras.append((f"messages[{i}].tool_calls[{j}].arguments", _json(c["arguments"])))
    return "c", content


_PLAIN = {"user": "u", "assistant": "a", "system": "s"}
_TOOLS_OK: dict[bytes, bool] = {}


def _tools_key(tools: Any) -> bytes | None:
    """The exact JSON of a tools list, with its verdict cached in ``_TOOLS_OK``; None when the
    value is not plain JSON data (a tuple, a caller's own objects) and cannot be cached."""
    # Every dialog of a file usually declares the same tools: each distinct list is checked once.
    if type(tools) is not list:
        return None
    try:
        key = orjson.dumps(tools, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError:
        return None
    if key not in _TOOLS_OK:
        if len(_TOOLS_OK) > 1024:
            _TOOLS_OK.clear()
        _TOOLS_OK[key] = _tools_ok(tools)
    return key


def view_of(dialog: Dialog) -> View:
    """The :class:`View` of a validated model, built the plain way (the reference for :func:`scan`)."""
    roles: list[str] = []
    texts: list[str] = []
    extras: list[tuple[str, str]] = []
    for i, m in enumerate(dialog.messages):
        if isinstance(m, AssistantMessage):
            if m.reasoning:
                extras.append((f"messages[{i}].reasoning", m.reasoning))
            for j, call in enumerate(m.tool_calls):
                if call.arguments:
                    extras.append((f"messages[{i}].tool_calls[{j}].arguments", _json(call.arguments)))
            code = "c" if m.tool_calls else "a" if m.content and not m.content.isspace() else "e"
            text = m.content
        elif isinstance(m, ToolMessage):
            code = "t"
            text = m.content if isinstance(m.content, str) else "" if m.content is None else _json(m.content)
        else:
            code, text = m.role[0], m.content
        roles.append(code)
        texts.append(text)
    return View("".join(roles), texts, extras)


def fast_ok(data: Any) -> bool:
    """True only if ``data`` is a canonical dialog that :class:`Dialog` accepts unchanged."""
    return scan(data) is not None


def check_structure(data: Any, where: dict[str, Any]) -> tuple[dict[str, Any] | None, View | None, list[Issue]]:
    """``(canonical dict, view, [])`` for a valid dialog, ``(None, None, issues)`` for an invalid one.

    The dict is ``data`` itself on the fast path, else the model's canonical dump (flat tool
    specs wrapped, string arguments decoded, integer ids as text), so later rules see one shape.
    """
    view = scan(data)
    if view is not None:
        return data, view, []
    try:
        dialog = parse_dialog(data, **where)
    except RecordError as e:
        return None, None, e.issues
    canonical = dump(dialog)
    view = scan(canonical)
    assert view is not None, "the canonical dump of a valid dialog must pass the fast path"
    return canonical, view, []
