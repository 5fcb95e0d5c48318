"""Alpaca import (LLaMA-Factory's reading): history, system, dataset_info columns, bad records."""

from __future__ import annotations

import json
from pathlib import Path

from dialogkit.convert import convert_file


def _convert(tmp_path: Path, records: list, **options) -> tuple[object, list[dict]]:
    src = tmp_path / "alpaca_zh.json"
    src.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    report = convert_file(src, out, "alpaca", "dialogkit", **options)
    return report, [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]


def test_history_system_instruction_input(tmp_path: Path) -> None:
    rec = {"instruction": "把温度换算成摄氏度。", "input": "94F", "output": "34.4摄氏度", "system": "你是助手。",
           "history": [["你好", "你好！有什么可以帮你？"]]}
    report, (d, d2) = _convert(tmp_path, [rec, {"instruction": "Say hi", "output": "hi"}])
    assert report.rejected == 0 and report.written == 2
    assert d["id"] == "alpaca_zh-1"
    assert d["messages"] == [
        {"role": "system", "content": "你是助手。"},
        {"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！有什么可以帮你？"},
        {"role": "user", "content": "把温度换算成摄氏度。\n94F"}, {"role": "assistant", "content": "34.4摄氏度"}]
    assert d2["messages"] == [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "hi"}]
    assert "\\u" not in (tmp_path / "out.jsonl").read_text(encoding="utf-8")


def test_dataset_info_columns(tmp_path: Path) -> None:
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"qa": {"file_name": "x.json", "columns": {"prompt": "q", "response": "a"}}}))
    report, (d,) = _convert(tmp_path, [{"q": "2+2?", "a": "4"}], dataset_info=info)  # one entry: no --dataset
    assert report.rejected == 0
    assert [m["content"] for m in d["messages"]] == ["2+2?", "4"]


def test_bad_records_are_located(tmp_path: Path, run_cli) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in [
        {"instruction": "ok", "output": "fine"},
        {"instruction": "x", "output": "y", "history": [["only one"]]},
        {"instruction": "x"},
        {"instruction": 5, "output": "y"},
    ]) + "\n")
    res = run_cli("convert", "--from", "alpaca", "--to", "dialogkit", src, tmp_path / "o.jsonl")
    assert res.exit_code == 1
    assert f"{src}:2: record a-2: history[0]: a history item must be [user, assistant] strings " \
           "(ALPACA_HISTORY_INVALID)" in res.stderr
    assert f"{src}:3: record a-3: output: output is missing (FIELD_MISSING)" in res.stderr
    assert f"{src}:4: record a-4: instruction: expected string, got integer (TYPE_WRONG)" in res.stderr
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 1


def test_alpaca_is_import_only(tmp_path: Path, run_cli) -> None:
    src = tmp_path / "d.jsonl"
    src.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\n')
    res = run_cli("convert", "--from", "dialogkit", "--to", "alpaca", src, tmp_path / "o.json")
    assert res.exit_code == 2 and "'alpaca' is import-only" in res.output
    assert not (tmp_path / "o.json").exists()
