"""`score compare`: paired bootstrap over dialogs, recomputing metrics from per-item statistics."""

from __future__ import annotations

import json

import pytest

from dialogkit.errors import InputError
from dialogkit.score.base import Item, MetricSpec
from dialogkit.score.compare import compare, load_report
from dialogkit.score.report import build_report

SPECS = {
    "task_success": ("task", MetricSpec("task_success", "ratio", True)),
    "slot_f1": ("state", MetricSpec("slot_f1", "f1", True)),
    "over_refusal_rate": ("behaviour", MetricSpec("over_refusal_rate", "ratio", False)),
    "bleu": ("text", MetricSpec("bleu", "bleu", True)),
}


def make_report(successes, refusals, tp=8):
    items = []
    for i, (s, r) in enumerate(zip(successes, refusals)):
        items.append(Item(f"d{i}", None, {"task_success": [float(s), 1.0]}))
        items.append(
            Item(
                f"d{i}",
                0,
                {
                    "slot_f1": [tp, 10 - tp, 2],
                    "over_refusal_rate": [float(r), 1.0],
                    "bleu": [5, 5, 4, 3, 2, 1, 5, 4, 3, 2],
                },
            )
        )
    return json.loads(json.dumps(build_report("dialogs", items, SPECS)))


def test_identical_reports_have_zero_difference():
    a = make_report([1, 0] * 20, [0] * 40)
    out = compare(a, a, n_boot=300)
    for row in out["rows"]:
        assert row["diff"] == 0 and row["ci_low"] == 0 and row["ci_high"] == 0 and not row["significant"]
    assert out["dialogs"] == {"common": 40, "only_a": 0, "only_b": 0}


def test_clear_improvement_is_significant_and_direction_aware():
    a = make_report([0] * 30 + [1] * 10, [1] * 20 + [0] * 20, tp=5)
    b = make_report([1] * 35 + [0] * 5, [0] * 40, tp=8)
    rows = {r["metric"]: r for r in compare(a, b, n_boot=500, seed=1)["rows"]}
    ts = rows["task_success"]
    assert ts["a"] == pytest.approx(0.25) and ts["b"] == pytest.approx(0.875)
    assert (
        ts["diff"] == pytest.approx(0.625)
        and ts["ci_low"] > 0.3
        and ts["significant"]
        and ts["better"] == "B"
    )
    assert rows["over_refusal_rate"]["diff"] == pytest.approx(-0.5)
    assert rows["over_refusal_rate"]["better"] == "B", "lower is better for over-refusal"
    assert rows["slot_f1"]["a"] == pytest.approx(2 * 5 / (2 * 5 + 5 + 2))
    assert rows["bleu"]["diff"] == pytest.approx(0.0)


def test_small_noisy_difference_is_not_significant():
    a = make_report([1, 0, 1, 0, 1, 0, 1, 0], [0] * 8)
    b = make_report([1, 0, 1, 0, 1, 0, 1, 1], [0] * 8)
    row = next(r for r in compare(a, b, n_boot=500)["rows"] if r["metric"] == "task_success")
    assert row["ci_low"] <= 0 <= row["ci_high"] and not row["significant"]


def test_only_common_dialogs_are_paired():
    a = make_report([1] * 10, [0] * 10)
    b = make_report([1] * 12, [0] * 12)
    out = compare(a, b, n_boot=200)
    assert out["dialogs"] == {"common": 10, "only_a": 0, "only_b": 2}


def test_compare_cli(run_cli, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(make_report([0] * 30 + [1] * 10, [0] * 40)))
    b.write_text(json.dumps(make_report([1] * 40, [0] * 40)))
    out = tmp_path / "diff.json"
    res = run_cli("score", "compare", a, b, "--n-boot", "200", "--out", out)
    assert res.exit_code == 0, res.output
    assert "task_success" in res.output and "B better" in res.output
    assert json.loads(out.read_text())["rows"]
    res = run_cli("score", "compare", a, b, "--metric", "bleu")
    assert "task_success" not in res.output


def test_compare_rejects_non_reports(run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(InputError):
        load_report(bad)
    res = run_cli("score", "compare", bad, bad)
    assert res.exit_code == 1 and "not a dialogkit score report" in res.output
    res = run_cli("score", "compare", tmp_path / "missing.json", bad)
    assert res.exit_code == 1 and "no such file" in res.output


def test_compare_real_reports(run_cli, tmp_path):
    """Two `score dialogs` runs on the fixture: a model compared with the reference itself."""
    from pathlib import Path

    assets = Path(__file__).parent / "assets" / "score"
    a, b = tmp_path / "model.json", tmp_path / "oracle.json"
    run_cli(
        "score",
        "dialogs",
        "--pred",
        assets / "pred.jsonl",
        "--ref",
        assets / "ref.jsonl",
        "--out",
        a,
        "--quiet",
    )
    run_cli(
        "score",
        "dialogs",
        "--pred",
        assets / "ref.jsonl",
        "--ref",
        assets / "ref.jsonl",
        "--out",
        b,
        "--quiet",
    )
    rows = {r["metric"]: r for r in compare(load_report(a), load_report(b), n_boot=200)["rows"]}
    assert rows["task_success"]["b"] == 1.0 and rows["task_success"]["diff"] == pytest.approx(0.75)
    assert rows["bleu"]["b"] == pytest.approx(1.0)


def test_too_few_dialogs_are_never_significant():
    a = make_report([0, 0, 0], [0] * 3)
    b = make_report([1, 1, 1], [0] * 3)
    row = next(r for r in compare(a, b, n_boot=200)["rows"] if r["metric"] == "task_success")
    assert row["diff"] == 1.0 and row["n_dialogs"] == 3 and not row["significant"]
    row = next(r for r in compare(a, b, n_boot=200, min_dialogs=3)["rows"] if r["metric"] == "task_success")
    assert row["significant"]
