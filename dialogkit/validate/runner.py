"""Run the checks over a whole file: stream in chunks, fan out to workers, merge in order.

JSONL in dialogkit's own format is read in byte chunks cut at line ends; with ``--workers``
each worker reads, decodes and checks its own byte range (so reading and parsing scale too, and
the parent only merges small results), and ``--out`` receives each good line's original bytes,
untouched. Every other input goes through
:func:`dialogkit.formats.read_raw` in batches. Duplicates are found in the parent, in input
order, from the workers' compact signatures, so they stay global. At most ``2 x workers``
chunks are in flight: memory does not grow with the file.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from dialogkit.errors import InputError, Issue, UsageError
from dialogkit.io import AtomicWriter, Raw, dumps, ensure_not_input, reject_record
from dialogkit.validate.checker import Finding, Packed, RecordChecker, ValidateConfig, to_issue
from dialogkit.validate.chunks import (
    Chunk,
    byte_chunks,
    check_chunk,
    is_jsonl,
    parse_line,
    raw_chunks,
    span_chunks,
)
from dialogkit.validate.dedup import DedupIndex
from dialogkit.validate.rules import severity_of

EXAMPLES = 3


@dataclass
class Summary:
    """Counts for the report; ``by_code`` keeps the first few formatted examples of each code."""

    file: str
    format: str
    dialogs: int = 0
    clean: int = 0
    rejected: int = 0
    with_warnings: int = 0
    errors: int = 0
    warnings: int = 0
    by_code: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    workers: int = 1
    seconds: float = 0.0

    def add(self, issue: Issue) -> None:
        self.add_found(issue, issue.file or "", issue.line or 0, issue.record_id)

    def add_found(self, f: Finding | Issue, file: str, line: int, rid: str | None) -> bool:
        """Count one finding of the record at ``file:line``; True when it is an error."""
        if type(f) is Issue:
            code, severity = f.code, f.severity  # type: ignore[union-attr]
        else:
            code, severity = f[0], f[3]  # type: ignore[index]
        entry = self.by_code.get(code)
        if entry is None:
            entry = self.by_code[code] = {"severity": severity, "count": 0, "examples": []}
        entry["count"] += 1
        if len(entry["examples"]) < EXAMPLES:
            entry["examples"].append(to_issue(f, file, line, rid).format(noun="dialog"))
        if severity == "error":
            self.errors += 1
            return True
        self.warnings += 1
        return False

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["by_code"] = dict(sorted(self.by_code.items(), key=lambda kv: (kv[1]["severity"] != "error", -kv[1]["count"])))
        d["dialogs_per_s"] = round(self.dialogs / self.seconds) if self.seconds else None
        d["seconds"] = round(self.seconds, 3)
        return d


# ------------------------------------------------------------------------------------ workers
_CHECKER: RecordChecker | None = None


def _init_worker(config: dict[str, Any]) -> None:
    global _CHECKER
    _CHECKER = RecordChecker(ValidateConfig(**config))


def _work(payload: tuple[str, int | None, bytes | None, list[Raw] | None, tuple[int, int] | None]) -> tuple[int, list[Packed]]:
    """A chunk's packed verdicts and its number of newlines (a chunk whose first line is not
    known yet has its lines numbered from 1: the parent shifts them, knowing the lines before)."""
    assert _CHECKER is not None
    file, first_line, data, raws, span = payload
    if span is not None:
        with open(file, "rb") as fh:
            fh.seek(span[0])
            data = fh.read(span[1] - span[0])
    out, newlines = check_chunk(_CHECKER, file, first_line or 1, data, raws)
    # Plain tuples pickle several times faster than named ones: the parent's time is what
    # limits --workers.
    return newlines, [p if p[3] is None else (*p[:3], tuple(p[3]), *p[4:]) for p in out]  # type: ignore[misc]


def _shift(out: list[Packed], by: int) -> list[Packed]:
    """Verdicts numbered from a chunk's first line, renumbered from the file's."""
    if not by:
        return out
    shifted = []
    for p in out:
        found = p[2]
        if found and any(type(f) is Issue for f in found):
            found = [replace(f, line=f.line + by) if type(f) is Issue and f.line is not None else f for f in found]
        shifted.append((p[0] + by, p[1], found, *p[3:]))
    return shifted  # type: ignore[return-value]


def _results(chunks: Iterator[Chunk], config: ValidateConfig, workers: int) -> Iterator[tuple[Chunk, list[Packed]]]:
    if workers <= 1:
        checker = RecordChecker(config)
        line = 1
        for ch in chunks:
            if ch.first_line is None:
                ch.first_line = line
            out, newlines = check_chunk(checker, ch.file, ch.first_line, ch.data, ch.raws)
            line = ch.first_line + newlines
            yield ch, out
        return
    RecordChecker(config)  # fail fast (bad schema file, tokenizer) before starting processes
    # Signatures use hash(); forked workers share the parent's hash seed, others get a fixed one.
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else None)
    if ctx.get_start_method() != "fork":
        os.environ.setdefault("PYTHONHASHSEED", "0")
    next_line = 1

    def done(ch: Chunk, r: Any) -> tuple[Chunk, list[Packed]]:
        nonlocal next_line
        newlines, out = r.get()
        if ch.first_line is None:
            ch.first_line = next_line
            next_line += newlines
            out = _shift(out, ch.first_line - 1)
        return ch, out

    with ctx.Pool(workers, initializer=_init_worker, initargs=(config.model_dump(),)) as pool:
        window: deque[tuple[Chunk, Any]] = deque()
        for ch in chunks:
            window.append((ch, pool.apply_async(_work, (ch.payload(),))))
            if len(window) >= 2 * workers:
                yield done(*window.popleft())
        while window:
            yield done(*window.popleft())


# ------------------------------------------------------------------------------------ running
@dataclass
class Outputs:
    """Where clean, rejected and redacted records go (any may be None)."""

    out: str | None = None
    rejects: str | None = None
    redact: str | None = None

    def check(self, inp: Path) -> None:
        paths = [p for p in (self.out, self.rejects, self.redact) if p]
        for p in paths:
            ensure_not_input(p, [inp])
        if len({Path(p).resolve() for p in paths}) != len(paths):
            raise UsageError("--out, --rejects and --redact must be different files")


def _original(ch: Chunk, index: int, line: int, lines: list[bytes] | None) -> tuple[bytes, Raw | None]:
    """The record's bytes as read (JSONL) or as canonical JSON (other formats), and its Raw if known."""
    if lines is not None:
        return lines[line - ch.first_line].rstrip(b"\r"), None
    assert ch.raws is not None
    raw = ch.raws[index]  # results come in the chunk's order (array records may share a line)
    return (dumps(raw.data) if raw.ok else b""), raw


def validate_file(
    path: str | Path,
    config: ValidateConfig | None = None,
    *,
    fmt: str = "dialogkit",
    outputs: Outputs | None = None,
    workers: int = 1,
    on_issue: Callable[[Issue], None] | None = None,
) -> Summary:
    """Check every record of ``path``; write clean/rejected/redacted copies; return the summary.

    Args:
        path: the input file (any format ``read_raw`` knows, chosen by ``fmt``).
        config: which rules run and how.
        outputs: ``--out`` gets exactly the records without errors (warnings kept), ``--rejects``
            every other record with its issues, ``--redact`` every readable record with PII replaced.
        workers: processes; 1 checks in this process.
        on_issue: called with every issue, in input order.
    """
    config = config or ValidateConfig()
    outputs = outputs or Outputs()
    inp = Path(path)
    outputs.check(inp)
    jsonl = is_jsonl(inp, fmt)
    if jsonl and not inp.is_file():
        raise InputError(f"{path}: {'is a folder; give a file (or a format that reads folders)' if inp.is_dir() else 'no such file'}")
    if not jsonl:
        chunks = raw_chunks(inp, fmt)
    elif workers > 1 and inp.suffix.lower() != ".gz":
        chunks = span_chunks(inp)  # workers read their own ranges: the parent only merges
    else:
        chunks = byte_chunks(inp)
    summary = Summary(str(path), fmt, disabled=sorted(config.disabled), workers=max(1, workers))
    dedup = DedupIndex(
        config.near_threshold,
        exact="DUPLICATE_EXACT" not in config.disabled,
        near="DUPLICATE_NEAR" not in config.disabled,
        ids="ID_DUPLICATE" not in config.disabled,
    )
    start = time.perf_counter()
    with ExitStack() as stack:
        files = {k: stack.enter_context(AtomicWriter(p)) for k, p in vars(outputs).items() if p}
        counts = {k: 0 for k in files}
        for ch, results in _results(chunks, config, workers):
            if files:
                ch.read()
            if files:
                lines = ch.data.split(b"\n") if ch.data is not None else None
                for index, p in enumerate(results):
                    _merge(p, ch, index, lines, dedup, config, summary, files, counts, on_issue)
            else:
                _count_chunk(results, ch, dedup, config, summary, on_issue)
    summary.seconds = time.perf_counter() - start
    for k, p in vars(outputs).items():
        if p:
            summary.outputs[k] = {"path": p, "records": counts[k]}
    return summary


def _count_chunk(results: list[Packed], ch: Chunk, dedup: DedupIndex, config: ValidateConfig, summary: Summary,
                 on_issue: Callable[[Issue], None] | None) -> None:
    """:func:`_merge` for a run without output files, with its common case inline: a record
    without findings, or with only warnings of codes whose examples are all collected."""
    check, by_code = dedup.check, summary.by_code
    for index, p in enumerate(results):
        found = p[2]
        if p[3] is not None and (extra := check(p[0], p[1], p[3])):
            # a duplicate: the general path (it asks the index again, so give it the answer)
            p = (p[0], p[1], found + [(c, m, path, severity_of(c, config.warn)) for c, path, m in extra
                                       if c not in config.disabled], None, *p[4:])  # type: ignore[assignment]
            _merge(p, ch, index, None, dedup, config, summary, {}, {}, on_issue)
            continue
        if on_issue is None and found:
            for f in found:
                entry = by_code.get(f[0]) if type(f) is tuple and f[3] == "warning" else None
                if entry is None or len(entry["examples"]) < EXAMPLES:
                    break
            else:
                for f in found:
                    by_code[f[0]]["count"] += 1
                summary.warnings += len(found)
                summary.dialogs += 1
                summary.clean += 1
                summary.with_warnings += 1
                continue
        elif not found:
            summary.dialogs += 1
            summary.clean += 1
            continue
        _merge((*p[:3], None, *p[4:]), ch, index, None, dedup, config, summary, {}, {}, on_issue)  # type: ignore[arg-type]


def _merge(p: Packed, ch: Chunk, index: int, lines: list[bytes] | None,
           dedup: DedupIndex, config: ValidateConfig, summary: Summary, files: dict[str, IO[bytes]],
           counts: dict[str, int], on_issue: Callable[[Issue], None] | None) -> None:
    line, rid, found, sig, redacted, is_object, file = p
    if sig is not None:
        extra = dedup.check(line, rid, sig)
        if extra:
            found = found + [(c, m, path, severity_of(c, config.warn)) for c, path, m in extra if c not in config.disabled]
    summary.dialogs += 1
    bad = False
    if found:
        by_code = summary.by_code
        for f in found:
            entry = by_code.get(f[0]) if type(f) is tuple else None
            if entry is None or len(entry["examples"]) < EXAMPLES:
                bad = summary.add_found(f, file, line, rid) or bad
                continue
            entry["count"] += 1  # add_found's work once a code has all its examples
            if f[3] == "error":
                summary.errors += 1
                bad = True
            else:
                summary.warnings += 1
        if on_issue is not None or (bad and "rejects" in files):
            issues = [to_issue(f, file, line, rid) for f in found]
            if on_issue is not None:
                for issue in issues:
                    on_issue(issue)
    if bad:
        summary.rejected += 1
    else:
        summary.clean += 1
        summary.with_warnings += bool(found)
    if not files:
        return
    original, raw = _original(ch, index, line, lines)
    if bad and "rejects" in files:
        raw = raw or parse_line(ch.file, line, original)
        files["rejects"].write(dumps(reject_record(raw, issues)) + b"\n")
        counts["rejects"] += 1
    elif not bad and "out" in files:
        files["out"].write(original + b"\n")
        counts["out"] += 1
    if "redact" in files and is_object:
        files["redact"].write((redacted or original) + b"\n")
        counts["redact"] += 1
