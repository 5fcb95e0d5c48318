"""A self-contained HTML report: tables and inline SVG charts, no scripts, no CDN."""

from __future__ import annotations

from html import escape
from typing import Any

from dialogkit.score.report import key_columns

_W, _BAR_H, _GAP = 640, 18, 6
_COLORS = ["#3b6fb6", "#e08a2c", "#3f9a5a", "#b64a4a", "#7a5bb0", "#8c6d3f"]
_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:960px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}.flag{color:#a33;font-weight:bold}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}svg text{font-size:12px;font-family:inherit}
.muted{color:#777}"""


def _pct(v: Any, scale: str = "fraction") -> str:
    if v is None:
        return "-"
    return f"{v * 100:.1f}" if scale == "fraction" else f"{v:.3f}"


def bar_chart(rows: list[tuple[str, float | None]], title: str, vmax: float = 1.0) -> str:
    """Horizontal bars, one per row (values in [0, vmax])."""
    rows = [(label, v) for label, v in rows if v is not None]
    if not rows:
        return ""
    label_w, h = 220, len(rows) * (_BAR_H + _GAP) + 30
    bars = []
    for i, (label, v) in enumerate(rows):
        y = 24 + i * (_BAR_H + _GAP)
        w = max(0.0, min(1.0, v / vmax if vmax else 0)) * (_W - label_w - 60)
        bars.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(label[:32])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{_BAR_H}" fill="{_COLORS[0]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{v * 100 if vmax == 1.0 else v:.1f}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{h}" role="img" '
        f'aria-label="{escape(title)}"><text x="0" y="14" font-weight="bold">{escape(title)}</text>'
        + "".join(bars)
        + "</svg>"
    )


def line_chart(xs: list[str], series: dict[str, list[float | None]], title: str) -> str:
    """Lines over categorical x (e.g. turn index), y in [0, 1]."""
    if not xs or not series:
        return ""
    left, top, w, h = 40, 24, _W - 180, 200
    step = w / max(1, len(xs) - 1)
    parts = [
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
    ]
    for tick in (0, 0.5, 1):
        y = top + h - tick * h
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{int(tick * 100)}</text>')
    for i, x in enumerate(xs):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{top + h + 16}" text-anchor="middle">{escape(x)}</text>'
        )
    for si, (name, ys) in enumerate(series.items()):
        color = _COLORS[si % len(_COLORS)]
        pts = [(left + i * step, top + h - y * h) for i, y in enumerate(ys) if y is not None]
        if pts:
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                + '"/>'
            )
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in pts]
        parts.append(
            f'<rect x="{left + w + 20}" y="{top + si * 18}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + w + 36}" y="{top + si * 18 + 10}">{escape(name)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{top + h + 30}" role="img" '
        f'aria-label="{escape(title)}">' + "".join(parts) + "</svg>"
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _key_metrics(metrics: dict[str, Any], limit: int = 4) -> list[str]:
    preferred = [
        "task_success",
        "tool_call_accuracy",
        "joint_goal_accuracy",
        "bleu",
        "inform_rate",
        "accuracy",
    ]
    keys = [m for m in preferred if m in metrics] + [m for m in metrics if m not in preferred]
    return [m for m in keys if metrics[m].get("scale") == "fraction"][:limit]


def to_html(report: dict[str, Any]) -> str:
    """The whole report as one HTML page."""
    metrics = report.get("metrics", {})
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>dialogkit score report</title>"
        f"<style>{_CSS}</style></head><body><h1>dialogkit score report ({escape(str(report.get('kind')))})</h1>"
    ]
    suite = report.get("suite")
    if suite:
        out.append(
            f"<p class='muted'>suite {escape(str(suite.get('name')))} v{escape(str(suite.get('version')))}"
            f" · {escape(str(report.get('created', '')))}</p>"
        )
    for flag in report.get("flags") or []:
        out.append(f"<p class='flag'>⚠ {escape(flag)}</p>")
    head = report.get("headline")
    if head:
        out.append(
            "<h2>Headline (MultiWOZ style)</h2>"
            + _table(
                ["Inform", "Success", "BLEU", "Combined"],
                [[_pct(head.get(k)) for k in ("inform", "success", "bleu", "combined")]],
            )
        )
    if "accuracy" in report:
        out.append(
            f"<h2>Accuracy {_pct(report['accuracy'])}% ({report.get('correct')}/{report.get('total')})</h2>"
        )
    out.append(
        "<h2>Metrics</h2>"
        + _table(
            ["metric", "value", "n", "better", "description"],
            [
                [
                    k,
                    _pct(m["value"], m.get("scale", "fraction")),
                    str(m["n"]),
                    "↑" if m["higher_is_better"] else "↓",
                    m.get("description", ""),
                ]
                for k, m in metrics.items()
            ],
        )
    )
    out.append(
        bar_chart(
            [(k, m["value"]) for k, m in metrics.items() if m.get("scale") == "fraction"], "All metrics (%)"
        )
    )
    out += _breakdown_sections(report, metrics)
    if report.get("error_types"):
        out.append(
            "<h2>Error types</h2>"
            + bar_chart(
                list(report["error_types"].items()),
                "Errors by type (count)",
                vmax=max(report["error_types"].values()),
            )
        )
    out += _summary_sections(report)
    out.append("</body></html>")
    return "\n".join(x for x in out if x)


def _breakdown_sections(report: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    out = []
    keys = _key_metrics(metrics)
    b = report.get("breakdowns", {})
    if "domain" in b and keys:
        out.append("<h2>By domain</h2>")
        for m in keys:
            out.append(bar_chart([(d, row.get(m)) for d, row in b["domain"].items()], f"{m} by domain (%)"))
    if "turn" in b and keys and len(b["turn"]) > 1:
        xs = list(b["turn"])
        out.append(
            "<h2>By turn index</h2>"
            + line_chart(
                xs,
                {m: [b["turn"][x].get(m) for x in xs] for m in keys},
                "Metrics by assistant turn index (%)",
            )
        )
    for name, table in b.items():
        cols = key_columns(table, metrics)
        if cols:
            out.append(
                f"<h3>Table by {escape(name)}</h3>"
                + _table(
                    [name, *cols],
                    [
                        [k, *(_pct(row.get(c), metrics[c].get("scale", "fraction")) for c in cols)]
                        for k, row in table.items()
                    ],
                )
            )
    return out


def _summary_sections(report: dict[str, Any]) -> list[str]:
    out = []
    s = report.get("summaries") or {}
    if "pass_hat_k" in s:
        out.append(
            "<h2>pass^k</h2>"
            + _table(["k", "pass^k (%)"], [[k, _pct(v)] for k, v in s["pass_hat_k"].items()])
        )
    if "robustness" in s:
        r = s["robustness"]
        out.append(
            "<h2>Robustness</h2>"
            + bar_chart(
                [("originals", r["original_success"]), ("variants", r["variant_success"])], "Task success (%)"
            )
        )
    if report.get("missing"):
        out.append(
            f"<h2>Missing predictions ({len(report['missing'])})</h2><p>"
            + escape(", ".join(report["missing"][:100]))
            + "</p>"
        )
    if report.get("issues"):
        out.append(
            f"<h2>Input issues ({len(report['issues'])})</h2>"
            + _table(
                ["file:line", "id", "code", "message"],
                [
                    [f"{i.get('file')}:{i.get('line')}", str(i.get("id")), i["code"], i["message"]]
                    for i in report["issues"][:200]
                ],
            )
        )
    return out
