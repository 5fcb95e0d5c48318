"""What one run folder holds, read without loading any weights: config, data, metrics, lineage.

A *run* is a folder written by ``dialogkit train`` (``config.yaml``, ``data_manifest.json``,
``metrics.jsonl``, ``summary.json``, ``final/``); a plain model folder (``config.json`` or
``adapter_config.json``, e.g. from ``model init-tiny``) is accepted too so a base model can be
version 1. Every file is optional: a run that crashed half way still lists, with what it has.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# config.yaml keys that name the model a run started from, most specific first.
PARENT_KEYS = ("init_from", "model")


def is_run_dir(path: Path) -> bool:
    """A folder dialogkit can serve or describe: a training run or a model folder."""
    if path.is_symlink() or not path.is_dir() or path.name.startswith("."):
        return False
    markers = ("config.yaml", "final", "summary.json", "config.json", "adapter_config.json")
    return any((path / m).exists() for m in markers)


def run_kind(path: Path) -> str:
    """``run`` (a training run folder) or ``model`` (a model or adapter folder)."""
    return "run" if (path / "config.yaml").is_file() or (path / "final").is_dir() else "model"


def read_json(path: Path) -> tuple[Any, str | None]:
    """``(data, problem)``: a missing file is ``(None, None)``, a broken one ``(None, reason)``."""
    if not path.is_file():
        return None, None
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"{path.name}: not readable JSON ({e})"


def read_config(run: Path) -> tuple[dict[str, Any] | None, str | None]:
    p = run / "config.yaml"
    if not p.is_file():
        return None, None
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        return None, f"config.yaml: not readable YAML ({str(e).splitlines()[0]})"
    return (data if isinstance(data, dict) else None), (None if isinstance(data, dict) else "config.yaml: not a mapping")


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def metrics_summary(run: Path) -> dict[str, Any]:
    """Steps logged and the first/last/best train and eval loss of ``metrics.jsonl``.

    A line that is not JSON is counted in ``bad_lines`` rather than hiding the rest.
    """
    p = run / "metrics.jsonl"
    if not p.is_file():
        return {}
    out: dict[str, Any] = {"records": 0, "bad_lines": 0}
    loss: list[float] = []
    eval_loss: list[tuple[float, int]] = []
    last_step = None
    with p.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                out["bad_lines"] += 1
                continue
            if not isinstance(rec, dict):
                out["bad_lines"] += 1
                continue
            out["records"] += 1
            step = rec.get("step")
            last_step = step if isinstance(step, int) else last_step
            if (v := _num(rec.get("loss"))) is not None:
                loss.append(v)
            if (v := _num(rec.get("eval_loss"))) is not None:
                eval_loss.append((v, step if isinstance(step, int) else -1))
    out["last_step"] = last_step
    if loss:
        out.update(first_loss=loss[0], last_loss=loss[-1], min_loss=min(loss))
    if eval_loss:
        best = min(eval_loss)
        out.update(last_eval_loss=eval_loss[-1][0], best_eval_loss=best[0], best_eval_step=best[1])
    return out


def _run_of(path: Path) -> Path | None:
    """The run folder ``path`` belongs to: itself, or the run whose ``final/`` (or ``final/merged``) it is."""
    for cand in (path, path.parent, path.parent.parent):
        if cand.name and (cand / "config.yaml").is_file() and (cand / "final").exists():
            if cand == path or path.is_relative_to(cand / "final"):
                return cand
    return None


def _resolve_source(value: str, run: Path, root: Path | None) -> Path | None:
    """Where a config's ``model`` path points.

    A relative path was relative to wherever training ran, so it is tried as written, from the
    root, from the run's parent and grandparent (``train --output runs/x`` run from the project),
    and finally as a sibling run of the same name (``runs/sft-v1/final`` -> ``ROOT/sft-v1/final``).
    """
    p = Path(value)
    if p.is_absolute():
        return p.resolve() if p.exists() else None
    base = root or run.parent
    candidates = [p, base / p, run.parent / p, run.parent.parent / p]
    parts = p.parts
    if parts and parts[-1] in ("final", "merged"):
        tail = parts[-3:] if len(parts) >= 3 and parts[-2] == "final" else parts[-2:]
        candidates.append(base / Path(*tail))
    else:
        candidates.append(base / parts[-1])
    for c in candidates:
        if c.exists():
            return c.resolve()
    return None


@dataclass
class Lineage:
    """Where a run's weights came from: a parent run (continued training) and the base model."""

    parent: str | None = None  # the parent run's folder (absolute), when the source is a run
    source: str | None = None  # the model a run started from, as written in config.yaml
    base: str | None = None  # the base weights (from data_manifest.json, else the source)

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "source": self.source, "base": self.base}


def lineage_of(run: Path, config: dict[str, Any] | None, manifest: dict[str, Any] | None,
               root: Path | None = None) -> Lineage:
    """The parent run and base model of ``run`` from its config (``init_from``/``model``) and manifest."""
    lin = Lineage()
    model_info = manifest.get("model") if isinstance(manifest, dict) else None
    if isinstance(model_info, dict) and isinstance(model_info.get("base"), str):
        lin.base = model_info["base"]
    for key in PARENT_KEYS:
        value = (config or {}).get(key)
        if isinstance(value, str) and value:
            lin.source = value
            break
    if lin.source is None and isinstance(model_info, dict) and isinstance(model_info.get("adapter"), str):
        lin.source = model_info["adapter"]  # continued from an adapter: that adapter's run is the parent
    if lin.source is not None:
        where = _resolve_source(lin.source, run, root)
        parent = _run_of(where) if where is not None else None
        if parent is not None and parent.resolve() != run.resolve():
            lin.parent = str(parent.resolve())
        elif lin.base is None:
            lin.base = str(where) if where is not None else lin.source
    return lin


@dataclass
class RunInfo:
    """Everything ``models list`` / ``models show`` say about one folder."""

    name: str
    path: Path
    kind: str
    created: float
    config: dict[str, Any] | None = None
    manifest: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    lineage: Lineage = field(default_factory=Lineage)
    problems: list[str] = field(default_factory=list)

    @property
    def method(self) -> str | None:
        value = (self.config or {}).get("method") or (self.summary or {}).get("method")
        return value if isinstance(value, str) else None

    @property
    def adapter(self) -> str | None:
        final = (self.summary or {}).get("final")
        if isinstance(final, dict) and isinstance(final.get("kind"), str):
            return final["kind"]
        if (self.path / "final" / "adapter_config.json").is_file() or (self.path / "adapter_config.json").is_file():
            return "adapter"
        if (self.path / "final" / "config.json").is_file() or (self.path / "config.json").is_file():
            return "full"
        return None

    @property
    def servable(self) -> bool:
        """Whether weights are there to load (a run that never finished has no ``final/``)."""
        where = self.path / "final" if self.kind == "run" else self.path
        return (where / "config.json").is_file() or (where / "adapter_config.json").is_file()

    def data_summary(self) -> dict[str, Any]:
        """Input files (name, sha256 prefix, records) and dialog counts from the manifest."""
        m = self.manifest or {}
        inputs = []
        for entry in m.get("inputs") or []:
            if isinstance(entry, dict):
                inputs.append({"role": entry.get("role"), "path": entry.get("path"),
                               "sha256": (entry.get("sha256") or "")[:12] or None})
        dialogs = m.get("dialogs") if isinstance(m.get("dialogs"), dict) else None
        if not inputs and (self.config or {}).get("data"):
            inputs.append({"role": "train", "path": self.config["data"], "sha256": None})
        return {"inputs": inputs, "dialogs": dialogs}

    def headline(self) -> dict[str, Any]:
        """The few numbers a listing shows: steps, train loss, eval loss."""
        s = self.summary or {}
        m = self.metrics
        return {
            "steps": s.get("global_step", m.get("last_step")),
            "train_loss": _num(s.get("train_loss")) if s.get("train_loss") is not None else m.get("last_loss"),
            "eval_loss": _num(s.get("eval_loss")) if s.get("eval_loss") is not None else m.get("last_eval_loss"),
        }


def read_run(path: Path, root: Path | None = None) -> RunInfo:
    """A :class:`RunInfo` for ``path``; unreadable files become ``problems``, never exceptions."""
    config, p1 = read_config(path)
    manifest, p2 = read_json(path / "data_manifest.json")
    summary, p3 = read_json(path / "summary.json")
    stamp = path / "config.yaml" if (path / "config.yaml").is_file() else path
    info = RunInfo(
        name=path.name,
        path=path.resolve(),
        kind=run_kind(path),
        created=os.stat(stamp).st_mtime,
        config=config,
        manifest=manifest if isinstance(manifest, dict) else None,
        summary=summary if isinstance(summary, dict) else None,
        metrics=metrics_summary(path),
        problems=[p for p in (p1, p2, p3) if p],
    )
    if info.metrics.get("bad_lines"):
        info.problems.append(f"metrics.jsonl: {info.metrics['bad_lines']} line(s) are not JSON objects")
    info.lineage = lineage_of(path, config, info.manifest, root)
    return info


def discover_runs(root: Path) -> list[RunInfo]:
    """Run and model folders directly under ``root``, oldest first (by ``config.yaml`` time)."""
    runs = [read_run(p, root) for p in sorted(root.iterdir()) if is_run_dir(p)]
    return sorted(runs, key=lambda r: (r.created, r.name))
