"""Earlier runs of a lineage and the data files they recorded, found again and checked by sha256.

Every SFT run writes ``RUN/data_manifest.json`` with its inputs (absolute path, sha256, bytes)
and its held-out dev ids, and ``RUN/config.yaml`` with the model it started from (``init_from``
for an increment, else ``model``). That is enough to walk back through the lineage and to find
each run's training and dev dialogs again. A file that vanished or changed since it was recorded
is never used silently: replay fails with ``REPLAY_SOURCE_MISSING`` / ``REPLAY_SOURCE_CHANGED``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dialogkit.errors import InputError, UsageError

MAX_GENERATIONS = 50


def find_run(path: str | Path) -> Path | None:
    """The run folder ``path`` is, or whose ``final/`` (or ``final/merged``) it is; None otherwise."""
    p = Path(path).expanduser().resolve()
    for cand in (p, p.parent, p.parent.parent):
        is_run = (cand / "config.yaml").is_file() and (cand / "final").is_dir()
        if is_run and (cand == p or p.is_relative_to(cand / "final")):
            return cand
    return None


@dataclass
class RunRecord:
    """One earlier run: its folder, resolved config and data manifest."""

    path: Path
    config: dict[str, Any]
    manifest: dict[str, Any]

    @property
    def method(self) -> str:
        return str(self.config.get("method") or self.manifest.get("method") or "sft")

    @property
    def data_format(self) -> str:
        return str(self.config.get("data_format") or "dialogkit")

    def inputs(self, role: str) -> list[dict[str, Any]]:
        return [e for e in self.manifest.get("inputs") or [] if isinstance(e, dict) and e.get("role") == role]

    @property
    def eval_ids(self) -> list[str] | None:
        ids = self.manifest.get("eval_ids")
        return [str(i) for i in ids] if isinstance(ids, list) else None


def read_record(run: str | Path) -> RunRecord:
    """Read ``RUN/config.yaml`` and ``RUN/data_manifest.json``; raises InputError when they are missing."""
    p = Path(run)
    found = find_run(p)
    if found is None:
        raise InputError(f"{run}: not a dialogkit run folder (expected config.yaml and final/) (NOT_A_RUN)")
    try:
        config = yaml.safe_load((found / "config.yaml").read_text(encoding="utf-8")) or {}
        manifest = json.loads((found / "data_manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{found}: run has no {Path(e.filename).name} (RUN_INCOMPLETE)") from None
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{found}: unreadable run files: {e} (RUN_INCOMPLETE)") from None
    if not isinstance(config, dict) or not isinstance(manifest, dict):
        raise InputError(f"{found}: config.yaml and data_manifest.json must be mappings (RUN_INCOMPLETE)")
    return RunRecord(found, config, manifest)


def _source_candidates(rec: RunRecord) -> list[Path]:
    cont = rec.manifest.get("continual")
    values = []
    if isinstance(cont, dict) and isinstance(cont.get("init_from"), str):
        values.append(cont["init_from"])  # absolute, written by the increment itself
    values += [rec.config.get(k) for k in ("init_from", "model")]
    out = []
    for v in values:
        if not isinstance(v, str) or not v:
            continue
        p = Path(v).expanduser()
        # A relative path was relative to where training ran: try it as given, then beside the run.
        out += [p] if p.is_absolute() else [p, rec.path.parent / p, rec.path.parent.parent / p]
    return out


def parent_run(rec: RunRecord) -> Path | None:
    """The run ``rec`` started from, when that was a run (a base model folder ends the lineage)."""
    for cand in _source_candidates(rec):
        if cand.exists():
            found = find_run(cand)
            if found is not None and found != rec.path:
                return found
            return None
    return None


def lineage(start: str | Path) -> list[RunRecord]:
    """``start``'s run and its ancestors, nearest first; stops at a base model, a cycle or 50 generations."""
    out = [read_record(start)]
    seen = {out[0].path}
    while len(out) < MAX_GENERATIONS:
        parent = parent_run(out[-1])
        if parent is None or parent in seen:
            break
        seen.add(parent)
        out.append(read_record(parent))
    return out


@dataclass
class DataFile:
    """A data file a run recorded, as found again now."""

    path: str
    sha256: str
    fmt: str
    run: Path
    role: str
    problem: str | None = None  # why it cannot be used (missing / changed), with its code
    code: str | None = None


def check_file(entry: dict[str, Any], rec: RunRecord, purpose: str) -> DataFile:
    """Find a manifest input again; ``problem``/``code`` say when it vanished or changed."""
    from dialogkit.train.run import sha256_file

    path, want = str(entry.get("path") or ""), str(entry.get("sha256") or "")
    df = DataFile(path, want, rec.data_format, rec.path, str(entry.get("role")))
    tag = purpose.upper()
    if not path or not Path(path).is_file():
        df.problem, df.code = "file vanished since the run recorded it", f"{tag}_SOURCE_MISSING"
    elif want and sha256_file(path) != want:
        now = sha256_file(path)
        df.problem = f"file changed since the run recorded it (sha256 now {now[:12]}, recorded {want[:12]})"
        df.code = f"{tag}_SOURCE_CHANGED"
    return df


def replay_files(records: list[RunRecord]) -> list[DataFile]:
    """The training files of ``records`` (SFT runs only), checked; raises InputError on any problem."""
    out = []
    for rec in records:
        if rec.method != "sft":
            raise UsageError(f"{rec.path}: a {rec.method} run has preference pairs, not dialogs; "
                             "replay only from sft runs (--replay-from)")
        entries = rec.inputs("train")
        if not entries:
            raise InputError(f"{rec.path}: data_manifest.json records no training input (REPLAY_SOURCE_MISSING)")
        for entry in entries:
            df = check_file(entry, rec, "replay")
            if df.problem:
                raise InputError(f"replay source {rec.path}: {df.path}: {df.problem} ({df.code})")
            out.append(df)
    return out


@dataclass
class DevSource:
    """Where a run's dev dialogs are: an eval file, held-out ids of its train files, or (none) its train data."""

    run: Path
    name: str
    split: str  # "dev" or "train" (no dev split was recorded)
    files: list[DataFile] = field(default_factory=list)
    ids: set[str] | None = None
    problem: str | None = None
    code: str | None = None


def dev_source(rec: RunRecord) -> DevSource:
    """The dev data of an earlier run, for measuring forgetting (problems are reported, not raised)."""
    src = DevSource(rec.path, rec.path.name, "dev")
    if rec.method != "sft":
        src.problem, src.code = f"a {rec.method} run has no SFT dev dialogs", "DEV_NOT_SFT"
        return src
    evals = rec.inputs("eval")
    if evals:
        src.files = [check_file(e, rec, "dev") for e in evals]
    else:
        src.files = [check_file(e, rec, "dev") for e in rec.inputs("train")]
        if rec.eval_ids:
            src.ids = set(rec.eval_ids)
        else:
            src.split = "train"  # no held-out split was recorded: the training dialogs stand in
    bad = next((f for f in src.files if f.problem), None)
    if bad is not None:
        src.problem, src.code = f"{bad.path}: {bad.problem}", bad.code
    elif not src.files:
        src.problem, src.code = "data_manifest.json records no data file", "DEV_SOURCE_MISSING"
    return src
