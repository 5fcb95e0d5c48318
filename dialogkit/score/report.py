"""Reports: the JSON every ``score`` command writes, and its Markdown rendering.

Report JSON (``report_format: "dialogkit.score/1"``)::

    {
      "report_format": "dialogkit.score/1", "kind": "dialogs" | "bfcl",
      "suite": {"name", "version"}, "inputs": {...}, "created": ISO time,
      "headline": {"inform", "success", "bleu", "combined"},      # fractions; combined = (I+S)/2 + B
      "metrics": {name: {"value", "n", "agg", "higher_is_better", "description", "scale", "scorer"}},
      "breakdowns": {"domain": {d: {metric: value}}, "turn": {k: {...}}, "language": {...}},
      "error_types": {type: count}, "missing": [ids], "unknown": [ids],
      "issues": [Issue.to_dict()], "summaries": {pass_hat_k, robustness, judge ...}, "flags": [text],
      "items": [{"dialog", "turn", "trial"?, "stats": {metric: [numbers]}, "info": {...}}]
    }

Every number in ``metrics``/``breakdowns``/``headline`` is a fraction in [0, 1] (except
metrics whose ``scale`` is ``score`` or ``count``) computed from the items' ``stats`` with the
metric's aggregator, so ``score compare`` can recompute any metric on bootstrap resamples.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from dialogkit.score.base import REPORT_FORMAT, Item, MetricSpec, aggregate

TURN_BUCKET_MAX = 10


def metric_specs(scorers) -> dict[str, tuple[str, MetricSpec]]:
    """``metric -> (scorer name, spec)`` for every metric of the scorers."""
    return {m.name: (s.name, m) for s in scorers for m in s.metrics}


def compute(items: Iterable[Item], specs: dict[str, MetricSpec]) -> dict[str, tuple[float | None, int]]:
    """Each metric's value and the number of items that carried it."""
    vectors: dict[str, list[list[float]]] = {name: [] for name in specs}
    for it in items:
        for name, vec in it.stats.items():
            if name in vectors:
                vectors[name].append(vec)
    return {name: (aggregate(specs[name].agg, vecs), len(vecs)) for name, vecs in vectors.items()}


def _group(items: list[Item], key: Callable[[Item], list[str]]) -> dict[str, list[Item]]:
    groups: dict[str, list[Item]] = {}
    for it in items:
        for k in key(it):
            groups.setdefault(k, []).append(it)
    return groups


def _turn_key(it: Item) -> list[str]:
    if it.turn is None:
        return []
    return [str(it.turn) if it.turn < TURN_BUCKET_MAX else f"{TURN_BUCKET_MAX}+"]


def breakdowns(
    items: list[Item], specs: dict[str, MetricSpec]
) -> dict[str, dict[str, dict[str, float | None]]]:
    out = {}
    keys = {
        "domain": lambda it: it.info.get("domains") or ["(none)"],
        "turn": _turn_key,
        "language": lambda it: [it.info.get("language") or "(none)"],
    }
    for name, key in keys.items():
        groups = _group(items, key)
        if len(groups) < 2 and name != "turn":
            continue
        ordered = sorted(groups, key=lambda g: (len(g), g)) if name == "turn" else sorted(groups)
        out[name] = {g: {m: v for m, (v, n) in compute(groups[g], specs).items() if n} for g in ordered}
    return out


def headline(values: dict[str, float | None]) -> dict[str, float | None] | None:
    """MultiWOZ-style Inform / Success / BLEU / Combined (= (Inform + Success) / 2 + BLEU)."""
    inform, success, bleu = values.get("inform_rate"), values.get("task_success"), values.get("bleu")
    if inform is None and success is None and bleu is None:
        return None
    combined = None
    if inform is not None and success is not None and bleu is not None:
        combined = (inform + success) / 2 + bleu
    return {"inform": inform, "success": success, "bleu": bleu, "combined": combined}


def item_dict(it: Item) -> dict[str, Any]:
    d: dict[str, Any] = {"dialog": it.dialog, "turn": it.turn}
    info = dict(it.info)
    if "trial" in info:
        d["trial"] = info.pop("trial")
    d["stats"] = {k: [round(x, 6) if isinstance(x, float) else x for x in v] for k, v in it.stats.items()}
    if info:
        d["info"] = info
    return d


def build_report(
    kind: str, items: list[Item], specs: dict[str, tuple[str, MetricSpec]], **extra: Any
) -> dict[str, Any]:
    """Assemble the report dict (``extra`` adds top-level sections: suite, inputs, issues ...)."""
    plain = {name: spec for name, (_, spec) in specs.items()}
    values = compute(items, plain)
    metrics = {
        name: {"value": values[name][0], "n": values[name][1], "scorer": scorer, **spec.to_dict()}
        for name, (scorer, spec) in specs.items()
        if values[name][1]
    }
    report: dict[str, Any] = {
        "report_format": REPORT_FORMAT,
        "kind": kind,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    report.update({k: v for k, v in extra.items() if k not in ("items",)})
    report["metrics"] = metrics
    report["breakdowns"] = breakdowns(items, plain)
    report["error_types"] = dict(
        Counter(it.info["error_type"] for it in items if it.info.get("error_type")).most_common()
    )
    report["items"] = [item_dict(it) for it in items]
    return report


# ------------------------------------------------------------------------------- Markdown
def _fmt(value: Any, scale: str = "fraction", pct: bool = True) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:.1f}" if pct and scale == "fraction" else f"{value:.3f}"
    return str(value)


def to_markdown(report: dict[str, Any]) -> str:
    """A readable Markdown summary (percentages for fractions)."""
    lines = [f"# dialogkit score report ({report.get('kind')})", ""]
    suite = report.get("suite")
    if suite:
        lines += [f"Suite: `{suite.get('name')}` v{suite.get('version')}", ""]
    head = report.get("headline")
    if head:
        lines += [
            "| Inform | Success | BLEU | Combined |",
            "|---:|---:|---:|---:|",
            "| " + " | ".join(_fmt(head.get(k)) for k in ("inform", "success", "bleu", "combined")) + " |",
            "",
        ]
    if "accuracy" in report:
        lines += [
            f"**Accuracy: {_fmt(report['accuracy'])}%** ({report.get('correct')}/{report.get('total')})",
            "",
        ]
    lines += ["| metric | value | n | better |", "|---|---:|---:|:---:|"]
    for name, m in report.get("metrics", {}).items():
        unit = "%" if m.get("scale") == "fraction" else ""
        lines.append(
            f"| {name} | {_fmt(m['value'], m.get('scale', 'fraction'))}{unit} | {m['n']} | "
            f"{'↑' if m['higher_is_better'] else '↓'} |"
        )
    lines.append("")
    for name, table in report.get("breakdowns", {}).items():
        lines += _breakdown_md(name, table, report.get("metrics", {}))
    if report.get("error_types"):
        lines += ["## Error types", "", "| error type | count |", "|---|---:|"]
        lines += [f"| `{k}` | {v} |" for k, v in report["error_types"].items()] + [""]
    lines += _summaries_md(report)
    return "\n".join(lines).rstrip() + "\n"


KEY_METRICS = [
    "task_success",
    "inform_rate",
    "tool_call_accuracy",
    "joint_goal_accuracy",
    "behaviour_accuracy",
    "bleu",
    "grounded_rate",
    "json_parse_rate",
    "slot_f1",
    "accuracy",
    "user_satisfaction",
]


def key_columns(table: dict[str, dict[str, float]], metrics: dict[str, Any], limit: int = 8) -> list[str]:
    """The most telling metrics present in a breakdown table, headline ones first."""
    present = [m for m in metrics if any(m in row for row in table.values())]
    return ([m for m in KEY_METRICS if m in present] + [m for m in present if m not in KEY_METRICS])[:limit]


def _breakdown_md(name: str, table: dict[str, dict[str, float]], metrics: dict[str, Any]) -> list[str]:
    cols = key_columns(table, metrics)
    if not cols:
        return []
    out = [f"## By {name}", "", f"| {name} | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for key, row in table.items():
        out.append(
            f"| {key} | "
            + " | ".join(_fmt(row.get(c), metrics[c].get("scale", "fraction")) for c in cols)
            + " |"
        )
    return out + [""]


def _summaries_md(report: dict[str, Any]) -> list[str]:
    out: list[str] = []
    s = report.get("summaries") or {}
    if "pass_hat_k" in s:
        out += ["## pass^k", "", "| k | pass^k |", "|---:|---:|"]
        out += [f"| {k} | {_fmt(v)}% |" for k, v in s["pass_hat_k"].items()] + [""]
    if "robustness" in s:
        r = s["robustness"]
        flag = " **FLAGGED**" if r["flagged"] else ""
        out += [
            "## Robustness",
            "",
            f"Success on originals {_fmt(r['original_success'])}% vs variants "
            f"{_fmt(r['variant_success'])}% (drop {_fmt(r['drop'])} points, threshold "
            f"{_fmt(r['threshold'])}){flag}; {r['originals']} originals, {r['variants']} variants.",
            "",
        ]
    for flag in report.get("flags") or []:
        out.append(f"- ⚠ {flag}")
    if report.get("missing"):
        out += ["", f"Missing predictions ({len(report['missing'])}): " + ", ".join(report["missing"][:20])]
    if report.get("issues"):
        out += ["", f"Input issues: {len(report['issues'])} (see the JSON report)."]
    return out


def write_outputs(
    report: dict[str, Any], out: str | None, markdown: str | None, html: str | None, inputs: list[str]
) -> list[str]:
    """Write the JSON / Markdown / HTML forms atomically, never over an input; returns the paths written."""
    import json

    from dialogkit.io import AtomicWriter, ensure_not_input

    written = []
    for path, render in (
        (out, lambda: json.dumps(report, indent=1, ensure_ascii=False) + "\n"),
        (markdown, lambda: to_markdown(report)),
        (html, lambda: _html(report)),
    ):
        if path is None:
            continue
        ensure_not_input(path, inputs)
        with AtomicWriter(path) as fh:
            fh.write(render().encode("utf-8"))
        written.append(str(path))
    return written


def _html(report: dict[str, Any]) -> str:
    from dialogkit.score.report_html import to_html

    return to_html(report)
