"""Statistics of a dialog file, and coverage of a domain schema's intents and slots.

One pass turns each valid dialog into a row (turns, roles, tool calls, language, tokens,
intents and slots seen); polars does the aggregation. Task-oriented data must cover every
intent and slot (and every categorical value: the boundary cases), so coverage lists what
never occurs and what occurs only rarely.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import UsageError
from dialogkit.formats import read_raw
from dialogkit.validate.state import DomainSchema, load_domain_schema
from dialogkit.validate.structure import check_structure

TURN_BUCKETS = ((1, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5"), (10, "6-10"), (20, "11-20"), (10**9, ">20"))
GROUP_FIELDS = ("domain", "source", "split", "language")


def detect_language(text: str) -> str:
    """A script-based guess good enough for zh/en corpora: zh, ja, ko, en, mixed or other."""
    han = latin = kana = hangul = 0
    for ch in text[:2000]:
        o = ord(ch)
        if 0x4E00 <= o <= 0x9FFF:
            han += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
        elif 0x3040 <= o <= 0x30FF:
            kana += 1
        elif 0xAC00 <= o <= 0xD7AF:
            hangul += 1
    total = han + latin + kana + hangul
    if not total:
        return "other"
    if kana > 0.1 * total:
        return "ja"
    if hangul > 0.3 * total:
        return "ko"
    # Latin letters are many per word, Han one per word: weigh them so a zh dialog with a few
    # English names stays zh.
    han_w, latin_w = han * 3, latin
    if han_w and latin_w and min(han_w, latin_w) > 0.25 * (han_w + latin_w):
        return "mixed"
    return "zh" if han_w > latin_w else "en"


@dataclass
class Row:
    id: str
    user_turns: int
    messages: int
    roles: dict[str, int]
    tool_calls: list[str]
    language: str
    groups: dict[str, str]
    intents: list[tuple[str, str]] = field(default_factory=list)  # (service, intent)
    slots: list[tuple[str, str]] = field(default_factory=list)  # (service, slot)
    values: list[tuple[str, str, str]] = field(default_factory=list)  # (service, slot, value)
    tokens: int | None = None


def _group_value(d: dict[str, Any], name: str) -> str:
    cur: Any = d
    for part in name.removeprefix("metadata.").split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None and "." not in name:
        cur = (d.get("metadata") or {}).get(name)
    if isinstance(cur, list):
        return ",".join(map(str, cur)) or "(none)"
    return "(none)" if cur is None else str(cur)


def _state_items(d: dict[str, Any], row: Row) -> None:
    def frame(svc: str, f: dict[str, Any]) -> None:
        if f.get("active_intent") and f["active_intent"].lower() not in ("none", ""):
            row.intents.append((svc, f["active_intent"]))
        for slot, value in (f.get("slots") or {}).items():
            row.slots.append((svc, slot))
            for v in value if isinstance(value, list) else [value]:
                row.values.append((svc, slot, str(v)))
        row.slots.extend((svc, s) for s in f.get("requested_slots") or [])

    for m in d["messages"]:
        st = m.get("state")
        if st:
            frame(st.get("domain") or "", st)
            for svc, f in (st.get("frames") or {}).items():
                frame(svc, f)
        for act in m.get("acts") or []:
            svc = act.get("domain") or ""
            if act.get("act") == "INFORM_INTENT":
                row.intents.extend((svc, str(v)) for v in act.get("values") or [])
            elif act.get("slot") and act["slot"] not in ("intent", "count"):
                row.slots.append((svc, act["slot"]))
    goal = d.get("goal") or {}
    row.intents.extend(("", i) for i in goal.get("intents") or [])


def _row(d: dict[str, Any], by: list[str], counter: Any) -> Row:
    msgs = d["messages"]
    roles = Counter(m["role"] for m in msgs)
    calls = [c["name"] for m in msgs if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    text = " ".join(m["content"] for m in msgs if m["role"] in ("user", "assistant") and isinstance(m.get("content"), str))
    lang = (d.get("metadata") or {}).get("language") or detect_language(text)
    row = Row(d["id"], roles["user"], len(msgs), dict(roles), calls, str(lang), {g: _group_value(d, g) for g in by})
    _state_items(d, row)
    if counter is not None:
        row.tokens = counter.count(msgs, d.get("tools"))
    return row


def iter_rows(path: str | Path, fmt: str = "dialogkit", by: list[str] | None = None,
              tokenizer: str | None = None) -> Iterator[Row | None]:
    """One :class:`Row` per valid dialog, None for each record that is not a valid dialog."""
    counter = None
    if tokenizer:
        from dialogkit.validate.length import LengthChecker

        counter = LengthChecker(tokenizer, 10**9)
    for raw in read_raw(path, fmt):
        if raw.issue is not None:
            yield None
            continue
        d, _, _issues = check_structure(raw.data, raw.where())
        yield None if d is None else _row(d, by or [], counter)


def _dist(values: list[int]) -> dict[str, Any]:
    import polars as pl

    if not values:
        return {}
    s = pl.Series(values)
    q = {f"p{int(p * 100)}": _num(s.quantile(p, "nearest")) for p in (0.25, 0.5, 0.75, 0.95)}
    return {"min": s.min(), **q, "max": s.max(), "mean": round(float(s.mean()), 2)}


def _num(x: Any) -> Any:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _buckets(values: list[int]) -> dict[str, int]:
    out = {label: 0 for _, label in TURN_BUCKETS}
    for v in values:
        for hi, label in TURN_BUCKETS:
            if v <= hi:
                out[label] += 1
                break
    return out


def compute_stats(path: str | Path, fmt: str = "dialogkit", by: list[str] | None = None, tokenizer: str | None = None,
                  domain_schema: str | Path | None = None, rare: int = 5) -> dict[str, Any]:
    """Everything ``dialogkit stats`` reports, as a JSON-ready dict."""
    import polars as pl

    schema = load_domain_schema(domain_schema) if domain_schema else None
    by = list(by or [])
    rows: list[Row] = []
    invalid = 0
    for row in iter_rows(path, fmt, by, tokenizer):
        if row is None:
            invalid += 1
        else:
            rows.append(row)
    if not rows:
        return {"file": str(path), "dialogs": 0, "invalid": invalid}
    df = pl.DataFrame({
        "user_turns": [r.user_turns for r in rows],
        "messages": [r.messages for r in rows],
        "tool_calls": [len(r.tool_calls) for r in rows],
        "language": [r.language for r in rows],
        **{f"by:{g}": [r.groups[g] for r in rows] for g in by},
    })
    turns = df["user_turns"].to_list()
    out: dict[str, Any] = {
        "file": str(path),
        "dialogs": len(rows),
        "invalid": invalid,
        "turns": {**_dist(turns), "histogram": _buckets(turns)},
        "messages": _dist(df["messages"].to_list()),
        "roles": dict(sum((Counter(r.roles) for r in rows), Counter()).most_common()),
        "tool_calls": {
            "dialogs_with_calls": int((df["tool_calls"] > 0).sum()),
            "calls": int(df["tool_calls"].sum()),
            "by_tool": dict(Counter(n for r in rows for n in r.tool_calls).most_common()),
        },
        "languages": dict(Counter(df["language"].to_list()).most_common()),
    }
    if tokenizer:
        out["tokens"] = _dist([r.tokens or 0 for r in rows])
    for g in by:
        grouped = (df.group_by(f"by:{g}").agg(pl.len().alias("dialogs"), pl.col("user_turns").mean().round(2).alias("mean_turns"),
                                              (pl.col("tool_calls") > 0).mean().round(3).alias("share_with_tool_calls"))
                   .sort("dialogs", descending=True))
        out.setdefault("by", {})[g] = {r[f"by:{g}"]: {k: v for k, v in r.items() if k != f"by:{g}"} for r in grouped.to_dicts()}
    if schema is not None:
        out["coverage"] = coverage(rows, schema, rare)
    return out


def coverage(rows: list[Row], schema: DomainSchema, rare: int = 5) -> dict[str, Any]:
    """Per service: how often each intent, slot and categorical value occurs; what never does."""
    intents = Counter((s.lower(), i.lower()) for r in rows for s, i in r.intents)
    slots = Counter((s.lower(), n.lower()) for r in rows for s, n in r.slots)
    values = Counter((s.lower(), n.lower(), v.lower()) for r in rows for s, n, v in r.values)
    any_intent = Counter(i for _, i in intents.elements())
    services: dict[str, Any] = {}
    for key, svc in schema.services.items():
        def n_intent(name: str, key: str = key) -> int:
            return intents[(key, name.lower())] + intents[("", name.lower())] if any_intent[name.lower()] else 0

        def n_slot(name: str, key: str = key) -> int:
            bare = name.lower().removeprefix(f"{key}-")
            return slots[(key, name.lower())] + (slots[(key, bare)] if bare != name.lower() else 0)

        i_counts = {i: n_intent(i) for i in svc.intent_names}
        s_counts = {s: n_slot(s) for s in svc.slot_names}
        missing_values = {}
        for sname in svc.slot_names:
            slot = svc.slots[sname.lower()]
            if slot.categorical:
                bare = sname.lower().removeprefix(f"{key}-")
                seen = {v for (sv, n, v) in values if sv == key and n in (sname.lower(), bare)}
                never = sorted(slot.values - seen)
                if never:
                    missing_values[sname] = never
        services[svc.name] = {
            "intents": i_counts,
            "slots": s_counts,
            "never": {"intents": [i for i, c in i_counts.items() if c == 0], "slots": [s for s, c in s_counts.items() if c == 0]},
            "rare": {"intents": [i for i, c in i_counts.items() if 0 < c < rare], "slots": [s for s, c in s_counts.items() if 0 < c < rare]},
            "values_never_seen": missing_values,
        }
    total_i = sum(len(v["intents"]) for v in services.values())
    total_s = sum(len(v["slots"]) for v in services.values())
    seen_i = sum(sum(1 for c in v["intents"].values() if c) for v in services.values())
    seen_s = sum(sum(1 for c in v["slots"].values() if c) for v in services.values())
    return {
        "schema": schema.source,
        "rare_below": rare,
        "intents_covered": f"{seen_i}/{total_i}",
        "slots_covered": f"{seen_s}/{total_s}",
        "services": services,
    }


def parse_by(values: tuple[str, ...]) -> list[str]:
    """``--by`` fields: metadata keys (``domain``) or dotted paths (``metadata.source``)."""
    out = [v.strip() for x in values for v in x.split(",") if v.strip()]
    for v in out:
        if not all(p.isidentifier() for p in v.split(".")):
            raise UsageError(f"--by {v!r}: give a metadata key (domain, source, language) or a dotted path")
    return out
