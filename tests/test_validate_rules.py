"""Units: the rules registry, role/tool/quality rules on small dialogs, and the dedup index."""

from __future__ import annotations

import pytest

from dialogkit.errors import UsageError
from dialogkit.validate.dedup import DedupIndex, IntMap
from dialogkit.validate.quality import check_copy_loops, signature, sketch_jaccard
from dialogkit.validate.roles import check_roles
from dialogkit.validate.rules import all_rules, resolve_codes
from dialogkit.validate.structure import scan
from dialogkit.validate.tools import SchemaCache, check_tools, compile_fast


def _d(*roles_contents, tools=None, **extra):
    msgs = []
    for rc in roles_contents:
        msgs.append(rc if isinstance(rc, dict) else {"role": rc[0], "content": rc[1]})
    d = {"id": "x", "messages": msgs, **extra}
    if tools:
        d["tools"] = tools
    return d


def _roles(d, min_turns=1):
    out = []
    check_roles(scan(d), out.append, min_turns)
    return [(c, p) for c, p, _ in out]


def test_registry_codes_groups_and_suggestions():
    codes = [r.code for r in all_rules()]
    assert len(codes) == len(set(codes)) and all(c.isupper() for c in codes)
    assert resolve_codes(["pii"]) >= {"PII_EMAIL", "PII_PHONE", "PII_IP"}
    assert resolve_codes(["few_turns, copy_loop"]) == {"FEW_TURNS", "COPY_LOOP"}
    with pytest.raises(UsageError, match="Did you mean: TOOL_UNDECLARED"):
        resolve_codes(["TOOL_UNDECLAED"])
    with pytest.raises(UsageError, match="structural"):
        resolve_codes(["structure"])


def test_role_rules():
    assert _roles(_d(("user", "a"), ("assistant", "b"))) == []
    assert _roles(_d(("system", "s"), ("user", "a"), ("system", "late"), ("assistant", "b"))) == [
        ("SYSTEM_MID_DIALOG", "messages[2]")]
    assert _roles(_d(("user", "a"), ("assistant", " "), ("user", "c"), ("user", "d"))) == [
        ("ASSISTANT_EMPTY", "messages[1].content"), ("ROLE_ORDER", "messages[3]"), ("LAST_NOT_ASSISTANT", "messages[3]")]
    assert _roles(_d(("user", "a"), ("assistant", "b"), ("assistant", "c"))) == [("ROLE_ORDER", "messages[2]")]
    assert _roles(_d(("system", "s"))) == [("DIALOG_EMPTY", "messages")]
    assert _roles(_d(("user", "a"), ("assistant", "b")), min_turns=3) == [("FEW_TURNS", "messages")]


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {
    "type": "object", "properties": {"n": {"type": "integer"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["n"], "additionalProperties": False}}}]


def _tools(d):
    out = []
    check_tools(d, SchemaCache(), out.append)
    return [(c, p) for c, p, _ in out]


def _call(args, cid="c1", name="f"):
    return {"role": "assistant", "content": "", "tool_calls": [{"id": cid, "name": name, "arguments": args}]}


def _result(cid="c1", name="f"):
    return {"role": "tool", "tool_call_id": cid, "name": name, "content": "ok"}


def test_tool_rules():
    ok = _d(("user", "a"), _call({"n": 1, "unit": "c"}), _result(), ("assistant", "b"), tools=TOOLS)
    assert _tools(ok) == []
    bad = _d(("user", "a"), _call({"n": True, "unit": "k", "x": 1}), _result(), ("assistant", "b"), tools=TOOLS)
    assert _tools(bad) == [("TOOL_ARGS_SCHEMA", "messages[1].tool_calls[0].arguments"),
                           ("TOOL_ARGS_SCHEMA", "messages[1].tool_calls[0].arguments.n"),
                           ("TOOL_ARGS_SCHEMA", "messages[1].tool_calls[0].arguments.unit")]
    invalid = [{"type": "function", "function": {"name": "g", "parameters": {"type": "objekt"}}}]
    assert _tools(_d(("user", "a"), tools=invalid + invalid)) == [
        ("TOOL_SCHEMA_INVALID", "tools[0].function.parameters"), ("TOOL_NAME_DUPLICATE", "tools[1].function.name")]


def test_results_must_follow_their_call():
    # A reply (or another call) before the results: no chat template or API accepts it.
    reply_first = _d(("user", "a"), _call({"n": 1}), ("assistant", "b"), _result(), ("assistant", "c"), tools=TOOLS)
    assert _tools(reply_first) == [("TOOL_CALL_UNANSWERED", "messages[1].tool_calls[0]")]
    two_calls = _d(("user", "a"), _call({"n": 1}), _call({"n": 2}, cid="c2"), _result(), _result("c2"),
                   ("assistant", "b"), tools=TOOLS)
    assert _tools(two_calls) == [("TOOL_CALL_UNANSWERED", "messages[1].tool_calls[0]")]
    twice = _d(("user", "a"), _call({"n": 1}), _result(), _result(), ("assistant", "b"), tools=TOOLS)
    assert _tools(twice) == [("TOOL_RESULT_DUPLICATE", "messages[3].tool_call_id")]
    # A reused call id is one defect, not a cascade: the second call's result answers it.
    reused = _d(("user", "a"), _call({"n": 1}), _result(), ("assistant", "b"), ("user", "c"), _call({"n": 2}),
                _result(), ("assistant", "d"), tools=TOOLS)
    assert _tools(reused) == [("TOOL_CALL_ID_DUPLICATE", "messages[5].tool_calls[0].id")]
    # Parallel calls in one message, answered in any order, are fine.
    parallel = _call({"n": 1})
    parallel["tool_calls"].append({"id": "c2", "name": "f", "arguments": {"n": 2}})
    assert _tools(_d(("user", "a"), parallel, _result("c2"), _result(), ("assistant", "b"), tools=TOOLS)) == []


def test_fast_schema_check_only_accepts():
    schema = TOOLS[0]["function"]["parameters"]
    fast = compile_fast(schema)
    assert fast({"n": 1}) and fast({"n": 2, "unit": "f"})
    for args in ({}, {"n": 1.0}, {"n": True}, {"n": 1, "unit": "k"}, {"n": 1, "extra": 0}):
        assert not fast(args)
    assert compile_fast({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}}) is None


def test_fast_check_with_constraints_never_accepts_what_jsonschema_rejects():
    import random

    from jsonschema import Draft202012Validator

    props = {"n": {"type": "integer", "minimum": 1, "maximum": 5}, "x": {"type": "number", "exclusiveMinimum": 0,
             "exclusiveMaximum": 2.5}, "id": {"type": "string", "pattern": "^A[0-9]{3}$"},
             "r": {"type": "string", "minLength": 2, "maxLength": 4, "format": "email"}, "any": {"minimum": 3}}
    schema = {"type": "object", "properties": props, "required": ["n"], "additionalProperties": False}
    fast, exact = compile_fast(schema), Draft202012Validator(schema)
    assert fast is not None
    pool = [None, True, False, 0, 1, 3, 5, 6, -1, 0.0, 1.0, 2.5, 2.4999, "", "a", "ab", "abcd", "abcde", "A123",
            "A1234", "xA123", "A12", [], {}]
    rng = random.Random(0)
    accepted = 0
    for _ in range(4000):
        args = {k: rng.choice(pool) for k in rng.sample(sorted(props), rng.randint(0, len(props)))}
        if fast(args):
            accepted += 1
            assert exact.is_valid(args), args
    assert accepted > 20  # the fast path does accept the valid ones
    assert fast({"n": 3, "x": 1.0, "id": "A123", "r": "abc", "any": "str"})
    assert compile_fast({"type": "object", "properties": {"n": {"type": "number", "exclusiveMinimum": True}}}) is None
    assert compile_fast({"type": "object", "properties": {"s": {"type": "string", "pattern": "(unclosed"}}}) is None


def test_copy_loops():
    reply = "I have booked it. Your reference number is 8XJ2KQ1."
    out = []
    check_copy_loops(scan(_d(("user", "a"), ("assistant", reply), ("user", "b"), ("assistant", reply))), out.append)
    assert [(c, p) for c, p, _ in out] == [("COPY_LOOP", "messages[3].content")]
    out = []  # once more after another reply is fine (SGD repeats failure messages)
    check_copy_loops(scan(_d(("user", "a"), ("assistant", reply), ("user", "b"), ("assistant", "other reply here, long enough"),
                             ("user", "c"), ("assistant", reply))), out.append)
    assert out == []
    out = []
    check_copy_loops(scan(_d(("user", "a"), ("assistant", "Sure, I can help. " * 5))), out.append)
    assert out and "loops" in out[0][2]
    out = []
    check_copy_loops(scan(_d(("user", "a"), ("assistant", "| a | b |\n" + "|---|---|" * 6))), out.append)
    assert out == []


def test_intmap_grows_and_keeps_values():
    m = IntMap(4)
    for k in range(1, 5000):
        assert m.setdefault(k * 7919 - 2**62, k) is None
    assert all(m.setdefault(k * 7919 - 2**62, -1) == k for k in range(1, 5000))
    assert len(m) == 4999


def test_dedup_exact_near_and_ids():
    base = _d(*[("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(12)])
    near = _d(*[("user" if i % 2 == 0 else "assistant", f"turn {i}" if i != 5 else "changed") for i in range(12)])
    other = _d(*[("user" if i % 2 == 0 else "assistant", f"other {i}") for i in range(12)])
    ix = DedupIndex(0.8)
    assert ix.check(1, "a", signature(scan(base))) == []
    assert [c for c, _, _ in ix.check(2, "b", signature(scan(base)))] == ["DUPLICATE_EXACT"]
    assert [c for c, _, _ in ix.check(3, "a", signature(scan(near)))] == ["ID_DUPLICATE", "DUPLICATE_NEAR"]
    assert ix.check(4, "d", signature(scan(other))) == []
    assert sketch_jaccard((1, 2, 3), (1, 2, 4)) == 0.5
