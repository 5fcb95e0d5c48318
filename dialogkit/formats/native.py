"""dialogkit's own format: one :class:`Dialog` per JSONL line (also .gz, .json arrays, Parquet)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dialogkit.formats import WriteReport
from dialogkit.io import Raw, iter_records, write_jsonl, write_parquet_records
from dialogkit.schema import Dialog, dump


class NativeConverter:
    name = "dialogkit"
    can_read = True
    can_write = True

    def read(self, path: Path, **options: Any) -> Iterator[Raw]:
        return iter_records(path)

    def write(self, dialogs: Iterable[Dialog], path: Path, **options: Any) -> WriteReport:
        report = WriteReport()
        records = (dump(d) for d in dialogs)
        if path.suffix == ".parquet":
            report.written = write_parquet_records(path, records)
        else:
            report.written = write_jsonl(path, records)
        return report


CONVERTER = NativeConverter()
