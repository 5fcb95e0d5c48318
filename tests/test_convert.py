"""The convert library: report, rejects, option routing, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogkit.convert import convert_file, get_converters
from dialogkit.errors import OutputError, UsageError
from dialogkit.formats import FORMATS

SAMPLES = Path(__file__).resolve().parents[1] / "datasets"


def test_every_format_is_registered_with_its_direction() -> None:
    assert set(FORMATS.names()) >= {"dialogkit", "openai", "sharegpt", "alpaca", "hf", "sgd", "multiwoz"}
    writable = {n for n in FORMATS.names() if FORMATS.get(n).can_write}
    assert writable >= {"dialogkit", "openai", "sharegpt", "hf"}
    assert not writable & {"alpaca", "sgd", "multiwoz"}
    with pytest.raises(UsageError, match="import-only"):
        get_converters("dialogkit", "multiwoz")


def test_report_and_rejects(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        (SAMPLES / "chat_mixed" / "dialogs.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n"
        + json.dumps({"id": "bad", "messages": [{"role": "user"}]}) + "\n", encoding="utf-8")
    report = convert_file(src, tmp_path / "o.jsonl", "dialogkit", "dialogkit", rejects=tmp_path / "r.jsonl")
    assert (report.read, report.written, report.rejected, report.issue_count) == (2, 1, 1, 1)
    issue = report.issues[0]
    assert (issue.code, issue.line, issue.record_id, issue.path) == ("FIELD_MISSING", 2, "bad", "messages[0].content")
    rej = json.loads((tmp_path / "r.jsonl").read_text())
    assert rej["id"] == "bad" and rej["issues"][0]["code"] == "FIELD_MISSING" and rej["record"]["id"] == "bad"
    assert report.to_dict()["issues"][0]["id"] == "bad"


def test_issue_list_is_capped_but_counted(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "messages": [{"role": "x", "content": ""}]}) + "\n"
                           for i in range(50)))
    report = convert_file(src, tmp_path / "o.jsonl", "dialogkit", "dialogkit", max_issues=5)
    assert (report.rejected, report.issue_count, len(report.issues)) == (50, 50, 5)


def test_refusals(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes((SAMPLES / "chat_mixed" / "dialogs.jsonl").read_bytes())
    with pytest.raises(OutputError):
        convert_file(src, src, "dialogkit", "openai")
    with pytest.raises(OutputError):
        convert_file(src, tmp_path / "o.jsonl", "dialogkit", "openai", rejects=src)
    with pytest.raises(OutputError):
        convert_file(src, tmp_path / "o.jsonl", "dialogkit", "openai", rejects=tmp_path / "o.jsonl")
    with pytest.raises(UsageError, match="--keep-extras does not apply"):
        convert_file(src, tmp_path / "o.jsonl", "dialogkit", "dialogkit", keep_extras=True)
    with pytest.raises(UsageError, match="Parquet"):
        convert_file(src, tmp_path / "o.parquet", "dialogkit", "openai")
    assert not (tmp_path / "o.jsonl").exists()


def test_writer_failure_leaves_no_partial_output(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes((SAMPLES / "chat_mixed" / "dialogs.jsonl").read_bytes())
    import dialogkit.formats.openai as oa

    calls = {"n": 0}
    real = oa.dialog_to_record

    def flaky(d, keep_extras=False):
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("disk on fire")
        return real(d, keep_extras)

    monkeypatch.setattr(oa, "dialog_to_record", flaky)
    with pytest.raises(RuntimeError):
        convert_file(src, tmp_path / "o.jsonl", "dialogkit", "openai")
    assert list(tmp_path.iterdir()) == [src]


def test_native_parquet_round_trip(tmp_path: Path) -> None:
    src = SAMPLES / "tools_mixed" / "dialogs.jsonl"
    convert_file(src, tmp_path / "d.parquet", "dialogkit", "dialogkit")
    convert_file(tmp_path / "d.parquet", tmp_path / "back.jsonl", "dialogkit", "dialogkit")
    assert (tmp_path / "back.jsonl").read_bytes() == src.read_bytes()


def test_sample_cards_match_the_data() -> None:
    for name in ("restaurant_en", "hotel_zh", "tools_mixed", "chat_mixed"):
        data = SAMPLES / name / "dialogs.jsonl"
        n = len(data.read_text(encoding="utf-8").splitlines())
        assert data.stat().st_size < 1_000_000
        assert f"| dialogs | {n} |" in (SAMPLES / name / "README.md").read_text(encoding="utf-8")
