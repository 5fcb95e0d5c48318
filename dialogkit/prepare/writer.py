"""Atomic, streaming Parquet output of prepared rows.

Columns: ``input_ids`` and ``labels`` (list<int32>, same length, unshifted, -100 = no loss),
``dialog_id`` (string), ``turn`` (int32, null unless the row trains one message). Packed
files add ``position_ids``, ``seq_lengths``, ``dialog_ids`` and ``turns``. The file loads with
``datasets.load_dataset("parquet", ...)``, ``polars`` or ``pyarrow`` and goes to TRL as a
pre-tokenized dataset (TRL skips tokenization when ``input_ids`` exists and label building
when ``labels`` exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialogkit.io import AtomicWriter

_BATCH = 2048
_DENSE = ("input_ids", "labels", "position_ids", "seq_lengths")  # int lists without nulls


def _schema(packed: bool) -> Any:
    import pyarrow as pa

    ints = pa.list_(pa.int32())
    fields = [
        ("input_ids", ints),
        ("labels", ints),
        ("dialog_id", pa.string()),
        ("turn", pa.int32()),
    ]
    if packed:
        fields += [("position_ids", ints), ("seq_lengths", ints), ("dialog_ids", pa.list_(pa.string())),
                   ("turns", ints)]
    return pa.schema(fields)


class RowWriter:
    """``with RowWriter(path, packed) as w: w.write(row)``; the file appears only on success."""

    def __init__(self, path: str | Path, packed: bool = False):
        self._atomic = AtomicWriter(path)
        self.packed = packed
        self.count = 0
        self._buf: list[dict[str, Any]] = []

    def __enter__(self) -> RowWriter:
        import pyarrow.parquet as pq

        fh = self._atomic.__enter__()
        self._schema = _schema(self.packed)
        self._pq = pq.ParquetWriter(fh, self._schema, compression="zstd")
        return self

    def write(self, row: Any) -> None:
        self._buf.append(row.to_dict())
        self.count += 1
        if len(self._buf) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self._buf:
            return
        cols = []
        for name, typ in zip(self._schema.names, self._schema.types):
            values = [r.get(name) for r in self._buf]
            cols.append(_column(values, typ, dense=name in _DENSE))
        self._pq.write_table(pa.Table.from_arrays(cols, schema=self._schema))
        self._buf = []

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._flush()
        except BaseException as e:
            exc_type, exc, tb = type(e), e, e.__traceback__
            raise
        finally:
            self._pq.close()
            self._atomic.__exit__(exc_type, exc, tb)


# Columns are built from buffers: ``pa.array`` on Python or numpy data imports pandas (a
# second or more of start-up on a busy machine) just to check the input's type.


def _offsets(lengths: list[int]) -> Any:
    import numpy as np

    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _flat(kind: Any, values: Any, valid: Any = None) -> Any:
    """A flat Arrow array of ``kind`` over numpy ``values`` (``valid``: bool mask, None = all)."""
    import numpy as np
    import pyarrow as pa

    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(kind, len(values), [bitmap, pa.py_buffer(values)])


def _int_lists(values: list[Any]) -> Any:
    """list<int32> column from Python lists or ``array('i')`` (numpy, not per-element conversion)."""
    import numpy as np
    import pyarrow as pa

    parts = [np.asarray(v, dtype=np.int32) for v in values]
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    offsets = _offsets([len(p) for p in parts])
    return pa.ListArray.from_arrays(_flat(pa.int32(), offsets), _flat(pa.int32(), flat))


def _strings(values: list[str]) -> Any:
    import pyarrow as pa

    data = [v.encode("utf-8") for v in values]
    offsets = _offsets([len(d) for d in data])
    return pa.StringArray.from_buffers(len(data), pa.py_buffer(offsets), pa.py_buffer(b"".join(data)))


def _ints(values: list[int | None]) -> Any:
    import numpy as np
    import pyarrow as pa

    valid = np.array([v is not None for v in values], dtype=bool)
    ints = np.array([0 if v is None else v for v in values], dtype=np.int32)
    return _flat(pa.int32(), ints, valid)


def _column(values: list[Any], typ: Any, dense: bool) -> Any:
    """One column of ``typ`` from Python values; lists of strings or ints may hold None items."""
    import pyarrow as pa

    if dense:
        return _int_lists(values)
    if typ == pa.string():
        return _strings(values)
    if typ == pa.int32():
        return _ints(values)
    # list<string> / list<int32> of packed rows: flatten, build the items, then the lists
    items = [x for v in values for x in v]
    inner = _column(items, typ.value_type, dense=False)
    return pa.ListArray.from_arrays(_flat(pa.int32(), _offsets([len(v) for v in values])), inner)
