"""``report.html``: one self-contained page (inline SVG, no scripts) for the whole demo run."""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import Any

from dialogkit.demo.config import STAGES
from dialogkit.demo.summary import HEADLINE
from dialogkit.io import AtomicWriter
from dialogkit.score.report_html import _COLORS, _CSS

_EXTRA_CSS = """.ok{color:#2a7a3a;font-weight:bold}.bad{color:#a33;font-weight:bold}code{background:#f6f6f6;
padding:1px 3px;font-size:0.9em}pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;font-size:0.85em}
td.l{text-align:left}"""


def _fmt(v: Any, loss: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if loss else f"{v * 100:.1f}"


def grouped_bars(models: dict[str, dict[str, Any]], keys: list[str], title: str) -> str:
    """One group of bars per metric, one bar per model (values are fractions)."""
    names = list(models)
    if not names:
        return ""
    bar_w, gap, left, top, h = 14, 18, 40, 28, 180
    group_w = max(len(names) * bar_w + gap, 120)  # room for the metric's name under its group
    width = left + len(keys) * group_w + 140
    parts = [f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + h}" x2="{left + len(keys) * group_w}" y2="{top + h}" stroke="#999"/>']
    for tick in (0, 0.5, 1):
        y = top + h - tick * h
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{int(tick * 100)}</text>')
    for gi, key in enumerate(keys):
        x0 = left + gi * group_w + (group_w - len(names) * bar_w) / 2
        for mi, name in enumerate(names):
            v = models[name].get(key)
            if v is None:
                continue
            bh = max(0.0, min(1.0, v)) * h
            parts.append(f'<rect x="{x0 + mi * bar_w:.1f}" y="{top + h - bh:.1f}" width="{bar_w - 2}" '
                         f'height="{bh:.1f}" fill="{_COLORS[mi % len(_COLORS)]}"><title>{escape(name)} '
                         f'{escape(key)} {v * 100:.1f}</title></rect>')
        parts.append(f'<text x="{x0 + len(names) * bar_w / 2:.1f}" y="{top + h + 14}" text-anchor="middle" '
                     f'font-size="10">{escape(key)}</text>')
    for mi, name in enumerate(names):
        y = top + mi * 18
        parts.append(f'<rect x="{width - 130}" y="{y}" width="10" height="10" fill="{_COLORS[mi % len(_COLORS)]}"/>'
                     f'<text x="{width - 114}" y="{y + 10}">{escape(name)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + h + 24}" role="img" '
            f'aria-label="{escape(title)}">' + "".join(parts) + "</svg>")


def loss_chart(series: dict[str, list[tuple[float, float]]], title: str) -> str:
    """Lines of (step, loss) on linear axes scaled to the data."""
    series = {k: v for k, v in series.items() if v}
    if not series:
        return ""
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    xmax, ymax = max(xs) or 1, max(ys) or 1
    left, top, w, h = 48, 24, 460, 180
    parts = [f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{ymax:.2g}</text>',
             f'<text x="{left - 4}" y="{top + h + 4}" text-anchor="end">0</text>',
             f'<text x="{left + w}" y="{top + h + 16}" text-anchor="end">step {xmax:.0f}</text>']
    for si, (name, pts) in enumerate(series.items()):
        color = _COLORS[si % len(_COLORS)]
        coords = " ".join(f"{left + x / xmax * w:.1f},{top + h - y / ymax * h:.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        parts.append(f'<rect x="{left + w + 16}" y="{top + si * 18}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{left + w + 32}" y="{top + si * 18 + 10}">{escape(name)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + w + 160}" height="{top + h + 24}" '
            f'role="img" aria-label="{escape(title)}">' + "".join(parts) + "</svg>")


def _losses(path: Path) -> list[tuple[float, float]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "loss" in row and "step" in row:
            out.append((float(row["step"]), float(row["loss"])))
    return out


def _link(root: Path, path: str | Path | None, label: str | None = None) -> str:
    if not path:
        return "-"
    p = Path(path)
    try:
        href = os.path.relpath(p.resolve(), root.resolve())
    except ValueError:
        href = str(p)
    return f'<a href="{escape(href)}">{escape(label or href)}</a>'


def _tables(models: dict[str, Any]) -> list[str]:
    rows = []
    for name, m in models.items():
        head = m.get("headline") or {}
        rows.append(f"<tr><td>{escape(name)}</td>" + "".join(
            f"<td>{_fmt(head.get(k))}</td>"
            for k in ("inform", "success", "bleu", "combined")) + "</tr>")
    mwoz = ("<h2>MultiWOZ-style table</h2><table><tr><th>model</th><th>Inform</th><th>Success</th><th>BLEU</th>"
            "<th>Combined</th></tr>" + "".join(rows) + "</table>"
            "<p class='muted'>Combined = (Inform + Success) / 2 + BLEU, in points, as mwzeval prints it.</p>")
    keys = list(HEADLINE)
    head = "".join(f"<th>{escape(k)}</th>" for k in [*keys, "eval_loss"])
    body = "".join(
        f"<tr><td>{escape(n)}</td>" + "".join(f"<td>{_fmt(m.get(k))}</td>" for k in keys)
        + f"<td>{_fmt(m.get('eval_loss'), loss=True)}</td></tr>" for n, m in models.items())
    side = (f"<h2>The models side by side</h2><table><tr><th>model</th>{head}</tr>{body}</table>"
            "<p class='muted'>Percentages of held-out dialogs or turns; eval_loss is the held-out "
            "assistant-token NLL.</p>")
    return [mwoz, side]


def _definitions(summary: dict[str, Any]) -> str:
    items = "".join(f"<tr><td>{escape(k)}</td><td class='l'>{escape(v)}</td></tr>"
                    for k, v in summary.get("definitions", {}).items())
    return f"<h2>How each number is measured</h2><table>{items}</table>"


def _stages(ctx: Any, root: Path) -> str:
    rows = []
    for stage in STAGES:
        man = ctx.manifest(stage)
        if man is None:
            continue
        links = " ".join(_link(root, p, k) for k, p in man.get("outputs", {}).items()
                         if Path(p).exists() and Path(p).resolve().is_relative_to(root.resolve()))
        cmds = "".join(f"<pre>{escape(c)}</pre>" for c in man.get("commands", []))
        rows.append(f"<tr><td>{escape(stage)}</td><td>{man['seconds']:.1f}</td><td class='l'>{links}{cmds}</td></tr>")
    return ("<h2>Stages, outputs and commands</h2><p>Every stage's output stays in its folder; "
            "rerun one with <code>dialogkit demo --out DIR --stages NAME</code> or the commands shown.</p>"
            "<table><tr><th>stage</th><th>seconds</th><th>outputs and the exact commands</th></tr>"
            + "".join(rows) + "</table>")


def _checks(summary: dict[str, Any]) -> str:
    items = []
    for name, ok in summary.get("checks", {}).items():
        cls, word = ("ok", "yes") if ok else (("bad", "no") if ok is False else ("muted", "n/a"))
        items.append(f"<li>{escape(name.replace('_', ' '))}: <span class='{cls}'>{word}</span></li>")
    return "<ul>" + "".join(items) + "</ul>"


def write_report(ctx: Any, summary: dict[str, Any], out: Path) -> None:
    """Write the demo's HTML report to ``out``."""
    root = out.parent
    models = summary.get("models", {})
    charts = grouped_bars(models, list(HEADLINE), "Held-out metrics (%)")
    sft_run = (ctx.manifest("sft") or {}).get("outputs", {}).get("run")
    dpo_run = (ctx.manifest("dpo") or {}).get("outputs", {}).get("run")
    curves = loss_chart({"sft": _losses(Path(sft_run) / "metrics.jsonl") if sft_run else []},
                        "SFT training loss")
    dpo_curve = loss_chart({"dpo": _losses(Path(dpo_run) / "metrics.jsonl") if dpo_run else []},
                           "DPO training loss")
    data = summary.get("data") or {}
    total = sum((summary.get("seconds") or {}).values())
    page = [
        ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>dialogkit demo report</title>"
         f"<style>{_CSS}{_EXTRA_CSS}</style></head><body>"),
        "<h1>dialogkit demo: synth → validate → prepare → SFT → mine → DPO → score</h1>",
        (f"<p>{escape(str(data.get('train', '?')))} training and {escape(str(data.get('heldout', '?')))} held-out "
         f"dialogs (scenario <code>{escape(str(data.get('scenario', '?')))}</code>); stages took {total:.0f} s in "
         f"all. Machine-readable: {_link(root, root / 'summary.json', 'summary.json')}.</p>"),
        _checks(summary), *_tables(models), charts, curves, dpo_curve, _definitions(summary), _stages(ctx, root),
        "</body></html>",
    ]
    with AtomicWriter(out) as fh:
        fh.write("\n".join(p for p in page if p).encode("utf-8"))
