"""``dialogkit synth --mode selfplay`` against the fake OpenAI-compatible server (no network)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fakes import Faults

from dialogkit.synth.check import check_dialog
from dialogkit.synth.journal import Journal

ROOT = Path(__file__).resolve().parents[1]
FAULTY = Faults(seed=1, rate_429=0.05, retry_after=0.02, rate_500=0.05, rate_timeout=0.03, timeout_delay=1.0,
                rate_malformed=0.03, rate_bad_tool_args=0.08, latency=0.01)
FAST = ("--set", "timeout=0.6", "--set", "backoff_base=0.01", "--set", "max_retries=8")


def selfplay(run_cli, server, out, n, *extra):
    return run_cli("synth", "--scenario", "support", "--mode", "selfplay", "--n", n, "--base-url", server.url,
                   "--model", "fake", "--out", out, *FAST, *extra)


def read(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_selfplay_writes_n_valid_successful_dialogs(run_cli, server, tmp_path):
    out = tmp_path / "sp.jsonl"
    res = selfplay(run_cli, server, out, 6, "--concurrency", "4")
    assert res.exit_code == 0, res.output
    assert "wrote 6 dialogs" in res.stderr and "requests: sent" in res.stderr
    dialogs = read(out)
    assert [d["id"] for d in dialogs] == sorted(d["id"] for d in dialogs) and len(dialogs) == 6
    for d in dialogs:
        assert check_dialog(d) == []
        meta = d["metadata"]
        assert meta["outcome"]["success"] and meta["outcome"]["db_match"]
        assert meta["selfplay"]["termination"] == "user_stop"
        prov = meta["provenance"]
        assert prov["model"] == prov["user_model"] == "fake" and prov["mode"] == "selfplay"
        assert len(prov["prompt_hash"]) == 16 and len(prov["scenario_hash"]) == 64 and prov["seed"] == 0
        roles = [m["role"] for m in d["messages"]]
        assert roles[0] == "system" and "tool" in roles and roles[-1] == "assistant"
    # transactional goals really changed the database, through real tool calls
    assert any(d["metadata"]["final_db"]["updates"] for d in dialogs)
    assert (tmp_path / "sp.jsonl.journal").exists()
    assert max(server.answered.values()) == 1  # no request answered twice


def test_same_seed_same_bytes_and_resume_extends(run_cli, server, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert selfplay(run_cli, server, a, 5).exit_code == 0
    assert selfplay(run_cli, server, b, 3).exit_code == 0
    server.reset_counts()
    res = selfplay(run_cli, server, b, 5)  # same command, larger N: the first 3 are kept
    assert res.exit_code == 0 and "3 dialogs reused" in res.stderr
    assert a.read_bytes() == b.read_bytes()
    # finished dialogs cost nothing: at most the two new dialogs' requests were sent (fewer, or
    # none, when the first run's speculative dialogs already journaled their answers)
    assert sum(server.received.values()) < 25
    server.reset_counts()
    res = selfplay(run_cli, server, b, 5)  # nothing left to do
    assert res.exit_code == 0 and sum(server.received.values()) == 0 and a.read_bytes() == b.read_bytes()


def test_faults_are_survived_with_the_same_dialogs(run_cli, server, tmp_path):
    clean = tmp_path / "clean.jsonl"
    assert selfplay(run_cli, server, clean, 6).exit_code == 0
    server.faults = FAULTY
    server.reset_counts()
    faulty = tmp_path / "faulty.jsonl"
    res = selfplay(run_cli, server, faulty, 6, "--concurrency", "3")
    assert res.exit_code == 0, res.output
    assert sum(server.injected.values()) > 0 and "retries" in res.stderr
    got, want = read(faulty), read(clean)
    assert [d["messages"] for d in got] == [d["messages"] for d in want]
    journal = Journal(tmp_path / "faulty.jsonl.journal")
    assert journal.bad > 0  # malformed bodies / broken tool calls were recorded, then asked again
    journal.close()


def _wait_for(pred, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_sigkill_mid_run_then_resume_loses_nothing(run_cli, server, tmp_path):
    """The issue's done-criterion: killed with SIGKILL, restarted, exactly N valid dialogs."""
    n, conc = 8, 4
    server.faults = Faults(**{**FAULTY.__dict__, "latency": 0.03})
    out = tmp_path / "kill.jsonl"
    cmd = [sys.executable, "-m", "dialogkit", "synth", "--scenario", "support", "--mode", "selfplay", "--n", str(n),
           "--base-url", server.url, "--model", "fake", "--concurrency", str(conc), "--out", str(out), *FAST, "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") >= 2, 60), "run never started"
        assert proc.poll() is None, "finished before it could be killed; slow the fake server down"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.7)  # let the server finish answering the requests that were in flight
    answered_before = dict(server.answered)
    received_before = dict(server.received)
    assert len(read(out)) < n
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr.decode()
    dialogs = read(out)
    ids = [d["id"] for d in dialogs]
    assert len(dialogs) == n and len(set(ids)) == n and ids == sorted(ids)
    assert all(check_dialog(d) == [] and d["metadata"]["outcome"]["success"] for d in dialogs)
    resent = [h for h in answered_before if server.received[h] > received_before.get(h, 0)]
    assert len(resent) <= conc, f"{len(resent)} answered requests were sent again"
    # and the result is what an uninterrupted run gives
    server.faults = Faults()
    ref = tmp_path / "ref.jsonl"
    assert selfplay(run_cli, server, ref, n).exit_code == 0
    assert [d["messages"] for d in read(ref)] == [d["messages"] for d in dialogs]


def test_turn_cap_and_unmet_goals_are_recorded(run_cli, server, tmp_path):
    out = tmp_path / "short.jsonl"
    res = selfplay(run_cli, server, out, 2, "--set", "max_turns=1", "--set", "max_attempts=4")
    assert res.exit_code == 1 and "GOAL_NOT_MET" in res.stderr and "only 0 of 2" in res.stderr
    j = Journal(tmp_path / "short.jsonl.journal")
    assert {r["termination"] for r in j.items.values()} == {"max_turns"}
    j.close()
    out2 = tmp_path / "valid.jsonl"
    res = selfplay(run_cli, server, out2, 2, "--set", "max_turns=2", "--set", "keep=valid")
    assert res.exit_code == 0
    for d in read(out2):
        assert d["metadata"]["selfplay"]["termination"] == "max_turns" and not d["metadata"]["outcome"]["success"]
        assert check_dialog(d) == []


def test_judge_compares_the_final_database_with_the_reference():
    from dialogkit.synth.llmrun import LLMOptions
    from dialogkit.synth.outline import OutlineGenerator
    from dialogkit.synth.scenario import load_scenario
    from dialogkit.synth.selfplay import SelfPlay, SelfPlayOptions

    gen = OutlineGenerator(load_scenario("support"), 0)
    sp = SelfPlay(gen, SelfPlayOptions(model="m"), llm=None)
    ref = gen.dialog(1)  # a return: the reference made one update
    goal, final = ref["goal"], ref["metadata"]["final_db"]
    assert final["updates"] and isinstance(LLMOptions(model="m").temperature, float)
    assert sp.judge(goal, final, ref["messages"], ref, "user_stop")["success"]
    assert not sp.judge(goal, final, ref["messages"], ref, "max_turns")["success"]
    empty = {"bookings": [], "updates": []}
    verdict = sp.judge(goal, empty, ref["messages"], ref, "user_stop")
    assert not verdict["success"] and not verdict["db_match"]
    wrong = {"bookings": [], "updates": [{**final["updates"][0], "reason": "something else"}]}
    assert not sp.judge(goal, wrong, ref["messages"], ref, "user_stop")["db_match"]


def test_usage_errors_are_clear(run_cli, server, tmp_path, monkeypatch):
    out = tmp_path / "o.jsonl"
    res = run_cli("synth", "--scenario", "support", "--mode", "selfplay", "--n", "2", "--out", out)
    assert res.exit_code == 2 and "--model" in res.output
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    res = run_cli("synth", "--scenario", "support", "--mode", "selfplay", "--n", "2", "--model", "gpt-x", "--out", out)
    assert res.exit_code == 2 and "OPENAI_API_KEY" in res.output
    res = run_cli("synth", "--scenario", "support", "--mode", "selfplay", "--n", "2", "--model", "openai:gpt-x",
                  "--api-key-env", "MY_KEY_VAR_UNSET", "--out", out)
    assert res.exit_code == 2 and "MY_KEY_VAR_UNSET" in res.output
    res = selfplay(run_cli, server, out, 2, "--set", "bogus=1")
    assert res.exit_code == 2 and "bogus" in res.output
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"id": "x"}\n')
    res = selfplay(run_cli, server, foreign, 2)
    assert res.exit_code == 2 and "no journal" in res.output and foreign.read_text() == '{"id": "x"}\n'
    assert selfplay(run_cli, server, out, 1).exit_code == 0
    res = run_cli("synth", "--scenario", "support", "--mode", "selfplay", "--n", "1", "--base-url", server.url,
                  "--model", "other", "--out", out)
    assert res.exit_code == 2 and "differently configured" in res.output


def test_in_process_backend_runs_selfplay(run_cli, tmp_path, monkeypatch):
    """A local (transformers-style) backend goes through the same journal, checks and resume."""
    from fakes.openai_server import Roles

    from dialogkit import generate
    from dialogkit.formats.openai import dialog_to_record
    from dialogkit.generate.openai_backend import to_assistant
    from dialogkit.schema import Dialog

    roles = Roles()
    batches = []

    class RuleBackend:
        name = "rules"

        def generate(self, requests, config):
            batches.append(len(requests))
            out = []
            for r in requests:
                rec, _ = dialog_to_record(Dialog(id="r", messages=r.messages, tools=r.tools))
                out.append([to_assistant(roles.answer({"messages": rec["messages"], "tools": rec.get("tools")}))])
            return out

    monkeypatch.setattr(generate, "load_backend", lambda spec, **kw: RuleBackend())
    out = tmp_path / "local.jsonl"
    res = run_cli("synth", "--scenario", "support", "--mode", "selfplay", "--n", "4", "--model", str(tmp_path),
                  "--concurrency", "4", "--out", out)
    assert res.exit_code == 0, res.output
    dialogs = read(out)
    assert len(dialogs) == 4 and all(d["metadata"]["outcome"]["success"] for d in dialogs)
    assert dialogs[0]["metadata"]["provenance"]["backend"] == "backend:rules"
    assert max(batches) > 1  # requests of concurrent dialogs were generated together
