"""The server with a real tiny model (LoRA adapter run, as `train` writes it): in-process, on a real
uvicorn socket, through the CLI, and with the load test. Bounded: few requests, short timeouts."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("peft")

import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from serve_support import joined, sse_events  # noqa: E402
from train_support import booking_dialog, write_jsonl  # noqa: E402

from dialogkit.serve import ServedModel  # noqa: E402
from dialogkit.serve.app import Server, create_app  # noqa: E402

KEY = "sk-e2e"
AUTH = {"Authorization": f"Bearer {KEY}"}


@contextlib.contextmanager
def running(app):
    """``app`` on a real uvicorn socket at 127.0.0.1:<free port> in a thread; yields the base URL."""
    import uvicorn

    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not uv.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert uv.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{uv.config.port}"
    finally:
        uv.should_exit = True
        thread.join(15)
    assert not thread.is_alive()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    """ROOT/tiny (a full tiny model) and ROOT/sft-a (a LoRA adapter run on it, promoted)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dialogkit.lifecycle import ModelRegistry
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    root = tmp_path_factory.mktemp("runs")
    data = write_jsonl(root.parent / "d.jsonl", [booking_dialog(i) for i in range(8)])
    init_tiny_from_data(str(data), root / "tiny", TinyConfig(), vocab_size=600)
    run = root / "sft-a"
    (run / "final").mkdir(parents=True)
    (run / "config.yaml").write_text(f"method: sft\nmodel: {root / 'tiny'}\ndata: {data}\n")
    model = AutoModelForCausalLM.from_pretrained(str(root / "tiny"))
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(str(run / "final"))
    AutoTokenizer.from_pretrained(str(root / "tiny")).save_pretrained(str(run / "final"))
    ModelRegistry(root).promote("sft-a")
    return root


@pytest.fixture(scope="module")
def tiny_backend(runs_root):
    from dialogkit.generate import load_backend

    return load_backend(str(runs_root / "sft-a"), device="cpu")


def body(**kw):
    return {"model": "sft-a", "messages": [{"role": "user", "content": "Book a table for 2 in Paris."}],
            "max_tokens": 12, **kw}


def test_adapter_run_answers_streams_identically_and_counts_tokens(tiny_backend):
    served = ServedModel("sft-a", tiny_backend)
    assert served.direct
    client = TestClient(create_app(Server([served])))
    whole = client.post("/v1/chat/completions", json=body(temperature=0.8, seed=7)).json()
    res = client.post("/v1/chat/completions", json=body(temperature=0.8, seed=7, stream=True,
                                                        stream_options={"include_usage": True}))
    events = sse_events(res.text)
    assert events[-1] == "[DONE]"
    msg = whole["choices"][0]["message"]
    assert joined(events[:-1], "content") == (msg.get("content") or "")
    assert events[-2]["usage"] == whole["usage"]
    prompt = tiny_backend.prompt_text(served_request())
    assert whole["usage"]["prompt_tokens"] == len(tiny_backend.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    fr = whole["choices"][0]["finish_reason"]
    assert fr in ("stop", "length", "tool_calls")
    if fr == "length":
        assert whole["usage"]["completion_tokens"] == 12
    assert 1 <= whole["usage"]["completion_tokens"] <= 12


def served_request():
    from dialogkit.generate import ChatRequest
    from dialogkit.schema import UserMessage

    return ChatRequest(messages=[UserMessage(role="user", content="Book a table for 2 in Paris.")])


def test_real_uvicorn_with_key_metrics_and_load_test(tiny_backend, run_cli):
    from dialogkit.serve.loadtest import load_test

    server = Server([ServedModel("sft-a", tiny_backend)], api_key=KEY)
    with running(create_app(server)) as base, httpx.Client(base_url=base, timeout=30) as c:
        assert c.get("/health").json()["status"] == "ok"
        assert c.post("/v1/chat/completions", json=body()).status_code == 401
        ok = c.post("/v1/chat/completions", json=body(temperature=0), headers=AUTH)
        assert ok.status_code == 200 and ok.json()["model"] == "sft-a"
        with c.stream("POST", "/v1/chat/completions", json=body(stream=True), headers=AUTH) as s:
            lines = [line for line in s.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        report = load_test(base, requests=6, concurrency=2, max_tokens=4, timeout=30, api_key=KEY)
        assert report["ok"] == 6 and report["errors"] == {}
        assert report["requests_per_s"] > 0 and report["latency_s"]["p50"] <= report["latency_s"]["max"]
        metrics = c.get("/metrics").text
        assert 'dialogkit_requests_total{endpoint="/v1/chat/completions",model="sft-a",status="200"} 8.0' in metrics
        assert server.metrics.value("dialogkit_completion_tokens_total", {"model": "sft-a"}) > 0
        res = run_cli("serve", "--load-test", base, "--requests", "3", "--concurrency", "2", "--api-key", KEY,
                      "--load-max-tokens", "2", "--timeout", "30", "--format", "json")
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["ok"] == 3
        res = run_cli("serve", "--load-test", base, "--requests", "2", "--timeout", "30", "--request-model", "sft-a")
        assert res.exit_code == 1 and "HTTP 401" in res.output  # no key: every request refused, and it says so


def test_openai_sdk_and_dialogkit_openai_backend_talk_to_the_server(monkeypatch):
    """The official client (whole and streamed) and dialogkit's own openai: backend read our answers."""
    openai = pytest.importorskip("openai")
    from serve_support import CALL_TEXT, WEATHER_TOOL, FakeBackend

    server = Server([ServedModel("m", FakeBackend("<think>need weather</think>" + CALL_TEXT))], api_key=KEY)
    with running(create_app(server)) as base:
        client = openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0, timeout=30)
        msgs = [{"role": "user", "content": "Weather in 北京?"}]
        whole = client.chat.completions.create(model="m", messages=msgs, tools=[WEATHER_TOOL])
        call = whole.choices[0].message.tool_calls[0]
        assert whole.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "北京"}
        stream = client.chat.completions.create(model="m", messages=msgs, tools=[WEATHER_TOOL], stream=True)
        deltas = [c.choices[0] for c in stream if c.choices]
        streamed = [tc for d in deltas for tc in (d.delta.tool_calls or [])]
        assert [(tc.function.name, json.loads(tc.function.arguments)) for tc in streamed] == [
            ("get_weather", {"city": "北京"})]
        assert deltas[-1].finish_reason == "tool_calls"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0).models.list()
        if importlib.util.find_spec("dialogkit.generate.openai_backend") is not None:
            from dialogkit.generate import ChatRequest, GenerationConfig, load_backend
            from dialogkit.schema import ToolSpec, UserMessage

            monkeypatch.setenv("DIALOGKIT_TEST_KEY", KEY)
            backend = load_backend("openai:m", base_url=base + "/v1", api_key_env="DIALOGKIT_TEST_KEY")
            req = ChatRequest(messages=[UserMessage(role="user", content="Weather?")],
                              tools=[ToolSpec.model_validate(WEATHER_TOOL)])
            (answer,), = backend.generate([req], GenerationConfig(max_new_tokens=16))
            assert [(c.name, c.arguments) for c in answer.tool_calls] == [("get_weather", {"city": "北京"})]


def test_cli_serves_the_registry_current_version(run_cli, runs_root, monkeypatch):
    import uvicorn

    captured = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: captured.update(app=app, **kw))
    port = free_port()
    res = run_cli("serve", "--models-root", runs_root, "--port", port, "--api-key", KEY, "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert captured["port"] == port and captured["host"] == "127.0.0.1"
    client = TestClient(captured["app"])
    assert client.get("/v1/models").status_code == 401
    assert [m["id"] for m in client.get("/v1/models", headers=AUTH).json()["data"]] == ["sft-a"]
    assert client.post("/v1/chat/completions", json=body(max_tokens=2), headers=AUTH).status_code == 200


def test_cli_serve_usage_errors(run_cli, runs_root, tmp_path):
    res = run_cli("serve", "--port", "8000")
    assert res.exit_code == 2 and "give one of" in res.output
    res = run_cli("serve", "--model", runs_root / "sft-a", "--models-root", runs_root)
    assert res.exit_code == 2 and "not both" in res.output
    empty = tmp_path / "empty-root"
    empty.mkdir()
    res = run_cli("serve", "--models-root", empty)
    assert res.exit_code == 2 and "no current version" in res.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        res = run_cli("serve", "--model", runs_root / "tiny", "--port", s.getsockname()[1])
    assert res.exit_code == 2 and "cannot listen" in res.output
    res = run_cli("serve", "--model", runs_root / "tiny", "--api-key", " ")
    assert res.exit_code == 2 and "--api-key is empty" in res.output
    res = run_cli("serve", "--load-test", "http://127.0.0.1:9", "--requests", "1", "--timeout", "2")
    assert res.exit_code == 2 and "cannot connect" in res.output


@pytest.mark.slow
def test_cli_serve_subprocess_exact_contract(runs_root, tmp_path):
    """`dialogkit serve --model RUN --port P --api-key KEY` as a user runs it, then stopped."""
    exe = shutil.which("dialogkit", path=str(Path(sys.executable).parent)) or "dialogkit"
    port = free_port()
    proc = subprocess.Popen([exe, "serve", "--model", str(runs_root / "sft-a"), "--port", str(port),
                             "--api-key", KEY, "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "DIALOGKIT_API_KEY": ""})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert httpx.post(base + "/v1/chat/completions", json=body(), timeout=30).status_code == 401
        res = httpx.post(base + "/v1/chat/completions", json=body(max_tokens=4), headers=AUTH, timeout=60)
        assert res.status_code == 200 and res.json()["object"] == "chat.completion"
        assert "dialogkit_completion_tokens_total" in httpx.get(base + "/metrics", timeout=10).text
    finally:
        proc.terminate()
        proc.wait(30)
