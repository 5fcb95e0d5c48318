"""The crash-safe journal, the ordered resumable runner and the retrying, rate-limited client."""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time

from fakes import Faults

from dialogkit.synth.client import ChatClient, ClientConfig, RequestFailed
from dialogkit.synth.journal import AppendLog, ItemResult, Journal, LiveOutput, OrderedRunner, request_key
from dialogkit.synth.transports import OpenAITransport, _retry_after

SUPPORT_TOOLS = None


# ----------------------------------------------------------------------------- append log
def test_append_log_round_trip_and_torn_tail(tmp_path):
    p = tmp_path / "j.jsonl"
    log = AppendLog(p)
    for i in range(3):
        log.append({"i": i, "text": "订单"})
    log.close()
    with p.open("ab") as fh:  # a kill -9 in the middle of a write
        fh.write(b'{"i": 3, "text": "half')
    log = AppendLog(p)
    assert [r["i"] for r in log.records] == [0, 1, 2] and log.torn
    log.append({"i": 4})
    log.close()
    again = AppendLog(p)
    assert [r["i"] for r in again.records] == [0, 1, 2, 4] and not again.torn
    assert p.read_bytes().endswith(b"\n")
    again.close()


def test_append_log_skips_a_damaged_middle_line(tmp_path):
    p = tmp_path / "j.jsonl"
    p.write_bytes(b'{"a": 1}\n{"a": \n{"a": 3}\n')
    log = AppendLog(p)
    assert [r["a"] for r in log.records] == [1, 3] and log.corrupt == 1 and not log.torn
    log.close()


def test_group_commit_keeps_every_record(tmp_path):
    log = AppendLog(tmp_path / "j.jsonl")
    threads = [threading.Thread(target=lambda k=k: [log.append({"t": k, "i": i}) for i in range(25)]) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    recs = AppendLog(tmp_path / "j.jsonl").records
    assert len(recs) == 200 and len({(r["t"], r["i"]) for r in recs}) == 200
    assert 1 <= log.syncs <= 200


def test_request_key_is_canonical():
    a = {"model": "m", "messages": [{"role": "user", "content": "你好"}], "seed": 1}
    b = {"seed": 1, "messages": [{"content": "你好", "role": "user"}], "model": "m"}
    assert request_key(a) == request_key(b)
    assert request_key(a) != request_key({**a, "seed": 2})


def test_journal_indexes_records_and_live_output_dedups(tmp_path):
    j = Journal(tmp_path / "out.jsonl.journal")
    j.append({"t": "run", "config": {"model": "m"}})
    j.append({"t": "resp", "key": "k1", "body": {"choices": []}})
    j.append({"t": "fail", "key": "k2", "code": "TIMEOUT"})
    j.append({"t": "item", "id": "d1", "index": 1, "status": "ok"})
    j.close()
    j = Journal(tmp_path / "out.jsonl.journal")
    assert set(j.responses) == {"k1"} and set(j.failures) == {"k2"} and j.items["d1"]["status"] == "ok"
    assert j.config() == {"model": "m"}
    j.close()
    (tmp_path / "out.jsonl").write_text('{"id": "a", "v": 1}\n{"id": "a", "v": 2}\n{"id": "b"}\n')
    live = LiveOutput(tmp_path / "out.jsonl")
    assert list(live.dialogs) == ["a", "b"] and live.dialogs["a"]["v"] == 1
    live.close()


# ------------------------------------------------------------------------------- runner
def _runner(tmp_path, target, limit, slots=4):
    return OrderedRunner(Journal(tmp_path / "o.journal"), LiveOutput(tmp_path / "o.jsonl"), slots, target, limit,
                         first=1)


def test_runner_decides_in_index_order_whatever_the_timing(tmp_path):
    ran: list[int] = []

    async def work(i: int) -> ItemResult:
        ran.append(i)
        await asyncio.sleep(random.Random(i).random() * 0.02)
        if i % 3 == 0:
            return ItemResult(i, f"d{i}", None, "bad", ["X"])
        return ItemResult(i, f"d{i}", {"id": f"d{i}", "i": i})

    r = _runner(tmp_path, target=5, limit=50)
    asyncio.run(r.run(lambda i: f"d{i}", work, lambda res: res))
    assert [x.index for x in r.accepted] == [1, 2, 4, 5, 7]
    assert [x.index for x in r.dropped] == [3, 6]
    assert max(ran) <= 7 + 4  # launched only while the target could still be missed
    r.journal.close()
    r.live.close()
    # resume: accepted ones come from the output, failed ones from the journal; nothing runs
    ran.clear()
    r2 = _runner(tmp_path, target=5, limit=50)
    asyncio.run(r2.run(lambda i: f"d{i}", work, lambda res: res))
    assert [x.index for x in r2.accepted] == [1, 2, 4, 5, 7] and ran == [] and r2.reused == 7
    r2.journal.close()
    r2.live.close()


def test_runner_stops_at_the_limit(tmp_path):
    async def work(i: int) -> ItemResult:
        return ItemResult(i, f"d{i}", None, "always bad", ["X"])

    r = _runner(tmp_path, target=3, limit=6)
    asyncio.run(r.run(lambda i: f"d{i}", work, lambda res: res))
    assert r.accepted == [] and len(r.dropped) == 6


# ------------------------------------------------------------------------------- client
def _client(server, tmp_path, **cfg):
    cfg.setdefault("timeout", 2.0)
    cfg.setdefault("backoff_base", 0.01)
    journal = Journal(tmp_path / "c.journal")
    return ChatClient(OpenAITransport(server.url, "not-needed", 8), journal, ClientConfig(**cfg)), journal


def _payload(i: int, **extra):
    return {"model": "fake", "messages": [{"role": "user", "content": f"hello {i}"}], "seed": i, **extra}


def _ask(client, payloads, check=None):
    async def go():
        try:
            return await asyncio.gather(*(client.complete(p, {"item": "t"}, check) for p in payloads),
                                        return_exceptions=True)
        finally:
            await client.aclose()
    return asyncio.run(go())


def test_retry_after_is_honoured_then_an_explicit_failure(server, tmp_path):
    server.faults = Faults(rate_429=1.0, retry_after=0.2)
    client, journal = _client(server, tmp_path, max_retries=2)
    t0 = time.perf_counter()
    [err] = _ask(client, [_payload(1)])
    assert isinstance(err, RequestFailed) and err.code == "RATE_LIMITED" and err.attempts == 3
    assert time.perf_counter() - t0 >= 0.4  # two Retry-After waits
    assert sum(server.received.values()) == 3
    assert journal.failures[err.key]["code"] == "RATE_LIMITED"  # a failure record, never a silent None
    journal.close()


def test_transient_faults_are_retried_and_answers_journaled(server, tmp_path):
    server.faults = Faults(seed=3, rate_429=0.15, retry_after=0.01, rate_500=0.15, rate_malformed=0.1)
    client, journal = _client(server, tmp_path, max_retries=8, max_invalid=8)
    out = _ask(client, [_payload(i) for i in range(30)])
    assert all(not isinstance(o, Exception) for o in out), out
    assert all(o.content == "ok" for o in out)
    assert len(journal.responses) == 30 and sum(server.received.values()) > 30
    assert client.stats.retries == sum(server.injected.values()) > 0
    journal.close()
    # a second run over the same journal sends nothing
    server.reset_counts()
    client, journal = _client(server, tmp_path)
    out = _ask(client, [_payload(i) for i in range(30)])
    assert all(o.cached for o in out) and sum(server.received.values()) == 0
    journal.close()


def test_timeouts_and_malformed_bodies_end_in_coded_failures(server, tmp_path):
    server.faults = Faults(rate_timeout=1.0, timeout_delay=0.5)
    client, journal = _client(server, tmp_path, timeout=0.1, max_retries=1)
    [err] = _ask(client, [_payload(1)])
    assert isinstance(err, RequestFailed) and err.code == "TIMEOUT"
    journal.close()
    server.faults = Faults(rate_malformed=1.0)
    client, journal = _client(server, tmp_path, max_invalid=1)
    [err] = _ask(client, [_payload(2)])
    assert isinstance(err, RequestFailed) and err.code == "MALFORMED_RESPONSE" and err.attempts == 2
    journal.close()


def test_invalid_tool_calls_are_resampled_then_fail(server, tmp_path):
    from dialogkit.synth.db import Database
    from dialogkit.synth.scenario import load_scenario

    tools = [{"type": "function", "function": t["function"]} for t in Database(load_scenario("support")).tool_specs()]
    msg = "want=track_order; order_id=A10971; email=mia.johnson@example.com"
    p = {"model": "fake", "messages": [{"role": "user", "content": msg}], "tools": tools, "seed": 5}
    server.faults = Faults(rate_bad_tool_args=1.0)
    client, journal = _client(server, tmp_path, max_invalid=2)
    [err] = _ask(client, [p])
    assert isinstance(err, RequestFailed) and err.code == "INVALID_TOOL_CALL"
    assert len(server.received) == 3  # three samples: seeds 5, 6, 7 are three different requests
    journal.close()
    server.faults = Faults()
    server.reset_counts()
    client, journal = _client(server, tmp_path)  # replay: the broken answers are in the journal
    [err] = _ask(client, [p])
    assert isinstance(err, RequestFailed) and sum(server.received.values()) == 0
    journal.close()
    client, journal = _client(server, tmp_path / "fresh")
    [ok] = _ask(client, [p], check=lambda content, calls: None if calls else "expected a tool call")
    assert ok.tool_calls[0]["name"] == "get_order" and ok.tool_calls[0]["arguments"]["order_id"] == "A10971"
    journal.close()


def test_concurrency_cap_and_rpm_limit(server, tmp_path):
    server.faults = Faults(latency=0.05)
    server.max_in_flight = 0
    client, journal = _client(server, tmp_path, concurrency=3)
    _ask(client, [_payload(i) for i in range(15)])
    # The cap is the client's: the server's own count races with its handler threads finishing.
    assert client.stats.peak_in_flight == 3
    journal.close()
    server.faults = Faults()
    client, journal = _client(server, tmp_path, rpm=1200)  # 20/s, one second of burst
    t0 = time.perf_counter()
    _ask(client, [_payload(100 + i) for i in range(30)])
    assert time.perf_counter() - t0 >= 0.45  # 10 requests beyond the burst at 20/s
    journal.close()


def test_retry_after_header_forms():
    assert _retry_after({"retry-after-ms": "250"}) == 0.25
    assert _retry_after({"retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert _retry_after(None) is None


def test_fsync_happens_before_use(tmp_path, server, monkeypatch):
    """The answer is on disk before complete() returns: count fsyncs around one request."""
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    client, journal = _client(server, tmp_path)
    [out] = _ask(client, [_payload(7)])
    assert out.key in Journal(tmp_path / "c.journal").responses and synced
    journal.close()


def test_endpoint_refusal_stops_and_bad_requests_fail_fast(tmp_path):
    from dialogkit.synth.client import EndpointError, TransportError

    class Refusing:
        name = "stub"

        def __init__(self, err):
            self.err, self.calls = err, 0

        async def send(self, payload, timeout):
            self.calls += 1
            raise self.err

        async def aclose(self):
            pass

    for err, expect in ((TransportError("fatal", "401: bad key", 401), EndpointError),
                        (TransportError("bad_request", "400: maximum context length exceeded", 400), RequestFailed)):
        journal = Journal(tmp_path / f"{err.status}.journal")
        stub = Refusing(err)
        [out] = _ask(ChatClient(stub, journal, ClientConfig(max_retries=5)), [_payload(1)])
        assert isinstance(out, expect) and stub.calls == 1  # never retried
        if expect is RequestFailed:
            assert out.code == "CONTEXT_LENGTH"
        journal.close()
