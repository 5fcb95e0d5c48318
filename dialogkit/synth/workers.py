"""``synth --mode outline --workers N``: dialogs made by N processes, bytes independent of N.

Each dialog is a pure function of (seed, index) (see :mod:`dialogkit.synth.outline`), so
workers can make any index; the parent takes chunks back in index order and decides them
with the same :class:`~dialogkit.synth.outline.Decider` a single process uses. Workers send
JSONL bytes, dedup keys and check errors (cheap to pickle), so the parent only compares keys
and keeps bytes. At most ``2 * workers`` chunks are out at a time, and none is handed out once
N dialogs are accepted: little work is made beyond the last dialog kept.

Workers are forked where the platform can (they inherit the generator, with its tables and
compiled schemas already built: no start-up cost); elsewhere they are spawned and rebuild it
from the scenario file.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from dialogkit.errors import DialogkitError, Issue
from dialogkit.io import dumps
from dialogkit.synth import SynthReport
from dialogkit.synth.check import check_dialog
from dialogkit.synth.dedup import skeleton_key, text_key
from dialogkit.synth.outline import Attempt, Decider, OutlineGenerator, TurnLimit, attempt

CHUNK = 32  # indices per task: large enough to amortise pickling, small enough to stop soon

# The generator of this worker process: (scenario path, seed, lang) -> generator.
_GEN: dict[tuple[str, int, str | None], OutlineGenerator] = {}


def _key(gen: OutlineGenerator) -> tuple[str, int, str | None]:
    return str(gen.sc.path), gen.seed, gen.langs[0] if len(gen.langs) == 1 else None


def _init(key: tuple[str, int, str | None]) -> None:
    if key not in _GEN:  # spawned: build it; forked: inherited from the parent
        from dialogkit.synth.scenario import load_scenario

        _GEN.clear()
        _GEN[key] = OutlineGenerator(load_scenario(key[0]), key[1], key[2])


# Skeleton keys of the dialogs this worker made that passed the checks. A later dialog with one
# of them is almost surely a near-duplicate the parent drops, so it is sent back unchecked (the
# checks are most of a dialog's cost); in the rare case the parent keeps it after all (its
# earlier twin was itself dropped for a different key) the parent makes and checks it again.
_PASSED: set[str] = set()


def _chunk(key: tuple[str, int, str | None], start: int, stop: int) -> list[Attempt]:
    gen = _GEN[key]
    out = []
    for i in range(start, stop):
        try:
            d = gen.dialog(i)
        except TurnLimit as e:
            out.append((i, None, [Issue("TURN_LIMIT", str(e), record_id=f"{gen.spec.name}-{gen.seed}-{i:06d}")], ()))
            continue
        keys = (skeleton_key(d), text_key(d))
        if keys[0] in _PASSED:
            out.append((i, None, None, keys))
            continue
        issues = check_dialog(d, external=False, trusted_tools=gen.tools)
        if not issues:
            _PASSED.add(keys[0])
        out.append((i, None if issues else dumps(d), issues, keys))
    return out


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def generate_parallel(gen: OutlineGenerator, n: int, report: SynthReport, progress: Any, limit: int,
                      workers: int) -> list[bytes]:
    """N dialogs as JSONL lines, made by ``workers`` processes, decided in index order."""
    key = _key(gen)
    _GEN.clear()
    _GEN[key] = gen  # what a forked worker inherits
    _PASSED.clear()
    decider = Decider(n, report, progress, redo=lambda i: attempt(gen, i, None, serialize=True))
    pending: deque[Future[list[Attempt]]] = deque()
    nxt = 1
    # Forked workers share the parent's memory copy-on-write; a garbage collection in a worker
    # would walk (and so copy) every inherited object. Frozen objects are never collected.
    gc.freeze()
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init, initargs=(key,)) as pool:
        try:
            while True:
                while nxt <= limit and len(pending) < 2 * workers and not decider.done:
                    stop = min(nxt + CHUNK, limit + 1)
                    pending.append(pool.submit(_chunk, key, nxt, stop))
                    nxt = stop
                    gc.unfreeze()  # the first submit has forked every worker
                if not pending or decider.done:
                    break
                try:
                    chunk = pending.popleft().result()
                except BrokenProcessPool as e:  # a worker killed (OOM, signal): a message, not a traceback
                    raise DialogkitError(f"synth --workers {workers}: a worker process died ({e}); "
                                         "rerun with fewer workers or --workers 1") from e
                for a in chunk:
                    decider.take(a)
                    if decider.done:
                        break
        finally:
            gc.unfreeze()
            for f in pending:
                f.cancel()
    _GEN.clear()
    report.attempts = decider.last
    return decider.out
