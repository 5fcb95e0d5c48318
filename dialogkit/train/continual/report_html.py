"""``RUN/forgetting.html``: one self-contained page (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

from html import escape
from typing import Any

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}.worse{color:#b00020}.better{color:#1b7f3b}
.muted{color:#777}code{background:#f3f3f3;padding:1px 4px}"""
_BEFORE, _AFTER = "#8aa4c8", "#d9822b"


def _num(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else ("-" if v is None else escape(str(v)))


def loss_chart(sets: list[dict[str, Any]], key: str = "loss") -> str:
    """Grouped bars: ``key`` before and after for every measured set."""
    rows = [s for s in sets if isinstance(s["before"].get(key), (int, float))]
    if not rows:
        return "<p class=muted>nothing measured</p>"
    top = max(max(s["before"][key], s["after"].get(key) or 0) for s in rows) or 1.0
    bar, gap, h, left = 22, 26, 180, 40
    width = left + len(rows) * (2 * bar + gap) + 20
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + 60}" role="img" '
              f'aria-label="{escape(key)} before and after">'),
             f'<line x1="{left}" y1="{h}" x2="{width - 10}" y2="{h}" stroke="#999"/>',
             f'<text x="4" y="12" font-size="11">{escape(key)}</text>']
    for i, s in enumerate(rows):
        x = left + i * (2 * bar + gap) + 10
        for j, (when, color) in enumerate((("before", _BEFORE), ("after", _AFTER))):
            v = s[when].get(key)
            if not isinstance(v, (int, float)):
                continue
            bh = max(1.0, v / top * (h - 20))
            parts.append(f'<rect x="{x + j * bar}" y="{h - bh:.1f}" width="{bar - 2}" height="{bh:.1f}" '
                         f'fill="{color}"><title>{escape(s["name"])} {when}: {v:.4f}</title></rect>')
            parts.append(f'<text x="{x + j * bar + bar / 2 - 1:.1f}" y="{h - bh - 3:.1f}" font-size="9" '
                         f'text-anchor="middle">{v:.2f}</text>')
        label = escape(s["name"][:18])
        parts.append(f'<text x="{x + bar:.1f}" y="{h + 14}" font-size="10" text-anchor="middle">{label}</text>')
        parts.append(f'<text x="{x + bar:.1f}" y="{h + 26}" font-size="9" fill="#777" '
                     f'text-anchor="middle">{escape(s["role"])}/{escape(s["split"])}</text>')
    parts.append(f'<rect x="{left}" y="{h + 36}" width="10" height="10" fill="{_BEFORE}"/>'
                 f'<text x="{left + 14}" y="{h + 45}" font-size="10">before</text>'
                 f'<rect x="{left + 70}" y="{h + 36}" width="10" height="10" fill="{_AFTER}"/>'
                 f'<text x="{left + 84}" y="{h + 45}" font-size="10">after</text></svg>')
    return "".join(parts)


def _table(sets: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for s in sets:
        keys += [k for k in s["before"] if k not in keys]
    head = "".join(f"<th>{escape(k)} before</th><th>after</th><th>Δ</th>" for k in keys)
    lines = [f"<table><tr><th>data set</th><th>role</th><th>split</th><th>dialogs</th>{head}</tr>"]
    for s in sets:
        cells = ""
        for k in keys:
            d = s["delta"].get(k)
            worse = d is not None and ((d > 0) if k == "loss" else (d < 0))
            cls = "" if d is None or d == 0 else (" class=worse" if worse else " class=better")
            cells += f"<td>{_num(s['before'].get(k))}</td><td>{_num(s['after'].get(k))}</td>"
            cells += f"<td{cls}>{'-' if d is None else f'{d:+.4f}'}</td>"
        if s.get("skipped"):
            cells = f'<td colspan="{3 * len(keys) or 1}" class=muted>not measured: {escape(s["skipped"])}</td>'
        lines.append(f"<tr><td>{escape(s['name'])}</td><td>{escape(s['role'])}</td><td>{escape(s['split'])}</td>"
                     f"<td>{s['dialogs']}</td>{cells}</tr>")
    return "\n".join(lines) + "</table>"


def render(report: dict[str, Any]) -> str:
    """The HTML text of a ``forgetting.json`` object."""
    summ = report.get("summary", {})
    settings = {k: report.get(k) for k in ("init_from", "replay", "regularize", "reg_strength", "freeze")}
    setting_line = ", ".join(f"{k} <code>{escape(str(v))}</code>" for k, v in settings.items() if v not in (None, []))
    f = summ.get("forgetting")
    verdict = "" if f is None else (f"<p>Mean loss on earlier runs' data: {_num(summ.get('earlier_loss_before'))} → "
                                    f"{_num(summ.get('earlier_loss_after'))} (<b>{f:+.4f}</b>); on the new data: "
                                    f"{_num(summ.get('new_loss_before'))} → {_num(summ.get('new_loss_after'))}.</p>")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>Forgetting: {escape(report.get('run', ''))}"
            f"</title><style>{_CSS}</style></head><body><h1>Forgetting report</h1>"
            f"<p>Run <code>{escape(report.get('run', ''))}</code>; {setting_line}.</p>{verdict}"
            f"<h2>Loss on trained tokens (lower is better)</h2>{loss_chart(report['sets'])}"
            f"<h2>All metrics</h2>{_table(report['sets'])}"
            "<p class=muted>Before: the model the increment started from. After: the trained increment. "
            "Loss and token accuracy are teacher-forced on the assistant tokens prepare marks; other metrics "
            "score greedy turns generated from the gold history.</p></body></html>\n")
