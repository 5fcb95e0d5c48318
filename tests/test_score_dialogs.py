"""`score dialogs` end to end on the fixture set in tests/assets/score (values computed by hand)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dialogkit.score.suite import available_suites, build_scorers, load_suite

ASSETS = Path(__file__).parent / "assets" / "score"
PRED, REF = ASSETS / "pred.jsonl", ASSETS / "ref.jsonl"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from click.testing import CliRunner

    from dialogkit.cli import cli

    out = tmp_path_factory.mktemp("score")
    res = CliRunner().invoke(
        cli,
        [
            "score",
            "dialogs",
            "--pred",
            str(PRED),
            "--ref",
            str(REF),
            "--out",
            str(out / "r.json"),
            "--markdown",
            str(out / "r.md"),
            "--html",
            str(out / "r.html"),
        ],
        catch_exceptions=False,
    )
    return (
        res,
        json.loads((out / "r.json").read_text()),
        (out / "r.md").read_text(),
        (out / "r.html").read_text(),
    )


def value(report, name):
    return report["metrics"][name]["value"]


def test_bad_records_are_located_and_the_rest_is_scored(report):
    res, r, _, _ = report
    assert res.exit_code == 1
    assert "pred.jsonl:8: record en-broken: messages[0]: unknown role 'robot'" in res.output
    assert "ROLE_UNKNOWN" in res.output and "UNKNOWN_ID" in res.output
    assert r["missing"] == ["zh-missing"] and r["unknown"] == ["not-a-ref"]
    assert {i["code"] for i in r["issues"]} == {"ROLE_UNKNOWN", "UNKNOWN_ID"}
    assert r["inputs"]["references"] == 7


def test_tool_call_metrics(report):
    r = report[1]
    # 4 turns with calls: en-weather ok; en-restaurant "center" (value_error:string);
    # zh-hotel nights=2.0 for an integer (type_error:simple); the typo variant made no call.
    assert value(r, "tool_call_accuracy") == pytest.approx(1 / 4)
    assert value(r, "tool_name_accuracy") == pytest.approx(3 / 4)
    assert value(r, "tool_arg_accuracy") == pytest.approx(1 / 3)
    assert value(r, "tool_call_precision") == pytest.approx(1 / 3)
    assert value(r, "tool_call_recall") == pytest.approx(1 / 4)
    assert value(r, "tool_call_f1") == pytest.approx(2 / 7)
    assert r["error_types"] == {
        "value_error:string": 1,
        "type_error:simple": 1,
        "simple_function_checker:wrong_count": 1,
    }


def test_structured_output(report):
    r = report[1]
    assert value(r, "json_parse_rate") == 1.0  # 3 argument objects + the fenced JSON reply
    assert r["metrics"]["json_parse_rate"]["n"] == 4
    assert value(r, "schema_valid_rate") == 1.0  # JSON Schema counts 2.0 as an integer (BFCL does not)


def test_state_metrics(report):
    r = report[1]
    area = 0.83  # token_sort_ratio("centre", "center") = 83
    assert value(r, "joint_goal_accuracy") == pytest.approx((1 + area + area + 1) / 4)
    assert value(r, "average_goal_accuracy") == pytest.approx((1 + (2 + area) / 3 * 2 + 1) / 4)
    assert value(r, "intent_accuracy") == 1.0
    assert value(r, "slot_f1") == pytest.approx(0.8)  # tp 8, fp 2, fn 2


def test_behaviour_metrics(report):
    r = report[1]
    assert value(r, "behaviour_accuracy") == pytest.approx(8 / 11)
    assert value(r, "clarify_rate") == 1.0 and value(r, "premature_call_rate") == 0.0
    assert value(r, "refusal_accuracy") == 0.0 and value(r, "over_refusal_rate") == 0.0


def test_task_success_grounding_and_headline(report):
    r = report[1]
    assert value(r, "task_success") == pytest.approx(1 / 4)
    assert value(r, "inform_rate") == pytest.approx(1 / 2)  # restaurant area "center" fails, hotel passes
    assert value(r, "request_rate") == pytest.approx(2 / 4)  # "01223 323737" is not the phone number
    assert value(r, "required_calls_rate") == pytest.approx(1 / 4)
    assert value(r, "turns_to_success") == 1.0
    assert value(r, "grounded_rate") == pytest.approx(5 / 7)
    head = r["headline"]
    assert head["inform"] == 0.5 and head["success"] == 0.25
    assert head["combined"] == pytest.approx(0.375 + head["bleu"])
    assert 0 < head["bleu"] < 1
    assert r["summaries"]["pass_hat_k"] == {"1": 0.25}


def test_robustness_is_flagged(report):
    r = report[1]
    rob = r["summaries"]["robustness"]
    assert rob["original_success"] == 1.0 and rob["variant_success"] == 0.0 and rob["flagged"]
    assert any("robustness" in f for f in r["flags"])


def test_breakdowns_and_items(report):
    r = report[1]
    assert set(r["breakdowns"]["domain"]) >= {
        "weather",
        "restaurant",
        "hotel",
        "account",
        "chitchat",
        "orders",
    }
    assert r["breakdowns"]["domain"]["weather"]["task_success"] == 0.5
    assert set(r["breakdowns"]["language"]) == {"en", "zh"}
    assert "0" in r["breakdowns"]["turn"]
    for it in r["items"]:
        assert set(it) >= {"dialog", "turn", "stats"}
    missing_items = [it for it in r["items"] if it["dialog"] == "zh-missing"]
    assert missing_items and all(it["info"]["missing_prediction"] for it in missing_items)
    for m in r["metrics"].values():
        if m["scale"] == "fraction":
            assert 0.0 <= m["value"] <= 1.0


def test_markdown_and_html(report):
    _, _, md, html = report
    assert "| Inform | Success | BLEU | Combined |" in md and "| 50.0 | 25.0 |" in md
    assert "FLAGGED" in md and "zh-missing" in md
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) >= 4  # metrics, per domain, per turn, error types
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    assert "By turn index" in html and "Error types" in html


@pytest.mark.parametrize("name", ["default", "task_oriented", "tool_calling"])
def test_shipped_suites_load_and_build(name):
    suite = load_suite(name)
    assert suite.name == name and suite.version
    scorers = build_scorers(suite)
    assert [s.name for s in scorers] == [e.name for e in suite.scorers]
    assert name in available_suites()


def test_suite_errors(tmp_path, run_cli):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nscorers: [{name: state}]\ncolour: red\n")
    res = run_cli(
        "score", "dialogs", "--pred", PRED, "--ref", REF, "--suite", bad, "--out", tmp_path / "r.json"
    )
    assert res.exit_code == 2 and "colour" in res.output
    bad.write_text("name: x\nversion: 1\nscorers: [{name: state, options: {fuzzzy: true}}]\n")
    res = run_cli(
        "score", "dialogs", "--pred", PRED, "--ref", REF, "--suite", bad, "--out", tmp_path / "r.json"
    )
    assert res.exit_code == 2 and "fuzzzy" in res.output
    res = run_cli(
        "score", "dialogs", "--pred", PRED, "--ref", REF, "--suite", "nope", "--out", tmp_path / "r.json"
    )
    assert res.exit_code == 2 and "task_oriented" in res.output


def test_never_overwrites_an_input(run_cli, tmp_path):
    pred = tmp_path / "pred.jsonl"
    pred.write_text(PRED.read_text())
    res = run_cli("score", "dialogs", "--pred", pred, "--ref", REF, "--out", pred)
    assert res.exit_code == 1 and "refusing to overwrite" in res.output
    assert pred.read_text() == PRED.read_text()


def test_unparsable_arguments_and_trials(run_cli, tmp_path):
    ref = {
        "id": "t",
        "tools": [
            {
                "name": "f",
                "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
            }
        ],
        "goal": {"intents": ["f"]},
        "messages": [
            {"role": "user", "content": "x=1"},
            {"role": "assistant", "tool_calls": [{"id": "c", "name": "f", "arguments": {"x": 1}}]},
        ],
    }
    good = dict(ref)
    broken = json.loads(json.dumps(ref))
    broken["messages"][1]["tool_calls"][0]["arguments"] = "{x: 1"
    (tmp_path / "r.jsonl").write_text(json.dumps(ref) + "\n")
    (tmp_path / "p.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(broken) + "\n")
    out = tmp_path / "o.json"
    res = run_cli(
        "score",
        "dialogs",
        "--pred",
        tmp_path / "p.jsonl",
        "--ref",
        tmp_path / "r.jsonl",
        "--out",
        out,
        "--suite",
        "tool_calling",
    )
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert value(r, "json_parse_rate") == 0.5  # the second trial's arguments are not JSON
    assert value(r, "tool_call_accuracy") == 0.5
    assert r["summaries"]["pass_hat_k"] == {"1": 0.5, "2": 0.0}
    assert sorted(it.get("trial") for it in r["items"] if "tool_call_accuracy" in it["stats"]) == [0, 1]


def test_help_has_examples(run_cli):
    res = run_cli("score", "dialogs", "--help")
    assert res.exit_code == 0 and "dialogkit score dialogs --pred" in res.output


def test_references_scored_against_themselves_are_perfect(run_cli, tmp_path):
    out = tmp_path / "oracle.json"
    res = run_cli("score", "dialogs", "--pred", REF, "--ref", REF, "--out", out)
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert r["missing"] == [] and r["error_types"] == {}
    reference_based = [
        k for k, m in r["metrics"].items() if m["scorer"] not in ("repetition",) and m["scale"] == "fraction"
    ]
    for name in reference_based:
        expected = 1.0 if r["metrics"][name]["higher_is_better"] else 0.0
        assert value(r, name) == pytest.approx(expected), name
