"""The model registry over a root folder of runs: versions, the current pointer, promote, rollback.

State lives in the root itself, so copying the folder copies the registry:

* ``ROOT/registry.json``: ``{"format", "current", "stack", "versions": [{"run", "promoted_at", "previous",
  "note"}]}``, versions in promotion order; replaced atomically on every change.
* ``ROOT/history.jsonl``: one line per promote, rollback and deletion (appended, fsynced).
* ``ROOT/current``: a symlink to the current run, for tools that want a fixed path (vLLM, scripts).

``stack`` is the deployment history: promote pushes, rollback pops. So *previous* is what
actually served before the current version, and rolling back twice after ``promote A, B, C,
rollback, promote A`` gives B then A, never the rolled-back C.
Changes take an exclusive lock on ``ROOT/.registry.lock`` so two promotes never interleave.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialogkit.errors import InputError, OutputError, UsageError
from dialogkit.io import AtomicWriter
from dialogkit.lifecycle.runs import RunInfo, discover_runs, is_run_dir, read_run

REGISTRY_FILE = "registry.json"
HISTORY_FILE = "history.jsonl"
CURRENT_LINK = "current"
LOCK_FILE = ".registry.lock"
FORMAT = "dialogkit.models/1"


class Version(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str = Field(min_length=1)
    promoted_at: str
    previous: str | None = None
    note: str | None = None


class RegistryState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    current: str | None = None
    stack: list[str] = Field(default_factory=list, description="what served, oldest first; current last")
    versions: list[Version] = Field(default_factory=list)

    @property
    def previous(self) -> str | None:
        """The rollback target: what served before the current version."""
        return self.stack[-2] if len(self.stack) >= 2 else None

    def push(self, run: str) -> None:
        if not self.stack or self.stack[-1] != run:
            self.stack.append(run)
        self.current = run

    def drop(self, run: str) -> None:
        """Forget a deleted run: out of the versions and the stack (adjacent repeats collapsed)."""
        self.versions = [v for v in self.versions if v.run != run]
        kept: list[str] = []
        for r in self.stack:
            if r != run and (not kept or kept[-1] != r):
                kept.append(r)
        self.stack = kept

    def version(self, run: str) -> Version | None:
        return next((v for v in self.versions if v.run == run), None)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class KeepPlan:
    """What ``--keep K`` does: folders deleted, and versions kept beyond K with the reason."""

    deleted: list[str] = field(default_factory=list)
    protected: dict[str, str] = field(default_factory=dict)  # run -> why it is kept
    dry_run: bool = False


class ModelRegistry:
    """Versions of the runs under ``root``. Run names are folder names directly under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{root}: no such folder (the models root holds one folder per run)")

    # ------------------------------------------------------------------ state
    @property
    def state_path(self) -> Path:
        return self.root / REGISTRY_FILE

    def load(self) -> RegistryState:
        """The saved state, or an empty one. A broken file is an error, never silently reset."""
        if not self.state_path.is_file():
            return RegistryState()
        try:
            return RegistryState.model_validate(json.loads(self.state_path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{self.state_path}: not valid JSON ({e}); fix or remove it") from None
        except ValidationError as e:
            first = e.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(f"{self.state_path}: {where}: {first['msg']} (REGISTRY_INVALID)") from None

    def _save(self, state: RegistryState) -> None:
        with AtomicWriter(self.state_path) as fh:
            fh.write(json.dumps(state.model_dump(mode="json"), indent=2, ensure_ascii=False).encode("utf-8") + b"\n")
        self._point_current(state.current)

    def _point_current(self, run: str | None) -> None:
        # Best effort: a fixed path for vLLM and scripts. Never replaces a real folder named "current".
        link = self.root / CURRENT_LINK
        if link.exists() and not link.is_symlink():
            return
        try:
            if run is None:
                link.unlink(missing_ok=True)
                return
            tmp = self.root / f".{CURRENT_LINK}.{os.getpid()}.tmp"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(run, target_is_directory=True)
            os.replace(tmp, link)
        except OSError:
            pass

    def _log(self, event: dict[str, Any]) -> None:
        line = json.dumps({"time": _now(), "user": _user(), **event}, ensure_ascii=False) + "\n"
        with (self.root / HISTORY_FILE).open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks; single writer assumed
            yield
            return
        with (self.root / LOCK_FILE).open("a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def history(self) -> list[dict[str, Any]]:
        """Every event of ``history.jsonl``, oldest first (a damaged line is skipped)."""
        p = self.root / HISTORY_FILE
        if not p.is_file():
            return []
        out = []
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                if line.strip():
                    out.append(json.loads(line))
        return out

    # ------------------------------------------------------------------ reading
    def run_name(self, spec: str) -> str:
        """A run folder name under the root, from a name or a path; raises for anything else."""
        p = Path(spec)
        name = spec
        if len(p.parts) > 1 or p.is_absolute():  # a path: it must be a folder directly under the root
            if not p.exists() or p.resolve().parent != self.root.resolve():
                raise UsageError(f"{spec}: not a run folder directly under {self.root}")
            name = p.resolve().name
        folder = self.root / name
        if not is_run_dir(folder):
            known = ", ".join(r.name for r in discover_runs(self.root)) or "none"
            raise UsageError(f"{spec}: no run of that name under {self.root} (runs: {known})")
        return name

    def runs(self) -> list[RunInfo]:
        return discover_runs(self.root)

    def show(self, spec: str) -> RunInfo:
        return read_run(self.root / self.run_name(spec), self.root)

    def current_path(self) -> Path:
        """The folder of the current version (what ``serve --models-root`` loads)."""
        state = self.load()
        if state.current is None:
            raise UsageError(f"{self.root}: no current version yet; run `dialogkit models promote RUN --root {self.root}`")
        path = self.root / state.current
        if not path.is_dir():
            raise InputError(f"{path}: the current version's folder is missing")
        return path

    def _short(self, path: str) -> str:
        p = Path(path)
        return p.name if p.is_absolute() and p.parent == self.root.resolve() else path

    def lineage_chain(self, info: RunInfo) -> tuple[list[str], str | None]:
        """``(ancestors, base)``: parent, grandparent ... (names under the root, else paths) and the
        base model the oldest ancestor started from. Stops at cycles and after 50 generations."""
        chain: list[str] = []
        seen = {str(info.path)}
        last = info
        parent = info.lineage.parent
        while parent and parent not in seen and len(chain) < 50:
            seen.add(parent)
            chain.append(self._short(parent))
            if not Path(parent).is_dir():
                break
            last = read_run(Path(parent), self.root)
            parent = last.lineage.parent
        base = last.lineage.base
        return chain, (self._short(base) if base else None)

    # ------------------------------------------------------------------ changes
    def promote(self, spec: str, *, note: str | None = None, keep: int | None = None,
                dry_run: bool = False) -> tuple[RegistryState, KeepPlan | None]:
        """Make ``spec`` the current version; with ``keep``, delete managed versions beyond the last K.

        Raises:
            UsageError: not a run under the root, no weights in it, or ``keep`` < 1.
        """
        if keep is not None and keep < 1:
            raise UsageError("--keep must be at least 1")
        name = self.run_name(spec)
        info = read_run(self.root / name, self.root)
        if not info.servable:
            raise UsageError(f"{name}: has no weights to serve (no final/ with config.json or adapter_config.json)")
        with self._locked():
            state = self.load()
            if state.current != name:
                previous = state.current
                state.versions = [v for v in state.versions if v.run != name]
                state.versions.append(Version(run=name, promoted_at=_now(), previous=previous, note=note))
                state.push(name)
                if not dry_run:
                    self._save(state)
                    self._log({"action": "promote", "run": name, "from": previous, "note": note})
            plan = self._keep_last(state, keep, dry_run) if keep is not None else None
        return state, plan

    def rollback(self, to: str | None = None) -> tuple[RegistryState, str]:
        """Make the previous version (or version ``to``) current; returns the state and the run left.

        Raises:
            UsageError: no current version, no previous one, or ``to`` was never promoted.
        """
        with self._locked():
            state = self.load()
            if state.current is None:
                raise UsageError(f"{self.root}: nothing to roll back (no current version)")
            left = state.current
            if to is not None:
                target = self.run_name(to)
                if target == left:
                    raise UsageError(f"{target}: is already the current version")
                if target not in state.stack[:-1]:
                    raise UsageError(f"{target}: did not serve before {left} (never promoted, or rolled back "
                                     f"already); promote it instead")
            else:
                target = state.previous
                if target is None:
                    raise UsageError(f"{left}: is the first version; there is nothing to roll back to")
            if not is_run_dir(self.root / target):
                raise InputError(f"{self.root / target}: the version to roll back to is missing")
            while state.stack and state.stack[-1] != target:
                state.stack.pop()
            state.current = target
            self._save(state)
            self._log({"action": "rollback", "run": target, "from": left})
        return state, left

    def _keep_last(self, state: RegistryState, keep: int, dry_run: bool) -> KeepPlan:
        """Delete promoted versions older than the last ``keep``; never current, previous or an ancestor of a kept one."""
        plan = KeepPlan(dry_run=dry_run)
        order = [v.run for v in state.versions]
        kept = set(order[-keep:])
        if state.current:
            kept.add(state.current)
            if state.previous:
                if state.previous not in order[-keep:]:
                    plan.protected[state.previous] = "previous version (rollback target)"
                kept.add(state.previous)
        for run in sorted(kept):
            if (self.root / run).is_dir():
                for ancestor in self.lineage_chain(read_run(self.root / run, self.root))[0]:
                    if ancestor in order and ancestor not in kept:
                        plan.protected.setdefault(ancestor, f"parent of kept version {run}")
        doomed = [r for r in order if r not in kept and r not in plan.protected]
        for run in doomed:
            folder = self.root / run
            # Only ever a managed run folder directly under the root, never through a symlink.
            if folder.is_symlink() or folder.resolve().parent != self.root.resolve():
                raise OutputError(f"{folder}: not a folder directly under {self.root}; refusing to delete it")
            plan.deleted.append(run)
            if dry_run:
                continue
            if folder.is_dir():
                shutil.rmtree(folder)
            state.drop(run)
            self._save(state)
            self._log({"action": "delete", "run": run, "reason": f"--keep {keep}"})
        return plan


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return None

