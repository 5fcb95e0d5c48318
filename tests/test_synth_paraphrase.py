"""``dialogkit synth --mode paraphrase``: LLM rewrites that must keep every slot value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import Faults

from dialogkit.synth.check import check_dialog
from dialogkit.synth.paraphrase import keep_in, pinned_values


@pytest.fixture(scope="module")
def outline(tmp_path_factory, ):
    from click.testing import CliRunner

    from dialogkit.cli import cli

    path = tmp_path_factory.mktemp("para") / "outline.jsonl"
    res = CliRunner().invoke(cli, ["synth", "--scenario", "support", "--n", "4", "--out", str(path), "-q"])
    assert res.exit_code == 0, res.output
    return path


def read(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def para(run_cli, server, src, out, *extra):
    return run_cli("synth", "--mode", "paraphrase", "--in", src, "--base-url", server.url, "--model", "fake",
                   "--out", out, "--set", "timeout=2", "--set", "backoff_base=0.01", *extra)


def test_rewrites_keep_values_ids_and_order(run_cli, server, outline, tmp_path):
    out = tmp_path / "p.jsonl"
    res = para(run_cli, server, outline, out)
    assert res.exit_code == 0, res.output
    src, got = read(outline), read(out)
    assert [d["id"] for d in got] == [d["id"] for d in src]
    for a, b in zip(src, got):
        assert check_dialog(b) == []
        meta = b["metadata"]["paraphrase"]
        assert meta["rewritten"] > 0 and meta["kept"] == [] and meta["model"] == "fake"
        for ma, mb in zip(a["messages"], b["messages"]):
            if ma["role"] in ("user", "assistant") and ma.get("content") and not ma.get("tool_calls"):
                assert mb["content"] != ma["content"]
                for v in keep_in(ma["content"], pinned_values(a)):
                    assert v in mb["content"]
            else:
                assert ma == mb  # system, tool calls and results untouched
        assert b["goal"] == a["goal"] and b["metadata"]["annotations"] == a["metadata"]["annotations"]


def test_lost_values_are_retried_then_the_original_is_kept(run_cli, server, outline, tmp_path):
    server.faults = Faults(rate_drop_value=1.0)
    out = tmp_path / "p.jsonl"
    res = para(run_cli, server, outline, out, "--set", "max_invalid=1")
    assert res.exit_code == 0, res.output
    assert "KEPT_VALUE_LOST" in res.stderr
    src, got = read(outline), read(out)
    kept = [k for d in got for k in d["metadata"]["paraphrase"]["kept"]]
    assert kept and all(k["code"] == "VALUE_LOST" for k in kept)
    for a, b in zip(src, got):
        for k in b["metadata"]["paraphrase"]["kept"]:
            assert b["messages"][k["message"]]["content"] == a["messages"][k["message"]]["content"]
    # half the rewrites losing a value: a second sample usually fixes it
    server.faults = Faults(seed=4, rate_drop_value=0.5)
    res = para(run_cli, server, outline, tmp_path / "q.jsonl", "--set", "max_invalid=3")
    got = read(tmp_path / "q.jsonl")
    assert sum(d["metadata"]["paraphrase"]["rewritten"] for d in got) > len(kept) // 2


def test_bad_input_is_reported_and_good_records_still_processed(run_cli, server, outline, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = Path(outline).read_text(encoding="utf-8").splitlines()
    src.write_text("\n".join([lines[0], '{"id": "broken", "messages": [{"role": "robot"}]}', "{not json", lines[1]])
                   + "\n", encoding="utf-8")
    out = tmp_path / "p.jsonl"
    res = para(run_cli, server, src, out)
    assert res.exit_code == 1
    assert f"{src}:2: record broken" in res.stderr and f"{src}:3" in res.stderr
    assert len(read(out)) == 2
    res = para(run_cli, server, src, src)
    assert res.exit_code != 0 and "overwrite an input" in res.output


def test_resume_sends_nothing_twice(run_cli, server, outline, tmp_path):
    out = tmp_path / "p.jsonl"
    assert para(run_cli, server, outline, out, "--n", "2").exit_code == 0
    first = sum(server.received.values())
    server.reset_counts()
    res = para(run_cli, server, outline, out)
    assert res.exit_code == 0 and "2 dialogs reused" in res.stderr
    assert 0 < sum(server.received.values()) and max(server.answered.values()) == 1
    assert len(read(out)) == 4 and first > 0


def test_keep_in_pins_values_and_numbers():
    d = {"messages": [{"role": "user", "content": "x", "acts": [{"act": "INFORM", "slot": "order_id", "values": ["A10601"]}]},
                      {"role": "tool", "tool_call_id": "c", "name": "t", "content": {"total": 159, "carrier": "YTO"}}],
         "goal": {"constraints": {"email": "a@b.cn"}}}
    pinned = pinned_values(d)
    assert {"A10601", "159", "YTO", "a@b.cn"} <= set(pinned)
    assert keep_in("Order A10601 costs 159 yuan, 3 items", pinned) == ["A10601", "159", "3"]
