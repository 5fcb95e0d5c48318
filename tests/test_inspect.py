"""``dialogkit inspect``: masks shown in the terminal and HTML, and the consistency check."""

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


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "dialogs.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in make_dialogs(25, seed=11)) + "\n")
    return path


def test_inspect_shows_trained_tokens_and_role_counts(run_cli, tok_dir, data):
    d = make_dialogs(25, seed=11)[3]
    res = run_cli("inspect", data, "--tokenizer", tok_dir, "--index", "3")
    assert res.exit_code == 0
    assert f"dialog {d['id']}" in res.stdout and "trained" in res.stdout
    last = [m for m in d["messages"] if m["role"] == "assistant"][-1]["content"]
    assert last.split()[0] in res.stdout
    assert "user" in res.stdout and "assistant" in res.stdout  # the role table


def test_inspect_html_marks_trained_tokens(run_cli, tok_dir, data, tmp_path):
    page = tmp_path / "d.html"
    res = run_cli("inspect", data, "--tokenizer", tok_dir, "--id", "d00002", "--html", page)
    assert res.exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<style>" in html and "http" not in html
    assert "class='tok t'" in html and "class='tok m'" in html
    assert "&lt;|im_start|&gt;" in html  # escaped, not raw markup


def test_segments_cover_the_row_exactly(tok_dir, data):
    from dialogkit.prepare import PrepareConfig, load_tokenizer
    from dialogkit.prepare.engine import Preparer
    from dialogkit.prepare.inspect_view import role_counts, segments
    from dialogkit.records import parse_dialog

    preparer = Preparer(load_tokenizer(tok_dir), PrepareConfig())
    d = parse_dialog(make_dialogs(25, seed=11)[5])
    (row,) = preparer.prepare(d)[0]
    segs = segments(preparer, row)
    assert len(segs) == len(row.input_ids)
    assert "".join(s.text for s in segs) == preparer.renderer.render(row.context.messages, row.context.tools).text
    assert sum(s.trained for s in segs) == row.trained_tokens
    counts = role_counts(segs)
    assert counts["assistant"][1] == row.trained_tokens and counts["user"][1] == 0


def test_check_passes_for_prefix_stable_template(run_cli, tok_dir, data):
    res = run_cli("inspect", data, "--tokenizer", tok_dir, "--check")
    assert res.exit_code == 0 and "checked 25 dialogs" in res.stdout and ": 0 differ from inference" in res.stdout


def test_check_flags_qwen3_single_rows_and_passes_per_turn(run_cli, shared_dir, data):
    tok = shared_dir / "tokenizers/qwen3"
    bad = run_cli("inspect", data, "--tokenizer", tok, "--check", "--per-turn", "never")
    assert bad.exit_code == 1 and "(COMPLETION_MISMATCH)" in bad.stderr
    ok = run_cli("inspect", data, "--tokenizer", tok, "--check")
    assert ok.exit_code == 0 and ": 0 differ from inference" in ok.stdout


def test_inspect_prepared_parquet(run_cli, tok_dir, data, tmp_path):
    out = tmp_path / "t.parquet"
    assert run_cli("prepare", data, "--tokenizer", tok_dir, "--out", out).exit_code == 0
    res = run_cli("inspect", out, "--tokenizer", tok_dir, "--index", "1")
    assert res.exit_code == 0 and "row 0:" in res.stdout and "trained" in res.stdout
    res = run_cli("inspect", out, "--tokenizer", tok_dir, "--check")
    assert res.exit_code == 2 and "needs the dialogs" in res.stderr


def test_inspect_unknown_id(run_cli, tok_dir, data):
    res = run_cli("inspect", data, "--tokenizer", tok_dir, "--id", "nope")
    assert res.exit_code == 2 and "no record with id 'nope'" in res.stderr
