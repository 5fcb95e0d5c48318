"""State rules against domain schemas: SGD and MultiWOZ schema.json, and a dialogkit domain file."""

from __future__ import annotations

import json

import orjson
import pytest

from dialogkit.validate.state import check_state, load_domain_schema


def _sgd(shared_dir):
    from dialogkit.formats import FORMATS

    if "sgd" not in FORMATS:
        pytest.skip("the sgd format is not registered yet")
    return shared_dir / "data" / "sgd" / "dev"


def test_sgd_sample_validates_clean_against_its_schema(run_cli, shared_dir):
    dev = _sgd(shared_dir)
    r = run_cli("validate", dev / "dialogues_001.json", "--from", "sgd", "--domain-schema", dev / "schema.json",
                "--format", "json")
    assert r.exit_code == 0, r.output[-2000:]
    report = json.loads(r.stdout)
    assert report["summary"]["dialogs"] == 128 and report["summary"]["errors"] == 0
    assert not [i for i in report["issues"] if i["code"].startswith("STATE_")]


def test_hand_broken_sgd_copy_reports_the_exact_field(run_cli, shared_dir, tmp_path):
    from dialogkit.formats import read_raw

    dev = _sgd(shared_dir)
    schema = load_domain_schema(dev / "schema.json")
    records = [r.data for r in read_raw(dev / "dialogues_001.json", "sgd")]
    broken: dict[int, tuple[str, str]] = {}  # line -> (code, path)
    for n, d in enumerate(records, 1):
        for i, m in enumerate(d["messages"]):
            st = m.get("state")
            if not st or not st.get("domain"):
                continue
            svc = schema.service(st["domain"])
            cat = [s for s in st.get("slots", {}) if svc.slots[s.lower()].categorical]
            if "STATE_VALUE_INVALID" not in [c for c, _ in broken.values()] and cat:
                st["slots"][cat[0]] = ["definitely-not-allowed"]
                broken[n] = ("STATE_VALUE_INVALID", f"messages[{i}].state.slots.{cat[0]}")
            elif "STATE_INTENT_UNKNOWN" not in [c for c, _ in broken.values()] and st.get("active_intent") and n not in broken:
                st["active_intent"] = "FlyToTheMoon"
                broken[n] = ("STATE_INTENT_UNKNOWN", f"messages[{i}].state.active_intent")
            elif "STATE_SLOT_UNKNOWN" not in [c for c, _ in broken.values()] and n not in broken:
                st.setdefault("slots", {})["spaceship"] = ["yes"]
                broken[n] = ("STATE_SLOT_UNKNOWN", f"messages[{i}].state.slots.spaceship")
            break
        if len(broken) == 3:
            break
    path = tmp_path / "sgd.jsonl"
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in records))
    r = run_cli("validate", path, "--domain-schema", dev / "schema.json", "--format", "json", "--disable", "pii")
    assert r.exit_code == 1
    issues = json.loads(r.stdout)["issues"]
    assert sorted((i["line"], i["code"], i["path"]) for i in issues) == sorted((n, c, p) for n, (c, p) in broken.items())


def _dialog(state=None, goal=None):
    d = {"id": "x", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok", "state": state}]}
    if goal:
        d["goal"] = goal
    return d


def _check(d, schema):
    found = []
    check_state(d, schema, found.append)
    return [(c, p) for c, p, _ in found]


def test_multiwoz_prefixed_and_bare_slot_names(shared_dir):
    schema = load_domain_schema(shared_dir / "data" / "multiwoz" / "schema.json")
    ok = {"domain": "hotel", "active_intent": "find_hotel", "slots": {"hotel-pricerange": "cheap", "area": "centre",
          "stars": "dontcare"}}
    assert _check(_dialog(ok), schema) == []
    bad = {"domain": "hotel", "slots": {"pricerange": "free", "hotel-colour": "red"}, "frames": {"spaceport": {}}}
    assert _check(_dialog(bad), schema) == [
        ("STATE_VALUE_INVALID", "messages[1].state.slots.pricerange"),
        ("STATE_SLOT_UNKNOWN", "messages[1].state.slots.hotel-colour"),
        ("STATE_DOMAIN_UNKNOWN", "messages[1].state.frames.spaceport"),
    ]
    # no domain on the frame: any service's slot is accepted
    assert _check(_dialog({"slots": {"restaurant-food": "chinese"}}), schema) == []


def test_dialogkit_domain_file_in_yaml_and_goal_checks(tmp_path):
    path = tmp_path / "domain.yaml"
    path.write_text(
        "services:\n"
        "  - service_name: Trains_1\n"
        "    intents: [{name: FindTrains}, {name: GetTrainTickets}]\n"
        "    slots:\n"
        "      - {name: to}\n"
        "      - {name: class, is_categorical: true, possible_values: [Economy, Business]}\n",
        encoding="utf-8",
    )
    schema = load_domain_schema(path)
    state = {"domain": "Trains_1", "active_intent": "FindTrains", "slots": {"to": ["成都"], "class": "economy"},
             "requested_slots": ["class"]}
    goal = {"intents": ["FindTrains", "BookPlane"], "constraints": {"klass": "x"}, "domains": {"Trains_1": {"requests": ["seat"]}}}
    assert _check(_dialog(state, goal), schema) == [
        ("STATE_INTENT_UNKNOWN", "goal.intents[1]"),
        ("STATE_SLOT_UNKNOWN", "goal.constraints.klass"),
        ("STATE_SLOT_UNKNOWN", "goal.domains.Trains_1.requests[0]"),
    ]


def test_bad_domain_schema_files_are_input_errors(tmp_path, run_cli):
    bad = tmp_path / "bad.json"
    bad.write_text('{"nothing": 1}')
    data = tmp_path / "x.jsonl"
    data.write_text('{"id": "a", "messages": []}\n')
    r = run_cli("validate", data, "--domain-schema", bad)
    assert r.exit_code == 1 and "a domain schema is a list of services" in r.output
    r = run_cli("validate", data, "--domain-schema", tmp_path / "missing.json")
    assert r.exit_code == 1 and "no such domain schema" in r.output
