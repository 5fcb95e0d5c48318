"""``dialogkit stats``: distributions, roles, tools, languages, groups, coverage, HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson

from dialogkit.stats import compute_stats, detect_language

MIXED = Path(__file__).parent / "assets" / "validate" / "mixed.jsonl"


def _write(tmp_path, dialogs):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in dialogs))
    return p


def _dialog(i, turns, lang="en", domain="travel", call=False):
    msgs = []
    for t in range(turns):
        msgs.append({"role": "user", "content": f"帮我订第{t}张票" if lang == "zh" else f"book ticket {t} please"})
        if call and t == 0:
            msgs.append({"role": "assistant", "content": "", "tool_calls": [{"id": "c", "name": "book", "arguments": {}}]})
            msgs.append({"role": "tool", "tool_call_id": "c", "name": "book", "content": "ok"})
        msgs.append({"role": "assistant", "content": "好的" if lang == "zh" else "done",
                     "state": {"domain": "Trains_1", "active_intent": "FindTrains", "slots": {"class": "Economy"}}})
    return {"id": f"d{i}", "messages": msgs, "metadata": {"domain": domain}}


def test_stats_json(run_cli, tmp_path):
    dialogs = [_dialog(0, 1), _dialog(1, 3, "zh", "food", call=True), _dialog(2, 5, call=True), _dialog(3, 12)]
    p = _write(tmp_path, dialogs)
    with p.open("ab") as f:
        f.write(b"not json\n")
    r = run_cli("stats", p, "--format", "json", "--by", "domain")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert (s["dialogs"], s["invalid"]) == (4, 1)
    assert s["turns"]["min"] == 1 and s["turns"]["max"] == 12 and s["turns"]["mean"] == 5.25
    assert s["turns"]["histogram"]["1"] == 1 and s["turns"]["histogram"]["11-20"] == 1
    assert s["roles"] == {"assistant": 23, "user": 21, "tool": 2}
    assert s["tool_calls"] == {"dialogs_with_calls": 2, "calls": 2, "by_tool": {"book": 2}}
    assert s["languages"] == {"en": 3, "zh": 1}
    assert s["by"]["domain"]["travel"]["dialogs"] == 3 and s["by"]["domain"]["food"]["share_with_tool_calls"] == 1.0


def test_coverage_against_a_domain_file(run_cli, tmp_path):
    schema = tmp_path / "domain.json"
    schema.write_text(json.dumps([{"service_name": "Trains_1", "intents": [{"name": "FindTrains"}, {"name": "BuyTrainTickets"}],
                                   "slots": [{"name": "class", "is_categorical": True, "possible_values": ["Economy", "Business"]},
                                             {"name": "to"}]}]))
    p = _write(tmp_path, [_dialog(i, 2) for i in range(3)])
    r = run_cli("stats", p, "--format", "json", "--domain-schema", schema, "--rare", "10")
    cov = json.loads(r.stdout)["coverage"]
    svc = cov["services"]["Trains_1"]
    assert svc["intents"] == {"FindTrains": 6, "BuyTrainTickets": 0}
    assert svc["never"] == {"intents": ["BuyTrainTickets"], "slots": ["to"]}
    assert svc["rare"] == {"intents": ["FindTrains"], "slots": ["class"]}
    assert svc["values_never_seen"] == {"class": ["business"]}
    assert cov["intents_covered"] == "1/2"


def test_html_is_self_contained(run_cli, tmp_path):
    out = tmp_path / "stats.html"
    r = run_cli("stats", MIXED, "--html", out, "--by", "language")
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") >= 4 and "<script" not in page
    assert not re.search(r"(src|href)=\"?https?://", page)
    assert "dialogs by user turns" in page


def test_text_output_and_usage_errors(run_cli, tmp_path):
    r = run_cli("stats", MIXED)
    assert r.exit_code == 0 and "turn histogram" in r.output and "invalid records" in r.output
    assert run_cli("stats", MIXED, "--by", "a b").exit_code == 2
    assert run_cli("stats", MIXED, "--from", "nope").exit_code == 2
    assert run_cli("stats", tmp_path / "missing.jsonl").exit_code == 1


def test_sgd_coverage(shared_dir):
    from dialogkit.formats import FORMATS

    if "sgd" not in FORMATS:
        import pytest

        pytest.skip("the sgd format is not registered yet")
    dev = shared_dir / "data" / "sgd" / "dev"
    s = compute_stats(dev / "dialogues_001.json", "sgd", domain_schema=dev / "schema.json")
    cov = s["coverage"]
    assert s["dialogs"] == 128 and cov["intents_covered"].startswith("4/")
    assert "ReserveRestaurant" in cov["services"]["Restaurants_2"]["intents"]
    assert cov["services"]["Restaurants_2"]["intents"]["ReserveRestaurant"] > 0


def test_detect_language():
    assert detect_language("帮我订明天上海到北京的高铁 G101") == "zh"
    assert detect_language("I need a cheap restaurant") == "en"
    assert detect_language("我们两大一小 Sure, which day would you like to book for? 周末重庆玩两天") == "mixed"
    assert detect_language("") == "other"


def test_stats_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, dialogkit.cli.stats, dialogkit.stats, dialogkit.stats_html; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
