"""Streaming readers and atomic writers.

Every record read keeps its file and 1-based line, so any later stage can say exactly where
a defect is. A line that cannot be decoded becomes a :class:`Raw` with an issue instead of
an exception: one bad line never stops the good ones. Writers go through a temp file and
``os.replace``, so a crash leaves either the old file or the complete new one, and they
refuse to overwrite an input.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from dialogkit.errors import InputError, Issue, OutputError
from dialogkit.records import record_id

PARQUET_BATCH = 2048


@dataclass(slots=True)
class Raw:
    """One record as read: decoded JSON, or the issue that stopped its decoding."""

    file: str
    line: int
    data: Any = None
    issue: Issue | None = None
    text: str | None = None  # the undecodable line, kept for the rejects file

    @property
    def ok(self) -> bool:
        return self.issue is None

    @property
    def id(self) -> str | None:
        return record_id(self.data)

    def where(self) -> dict[str, Any]:
        """Location keyword arguments for :class:`Issue`."""
        return {"file": self.file, "line": self.line, "record_id": self.id}


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; Chinese stays readable (no ``\\uXXXX`` escapes)."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def _decode_issue(line: bytes, err: Exception) -> Issue:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return Issue(code="UTF8_INVALID", message=f"invalid UTF-8 at byte {e.start}")
    msg = str(err)
    code = "JSON_TRUNCATED" if "unexpected end of data" in msg or "EOF" in msg else "JSON_INVALID"
    return Issue(code=code, message=f"not valid JSON: {msg}")


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def iter_jsonl(path: str | Path) -> Iterator[Raw]:
    """Stream a JSONL (or .jsonl.gz) file, one :class:`Raw` per non-blank line."""
    p = Path(path)
    name = str(path)
    with _open_binary(p) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                # Without its newline a line cut mid-string reads as truncated, not as a bad character.
                yield Raw(name, lineno, orjson.loads(line.rstrip(b"\r\n")))
            except orjson.JSONDecodeError as e:
                issue = _decode_issue(line, e).located(file=name, line=lineno)
                yield Raw(name, lineno, None, issue, line.decode("utf-8", "replace").rstrip("\n"))


def raw_from_line(name: str, lineno: int, line: bytes) -> Raw:
    """One undecoded JSONL line (newline included) as :func:`iter_jsonl` would yield it.

    For readers that ship lines to worker processes and decode them there.
    """
    try:
        return Raw(name, lineno, orjson.loads(line.rstrip(b"\r\n")))
    except orjson.JSONDecodeError as e:
        issue = _decode_issue(line, e).located(file=name, line=lineno)
        return Raw(name, lineno, None, issue, line.decode("utf-8", "replace").rstrip("\n"))


def iter_json_file(path: str | Path) -> Iterator[Raw]:
    """A whole-JSON file: an array gives one record per element (with its line), an object one record."""
    p = Path(path)
    name = str(path)
    blob = p.read_bytes()
    if p.suffix.lower() == ".gz":  # a .json.gz array
        blob = gzip.decompress(blob)
    bad_utf8 = False
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as e:
        if not blob.lstrip().startswith(b"["):
            line = blob.count(b"\n", 0, e.start) + 1
            yield Raw(name, line, None, Issue("UTF8_INVALID", f"invalid UTF-8 at byte {e.start}", name, line))
            return
        # An array: lose only the elements that hold bad bytes, not the whole file.
        text = blob.decode("utf-8", "surrogateescape")
        bad_utf8 = True
    stripped = text.lstrip()
    if not stripped.startswith("["):
        try:
            yield Raw(name, 1 + text[: len(text) - len(stripped)].count("\n"), json.loads(text))
        except json.JSONDecodeError:
            yield from iter_jsonl(path)  # a .json file holding JSON lines
        return
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line, counted = 1, 0
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            yield Raw(name, line, None, Issue("JSON_TRUNCATED", "array not closed", name, line))
            return
        if text[pos] == "]":
            return
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            # No way to find the next element reliably; report and stop this file.
            yield Raw(name, e.lineno, None, Issue("JSON_INVALID", f"not valid JSON: {e.msg}", name, e.lineno))
            return
        if bad_utf8 and _ESCAPED_BYTE.search(text, pos, end):
            issue = Issue("UTF8_INVALID", "invalid UTF-8 in this record", name, line)
            yield Raw(name, line, None, issue, text[pos:end].encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        else:
            yield Raw(name, line, obj)
        pos = end


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def strip_nulls(obj: Any) -> Any:
    """``obj`` without null-valued keys, recursively."""
    # Parquet/Arrow structs give every row every key; a key absent in the source comes back as null.
    if isinstance(obj, dict):
        return {k: strip_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [strip_nulls(v) for v in obj]
    return obj


def iter_parquet(path: str | Path) -> Iterator[Raw]:
    """Parquet rows in batches. A ``record`` JSON column (what dialogkit writes) is lossless."""
    import polars as pl

    name = str(path)
    schema = pl.read_parquet_schema(path)
    as_json = schema.get("record") == pl.String
    lf = pl.scan_parquet(path)
    total = lf.select(pl.len()).collect().item()
    for start in range(0, total, PARQUET_BATCH):
        batch = lf.slice(start, PARQUET_BATCH).collect()
        for i, row in enumerate(batch.iter_rows(named=True)):
            lineno = start + i + 1
            if as_json:
                try:
                    yield Raw(name, lineno, orjson.loads(row["record"]))
                except orjson.JSONDecodeError as e:
                    yield Raw(name, lineno, None, Issue("JSON_INVALID", f"not valid JSON: {e}", name, lineno))
            else:
                yield Raw(name, lineno, strip_nulls(row))


def iter_records(path: str | Path) -> Iterator[Raw]:
    """Records of any JSON-ish file dialogkit reads, chosen by suffix."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file")
    if p.is_dir():
        raise InputError(f"{path}: is a folder; give a file (or a format that reads folders)")
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".parquet":
        return iter_parquet(p)
    if suffixes and (suffixes[-1] == ".json" or suffixes[-2:] == [".json", ".gz"]):
        return iter_json_file(p)
    return iter_jsonl(p)


# -------------------------------------------------------------------------------------- writing
def ensure_not_input(out: str | Path, inputs: Iterable[str | Path]) -> None:
    """Refuse to write over an input: a failed run must never cost the user their data."""
    o = Path(out).resolve()
    for i in inputs:
        ip = Path(i).resolve()
        if o == ip or (o.exists() and ip.exists() and os.path.samefile(o, ip)):
            raise OutputError(f"{out}: refusing to overwrite an input file")


class AtomicWriter:
    """A binary file that appears at ``path`` only when the ``with`` block succeeds."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        raw = self.tmp.open("wb")
        self._raw = raw
        self._fh = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if self.path.suffix == ".gz" else raw
        return self._fh

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._fh is not None
        if self._fh is not self._raw:
            self._fh.close()
        if exc_type is None:
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            os.replace(self.tmp, self.path)
        else:
            self._raw.close()
            self.tmp.unlink(missing_ok=True)


class JsonlWriter:
    """Atomic JSONL writer: ``with JsonlWriter(p) as w: w.write(obj)``."""

    def __init__(self, path: str | Path):
        self._atomic = AtomicWriter(path)
        self.count = 0

    def __enter__(self) -> JsonlWriter:
        self._fh = self._atomic.__enter__()
        return self

    def write(self, obj: Any) -> None:
        self._fh.write(dumps(obj) + b"\n")
        self.count += 1

    def __exit__(self, *exc: Any) -> None:
        self._atomic.__exit__(*exc)


def write_jsonl(path: str | Path, records: Iterable[Any]) -> int:
    with JsonlWriter(path) as w:
        for r in records:
            w.write(r)
    return w.count


def reject_record(raw: Raw, issues: list[Issue]) -> dict[str, Any]:
    """What a rejects file holds for one record: where, why, and the record itself."""
    return {
        "file": raw.file,
        "line": raw.line,
        "id": raw.id,
        "issues": [i.to_dict() for i in issues],
        "record": raw.data,
        **({"text": raw.text} if raw.text is not None else {}),
    }


def write_parquet_records(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Dialogs as Parquet: an ``id`` column and a lossless ``record`` JSON column."""
    import polars as pl

    ids, blobs = [], []
    for r in records:
        ids.append(str(r.get("id", "")))
        blobs.append(dumps(r).decode("utf-8"))
    df = pl.DataFrame({"id": ids, "record": blobs}, schema={"id": pl.String, "record": pl.String})
    with AtomicWriter(path) as fh:
        df.write_parquet(fh)
    return len(ids)
