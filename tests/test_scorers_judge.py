"""The LLM judge against a tiny local OpenAI-compatible server (no network): scores, cache, failures."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dialogkit.schema import Dialog
from dialogkit.score.judge import JudgeScorer, parse_score

pytest.importorskip("openai")


class _Handler(BaseHTTPRequestHandler):
    replies: list[str] = []
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        content = type(self).replies.pop(0) if type(self).replies else "Score: 3"
        if content == "HTTP500":
            self.send_response(500)
            self.end_headers()
            return
        payload = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
            ],
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    _Handler.replies, _Handler.requests = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", _Handler
    httpd.shutdown()
    httpd.server_close()


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
