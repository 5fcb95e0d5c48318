"""Alpaca as LLaMA-Factory reads it (import only).

``{"instruction", "input", "output", "system", "history": [[user, assistant], ...]}``: the
history pairs come first, then the user turn ``instruction + "\\n" + input`` (either may be
empty) and the assistant ``output``. Column names follow a ``dataset_info.json`` entry
(``prompt``/``query``/``response``/``history``/``system``/``tools``) when one is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dialogkit.formats import WriteReport
from dialogkit.formats._common import FormatError, expect, read_mapped
from dialogkit.formats._dataset_info import Mapping, load_mapping
from dialogkit.formats.openai import parse_tools
from dialogkit.io import Raw
from dialogkit.schema import Dialog


def _optional_text(rec: dict[str, Any], column: str) -> str:
    value = rec.get(column)
    return "" if value is None else expect(value, str, column)


def record_to_dialog(rec: dict[str, Any], mp: Mapping, fallback_id: str) -> dict[str, Any]:
    """A dialogkit-shaped dict from one Alpaca record; :class:`FormatError` on format errors."""
    msgs: list[dict[str, Any]] = []
    system = _optional_text(rec, mp.col("system"))
    if system:
        msgs.append({"role": "system", "content": system})
    hist_col = mp.col("history")
    history = rec.get(hist_col)
    for i, pair in enumerate(expect(history, list, hist_col) if history is not None else []):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise FormatError("ALPACA_HISTORY_INVALID", "a history item must be [user, assistant] strings",
                              f"{hist_col}[{i}]")
        msgs += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    query = [t for t in (_optional_text(rec, mp.col("prompt")), _optional_text(rec, mp.col("query"))) if t]
    if not query:
        raise FormatError("FIELD_MISSING", f"{mp.col('prompt')} and {mp.col('query')} are both empty",
                          mp.col("prompt"))
    msgs.append({"role": "user", "content": "\n".join(query)})
    out_col = mp.col("response")
    msgs.append({"role": "assistant", "content": expect(rec.get(out_col), str, out_col, out_col)})
    out: dict[str, Any] = {"id": rec["id"] if rec.get("id") is not None else fallback_id, "messages": msgs}
    tools = parse_tools(rec.get(mp.col("tools")), mp.col("tools"))
    if tools is not None:
        out["tools"] = tools
    if rec.get("metadata") is not None:
        out["metadata"] = rec["metadata"]
    return out


class AlpacaConverter:
    name = "alpaca"
    description = "Alpaca (instruction/input/output/system/history), import only"
    can_read = True
    can_write = False
    read_options = frozenset({"dataset_info", "dataset"})
    write_options: frozenset[str] = frozenset()

    def read(self, path: Path, dataset_info: Path | None = None, dataset: str | None = None,
             **options: Any) -> Iterator[Raw]:
        mp = load_mapping("alpaca", dataset_info, dataset)
        return read_mapped(path, lambda rec, rid: record_to_dialog(rec, mp, rid))

    def write(self, dialogs: Iterable[Dialog], path: Path, **options: Any) -> WriteReport:
        raise NotImplementedError("alpaca is import-only")


CONVERTER = AlpacaConverter()
