"""The OpenAI-compatible server through HTTP (FastAPI TestClient) with a fake backend."""

from __future__ import annotations

import json
import threading

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402
from serve_support import WEATHER_TOOL, FakeBackend, joined, sse_events  # noqa: E402

from dialogkit.schema import ToolMessage  # noqa: E402
from dialogkit.serve import Limits, ServedModel  # noqa: E402
from dialogkit.serve.app import Server, create_app  # noqa: E402
from dialogkit.serve.metrics import ServeMetrics  # noqa: E402
from dialogkit.serve.shadow import Shadow, summarize  # noqa: E402

KEY = "sk-test-123"
AUTH = {"Authorization": f"Bearer {KEY}"}
CALL_TEXT = '<tool_call>{"name": "get_weather", "arguments": {"city": "北京"}}</tool_call>'


def make_client(backend=None, **kw) -> tuple[TestClient, Server]:
    server = Server([ServedModel("m", backend or FakeBackend())], **kw)
    return TestClient(create_app(server), raise_server_exceptions=False), server


def chat(client, headers=AUTH, **body):
    body.setdefault("model", "m")
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return client.post("/v1/chat/completions", json=body, headers=headers)


# ------------------------------------------------------------------------------------ auth
def test_api_key_required_on_v1_but_not_on_probes():
    client, _ = make_client(api_key=KEY)
    no_key = chat(client, headers={})
    assert no_key.status_code == 401
    assert no_key.json()["error"]["code"] == "invalid_api_key"
    assert no_key.headers["www-authenticate"] == "Bearer"
    assert chat(client, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/v1/models").status_code == 401
    ok = chat(client)
    assert ok.status_code == 200
    assert client.get("/health").json() == {"status": "ok", "models": ["m"]}
    assert client.get("/metrics").status_code == 200


def test_models_endpoint_lists_served_model():
    client, _ = make_client(api_key=KEY)
    data = client.get("/v1/models", headers=AUTH).json()
    assert data["object"] == "list" and [m["id"] for m in data["data"]] == ["m"]
    assert client.get("/v1/models/m", headers=AUTH).json()["id"] == "m"
    assert client.get("/v1/models/nope", headers=AUTH).status_code == 404


# ------------------------------------------------------------------------------ answers
def test_plain_answer_has_openai_shape():
    client, _ = make_client(FakeBackend("Hello there!"))
    body = chat(client, temperature=0).json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello there!"}
    assert choice["finish_reason"] == "stop"
    u = body["usage"]
    assert u["completion_tokens"] > 0 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_tool_call_answer_and_tool_history_reach_the_backend():
    backend = FakeBackend(CALL_TEXT)
    client, _ = make_client(backend)
    history = [
        {"role": "system", "content": "You check the weather."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temp":21}'},
        {"role": "user", "content": "And 北京?"},
    ]
    res = chat(client, messages=history, tools=[WEATHER_TOOL])
    assert res.status_code == 200, res.text
    choice = res.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "北京"}
    (request,), config = backend.seen[0][0], backend.seen[0][1]
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "tool", "user"]
    tool_msg = request.messages[3]
    assert isinstance(tool_msg, ToolMessage) and tool_msg.name == "get_weather" and tool_msg.content == {"temp": 21}
    assert request.messages[2].tool_calls[0].arguments == {"city": "Paris"}
    assert [t.name for t in request.tools] == ["get_weather"]
    assert config.max_new_tokens == 256 and config.n == 1


def test_tool_choice_none_hides_tools_and_n_gives_choices():
    backend = FakeBackend("ok")
    client, _ = make_client(backend)
    res = chat(client, tools=[WEATHER_TOOL], tool_choice="none", n=3, max_tokens=7, stop=["zz"])
    assert res.status_code == 200
    assert len(res.json()["choices"]) == 3
    request, config = backend.seen[0][0][0], backend.seen[0][1]
    assert request.tools == [] and config.n == 3 and config.max_new_tokens == 7


def test_stop_string_cuts_content():
    client, _ = make_client(FakeBackend("one two STOP three"))
    body = chat(client, stop="STOP").json()
    assert body["choices"][0]["message"]["content"] == "one two"


def test_reasoning_is_returned_as_reasoning_content():
    client, _ = make_client(FakeBackend("<think>user wants hi</think>Hi!"))
    msg = chat(client).json()["choices"][0]["message"]
    assert msg["content"] == "Hi!" and msg["reasoning_content"] == "user wants hi"


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("body,code,param", [
    ({"model": "nope", "messages": [{"role": "user", "content": "x"}]}, "model_not_found", "model"),
    ({"model": "m", "messages": []}, "invalid_value", "messages"),
    ({"model": "m"}, "invalid_value", "messages"),
    ({"model": "m", "messages": [{"role": "bot", "content": "x"}]}, "ROLE_UNKNOWN", "messages[0]"),
    ({"model": "m", "messages": [{"role": "user"}]}, "FIELD_MISSING", "messages[0].content"),
    ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [
        {"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}]}, "TOOL_ARGS_NOT_JSON",
     "messages[0].tool_calls[0].arguments"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": "[{"}, "TOOLS_NOT_JSON", "tools"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 10**6}, "invalid_value",
     "max_tokens"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 7}, "invalid_value",
     "temperature"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}, "unsupported",
     "tool_choice"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": True}, "unsupported", "logprobs"),
])
def test_bad_requests_are_openai_400s(body, code, param):
    backend = FakeBackend()
    client, _ = make_client(backend)
    res = client.post("/v1/chat/completions", json=body)
    assert res.status_code == 400, res.text
    err = res.json()["error"]
    assert err["type"] == "invalid_request_error" and err["code"] == code and err["param"] == param
    assert err["message"] and "Traceback" not in res.text
    assert backend.seen == []


def test_invalid_json_and_non_object_bodies():
    client, _ = make_client()
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        res = client.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
        assert res.status_code == 400 and res.json()["error"]["code"] == "invalid_json"


def test_unknown_route_is_a_json_404():
    client, _ = make_client()
    res = client.get("/v1/nothing")
    assert res.status_code == 404 and "error" in res.json()


def test_backend_failure_is_a_500_without_internals():
    client, _ = make_client(FakeBackend(fail=True))
    res = chat(client)
    assert res.status_code == 500
    err = res.json()["error"]
    assert err["type"] == "server_error" and err["message"] == "generation failed: RuntimeError"
    assert "secret" not in res.text and "Traceback" not in res.text


# -------------------------------------------------------------------------------- streaming
def test_stream_chunks_match_the_whole_answer():
    text = "<think>plan</think>Sure, checking. " + CALL_TEXT
    client, _ = make_client(FakeBackend(text))
    whole = chat(client, tools=[WEATHER_TOOL]).json()["choices"][0]
    with client.stream("POST", "/v1/chat/completions", headers=AUTH, json={
            "model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER_TOOL],
            "stream": True, "stream_options": {"include_usage": True}}) as res:
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
        events = sse_events(res.read().decode())
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert joined(chunks, "content") == whole["message"]["content"] == "Sure, checking."
    assert joined(chunks, "reasoning_content") == "plan"
    calls = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert [(tc["index"], tc["function"]["name"], json.loads(tc["function"]["arguments"])) for tc in calls] == [
        (0, "get_weather", {"city": "北京"})]
    finals = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finals == ["tool_calls"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_stream_with_n_gives_each_choice():
    client, _ = make_client(FakeBackend("abc"))
    res = client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}],
                                                    "stream": True, "n": 2})
    chunks = sse_events(res.text)[:-1]
    assert joined(chunks, "content", 0) == "abc" and joined(chunks, "content", 1) == "abc"


# ---------------------------------------------------------------------------------- metrics
def test_metrics_count_requests_latency_and_tokens():
    client, server = make_client(FakeBackend("four words are here"), api_key=KEY)
    chat(client)
    chat(client)
    chat(client, headers={})
    text = client.get("/metrics").text
    assert 'dialogkit_requests_total{endpoint="/v1/chat/completions",model="m",status="200"} 2.0' in text
    assert 'dialogkit_requests_total{endpoint="/v1/chat/completions",model="",status="401"} 1.0' in text
    assert 'dialogkit_request_latency_seconds_count{endpoint="/v1/chat/completions",model="m"} 2.0' in text
    completion = server.metrics.value("dialogkit_completion_tokens_total", {"model": "m"})
    assert completion is not None and completion > 0
    assert server.metrics.value("dialogkit_prompt_tokens_total", {"model": "m"}) > 0
    assert server.metrics.value("dialogkit_requests_in_flight", {"model": "m"}) == 0


# ----------------------------------------------------------------------------- concurrency
def test_health_and_metrics_answer_while_a_model_is_busy():
    gate = threading.Event()
    backend = FakeBackend("done", gate=gate)
    client, server = make_client(backend)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", chat(client)))
    worker.start()
    try:
        assert backend.started.wait(10)
        assert client.get("/health").status_code == 200
        assert server.metrics.value("dialogkit_requests_in_flight", {"model": "m"}) == 1
        assert "dialogkit_requests_in_flight" in client.get("/metrics").text
    finally:
        gate.set()
        worker.join(10)
    assert result["r"].status_code == 200


# ------------------------------------------------------------------------------------ shadow
def test_shadow_logs_both_answers_with_scores(tmp_path):
    log = tmp_path / "shadow.jsonl"
    metrics = ServeMetrics()
    shadow = Shadow(ServedModel("cand", FakeBackend(CALL_TEXT)), log, metrics)
    client, _ = make_client(FakeBackend("It is sunny."), shadow=shadow, metrics=metrics)
    ref = {"content": None, "tool_calls": [{"id": "x", "type": "function",
                                            "function": {"name": "get_weather", "arguments": '{"city": "北京"}'}}]}
    assert chat(client, tools=[WEATHER_TOOL], reference=ref).status_code == 200
    assert chat(client, reference="It is sunny.").status_code == 200
    assert chat(client, reference={"role": "assistant", "tool_calls": "bad"}).status_code == 400
    shadow.close(wait=True)
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2
    first = rows[0]
    assert first["primary"]["model"] == "m" and first["primary"]["message"]["content"] == "It is sunny."
    assert first["shadow"]["model"] == "cand" and first["shadow"]["message"]["tool_calls"][0]["name"] == "get_weather"
    assert first["scores"]["agreement"]["tool_calls_match"] is False
    assert first["scores"]["shadow_vs_reference"]["tool_calls_match"] is True
    assert first["scores"]["primary_vs_reference"]["tool_calls_match"] is False
    assert rows[1]["scores"]["primary_vs_reference"]["content_chrf"] == 1.0
    assert metrics.value("dialogkit_shadow_requests_total", {"outcome": "ok"}) == 2
    summary = summarize(log)
    assert summary["requests"] == 2 and summary["shadow_errors"] == 0
    assert summary["shadow_vs_reference"]["n"] == 2 and summary["shadow_vs_reference"]["tool_calls_match"] == 0.5
    assert summary["primary_vs_reference"]["tool_calls_match"] == 0.5


def test_failing_shadow_never_hurts_the_primary(tmp_path):
    log = tmp_path / "s.jsonl"
    shadow = Shadow(ServedModel("cand", FakeBackend(fail=True)), log)
    client, _ = make_client(FakeBackend("fine"), shadow=shadow)
    assert chat(client).json()["choices"][0]["message"]["content"] == "fine"
    shadow.close(wait=True)
    row = json.loads(log.read_text())
    assert row["shadow"]["error"].startswith("RuntimeError")


def test_shadow_drops_past_its_queue_bound(tmp_path):
    gate = threading.Event()
    metrics = ServeMetrics()
    shadow = Shadow(ServedModel("cand", FakeBackend("x", gate=gate)), tmp_path / "s.jsonl", metrics, max_pending=1)
    client, _ = make_client(FakeBackend("fine"), shadow=shadow, metrics=metrics)
    for _ in range(3):
        assert chat(client).status_code == 200
    gate.set()
    shadow.close(wait=True)
    assert metrics.value("dialogkit_shadow_requests_total", {"outcome": "dropped"}) == 2
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 1


def test_limits_are_configurable():
    client, _ = make_client(limits=Limits(max_tokens=8, max_n=1))
    assert chat(client, max_tokens=9).status_code == 400
    assert chat(client, n=2).json()["error"]["param"] == "n"
    assert chat(client, max_completion_tokens=8).status_code == 200
