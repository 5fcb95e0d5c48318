"""MultiWOZ 2.2 import on a faithful fixture (tests/assets/multiwoz22) and the real schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dialogkit.convert import convert_file
from dialogkit.records import parse_dialog

FIXTURE = Path(__file__).parent / "assets" / "multiwoz22"


def _read(tmp_path: Path, inp: Path, **options) -> list[dict]:
    out = tmp_path / "mw.jsonl"
    report = convert_file(inp, out, "multiwoz", "dialogkit", **options)
    assert report.rejected == 0, [i.format() for i in report.issues]
    return [json.loads(x) for x in out.read_text().splitlines()]


def test_state_acts_ids_and_tools(tmp_path: Path) -> None:
    sng, pmul = _read(tmp_path, FIXTURE / "train")  # split folder; schema + acts one folder up
    assert [sng["id"], pmul["id"]] == ["sng9001", "pmul9002"]  # mwzeval's keys
    for rec in (sng, pmul):
        parse_dialog(rec)
        assert rec["metadata"]["source"] == "multiwoz" and rec["metadata"]["split"] == "train"
    assert pmul["metadata"]["domain"] == ["restaurant", "taxi"]  # not the 8 services listed in every frame
    assert [t["function"]["name"] for t in pmul["tools"]] == ["find_restaurant", "book_restaurant", "book_taxi"]
    src = json.loads((FIXTURE / "train" / "dialogues_001.json").read_text())
    for d, rec in zip(src, (sng, pmul)):
        msgs = rec["messages"]
        assert [m["content"] for m in msgs] == [t["utterance"] for t in d["turns"]]
        for i, turn in enumerate(d["turns"]):
            if turn["speaker"] != "USER":
                continue
            state = msgs[i + 1]["state"]
            frames = {state["domain"]: state, **state.get("frames", {})}
            busy = [f for f in turn["frames"] if f["state"]["active_intent"] != "NONE"]
            assert set(frames) == {f["service"] for f in busy}  # empty frames left out
            for f in busy:
                assert frames[f["service"]]["slots"] == f["state"]["slot_values"]
                assert frames[f["service"]]["active_intent"] == f["state"]["active_intent"]
    # the service whose state changed is the top-level frame; the other one is kept in frames
    taxi_turn = pmul["messages"][3]["state"]
    assert taxi_turn["domain"] == "taxi" and "restaurant" in taxi_turn["frames"]
    assert taxi_turn["slots"]["taxi-destination"] == ["cambridge train station", "train station"]
    # acts from dialog_acts.json (SNG9001 only)
    assert sng["messages"][0]["acts"] == [
        {"act": "INFORM", "slot": "pricerange", "values": ["cheap"], "domain": "restaurant"},
        {"act": "INFORM", "slot": "area", "values": ["centre"], "domain": "restaurant"}]
    assert sng["messages"][5]["acts"] == [{"act": "BOOK", "slot": "ref", "values": ["9S4Z2JQB"], "domain": "booking"}]
    assert sng["messages"][6]["acts"] == [{"act": "THANK", "domain": "general"}]
    assert all("acts" not in m for m in pmul["messages"])  # not annotated: None, not []
    assert sng["goal"]["requests"] == ["restaurant-phone"]
    assert pmul["goal"]["intents"] == ["find_restaurant", "book_taxi"]


def test_file_input_and_explicit_paths(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(FIXTURE / "train" / "dialogues_001.json", folder / "dialogues_001.json")
    records = _read(tmp_path, folder / "dialogues_001.json", schema=FIXTURE / "schema.json",
                    dialog_acts=FIXTURE / "dialog_acts.json")
    assert len(records) == 2 and records[0]["messages"][0]["acts"]
    assert "split" not in records[0]["metadata"]


def test_real_multiwoz_schema(shared_dir: Path, tmp_path: Path) -> None:
    records = _read(tmp_path, FIXTURE / "train", schema=shared_dir / "data" / "multiwoz" / "schema.json")
    tool = next(t["function"] for t in records[0]["tools"] if t["function"]["name"] == "book_restaurant")
    assert set(tool["parameters"]["properties"]) >= {"restaurant-bookday", "restaurant-bookpeople"}


def test_dialog_acts_option_needs_multiwoz(tmp_path: Path, run_cli) -> None:
    res = run_cli("convert", "--from", "sgd", "--to", "dialogkit", FIXTURE / "train", tmp_path / "o.jsonl",
                  "--dialog-acts", FIXTURE / "dialog_acts.json")
    assert res.exit_code == 2 and "--dialog-acts does not apply" in res.output
