"""`dialogkit model init-tiny`: a seeded tiny causal LM + trained tokenizer with dialogkit's template."""

from __future__ import annotations

import json

import pytest
from train_support import booking_dialog, write_jsonl

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    return write_jsonl(d / "dialogs.jsonl", [booking_dialog(i) for i in range(6)],
                       bad_lines=['{"id": "x", "messages": [{"role": "robot", "content": "hi"}]}'])


def test_init_tiny_builds_loadable_model(run_cli, data, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "tiny"
    res = run_cli("model", "init-tiny", "--data", data, "--out", out, "--vocab-size", "400")
    # one bad record: reported with its location, the others used, exit 1
    assert res.exit_code == 1
    assert "dialogs.jsonl:7: record x: messages[0]: unknown role" in res.stderr
    assert "tokenizer trained on 6 dialogs" in res.stdout
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model_type"] == "qwen2" and cfg["num_hidden_layers"] == 2
    assert model.config.vocab_size == len(tok) and tok.eos_token == "<|im_end|>"
    assert "{%- generation -%}" in tok.chat_template
    # the template renders every role and tool calls, and the model runs on it
    d = booking_dialog(0)
    from dialogkit.prepare.render import template_inputs
    from dialogkit.records import parse_dialog

    msgs, tools = template_inputs(parse_dialog(d))
    text = tok.apply_chat_template(msgs, tools=tools, tokenize=False)
    assert "<tool_call>" in text and "<tool_response>" in text and "book_table" in text
    ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
    assert tok.unk_token_id is None or tok.unk_token_id not in ids[0].tolist()
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], len(tok)) and torch.isfinite(logits).all()


def test_init_tiny_is_seeded_and_llama_works(data, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    a = init_tiny_from_data(str(data), tmp_path / "a", TinyConfig(arch="llama", seed=3), vocab_size=400)
    b = init_tiny_from_data(str(data), tmp_path / "b", TinyConfig(arch="llama", seed=3), vocab_size=400)
    assert a["arch"] == "llama" and a["parameters"] == b["parameters"]
    ma = AutoModelForCausalLM.from_pretrained(tmp_path / "a")
    mb = AutoModelForCausalLM.from_pretrained(tmp_path / "b")
    assert ma.config.model_type == "llama"
    for (na, pa), (_, pb) in zip(ma.named_parameters(), mb.named_parameters()):
        assert torch.equal(pa, pb), na
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()


def test_init_tiny_refuses_to_clobber(run_cli, data, tmp_path):
    out = tmp_path / "occupied"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = run_cli("model", "init-tiny", "--data", data, "--out", out)
    assert res.exit_code == 2 and "not empty" in res.stderr
    res = run_cli("model", "init-tiny", "--data", data, "--out", out, "--overwrite")
    assert res.exit_code == 2 and "not a model folder" in res.stderr
    assert (out / "notes.txt").read_text() == "mine"


def test_init_tiny_missing_data(run_cli, tmp_path):
    res = run_cli("model", "init-tiny", "--data", tmp_path / "nope.jsonl", "--out", tmp_path / "m")
    assert res.exit_code == 1 and "no such file" in res.stderr


def test_model_help_lists_init_tiny(run_cli):
    res = run_cli("model", "--help")
    assert res.exit_code == 0 and "init-tiny" in res.stdout
    res = run_cli("model", "init-tiny", "--help")
    assert "Examples:" in res.stdout and "dialogkit model init-tiny --data dialogs.jsonl --out tiny" in res.stdout


def test_compact_template_lists_tools_one_line_each_and_prepares_exactly(run_cli, data, tmp_path):
    from transformers import AutoTokenizer

    from dialogkit.prepare.render import template_inputs
    from dialogkit.records import parse_dialog

    full, compact = tmp_path / "full", tmp_path / "compact"
    run_cli("model", "init-tiny", "--data", data, "--out", full, "--vocab-size", "400")
    res = run_cli("model", "init-tiny", "--data", data, "--out", compact, "--vocab-size", "400",
                  "--chat-template", "dialogkit_compact")
    assert res.exit_code == 1 and "tokenizer trained on 6 dialogs" in res.stdout  # the bad line, as above
    msgs, tools = template_inputs(parse_dialog(booking_dialog(0)))
    tok_full, tok_c = AutoTokenizer.from_pretrained(full), AutoTokenizer.from_pretrained(compact)
    text = tok_c.apply_chat_template(msgs, tools=tools, tokenize=False)
    # one line per tool (no param is required here: each gets a "?"), no JSON schema
    assert "\nbook_table(city?, people?, time?): Book a restaurant table." in text and '"properties"' not in text
    assert '<tool_call>\n{"name": "book_table", "arguments": {"city": ' in text
    text_full = tok_full.apply_chat_template(msgs, tools=tools, tokenize=False)
    n_full = len(tok_full(text_full, add_special_tokens=False).input_ids)
    n_c = len(tok_c(text, add_special_tokens=False).input_ids)
    assert n_c < 0.8 * n_full
    # prepare's labels on the compact template are exactly the assistant tokens
    out = tmp_path / "c.parquet"
    res = run_cli("prepare", data, "--tokenizer", compact, "--out", out)
    import polars as pl

    row = pl.read_parquet(out).row(0, named=True)
    trained = tok_c.decode([t for t, lab in zip(row["input_ids"], row["labels"]) if lab != -100])
    assert "book_table" in trained and "You are welcome. Enjoy your meal!" in trained
    assert "Book a table for" not in trained and "Tools:" not in trained


def test_unknown_template_is_a_usage_error(run_cli, data, tmp_path):
    res = run_cli("model", "init-tiny", "--data", data, "--out", tmp_path / "m", "--chat-template", "nope")
    assert res.exit_code == 2 and "not a file and not one of dialogkit, dialogkit_compact" in res.stderr


def test_template_file_that_cannot_render_is_a_usage_error(run_cli, data, tmp_path):
    bad = tmp_path / "bad.jinja"
    bad.write_text("{{ raise_exception('no tools here') }}", encoding="utf-8")
    res = run_cli("model", "init-tiny", "--data", data, "--out", tmp_path / "m", "--chat-template", bad)
    assert res.exit_code == 2 and "chat template cannot render dialog d0" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "m" / "config.json").exists()
