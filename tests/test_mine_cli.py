"""`dialogkit mine` end to end: synthesized dialogs in, exact pairs out; TRL rows; bad input; usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogkit.records import parse_pair

ASSETS = Path(__file__).parent / "assets" / "mine"
DIALOGS = ASSETS / "dialogs.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """Dialogs from `dialogkit synth` (two shipped scenarios, both languages)."""
    from click.testing import CliRunner

    from dialogkit.cli import cli

    d = tmp_path_factory.mktemp("synth")
    lines = []
    for scenario in ("support", "en_restaurant_hotel"):
        out = d / f"{scenario}.jsonl"
        res = CliRunner().invoke(
            cli,
            ["synth", "--scenario", scenario, "--n", "12", "--seed", "1", "--out", str(out), "--quiet"],
            catch_exceptions=False,
        )
        assert res.exit_code == 0, res.output
        lines += out.read_text(encoding="utf-8").splitlines()
    path = d / "dialogs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_mine_synthesized_dialogs_gives_exact_pairs_of_many_types(synthesized, tmp_path, run_cli):
    out, stats = tmp_path / "pairs.jsonl", tmp_path / "stats.json"
    res = run_cli("mine", synthesized, "--out", out, "--stats", stats, "--seed", "7")
    assert res.exit_code == 0, res.output
    assert "wrote" in res.stderr and "length: chosen longer" in res.stderr
    sources = {d["id"]: d for d in read_jsonl(synthesized)}
    pairs = read_jsonl(out)
    types = {p["metadata"]["negative_type"] for p in pairs}
    assert len(types) >= 3
    assert {"wrong_tool_args", "skipped_clarification", "missing_tool_call"} <= types
    for p in pairs:
        parse_pair(p)
        src = sources[p["metadata"]["source_id"]]
        turn = p["metadata"]["turn"]
        assert p["prompt"] == src["messages"][:turn]
        assert p["chosen"] == [src["messages"][turn]]
        assert p["tools"] == src["tools"]
        rej = p["rejected"]
        assert len(rej) == 1 and rej[0]["role"] == "assistant" and rej[0] != p["chosen"][0]
        assert p["metadata"]["provenance"]["generator"] == "dialogkit.mine"
        assert p["metadata"]["provenance"]["source_provenance"]["generator"] == "dialogkit.synth.outline"
    s = json.loads(stats.read_text())
    assert s["pairs"] == len(pairs) and sum(s["pairs_by_type"].values()) == len(pairs)
    assert sum(s["pairs_by_assistant_turn"].values()) == len(pairs)
    assert {"chosen_longer", "mean_ratio", "by_type"} <= set(s["length"])
    # skipped clarification only where synth says slots were missing, or at a confirmation
    kinds = set()
    for p in pairs:
        if p["metadata"]["negative_type"] == "skipped_clarification":
            kinds.add(p["metadata"]["edit"]["kind"])
            if p["metadata"]["expected"] == "confirm":
                assert p["metadata"]["edit"]["kind"] in ("unconfirmed_call", "proceed_without_confirming")
                continue
            note = next(
                a
                for a in sources[p["metadata"]["source_id"]]["metadata"]["annotations"]
                if a["message"] == p["metadata"]["turn"]
            )
            assert note["missing"]
    assert "unconfirmed_call" in kinds and kinds - {"unconfirmed_call", "proceed_without_confirming"}


def _trl_row(tmp_path, run_cli) -> dict:
    out = tmp_path / "trl.jsonl"
    res = run_cli("mine", DIALOGS, "--out", out, "--format", "trl", "--strategies", "wrong_tool_args")
    assert res.exit_code == 0, res.output
    rows = read_jsonl(out)
    return next(r for r in rows if r["id"] == "en-weather-1:2:wrong_tool_args")


def test_trl_format_rows(tmp_path, run_cli):
    row = _trl_row(tmp_path, run_cli)
    assert set(row) >= {"prompt", "chosen", "rejected", "tools"}
    call = row["rejected"][0]["tool_calls"][0]
    assert call["type"] == "function" and isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"])["unit"] == "fahrenheit"
    assert row["prompt"][0] == {"role": "system", "content": "You are a weather assistant."}
    assert row["prompt"][-1] == {
        "role": "user",
        "content": "What's the weather in Paris on 2025-05-12, in celsius?",
    }
    assert json.loads(row["tools"])[0]["function"]["name"] == "get_weather"
    assert row["negative_type"] == "wrong_tool_args" and row["turn"] == 2


@pytest.mark.slow
def test_trl_rows_render_with_trl_and_the_qwen3_template(tmp_path, run_cli, shared_dir):
    row = _trl_row(tmp_path, run_cli)
    from transformers import AutoTokenizer
    from trl.data_utils import apply_chat_template

    tok = AutoTokenizer.from_pretrained(str(shared_dir / "tokenizers" / "qwen3"))
    rendered = apply_chat_template(
        {k: row[k] for k in ("prompt", "chosen", "rejected")}, tok, tools=json.loads(row["tools"])
    )
    assert '"name": "get_weather"' in rendered["prompt"]  # the tool schema is in the system turn
    assert '"unit": "celsius"' in rendered["chosen"] and '"unit": "fahrenheit"' in rendered["rejected"]
    assert "Paris" in rendered["prompt"] and "<tool_call>" in rendered["rejected"]


def test_trl_object_arguments(tmp_path, run_cli):
    out = tmp_path / "trl.jsonl"
    res = run_cli(
        "mine",
        DIALOGS,
        "--out",
        out,
        "--format",
        "trl",
        "--trl-arguments",
        "object",
        "--strategies",
        "wrong_tool_args",
    )
    assert res.exit_code == 0, res.output
    call = read_jsonl(out)[0]["chosen"][0]["tool_calls"][0]
    assert isinstance(call["function"]["arguments"], dict)


def test_bad_records_are_located_and_the_rest_is_mined(tmp_path, run_cli):
    out, rejects = tmp_path / "p.jsonl", tmp_path / "rejects.jsonl"
    bad = ASSETS / "bad.jsonl"
    res = run_cli("mine", bad, "--out", out, "--rejects", rejects, "--strategies", "verbose,over_refusal")
    assert res.exit_code == 1
    assert f"{bad}:2: " in res.stderr and "(JSON_TRUNCATED)" in res.stderr
    assert (
        f"{bad}:3: record bad-role: messages[0]: unknown role 'robot'" in res.stderr
        and "(ROLE_UNKNOWN)" in res.stderr
    )
    assert "2 bad record(s)" in res.stderr
    sources = {p["metadata"]["source_id"] for p in read_jsonl(out)}
    assert sources == {"en-weather-1", "en-book-1"}
    rej = read_jsonl(rejects)
    assert [r["line"] for r in rej] == [2, 3] and rej[1]["issues"][0]["code"] == "ROLE_UNKNOWN"


def test_usage_errors(tmp_path, run_cli):
    res = run_cli("mine", DIALOGS, "--out", tmp_path / "p.jsonl", "--strategies", "wrong_args")
    assert res.exit_code == 2 and "Did you mean: wrong_tool_args" in res.output
    res = run_cli("mine", DIALOGS, "--out", DIALOGS)
    assert res.exit_code == 1 and "refusing to overwrite an input" in res.output
    res = run_cli("mine", DIALOGS, "--out", tmp_path / "p.jsonl", "--judge", "gpt")
    assert res.exit_code == 2 and "--policy" in res.output
    res = run_cli("mine", DIALOGS, "--out", tmp_path / "p.jsonl", "--edit-chosen")
    assert res.exit_code == 2 and "--policy" in res.output
    res = run_cli("mine", DIALOGS, "--out", tmp_path / "p.jsonl", "--strategies", "none")
    assert res.exit_code == 2
    res = run_cli("mine", DIALOGS)
    assert res.exit_code == 2
    assert not (tmp_path / "p.jsonl").exists()


def test_help_and_strategy_list(run_cli):
    res = run_cli("mine", "--help")
    assert (
        res.exit_code == 0
        and "dialogkit mine dialogs.jsonl --out pairs.jsonl --stats stats.json" in res.output
    )
    res = run_cli("mine", "--list-strategies")
    assert (
        res.exit_code == 0
        and "wrong_tool_args" in res.output
        and "verified by: tools.tool_call_accuracy" in res.output
    )
