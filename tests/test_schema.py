"""The conversation schema: structure, canonical form, located error codes, shipped JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dialogkit.errors import RecordError
from dialogkit.records import field_path, parse_dialog, parse_pair
from dialogkit.schema import AssistantMessage, Dialog, dump, json_schemas

ROOT = Path(__file__).resolve().parents[1]

GOOD = {
    "id": "d1",
    "messages": [
        {"role": "system", "content": "你是一个订票助手。"},
        {"role": "user", "content": "查一下重庆到成都的票价"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c1", "name": "get_fare", "arguments": {"from": "重庆", "to": "成都"}}],
            "state": {"active_intent": "GetFare", "slots": {"from": "重庆", "to": ["成都", "成都东"]}},
            "expected": "call_tool",
        },
        {"role": "tool", "tool_call_id": "c1", "name": "get_fare", "content": {"second_class": 154}},
        {"role": "assistant", "content": "二等座154元。", "acts": [{"act": "INFORM", "slot": "fare", "values": ["154"]}]},
    ],
    "tools": [{"type": "function", "function": {"name": "get_fare", "parameters": {"type": "object"}}}],
    "goal": {"intents": ["GetFare"], "constraints": {"from": "重庆"}},
    "metadata": {"language": "zh", "source": "test", "custom": {"k": 1}},
}


def issues_of(data):
    with pytest.raises(RecordError) as e:
        parse_dialog(data, file="in.jsonl", line=4)
    return e.value.issues


def test_good_dialog_round_trips_through_canonical_form():
    d = parse_dialog(GOOD)
    again = Dialog.model_validate(dump(d))
    assert again == d
    assert dump(again) == dump(d)
    assert d.metadata.model_extra == {"custom": {"k": 1}}


def test_canonical_form_leaves_out_defaults():
    d = parse_dialog({"id": "x", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
    assert dump(d) == {"id": "x", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}


def test_arguments_string_is_parsed_once():
    msg = AssistantMessage.model_validate(
        {"role": "assistant", "tool_calls": [{"id": "a", "name": "f", "arguments": '{"n": 2, "q": "北京"}'}]}
    )
    assert msg.tool_calls[0].arguments == {"n": 2, "q": "北京"}


def test_flat_tool_spec_is_wrapped():
    d = parse_dialog({**GOOD, "tools": [{"name": "get_fare", "description": "fares", "parameters": {"type": "object"}}]})
    assert dump(d)["tools"][0] == {"function": {"name": "get_fare", "description": "fares", "parameters": {"type": "object"}}}
    assert d.tool_names() == {"get_fare"}


@pytest.mark.parametrize(
    "mutate, path, code",
    [
        (lambda d: d["messages"][1].update(role="bot"), "messages[1]", "ROLE_UNKNOWN"),
        (lambda d: d["messages"][1].pop("role"), "messages[1]", "ROLE_MISSING"),
        (lambda d: d["messages"][1].update(content=5), "messages[1].content", "TYPE_WRONG"),
        (lambda d: d["messages"][2]["tool_calls"][0].update(arguments="{oops"), "messages[2].tool_calls[0].arguments", "TOOL_ARGS_NOT_JSON"),
        (lambda d: d["messages"][2]["tool_calls"][0].update(arguments="[1]"), "messages[2].tool_calls[0].arguments", "TOOL_ARGS_NOT_OBJECT"),
        (lambda d: d["messages"][3].pop("tool_call_id"), "messages[3].tool_call_id", "FIELD_MISSING"),
        (lambda d: d["messages"][4].update(contnet="typo"), "messages[4].contnet", "FIELD_UNKNOWN"),
        (lambda d: d["messages"][2].update(expected="dance"), "messages[2].expected", "VALUE_INVALID"),
        (lambda d: d.update(id=""), "id", "VALUE_EMPTY"),
        (lambda d: d["messages"][2]["state"]["slots"].update(x={"nested": 1}), "messages[2].state.slots.x", "TYPE_WRONG"),
    ],
)
def test_defects_are_located_with_stable_codes(mutate, path, code):
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    issues = issues_of(data)
    assert (path, code) in {(i.path, i.code) for i in issues}, [i.format() for i in issues]
    issue = next(i for i in issues if i.code == code)
    assert issue.file == "in.jsonl" and issue.line == 4
    assert issue.format().startswith("in.jsonl:4: record ")
    assert issue.format().endswith(f"({code})")


def test_every_defect_in_a_record_is_reported():
    data = json.loads(json.dumps(GOOD))
    data["messages"][1]["role"] = "bot"
    data["messages"][4]["content"] = 3
    codes = {i.code for i in issues_of(data)}
    assert codes == {"ROLE_UNKNOWN", "TYPE_WRONG"}


def test_non_object_record():
    with pytest.raises(RecordError) as e:
        parse_dialog([1, 2], file="f", line=1)
    assert e.value.issues[0].code == "TYPE_WRONG"


def test_integer_ids_are_kept_as_text():
    assert parse_dialog({**GOOD, "id": 42}).id == "42"


def test_preference_pair_continuations_are_assistant_side():
    pair = {
        "id": "p1",
        "prompt": GOOD["messages"][:2],
        "chosen": [GOOD["messages"][2], GOOD["messages"][3], GOOD["messages"][4]],
        "rejected": [{"role": "assistant", "content": "不知道"}],
        "metadata": {"negative_type": "missing_tool_call"},
    }
    p = parse_pair(pair)
    assert p.metadata.negative_type == "missing_tool_call"
    bad = {**pair, "rejected": [{"role": "user", "content": "hm"}]}
    with pytest.raises(RecordError) as e:
        parse_pair(bad)
    assert e.value.issues[0].code == "PAIR_NOT_ASSISTANT"
    assert e.value.issues[0].path == "rejected"


def test_field_path_drops_union_tags():
    assert field_path(("messages", 3, "assistant", "tool_calls", 0, "arguments")) == "messages[3].tool_calls[0].arguments"
    assert field_path(("messages", 1, "state", "slots", "x", "str")) == "messages[1].state.slots.x"


@pytest.mark.parametrize("name", ["dialog.schema.json", "preference.schema.json"])
def test_shipped_json_schemas_match_the_models(name):
    shipped = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    assert shipped == json_schemas()[name], "schemas/ drifted: run `dialogkit schema --write schemas/`"


def test_json_schema_accepts_canonical_dialogs_and_rejects_bad_roles():
    schema = json.loads((ROOT / "schemas" / "dialog.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(dump(parse_dialog(GOOD)))
    bad = json.loads(json.dumps(GOOD))
    bad["messages"][1]["role"] = "bot"
    assert not validator.is_valid(bad)
