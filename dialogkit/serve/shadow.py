"""Shadow traffic: answer every request again with a candidate model, off the request path, and log both.

The primary answer is returned first; the shadow model then answers the same request in one
background thread (so it never slows the primary beyond sharing the machine) and a JSONL line
records both answers, their latencies, how much they agree and, when the request carried a
``reference`` answer, how each scores against it. When the shadow falls behind, requests past
``max_pending`` are dropped and counted rather than queued without bound.

``summarize(path)`` reads such a log back into the numbers to look at before a promote.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError
from dialogkit.generate import ChatRequest, GenerationConfig
from dialogkit.schema import AssistantMessage, dump
from dialogkit.serve.engine import ServedModel
from dialogkit.serve.metrics import ServeMetrics

log = logging.getLogger("dialogkit.serve.shadow")


def _calls(msg: AssistantMessage) -> list[str]:
    return sorted(json.dumps({"name": c.name, "arguments": c.arguments}, sort_keys=True) for c in msg.tool_calls)


def compare(a: AssistantMessage, b: AssistantMessage) -> dict[str, Any]:
    """How close ``a`` is to ``b``: same tool calls (names + arguments), same tool names, chrF of the text."""
    from sacrebleu.metrics import CHRF

    out: dict[str, Any] = {
        "tool_calls_match": _calls(a) == _calls(b),
        "tool_names_match": sorted(c.name for c in a.tool_calls) == sorted(c.name for c in b.tool_calls),
    }
    if a.content or b.content:
        out["content_chrf"] = round(CHRF().sentence_score(a.content, [b.content]).score / 100, 4)
    return out


class Shadow:
    """Runs ``model`` on every request handed to :meth:`submit` and appends results to ``log_path``."""

    def __init__(self, model: ServedModel, log_path: str | Path, metrics: ServeMetrics | None = None,
                 max_pending: int = 64):
        self.model = model
        self.path = Path(log_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.metrics = metrics
        self.max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialogkit-shadow")

    def submit(self, record: dict[str, Any], request: ChatRequest, config: GenerationConfig, stop: list[str],
               primary: AssistantMessage, reference: AssistantMessage | None) -> bool:
        """Queue one shadow answer; False (and counted as dropped) when too many are pending."""
        with self._lock:
            if self._pending >= self.max_pending:
                self._count("dropped")
                return False
            self._pending += 1
        self._pool.submit(self._run, record, request, config.model_copy(update={"n": 1}), stop, primary, reference)
        return True

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.shadow.labels(outcome).inc()

    def _run(self, record: dict[str, Any], request: ChatRequest, config: GenerationConfig, stop: list[str],
             primary: AssistantMessage, reference: AssistantMessage | None) -> None:
        try:
            t0 = time.monotonic()
            try:
                result = self.model.complete(request, config, stop)
                answer = result.choices[0].message
                record["shadow"] = {"model": self.model.name, "message": dump(answer),
                                    "latency_s": round(time.monotonic() - t0, 4)}
                scores: dict[str, Any] = {"agreement": compare(answer, primary)}
                if reference is not None:
                    scores["primary_vs_reference"] = compare(primary, reference)
                    scores["shadow_vs_reference"] = compare(answer, reference)
                record["scores"] = scores
                self._count("ok")
            except Exception as e:  # noqa: BLE001 - a failing candidate must never hurt the primary
                log.exception("shadow model failed")
                record["shadow"] = {"model": self.model.name, "error": f"{type(e).__name__}: {e}"}
                self._count("error")
            self._write(record)
        finally:
            with self._lock:
                self._pending -= 1

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()

    def close(self, wait: bool = True) -> None:
        """Stop taking work; with ``wait``, finish what is queued (so no answer is lost on shutdown)."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(path: str | Path) -> dict[str, Any]:
    """Counts and mean scores of a shadow log: agreement, and primary vs shadow against references."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such shadow log")
    rows, bad = [], 0
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    out: dict[str, Any] = {"requests": len(rows), "bad_lines": bad,
                           "shadow_errors": sum(1 for r in rows if "error" in (r.get("shadow") or {}))}
    for key in ("agreement", "primary_vs_reference", "shadow_vs_reference"):
        scored = [r["scores"][key] for r in rows if key in (r.get("scores") or {})]
        out[key] = {"n": len(scored), **{m: _mean([float(s[m]) for s in scored if m in s])
                                         for m in ("tool_calls_match", "tool_names_match", "content_chrf")}}
    lat = [(r.get("primary") or {}).get("latency_s") for r in rows]
    slat = [(r.get("shadow") or {}).get("latency_s") for r in rows]
    out["mean_latency_s"] = {"primary": _mean([x for x in lat if isinstance(x, (int, float))]),
                             "shadow": _mean([x for x in slat if isinstance(x, (int, float))])}
    return out
