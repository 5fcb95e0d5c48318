"""A fake OpenAI-compatible chat-completions server for tests and benchmarks (stdlib only).

It plays every LLM role of ``dialogkit synth`` deterministically from the request content:

- **user simulator** (a system prompt with ``GOAL_JSON:``): states its intent and part of
  what it knows as ``key=value`` pairs, answers ``[ask]`` with the asked values, confirms
  ``[confirm]``, asks its goal's requests after ``[done]``, opens the next intent, then
  ends with ``###STOP###``;
- **assistant** (a request with ``tools``): follows the scenario's intent definitions — ask
  for missing required slots, call the search tool, confirm before a transactional tool, call
  it with the offered entity, report ``[done]`` / ``[error]``, answer ``what is X?``;
- **paraphraser** (the paraphrase system prompt): prefixes a filler word, keeping values.

Faults are drawn per request from ``sha256(seed, request hash, n)`` where ``n`` counts how
often that exact request was received, so a run against the same server and seed sees the
same faults: 429 with ``Retry-After``, 500, timeouts (a reply held past the client's
timeout), malformed JSON bodies, tool calls with broken arguments, paraphrases that lose a
protected value, and slow replies. ``received`` and ``answered`` count requests by hash, so a
test can assert that an answered request was never sent again.

Run standalone: ``python tests/fakes/openai_server.py --latency 0.2`` prints the base URL.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dialogkit.synth.goals import search_args, tool_args
from dialogkit.synth.prompts import GOAL_MARK, PARAPHRASE_SYSTEM, STOP
from dialogkit.synth.scenario import load_scenario, shipped_scenarios


@dataclass
class Faults:
    """Fault rates (0..1) and timings; every draw is a function of (seed, request, repeat)."""

    seed: int = 0
    rate_429: float = 0.0
    retry_after: float = 0.05
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    timeout_delay: float = 1.0
    rate_malformed: float = 0.0
    rate_bad_tool_args: float = 0.0
    rate_drop_value: float = 0.0
    latency: float = 0.0
    rate_slow: float = 0.0
    slow_latency: float = 0.3


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


_KV = re.compile(r"([a-z_][a-z0-9_]*)=([^;\n]+)")
_PARA_HEADS = tuple(t.split("{")[0][:20] for t in PARAPHRASE_SYSTEM.values())
_KEEP = re.compile(r"(?:character for character|逐字保留)[:：]\s*(.*)")


def _kv(d: dict[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in d.items())


def _reply(content: str | None, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        msg["tool_calls"] = calls
    return msg


class Roles:
    """The rule-based user, assistant and paraphraser (pure functions of the request)."""

    def __init__(self) -> None:
        self.scenarios = [load_scenario(n) for n in shipped_scenarios()]
        self._by_tools: dict[frozenset[str], Any] = {}

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        msgs = body.get("messages") or []
        system = msgs[0].get("content") or "" if msgs and msgs[0].get("role") == "system" else ""
        if body.get("tools"):
            return self.assistant(body["tools"], msgs)
        if GOAL_MARK in system:
            return _reply(self.user(system, msgs))
        if system.startswith(_PARA_HEADS):
            return _reply(self.paraphrase(system, msgs))
        return _reply("ok")

    # ------------------------------------------------------------------------------ user
    def user(self, system: str, msgs: list[dict[str, Any]]) -> str:
        line = system.split(GOAL_MARK, 1)[1].strip().splitlines()[0]
        goal = json.loads(line)
        known: dict[str, Any] = goal["known"]
        own = [m.get("content") or "" for m in msgs[1:] if m["role"] == "assistant"]
        last = msgs[-1].get("content") or "" if msgs[-1]["role"] == "user" else ""
        if not own:
            first = dict(list(known.items())[: (len(known) + 1) // 2])
            return f"Hello. want={goal['intents'][0]}; {_kv(first)}".rstrip("; ")
        if last.startswith("[ask]"):
            asked = [s.strip() for s in last[5:].split(",")]
            return _kv({s: known[s] for s in asked if s in known}) or "I do not know."
        if last.startswith("[confirm]"):
            return "yes, please go ahead."
        if last.startswith(("[done]", "[answer]")):
            said = " ".join(own)
            for r in goal.get("requests", []):
                if f"what is {r}?" not in said:
                    return f"what is {r}?"
            for i in goal["intents"]:
                if f"want={i}" not in said:
                    return f"Also want={i}; {_kv(known)}"
            return f"Thanks, that is all. {STOP}"
        return STOP

    # ------------------------------------------------------------------------- assistant
    def _scenario(self, tools: list[dict[str, Any]]) -> Any:
        names = frozenset(t["function"]["name"] for t in tools)
        if names not in self._by_tools:
            self._by_tools[names] = next(s for s in self.scenarios if set(s.spec.tools) == names)
        return self._by_tools[names].spec

    @staticmethod
    def _coerce(spec: Any, slot: str, value: str) -> Any:
        value = value.strip()
        typ = spec.slots[slot].type if slot in spec.slots else "string"
        try:
            return int(value) if typ == "integer" else float(value) if typ == "number" else value
        except ValueError:
            return value

    def assistant(self, tools: list[dict[str, Any]], msgs: list[dict[str, Any]]) -> dict[str, Any]:
        spec = self._scenario(tools)
        slots: dict[str, Any] = {}
        start, intent_name = 0, None
        for i, m in enumerate(msgs):
            if m["role"] == "user":
                text = m.get("content") or ""
                for k, v in _KV.findall(text):
                    if k == "want":
                        intent_name, start = v.strip(), i
                    else:
                        slots[k] = self._coerce(spec, k, v)
        if intent_name not in spec.intents:
            return _reply("[error] UNKNOWN_INTENT: what would you like to do?")
        intent = spec.intents[intent_name]
        seg = msgs[start:]
        results = self._results(seg)
        missing = [s for s in intent.required if s not in slots and s not in intent.entity]
        if missing:
            return _reply(f"[ask] {', '.join(missing[:2])}")
        entity: dict[str, Any] = {}
        if intent.search:
            res = results.get(intent.search)
            if res is None:
                return self._call(intent.search, search_args(intent, slots), len(msgs))
            if "error" in res:
                return _reply(f"[error] {res['error']['code']}: {res['error']['message']}")
            rows = res.get("results", [res])
            if not rows:
                return _reply("[error] NO_RESULTS: nothing matches")
            entity = rows[0]
        values = {**slots, **{s: entity[c] for s, c in intent.entity.items() if c in entity}}
        info = dict(entity)
        if intent.tool:
            res = results.get(intent.tool)
            if res is None:
                tool = spec.tools[intent.tool]
                args = tool_args(intent, values)
                if tool.transactional and not self._confirmed(seg):
                    return _reply(f"[confirm] shall I run {intent.tool} with {_kv(args)}?")
                return self._call(intent.tool, args, len(msgs))
            if "error" in res:
                return _reply(f"[error] {res['error']['code']}: {res['error']['message']}")
            info.update(res)
        last = msgs[-1].get("content") or "" if msgs[-1]["role"] == "user" else ""
        m = re.match(r"what is ([a-z_]+)\?", last)
        if m:
            return _reply(f"[answer] {m.group(1)}={info.get(m.group(1), 'unknown')}")
        shown = {k: v for k, v in info.items() if isinstance(v, (str, int, float))}
        return _reply(f"[done] {_kv(dict(list(shown.items())[:4]))}")

    @staticmethod
    def _results(seg: list[dict[str, Any]]) -> dict[str, Any]:
        names = {c["id"]: c["function"]["name"] for m in seg for c in m.get("tool_calls") or []}
        out: dict[str, Any] = {}
        for m in seg:
            if m["role"] == "tool" and m.get("tool_call_id") in names:
                out[names[m["tool_call_id"]]] = json.loads(m["content"])
        return out

    @staticmethod
    def _confirmed(seg: list[dict[str, Any]]) -> bool:
        asked = False
        for m in seg:
            text = m.get("content") or ""
            if m["role"] == "assistant" and text.startswith("[confirm]"):
                asked = True
            elif m["role"] == "user" and asked and text.startswith("yes"):
                return True
        return False

    @staticmethod
    def _call(name: str, args: dict[str, Any], n: int) -> dict[str, Any]:
        call = {"id": f"fc_{n}", "type": "function",
                "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}}
        return _reply(None, [call])

    # ----------------------------------------------------------------------- paraphrase
    @staticmethod
    def keep_values(system: str) -> list[str]:
        m = _KEEP.search(system)
        if not m or not m.group(1).startswith('"'):
            return []
        return json.loads(f"[{m.group(1)}]")

    def paraphrase(self, system: str, msgs: list[dict[str, Any]]) -> str:
        text = msgs[-1].get("content") or ""
        zh = "改写" in system
        return ("嗯，" if zh else "Well, ") + text


class FakeOpenAI:
    """The server: ``with FakeOpenAI(Faults(...)) as srv: srv.url``; counters are thread-safe."""

    def __init__(self, faults: Faults | None = None, host: str = "127.0.0.1", port: int = 0):
        self.faults = faults or Faults()
        self.roles = Roles()
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.roles_seen: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = _Server((host, port), handler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeOpenAI:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_counts(self) -> None:
        with self.lock:
            self.received.clear()
            self.answered.clear()
            self.injected.clear()

    def draw(self, h: str) -> tuple[str | None, random.Random]:
        """The fault for this receipt of request ``h`` (or None) and an rng for the rest."""
        with self.lock:
            n = self.received[h]
            self.received[h] += 1
        rng = random.Random(hashlib.sha256(f"{self.faults.seed}:{h}:{n}".encode()).digest())
        u = rng.random()
        f = self.faults
        for kind, rate in (("429", f.rate_429), ("500", f.rate_500), ("timeout", f.rate_timeout),
                           ("malformed", f.rate_malformed)):
            if u < rate:
                return kind, rng
            u -= rate
        return None, rng


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connect at once; the default backlog of 5 resets some
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the second waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    fake: FakeOpenAI

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout fault): nothing to do

    def do_GET(self) -> None:
        self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode())

    def do_POST(self) -> None:
        fake = self.fake
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        if not self.path.endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        h = body_hash(body)
        with fake.lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            self._answer(fake, body, h)
        finally:
            with fake.lock:
                fake.in_flight -= 1

    def _answer(self, fake: FakeOpenAI, body: dict[str, Any], h: str) -> None:
        f = fake.faults
        fault, rng = fake.draw(h)
        delay = f.slow_latency if rng.random() < f.rate_slow else f.latency
        if fault is not None:
            with fake.lock:
                fake.injected[fault] += 1
        if fault == "429":
            hdr = {"Retry-After": f"{f.retry_after:g}", "retry-after-ms": str(int(f.retry_after * 1000))}
            self._send(429, b'{"error": {"message": "rate limited (fake)", "type": "rate_limit"}}', hdr)
            return
        if fault == "500":
            self._send(500, b'{"error": {"message": "internal error (fake)"}}')
            return
        time.sleep(f.timeout_delay if fault == "timeout" else delay)
        if fault == "malformed":
            self._send(200, b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assist')
            return
        msg = fake.roles.answer(body)
        role = "assistant" if body.get("tools") else "other"
        if msg.get("tool_calls") and rng.random() < f.rate_bad_tool_args:
            msg["tool_calls"][0]["function"]["arguments"] = '{"broken": '
            fault = "bad_tool_args"
        elif role == "other" and rng.random() < f.rate_drop_value:
            keep = Roles.keep_values(body["messages"][0].get("content") or "")
            if keep and keep[0] in (msg["content"] or ""):
                msg["content"] = msg["content"].replace(keep[0], "")
                fault = "drop_value"
        out = {"id": f"chatcmpl-{h[:12]}", "object": "chat.completion", "created": 0, "model": body.get("model"),
               "system_fingerprint": "fp_fake",
               "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}],
               "usage": {"prompt_tokens": len(json.dumps(body)) // 4, "completion_tokens": 10,
                         "total_tokens": len(json.dumps(body)) // 4 + 10}}
        with fake.lock:
            if fault in ("bad_tool_args", "drop_value"):
                fake.injected[fault] += 1
            elif fault is None:
                fake.answered[h] += 1
            fake.roles_seen[role] += 1
        self._send(200, json.dumps(out, ensure_ascii=False).encode())


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    for f in fields(Faults):
        ap.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    a = ap.parse_args()
    faults = Faults(**{f.name: getattr(a, f.name) for f in fields(Faults)})
    srv = FakeOpenAI(faults, port=a.port).start()
    print(srv.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
