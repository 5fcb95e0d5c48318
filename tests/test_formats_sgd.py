"""SGD import: real train/dev files (unseen services), a synthetic service, and bad input."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import pytest

from dialogkit.convert import convert_file

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / "dialog.schema.json").read_text()))


@functools.lru_cache(maxsize=None)
def _tool_validator(schema_json: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_json)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _frames(state: dict) -> dict[str, dict]:
    """All frames of a dialogkit DialogState dict, keyed by service."""
    top = {k: v for k, v in state.items() if k not in ("domain", "frames")}
    return {state["domain"]: top, **state.get("frames", {})}


def check_against_source(src_dialogues: list[dict], records: list[dict], schema_check: int = 10**9) -> None:
    """The converted records say exactly what the SGD dialogues say.

    ``schema_check``: how many records to check against the JSON Schema (jsonschema is slow
    on long dialogs; convert already validated every record with the pydantic models).
    """
    assert len(records) == len(src_dialogues)
    for n, (d, rec) in enumerate(zip(src_dialogues, records)):
        assert rec["id"] == d["dialogue_id"]
        if n < schema_check:
            assert list(VALIDATOR.iter_errors(rec)) == []
        msgs = rec["messages"]
        assert [m["content"] for m in msgs if m["role"] in ("user", "assistant") and m.get("content")] == [
            t["utterance"] for t in d["turns"]]
        service_calls = [f for t in d["turns"] for f in t["frames"] if "service_call" in f]
        calls = [c for m in msgs if m["role"] == "assistant" for c in m.get("tool_calls", [])]
        results = [m for m in msgs if m["role"] == "tool"]
        # one tool call and one tool result per service call, in order, linked by id
        assert [(c["name"], c["arguments"]) for c in calls] == [
            (f["service_call"]["method"], f["service_call"]["parameters"]) for f in service_calls]
        assert [r["content"] for r in results] == [f["service_results"] for f in service_calls]
        assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
        tools = {t["function"]["name"]: t["function"]["parameters"] for t in rec["tools"]}
        for c in calls:
            _tool_validator(json.dumps(tools[c["name"]], sort_keys=True)).validate(c["arguments"])
        # the state of every user frame is on the assistant message that follows the user turn
        user_idx = [i for i, m in enumerate(msgs) if m["role"] == "user"]
        user_turns = [t for t in d["turns"] if t["speaker"] == "USER"]
        assert len(user_idx) == len(user_turns)
        for i, turn in zip(user_idx, user_turns):
            assert msgs[i + 1]["role"] == "assistant"
            got = _frames(msgs[i + 1]["state"])
            for frame in turn["frames"]:
                want = frame["state"]
                g = got[frame["service"]]
                assert g.get("slots", {}) == want["slot_values"]
                assert g.get("requested_slots", []) == want["requested_slots"]
                assert g.get("active_intent", "NONE") == want["active_intent"]
            assert msgs[i]["acts"] == [
                {"act": a["act"], **({"slot": a["slot"]} if a["slot"] else {}), **({"values": a["values"]}
                 if a["values"] else {}), "canonical_values": a["canonical_values"], "domain": f["service"]}
                for f in turn["frames"] for a in f["actions"]]
        assert sum(1 for m in msgs if "state" in m) == len(user_turns)


def _convert(tmp_path: Path, inp: Path, **options) -> tuple[object, list[dict]]:
    out = tmp_path / "out.jsonl"
    report = convert_file(inp, out, "sgd", "dialogkit", **options)
    return report, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("split", ["train", "dev"])
def test_real_sgd_file(shared_dir: Path, tmp_path: Path, split: str) -> None:
    src = shared_dir / "data" / "sgd" / split / "dialogues_001.json"
    report, records = _convert(tmp_path, src)
    assert (report.read, report.written, report.rejected) == (128, 128, 0)
    check_against_source(json.loads(src.read_text()), records, schema_check=128 if split == "train" else 16)
    assert records[0]["metadata"]["split"] == split
    assert records[0]["metadata"]["provenance"] == {"file": f"{split}/dialogues_001.json",
                                                    "dialogue_id": records[0]["id"]}


def test_dev_has_unseen_services_and_they_become_tools(shared_dir: Path, tmp_path: Path) -> None:
    sgd = shared_dir / "data" / "sgd"
    seen = {s["service_name"] for s in json.loads((sgd / "train" / "schema.json").read_text())}
    _, records = _convert(tmp_path, sgd / "dev")  # a split folder
    unseen = {s for r in records for s in r["metadata"]["domain"] if s not in seen}
    assert unseen, "dev should hold services never seen in train"
    dev_schema = {s["service_name"]: s for s in json.loads((sgd / "dev" / "schema.json").read_text())}
    for r in records:
        names = {t["function"]["name"] for t in r["tools"]}
        assert names == {i["name"] for s in r["metadata"]["domain"] for i in dev_schema[s]["intents"]}


def test_tool_schema_from_service(shared_dir: Path, tmp_path: Path) -> None:
    _, records = _convert(tmp_path, shared_dir / "data" / "sgd" / "train" / "dialogues_001.json")
    tool = next(t["function"] for r in records for t in r["tools"] if t["function"]["name"] == "ReserveRestaurant")
    params = tool["parameters"]
    assert params["required"] == ["restaurant_name", "city", "time"]
    assert params["properties"]["party_size"]["default"] == "2"
    assert "enum" in params["properties"]["party_size"]
    assert params["additionalProperties"] is False


SPACE_SCHEMA = [{
    "service_name": "Spaceports_1",
    "description": "Book seats on shuttles to orbit",
    "slots": [
        {"name": "destination", "description": "Orbital station", "is_categorical": True,
         "possible_values": ["Luna Gateway", "Tiangong"]},
        {"name": "seats", "description": "Number of seats", "is_categorical": True,
         "possible_values": ["1", "2", "3"]},
        {"name": "window_seat", "description": "Whether a window seat is wanted", "is_categorical": True,
         "possible_values": ["True", "False"]},
        {"name": "shuttle_name", "description": "Name of the shuttle", "is_categorical": False,
         "possible_values": []},
    ],
    "intents": [
        {"name": "FindShuttles", "description": "Find shuttles to a station", "is_transactional": False,
         "required_slots": ["destination"], "optional_slots": {"window_seat": "dontcare"},
         "result_slots": ["destination", "shuttle_name"]},
        {"name": "BookShuttle", "description": "Book seats on a shuttle", "is_transactional": True,
         "required_slots": ["shuttle_name", "seats"], "optional_slots": {}, "result_slots": ["shuttle_name"]},
    ],
}]


def _frame(actions: list, state: dict | None = None, **extra) -> dict:
    f = {"service": "Spaceports_1", "slots": [], "actions": actions, **extra}
    if state is not None:
        f["state"] = state
    return f


SPACE_DIALOGUE = {
    "dialogue_id": "99_00001",
    "services": ["Spaceports_1"],
    "turns": [
        {"speaker": "USER", "utterance": "I need a shuttle to Tiangong.", "frames": [_frame(
            [{"act": "INFORM_INTENT", "slot": "intent", "values": ["FindShuttles"], "canonical_values": ["FindShuttles"]},
             {"act": "INFORM", "slot": "destination", "values": ["Tiangong"], "canonical_values": ["Tiangong"]}],
            {"active_intent": "FindShuttles", "requested_slots": [], "slot_values": {"destination": ["Tiangong"]}})]},
        {"speaker": "SYSTEM", "utterance": "The Shenzhou 30 leaves tomorrow.", "frames": [_frame(
            [{"act": "OFFER", "slot": "shuttle_name", "values": ["Shenzhou 30"], "canonical_values": ["Shenzhou 30"]}],
            service_call={"method": "FindShuttles", "parameters": {"destination": "Tiangong", "window_seat": "dontcare"}},
            service_results=[{"destination": "Tiangong", "shuttle_name": "Shenzhou 30"}])]},
        {"speaker": "USER", "utterance": "Book 2 seats.", "frames": [_frame(
            [{"act": "INFORM_INTENT", "slot": "intent", "values": ["BookShuttle"], "canonical_values": ["BookShuttle"]},
             {"act": "INFORM", "slot": "seats", "values": ["2"], "canonical_values": ["2"]}],
            {"active_intent": "BookShuttle", "requested_slots": [],
             "slot_values": {"destination": ["Tiangong"], "seats": ["2", "two"], "shuttle_name": ["Shenzhou 30"]}})]},
        {"speaker": "SYSTEM", "utterance": "Booked.", "frames": [_frame(
            [{"act": "NOTIFY_SUCCESS", "slot": "", "values": [], "canonical_values": []}],
            service_call={"method": "BookShuttle", "parameters": {"shuttle_name": "Shenzhou 30", "seats": "2"}},
            service_results=[{"shuttle_name": "Shenzhou 30"}])]},
    ],
}


def write_space(folder: Path, dialogues: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text(json.dumps(SPACE_SCHEMA))
    path = folder / "dialogues_001.json"
    path.write_text(json.dumps(dialogues, indent=2))
    return path


def test_made_up_service(tmp_path: Path) -> None:
    src = write_space(tmp_path / "test", [SPACE_DIALOGUE])
    report, records = _convert(tmp_path, src)
    assert report.rejected == 0
    check_against_source([SPACE_DIALOGUE], records)
    rec = records[0]
    assert [m["role"] for m in rec["messages"]] == [
        "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]
    call_msg = rec["messages"][1]
    assert call_msg["tool_calls"][0]["id"] == "call_1_0" and "content" not in call_msg  # "" is the default
    assert call_msg["state"] == {"domain": "Spaceports_1", "active_intent": "FindShuttles",
                                 "slots": {"destination": ["Tiangong"]}}
    assert "state" not in rec["messages"][3] and rec["messages"][3]["acts"][0]["act"] == "OFFER"
    assert rec["messages"][5]["state"]["slots"]["seats"] == ["2", "two"]  # every acceptable value kept
    enum = next(t for t in rec["tools"] if t["function"]["name"] == "FindShuttles")["function"]["parameters"]
    assert enum["properties"]["window_seat"]["enum"] == ["True", "False", "dontcare"]
    assert rec["goal"] == {"intents": ["FindShuttles", "BookShuttle"],
                           "constraints": {"destination": ["Tiangong"], "seats": ["2", "two"],
                                           "shuttle_name": ["Shenzhou 30"]},
                           "domains": {"Spaceports_1": {"intents": ["FindShuttles", "BookShuttle"], "constraints": {
                               "destination": ["Tiangong"], "seats": ["2", "two"], "shuttle_name": ["Shenzhou 30"]}}}}
    assert rec["metadata"]["split"] == "test"


def test_bad_dialogues_are_rejected_with_location_and_good_ones_kept(tmp_path: Path, run_cli) -> None:
    unknown_service = json.loads(json.dumps(SPACE_DIALOGUE) .replace("Spaceports_1", "Teleport_9"))
    unknown_service["dialogue_id"] = "99_00002"
    bad_method = json.loads(json.dumps(SPACE_DIALOGUE))
    bad_method["dialogue_id"] = "99_00003"
    bad_method["turns"][1]["frames"][0]["service_call"]["method"] = "Teleport"
    bad_speaker = json.loads(json.dumps(SPACE_DIALOGUE))
    bad_speaker["dialogue_id"] = "99_00004"
    bad_speaker["turns"][2]["speaker"] = "ROBOT"
    src = write_space(tmp_path / "train", [SPACE_DIALOGUE, unknown_service, bad_method, bad_speaker])
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    res = run_cli("convert", "--from", "sgd", "--to", "dialogkit", src, out, "--rejects", rejects)
    assert res.exit_code == 1
    lines = res.stderr.splitlines()
    assert any("record 99_00002: services[0]: service 'Teleport_9' is not in schema.json (SCHEMA_SERVICE_UNKNOWN)"
               in x for x in lines)
    assert any("record 99_00003: turns[1].frames[0].service_call.method" in x and "(SCHEMA_METHOD_UNKNOWN)" in x
               for x in lines)
    assert any("record 99_00004: turns[2].speaker: unknown speaker 'ROBOT'" in x and "(ROLE_UNKNOWN)" in x
               for x in lines)
    # each issue points at the line where the dialogue starts in the JSON array
    text = src.read_text().splitlines()
    line_of_3 = next(i for i, x in enumerate(text, 1) if '"99_00003"' in x) - 1
    assert f"{src}:{line_of_3}: record 99_00003" in res.stderr
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["99_00001"]
    assert len(rejects.read_text().splitlines()) == 3


def test_missing_schema_is_an_input_error(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "dialogues_001.json"
    path.write_text(json.dumps([SPACE_DIALOGUE]))
    res = run_cli("convert", "--from", "sgd", "--to", "dialogkit", path, tmp_path / "o.jsonl")
    assert res.exit_code == 1
    assert "no schema.json" in res.stderr and "--schema" in res.stderr
    other = tmp_path / "elsewhere" / "my_schema.json"
    other.parent.mkdir()
    other.write_text(json.dumps(SPACE_SCHEMA))
    res = run_cli("convert", "--from", "sgd", "--to", "dialogkit", path, tmp_path / "o.jsonl", "--schema", other)
    assert res.exit_code == 0, res.output


def test_sgd_is_import_only(tmp_path: Path, run_cli) -> None:
    src = tmp_path / "d.jsonl"
    src.write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\n')
    res = run_cli("convert", "--from", "dialogkit", "--to", "sgd", src, tmp_path / "o.json")
    assert res.exit_code == 2
    assert "import-only" in res.output
