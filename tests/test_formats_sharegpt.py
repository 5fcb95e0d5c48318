"""ShareGPT as LLaMA-Factory reads it: round trips, LF demo records, dataset_info, alternation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogkit.convert import convert_file
from dialogkit.formats.sharegpt import CONVERTER, SEPARATOR
from dialogkit.records import parse_dialog

SAMPLES = Path(__file__).resolve().parents[1] / "datasets"

# Shaped like LLaMA-Factory's data/glaive_toolcall_en_demo.json (flat tools as a JSON string).
GLAIVE = {
    "conversations": [
        {"from": "human", "value": "Hi, I was born on 1990-05-15. How old am I?"},
        {"from": "function_call", "value": "{\"name\": \"calculate_age\", \"arguments\": {\"birthdate\": \"1990-05-15\"}}"},
        {"from": "observation", "value": "{\"age\": 31}"},
        {"from": "gpt", "value": "You are 31 years old."},
    ],
    "system": "You are a helpful assistant.",
    "tools": "[{\"name\": \"calculate_age\", \"description\": \"Calculate age\", \"parameters\": {\"type\": \"object\", "
             "\"properties\": {\"birthdate\": {\"type\": \"string\"}}, \"required\": [\"birthdate\"]}}]",
}


def _write(path: Path, records: list) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["restaurant_en", "hotel_zh", "tools_mixed", "chat_mixed"])
def test_dialogkit_sharegpt_dialogkit_is_identity(tmp_path: Path, name: str) -> None:
    src = SAMPLES / name / "dialogs.jsonl"
    extras = name in ("restaurant_en", "hotel_zh")
    report = convert_file(src, tmp_path / "sg.json", "dialogkit", "sharegpt", keep_extras=extras)
    assert report.dropped == {} and report.rejected == 0
    convert_file(tmp_path / "sg.json", tmp_path / "back.jsonl", "sharegpt", "dialogkit")
    assert (tmp_path / "back.jsonl").read_bytes() == src.read_bytes()
    data = json.loads((tmp_path / "sg.json").read_text(encoding="utf-8"))  # a JSON array, as LF ships
    for rec in data:
        tags = [e["from"] for e in rec["conversations"]]
        assert all(t in ("human", "observation") for t in tags[0::2])
        assert all(t in ("gpt", "function_call") for t in tags[1::2]) and len(tags) % 2 == 0
        assert isinstance(rec.get("tools", ""), str)


def test_reads_llamafactory_glaive_record(tmp_path: Path) -> None:
    raws = list(CONVERTER.read(_write(tmp_path / "g.json", [GLAIVE])))
    d = parse_dialog(raws[0].data)
    assert d.id == "g-1"
    assert [m.role for m in d.messages] == ["system", "user", "assistant", "tool", "assistant"]
    call = d.messages[2].tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("call_2_0", "calculate_age", {"birthdate": "1990-05-15"})
    assert (d.messages[3].tool_call_id, d.messages[3].name, d.messages[3].content) == (
        "call_2_0", "calculate_age", "{\"age\": 31}")
    assert d.tools[0].function.name == "calculate_age"


def test_parallel_calls_and_leading_system_message(tmp_path: Path) -> None:
    rec = {"system": "column system", "conversations": [
        {"from": "system", "value": "message system wins"},
        {"from": "human", "value": "北京和上海的天气？"},
        {"from": "function_call", "value": json.dumps([{"name": "w", "arguments": {"city": "北京"}},
                                                      {"name": "w", "arguments": "{\"city\": \"上海\"}"}])},
        {"from": "observation", "value": "晴" + SEPARATOR + "雨"},
        {"from": "gpt", "value": "北京晴，上海雨。"}]}
    d = parse_dialog(next(iter(CONVERTER.read(_write(tmp_path / "p.json", [rec])))).data)
    assert d.messages[0].content == "message system wins"
    assert [(t.tool_call_id, t.content) for t in d.messages[3:5]] == [("call_2_0", "晴"), ("call_2_1", "雨")]
    out = tmp_path / "out.json"
    convert_file(tmp_path / "p.json", tmp_path / "d.jsonl", "sharegpt", "dialogkit")
    convert_file(tmp_path / "d.jsonl", out, "dialogkit", "sharegpt")
    conv = json.loads(out.read_text(encoding="utf-8"))[0]["conversations"]
    assert conv[2]["value"] == "晴" + SEPARATOR + "雨" and "\\u" not in out.read_text(encoding="utf-8")


def test_dataset_info_mapping_both_ways(tmp_path: Path) -> None:
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"mine": {"file_name": "m.json", "formatting": "sharegpt", "columns": {
        "messages": "messages", "system": "sys", "tools": "tools"}, "tags": {
        "role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
        "observation_tag": "tool", "function_tag": "function_call"}}, "other": {"formatting": "alpaca"}}))
    rec = {"sys": "S", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    src = _write(tmp_path / "m.json", [rec])
    report = convert_file(src, tmp_path / "d.jsonl", "sharegpt", "dialogkit", dataset_info=info, dataset="mine")
    assert report.rejected == 0
    d = json.loads((tmp_path / "d.jsonl").read_text())
    assert [m["role"] for m in d["messages"]] == ["system", "user", "assistant"]
    convert_file(tmp_path / "d.jsonl", tmp_path / "m2.json", "dialogkit", "sharegpt", dataset_info=info, dataset="mine")
    back = json.loads((tmp_path / "m2.json").read_text())[0]
    assert back["sys"] == "S" and back["messages"][1] == {"role": "assistant", "content": "hello"}


def test_dataset_info_usage_errors(tmp_path: Path, run_cli) -> None:
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"a": {"formatting": "alpaca"}, "b": {"formatting": "sharegpt"}}))
    src = _write(tmp_path / "x.json", [GLAIVE])
    base = ("convert", "--from", "sharegpt", "--to", "dialogkit", src, tmp_path / "o.jsonl", "--dataset-info", info)
    res = run_cli(*base)
    assert res.exit_code == 2 and "pick one with --dataset" in res.output
    res = run_cli(*base, "--dataset", "a")
    assert res.exit_code == 2 and "formatting 'alpaca'" in res.output
    res = run_cli(*base, "--dataset", "nope")
    assert res.exit_code == 2 and "no data set 'nope'" in res.output
    assert not (tmp_path / "o.jsonl").exists()


BAD = [
    ({"conversations": [{"from": "gpt", "value": "hi"}, {"from": "human", "value": "x"}]}, "SHAREGPT_ALTERNATION",
     "conversations[0].from"),
    ({"conversations": [{"from": "human", "value": "hi"}]}, "SHAREGPT_ALTERNATION", "conversations"),
    ({"conversations": [{"from": "human", "value": "hi"}, {"from": "function_call", "value": "get_weather(x)"}]},
     "FUNCTION_CALL_NOT_JSON", "conversations[1].value"),
    ({"conversations": [{"from": "human", "value": "hi"}, {"from": "function_call", "value": '{"arguments": {}}'}]},
     "FUNCTION_CALL_INVALID", "conversations[1].value"),
    ({"conversations": [{"from": "human", "value": "hi"}, {"from": "bot", "value": "yo"}]}, "ROLE_UNKNOWN",
     "conversations[1].from"),
    ({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": 3}]}, "TYPE_WRONG",
     "conversations[1].value"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": json.dumps(
        [{"name": "a", "arguments": {}}, {"name": "b", "arguments": {}}])}, {"from": "observation", "value": "one"},
        {"from": "gpt", "value": "x"}]}, "SHAREGPT_OBSERVATION_COUNT", "conversations[2].value"),
    ({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], "tools": "[{"},
     "TOOLS_NOT_JSON", "tools"),
]


@pytest.mark.parametrize("record,code,path", BAD)
def test_format_errors_are_located(tmp_path: Path, run_cli, record: dict, code: str, path: str) -> None:
    src = _write(tmp_path / "bad.json", [GLAIVE, record])
    out = tmp_path / "o.jsonl"
    res = run_cli("convert", "--from", "sharegpt", "--to", "dialogkit", src, out)
    assert res.exit_code == 1
    line = [i for i, x in enumerate(src.read_text().splitlines(), 1) if x == "  {"][1]  # the 2nd element
    assert f"{src}:{line}: record bad-2: {path}: " in res.stderr and f"({code})" in res.stderr
    assert len(out.read_text().splitlines()) == 1  # the good record is still converted


def test_unwritable_dialogs_are_rejected_not_dropped(tmp_path: Path, run_cli) -> None:
    src = tmp_path / "d.jsonl"
    good = {"id": "ok", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    two = {"id": "two", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                     {"role": "assistant", "content": "c"}]}
    odd = {"id": "odd", "messages": [{"role": "user", "content": "a"}]}
    src.write_text("\n".join(json.dumps(r) for r in (good, two, odd)) + "\n")
    res = run_cli("convert", "--from", "dialogkit", "--to", "sharegpt", src, tmp_path / "o.json",
                  "--rejects", tmp_path / "rej.jsonl")
    assert res.exit_code == 1
    assert f"{src}:2: record two: messages[2]: cannot be written as ShareGPT" in res.stderr
    assert f"{src}:3: record odd: messages: cannot be written as ShareGPT" in res.stderr
    assert [r["id"] for r in json.loads((tmp_path / "o.json").read_text())] == ["ok"]
    assert [json.loads(x)["id"] for x in (tmp_path / "rej.jsonl").read_text().splitlines()] == ["two", "odd"]


def test_what_sharegpt_cannot_carry_is_reported(tmp_path: Path) -> None:
    d = {"id": "x", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "Let me check.", "reasoning": "think", "tool_calls": [
            {"id": "abc", "name": "f", "arguments": {}}]},
        {"role": "tool", "tool_call_id": "abc", "name": "f", "content": "r"},
        {"role": "assistant", "content": "done", "state": {"domain": "d"}}]}
    src = tmp_path / "d.jsonl"
    src.write_text(json.dumps(d) + "\n")
    report = convert_file(src, tmp_path / "o.json", "dialogkit", "sharegpt")
    assert report.dropped == {"assistant text beside tool calls": 1, "reasoning": 1, "state": 1, "tool call ids": 1}
