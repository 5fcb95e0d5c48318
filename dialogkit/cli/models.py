"""``dialogkit models``: list, show, promote and roll back the versions under a models root."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
import yaml

from dialogkit.lifecycle import KeepPlan, ModelRegistry, RegistryState, RunInfo

ROOT_OPTION = click.option(
    "--root", "root", required=True, envvar="DIALOGKIT_MODELS_ROOT", type=click.Path(file_okay=False),
    help="The models root: one folder per run (env DIALOGKIT_MODELS_ROOT).",
)
FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Output format.")


@click.group()
def models() -> None:
    """List, promote and roll back model versions under a root folder of runs.

    The registry lives in ROOT/registry.json (written atomically), every change is appended
    to ROOT/history.jsonl, and ROOT/current links to the current version.

    \b
    Examples:
      dialogkit models list --root runs/
      dialogkit models show sft-v2 --root runs/ --format json
      dialogkit models promote sft-v2 --root runs/ --keep 3 --note "JGA +2.1"
      dialogkit models rollback --root runs/
      dialogkit serve --models-root runs/ --port 8000
    """


def _fmt_num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.5g}" if isinstance(value, float) else str(value)


def _status(name: str, state: RegistryState) -> str:
    if name == state.current:
        return "current"
    if state.previous == name:
        return "previous"
    return "version" if state.version(name) else ""


def run_record(reg: ModelRegistry, info: RunInfo, state: RegistryState) -> dict[str, Any]:
    """The JSON form of one run in ``list`` and ``show``."""
    version = state.version(info.name)
    chain, base = reg.lineage_chain(info)
    return {
        "name": info.name,
        "path": str(info.path),
        "kind": info.kind,
        "status": _status(info.name, state) or None,
        "method": info.method,
        "adapter": info.adapter,
        "servable": info.servable,
        "created": datetime.fromtimestamp(info.created).astimezone().isoformat(timespec="seconds"),
        "promoted_at": version.promoted_at if version else None,
        "previous": version.previous if version else None,
        "note": version.note if version else None,
        "lineage": {**info.lineage.to_dict(), "chain": chain, "root_base": base},
        "data": info.data_summary(),
        "metrics": info.headline(),
        "problems": info.problems,
    }


@models.command("list")
@ROOT_OPTION
@FORMAT_OPTION
def list_cmd(root: str, fmt: str) -> None:
    """List runs with status, lineage, data and metrics; '*' marks the current version.

    \b
    Examples:
      dialogkit models list --root runs/
      dialogkit models list --root runs/ --format json | jq '.runs[] | select(.status)'
    """
    reg = ModelRegistry(root)
    state = reg.load()
    records = [run_record(reg, r, state) for r in reg.runs()]
    if fmt == "json":
        click.echo(json.dumps({"root": str(reg.root), "current": state.current, "runs": records},
                              indent=2, ensure_ascii=False))
        return
    if not records:
        click.echo(f"no runs under {root}")
        return
    header = ["", "NAME", "STATUS", "METHOD", "ADAPTER", "PARENT", "DIALOGS", "STEPS", "TRAIN_LOSS", "EVAL_LOSS",
              "PROMOTED"]
    rows = [header]
    for r in records:
        dialogs = (r["data"]["dialogs"] or {}).get("train")
        rows.append([
            "*" if r["status"] == "current" else "", r["name"], r["status"] or "-", r["method"] or "-",
            r["adapter"] or "-", (r["lineage"]["chain"] or ["-"])[0], _fmt_num(dialogs),
            _fmt_num(r["metrics"]["steps"]), _fmt_num(r["metrics"]["train_loss"]),
            _fmt_num(r["metrics"]["eval_loss"]), r["promoted_at"] or "-",
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for r in records:
        for p in r["problems"]:
            click.echo(f"warning: {r['name']}: {p}", err=True)


@models.command("show")
@click.argument("run")
@ROOT_OPTION
@FORMAT_OPTION
def show_cmd(run: str, root: str, fmt: str) -> None:
    """Show one run: config, data manifest, metrics summary and lineage.

    \b
    Examples:
      dialogkit models show sft-v2 --root runs/
      dialogkit models show runs/sft-v2 --root runs/ --format json
    """
    reg = ModelRegistry(root)
    info = reg.show(run)
    state = reg.load()
    rec = run_record(reg, info, state)
    full = {**rec, "stack_position": _stack_position(info.name, state), "config": info.config, "data_manifest": info.manifest, "summary": info.summary,
            "metrics_summary": info.metrics}
    if fmt == "json":
        click.echo(json.dumps(full, indent=2, ensure_ascii=False, default=str))
        return
    _print_show(rec, info)


def _stack_position(name: str, state: RegistryState) -> int | None:
    """0 for the current version, 1 for the previous one ... (None: not in the rollback history)."""
    for i, run in enumerate(reversed(state.stack)):
        if run == name:
            return i
    return None


def _print_show(rec: dict[str, Any], info: RunInfo) -> None:
    click.echo(f"{rec['name']}" + (f"  ({rec['status']})" if rec["status"] else ""))
    click.echo(f"  path:      {rec['path']}")
    click.echo(f"  kind:      {rec['kind']}, weights: {rec['adapter'] or 'none'}, method: {rec['method'] or '-'}"
               + ("" if rec["servable"] else "  (no final weights: not servable)"))
    if rec["promoted_at"]:
        click.echo(f"  promoted:  {rec['promoted_at']} (previous: {rec['previous'] or '-'})"
                   + (f"  note: {rec['note']}" if rec["note"] else ""))
    lin = rec["lineage"]
    click.echo("lineage:")
    click.echo("  " + " <- ".join([rec["name"], *lin["chain"]] + ([lin["root_base"]] if lin["root_base"] else [])))
    click.echo("data:")
    for i in rec["data"]["inputs"]:
        click.echo(f"  {i['role'] or '-'}  {i['path']}" + (f"  sha256 {i['sha256']}…" if i["sha256"] else ""))
    if rec["data"]["dialogs"]:
        click.echo("  dialogs: " + ", ".join(f"{k} {v}" for k, v in rec["data"]["dialogs"].items()))
    click.echo("metrics:")
    m = info.metrics
    if not m and not info.summary:
        click.echo("  none recorded")
    else:
        click.echo(f"  steps {_fmt_num(rec['metrics']['steps'])}, log records {m.get('records', 0)}")
        if "first_loss" in m:
            click.echo(f"  loss: first {m['first_loss']:.4f}, last {m['last_loss']:.4f}, min {m['min_loss']:.4f}")
        if "best_eval_loss" in m:
            click.echo(f"  eval_loss: last {m['last_eval_loss']:.4f}, best {m['best_eval_loss']:.4f}"
                       f" (step {m['best_eval_step']})")
        if info.summary:
            keys = [k for k in ("train_loss", "eval_loss", "global_step", "train_seconds") if k in info.summary]
            click.echo("  summary: " + ", ".join(f"{k} {_fmt_num(info.summary[k])}" for k in keys))
    if info.config:
        click.echo("config:")
        for line in yaml.safe_dump(info.config, sort_keys=False, allow_unicode=True).splitlines():
            click.echo(f"  {line}")
    for p in rec["problems"]:
        click.echo(f"warning: {p}", err=True)


def _print_plan(plan: KeepPlan) -> None:
    verb = "would delete" if plan.dry_run else "deleted"
    for run in plan.deleted:
        click.echo(f"{verb}: {run}")
    for run, why in plan.protected.items():
        click.echo(f"kept: {run} ({why})")
    if not plan.deleted:
        click.echo("nothing to delete")


@models.command("promote")
@click.argument("run")
@ROOT_OPTION
@click.option("--keep", type=int, default=None,
              help="Then delete promoted versions older than the last K (never the current, its previous, "
                   "or a parent of a kept version; runs never promoted are never touched).")
@click.option("--dry-run", is_flag=True, help="Show what would change and be deleted; change nothing.")
@click.option("--note", default=None, help="Why this version is promoted (kept in the registry and history).")
def promote_cmd(run: str, root: str, keep: int | None, dry_run: bool, note: str | None) -> None:
    """Make RUN the current version (the one `serve --models-root` serves).

    \b
    Examples:
      dialogkit models promote sft-v2 --root runs/
      dialogkit models promote dpo-v3 --root runs/ --keep 3 --dry-run
    """
    reg = ModelRegistry(root)
    before = reg.load().current
    state, plan = reg.promote(run, note=note, keep=keep, dry_run=dry_run)
    prefix = "would promote" if dry_run else "promoted"
    if before == state.current:
        click.echo(f"{state.current} is already the current version")
    else:
        click.echo(f"{prefix} {state.current} (previous: {before or '-'})")
    if plan is not None:
        _print_plan(plan)


@models.command("rollback")
@ROOT_OPTION
@click.option("--to", "to", default=None, help="Roll back to this promoted version instead of the previous one.")
def rollback_cmd(root: str, to: str | None) -> None:
    """Make the previous version current again.

    \b
    Examples:
      dialogkit models rollback --root runs/
      dialogkit models rollback --root runs/ --to sft-v1
    """
    reg = ModelRegistry(root)
    state, left = reg.rollback(to)
    click.echo(f"rolled back {left} -> {state.current} (current)")


@models.command("history")
@ROOT_OPTION
@FORMAT_OPTION
def history_cmd(root: str, fmt: str) -> None:
    """Every promote, rollback and deletion, oldest first.

    \b
    Examples:
      dialogkit models history --root runs/
    """
    events = ModelRegistry(root).history()
    if fmt == "json":
        click.echo(json.dumps(events, indent=2, ensure_ascii=False))
        return
    for e in events:
        extra = f" (from {e['from']})" if e.get("from") else ""
        extra += f" [{e['reason']}]" if e.get("reason") else ""
        extra += f" note: {e['note']}" if e.get("note") else ""
        click.echo(f"{e.get('time', '?')}  {e.get('action', '?'):<8}  {e.get('run', '?')}{extra}")
