"""Reading a file for ``validate`` in pieces: JSONL byte chunks cut at line ends, byte ranges a
worker reads itself, or batches of records for every other format; and checking a chunk.

A chunk is about ``CHUNK_BYTES`` of input, so memory stays flat however large the file is.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from dialogkit.formats import read_raw
from dialogkit.io import Raw, _decode_issue
from dialogkit.validate.checker import Packed, RecordChecker

CHUNK_BYTES = 1 << 20
RAW_BATCH = 512


@dataclass
class Chunk:
    """A piece of the input: raw JSONL bytes (with the line number of its first line) or records."""

    file: str
    # None until known: a byte range or chunk whose lines were not counted is checked with its
    # lines numbered from 1, and the consumer, knowing the lines before it, renumbers them.
    first_line: int | None = 1
    data: bytes | None = None
    raws: list[Raw] | None = None
    span: tuple[int, int] | None = None  # a byte range a worker reads itself (first_line known later)

    def payload(self) -> tuple[str, int | None, bytes | None, list[Raw] | None, tuple[int, int] | None]:
        return (self.file, self.first_line, self.data, self.raws, self.span)

    def read(self) -> None:
        """Fill ``data`` from ``span`` (the parent needs the bytes only to copy lines out)."""
        if self.data is None and self.span is not None:
            with open(self.file, "rb") as fh:
                fh.seek(self.span[0])
                self.data = fh.read(self.span[1] - self.span[0])


def is_jsonl(path: Path, fmt: str) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return fmt == "dialogkit" and not (
        suffixes and (suffixes[-1] in (".parquet", ".json") or suffixes[-2:] == [".json", ".gz"])
    )


def byte_chunks(path: Path) -> Iterator[Chunk]:
    """Chunks of whole lines; their first line is left to the consumer (``first_line`` None),
    since counting newlines here would read every byte once more."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    name, rest = str(path), b""
    with opener(path, "rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            buf = rest + block
            cut = buf.rfind(b"\n") + 1
            if not cut:
                rest = buf
                continue
            buf, rest = buf[:cut], buf[cut:]
            yield Chunk(name, None, data=buf)
    if rest:
        yield Chunk(name, None, data=rest)


def span_chunks(path: Path) -> Iterator[Chunk]:
    """Byte ranges of about CHUNK_BYTES cut after a newline, found by seeking: the parent
    never reads the file, each worker reads its own range."""
    size = path.stat().st_size
    name = str(path)
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            end = start + CHUNK_BYTES
            if end >= size:
                end = size
            else:
                fh.seek(end - 1)
                while block := fh.read(1 << 16):
                    k = block.find(b"\n")
                    if k >= 0:
                        end = fh.tell() - len(block) + k + 1
                        break
                else:
                    end = size
            yield Chunk(name, None, span=(start, end))
            start = end


def raw_chunks(path: Path, fmt: str) -> Iterator[Chunk]:
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


def check_chunk(checker: RecordChecker, file: str, first_line: int, data: bytes | None,
                raws: list[Raw] | None) -> tuple[list[Packed], int]:
    """Every record of a chunk, checked, in order; and the chunk's number of newlines."""
    check = checker.check_data
    if raws is not None:
        return [check(r.file, r.line, r.data, r.issue) for r in raws], 0
    assert data is not None
    out = []
    loads, line_no = orjson.loads, first_line - 1
    # Lines found with bytes.find (memchr): bytes.split and bytes.count walk every byte in
    # CPython 3.11 (dropping them saved ~6% of a whole check's instructions, valgrind).
    find, pos, size = data.find, 0, len(data)
    while pos < size:
        end = find(b"\n", pos)
        if end < 0:
            end = size
        line = data[pos:end]
        pos = end + 1
        line_no += 1
        if not line or line.isspace():
            continue
        try:
            record = loads(line)
        except orjson.JSONDecodeError:
            raw = parse_line(file, line_no, line)
            out.append(check(file, line_no, raw.data, raw.issue))
        else:
            out.append(check(file, line_no, record))
    return out, line_no - first_line + 1 - (size > 0 and data[-1] != 10)
