"""Hugging Face ``datasets`` folders (``Dataset.save_to_disk``), both ways.

Written datasets have the columns ``id``, ``messages`` and ``tools`` in OpenAI form (what TRL
and chat templates read), ``metadata`` and ``goal``. The message, tool, metadata and goal
columns use the ``Json`` feature: Arrow would otherwise unify the keys of every row and
turn absent keys into nulls (``"date": null`` in tool arguments, TRL's "Arrow trap"), so
each row comes back exactly as written. dialogkit-only message fields (state, acts, train,
expected) stay in the messages as extra keys, which templates ignore, so ``dialogkit -> hf
-> dialogkit`` is lossless.

Reading takes any saved ``Dataset`` or ``DatasetDict`` with a ``messages`` column (OpenAI or
dialogkit form); nulls that Arrow added to ordinary struct columns are stripped first.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError, MissingDependencyError, OutputError
from dialogkit.formats import WriteReport
from dialogkit.formats._common import FormatError, default_id, failed
from dialogkit.formats.openai import dialog_to_record, record_to_dialog
from dialogkit.io import Raw, strip_nulls
from dialogkit.schema import Dialog


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("datasets", "train") from None
    return datasets


def features() -> Any:
    ds = _datasets()
    return ds.Features({"id": ds.Value("string"), "messages": ds.List(ds.Json()), "tools": ds.List(ds.Json()),
                        "metadata": ds.Json(), "goal": ds.Json()})


def _is_json(feature: Any) -> bool:
    ds = _datasets()
    return isinstance(feature, ds.Json) or isinstance(getattr(feature, "feature", None), ds.Json)


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished dataset into place; an existing folder must itself be a dataset."""
    if out.exists():
        if not out.is_dir() or not (any((out / n).exists() for n in ("state.json", "dataset_dict.json"))
                                    or not any(out.iterdir())):
            raise OutputError(f"{out}: exists and is not a saved dataset; refusing to replace it")
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


class HFConverter:
    name = "hf"
    description = "Hugging Face datasets folder (save_to_disk / load_from_disk), both ways"
    can_read = True
    can_write = True
    read_options: frozenset[str] = frozenset()
    write_options: frozenset[str] = frozenset()

    def read(self, path: Path, **options: Any) -> Iterator[Raw]:
        ds = _datasets()
        if not Path(path).is_dir():
            raise InputError(f"{path}: not a folder; --from hf reads a datasets.save_to_disk folder")
        try:
            loaded = ds.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as e:
            raise InputError(f"{path}: not a saved Hugging Face dataset ({e})") from None
        if isinstance(loaded, ds.DatasetDict):
            return (raw for split, part in loaded.items() for raw in self._rows(part, f"{path}[{split}]"))
        return self._rows(loaded, str(path))

    def _rows(self, table: Any, name: str) -> Iterator[Raw]:
        json_cols = {c for c, f in table.features.items() if _is_json(f)}
        for i, row in enumerate(table, 1):
            row = {k: (v if k in json_cols else strip_nulls(v)) for k, v in row.items()}
            raw = Raw(name, i, row)
            rid = default_id(Path(name), i)
            try:
                yield Raw(name, i, record_to_dialog(row, rid))
            except FormatError as e:
                yield failed(raw, e, raw.id or rid)

    def write(self, dialogs: Iterable[Dialog], path: Path, **options: Any) -> WriteReport:
        ds = _datasets()
        from datasets.arrow_writer import ArrowWriter

        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        report = WriteReport()
        bars = ds.is_progress_bar_enabled()
        try:
            feats = features()
            with ArrowWriter(features=feats, path=str(tmp / "build.arrow")) as w:
                for d in dialogs:
                    rec, _ = dialog_to_record(d, keep_extras=True)
                    w.write({"id": rec["id"], "messages": rec["messages"], "tools": rec.get("tools", []),
                             "metadata": rec.get("metadata", {}), "goal": rec.get("goal")})
                    report.written += 1
                w.finalize()
            ds.disable_progress_bars()
            ds.Dataset.from_file(str(tmp / "build.arrow")).save_to_disk(str(tmp / "dataset"))
            _replace_folder(tmp / "dataset", out)
        finally:
            if bars:
                ds.enable_progress_bars()
            shutil.rmtree(tmp, ignore_errors=True)
        return report


CONVERTER = HFConverter()
