"""OpenAI chat format: lossless round trips on the samples, lenient reading, dropped features."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogkit.convert import convert_file
from dialogkit.formats.openai import dialog_to_record, messages_from_openai
from dialogkit.records import parse_dialog
from dialogkit.schema import dump

SAMPLES = Path(__file__).resolve().parents[1] / "datasets"
ALL = ["restaurant_en", "hotel_zh", "tools_mixed", "chat_mixed"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", ALL)
def test_dialogkit_openai_dialogkit_is_identity(tmp_path: Path, name: str) -> None:
    src = SAMPLES / name / "dialogs.jsonl"
    extras = name in ("restaurant_en", "hotel_zh")  # state/acts/goal need --keep-extras
    r1 = convert_file(src, tmp_path / "oa.jsonl", "dialogkit", "openai", keep_extras=extras)
    assert r1.dropped == {}
    convert_file(tmp_path / "oa.jsonl", tmp_path / "back.jsonl", "openai", "dialogkit")
    assert (tmp_path / "back.jsonl").read_bytes() == src.read_bytes()
    # and openai -> dialogkit -> openai gives the same OpenAI file back
    convert_file(tmp_path / "back.jsonl", tmp_path / "oa2.jsonl", "dialogkit", "openai", keep_extras=extras)
    assert (tmp_path / "oa2.jsonl").read_bytes() == (tmp_path / "oa.jsonl").read_bytes()


def test_openai_shape_and_dropped_features(tmp_path: Path) -> None:
    src = SAMPLES / "hotel_zh" / "dialogs.jsonl"
    report = convert_file(src, tmp_path / "oa.jsonl", "dialogkit", "openai")
    assert report.dropped == {"acts": 60, "goal": 60, "state": 60}
    text = (tmp_path / "oa.jsonl").read_text(encoding="utf-8")
    assert "\\u" not in text and "酒店" in text  # Chinese stays readable
    rec = json.loads(text.splitlines()[0])
    assert set(rec) == {"id", "messages", "tools", "metadata"}
    assert rec["tools"][0]["type"] == "function" and "parameters" in rec["tools"][0]["function"]
    call_msg = next(m for m in rec["messages"] if m.get("tool_calls"))
    call = call_msg["tool_calls"][0]
    assert call["type"] == "function" and isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"])["city"]
    tool_msg = next(m for m in rec["messages"] if m["role"] == "tool")
    assert set(tool_msg) == {"role", "tool_call_id", "name", "content"} and isinstance(tool_msg["content"], str)
    assert all(set(m) <= {"role", "content", "tool_calls", "tool_call_id", "name"} for m in rec["messages"])


def test_lenient_reading_of_real_world_openai() -> None:
    msgs = messages_from_openai([
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "name": "alice", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Paris?"}]},
        {"role": "assistant", "content": None, "refusal": None, "annotations": [], "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"id": "x1", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\": \"CET\"}"}}]},
        {"role": "tool", "content": "{\"temp\": 21}"},  # no id, no name: answers the oldest call
        {"role": "tool", "tool_call_id": "x1", "content": "[\"10:00\"]"},
        {"role": "assistant", "content": "21 °C.", "reasoning_content": "Use the tool result."},
    ])
    d = parse_dialog({"id": "a", "messages": msgs})
    assert d.messages[0].role == "system"
    assert d.messages[1].content == "Weather in Paris?"
    calls = d.messages[2].tool_calls
    assert [c.id for c in calls] == ["call_2_0", "x1"] and calls[0].arguments == {"city": "Paris"}
    assert (d.messages[3].tool_call_id, d.messages[3].name) == ("call_2_0", "get_weather")
    assert d.messages[3].content == "{\"temp\": 21}"  # not compact JSON: kept as the text it is
    assert d.messages[4].content == ["10:00"]  # compact JSON: decoded
    assert d.messages[5].reasoning == "Use the tool result."


def test_tool_result_text_rule_keeps_round_trips_exact() -> None:
    d = parse_dialog({"id": "a", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [{"id": "c", "name": "f", "arguments": {}}]},
        {"role": "tool", "tool_call_id": "c", "name": "f", "content": {"城市": "北京", "temp": 21.5}},
        {"role": "assistant", "content": "ok"}]})
    rec, lost = dialog_to_record(d)
    assert rec["messages"][2]["content"] == '{"城市":"北京","temp":21.5}' and not lost
    back = parse_dialog(dict(rec, messages=messages_from_openai(rec["messages"])))
    assert dump(back) == dump(d)
    # a number has no lossless text form: reported, never silent
    d.messages[2].content = 5
    assert dialog_to_record(d)[1] == {"tool result type"}
