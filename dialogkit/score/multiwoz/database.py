"""mwzeval's venue database and its query, made fast with per-column value groups and bitmasks.

Query semantics (mwzeval ``MultiWOZVenueDatabase.query``): only the four venue domains have a
database; a constraint whose value is a "don't care" variant is dropped; other constraints are
normalised like state values; a DB cell ``?`` matches anything; ``arrive`` keeps trains arriving
at or before the constraint, ``leave`` those leaving at or after it (minutes, non-times count as
00:00); ``name`` (and restaurant ``food``, train ``departure``/``destination``) match with
fuzzywuzzy ``partial_ratio >= 90``; everything else by equality. Results are venue ids (train ids
for trains) in database order.

mwzeval tests every constraint against every row (a fuzzy match per train row and turn); here a
constraint is tested once per *distinct* column value and rows are combined as integer bitmasks,
which gives the same sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from dialogkit.errors import InputError
from dialogkit.score.multiwoz.fuzzy import partial_ratio
from dialogkit.score.multiwoz.normalize import normalize_value, time_to_minutes

DOMAINS = ("restaurant", "attraction", "hotel", "train")
_IGNORED = {"attraction": ("location", "openhours"), "hotel": ("location", "price", "takesbookings"),
            "restaurant": ("location", "introduction", "signature")}
_FUZZY = {"hotel": {"name"}, "attraction": {"name"}, "restaurant": {"name", "food"},
          "train": {"departure", "destination"}}
DONT_CARE = ("dontcare", "not mentioned", "don't care", "dont care", "do n't care", "do not care")
FUZZY_THRESHOLD = 90


def _column_name(name: str) -> str:
    if name == "id":
        return name
    name = name.lower().replace(" ", "")
    return {"arriveby": "arrive", "leaveat": "leave"}.get(name, name)


class _Column:
    """Distinct values of one column, each with the bitmask of rows holding it."""

    def __init__(self, values: list[Any]):
        self.wildcard = 0  # rows whose cell is "?": they match anything
        groups: dict[Any, tuple[Any, int]] = {}
        for row, value in enumerate(values):
            if value is _MISSING:
                continue  # a row without this column matches no constraint on it
            if value == "?":
                self.wildcard |= 1 << row
                continue
            key = value if isinstance(value, (str, int, float)) else orjson.dumps(value)
            cell, rows = groups.get(key, (value, 0))
            groups[key] = (cell, rows | (1 << row))
        self.groups = list(groups.values())


_MISSING = object()


class VenueDatabase:
    """The four venue databases of an mwzeval data folder (``database/<domain>_db.json``)."""

    def __init__(self, tables: Mapping[str, list[dict[str, Any]]]):
        self.ids: dict[str, list[str]] = {}
        self.keys: dict[str, list[str]] = {}
        self.columns: dict[str, dict[str, _Column]] = {}
        self._masks: dict[tuple[str, str, Any], int] = {}
        self._all: dict[str, int] = {}
        for domain in DOMAINS:
            rows = [
                {_column_name(k): v for k, v in row.items() if k not in _IGNORED.get(domain, ())}
                for row in tables[domain]
            ]
            self.keys[domain] = list(rows[0]) if rows else []
            self.ids[domain] = [r.get("trainid" if domain == "train" else "id") for r in rows]
            self.columns[domain] = {
                k: _Column([r.get(k, _MISSING) for r in rows]) for k in self.keys[domain]
            }
            self._all[domain] = (1 << len(rows)) - 1

    @classmethod
    def load(cls, folder: str | Path) -> VenueDatabase:
        """Read ``folder/<domain>_db.json`` for the four venue domains."""
        tables = {}
        for domain in DOMAINS:
            path = Path(folder) / f"{domain}_db.json"
            if not path.is_file():
                raise InputError(f"{path}: no such file (the MultiWOZ venue database for '{domain}')")
            try:
                tables[domain] = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as e:
                raise InputError(f"{path}: not valid JSON: {e}") from None
            if not isinstance(tables[domain], list) or not all(isinstance(r, dict) for r in tables[domain]):
                raise InputError(f"{path}: expected a JSON list of venue objects")
        return cls(tables)

    def query(self, domain: str, constraints: Mapping[str, Any]) -> list[str]:
        """Ids of the venues of ``domain`` that satisfy ``constraints`` (mwzeval semantics)."""
        if domain not in self.columns:
            return []
        mask = self._all[domain]
        for key in self.keys[domain]:
            if key not in constraints:
                continue
            value = constraints[key]
            if value in DONT_CARE:
                continue
            mask &= self._mask(domain, key, normalize_value(key, value))
            if not mask:
                return []
        ids = self.ids[domain]
        found = []
        while mask:
            low = mask & -mask
            found.append(ids[low.bit_length() - 1])
            mask ^= low
        return found

    def _mask(self, domain: str, key: str, value: Any) -> int:
        try:
            cache_key: tuple[str, str, Any] | None = (domain, key, value)
            cached = self._masks.get(cache_key)  # type: ignore[arg-type]
        except TypeError:  # an unhashable constraint value
            cache_key, cached = None, None
        if cached is not None:
            return cached
        column = self.columns[domain][key]
        test = self._test(domain, key, value)
        mask = column.wildcard
        for cell, rows in column.groups:
            if test(cell):
                mask |= rows
        if cache_key is not None:
            self._masks[cache_key] = mask
        return mask

    @staticmethod
    def _test(domain: str, key: str, value: Any) -> Any:
        if key == "arrive":
            limit = time_to_minutes(value)
            return lambda cell: time_to_minutes(cell) <= limit
        if key == "leave":
            limit = time_to_minutes(value)
            return lambda cell: time_to_minutes(cell) >= limit
        if key in _FUZZY.get(domain, ()):
            return lambda cell: partial_ratio(cell, value) >= FUZZY_THRESHOLD
        return lambda cell: cell == value
