"""Format converters, one module per format, all registered in :data:`FORMATS`.

A converter reads a source into :class:`dialogkit.io.Raw` records whose ``data`` is a
dialogkit-shaped dict (not yet validated) that keeps the source file and line, and writes
validated :class:`Dialog` objects. Keeping validation out of ``read`` lets ``convert`` and
``validate`` share readers and report the same located issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dialogkit.io import Raw
from dialogkit.registry import Registry
from dialogkit.schema import Dialog


@dataclass
class WriteReport:
    """What a writer did: how many dialogs, and what the target format could not carry."""

    written: int = 0
    # feature -> number of dialogs that lost it, e.g. {"state": 12, "acts": 40}
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, feature: str) -> None:
        self.dropped[feature] = self.dropped.get(feature, 0) + 1


class Converter(Protocol):
    """What a format module exports as ``CONVERTER``.

    Optional attributes, read with ``getattr`` by :func:`dialogkit.convert.convert_file`:
    ``read_options`` / ``write_options`` (names of the keyword options the format takes; any
    other option is a usage error), ``description`` (one line for ``--help``) and
    ``check(dialog) -> list[Issue]``: why a valid dialog cannot be written in this format at
    all (e.g. ShareGPT's strict alternation), so ``convert`` rejects it with a reason instead
    of writing a record the consumer would silently drop.
    """

    name: str
    can_read: bool
    can_write: bool

    def read(self, path: Path, **options: Any) -> Iterator[Raw]: ...

    def write(self, dialogs: Iterable[Dialog], path: Path, **options: Any) -> WriteReport: ...


FORMATS: Registry[Converter] = Registry("format", "dialogkit.formats")
FORMATS.register("dialogkit", "dialogkit.formats.native:CONVERTER")
FORMATS.register("openai", "dialogkit.formats.openai:CONVERTER")
FORMATS.register("sharegpt", "dialogkit.formats.sharegpt:CONVERTER")
FORMATS.register("alpaca", "dialogkit.formats.alpaca:CONVERTER")
FORMATS.register("hf", "dialogkit.formats.hf:CONVERTER")
FORMATS.register("sgd", "dialogkit.formats.sgd:CONVERTER")
FORMATS.register("multiwoz", "dialogkit.formats.multiwoz:CONVERTER")


def read_raw(path: str | Path, fmt: str = "dialogkit", **options: Any) -> Iterator[Raw]:
    """Dialogkit-shaped raw records from ``path`` in format ``fmt``."""
    conv = FORMATS.get(fmt)
    return conv.read(Path(path), **options)
