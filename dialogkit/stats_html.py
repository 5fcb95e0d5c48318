"""``dialogkit stats --html``: one self-contained page, plots as inline SVG (no CDN, no JS)."""

from __future__ import annotations

import html
from typing import Any

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
.never{color:#b00020;font-weight:600}.rare{color:#b26a00}.muted{color:#777}svg text{font:12px system-ui,sans-serif}"""


def bar_chart(data: dict[str, float], title: str, width: int = 640) -> str:
    """A horizontal bar chart as an inline ``<svg>``."""
    if not data:
        return f"<p class=muted>{html.escape(title)}: nothing to plot</p>"
    row, label_w = 22, min(220, 12 + 7 * max(len(str(k)) for k in data))
    top = max(data.values()) or 1
    bars = []
    for i, (k, v) in enumerate(data.items()):
        y = 24 + i * row
        w = (width - label_w - 70) * v / top
        label = html.escape(str(k))
        bar = (f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{label}</text>'
               f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="#4c78a8"><title>{label}: {v}</title></rect>'
               f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{v}</text>')
        bars.append(bar)
    height = 30 + row * len(data)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
            f'<text x="0" y="14" font-weight="600">{html.escape(title)}</text>{"".join(bars)}</svg>')


def _table(rows: list[tuple[Any, ...]], head: tuple[str, ...]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _coverage(cov: dict[str, Any]) -> str:
    intro = (f"<p>Schema {html.escape(cov['schema'])}: intents covered {cov['intents_covered']}, "
             f"slots covered {cov['slots_covered']} (rare: fewer than {cov['rare_below']} occurrences).</p>")
    parts = [intro]
    for name, svc in cov["services"].items():
        def cell(kind: str, item: str, n: int, svc: dict[str, Any] = svc) -> tuple[str, int]:
            cls = "never" if item in svc["never"][kind] else "rare" if item in svc["rare"][kind] else ""
            return f'<span class="{cls}">{html.escape(item)}</span>', n
        rows = [("intent", *cell("intents", i, n)) for i, n in svc["intents"].items()]
        rows += [("slot", *cell("slots", s, n)) for s, n in svc["slots"].items()]
        parts.append(f"<h3>{html.escape(name)}</h3>" + _table(rows, ("kind", "name", "occurrences")))
        if svc["values_never_seen"]:
            vals = [(html.escape(k), html.escape(", ".join(v))) for k, v in svc["values_never_seen"].items()]
            parts.append(_table(vals, ("categorical slot", "values never seen")))
    return "".join(parts)


def render_html(stats: dict[str, Any]) -> str:
    """The whole report page."""
    title = f"dialogkit stats: {stats['file']}"
    head = (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>")
    out = [head]
    overview = [("dialogs", stats["dialogs"]), ("invalid records (not counted)", stats.get("invalid", 0))]
    if stats["dialogs"]:
        t = stats["turns"]
        overview += [("user turns per dialog (p50 / mean / max)", f"{t['p50']} / {t['mean']} / {t['max']}"),
                     ("dialogs with tool calls", stats["tool_calls"]["dialogs_with_calls"]),
                     ("tool calls", stats["tool_calls"]["calls"])]
        if "tokens" in stats:
            tk = stats["tokens"]
            overview.append(("tokens per dialog (p50 / p95 / max)", f"{tk['p50']} / {tk['p95']} / {tk['max']}"))
    out.append("<h2>Overview</h2>" + _table([(html.escape(str(k)), html.escape(str(v))) for k, v in overview], ("", "")))
    if stats["dialogs"]:
        out.append("<h2>Turns</h2>" + bar_chart(stats["turns"]["histogram"], "dialogs by user turns"))
        out.append("<h2>Roles and tools</h2>" + bar_chart(stats["roles"], "messages by role"))
        out.append(bar_chart(stats["tool_calls"]["by_tool"], "calls by tool"))
        out.append("<h2>Languages</h2>" + bar_chart(stats["languages"], "dialogs by language"))
        for field, groups in (stats.get("by") or {}).items():
            out.append(f"<h2>By {html.escape(field)}</h2>" + bar_chart({k: v["dialogs"] for k, v in groups.items()}, f"dialogs by {field}"))
            out.append(_table([(html.escape(k), v["dialogs"], v["mean_turns"], v["share_with_tool_calls"]) for k, v in groups.items()],
                              (field, "dialogs", "mean user turns", "share with tool calls")))
    if "coverage" in stats:
        out.append("<h2>Intent and slot coverage</h2>" + _coverage(stats["coverage"]))
    out.append("</body></html>\n")
    return "".join(out)
