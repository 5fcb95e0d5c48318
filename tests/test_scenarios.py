"""Every shipped scenario loads, matches the shipped schema, and yields 200 deterministic,
valid, distinct dialogs with tool calls and states (the synth 'done when')."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from dialogkit.records import parse_dialog
from dialogkit.schema import dump
from dialogkit.synth import SynthReport
from dialogkit.synth.check import check_dialog
from dialogkit.synth.dedup import skeleton_key, text_key
from dialogkit.synth.outline import OutlineGenerator, generate
from dialogkit.synth.scenario import GENERATORS_DIR, load_scenario, scenario_json_schema

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p.stem for p in GENERATORS_DIR.glob("*.yaml"))


def test_three_scenarios_are_shipped():
    assert {"zh_travel", "en_restaurant_hotel", "support"} <= set(SCENARIOS)


def test_scenario_schema_does_not_drift():
    shipped = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))
    assert shipped == scenario_json_schema(), (
        "schemas/scenario.schema.json drifted: run `python -m dialogkit.synth.scenario > schemas/scenario.schema.json`"
    )


@pytest.mark.parametrize("name", SCENARIOS)
def test_yaml_validates_against_the_shipped_schema(name):
    schema = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))
    data = yaml.safe_load((GENERATORS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)


@pytest.mark.parametrize("name", SCENARIOS)
def test_databases_are_small(name):
    sc = load_scenario(name)
    for t in sc.spec.tables.values():
        assert (sc.base_dir / t.file).stat().st_size < 200_000


@pytest.fixture(scope="module", params=SCENARIOS)
def batch(request):
    sc = load_scenario(request.param)
    report = SynthReport()
    dialogs = generate(OutlineGenerator(sc, seed=0), 200, report)
    return sc, dialogs, report


def test_200_valid_distinct_dialogs(batch):
    sc, dialogs, report = batch
    assert len(dialogs) == 200, report.failure_codes
    assert report.failed == 0, [i.format() for i in report.issues]
    assert len({text_key(d) for d in dialogs}) == 200
    assert len({skeleton_key(d) for d in dialogs}) == 200
    for d in dialogs:
        assert check_dialog(d) == []
        # what we write is already the canonical form: parsing and dumping changes nothing
        assert dump(parse_dialog(d)) == d


def test_dialogs_carry_states_tool_calls_and_goals(batch):
    sc, dialogs, _ = batch
    with_calls = sum(any(m.get("tool_calls") for m in d["messages"]) for d in dialogs)
    assert with_calls >= 180
    tool_names = {t["function"]["name"] for t in dialogs[0]["tools"]}
    assert tool_names == set(sc.spec.tools)
    for d in dialogs:
        assert d["goal"]["intents"] and d["goal"]["description"]
        assert d["messages"][0]["role"] == "system"
        assert d["messages"][-1]["role"] == "assistant" and d["messages"][-1]["expected"] == "bye"
        for m in d["messages"]:
            if m["role"] == "assistant":
                assert "state" in m and "expected" in m and m["acts"]
        prov = d["metadata"]["provenance"]
        assert prov["scenario"] == sc.name and prov["scenario_hash"] == sc.hash and prov["seed"] == 0


def test_every_expected_label_occurs(batch):
    _, dialogs, _ = batch
    labels = {m.get("expected") for d in dialogs for m in d["messages"] if m["role"] == "assistant"}
    assert {"clarify", "call_tool", "inform", "confirm", "refuse", "bye"} <= labels


def test_goals_met_or_explained(batch):
    """A reference dialog either meets its goal or records why not (a tool error)."""
    _, dialogs, _ = batch
    for d in dialogs:
        out = d["metadata"]["outcome"]
        assert out["goal_met"] or out.get("errors"), d["id"]
    assert sum(d["metadata"]["outcome"]["goal_met"] for d in dialogs) >= 140


def test_bookings_match_goal(batch):
    _, dialogs, _ = batch
    for d in dialogs:
        booking = d["goal"].get("booking")
        if booking and d["metadata"]["outcome"]["goal_met"]:
            records = d["metadata"]["final_db"]["bookings"] + d["metadata"]["final_db"]["updates"]
            assert any(all(r.get(k) == v for k, v in booking.items()) for r in records)
