"""Hugging Face save_to_disk folders, both ways, with no Arrow nulls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogkit.convert import convert_file

datasets = pytest.importorskip("datasets")
SAMPLES = Path(__file__).resolve().parents[1] / "datasets"


def _has_none(obj) -> bool:
    if obj is None:
        return True
    if isinstance(obj, dict):
        return any(_has_none(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_none(v) for v in obj)
    return False


@pytest.mark.parametrize("name", ["restaurant_en", "tools_mixed"])
def test_dialogkit_hf_dialogkit_is_lossless(tmp_path: Path, name: str) -> None:
    src = SAMPLES / name / "dialogs.jsonl"
    report = convert_file(src, tmp_path / "ds", "dialogkit", "hf")
    assert report.written == len(src.read_text().splitlines()) and report.dropped == {}
    ds = datasets.load_from_disk(str(tmp_path / "ds"))
    assert {"id", "messages", "tools"} <= set(ds.column_names)
    row = ds[0]
    # TRL reads these rows directly: OpenAI-shaped, and no key turned into null by Arrow
    assert not _has_none(row["messages"]) and not _has_none(row["tools"])
    call = next(m for m in row["messages"] if m.get("tool_calls"))["tool_calls"][0]
    assert call["type"] == "function" and isinstance(call["function"]["arguments"], str)
    convert_file(tmp_path / "ds", tmp_path / "back.jsonl", "hf", "dialogkit")
    assert (tmp_path / "back.jsonl").read_bytes() == src.read_bytes()


def test_reads_struct_datasets_with_nulls_and_splits(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
            {"messages": [{"role": "user", "content": "w?"}, {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"city\": \"Rome\"}"}}]},
                {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
                {"role": "assistant", "content": "Sunny."}]}]
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows), "test": datasets.Dataset.from_list(rows[:1])})
    dd.save_to_disk(str(tmp_path / "dd"))
    report = convert_file(tmp_path / "dd", tmp_path / "o.jsonl", "hf", "dialogkit")
    assert (report.read, report.rejected) == (3, 0), [i.format() for i in report.issues]
    recs = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    tool = recs[1]["messages"][2]
    assert tool == {"role": "tool", "tool_call_id": "c1", "name": "w", "content": "sunny"}


def test_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path: Path, run_cli) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    src = SAMPLES / "chat_mixed" / "dialogs.jsonl"
    res = run_cli("convert", "--from", "dialogkit", "--to", "hf", src, precious)
    assert res.exit_code == 1 and "not a saved dataset" in res.output
    assert (precious / "notes.txt").read_text() == "keep me"
    assert run_cli("convert", "--from", "dialogkit", "--to", "hf", src, tmp_path / "ds").exit_code == 0
    assert run_cli("convert", "--from", "dialogkit", "--to", "hf", src, tmp_path / "ds").exit_code == 0  # replace
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folders left


def test_not_a_dataset_folder_is_an_input_error(tmp_path: Path, run_cli) -> None:
    res = run_cli("convert", "--from", "hf", "--to", "dialogkit", tmp_path, tmp_path / "o.jsonl")
    assert res.exit_code == 1 and "not a saved Hugging Face dataset" in res.output
