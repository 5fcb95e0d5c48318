"""A small load generator for any OpenAI-compatible server: latency percentiles and requests/s.

``N`` chat requests, at most ``C`` in flight, each bounded by a timeout; the report counts every
outcome (a refused connection or a 500 is an error with its reason, never a crash) and gives
latency percentiles of the successful requests, requests/s and completion tokens/s over the
wall time of the whole run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from dialogkit.errors import MissingDependencyError, UsageError


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default) of already sorted values."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


async def _one(client: Any, url: str, payload: dict[str, Any], headers: dict[str, str]) -> tuple[str, float, int]:
    t0 = time.perf_counter()
    try:
        r = await client.post(url, json=payload, headers=headers)
    except Exception as e:  # noqa: BLE001 - every failure is an outcome to count
        return type(e).__name__, time.perf_counter() - t0, 0
    dt = time.perf_counter() - t0
    if r.status_code != 200:
        return f"HTTP {r.status_code}", dt, 0
    try:
        tokens = int(r.json().get("usage", {}).get("completion_tokens", 0))
    except ValueError:
        return "invalid JSON", dt, 0
    return "ok", dt, tokens


async def _run(base_url: str, payload: dict[str, Any], n: int, concurrency: int, timeout: float,
               api_key: str | None) -> dict[str, Any]:
    import httpx

    url = base_url.rstrip("/")
    url = url if url.endswith("/chat/completions") else (url if url.endswith("/v1") else url + "/v1") + "/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:

        async def bounded() -> tuple[str, float, int]:
            async with sem:
                return await _one(client, url, payload, headers)

        t0 = time.perf_counter()
        results = await asyncio.gather(*(bounded() for _ in range(n)))
        wall = time.perf_counter() - t0
    ok = sorted(dt for outcome, dt, _ in results if outcome == "ok")
    tokens = sum(t for outcome, _, t in results if outcome == "ok")
    errors = Counter(outcome for outcome, _, _ in results if outcome != "ok")
    return {
        "url": url, "model": payload.get("model"), "requests": n, "concurrency": concurrency,
        "ok": len(ok), "errors": dict(errors), "wall_s": round(wall, 3),
        "requests_per_s": round(len(ok) / wall, 3) if wall > 0 else None,
        "completion_tokens_per_s": round(tokens / wall, 2) if wall > 0 else None,
        "latency_s": {
            "mean": round(sum(ok) / len(ok), 4) if ok else None,
            **{f"p{q}": (round(v, 4) if (v := percentile(ok, q)) is not None else None) for q in (50, 90, 95, 99)},
            "max": round(ok[-1], 4) if ok else None,
        },
    }


def first_model(base_url: str, api_key: str | None, timeout: float) -> str:
    """The first id of ``GET /v1/models`` (what to ask for when no model name is given)."""
    import httpx

    url = base_url.rstrip("/")
    url = (url.removesuffix("/chat/completions") if url.endswith("/chat/completions")
           else (url if url.endswith("/v1") else url + "/v1")) + "/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        r = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as e:
        raise UsageError(f"{url}: cannot connect ({type(e).__name__}: {e})") from None
    if r.status_code != 200:
        raise UsageError(f"{url}: HTTP {r.status_code}: {r.text[:200]}")
    data = r.json().get("data") or []
    if not data:
        raise UsageError(f"{url}: the server lists no models")
    return str(data[0]["id"])


def load_test(base_url: str, *, requests: int = 50, concurrency: int = 4, model: str | None = None,
              prompt: str = "Hello! What can you do?", max_tokens: int = 32, timeout: float = 60.0,
              api_key: str | None = None, temperature: float = 0.0) -> dict[str, Any]:
    """Send ``requests`` chat completions, ``concurrency`` at a time; returns the report dict.

    Raises:
        UsageError: bad counts, or the server cannot be reached to find a model name.
    """
    try:
        import httpx  # noqa: F401
    except ImportError:  # pragma: no cover
        raise MissingDependencyError("httpx", "serve") from None
    if requests < 1 or concurrency < 1:
        raise UsageError("--requests and --concurrency must be at least 1")
    model = model or first_model(base_url, api_key, timeout)
    payload = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
               "temperature": temperature}
    return asyncio.run(_run(base_url, payload, requests, min(concurrency, requests), timeout, api_key))
