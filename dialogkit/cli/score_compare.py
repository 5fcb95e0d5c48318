"""``dialogkit score compare``: two reports, paired bootstrap confidence intervals of B - A."""

from __future__ import annotations

import json

import click


def _fmt(v, scale: str) -> str:
    if v is None:
        return "-"
    return f"{v * 100:+.2f}" if scale == "fraction" else f"{v:+.3f}"


def _val(v, scale: str) -> str:
    if v is None:
        return "-"
    return f"{v * 100:.2f}" if scale == "fraction" else f"{v:.3f}"


@click.command()
@click.argument("report_a", type=click.Path(dir_okay=False))
@click.argument("report_b", type=click.Path(dir_okay=False))
@click.option("--metric", "metrics", multiple=True, help="Compare only this metric (repeatable).")
@click.option(
    "--n-boot", default=1000, show_default=True, type=click.IntRange(100, 100000), help="Bootstrap resamples."
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--confidence", default=0.95, show_default=True, type=click.FloatRange(0.5, 0.999))
@click.option(
    "--min-dialogs",
    default=5,
    show_default=True,
    type=click.IntRange(1),
    help="Never call a difference significant when fewer dialogs carry the metric.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the comparison as JSON.")
def compare(report_a, report_b, metrics, n_boot, seed, confidence, min_dialogs, out) -> None:
    """Compare report B with report A (B - A) with paired bootstrap confidence intervals.

    Dialogs are resampled (the same ones for A and B) and every metric is recomputed from the
    per-item statistics both reports keep. Fractions are shown in points (percent).

    \b
    Examples:
      dialogkit score compare base.json tuned.json
      dialogkit score compare base.json tuned.json --metric task_success --n-boot 5000 --out diff.json
    """
    from dialogkit.io import AtomicWriter, ensure_not_input
    from dialogkit.score.compare import compare as run_compare
    from dialogkit.score.compare import load_report

    a, b = load_report(report_a), load_report(report_b)
    result = run_compare(a, b, list(metrics) or None, n_boot, seed, confidence, min_dialogs)
    d = result["dialogs"]
    click.echo(
        f"{d['common']} dialogs in both (only A: {d['only_a']}, only B: {d['only_b']}); "
        f"{n_boot} paired resamples, {confidence:.0%} intervals; diff = B - A"
    )
    width = max((len(r["metric"]) for r in result["rows"]), default=6)
    click.echo(f"  {'metric':<{width}}  {'A':>8}  {'B':>8}  {'B-A':>8}  {'interval':>19}  {'p':>6}")
    for r in result["rows"]:
        s = r["scale"]
        ci = f"[{_fmt(r['ci_low'], s)}, {_fmt(r['ci_high'], s)}]"
        mark = f"  {r['better']} better" if r["significant"] else ""
        if r["n_dialogs"] < min_dialogs:
            mark = f"  (only {r['n_dialogs']} dialogs)"
        p = "-" if r["p"] is None else f"{r['p']:.3f}"
        click.echo(
            f"  {r['metric']:<{width}}  {_val(r['a'], s):>8}  {_val(r['b'], s):>8}  {_fmt(r['diff'], s):>8}  "
            f"{ci:>19}  {p:>6}{mark}"
        )
    if out:
        ensure_not_input(out, [report_a, report_b])
        with AtomicWriter(out) as fh:
            fh.write((json.dumps(result, indent=1) + "\n").encode())
        click.echo(f"wrote {out}")
