"""The LLM judge against a tiny local OpenAI-compatible server (no network): scores, cache, failures."""

from __future__ import annotations

import json

import pytest

from dialogkit.schema import Dialog
from dialogkit.score.judge import JudgeScorer, parse_score

pytest.importorskip("openai")


class _Judge:
    """Canned judge replies, in order ("HTTP500" fails the request), then "Score: 3"."""

    def __init__(self):
        self.replies: list[str] = []
        self.requests: list[dict] = []

    def __call__(self, body):
        content = self.replies.pop(0) if self.replies else "Score: 3"
        return 500 if content == "HTTP500" else [{"role": "assistant", "content": content}]


@pytest.fixture()
def server():
    from fakes import CannedOpenAI

    judge = _Judge()
    with CannedOpenAI(judge) as srv:
        judge.requests = srv.requests
        yield srv.url, judge


def _pair(text="Your table is booked."):
    msgs = [{"role": "user", "content": "Book a table for two."}, {"role": "assistant", "content": text}]
    ref = Dialog.model_validate({"id": "d1", "messages": msgs, "goal": {"intents": ["book"]}})
    return Dialog.model_validate({"id": "d1", "messages": msgs}), ref


def test_judge_scores_and_caches(server, tmp_path):
    url, handler = server
    handler.replies = ["The booking was made politely.\nScore: 4"]
    judge = JudgeScorer(model="fake-judge", base_url=url, cache_dir=str(tmp_path / "cache"))
    pred, ref = _pair()
    [item] = judge.score(pred, ref)
    assert item.stats["user_satisfaction"] == [4.0, 1.0]
    sent = handler.requests[0]
    assert sent["model"] == "fake-judge" and sent["temperature"] == 0.0
    assert "Book a table for two." in sent["messages"][1]["content"]
    assert '"intents":["book"]' in sent["messages"][1]["content"]
    # Same request again: answered from the cache, the server is not asked.
    again = JudgeScorer(model="fake-judge", base_url=url, cache_dir=str(tmp_path / "cache"))
    assert again.score(pred, ref)[0].stats["user_satisfaction"] == [4.0, 1.0]
    assert len(handler.requests) == 1
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1


def test_judge_failures_leave_the_dialog_unscored(server, tmp_path):
    url, handler = server
    handler.replies = ["I cannot decide.", "HTTP500"]
    judge = JudgeScorer(model="m", base_url=url, cache_dir=str(tmp_path), max_retries=0)
    [unparsable] = judge.score(*_pair("a"))
    assert unparsable.stats == {} and "no score" in unparsable.info["judge_error"]
    [failed] = judge.score(*_pair("b"))
    assert failed.stats == {} and "judge_error" in failed.info
    assert judge.summarize([unparsable, failed])["judge"]["errors"] == 2
    [missing] = judge.score(None, _pair()[1])
    assert missing.stats["user_satisfaction"] == [1.0, 1.0]


def test_parse_score():
    assert parse_score("Reasoning...\nScore: 5") == 5
    assert parse_score("**Score:** 2") == 2
    assert parse_score("3") == 3
    assert parse_score("Score: 7") is None


def test_judge_through_cli(server, tmp_path, run_cli):
    url, handler = server
    handler.replies = ["Score: 5"]
    pred, ref = _pair()
    (tmp_path / "p.jsonl").write_text(pred.model_dump_json() + "\n")
    (tmp_path / "r.jsonl").write_text(ref.model_dump_json() + "\n")
    out = tmp_path / "report.json"
    res = run_cli(
        "score",
        "dialogs",
        "--pred",
        tmp_path / "p.jsonl",
        "--ref",
        tmp_path / "r.jsonl",
        "--out",
        out,
        "--judge-model",
        "fake",
        "--judge-base-url",
        url,
        "--judge-cache",
        tmp_path / "cache",
    )
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["metrics"]["user_satisfaction"]["value"] == 5.0
    assert report["metrics"]["user_satisfaction"]["scale"] == "score"
