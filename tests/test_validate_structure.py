"""The structural fast path never disagrees with pydantic (dialogkit.schema.Dialog).

``scan`` may only accept what the model accepts; whatever it declines goes to pydantic, so
the final verdict must equal pydantic's on every record. Checked on thousands of seeded
mutations of valid dialogs (wrong types, missing and extra keys, coerced forms ...).
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from pydantic import ValidationError

from dialogkit.schema import Dialog
from dialogkit.validate.structure import check_structure, scan

TOOLS = [{"type": "function", "function": {"name": "get_fare", "parameters": {"type": "object", "properties": {
    "to": {"type": "string"}}, "required": ["to"]}}}]


def _seed_dialogs() -> list[dict[str, Any]]:
    return [
        {"id": "a", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                                 {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "get_fare", "arguments": {"to": "x"}}]},
                                 {"role": "tool", "tool_call_id": "c1", "name": "get_fare", "content": {"fare": 1}},
                                 {"role": "assistant", "content": "ok", "reasoning": "r", "train": True, "expected": "answer"}],
         "tools": TOOLS, "metadata": {"domain": ["a", "b"], "language": "en", "extra": [1, 2]}},
        {"id": "b", "messages": [{"role": "user", "content": "订票", "acts": [{"act": "INFORM", "slot": "to", "values": ["成都", 2, True]}]},
                                 {"role": "assistant", "content": "好", "state": {"domain": "Trains_1", "active_intent": "Find",
                                  "slots": {"to": ["成都"], "n": 2}, "requested_slots": ["date"], "frames": {"Hotels_1": {"slots": {"x": "y"}}}}}],
         "goal": {"intents": ["Find"], "constraints": {"to": "成都"}}},
        {"id": "c", "messages": [], "tools": [{"type": "function", "function": {"name": "f", "description": "d", "strict": False}}]},
    ]


VALUES: list[Any] = [None, True, False, 0, 1, -3, 1.5, "", " ", "x", "true", "assistant", "tool", "user", "{}", '{"a": 1}',
                     "[1]", "{bad", [], [1], ["x"], {}, {"a": 1}, {"role": "user"}, {"type": "function"}]


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(d: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    d = copy.deepcopy(d)
    for _ in range(rng.randint(1, 2)):
        paths = [p for p in _paths(d) if p]
        path = rng.choice(paths)
        parent = d
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        op = rng.random()
        if op < 0.25 and isinstance(parent, dict):
            del parent[key]
        elif op < 0.35 and isinstance(parent, dict):
            parent[rng.choice(["extra", "name", "type", "content", "function", "arguments", "state"])] = rng.choice(VALUES)
        elif op < 0.45 and isinstance(parent[key], dict) and isinstance(parent[key].get("function"), dict):
            parent[key] = dict(parent[key]["function"])  # flat tool spec (coerced by pydantic)
        elif op < 0.5 and key == "arguments":
            parent[key] = '{"to": "x"}'  # JSON-string arguments (decoded by pydantic)
        elif op < 0.55 and key == "id":
            parent[key] = rng.choice([7, True, 7.0])
        else:
            parent[key] = rng.choice(VALUES)
    return d


def _pydantic_ok(d: Any) -> bool:
    try:
        Dialog.model_validate(d)
    except ValidationError:
        return False
    return True


def test_seed_dialogs_take_the_fast_path():
    for d in _seed_dialogs():
        assert _pydantic_ok(d)
        assert scan(d) is not None


def test_fast_path_agrees_with_pydantic_on_mutations():
    rng = random.Random(1234)
    seeds = _seed_dialogs()
    fast_accepts = coerced = rejected = 0
    for _ in range(4000):
        d = _mutate(rng.choice(seeds), rng)
        ok = _pydantic_ok(d)
        view = scan(d)
        if view is not None:
            assert ok, f"fast path accepted what pydantic rejects: {d}"
            fast_accepts += 1
        canonical, view2, issues = check_structure(d, {"file": "f", "line": 1})
        assert (canonical is not None) == ok, d
        assert bool(issues) == (not ok)
        if ok and view is None:
            coerced += 1
            assert view2 is not None  # the canonical dump takes the fast path
        rejected += not ok
    # the mutations exercise all three outcomes
    assert fast_accepts > 300 and coerced > 20 and rejected > 1000


@pytest.mark.parametrize("bad", [
    {"id": "x", "messages": [{"role": ["user"], "content": "u"}]},
    {"id": "x", "messages": [{"role": "user"}]},
    {"id": "x", "messages": "hello"},
    ["not", "a", "dict"],
    {"id": "", "messages": []},
])
def test_unhashable_and_odd_inputs_are_located_not_crashes(bad):
    canonical, view, issues = check_structure(bad, {"file": "f.jsonl", "line": 9})
    assert canonical is None and view is None and issues
    assert all(i.line == 9 and i.code.isupper() for i in issues)


def test_act_and_state_hand_checks_only_accept_what_pydantic_accepts():
    from dialogkit.schema import DialogAct, DialogState
    from dialogkit.validate.structure import _act_ok, _state_ok

    act = {"act": "INFORM", "slot": "to", "values": ["成都", 2, 1.5, True], "canonical_values": ["cd"], "domain": "t"}
    state = {"domain": "Trains_1", "active_intent": "Find", "slots": {"to": ["成都"], "n": 2, "ok": False},
             "requested_slots": ["date"], "frames": {"Hotels_1": {"slots": {"x": "y"}, "active_intent": None}}}
    assert _act_ok(act) and _state_ok(state) and _act_ok({"act": "BYE"})
    rng = random.Random(7)
    accepted = 0
    for model, check, seed in ((DialogAct, _act_ok, act), (DialogState, _state_ok, state)):
        for _ in range(3000):
            d = _mutate(seed, rng) if rng.random() < 0.95 else rng.choice(VALUES)
            if check(d):
                accepted += 1
                model.model_validate(d)  # raises if the hand check accepted something invalid
    assert accepted > 500
