"""What ``dialogkit inspect`` shows: tokens as the model sees them, trained ones marked.

Library side only: builds token segments, per-role counts and a self-contained HTML page;
the CLI prints them with rich.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dialogkit.errors import RecordError
from dialogkit.prepare.rows import IGNORE, Row


@dataclass(slots=True)
class Segment:
    text: str
    trained: bool
    role: str


def _boundaries(preparer: Any, row: Row, text: str) -> list[tuple[int, str]]:
    """(char start, role) regions of ``text``, from the histories that render as its prefixes.

    A message whose history does not render as a prefix (a template that is not prefix-stable)
    joins the region before it, named after both (``assistant+user``): never a wrong role.
    """
    ctx = row.context
    assert ctx is not None
    regions: list[tuple[int, list[str]]] = []
    for k, m in enumerate(ctx.messages):
        try:
            prefix = preparer.renderer.render(ctx.messages[:k], ctx.tools).text if k or ctx.tools else ""
        except RecordError:
            prefix = None
        known = prefix is not None and text.startswith(prefix) and (not regions or len(prefix) > regions[-1][0])
        if k == 0 and known and prefix:
            regions.append((0, ["tools"]))
        if known and not (regions and len(prefix) == regions[-1][0]):  # type: ignore[arg-type]
            regions.append((len(prefix), [m["role"]]))  # type: ignore[arg-type]
        elif regions:
            if regions[-1][1][-1] != m["role"]:
                regions[-1][1].append(m["role"])
        else:
            regions.append((0, [m["role"]] + (["tools"] if ctx.tools else [])))
    return [(start, "+".join(roles)) for start, roles in regions]


def segments(preparer: Any, row: Row) -> list[Segment]:
    """Token-by-token text of a row with its trained flag and role (``?`` where unknown)."""
    tok = preparer.tokenizer
    trained = [x != IGNORE for x in row.labels]
    if row.context is None:
        return [Segment(tok.decode([i]), t, "?") for i, t in zip(row.input_ids, trained)]
    text = preparer.renderer.render(row.context.messages, row.context.tools).text
    enc = preparer.encoder.encode(text)
    if enc.ids != row.input_ids:  # a boundary merge: show tokens decoded one by one
        return [Segment(tok.decode([i]), t, "?") for i, t in zip(row.input_ids, trained)]
    bounds = _boundaries(preparer, row, text)
    out = []
    shown = 0
    b = 0
    for t in range(len(enc.ids)):
        start, end = enc.token_start(t), enc.token_end(t)
        while b + 1 < len(bounds) and bounds[b + 1][0] <= start:
            b += 1
        out.append(Segment(text[max(start, shown):end], trained[t], bounds[b][1]))
        shown = max(shown, end)
    return out


def role_counts(segs: Iterable[Segment]) -> dict[str, tuple[int, int]]:
    """role -> (tokens, trained tokens)."""
    total: Counter[str] = Counter()
    trained: Counter[str] = Counter()
    for s in segs:
        total[s.role] += 1
        trained[s.role] += s.trained
    return {r: (total[r], trained[r]) for r in total}


_CSS = """body{font-family:ui-monospace,Menlo,Consolas,monospace;margin:2em;background:#fafafa}
.tok{white-space:pre-wrap;border-right:1px solid #ddd}
.m{color:#777}.t{background:#c8f7c5;color:#053}
.row{background:#fff;border:1px solid #ccc;padding:1em;margin:1em 0;line-height:1.6}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
.legend span{padding:0 .4em;margin-right:1em}"""


def html_page(title: str, rows: list[tuple[str, list[Segment]]], facts: dict[str, Any]) -> str:
    """A self-contained HTML page: one block per row, trained tokens highlighted, role counts."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style>",
             f"<h1>{html.escape(title)}</h1>",
             "<p class='legend'><span class='t'>trained (label = token)</span><span class='m'>masked (-100)</span></p>",
             "<ul>" + "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>" for k, v in facts.items()) + "</ul>"]
    for name, segs in rows:
        counts = role_counts(segs)
        parts.append(f"<h2>{html.escape(name)}</h2><table><tr><th>role</th><th>tokens</th><th>trained</th></tr>")
        parts += [f"<tr><td>{html.escape(r)}</td><td>{n}</td><td>{t}</td></tr>" for r, (n, t) in counts.items()]
        parts.append("</table><div class='row'>")
        parts += [f"<span class='tok {'t' if s.trained else 'm'}' title='{html.escape(s.role)}'>"
                  f"{html.escape(s.text)}</span>" for s in segs]
        parts.append("</div>")
    return "\n".join(parts)


def find_record(path: str, fmt: str, index: int, record_id: str | None) -> Any:
    """The ``Raw`` record at ``index`` (0-based), or the one whose id is ``record_id``."""
    from dialogkit.errors import UsageError
    from dialogkit.formats import read_raw

    for i, raw in enumerate(read_raw(path, fmt)):
        if (record_id is None and i == index) or (record_id is not None and raw.id == record_id):
            return raw
    what = f"id {record_id!r}" if record_id is not None else f"index {index}"
    raise UsageError(f"{path}: no record with {what}")


def is_prepared(path: str) -> bool:
    """Whether ``path`` is a Parquet file written by ``prepare`` (it has ``input_ids``)."""
    if not path.endswith(".parquet"):
        return False
    import polars as pl

    return "input_ids" in pl.read_parquet_schema(path)


def prepared_row(path: str, index: int, record_id: str | None) -> Row:
    """Row ``index`` of a prepared Parquet file (or the first of dialog ``record_id``)."""
    import polars as pl

    from dialogkit.errors import UsageError

    lf = pl.scan_parquet(path)
    if record_id is not None:
        lf = lf.filter(pl.col("dialog_id") == record_id)
        index = 0
    df = lf.slice(index, 1).collect()
    if df.height == 0:
        raise UsageError(f"{path}: no row {'for dialog ' + repr(record_id) if record_id else index}")
    r = df.row(0, named=True)
    return Row(list(r["input_ids"]), list(r["labels"]), r["dialog_id"], r.get("turn"))
