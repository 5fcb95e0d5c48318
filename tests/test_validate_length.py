"""The length rule with the real Qwen3 tokenizer and its chat template (tools included)."""

from __future__ import annotations

import json
import re

import orjson
import pytest

from dialogkit.validate.length import _turns, to_chat


def _dialog(n_turns: int) -> dict:
    msgs = [{"role": "system", "content": "You are a travel agent."}]
    for t in range(n_turns):
        msgs.append({"role": "user", "content": f"Turn {t}: " + "please find me a cheap train to Cambridge " * 8})
        if t == 1:
            msgs.append({"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "get_fare", "arguments": {"to": "Cambridge"}}]})
            msgs.append({"role": "tool", "tool_call_id": "c1", "name": "get_fare", "content": {"lowest": 12}})
        msgs.append({"role": "assistant", "content": f"Reply {t}: " + "there are several trains leaving in the morning " * 8})
    tools = [{"type": "function", "function": {"name": "get_fare", "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}}}]
    return {"id": f"long{n_turns}", "messages": msgs, "tools": tools}


@pytest.fixture(scope="module")
def tokenizer(shared_dir):
    path = shared_dir / "tokenizers" / "qwen3"
    if not path.is_dir():
        pytest.skip("no Qwen3 tokenizer")
    from transformers import AutoTokenizer

    return path, AutoTokenizer.from_pretrained(path)


def _count(tok, d, drop=0):
    head, turns = _turns(d["messages"])
    msgs = head + [m for t in turns[drop:] for m in t]
    text = tok.apply_chat_template(to_chat(msgs), tools=d["tools"], tokenize=False)
    return len(tok.encode(text, add_special_tokens=False))


def test_too_long_says_how_many_turns_truncation_drops(run_cli, tokenizer, tmp_path):
    path, tok = tokenizer
    short, long = _dialog(3), _dialog(6)
    limit = _count(tok, short) + 10
    data = tmp_path / "d.jsonl"
    data.write_bytes(orjson.dumps(short) + b"\n" + orjson.dumps(long) + b"\n")
    r = run_cli("validate", data, "--tokenizer", path, "--max-length", limit, "--format", "json", "--disable", "DUPLICATE_NEAR")
    issues = [i for i in json.loads(r.stdout)["issues"] if i["code"] == "TOO_LONG"]
    assert r.exit_code == 1 and [i["line"] for i in issues] == [2]
    m = re.search(r"(\d+) tokens > --max-length (\d+); truncation would drop the (\d+) oldest of 6 turns", issues[0]["message"])
    assert m, issues[0]["message"]
    total, k = int(m.group(1)), int(m.group(3))
    assert total == _count(tok, long) > limit
    assert _count(tok, long, k) <= limit < _count(tok, long, k - 1)


def test_tokenizer_errors_are_clean(run_cli, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_bytes(orjson.dumps(_dialog(3)) + b"\n")
    r = run_cli("validate", data, "--tokenizer", tmp_path / "nope", "--max-length", 10)
    assert r.exit_code in (1, 2) and "Traceback" not in r.output and "tokenizer" in r.output
