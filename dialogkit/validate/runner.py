"""Run the checks over a whole file: stream in chunks, fan out to workers, merge in order.

JSONL in dialogkit's own format is read in byte chunks cut at line ends: workers decode and
check their chunk (so parsing scales with ``--workers`` too), and ``--out`` receives each good
line's original bytes, untouched. Every other input goes through
:func:`dialogkit.formats.read_raw` in batches. Duplicates are found in the parent, in input
order, from the workers' compact signatures, so they stay global. At most ``2 x workers``
chunks are in flight: memory does not grow with the file.
"""

from __future__ import annotations

import gzip
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from dialogkit.errors import InputError, Issue, UsageError
from dialogkit.formats import read_raw
from dialogkit.io import AtomicWriter, Raw, _decode_issue, dumps, ensure_not_input, reject_record
from dialogkit.validate.checker import RecordChecker, Result, ValidateConfig, issue_from
from dialogkit.validate.dedup import DedupIndex
from dialogkit.validate.quality import Signature

CHUNK_BYTES = 1 << 20
RAW_BATCH = 512
EXAMPLES = 3


@dataclass
class Chunk:
    """A piece of the input: raw JSONL bytes (with the line number of its first line) or records."""

    file: str
    first_line: int = 1
    data: bytes | None = None
    raws: list[Raw] | None = None

    def payload(self) -> tuple[str, int, bytes | None, list[Raw] | None]:
        return (self.file, self.first_line, self.data, self.raws)


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
        entry = self.by_code.get(issue.code)
        if entry is None:
            entry = self.by_code[issue.code] = {"severity": issue.severity, "count": 0, "examples": []}
        entry["count"] += 1
        if len(entry["examples"]) < EXAMPLES:
            entry["examples"].append(issue.format(noun="dialog"))
        if issue.severity == "error":
            self.errors += 1
        else:
            self.warnings += 1

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["by_code"] = dict(sorted(self.by_code.items(), key=lambda kv: (kv[1]["severity"] != "error", -kv[1]["count"])))
        d["dialogs_per_s"] = round(self.dialogs / self.seconds) if self.seconds else None
        d["seconds"] = round(self.seconds, 3)
        return d


# ------------------------------------------------------------------------------------ reading
def _is_jsonl(path: Path, fmt: str) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return fmt == "dialogkit" and not (
        suffixes and (suffixes[-1] in (".parquet", ".json") or suffixes[-2:] == [".json", ".gz"])
    )


def _byte_chunks(path: Path) -> Iterator[Chunk]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    name, line, rest = str(path), 1, b""
    with opener(path, "rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            buf = rest + block
            cut = buf.rfind(b"\n") + 1
            if not cut:
                rest = buf
                continue
            buf, rest = buf[:cut], buf[cut:]
            yield Chunk(name, line, data=buf)
            line += buf.count(b"\n")
    if rest:
        yield Chunk(name, line, data=rest)


def _raw_chunks(path: Path, fmt: str) -> Iterator[Chunk]:
    batch: list[Raw] = []
    for raw in read_raw(path, fmt):
        batch.append(raw)
        if len(batch) >= RAW_BATCH:
            yield Chunk(str(path), raws=batch)
            batch = []
    if batch:
        yield Chunk(str(path), raws=batch)


def parse_line(name: str, lineno: int, line: bytes) -> Raw:
    """One JSONL line as :func:`dialogkit.io.iter_jsonl` reads it."""
    try:
        return Raw(name, lineno, orjson.loads(line))
    except orjson.JSONDecodeError as e:
        issue = _decode_issue(line, e).located(file=name, line=lineno)
        return Raw(name, lineno, None, issue, line.decode("utf-8", "replace").rstrip("\n"))


def _chunk_raws(file: str, first_line: int, data: bytes | None, raws: list[Raw] | None) -> Iterator[Raw]:
    if raws is not None:
        yield from raws
        return
    assert data is not None
    for k, line in enumerate(data.split(b"\n")):
        if line.strip():
            yield parse_line(file, first_line + k, line)


# ------------------------------------------------------------------------------------ workers
_CHECKER: RecordChecker | None = None


def _init_worker(config: dict[str, Any]) -> None:
    global _CHECKER
    _CHECKER = RecordChecker(ValidateConfig(**config))


def _work(payload: tuple[str, int, bytes | None, list[Raw] | None]) -> list[tuple[Any, ...]]:
    assert _CHECKER is not None
    return [_pack(_CHECKER.check(raw)) for raw in _chunk_raws(*payload)]


# Results cross the process boundary as plain tuples: unpickling dataclasses costs the parent
# several times more, and the parent's time is what limits --workers.
def _pack(r: Result) -> tuple[Any, ...]:
    issues = [(i.code, i.message, i.file, i.path, i.severity) for i in r.issues]
    return (r.line, r.id, issues, tuple(r.sig) if r.sig is not None else None, r.redacted, r.is_object)


def _unpack(t: tuple[Any, ...]) -> Result:
    line, rid, issues, sig, redacted, is_object = t
    return Result(line, rid, [Issue(c, m, f, line, rid, p, s) for c, m, f, p, s in issues],
                  Signature(*sig) if sig is not None else None, redacted, is_object)


def _results(chunks: Iterator[Chunk], config: ValidateConfig, workers: int) -> Iterator[tuple[Chunk, list[Result]]]:
    if workers <= 1:
        checker = RecordChecker(config)
        for ch in chunks:
            yield ch, [checker.check(raw) for raw in _chunk_raws(*ch.payload())]
        return
    RecordChecker(config)  # fail fast (bad schema file, tokenizer) before starting processes
    # Signatures use hash(); forked workers share the parent's hash seed, others get a fixed one.
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else None)
    if ctx.get_start_method() != "fork":
        os.environ.setdefault("PYTHONHASHSEED", "0")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(config.model_dump(),)) as pool:
        window: deque[tuple[Chunk, Any]] = deque()
        for ch in chunks:
            window.append((ch, pool.apply_async(_work, (ch.payload(),))))
            if len(window) >= 2 * workers:
                c, r = window.popleft()
                yield c, [_unpack(t) for t in r.get()]
        while window:
            c, r = window.popleft()
            yield c, [_unpack(t) for t in r.get()]


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
    jsonl = _is_jsonl(inp, fmt)
    if jsonl and not inp.is_file():
        raise InputError(f"{path}: {'is a folder; give a file (or a format that reads folders)' if inp.is_dir() else 'no such file'}")
    chunks = _byte_chunks(inp) if jsonl else _raw_chunks(inp, fmt)
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
            lines = ch.data.split(b"\n") if ch.data is not None and files else None
            for index, res in enumerate(results):
                _merge(res, ch, index, lines, dedup, config, summary, files, counts, on_issue)
    summary.seconds = time.perf_counter() - start
    for k, p in vars(outputs).items():
        if p:
            summary.outputs[k] = {"path": p, "records": counts[k]}
    return summary


def _merge(res: Result, ch: Chunk, index: int, lines: list[bytes] | None,
           dedup: DedupIndex, config: ValidateConfig, summary: Summary, files: dict[str, IO[bytes]],
           counts: dict[str, int], on_issue: Callable[[Issue], None] | None) -> None:
    issues = res.issues
    if res.sig is not None:
        extra = dedup.check(res.line, res.id, res.sig)
        if extra:
            issues = issues + [issue_from(c, p, m, res.line, ch.file, res.id, config.warn)
                               for c, p, m in extra if c not in config.disabled]
    summary.dialogs += 1
    bad = False
    for issue in issues:
        summary.add(issue)
        bad = bad or issue.severity == "error"
        if on_issue is not None:
            on_issue(issue)
    if bad:
        summary.rejected += 1
    else:
        summary.clean += 1
        summary.with_warnings += bool(issues)
    if not files:
        return
    original, raw = _original(ch, index, res.line, lines)
    if bad and "rejects" in files:
        raw = raw or parse_line(ch.file, res.line, original)
        files["rejects"].write(dumps(reject_record(raw, issues)) + b"\n")
        counts["rejects"] += 1
    elif not bad and "out" in files:
        files["out"].write(original + b"\n")
        counts["out"] += 1
    if "redact" in files and res.is_object:
        files["redact"].write((res.redacted or original) + b"\n")
        counts["redact"] += 1
