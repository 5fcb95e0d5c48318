"""LLaMA-Factory ``dataset_info.json``: the column and tag names a data set uses.

Defaults are LLaMA-Factory's own (``data/README.md``): alpaca reads ``instruction``,
``input``, ``output``, ``system``, ``history``; sharegpt reads ``conversations`` of
``{"from", "value"}`` with tags ``human``, ``gpt``, ``observation``, ``function_call``,
``system``, plus the ``system`` and ``tools`` columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dialogkit.errors import UsageError
from dialogkit.formats._common import read_json_file

COLUMNS = {
    "alpaca": {"prompt": "instruction", "query": "input", "response": "output", "history": "history",
               "system": "system", "tools": "tools"},
    "sharegpt": {"messages": "conversations", "system": "system", "tools": "tools"},
}
TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
        "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}


@dataclass(frozen=True)
class Mapping:
    """Column names (``columns``) and, for sharegpt, role/content tags (``tags``)."""

    formatting: str
    columns: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def col(self, key: str) -> str:
        return self.columns[key]

    def tag(self, key: str) -> str:
        return self.tags[key]


def default_mapping(formatting: str) -> Mapping:
    return Mapping(formatting, dict(COLUMNS[formatting]), dict(TAGS) if formatting == "sharegpt" else {})


def load_mapping(formatting: str, dataset_info: Path | None, dataset: str | None) -> Mapping:
    """The mapping of entry ``dataset`` of ``dataset_info`` (LF defaults fill the gaps)."""
    base = default_mapping(formatting)
    if dataset_info is None:
        if dataset is not None:
            raise UsageError("--dataset needs --dataset-info")
        return base
    info = read_json_file(Path(dataset_info))
    if not isinstance(info, dict) or not info:
        raise UsageError(f"{dataset_info}: not a dataset_info.json (an object of named data sets)")
    if dataset is None:
        if len(info) != 1:
            raise UsageError(f"{dataset_info} has {len(info)} data sets; pick one with --dataset "
                             f"({', '.join(sorted(info)[:10])})")
        dataset = next(iter(info))
    entry = info.get(dataset)
    if not isinstance(entry, dict):
        raise UsageError(f"{dataset_info}: no data set {dataset!r} (has: {', '.join(sorted(info)[:10])})")
    fmt = entry.get("formatting", "alpaca")  # LLaMA-Factory's default
    if fmt != formatting:
        raise UsageError(f"data set {dataset!r} has formatting {fmt!r}; use --from/--to {fmt}")
    return replace(base, columns={**base.columns, **_strings(entry.get("columns"))},
                   tags={**base.tags, **_strings(entry.get("tags"))} if base.tags else {})


def _strings(d: Any) -> dict[str, str]:
    return {k: v for k, v in d.items() if isinstance(v, str)} if isinstance(d, dict) else {}
