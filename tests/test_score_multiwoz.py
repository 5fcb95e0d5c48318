"""``dialogkit score multiwoz``: mwzeval's numbers, on its golden subset and on perturbed predictions.

Every pinned number below was obtained by running the real mwzeval (Tomiinek/MultiWOZ_Evaluation
@ 7f19ee01, sacrebleu 2.6.0, fuzzywuzzy 0.18.0, python-Levenshtein 0.27.5, sacremoses 0.2.0) on
the same inputs, with its data folder replaced by ../shared/data/multiwoz/mwzeval-data.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from dialogkit.errors import InputError
from dialogkit.score.multiwoz import score_multiwoz
from dialogkit.score.multiwoz.database import VenueDatabase
from dialogkit.score.multiwoz.fuzzy import partial_ratio
from dialogkit.score.multiwoz.moses import moses_roundtrip
from dialogkit.score.multiwoz.normalize import normalize_response, normalize_state

GOLD_INFORM = {"total": 71.4, "attraction": 100.0, "hotel": 50.0, "restaurant": 100.0, "train": 75.0}
GOLD_SUCCESS = {"total": 71.4, "attraction": 66.7, "hotel": 50.0, "restaurant": 100.0, "train": 50.0}


@pytest.fixture(scope="module")
def mwz(shared_dir: Path) -> Path:
    return shared_dir / "data" / "multiwoz"


def _inputs(mwz: Path, name: str = "with_state") -> dict:
    return json.loads((mwz / "inputs" / f"input_gt_bracketed_{name}.json").read_text())


# ------------------------------------------------------------------ perturbations (shared with the pin script)
def wrong_venues(inp: dict) -> dict:
    """Every hotel/restaurant/attraction name in the state replaced by another real venue."""
    swap = {"hotel": "acorn guest house", "restaurant": "pizza hut city centre", "attraction": "all saints church"}
    out = copy.deepcopy(inp)
    for turns in out.values():
        for t in turns:
            for domain, slots in t["state"].items():
                if "name" in slots and domain in swap:
                    slots["name"] = swap[domain]
    return out


def no_references(inp: dict) -> dict:
    """Booking references never given: every [ref]/[reference] placeholder dropped."""
    out = copy.deepcopy(inp)
    for turns in out.values():
        for t in turns:
            t["response"] = t["response"].replace("[ref]", "").replace("[reference]", "")
    return out


def emptied_turns(inp: dict) -> dict:
    """Every second system turn answered with an empty response."""
    out = copy.deepcopy(inp)
    for turns in out.values():
        for i, t in enumerate(turns):
            if i % 2:
                t["response"] = ""
    return out


def uppercase_placeholders(inp: dict) -> dict:
    """The evaluation.md pitfall: bare NAME/PHONE... instead of [name]/[phone] (lowercased away)."""
    out = copy.deepcopy(inp)
    for turns in out.values():
        for t in turns:
            for slot in ("name", "phone", "address", "postcode", "trainid", "ref", "reference"):
                t["response"] = t["response"].replace(f"[{slot}]", slot.upper())
    return out


def noisy_states(inp: dict) -> dict:
    """DST noise: a letter dropped from some values (fuzzy > 95 may still match), some slots lost."""
    out = copy.deepcopy(inp)
    for turns in out.values():
        for i, t in enumerate(turns):
            for domain, slots in t["state"].items():
                for j, slot in enumerate(sorted(slots)):
                    if (i + j) % 5 == 0:
                        slots[slot] = slots[slot][:-1]
                    elif (i + j) % 7 == 0:
                        del slots[slot]
    return out


PERTURBATIONS = {
    "wrong_venues": wrong_venues, "no_references": no_references, "emptied_turns": emptied_turns,
    "uppercase_placeholders": uppercase_placeholders, "noisy_states": noisy_states,
}

# Obtained from mwzeval @ 7f19ee01 on the perturbed with-state input (see the module docstring);
# "minus_<id>" is mwzeval on the input without that dialogue (what dialogkit scores after rejecting it).
MWZEVAL_PINNED = {
    "wrong_venues": {
        "bleu": 100.00000000000004,
        "inform": {"total": 71.4, "attraction": 100.0, "hotel": 50.0, "restaurant": 100.0, "train": 75.0},
        "success": {"total": 71.4, "attraction": 66.7, "hotel": 50.0, "restaurant": 100.0, "train": 50.0},
        "dst": {"joint_accuracy": 47.82608695641777, "slot_f1": 89.95815899077827, "slot_precision": 0.8995815899577827, "slot_recall": 0.8995815899577827},
    },
    "no_references": {
        "bleu": 99.06802261964069,
        "inform": {"total": 71.4, "attraction": 100.0, "hotel": 50.0, "restaurant": 100.0, "train": 75.0},
        "success": {"total": 57.1, "attraction": 66.7, "hotel": 50.0, "restaurant": 66.7, "train": 25.0},
        "dst": {"joint_accuracy": 99.9999999997826, "slot_f1": 99.99999999495816, "slot_precision": 0.9999999999995817, "slot_recall": 0.9999999999995817},
    },
    "emptied_turns": {
        "bleu": 46.40900057411422,
        "inform": {"total": 28.6, "attraction": 66.7, "hotel": 50.0, "restaurant": 0.0, "train": 100.0},
        "success": {"total": 14.3, "attraction": 33.3, "hotel": 0.0, "restaurant": 0.0, "train": 50.0},
        "dst": {"joint_accuracy": 99.9999999997826, "slot_f1": 99.99999999495816, "slot_precision": 0.9999999999995817, "slot_recall": 0.9999999999995817},
    },
    "uppercase_placeholders": {
        "bleu": 89.85832800075603,
        "inform": {"total": 28.6, "attraction": 66.7, "hotel": 0.0, "restaurant": 0.0, "train": 100.0},
        "success": {"total": 0.0, "attraction": 0.0, "hotel": 0.0, "restaurant": 0.0, "train": 50.0},
        "dst": {"joint_accuracy": 99.9999999997826, "slot_f1": 99.99999999495816, "slot_precision": 0.9999999999995817, "slot_recall": 0.9999999999995817},
    },
    "noisy_states": {
        "bleu": 100.00000000000004,
        "inform": {"total": 28.6, "attraction": 100.0, "hotel": 0.0, "restaurant": 66.7, "train": 50.0},
        "success": {"total": 28.6, "attraction": 0.0, "hotel": 0.0, "restaurant": 66.7, "train": 0.0},
        "dst": {"joint_accuracy": 54.34782608683837, "slot_f1": 90.94922736804351, "slot_precision": 0.9626168224294568, "slot_recall": 0.861924686192108},
    },
    "minus_mul2254": {
        "bleu": 100.00000000000004,
        "inform": {"total": 83.3, "attraction": 100.0, "hotel": 100.0, "restaurant": 100.0, "train": 66.7},
        "success": {"total": 83.3, "attraction": 66.7, "hotel": 100.0, "restaurant": 100.0, "train": 66.7},
        "dst": {"joint_accuracy": 99.99999999972972, "slot_f1": 99.99999999494351, "slot_precision": 0.9999999999994351, "slot_recall": 0.9999999999994351},
    },
    "minus_sng0601": {
        "bleu": 100.00000000000004,
        "inform": {"total": 66.7, "attraction": 100.0, "hotel": 50.0, "restaurant": 100.0, "train": 75.0},
        "success": {"total": 66.7, "attraction": 66.7, "hotel": 50.0, "restaurant": 100.0, "train": 50.0},
        "dst": {"joint_accuracy": 99.99999999976744, "slot_f1": 99.99999999495672, "slot_precision": 0.9999999999995671, "slot_recall": 0.9999999999995671},
    },
}


# ------------------------------------------------------------------------------------------ golden
def test_golden_with_state(mwz: Path) -> None:
    r = score_multiwoz(mwz / "inputs" / "input_gt_bracketed_with_state.json", mwz / "mwzeval-data")
    assert r["bleu"] == pytest.approx(100.0)
    assert r["inform"] == GOLD_INFORM and r["success"] == GOLD_SUCCESS
    assert r["combined"] == pytest.approx(171.4)
    # mwzeval's smoothing terms make a perfect run read just under 100; the exact floats are its own.
    assert r["dst"] == {"joint_accuracy": 99.9999999997826, "slot_f1": 99.99999999495816,
                        "slot_precision": 0.9999999999995817, "slot_recall": 0.9999999999995817}
    verdicts = {d: (v["inform"]["total"], bool(v["success"] and v["success"]["total"])) for d, v in r["per_dialog"].items()}
    assert verdicts == {"pmul2942": (True, True), "sng0601": (True, True), "mul1981": (True, True),
                        "sng0527": (True, True), "mul2254": (False, False), "mul0306": (True, True),
                        "pmul1194": (False, False)}
    assert r["issues"] == [] and r["counts"] == {"dialogs": 7, "turns": 46, "rejected": 0}


def test_golden_without_state_uses_gold_states(mwz: Path) -> None:
    r = score_multiwoz(mwz / "inputs" / "input_gt_bracketed_no_state.json", mwz / "mwzeval-data")
    assert (r["inform"], r["success"]) == (GOLD_INFORM, GOLD_SUCCESS)
    assert r["bleu"] == pytest.approx(100.0) and r["dst"] is None
    assert any("gold MultiWOZ 2.2 states" in n for n in r["notes"])


def _numbers(r: dict) -> dict:
    return {"bleu": r["bleu"], "inform": r["inform"], "success": r["success"], "dst": r["dst"]}


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_perturbed_predictions_match_mwzeval(mwz: Path, tmp_path: Path, name: str) -> None:
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(PERTURBATIONS[name](_inputs(mwz))))
    # Exact equality: the very floats mwzeval printed.
    assert _numbers(score_multiwoz(pred, mwz / "mwzeval-data")) == MWZEVAL_PINNED[name]


# ------------------------------------------------------------------------------------------ units
@pytest.mark.parametrize(("text", "expected"), [
    # pinned from sacremoses 0.2.0: MosesDetokenizer('en').detokenize(MosesTokenizer('en').tokenize(text))
    ("i have NAME , it 's at ADDRESS .", "i have NAME, it 's at ADDRESS."),
    ("the jones' house , isn't it ?", "the jones' house, isn't it?"),
    ("the phone is PHONE.do you need anything else ?", "the phone is PHONE.do you need anything else?"),
    ("cost is $ 5 ( per person ) ...", "cost is $5 (per person)..."),
    ('he said " hello " and \' bye \'', 'he said "hello" and \'bye\''),
    ("no. 5 and e.g. this", "no. 5 and e.g. this"),
])
def test_moses_roundtrip(text: str, expected: str) -> None:
    assert moses_roundtrip(text) == expected


def test_response_normalisation_placeholders() -> None:
    unknown: set[str] = set()
    assert normalize_response("[restaurant_name] has [value_count]s of [bogus] rooms", unknown) == \
        "NAME has COUNT of rooms"
    assert unknown == {"bogus"}
    # The pitfall: bare uppercase placeholders are lowercased and no longer count.
    assert normalize_response("NAME is at ADDRESS") == "name is at address"


@pytest.mark.parametrize(("a", "b", "score"), [
    # pinned from fuzzywuzzy 0.18.0 + python-Levenshtein 0.27.5 (rapidfuzz's own partial_ratio differs)
    ("cambridge university botanic gardens", "botanic gardens", 100),
    ("london kings cross", "kings", 100),
    ("the", "cambridge", 33),
    ("stevenage", "stansted airport", 44),  # rapidfuzz.fuzz.partial_ratio says 50.0
    ("cambridge", "", 0),
])
def test_partial_ratio_is_fuzzywuzzys(a: str, b: str, score: int) -> None:
    assert partial_ratio(a, b) == score


def test_state_normalisation() -> None:
    state = {"train": {"leaveAt": "after 5pm", "arriveby": "by 1730"}, "hotel": {"parking": "free",
                                                                               "type": "guest house"}}
    assert normalize_state(state) == {"train": {"leave": "17:00", "arrive": "17:30"},
                                      "hotel": {"parking": "yes", "type": "guesthouse"}}


def test_database_query(mwz: Path) -> None:
    db = VenueDatabase.load(mwz / "mwzeval-data" / "database")
    trains = db.query("train", {"departure": "peterborough", "destination": "cambridge", "day": "friday",
                                "arrive": "10:15"})
    assert trains and all(t.startswith("TR") for t in trains)
    assert db.query("train", {"departure": "peterborough", "destination": "cambridge", "day": "friday",
                              "arrive": "04:00"}) == []
    assert db.query("hotel", {"name": "acorn guest house", "area": "dontcare"}) == db.query("hotel", {"name": "acorn"})
    assert db.query("taxi", {"leave": "10:00"}) == []


# ------------------------------------------------------------------------------------------ bad input
def test_missing_data_file_is_named(mwz: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(mwz / "mwzeval-data", data)
    (data / "goals.json").unlink()
    with pytest.raises(InputError, match="goals.json"):
        score_multiwoz(mwz / "inputs" / "input_gt_bracketed_no_state.json", data)
    (data / "references" / "mwz22.json").unlink()
    # Without BLEU the references are not needed, but goals still are.
    with pytest.raises(InputError, match="goals.json"):
        score_multiwoz(mwz / "inputs" / "input_gt_bracketed_no_state.json", data, bleu=False)


def test_bleu_only_needs_references(mwz: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "references").mkdir(parents=True)
    shutil.copy(mwz / "mwzeval-data" / "references" / "mwz22.json", data / "references")
    r = score_multiwoz(mwz / "inputs" / "input_gt_bracketed_no_state.json", data, success=False)
    assert r["bleu"] == pytest.approx(100.0) and r["inform"] is None and r["combined"] is None


def test_cli_golden_report(mwz: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "report.json"
    res = run_cli("score", "multiwoz", mwz / "inputs" / "input_gt_bracketed_with_state.json",
                  "--data", mwz / "mwzeval-data", "--out", out)
    assert res.exit_code == 0, res.output
    assert "171.40" in res.stdout and "71.4" in res.stdout
    report = json.loads(out.read_text())
    assert set(report) >= {"bleu", "inform", "success", "combined", "dst", "per_dialog", "issues"}
    assert report["inform"] == GOLD_INFORM and report["combined"] == pytest.approx(171.4)


def test_cli_missing_file_exits_cleanly(mwz: Path, tmp_path: Path, run_cli) -> None:
    data = tmp_path / "data"
    shutil.copytree(mwz / "mwzeval-data", data)
    (data / "database" / "train_db.json").unlink()
    res = run_cli("score", "multiwoz", mwz / "inputs" / "input_gt_bracketed_no_state.json", "--data", data)
    assert res.exit_code == 1
    assert "train_db.json" in res.stderr and "Traceback" not in res.output


def test_cli_not_json(mwz: Path, tmp_path: Path, run_cli) -> None:
    pred = tmp_path / "pred.json"
    pred.write_text('{\n  "pmul2942": [\n    {"response": "hi"\n')
    res = run_cli("score", "multiwoz", pred, "--data", mwz / "mwzeval-data")
    assert res.exit_code == 1 and "JSON_INVALID" in res.stderr and f"{pred}:" in res.stderr


def test_cli_bad_dialogs_are_reported_and_the_rest_scored(mwz: Path, tmp_path: Path, run_cli) -> None:
    inp = _inputs(mwz)
    del inp["mul2254"][3]["response"]      # a turn without a response
    inp["sng9999"] = inp["sng0601"]        # an id the goals do not know
    pred, out = tmp_path / "pred.json", tmp_path / "report.json"
    pred.write_text(json.dumps(inp, indent=1))
    res = run_cli("score", "multiwoz", pred, "--data", mwz / "mwzeval-data", "--out", out)
    assert res.exit_code == 1
    assert "RESPONSE_MISSING" in res.stderr and "[3].response" in res.stderr
    assert "dialog sng9999: not in goals.json (DIALOG_UNKNOWN)" in res.stderr
    report = json.loads(out.read_text())
    assert sorted(report["rejected"]) == ["mul2254", "sng9999"]
    # The rest is scored exactly as mwzeval scores the input without mul2254.
    assert _numbers(report) == MWZEVAL_PINNED["minus_mul2254"]


def test_cli_too_many_turns_and_bad_state(mwz: Path, tmp_path: Path, run_cli) -> None:
    inp = _inputs(mwz)
    inp["sng0601"].append({"response": "extra", "state": {}})
    inp["pmul2942"][0]["state"] = {"hotel": {"area": ["centre"]}}
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(inp))
    res = run_cli("score", "multiwoz", pred, "--data", mwz / "mwzeval-data", "--no-dst")
    assert res.exit_code == 1
    assert "TURN_COUNT_MISMATCH" in res.stderr and "STATE_INVALID" in res.stderr
    assert "5 dialogues, " in res.stdout


def test_cli_refuses_to_overwrite_input(mwz: Path, tmp_path: Path, run_cli) -> None:
    pred = tmp_path / "pred.json"
    shutil.copy(mwz / "inputs" / "input_gt_bracketed_no_state.json", pred)
    res = run_cli("score", "multiwoz", pred, "--data", mwz / "mwzeval-data", "--out", pred)
    assert res.exit_code == 1 and "refusing to overwrite" in res.stderr
    assert json.loads(pred.read_text())  # untouched


def test_score_cli_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, dialogkit.cli.score_multiwoz, dialogkit.cli.score_sgd, dialogkit.score.multiwoz, "
            "dialogkit.score.sgd; print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
