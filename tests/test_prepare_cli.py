"""``dialogkit prepare`` end to end through the CLI: Parquet out, bad records located, exit codes."""

from __future__ import annotations

import json

import pytest

from dialog_factory import make_dialogs


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    from dialogkit.tokenizer_tiny import build_tiny_tokenizer

    path = tmp_path_factory.mktemp("tok")
    build_tiny_tokenizer(vocab_size=500, out_dir=path)
    return path


@pytest.fixture()
def data(tmp_path):
    path = tmp_path / "dialogs.jsonl"
    lines = [json.dumps(d, ensure_ascii=False) for d in make_dialogs(40, seed=5)]
    lines.insert(10, "{not json")
    lines.insert(20, json.dumps({"id": "bad-role", "messages": [{"role": "robot", "content": "beep"}]}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_prepare_writes_parquet_and_reports_bad_records(run_cli, tok_dir, data, tmp_path):
    import polars as pl

    out, rejects, report = tmp_path / "train.parquet", tmp_path / "rejects.jsonl", tmp_path / "report.json"
    res = run_cli("prepare", data, "--tokenizer", tok_dir, "--out", out, "--rejects", rejects, "--report", report)
    assert res.exit_code == 1  # bad records were found; the good ones are still written
    assert f"{data}:11: not valid JSON" in res.stderr and "(JSON_INVALID)" in res.stderr
    assert f"{data}:21: record bad-role: messages[0]: unknown role 'robot'" in res.stderr
    assert "prepared 40/42 dialogs -> 40 rows" in res.stdout
    df = pl.read_parquet(out)
    assert df.columns == ["input_ids", "labels", "dialog_id", "turn"] and df.height == 40
    assert all(len(a) == len(b) for a, b in zip(df["input_ids"], df["labels"]))
    assert df["dialog_id"].to_list() == [d["id"] for d in make_dialogs(40, seed=5)]
    assert [json.loads(x)["line"] for x in rejects.read_text().splitlines()] == [11, 21]
    rep = json.loads(report.read_text())
    assert rep["dialogs"] == 42 and rep["bad_dialogs"] == 2 and rep["template_tagged"] is True


def test_prepared_parquet_loads_as_datasets_and_torch(run_cli, tok_dir, tmp_path):
    import datasets
    import torch

    src = tmp_path / "d.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in make_dialogs(12, seed=1)) + "\n")
    out = tmp_path / "t.parquet"
    assert run_cli("prepare", src, "--tokenizer", tok_dir, "--out", out).exit_code == 0
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train")
    assert set(ds.column_names) == {"input_ids", "labels", "dialog_id", "turn"} and len(ds) == 12
    ds = ds.with_format("torch", columns=["input_ids", "labels"])
    assert ds[0]["input_ids"].shape == ds[0]["labels"].shape and ds[0]["labels"].dtype == torch.int64


def test_workers_give_the_same_file(run_cli, tok_dir, data, tmp_path):
    import polars as pl

    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    run_cli("prepare", data, "--tokenizer", tok_dir, "--out", one)
    run_cli("prepare", data, "--tokenizer", tok_dir, "--out", two, "--workers", "2")
    assert pl.read_parquet(one).equals(pl.read_parquet(two))


def test_pack_columns(run_cli, tok_dir, data, tmp_path):
    import polars as pl

    out = tmp_path / "packed.parquet"
    res = run_cli("prepare", data, "--tokenizer", tok_dir, "--out", out, "--max-length", "4096", "--pack")
    assert "packing efficiency" in res.stdout
    df = pl.read_parquet(out)
    assert {"position_ids", "seq_lengths", "dialog_ids", "turns"} <= set(df.columns)
    assert max(len(x) for x in df["input_ids"]) <= 4096


@pytest.mark.parametrize("args, code, text", [
    (["--pack"], 2, "pack needs max_length"),
    (["--max-length", "2"], 2, "max_length"),
    (["--template-arg", "novalue"], 2, "KEY=JSON"),
])
def test_bad_options(run_cli, tok_dir, data, tmp_path, args, code, text):
    res = run_cli("prepare", data, "--tokenizer", tok_dir, "--out", tmp_path / "x.parquet", *args)
    assert res.exit_code == code and text in res.stderr


def test_refuses_to_overwrite_input_and_missing_tokenizer(run_cli, tok_dir, data, tmp_path):
    res = run_cli("prepare", data, "--tokenizer", tok_dir, "--out", data)
    assert res.exit_code == 1 and "refusing to overwrite an input" in res.stderr
    res = run_cli("prepare", data, "--tokenizer", tmp_path / "nope", "--out", tmp_path / "x.parquet")
    assert res.exit_code == 1 and "no such tokenizer directory" in res.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_help_has_examples(run_cli):
    res = run_cli("prepare", "--help")
    assert res.exit_code == 0 and "dialogkit prepare data.jsonl --tokenizer" in res.stdout
    assert "--per-turn" in res.stdout and "--loss-on" in res.stdout


def test_cli_module_does_not_import_transformers():
    import subprocess
    import sys

    code = "import sys, dialogkit.cli.prepare, dialogkit.prepare; print('transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
