"""Self-play throughput against an endpoint with a fixed latency.

The fake OpenAI-compatible server (tests/fakes/openai_server.py) runs in its own process and
answers every request after exactly ``--latency`` seconds. With ``--concurrency C`` requests in
flight the best possible rate is C / L requests per second; the target is a ratio >= 0.90.

Rows, same server, same run:

- ``raw client``: C workers sending small requests through ChatClient (limits, journal with
  fsync) and nothing else — the transport's own ceiling;
- ``selfplay``: the real thing, ``dialogkit synth --mode selfplay`` on the ``support``
  scenario (user simulator + assistant + tool calls + checks + judge + live output): its
  steady state (until the last dialog starts), and the whole run counting all requests sent
  and only the *needed* ones — requests of dialogs after the last one kept (extra dialogs
  started near the end, see ``--set speculate``) are waste, so the target is judged on those;
- with ``--no-speculate``, the same with ``--set speculate=0`` as a baseline.

    .venv/bin/python benchmarks/bench_selfplay.py --latency 0.5 --concurrency 32 --n 200 [--no-speculate]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fakes" / "openai_server.py"), "--latency",
                             str(latency)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def raw_client(url: str, concurrency: int, total: int, tmp: Path) -> tuple[int, float]:
    from dialogkit.synth.client import ChatClient, ClientConfig
    from dialogkit.synth.journal import Journal
    from dialogkit.synth.transports import OpenAITransport

    async def go() -> tuple[int, float]:
        journal = Journal(tmp / "raw.journal")
        client = ChatClient(OpenAITransport(url, "x", concurrency), journal, ClientConfig(concurrency=concurrency))
        t0 = time.perf_counter()
        await asyncio.gather(*(client.complete({"model": "m", "messages": [{"role": "user", "content": f"hi {i}"}]})
                               for i in range(total)))
        el = time.perf_counter() - t0
        await client.aclose()
        journal.close()
        return client.stats.sent, el

    return asyncio.run(go())


def _index(item: str) -> int:
    return int(item.rsplit("-", 1)[1])  # "support-sp-0-000123" -> 123


def selfplay(url: str, concurrency: int, n: int, tmp: Path, speculate: bool) -> dict[str, float]:
    """Run self-play; overall rate, and the steady-state rate read back from the journal."""
    import orjson

    from dialogkit.synth import SynthJob, run

    out = tmp / f"sp-{speculate}.jsonl"
    job = SynthJob(mode="selfplay", out=out, seed=0, n=n, scenario="support",
                   options={"base_url": url, "model": "fake", "concurrency": concurrency,
                            **({} if speculate else {"speculate": "0"})})
    t0 = time.perf_counter()
    report = run(job)
    el = time.perf_counter() - t0
    recs = [orjson.loads(line) for line in Path(f"{out}.journal").read_bytes().splitlines()]
    reqs = [r for r in recs if r["t"] == "req"]
    done = sorted(r["ts"] for r in recs if r["t"] == "resp")
    # Steady state: until the last dialog is launched; after it only the tail of the last dialogs runs.
    first_of = {}
    for r in reqs:
        first_of.setdefault(r["item"], r["ts"])
    start, last_launch = reqs[0]["ts"], max(first_of.values())
    steady = sum(1 for t in done if t <= last_launch) / (last_launch - start)
    # Requests of dialogs after the last accepted one were not needed for the N written: speculative
    # dialogs cancelled (or finished) once N were accepted. They count as waste, not throughput.
    last = max(_index(orjson.loads(line)["id"]) for line in out.read_bytes().splitlines())
    needed = sum(1 for r in reqs if _index(r["item"]) <= last)
    return {"sent": len(reqs), "needed": needed, "seconds": el, "written": report.written, "steady": steady,
            "window": last_launch - start, "tail": done[-1] - last_launch}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--n", type=int, default=200, help="self-play dialogs")
    ap.add_argument("--no-speculate", action="store_true",
                    help="also run with --set speculate=0 (no extra dialogs at the end), for comparison")
    a = ap.parse_args()
    # One-off costs of every process, paid before timing: the SDK and the self-play modules.
    import openai  # noqa: F401

    import dialogkit.synth.selfplay  # noqa: F401

    proc, url = start_server(a.latency)
    ideal = a.concurrency / a.latency
    runs = [True, False] if a.no_speculate else [True]
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            sent, el = raw_client(url, a.concurrency, int(ideal * 5), tmp)
            sps = {spec: selfplay(url, a.concurrency, a.n, tmp, spec) for spec in runs}
    finally:
        proc.terminate()
        proc.wait()
    print(f"fake endpoint: latency {a.latency * 1000:.0f} ms, concurrency {a.concurrency}, "
          f"ideal C/L = {ideal:.1f} requests/s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':40}{'requests':>9}{'seconds':>9}{'req/s':>8}{'ideal':>8}{'ratio':>7}")
    rows = [("raw client", sent, el, sent / el)]
    for spec, sp in sps.items():
        tag = "default" if spec else "speculate=0"
        rows += [(f"selfplay ({tag}), steady state", None, sp["window"], sp["steady"]),
                 (f"selfplay ({tag}), whole run, all sent", sp["sent"], sp["seconds"], sp["sent"] / sp["seconds"]),
                 (f"selfplay ({tag}), whole run, needed", sp["needed"], sp["seconds"], sp["needed"] / sp["seconds"])]
    for name, count, secs, rate in rows:
        print(f"{name:40}{count if count is not None else '':>9}{secs:>9.2f}{rate:>8.1f}{ideal:>8.1f}{rate / ideal:>7.2f}")
    for spec, sp in sps.items():
        print(f"selfplay ({'default' if spec else 'speculate=0'}) wrote {sp['written']} dialogs; "
              f"after the last dialog started, its tail took {sp['tail']:.2f}s; "
              f"{sp['sent'] - sp['needed']} requests went to dialogs after the last one kept")
    print("target: selfplay whole-run ratio on needed requests >= 0.90 (requests of dialogs after the last "
          "accepted one are waste, not throughput)")


if __name__ == "__main__":
    main()
