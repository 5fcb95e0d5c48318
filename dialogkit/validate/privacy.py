"""The PII rule: scan every text a dialog carries, and map matches back to their fields.

Results are cached per text (a pure function of it): system prompts, canned replies and
templated tool results recur across a data set and are scanned once. Texts not in the cache
are joined and scanned in one pass; matches never cross the newline that joins them.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, compress
from typing import Any

from dialogkit.pii import LABELS, PiiMatch, find_pii, mask, redact, redact_value
from dialogkit.validate.structure import View
from dialogkit.validate.tools import Emit

CACHE_SIZE = 50_000
_NONE: tuple[PiiMatch, ...] = ()


def _scan(parts: list[str], cache: dict[str, tuple[PiiMatch, ...]]) -> list[tuple[PiiMatch, ...]]:
    if "" not in cache:
        cache[""] = _NONE
    found: list[tuple[PiiMatch, ...] | None] = list(map(cache.get, parts))
    if None not in found:
        return found  # type: ignore[return-value]
    missing = list(dict.fromkeys(parts[k] for k, r in enumerate(found) if r is None))
    matches = find_pii("\n".join(missing))
    if len(cache) > CACHE_SIZE:
        cache.clear()
        cache[""] = _NONE
    cache.update(dict.fromkeys(missing, _NONE))
    if matches:
        starts = list(accumulate((len(p) + 1 for p in missing), initial=0))
        per_part: dict[int, list[PiiMatch]] = {}
        for x in matches:
            k = bisect_right(starts, x.start) - 1
            per_part.setdefault(k, []).append(PiiMatch(x.kind, x.start - starts[k], x.end - starts[k], x.text))
        for k, mine in per_part.items():
            cache[missing[k]] = tuple(mine)
    return [r if r is not None else cache[p] for p, r in zip(parts, found)]


def check_pii(view: View, emit: Emit, cache: dict[str, tuple[PiiMatch, ...]] | None = None,
              rendered: dict[str, tuple[tuple[str, str], ...]] | None = None) -> bool:
    """Emit one ``PII_*`` warning per match; True when anything was found.

    ``cache`` (text -> matches) is owned by the caller, one per process and run; ``rendered``
    (text -> codes and messages) is a process-wide cache unless the caller gives its own.
    """
    if rendered is None:
        rendered = _RENDERED
    parts = view.texts
    if view.extras:
        parts = parts + [t for _, t in view.extras]
    found = _scan(parts, {} if cache is None else cache)
    if not any(found):
        return False
    n = len(view.texts)
    for k in compress(range(len(found)), found):  # the parts with matches only
        path = f"messages[{k}].content" if k < n else view.extras[k - n][0]
        text = parts[k]
        codes = rendered.get(text)
        if codes is None:
            if len(rendered) > CACHE_SIZE:
                rendered.clear()
            codes = rendered[text] = tuple((f"PII_{x.kind}", f"{LABELS[x.kind]} {mask(x.text)}") for x in found[k])
        for code, message in codes:
            emit((code, path, message))
    return True


# A text with matches -> their codes and messages (pure functions of the text, which recurs).
_RENDERED: dict[str, tuple[tuple[str, str], ...]] = {}


def redact_dialog(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` (as read) with personal data in its messages replaced by ``[KIND]``."""
    if not isinstance(record.get("messages"), list):
        return record
    out = dict(record)
    messages = []
    for m in record["messages"]:
        if not isinstance(m, dict):
            messages.append(m)
            continue
        m = dict(m)
        for key in ("content", "reasoning"):
            if isinstance(m.get(key), str):
                m[key] = redact(m[key])
            elif m.get(key) is not None:
                m[key] = redact_value(m[key])
        if isinstance(m.get("tool_calls"), list):
            m["tool_calls"] = [
                {**c, "arguments": redact_value(c["arguments"])} if isinstance(c, dict) and "arguments" in c else c
                for c in m["tool_calls"]
            ]
        messages.append(m)
    out["messages"] = messages
    return out
