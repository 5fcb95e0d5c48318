"""Speed features that must not change results: outline --workers, the priority gate, extra dialogs."""

from __future__ import annotations

import asyncio
import json

import pytest

from dialogkit.errors import Issue
from dialogkit.synth import SynthReport
from dialogkit.synth.client import PriorityGate
from dialogkit.synth.journal import ItemResult, Journal, LiveOutput, OrderedRunner
from dialogkit.synth.outline import Decider, OutlineGenerator, generate, generate_lines
from dialogkit.synth.scenario import load_scenario


# --------------------------------------------------------------------------- outline workers
@pytest.mark.parametrize("scenario", ["support", "en_restaurant_hotel"])
def test_cli_workers_1_and_2_write_identical_bytes(run_cli, tmp_path, scenario):
    outs = {}
    for w in (1, 2):
        outs[w] = tmp_path / f"w{w}.jsonl"
        r = run_cli("synth", "--scenario", scenario, "--n", "150", "--seed", "5", "--workers", str(w),
                    "--out", outs[w])
        assert r.exit_code == 0, r.output
        assert "wrote 150 dialogs" in r.stderr
    one, two = outs[1].read_bytes(), outs[2].read_bytes()
    assert one == two
    ids = [json.loads(line)["id"] for line in one.splitlines()]
    assert len(ids) == 150 == len(set(ids))


def test_workers_report_the_same_counts_and_the_dicts_api_agrees():
    gen = OutlineGenerator(load_scenario("support"), seed=11)
    reports = {w: SynthReport() for w in (1, 2, 3)}
    lines = {w: generate_lines(gen, 120, reports[w], workers=w) for w in reports}
    assert lines[1] == lines[2] == lines[3]
    counts = {(r.attempts, r.failed, r.duplicates) for r in reports.values()}
    assert len(counts) == 1 and reports[1].duplicates > 0  # support repeats skeletons: dedup is exercised
    dicts = generate(gen, 120, SynthReport())
    assert [json.loads(line) for line in lines[1]] == dicts


def test_cli_workers_rejects_zero(run_cli, tmp_path):
    r = run_cli("synth", "--scenario", "support", "--n", "5", "--workers", "0", "--out", tmp_path / "o.jsonl")
    assert r.exit_code != 0 and "--workers" in r.output
    assert not (tmp_path / "o.jsonl").exists()


def test_decider_checks_an_unchecked_guess_that_was_not_a_duplicate():
    """A worker's 'probably a duplicate' (issues None) is re-made and checked by the parent when it is new."""
    redone = []

    def redo(i: int):
        redone.append(i)
        return i, f"line{i}".encode(), [], ("s2", "t2")

    report = SynthReport()
    d = Decider(3, report, redo=redo)
    d.take((1, b"line1", [], ("s1", "t1")))
    d.take((2, None, None, ("s1", "t9")))  # shares an accepted key: a duplicate, never redone
    d.take((3, None, None, ("s2", "t2")))  # guessed wrong: redone, then accepted
    d.take((4, None, [Issue("X", "bad")], ("s3", "t3")))
    assert redone == [3] and d.out == [b"line1", b"line3"]
    assert (report.duplicates, report.failed, d.last) == (1, 1, 4)


# ----------------------------------------------------------------------------- priority gate
def test_priority_gate_serves_lowest_priority_first_and_survives_cancellation():
    async def go() -> list[int]:
        gate = PriorityGate(1)
        order: list[int] = []
        await gate.acquire(0)  # the only slot is taken: everyone below waits

        async def user(p: int) -> None:
            await gate.acquire(p)
            order.append(p)
            await asyncio.sleep(0)
            gate.release()

        tasks = {p: asyncio.create_task(user(p)) for p in (5, 3, 9, 1, 3)}
        await asyncio.sleep(0.01)
        tasks[9].cancel()  # a waiter that gives up must not swallow a slot
        gate.release()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        assert gate.free == 1 and not gate._waiters
        return order

    assert asyncio.run(go()) == [1, 3, 3, 5]


# --------------------------------------------------------------------------- extra dialogs
def _run(tmp_path, name: str, extra: int) -> tuple[list[int], list[int]]:
    launched: list[int] = []

    async def work(i: int) -> ItemResult:
        launched.append(i)
        await asyncio.sleep(0.002 * (i % 5))
        if i % 3 == 0:
            return ItemResult(i, f"d{i}", None, "bad", ["X"])
        return ItemResult(i, f"d{i}", {"id": f"d{i}"})

    journal, live = Journal(tmp_path / f"{name}.journal"), LiveOutput(tmp_path / f"{name}.jsonl")
    runner = OrderedRunner(journal, live, slots=16, target=10, limit=100, first=1, extra=extra)
    try:
        asyncio.run(runner.run(lambda i: f"d{i}", work, lambda r: r))
    finally:
        journal.close()
        live.close()
    return [r.index for r in runner.accepted], launched


def test_extra_dialogs_start_sooner_but_never_change_what_is_kept(tmp_path):
    kept0, launched0 = _run(tmp_path, "a", extra=0)
    kept8, launched8 = _run(tmp_path, "b", extra=8)
    assert kept0 == kept8 == [1, 2, 4, 5, 7, 8, 10, 11, 13, 14]
    assert len(launched8) > len(launched0)  # the extra items ran (and were cancelled at the target)
    assert max(launched8) <= 14 + 16
