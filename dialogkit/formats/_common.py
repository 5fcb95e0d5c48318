"""Helpers shared by the format converters: errors, ids, tool-result text, writers.

Conventions every converter follows (documented in ``docs/formats.md``):

* A format error found while mapping a source record is a :class:`FormatError` with a stable
  code and a path in the *source* format (``conversations[3].value``); readers turn it into a
  :class:`Raw` carrying the located issue, so ``convert`` rejects that record and goes on.
* Formats without tool-call ids (ShareGPT, SGD, MultiWOZ) get deterministic ids
  ``call_<m>_<k>``: ``m`` is the index of the assistant message in ``messages``, ``k`` the
  index of the call in that message.
* A tool result travels as text in OpenAI/ShareGPT. A JSON object or array is written in
  dialogkit's compact form, and a text is decoded back only when it is exactly that form, so
  both directions of a round trip are identities on everything except a *string* result that
  happens to hold compact JSON.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from dialogkit.errors import InputError, Issue, UsageError
from dialogkit.io import AtomicWriter, Raw, dumps, iter_records


class FormatError(Exception):
    """A source record cannot be mapped: ``code``, ``message`` and the source ``path``."""

    def __init__(self, code: str, message: str, path: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path

    def issue(self, raw: Raw, rid: str | None = None) -> Issue:
        return Issue(self.code, self.message, raw.file, raw.line, rid if rid is not None else raw.id, self.path)


def failed(raw: Raw, err: FormatError, rid: str | None = None) -> Raw:
    """The source record with the issue that stopped its mapping (kept for the rejects file)."""
    return Raw(raw.file, raw.line, raw.data, err.issue(raw, rid))


def expect(value: Any, kind: type | tuple[type, ...], path: str, what: str | None = None) -> Any:
    """``value`` if it has type ``kind``; else a ``TYPE_WRONG``/``FIELD_MISSING`` :class:`FormatError`."""
    if value is None:
        raise FormatError("FIELD_MISSING", f"{what or 'field'} is missing", path)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(_JSON_NAMES.get(t, t.__name__) for t in kinds)
        raise FormatError("TYPE_WRONG", f"expected {names}, got {_json_name(value)}", path)
    return value


_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}


def _json_name(value: Any) -> str:
    return "null" if value is None else _JSON_NAMES.get(type(value), type(value).__name__)


def call_id(message_index: int, k: int) -> str:
    """The deterministic tool-call id of the ``k``-th call in message ``message_index``."""
    return f"call_{message_index}_{k}"


def default_id(path: Path, n: int) -> str:
    """Id of the ``n``-th record (1-based) of a file whose records have none: ``<stem>-<n>``."""
    return f"{path.name.split('.')[0]}-{n}"


# ------------------------------------------------------------------------------ tool results
def result_to_text(content: Any) -> str:
    """A tool result as the text OpenAI/ShareGPT carry: strings as they are, JSON compact."""
    if isinstance(content, str):
        return content
    return dumps(content).decode("utf-8")


def result_from_text(text: Any) -> Any:
    """Inverse of :func:`result_to_text`: decode only text that is exactly compact JSON."""
    if not isinstance(text, str) or not text or text[0] not in "[{":
        return text
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if dumps(value).decode("utf-8") == text else text


def is_lossless_result(content: Any) -> bool:
    """Whether ``content`` survives ``result_to_text`` -> ``result_from_text`` unchanged."""
    if isinstance(content, str):
        return result_from_text(content) == content and type(result_from_text(content)) is str
    return isinstance(content, (dict, list))


# ----------------------------------------------------------------------------------- writing
def is_json_array_path(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return bool(suffixes) and (suffixes[-1] == ".json" or suffixes[-2:] == [".json", ".gz"])


class RecordWriter:
    """Atomic writer of JSON records: JSONL, or a JSON array when the path ends in ``.json``.

    An array gets one element per line, so readers (and error messages) can still point at
    the line of each record. ``.gz`` compresses either form.
    """

    def __init__(self, path: str | Path, array: bool | None = None):
        self.path = Path(path)
        if self.path.suffix.lower() == ".parquet":
            raise UsageError(f"{path}: this format is written as JSON or JSONL, not Parquet")
        self.array = is_json_array_path(self.path) if array is None else array
        self._atomic = AtomicWriter(self.path)
        self.count = 0

    def __enter__(self) -> RecordWriter:
        self._fh: IO[bytes] = self._atomic.__enter__()
        if self.array:
            self._fh.write(b"[\n")
        return self

    def write(self, obj: Any) -> None:
        if self.array:
            self._fh.write((b",\n" if self.count else b"") + dumps(obj))
        else:
            self._fh.write(dumps(obj) + b"\n")
        self.count += 1

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None and self.array:
            self._fh.write(b"\n]\n" if self.count else b"]\n")
        self._atomic.__exit__(exc_type, exc, tb)


def read_json_file(path: Path) -> Any:
    """A whole JSON document (``.gz`` too); an unreadable one is an :class:`InputError`."""
    try:
        blob = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        return orjson.loads(blob)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (orjson.JSONDecodeError, OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON: {e}") from None


def read_mapped(path: Path, convert: Callable[[dict[str, Any], str], dict[str, Any]]) -> Iterator[Raw]:
    """Records of ``path`` turned into dialogkit dicts by ``convert(record, fallback_id)``.

    Undecodable lines and non-objects pass through as they are (the caller reports them);
    a :class:`FormatError` becomes a located issue on that record.
    """
    for n, raw in enumerate(iter_records(path), 1):
        if not raw.ok or not isinstance(raw.data, dict):
            yield raw
            continue
        rid = default_id(path, n)
        try:
            yield Raw(raw.file, raw.line, convert(raw.data, rid))
        except FormatError as e:
            yield failed(raw, e, raw.id or rid)
