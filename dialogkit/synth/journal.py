"""Crash-safe storage for LLM synthesis: an append-only request journal and a live output file.

Both are JSON lines appended with ``os.write`` on an ``O_APPEND`` descriptor and made durable
with ``fsync`` before :meth:`AppendLog.append` returns. Concurrent writers share one fsync
(group commit): a record is durable once *some* fsync started after it was written, so with
C requests in flight the disk sees far fewer than C syncs while every caller still waits for
its own record. A ``kill -9`` can only leave a torn last line; it is cut off when the file is
opened again, so appending never glues a new record onto half an old one.

The journal (``OUT.journal``) holds, in order:

- ``{"t": "run", ...}``: the run configuration (checked on resume) and each restart;
- ``{"t": "req", "key": K, ...}``: a request about to be sent (meta only, not the body);
- ``{"t": "resp", "key": K, "body": {...}}``: an answer, written *before* it is used, so a
  resumed run never pays for it again (``K`` is the sha256 of the canonical request);
- ``{"t": "fail", "key": K, "code": ..., "message": ...}``: a request that ran out of retries;
- ``{"t": "bad", "key": K, "code": ...}``: one unusable attempt (malformed body, bad tool call);
- ``{"t": "item", "id": ..., "index": i, "status": "ok" | "failed", ...}``: a finished dialog.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dialogkit.errors import InputError
from dialogkit.io import dumps


def request_key(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a request (sorted keys, compact): stable across processes."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)).hexdigest()


class AppendLog:
    """An append-only JSONL file, one fsync'd record per :meth:`append`, tolerant of a torn tail."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records, self.torn, self.corrupt = self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._wlock = threading.Lock()
        self._slock = threading.Lock()
        self._written = 0
        self._synced = 0
        self.syncs = 0

    def _load(self) -> tuple[list[Any], bool, int]:
        if not self.path.exists():
            return [], False, 0
        blob = self.path.read_bytes()
        good_end = blob.rfind(b"\n") + 1  # everything after the last newline is a torn record
        records: list[Any] = []
        corrupt = 0
        for line in blob[:good_end].splitlines():
            if not line.strip():
                continue
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                corrupt += 1  # a damaged line inside the file: skipped, never fatal
        torn = good_end < len(blob)
        if torn:
            try:
                os.truncate(self.path, good_end)
            except OSError as e:
                raise InputError(f"{self.path}: cannot cut off a torn last record: {e}") from e
        return records, torn, corrupt

    def append(self, record: Any, sync: bool = True) -> None:
        """Write ``record`` and, unless ``sync`` is false, return only once it is on disk.

        An unsynced record (a request about to be sent) becomes durable with the next synced one.
        """
        data = dumps(record) + b"\n"
        with self._wlock:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            self._written += 1
            mine = self._written
        if not sync:
            return
        with self._slock:
            if self._synced >= mine:
                return  # another writer's fsync already covered this record
            covered = self._written
            os.fsync(self._fd)
            self.syncs += 1
            self._synced = max(self._synced, covered)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Journal:
    """The request journal of one run: answers by request key, failures, finished items."""

    def __init__(self, path: str | Path):
        self.log = AppendLog(path)
        self.path = self.log.path
        self.responses: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.runs: list[dict[str, Any]] = []
        self.bad = 0
        for rec in self.log.records:
            self._index(rec)
        self.log.records = []  # indexed; the raw list is not kept in memory
        self._pool: ThreadPoolExecutor | None = None

    def _index(self, rec: Any) -> None:
        if not isinstance(rec, dict):
            return
        t = rec.get("t")
        if t == "resp" and isinstance(rec.get("key"), str):
            self.responses[rec["key"]] = rec
        elif t == "fail" and isinstance(rec.get("key"), str):
            self.failures[rec["key"]] = rec
        elif t == "item" and rec.get("id") is not None:
            self.items[str(rec["id"])] = rec
        elif t == "run":
            self.runs.append(rec)
        elif t == "bad":
            self.bad += 1

    @property
    def torn(self) -> bool:
        return self.log.torn

    def config(self) -> dict[str, Any] | None:
        """The configuration of the latest run (runs that produced data all share it)."""
        return self.runs[-1].get("config") if self.runs else None

    def append(self, rec: dict[str, Any]) -> None:
        self.log.append(rec)
        self._index(rec)

    async def aappend(self, rec: dict[str, Any]) -> None:
        """:meth:`append` off the event loop, so an fsync never stalls the other dialogs."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="journal")
        await asyncio.get_running_loop().run_in_executor(self._pool, self.append, rec)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.log.close()


class LiveOutput:
    """Finished dialogs appended as they come (crash-safe), de-duplicated by id when read back."""

    def __init__(self, path: str | Path):
        self.log = AppendLog(path)
        self.path = self.log.path
        self.dialogs: dict[str, dict[str, Any]] = {}
        for rec in self.log.records:
            if isinstance(rec, dict) and rec.get("id") is not None:
                self.dialogs.setdefault(str(rec["id"]), rec)
        self.log.records = []
        self._pool: ThreadPoolExecutor | None = None

    async def aappend(self, dialog: dict[str, Any]) -> None:
        if str(dialog["id"]) in self.dialogs:
            return
        self.dialogs[str(dialog["id"])] = dialog
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="live-out")
        await asyncio.get_running_loop().run_in_executor(self._pool, self.log.append, dialog)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.log.close()


def journal_path(out: str | Path) -> Path:
    """``OUT.journal`` beside the output file."""
    p = Path(out)
    return p.with_name(p.name + ".journal")


def live_path(out: str | Path) -> Path:
    """Where finished dialogs are appended during the run: OUT itself when it is ``.jsonl``."""
    p = Path(out)
    if p.name.endswith(".jsonl"):
        return p
    return p.with_name(p.name + ".live.jsonl")


# ------------------------------------------------------------------------------- scheduling
@dataclass
class ItemResult:
    """How one dialog (or one input record) ended."""

    index: int
    id: str
    dialog: dict[str, Any] | None = None  # set when valid
    reason: str | None = None  # why it was dropped
    codes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # written to the journal's item record

    @property
    def ok(self) -> bool:
        return self.dialog is not None


def describe(issue: Any) -> str:
    """An issue's ``path: message`` (the record id and code are added where it is reported)."""
    return f"{issue.path}: {issue.message}" if issue.path else issue.message


class OrderedRunner:
    """Runs items concurrently but decides them in index order, resumably.

    Items are launched in index order, at most ``slots`` at a time, and only while the ones
    accepted or still running (counted at the acceptance rate so far) could fall short of
    ``target``. Results are *decided*
    (``accept``: validity, near-duplicates) strictly in index order, so the accepted set is the
    first ``target`` good items whatever the timing was: the same inputs and answers give the
    same output. Items already in the live output or marked failed in the journal are decided
    without running; an item marked ok but missing from the output is run again, which only
    reads the journal.

    ``extra``: start up to this many items beyond those expected to be needed. Near the end of
    a run they replace dropped items before the drops are known, so the last dialogs do not run
    alone one after another (a long tail of idle request slots); the price is the requests of
    extra items still running, or finished, when the target is met (cancelled; their answers
    stay in the journal for a later, larger run). Worth it only when the requests of lower
    indexes are served first (``ChatClient.complete(priority=index)``), so extra items only use
    slots nobody else is waiting for.
    """

    def __init__(self, journal: Journal, live: LiveOutput, slots: int, target: int | None, limit: int,
                 retry_failed: bool = False, first: int = 0, extra: int = 0):
        self.journal = journal
        self.extra = extra
        self.live = live
        self.slots = slots
        self.target = target
        self.limit = limit
        self.retry_failed = retry_failed
        self.first = first
        self.accepted: list[ItemResult] = []
        self.dropped: list[ItemResult] = []
        self.reused = 0

    def _known(self, index: int, item_id: str) -> ItemResult | None:
        d = self.live.dialogs.get(item_id)
        if d is not None:
            self.reused += 1
            return ItemResult(index, item_id, d)
        rec = self.journal.items.get(item_id)
        if rec is not None and rec.get("status") == "failed" and not self.retry_failed:
            self.reused += 1
            return ItemResult(index, item_id, None, rec.get("reason"), list(rec.get("codes") or []))
        return None

    async def _record(self, res: ItemResult) -> ItemResult:
        if res.ok:
            await self.live.aappend(res.dialog)  # the dialog first: an ok record always has its dialog
        rec = {"t": "item", "id": res.id, "index": res.index, "status": "ok" if res.ok else "failed", **res.info}
        if not res.ok:
            rec.update(reason=res.reason, codes=res.codes)
        await self.journal.aappend(rec)
        return res

    async def run(self, ids: Callable[[int], str], work: Callable[[int], Awaitable[ItemResult]],
                  accept: Callable[[ItemResult], ItemResult],
                  progress: Callable[[int, int], None] | None = None) -> None:
        """Process items ``first`` .. ``first + limit - 1`` (or until ``target`` are accepted)."""
        done: dict[int, ItemResult] = {}
        running: dict[asyncio.Future[ItemResult], int] = {}
        nxt = frontier = self.first
        end = self.first + self.limit

        def enough() -> bool:
            return self.target is not None and len(self.accepted) >= self.target

        def short(waiting_ok: int) -> bool:
            # Running items are counted at the acceptance rate seen so far, so a run that drops
            # many (failures, duplicates) keeps its slots busy instead of finishing one by one.
            decided = len(self.accepted) + len(self.dropped)
            rate = len(self.accepted) / decided if decided >= 8 else 1.0
            expected = len(self.accepted) + waiting_ok + len(running) * max(rate, 0.1)
            return self.target is None or expected < self.target + self.extra

        try:
            while not enough() and (frontier < end):
                waiting_ok = sum(1 for r in done.values() if r.ok)
                while nxt < end and len(running) < self.slots and short(waiting_ok):
                    known = self._known(nxt, ids(nxt))
                    if known is not None:
                        done[nxt] = known
                        waiting_ok += known.ok
                    else:
                        running[asyncio.ensure_future(self._run_one(nxt, work))] = nxt
                    nxt += 1
                while frontier in done and not enough():
                    res = accept(done.pop(frontier))
                    (self.accepted if res.ok else self.dropped).append(res)
                    frontier += 1
                    if progress is not None:
                        progress(len(self.accepted), len(self.dropped))
                if enough() or frontier >= end or frontier in done:
                    continue
                if not running:
                    if nxt >= end:
                        break
                    continue
                fin, _ = await asyncio.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
                for t in fin:
                    done[running.pop(t)] = t.result()
        finally:
            for t in running:
                t.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _run_one(self, index: int, work: Callable[[int], Awaitable[ItemResult]]) -> ItemResult:
        return await self._record(await work(index))
