"""Streaming readers keep file:line and never stop at a bad line; writers are atomic."""

from __future__ import annotations

import gzip
import json

import pytest

from dialogkit.errors import InputError, OutputError
from dialogkit.io import (
    AtomicWriter,
    JsonlWriter,
    ensure_not_input,
    iter_records,
    reject_record,
    write_jsonl,
    write_parquet_records,
)


def test_jsonl_lines_and_bad_lines(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_bytes(
        b'{"id": "a"}\n'
        b"\n"
        b'{"id": "b", "x": \n'  # truncated
        b'{"id": "c", "t": "\xff\xfe"}\n'  # invalid UTF-8
        b'{"id": "d", "t": "\xe4\xbd\xa0\xe5\xa5\xbd"}\n'
    )
    recs = list(iter_records(p))
    assert [r.line for r in recs] == [1, 3, 4, 5]
    assert recs[0].ok and recs[0].id == "a"
    assert recs[1].issue.code == "JSON_TRUNCATED" and recs[1].issue.line == 3
    assert recs[2].issue.code == "UTF8_INVALID"
    assert recs[3].data == {"id": "d", "t": "你好"}
    assert recs[1].issue.format().startswith(f"{p}:3: ")


def test_gzip_jsonl(tmp_path):
    p = tmp_path / "in.jsonl.gz"
    with gzip.open(p, "wb") as fh:
        fh.write(b'{"id": 1}\n{"id": 2}\n')
    assert [r.id for r in iter_records(p)] == ["1", "2"]


def test_json_array_gives_element_lines(tmp_path):
    p = tmp_path / "in.json"
    p.write_text('[\n  {"id": "a"},\n  {"id": "b",\n   "k": 1},\n  {"id": "c"}\n]\n', encoding="utf-8")
    recs = list(iter_records(p))
    assert [(r.id, r.line) for r in recs] == [("a", 2), ("b", 3), ("c", 5)]


def test_json_array_with_broken_element_reports_and_stops(tmp_path):
    p = tmp_path / "in.json"
    p.write_text('[{"id": "a"},\n{"id": ]', encoding="utf-8")
    recs = list(iter_records(p))
    assert recs[0].ok and recs[1].issue.code == "JSON_INVALID" and recs[1].line == 2


def test_single_object_json_file(tmp_path):
    p = tmp_path / "one.json"
    p.write_text('\n{"id": "only"}', encoding="utf-8")
    (rec,) = list(iter_records(p))
    assert rec.id == "only" and rec.line == 2


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        iter_records(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="folder"):
        iter_records(tmp_path)


def test_parquet_round_trip_is_lossless(tmp_path):
    recs = [{"id": "a", "messages": [{"role": "user", "content": "你好"}]}, {"id": "b", "extra": {"k": [1, None]}}]
    p = tmp_path / "d.parquet"
    assert write_parquet_records(p, recs) == 2
    back = list(iter_records(p))
    assert [r.data for r in back] == recs
    assert [r.line for r in back] == [1, 2]


def test_jsonl_writer_keeps_chinese_readable_and_is_atomic(tmp_path):
    out = tmp_path / "o.jsonl"
    write_jsonl(out, [{"t": "重庆"}])
    assert "重庆" in out.read_text(encoding="utf-8")
    with pytest.raises(RuntimeError):
        with JsonlWriter(out) as w:
            w.write({"t": "new"})
            raise RuntimeError("crash mid-write")
    assert json.loads(out.read_text(encoding="utf-8")) == {"t": "重庆"}, "old file must survive a failed write"
    assert [p.name for p in tmp_path.iterdir()] == ["o.jsonl"], "no temp file left behind"


def test_gz_output(tmp_path):
    out = tmp_path / "o.jsonl.gz"
    with AtomicWriter(out) as fh:
        fh.write(b'{"a": 1}\n')
    assert gzip.decompress(out.read_bytes()) == b'{"a": 1}\n'


def test_never_overwrite_an_input(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n")
    with pytest.raises(OutputError, match="overwrite"):
        ensure_not_input(tmp_path / "." / "in.jsonl", [src])
    ensure_not_input(tmp_path / "out.jsonl", [src])


def test_reject_record_keeps_reason_and_text(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_bytes(b"{broken\n")
    (raw,) = list(iter_records(p))
    rej = reject_record(raw, [raw.issue])
    assert rej["line"] == 1 and rej["text"] == "{broken" and rej["issues"][0]["code"] == "JSON_INVALID"
