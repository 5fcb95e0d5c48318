"""Tool-use rules: declared tools, argument schemas, and the call/result bookkeeping.

Each distinct ``parameters`` schema is compiled once (cached by its canonical JSON). Simple
schemas - an object of typed properties with ``required``/``enum``/``additionalProperties``,
numeric bounds, string lengths and patterns - get a Python check that can only *accept*;
anything it does not accept, and every other schema, goes to ``jsonschema``, which gives the
exact verdict and message.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import orjson

Emit = Callable[[tuple[str, str | None, str]], None]

_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}
_SCHEMA_KEYS = frozenset(("type", "properties", "required", "additionalProperties", "description", "title", "$schema"))
# "format" is an annotation: CompiledSchema's validator has no format checker, so it never fails.
_PROP_KEYS = frozenset(("type", "enum", "description", "title", "default", "examples", "format",
                        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern"))
_BOUNDS = {"minimum": operator.ge, "maximum": operator.le,
           "exclusiveMinimum": operator.gt, "exclusiveMaximum": operator.lt}
_LENGTHS = {"minLength": operator.ge, "maxLength": operator.le}
_NUMBER = (int, float)
Check = Callable[[Any], bool]
PropCheck = tuple[tuple[type, ...] | None, frozenset[str] | None, tuple[Check, ...]]


def _constraints(spec: dict[str, Any]) -> tuple[Check, ...] | None:
    """Value checks with jsonschema's exact semantics (each applies to its own type only)."""
    out: list[Check] = []
    for key, op in _BOUNDS.items():
        if key in spec:
            bound = spec[key]
            if type(bound) not in _NUMBER:  # draft-04's boolean exclusiveMinimum: leave to jsonschema
                return None
            out.append(lambda v, b=bound, op=op: type(v) not in _NUMBER or op(v, b))
    for key, op in _LENGTHS.items():
        if key in spec:
            n = spec[key]
            if type(n) is not int:
                return None
            out.append(lambda v, n=n, op=op: type(v) is not str or op(len(v), n))
    if "pattern" in spec:
        try:
            rx = re.compile(spec["pattern"])  # jsonschema uses re.search too
        except (re.error, TypeError):
            return None
        out.append(lambda v, rx=rx: type(v) is not str or rx.search(v) is not None)
    return tuple(out)


def _prop_check(spec: Any) -> PropCheck | None:
    if type(spec) is not dict or not spec.keys() <= _PROP_KEYS:
        return None
    t = spec.get("type")
    names = [t] if isinstance(t, str) else t if isinstance(t, list) else [] if t is None else None
    if names is None or not all(n in _SIMPLE_TYPES for n in names):
        return None
    types = tuple(x for n in names for x in _SIMPLE_TYPES[n]) or None
    enum = spec.get("enum")
    if enum is not None and not (type(enum) is list and all(type(v) is str for v in enum)):
        return None
    checks = _constraints(spec)
    if checks is None:
        return None
    return types, (frozenset(enum) if enum is not None else None), checks


def compile_fast(schema: dict[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    """A check that returns True only for arguments the schema certainly accepts, or None."""
    if schema.get("type", "object") != "object" or not schema.keys() <= _SCHEMA_KEYS:
        return None
    props_in = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if type(props_in) is not dict or type(required) is not list or type(extra) is not bool:
        return None
    props = {}
    for name, spec in props_in.items():
        compiled = _prop_check(spec)
        if compiled is None:
            return None
        props[name] = compiled

    def check(args: dict[str, Any]) -> bool:
        for r in required:
            if r not in args:
                return False
        for key, value in args.items():
            spec = props.get(key)
            if spec is None:
                if not extra:
                    return False
                continue
            types, enum, checks = spec
            # type() not isinstance(): bool is not an integer to JSON Schema.
            if types is not None and type(value) not in types:
                return False
            if enum is not None and (type(value) is not str or value not in enum):
                return False
            for ok in checks:
                if not ok(value):
                    return False
        return True

    return check


class CompiledSchema:
    """One tool's parameter schema, ready to check arguments."""

    def __init__(self, schema: dict[str, Any]):
        from jsonschema import SchemaError
        from jsonschema.validators import validator_for

        cls = validator_for(schema, default=_default_validator())
        self.error: str | None = None
        try:
            cls.check_schema(schema)
        except SchemaError as e:
            self.error = f"not a valid JSON Schema: {e.message}"
        self.validator = None if self.error else cls(schema)
        self.fast = None if self.error else compile_fast(schema)

    def violations(self, args: dict[str, Any]) -> list[tuple[str, str]]:
        """``(json path suffix, message)`` for each way ``args`` break the schema."""
        if self.validator is None or (self.fast is not None and self.fast(args)):
            return []
        out = []
        for err in sorted(self.validator.iter_errors(args), key=lambda e: list(map(str, e.absolute_path))):
            suffix = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
            out.append((suffix, err.message[:300]))
        return out


def _default_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator


class SchemaCache:
    """Compiled schemas by canonical JSON, shared by every dialog a process checks."""

    def __init__(self) -> None:
        self._cache: dict[bytes, CompiledSchema] = {}
        # A whole ``tools`` list -> its declared tools and what declaring them reported: every
        # dialog of a file usually declares the same list.
        self._declared: dict[bytes, tuple[dict[str, CompiledSchema | None], list[tuple[str, str | None, str]]]] = {}

    def get(self, schema: dict[str, Any]) -> CompiledSchema:
        # Key order as written: the same tool written twice the same way is one entry.
        key = orjson.dumps(schema, option=orjson.OPT_NON_STR_KEYS)
        compiled = self._cache.get(key)
        if compiled is None:
            compiled = self._cache[key] = CompiledSchema(schema)
        return compiled

    def declared(self, tools: list[dict[str, Any]], emit: Emit, key: bytes | None = None) -> dict[str, CompiledSchema | None]:
        """:func:`_declared` of ``tools``, remembered by the list's exact JSON (``key``, if known)."""
        if key is None:
            try:
                key = orjson.dumps(tools, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
            except TypeError:  # not plain JSON data: no caching
                return _declared(tools, self, emit)
        hit = self._declared.get(key)
        if hit is None:
            found: list[tuple[str, str | None, str]] = []
            if len(self._declared) > 1024:
                self._declared.clear()
            hit = self._declared[key] = (_declared(tools, self, found.append), found)
        for issue in hit[1]:
            emit(issue)
        return hit[0]


def _declared(tools: list[dict[str, Any]], schemas: SchemaCache, emit: Emit) -> dict[str, CompiledSchema | None]:
    declared: dict[str, CompiledSchema | None] = {}
    for k, spec in enumerate(tools):
        fn = spec["function"]
        name = fn["name"]
        if name in declared:
            emit(("TOOL_NAME_DUPLICATE", f"tools[{k}].function.name", f"tool {name!r} is declared twice"))
            continue
        params = fn.get("parameters")
        compiled = schemas.get(params) if params else None
        if compiled is not None and compiled.error:
            emit(("TOOL_SCHEMA_INVALID", f"tools[{k}].function.parameters", compiled.error))
        declared[name] = compiled
    return declared


def check_tools(dialog: dict[str, Any], schemas: SchemaCache, emit: Emit, roles: str | None = None,
                tools_key: bytes | None = None) -> None:
    """Emit ``(code, path, message)`` for every tool-use defect of a structurally valid dialog.

    ``roles`` is the one-letter role string of :class:`~dialogkit.validate.structure.View`;
    with it, a dialog without calls or results only has its declared tools checked, and only
    the messages from the first call or result on are walked. ``tools_key`` is the exact JSON
    of ``dialog["tools"]`` when the caller has it (``View.tools_key``).
    """
    tools = dialog.get("tools") or []
    declared = schemas.declared(tools, emit, tools_key) if tools else {}
    if roles is not None:
        _walk_roles(dialog["messages"], roles, declared, emit)
        return
    calls: dict[str, tuple[int, int, str]] = {}
    pending: dict[str, tuple[int, int]] = {}
    answered: set[str] = set()
    msgs = dialog["messages"]
    for i in range(len(msgs)):
        m = msgs[i]
        role = m["role"]
        if role == "assistant":
            # Results follow their call directly (OpenAI's API and every chat template
            # assume it): the model never speaks again before it has seen them.
            if pending:
                _unanswered(pending, f"before the next assistant message (messages[{i}])", emit)
            for j, call in enumerate(m.get("tool_calls") or ()):
                answered.discard(call["id"])  # a reused id (reported) is answered afresh
                _check_call(i, j, call, declared, calls, pending, emit)
        elif role == "tool":
            _check_result(i, m, calls, pending, answered, emit)
        elif role == "user" and pending:
            _unanswered(pending, f"before the next user turn (messages[{i}])", emit)
    if pending:
        _unanswered(pending, "before the dialog ends", emit)


def _walk_roles(msgs: list[dict[str, Any]], roles: str, declared: dict[str, CompiledSchema | None], emit: Emit) -> None:
    # The same walk as check_tools' own, read off the role string: before the first call or
    # result nothing can be pending, and only "c" messages carry calls.
    c, t = roles.find("c"), roles.find("t")
    start = c if t < 0 else t if c < 0 else min(c, t)
    if start < 0:
        return
    calls: dict[str, tuple[int, int, str]] = {}
    pending: dict[str, tuple[int, int]] = {}
    answered: set[str] = set()
    for i in range(start, len(roles)):
        r = roles[i]
        if r == "t":
            _check_result(i, msgs[i], calls, pending, answered, emit)
        elif r == "s":
            continue
        elif r == "u":
            if pending:
                _unanswered(pending, f"before the next user turn (messages[{i}])", emit)
        else:
            if pending:
                _unanswered(pending, f"before the next assistant message (messages[{i}])", emit)
            if r == "c":
                for j, call in enumerate(msgs[i]["tool_calls"]):
                    answered.discard(call["id"])  # a reused id (reported) is answered afresh
                    _check_call(i, j, call, declared, calls, pending, emit)
    if pending:
        _unanswered(pending, "before the dialog ends", emit)


def _check_result(i: int, m: dict[str, Any], calls: dict[str, tuple[int, int, str]],
                  pending: dict[str, tuple[int, int]], answered: set[str], emit: Emit) -> None:
    cid = m["tool_call_id"]
    if not cid:
        emit(("TOOL_RESULT_NO_ID", f"messages[{i}].tool_call_id", "tool result without a tool_call_id"))
        return
    if cid not in calls:
        emit(("TOOL_RESULT_ORPHAN", f"messages[{i}].tool_call_id", f"no earlier call has id {cid!r}"))
        return
    if cid in answered:
        emit(("TOOL_RESULT_DUPLICATE", f"messages[{i}].tool_call_id", f"call {cid!r} already has a result"))
        return
    answered.add(cid)
    pending.pop(cid, None)  # a late result was already reported as TOOL_CALL_UNANSWERED
    called = calls[cid][2]
    if m["name"] and m["name"] != called:
        emit(("TOOL_RESULT_NAME", f"messages[{i}].name",
              f"result named {m['name']!r} answers call {cid!r} to {called!r}"))


def _check_call(i: int, j: int, call: dict[str, Any], declared: dict[str, CompiledSchema | None],
                calls: dict[str, tuple[int, int, str]], pending: dict[str, tuple[int, int]], emit: Emit) -> None:
    cid, name = call["id"], call["name"]
    if cid in calls:
        a, b, _ = calls[cid]
        emit(("TOOL_CALL_ID_DUPLICATE", f"messages[{i}].tool_calls[{j}].id", f"call id {cid!r} already used by messages[{a}].tool_calls[{b}]"))
    else:
        calls[cid] = (i, j, name)
    pending[cid] = (i, j)
    if name not in declared:
        known = ", ".join(sorted(declared)) or "none"
        emit(("TOOL_UNDECLARED", f"messages[{i}].tool_calls[{j}].name", f"call to undeclared tool {name!r} (declared: {known})"))
        return
    compiled = declared[name]
    if compiled is not None:
        for suffix, message in compiled.violations(call.get("arguments") or {}):
            emit(("TOOL_ARGS_SCHEMA", f"messages[{i}].tool_calls[{j}].arguments{suffix}", message))


def _unanswered(pending: dict[str, tuple[int, int]], when: str, emit: Emit) -> None:
    for cid, (a, b) in pending.items():
        emit(("TOOL_CALL_UNANSWERED", f"messages[{a}].tool_calls[{b}]", f"call {cid!r} gets no tool result {when}"))
    pending.clear()
