"""Compare two reports with paired bootstrap confidence intervals.

Both reports keep each item's summable statistics, so every metric can be recomputed on a
resample. Resampling is by dialog (turns of one dialog are not independent) over the dialogs
present in both reports, with the same resampled dialogs for A and B (paired). The difference
is B - A; the interval is the percentile interval of the resampled differences, and ``p`` is
the two-sided bootstrap p-value (twice the smaller tail mass around zero).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from dialogkit.errors import InputError
from dialogkit.score.base import AGGREGATORS, REPORT_FORMAT


def load_report(path: str | Path) -> dict[str, Any]:
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a JSON report: {e}") from None
    if not isinstance(report, dict) or report.get("report_format") != REPORT_FORMAT or "items" not in report:
        raise InputError(f"{path}: not a dialogkit score report (report_format {REPORT_FORMAT!r} with items)")
    return report


def _unit(item: dict[str, Any]) -> str:
    return str(item["dialog"])


def per_dialog(report: dict[str, Any], metric: str) -> dict[str, np.ndarray]:
    """Summed statistics of one metric per dialog."""
    out: dict[str, np.ndarray] = {}
    for item in report["items"]:
        vec = item.get("stats", {}).get(metric)
        if vec is None:
            continue
        arr = np.asarray(vec, dtype=float)
        key = _unit(item)
        out[key] = out[key] + arr if key in out else arr
    return out


def _resamples(n: int, n_boot: int, rng: np.random.Generator, chunk: int = 200):
    """How often each dialog is drawn in each resample (multinomial counts), in chunks to bound memory."""
    for start in range(0, n_boot, chunk):
        yield rng.multinomial(n, np.full(n, 1.0 / n), size=min(chunk, n_boot - start)).astype(float)


def _values(agg: str, sums: np.ndarray) -> np.ndarray:
    fn = AGGREGATORS[agg]
    return np.array([np.nan if (v := fn(row)) is None else v for row in sums], dtype=float)


def compare_metric(
    a: dict[str, Any],
    b: dict[str, Any],
    metric: str,
    units: list[str],
    n_boot: int,
    rng: np.random.Generator,
    confidence: float,
    min_dialogs: int = 5,
) -> dict[str, Any] | None:
    """One metric's values in A and B, B - A, its bootstrap interval and p-value."""
    spec_a, spec_b = a["metrics"][metric], b["metrics"][metric]
    if spec_a["agg"] != spec_b["agg"]:
        return None
    agg = spec_a["agg"]
    da, db = per_dialog(a, metric), per_dialog(b, metric)
    some = next(iter(da.values()), None)
    if some is None:
        some = next(iter(db.values()), None)
    if some is None or not units:
        return None
    zero = np.zeros(len(some))
    ma = np.stack([da.get(u, zero) for u in units])
    mb = np.stack([db.get(u, zero) for u in units])
    va, vb = AGGREGATORS[agg](ma.sum(0)), AGGREGATORS[agg](mb.sum(0))
    diffs = np.concatenate(
        [
            _values(agg, counts @ mb) - _values(agg, counts @ ma)
            for counts in _resamples(len(units), n_boot, rng)
        ]
    )
    diffs = diffs[~np.isnan(diffs)]
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha]).tolist() if len(diffs) else (None, None)
    p = float(min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean()))) if len(diffs) else None
    diff = None if va is None or vb is None else vb - va
    scored = sum(1 for u in units if u in da or u in db)
    better = None
    # A percentile bootstrap over a handful of dialogs is degenerate (one dialog: a zero-width
    # interval); never call such a difference significant.
    if scored >= min_dialogs and diff is not None and lo is not None and (lo > 0 or hi < 0):
        better = "B" if (diff > 0) == spec_a["higher_is_better"] else "A"
    return {
        "metric": metric,
        "a": va,
        "b": vb,
        "diff": diff,
        "ci_low": lo,
        "ci_high": hi,
        "p": p,
        "significant": better is not None,
        "better": better,
        "n_dialogs": scored,
        "higher_is_better": spec_a["higher_is_better"],
        "scale": spec_a.get("scale", "fraction"),
    }


def _dialogs(report: dict[str, Any]) -> set[str]:
    return {_unit(it) for it in report["items"]}


def compare(
    a: dict[str, Any],
    b: dict[str, Any],
    metrics: list[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_dialogs: int = 5,
) -> dict[str, Any]:
    """Paired bootstrap comparison of every metric the two reports share."""
    rng = np.random.default_rng(seed)
    common = [m for m in a["metrics"] if m in b["metrics"]]
    names = [m for m in common if metrics is None or m in metrics]
    da, db = _dialogs(a), _dialogs(b)
    units = sorted(da & db)
    rows = [
        r
        for m in names
        if (r := compare_metric(a, b, m, units, n_boot, rng, confidence, min_dialogs)) is not None
    ]
    return {
        "report_format": REPORT_FORMAT,
        "kind": "compare",
        "n_boot": n_boot,
        "seed": seed,
        "confidence": confidence,
        "min_dialogs": min_dialogs,
        "dialogs": {"common": len(da & db), "only_a": len(da - db), "only_b": len(db - da)},
        "metrics_only_in_one": sorted(set(a["metrics"]) ^ set(b["metrics"])),
        "rows": rows,
    }
