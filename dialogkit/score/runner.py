"""Run a suite's scorers over predicted dialogs matched to references by id.

Bad records become located issues and the rest is still scored. A reference without a
prediction is scored as a failure (``pred=None``) and listed; a prediction whose id is not
among the references is reported and ignored; several predictions with one id are trials.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue, RecordError
from dialogkit.io import iter_records
from dialogkit.records import parse_dialog
from dialogkit.schema import Dialog
from dialogkit.score.base import Item, Scorer


@dataclass
class ScoreRun:
    """Everything a report is built from."""

    items: list[Item] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refs: dict[str, Dialog] = field(default_factory=dict)
    n_pred: int = 0
    summaries: dict[str, Any] = field(default_factory=dict)
    scorers: Sequence[Scorer] = ()

    @property
    def bad_records(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")


def _lenient_args(data: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Replace tool arguments that are not JSON by ``{}``, remembering them for the structured scorer."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return data, []
    bad = []
    for i, msg in enumerate(data["messages"]):
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        for j, call in enumerate(calls if isinstance(calls, list) else []):
            args = call.get("arguments") if isinstance(call, dict) else None
            if not isinstance(args, str) or not args.strip():
                continue
            try:
                json.loads(args)
            except json.JSONDecodeError:
                bad.append({"message": i, "call": j, "text": args[:500]})
    if not bad:
        return data, []
    data = copy.deepcopy(data)
    for b in bad:
        data["messages"][b["message"]]["tool_calls"][b["call"]]["arguments"] = {}
    return data, bad


def read_dialogs(path: str | Path, issues: list[Issue], lenient: bool = False):
    """Yield ``(raw, dialog)`` for each good record; bad ones become issues."""
    for raw in iter_records(path):
        if not raw.ok:
            issues.append(raw.issue)  # type: ignore[arg-type]
            continue
        data, unparsed = _lenient_args(raw.data) if lenient else (raw.data, [])
        try:
            dialog = parse_dialog(data, **raw.where())
        except RecordError as e:
            issues.extend(e.issues)
            continue
        if unparsed:
            extra = dialog.metadata.model_extra
            if extra is not None:
                extra["score_unparsed_args"] = unparsed
        yield raw, dialog


def load_pairs(pred_path: str | Path, ref_path: str | Path, run: ScoreRun) -> dict[str, list[Dialog]]:
    """References into ``run.refs``; predictions grouped by id (several = trials)."""
    for raw, dialog in read_dialogs(ref_path, run.issues):
        if dialog.id in run.refs:
            run.issues.append(
                Issue("DUPLICATE_ID", "duplicate reference id; the first is kept", **raw.where())
            )
            continue
        run.refs[dialog.id] = dialog
    preds: dict[str, list[Dialog]] = {}
    for raw, dialog in read_dialogs(pred_path, run.issues, lenient=True):
        run.n_pred += 1
        if dialog.id not in run.refs:
            run.unknown.append(dialog.id)
            run.issues.append(
                Issue(
                    "UNKNOWN_ID",
                    "prediction id is not among the references; ignored",
                    **raw.where(),
                    severity="warning",
                )
            )
            continue
        preds.setdefault(dialog.id, []).append(dialog)
    return preds


def _tag(items: list[Item], ref: Dialog, trial: int | None) -> list[Item]:
    domain = ref.metadata.domain
    domains = domain if isinstance(domain, list) else ([domain] if domain else [])
    for it in items:
        it.info.setdefault("domains", domains)
        if ref.metadata.language:
            it.info.setdefault("language", ref.metadata.language)
        if trial is not None:
            it.info["trial"] = trial
    return items


def run_scorers(scorers: Sequence[Scorer], pred_path: str | Path, ref_path: str | Path) -> ScoreRun:
    """Score every reference with every scorer."""
    run = ScoreRun(scorers=scorers)
    preds = load_pairs(pred_path, ref_path, run)
    per_scorer: dict[str, list[Item]] = {s.name: [] for s in scorers}
    for rid, ref in run.refs.items():
        trials = preds.get(rid)
        if not trials:
            run.missing.append(rid)
        candidates = trials or [None]
        for t, pred in enumerate(candidates):
            trial = t if len(candidates) > 1 else None
            for scorer in scorers:
                items = _tag(scorer.score(pred, ref), ref, trial)
                for it in items:
                    if pred is None:
                        it.info["missing_prediction"] = True
                per_scorer[scorer.name].extend(items)
    for scorer in scorers:
        run.items.extend(per_scorer[scorer.name])
        summarize = getattr(scorer, "summarize", None)
        if callable(summarize):
            run.summaries.update(summarize(per_scorer[scorer.name]) or {})
    return run


def dialogs_report(suite, pred_path: str | Path, ref_path: str | Path) -> tuple[dict[str, Any], ScoreRun]:
    """Run a suite and build its report (see :mod:`dialogkit.score.report` for the format)."""
    from dialogkit.score.report import build_report, headline, metric_specs
    from dialogkit.score.suite import build_scorers

    scorers = build_scorers(suite)
    run = run_scorers(scorers, pred_path, ref_path)
    specs = metric_specs(scorers)
    flags = []
    rob = run.summaries.get("robustness")
    if rob and rob["flagged"]:
        flags.append(
            f"robustness: success drops {rob['drop'] * 100:.1f} points on variants "
            f"(threshold {rob['threshold'] * 100:.1f})"
        )
    if run.missing:
        flags.append(f"{len(run.missing)} reference dialog(s) have no prediction and count as failures")
    report = build_report(
        "dialogs",
        run.items,
        specs,
        suite={
            "name": suite.name,
            "version": suite.version,
            "scorers": {s.name: getattr(s, "version", "?") for s in scorers},
        },
        inputs={
            "pred": str(pred_path),
            "ref": str(ref_path),
            "references": len(run.refs),
            "predictions": run.n_pred,
        },
        missing=run.missing,
        unknown=run.unknown,
        issues=[i.to_dict() for i in run.issues],
        summaries=run.summaries,
        flags=flags,
    )
    values = {k: m["value"] for k, m in report["metrics"].items()}
    report["headline"] = headline(values) if suite.headline else None
    # Keep the headline near the top of the file for people reading it.
    order = ["report_format", "kind", "created", "suite", "inputs", "headline", "metrics"]
    return {k: report[k] for k in order if k in report} | {
        k: v for k, v in report.items() if k not in order
    }, run
