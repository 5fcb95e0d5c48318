"""`score dialogs --model`: turn-level generation from the gold history, then the real scorers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialogkit.generate.base import ChatRequest, GenerationConfig
from dialogkit.generate.predict import PredictReport, assistant_record, predict_dialogs, turn_requests
from dialogkit.generate.state_text import format_state, parse_state, state_in_reasoning
from dialogkit.io import write_jsonl
from dialogkit.records import parse_dialog
from dialogkit.schema import AssistantMessage, dump


def _synth(tmp_path: Path, n: int = 6, seed: int = 3, scenario: str = "en_restaurant_hotel") -> Path:
    from dialogkit.synth import SynthJob, run

    out = tmp_path / f"{scenario}.jsonl"
    run(SynthJob(mode="outline", out=out, seed=seed, n=n, scenario=scenario, inputs=[], lang=None, options={}))
    return out


def _dialogs(path: Path):
    return [parse_dialog(json.loads(line)) for line in path.read_text().splitlines()]


class Oracle:
    """Answers every request with the reference's own next assistant message."""

    name = "oracle"

    def __init__(self, refs, corrupt=None):
        self.answers = {}
        for ref in refs:
            for i, req in turn_requests(ref):
                self.answers[self._key(req)] = ref.messages[i]
        self.corrupt = corrupt
        self.calls = 0

    @staticmethod
    def _key(req: ChatRequest) -> str:
        return json.dumps([dump(m) for m in req.messages], sort_keys=True)

    def generate(self, requests, config):
        self.calls += 1
        out = []
        for r in requests:
            msg = self.answers[self._key(r)]
            out.append([self.corrupt(msg) if self.corrupt else msg])
        return out


def _score(tmp_path: Path, preds, ref_path: Path) -> dict:
    from dialogkit.score.runner import dialogs_report
    from dialogkit.score.suite import load_suite

    pred_path = tmp_path / "pred.jsonl"
    write_jsonl(pred_path, preds)
    report, run = dialogs_report(load_suite("default"), pred_path, ref_path)
    assert not run.issues, [i.format() for i in run.issues]
    return {k: m["value"] for k, m in report["metrics"].items()}


def test_oracle_predictions_succeed_and_replay_the_database(tmp_path):
    ref_path = _synth(tmp_path)
    refs = _dialogs(ref_path)
    backend = Oracle(refs)
    rep = PredictReport()
    preds = predict_dialogs(refs, backend, GenerationConfig(batch_size=4), report=rep)
    assert rep.turns == sum(len(turn_requests(r)) for r in refs)
    assert backend.calls == -(-rep.turns // 4)  # batched
    assert rep.replayed == len(refs)
    for ref, pred in zip(refs, preds):
        assert pred["id"] == ref.id
        # Gold history kept; the replayed database equals what the reference's calls did.
        assert [m["role"] for m in pred["messages"]] == [m.role for m in ref.messages]
        assert pred["metadata"]["final_db"] == ref.metadata.model_extra["final_db"]
    values = _score(tmp_path, preds, ref_path)
    assert values["task_success"] == 1.0
    assert values["db_match_rate"] == 1.0
    assert values["tool_call_accuracy"] == 1.0


def test_wrong_arguments_fail_the_task_and_change_the_database(tmp_path):
    ref_path = _synth(tmp_path)
    refs = _dialogs(ref_path)

    def wrong_people(msg):
        if msg.role != "assistant" or not msg.tool_calls:
            return msg
        calls = [c.model_copy(update={"arguments": {**c.arguments, "people": 7}}) if "people" in c.arguments else c
                 for c in msg.tool_calls]
        return msg.model_copy(update={"tool_calls": calls})

    preds = predict_dialogs(refs, Oracle(refs, wrong_people), GenerationConfig())
    booked = [r for r in refs if any(c.name.startswith("book") for m in r.messages if m.role == "assistant"
                                     for c in m.tool_calls)]
    assert booked, "the sample needs a booking dialog"
    values = _score(tmp_path, preds, ref_path)
    assert values["task_success"] < 1.0
    by_id = {p["id"]: p for p in preds}
    for ref in booked:
        assert by_id[ref.id]["metadata"]["final_db"] != ref.metadata.model_extra["final_db"]


def test_broken_tool_call_json_is_counted_not_lost(tmp_path):
    msg = AssistantMessage(role="assistant", content='<tool_call>\n{"name": "search_restaurants", '
                                                     '"arguments": {"food": "thai",}}\n</tool_call>')
    rec, broken = assistant_record(msg, "p")
    assert broken == 1 and rec["content"] == ""
    assert rec["tool_calls"][0]["name"] == "search_restaurants"
    assert isinstance(rec["tool_calls"][0]["arguments"], str)

    ref_path = _synth(tmp_path, n=4)
    refs = _dialogs(ref_path)

    def breaker(m):
        if m.role == "assistant" and m.tool_calls:
            c = m.tool_calls[0]
            return AssistantMessage(role="assistant", content=f'<tool_call>{{"name": "{c.name}", "arguments": {{</tool_call>')
        return m

    rep = PredictReport()
    preds = predict_dialogs(refs, Oracle(refs, breaker), GenerationConfig(), report=rep)
    assert rep.unparsed_calls > 0
    values = _score(tmp_path, preds, ref_path)
    assert values["json_parse_rate"] < 1.0
    assert values["tool_name_accuracy"] == 1.0  # the names still count


def test_state_text_round_trip_and_reasoning():
    state = {"domain": "restaurant", "active_intent": "book_restaurant",
             "slots": {"food": "thai", "people": 4, "time": "19:30", "area": ["centre", "center"]},
             "requested_slots": ["phone"], "frames": {"hotel": {"active_intent": "find_hotel", "slots": {"stars": 4}}}}
    text = format_state(state)
    got = parse_state(text)
    assert got.domain == "restaurant" and got.active_intent == "book_restaurant"
    assert got.slots["people"] == 4 and got.slots["time"] == "19:30" and got.requested_slots == ["phone"]
    assert got.frames["hotel"].slots == {"stars": 4}
    assert parse_state("I think so") is None and parse_state(None) is None
    rec = {"id": "x", "messages": [{"role": "user", "content": "hi"},
                                   {"role": "assistant", "content": "ok", "state": state}]}
    assert state_in_reasoning(rec)["messages"][1]["reasoning"] == text
    assert "reasoning" not in rec["messages"][1]  # a copy, the input is untouched


def test_cli_generates_with_a_local_model_and_scores(run_cli, tmp_path):
    ref_path = _synth(tmp_path, n=3, scenario="support")
    res = run_cli("model", "init-tiny", "--data", ref_path, "--out", tmp_path / "tiny", "--hidden-size", 16,
                  "--layers", 1, "--heads", 2, "--kv-heads", 1, "--intermediate-size", 32, "--vocab-size", 400)
    assert res.exit_code == 0, res.output
    out = tmp_path / "r.json"
    res = run_cli("score", "dialogs", "--model", tmp_path / "tiny", "--ref", ref_path, "--out", out,
                  "--max-new-tokens", 6, "--batch-size", 16, "--suite", "tool_calling")
    assert res.exit_code == 0, res.output
    pred = tmp_path / "r.pred.jsonl"
    assert pred.is_file() and "wrote " + str(pred) in res.output
    report = json.loads(out.read_text())
    assert report["inputs"]["pred"] == str(pred) and report["inputs"]["predictions"] == 3
    assert report["missing"] == []
    preds = [json.loads(line) for line in pred.read_text().splitlines()]
    refs = _dialogs(ref_path)
    for p, r in zip(preds, refs):
        assert len(p["messages"]) == len(r.messages)
        for pm, rm in zip(p["messages"], r.messages):
            if rm.role != "assistant":
                assert pm == dump(rm)  # the gold history is kept as is


def test_cli_option_errors(run_cli, tmp_path):
    ref = _synth(tmp_path, n=2)
    res = run_cli("score", "dialogs", "--model", "x", "--pred", ref, "--ref", ref, "--out", tmp_path / "r.json")
    assert res.exit_code == 2 and "not both" in res.output
    res = run_cli("score", "dialogs", "--ref", ref, "--out", tmp_path / "r.json")
    assert res.exit_code == 2 and "--model" in res.output
    res = run_cli("score", "dialogs", "--model", str(tmp_path / "nope"), "--ref", ref, "--out", tmp_path / "r.json")
    assert res.exit_code == 2 and "no such model folder" in res.output


def test_endpoint_down_is_an_error_not_a_traceback(run_cli, tmp_path, monkeypatch):
    pytest.importorskip("openai")
    ref = _synth(tmp_path, n=1)
    res = run_cli("score", "dialogs", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1",
                  "--ref", ref, "--out", tmp_path / "r.json", "--max-new-tokens", 4)
    assert res.exit_code == 1
    assert "generation with openai failed" in res.output
