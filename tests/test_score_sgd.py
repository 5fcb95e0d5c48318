"""``dialogkit score sgd``: the official SGD DST metrics on the shared dev dialogues.

Expected numbers are worked out by hand from the official definitions (schema_guided_dst
metrics.py / evaluate.py); the two fuzzy scores used (92, 77) are fuzzywuzzy 0.18.0's
``token_sort_ratio`` on these strings.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from dialogkit.score.sgd import ALL, SEEN, UNSEEN, score_sgd, token_sort_ratio


@pytest.fixture(scope="module")
def sgd(shared_dir: Path) -> Path:
    return shared_dir / "data" / "sgd"


def _dialogs(sgd: Path) -> list[dict]:
    return json.loads((sgd / "dev" / "dialogues_001.json").read_text())


def _write(folder: Path, dialogs: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dialogues_001.json").write_text(json.dumps(dialogs))
    return folder


def _perturbed(sgd: Path) -> dict:
    """Dialogue 1_00000 (Restaurants_2, 6 user frames) with one error per user turn."""
    d = copy.deepcopy(_dialogs(sgd)[0])
    state = lambda i: d["turns"][i]["frames"][0]["state"]  # noqa: E731
    state(0)["slot_values"]["time"] = ["half past 11 in morning"]       # fuzzy 0.92
    state(2)["active_intent"] = "NONE"                                   # intent wrong
    del state(2)["slot_values"]["location"]                              # active slot missed
    state(4)["requested_slots"] = []                                      # P 1, R 0 -> F1 0
    state(4)["slot_values"]["time"] = ["11:30"]                           # best variant "11:30 am": 0.77
    state(6)["requested_slots"] = ["address"]                             # P 1, R 0.5 -> F1 2/3
    state(8)["slot_values"]["price_range"] = ["moderate"]                 # categorical slot not in ref
    return d


def test_token_sort_ratio_is_fuzzywuzzys() -> None:
    assert token_sort_ratio("half past 11 in the morning", "half past 11 in morning") == 92
    assert token_sort_ratio("11:30 am", "11:30") == 77
    assert token_sort_ratio("New York", "york new") == 100
    assert token_sort_ratio("Café", "Caf") == 100  # force_ascii drops U+0080..U+00FF
    assert token_sort_ratio("", "x") == 0 and token_sort_ratio(None, "x") == 0


def test_gold_against_itself_is_perfect(sgd: Path, tmp_path: Path) -> None:
    r = score_sgd(sgd / "dev", sgd / "dev")
    assert r["counts"] == {"dialogs": 128, "frames": 825, "rejected": 0}
    for key in (ALL, SEEN, UNSEEN):
        assert r["headline"][key] == {"active_intent_accuracy": 1.0, "requested_slots_f1": 1.0,
                                      "average_goal_accuracy": 1.0, "joint_goal_accuracy": 1.0}
    # Collections as the official script makes them: all/seen/unseen, each service, each domain.
    assert set(r["metrics"]) == {ALL, SEEN, UNSEEN, "Flights_3", "Flights", "Restaurants_2", "Restaurants",
                                 "RideSharing_1", "RideSharing"}
    assert all(v == 1.0 for m in r["metrics"].values() for v in m.values())
    assert r["notes"] == []  # the train schema was found next to dev/


def test_perturbed_numbers(sgd: Path, tmp_path: Path) -> None:
    pred = _write(tmp_path / "pred", [_perturbed(sgd)])
    r = score_sgd(sgd / "dev", pred)
    m = r["metrics"]["Restaurants_2"]
    assert r["counts"]["frames"] == 6
    assert m["active_intent_accuracy"] == pytest.approx(5 / 6)
    assert m["requested_slots_f1"] == pytest.approx((4 + 2 / 3) / 6)
    assert m["average_goal_accuracy"] == pytest.approx((0.96 + 0.75 + 0.954 + 1 + 1 + 1) / 6)
    assert m["joint_goal_accuracy"] == pytest.approx((0.92 + 0 + 0.77 + 1 + 0 + 1) / 6)  # fuzzy credit in JGA
    assert m["joint_cat_accuracy"] == pytest.approx(5 / 6)
    assert m["joint_noncat_accuracy"] == pytest.approx((0.92 + 0 + 0.77 + 1 + 1 + 1) / 6)
    assert m["slot_tagging_f1"] == 1.0
    # One service only: ALL and its seen/unseen group equal it; the domain too.
    assert r["metrics"][ALL] == m == r["metrics"]["Restaurants"]
    group = SEEN if "Restaurants_2" in r["seen_services"] else UNSEEN
    assert r["metrics"][group] == m and set(r["headline"]) == {ALL, group}


def test_exact_matching_and_across_turn(sgd: Path, tmp_path: Path) -> None:
    pred = _write(tmp_path / "pred", [_perturbed(sgd)])
    r = score_sgd(sgd / "dev", pred, fuzzy=False)
    assert r["metrics"][ALL]["joint_goal_accuracy"] == pytest.approx(2 / 6)
    r = score_sgd(sgd / "dev", pred, joint_across_turn=True)  # one frame per turn: same numbers
    assert r["metrics"][ALL]["joint_goal_accuracy"] == pytest.approx((0.92 + 0.77 + 2) / 6)


def test_without_train_schema_everything_is_unseen(sgd: Path, tmp_path: Path) -> None:
    ref = tmp_path / "split" / "dev"
    shutil.copytree(sgd / "dev", ref)
    r = score_sgd(ref, ref)
    assert SEEN not in r["metrics"] and r["headline"][UNSEEN]["joint_goal_accuracy"] == 1.0
    assert "unseen" in r["notes"][0]
    r = score_sgd(ref, ref, train_schema=sgd / "train" / "schema.json")
    assert SEEN in r["metrics"] and r["notes"] == []


def test_cli_report_and_bad_dialogs(sgd: Path, tmp_path: Path, run_cli) -> None:
    dialogs = _dialogs(sgd)[:3]
    dialogs[1]["turns"][0]["utterance"] = "something else"
    dialogs[2]["dialogue_id"] = "9_99999"
    pred, out = _write(tmp_path / "pred", dialogs), tmp_path / "report.json"
    res = run_cli("score", "sgd", "--ref", sgd / "dev", "--pred", pred, "--out", out)
    assert res.exit_code == 1, res.output
    assert "UTTERANCE_MISMATCH" in res.stderr and "dialog 9_99999: [3]: not in the reference dialogues" in res.stderr
    report = json.loads(out.read_text())
    assert report["rejected"] == [dialogs[1]["dialogue_id"], "9_99999"]
    assert report["counts"]["dialogs"] == 1 and report["headline"][ALL]["joint_goal_accuracy"] == 1.0
    assert "Joint goal acc" in res.stdout


def test_cli_missing_schema(sgd: Path, tmp_path: Path, run_cli) -> None:
    ref = _write(tmp_path / "ref", _dialogs(sgd)[:1])
    res = run_cli("score", "sgd", "--ref", ref, "--pred", ref)
    assert res.exit_code == 1 and "schema.json: no such file" in res.stderr and "Traceback" not in res.output


def test_cli_bad_state_is_located(sgd: Path, tmp_path: Path, run_cli) -> None:
    d = _dialogs(sgd)[:2]
    d[0]["turns"][0]["frames"][0]["state"]["slot_values"]["time"] = "11:30"  # not a list
    res = run_cli("score", "sgd", "--ref", sgd / "dev", "--pred", _write(tmp_path / "pred", d))
    assert res.exit_code == 1 and "STATE_INVALID" in res.stderr and "slot_values" in res.stderr
    assert "1 dialogues" in res.stdout
