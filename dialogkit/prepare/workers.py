"""Chunks of records -> rows, in this process or in forked workers (``prepare --workers N``).

The parent stays light: for a plain ``.jsonl`` file in dialogkit's format it only splits the
file into lines and ships the undecoded bytes; workers decode, validate, render and tokenize.
Workers are forked after the tokenizer is loaded and the template compiled, so they inherit
them instead of loading them again, and they send back compact rows (``array('i')``).
"""

from __future__ import annotations

import contextlib
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue, RecordError
from dialogkit.io import Raw, raw_from_line
from dialogkit.prepare.config import PrepareReport
from dialogkit.prepare.engine import Preparer
from dialogkit.prepare.rows import Row
from dialogkit.records import parse_dialog

CHUNK = 128  # records per task: fewer, larger messages cost the parent less (measured)
_WORKER: Preparer | None = None


def install(preparer: Preparer | None) -> None:
    """The preparer chunks run with (set before workers fork: they inherit it)."""
    global _WORKER
    _WORKER = preparer


@dataclass
class ChunkResult:
    rows: list[Row] = field(default_factory=list)
    report: PrepareReport = field(default_factory=PrepareReport)
    issues: list[Issue] = field(default_factory=list)
    bad: list[tuple[int, list[Issue]]] = field(default_factory=list)  # (position in chunk, issues)
    undecodable: list[int] = field(default_factory=list)  # positions of shipped lines that aren't JSON


def run_chunk(chunk: list[tuple[str, int, Any]]) -> ChunkResult:
    """Rows of one chunk of ``(file, line, record or undecoded line bytes)``."""
    from dialogkit.prepare.pipeline import process_dialog

    assert _WORKER is not None
    out = ChunkResult()
    for pos, (file, line, data) in enumerate(chunk):
        if isinstance(data, bytes):
            raw = raw_from_line(file, line, data)
            if not raw.ok:
                out.undecodable.append(pos)
                continue
            data = raw.data
        where = {"file": file, "line": line}
        try:
            dialog = parse_dialog(data, **where)
        except RecordError as e:
            out.report.dialogs += 1
            out.report.bad_dialogs += 1
            out.bad.append((pos, e.issues))
            continue
        where["record_id"] = dialog.id
        before = len(out.issues)
        bad_before = out.report.bad_dialogs
        rows = process_dialog(_WORKER, dialog, out.report, out.issues, where)
        if out.report.bad_dialogs > bad_before:
            out.bad.append((pos, out.issues[before:]))
            del out.issues[before:]
        # compact for the trip to the parent; the audit trail (spans, context) stays here
        out.rows += [Row(array("i", r.input_ids), array("i", r.labels), r.dialog_id, r.turn) for r in rows]
    return out


def plain_jsonl(path: str | Path, fmt: str) -> bool:
    """Whether ``path`` can be shipped as undecoded lines (dialogkit records in a plain .jsonl)."""
    p = Path(path)
    return fmt == "dialogkit" and p.suffix.lower() == ".jsonl" and p.is_file()


def iter_lines(path: str | Path) -> Iterator[tuple[str, int, bytes]]:
    """``(file, line number, line bytes)`` of the non-blank lines, as ``iter_jsonl`` numbers them."""
    name = str(path)
    with Path(path).open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                yield name, lineno, line


def chunks(items: Iterable[Raw | tuple[str, int, bytes]], bad: list[tuple[Raw, list[Issue]]]) -> Iterator[list[Any]]:
    """Payloads of up to :data:`CHUNK` records; records that failed to decode go to ``bad``."""
    buf: list[Any] = []
    for item in items:
        if isinstance(item, Raw):
            if not item.ok:
                bad.append((item, [item.issue]))  # type: ignore[list-item]
                continue
            item = (item.file, item.line, item.data)
        buf.append(item)
        if len(buf) >= CHUNK:
            yield buf
            buf = []
    if buf:
        yield buf


def as_raw(item: tuple[str, int, Any]) -> Raw:
    """The :class:`Raw` of a payload item (decoding a shipped line again: only for bad records)."""
    file, line, data = item
    return raw_from_line(file, line, data) if isinstance(data, bytes) else Raw(file, line, data)


@contextlib.contextmanager
def pool(workers: int) -> Iterator[Any]:
    """A fork pool of ``workers`` processes (None for one: work in this process)."""
    if workers <= 1:
        yield None
        return
    import multiprocessing as mp

    # fork: workers inherit the loaded tokenizer and compiled template instead of reloading them
    with mp.get_context("fork").Pool(workers) as p:
        yield p


def results(payloads: Iterator[list[Any]], workers: Any) -> Iterator[tuple[list[Any], ChunkResult]]:
    """``(payload, result)`` per chunk, in input order."""
    if workers is None:
        for payload in payloads:
            yield payload, run_chunk(payload)
        return
    pending: deque[list[Any]] = deque()

    def sent() -> Iterator[list[Any]]:
        for payload in payloads:
            pending.append(payload)
            yield payload

    for res in workers.imap(run_chunk, sent(), chunksize=1):
        yield pending.popleft(), res
