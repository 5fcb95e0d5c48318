"""Off-by-one edits of a value that keep its kind: dates and weekdays +/- 1 day, times +/- 1 hour,
integers +/- 1, enum neighbours. Each returns candidate values; the caller checks the schema.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ZH_DATE = re.compile(r"^(\d{1,2})月(\d{1,2})日$")
_TIME = re.compile(r"^([0-2]\d):([0-5]\d)$")
_WEEK_EN = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEK_ZH = ["一", "二", "三", "四", "五", "六", "日"]
_WEEK_ZH_RE = re.compile(r"^(周|星期)([一二三四五六日天])$")
_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def _case_like(template: str, word: str) -> str:
    if template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word.capitalize()
    return word


def date_shifts(value: str) -> list[tuple[str, str]]:
    """``(kind, new value)`` for a date, weekday or time written as a string."""
    v = value.strip()
    m = _ISO.match(v)
    if m:
        try:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return []
        return [("date_shift", (d + dt.timedelta(days=s)).isoformat()) for s in (1, -1)]
    m = _ZH_DATE.match(v)
    if m:
        month, day = int(m[1]), int(m[2])
        if not (1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]):
            return []
        nxt = (month, day + 1) if day < _DAYS[month - 1] else (month % 12 + 1, 1)
        prv = (month, day - 1) if day > 1 else ((month - 2) % 12 + 1, _DAYS[(month - 2) % 12])
        return [("date_shift", f"{a}月{b}日") for a, b in (nxt, prv)]
    if v.lower() in _WEEK_EN:
        i = _WEEK_EN.index(v.lower())
        return [("date_shift", _case_like(v, _WEEK_EN[(i + s) % 7])) for s in (1, -1)]
    m = _WEEK_ZH_RE.match(v)
    if m:
        i = _WEEK_ZH.index("日" if m[2] == "天" else m[2])
        return [("date_shift", m[1] + _WEEK_ZH[(i + s) % 7]) for s in (1, -1)]
    m = _TIME.match(v)
    if m and int(m[1]) < 24:
        return [("time_shift", f"{(int(m[1]) + s) % 24:02d}:{m[2]}") for s in (1, -1)]
    return []


def number_shifts(value: Any, prop: dict[str, Any]) -> list[tuple[str, Any]]:
    """Integers +/- 1; other numbers +/- 1 of their unit, within ``minimum``/``maximum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    out = []
    for s in (1, -1):
        new = value + s
        if isinstance(value, float) and value.is_integer():
            new = float(new)
        lo, hi = prop.get("minimum"), prop.get("maximum")
        if (lo is not None and new < lo) or (hi is not None and new > hi):
            continue
        out.append(("number_shift", new))
    return out


def enum_neighbours(value: Any, prop: dict[str, Any]) -> list[tuple[str, Any]]:
    enum = prop.get("enum")
    if not isinstance(enum, list) or value not in enum or len(enum) < 2:
        return []
    i = enum.index(value)
    near = [enum[j] for j in (i + 1, i - 1) if 0 <= j < len(enum)]
    return [("enum_neighbour", v) for v in dict.fromkeys(near)]
