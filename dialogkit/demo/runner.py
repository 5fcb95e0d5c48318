"""Run the demo's stages in order, each in its own folder, resuming finished ones.

Each stage writes ``DIR/NN_stage/stage.json``: its fingerprint (a hash of the config fields it
reads and of the stages before it), the ``dialogkit`` commands it ran, its outputs and how long
it took. A stage whose ``stage.json`` matches is skipped on the next run (resume); ``force``
reruns it, and a changed fingerprint reruns it and everything after it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.demo.config import STAGE_DIRS, STAGES, DemoConfig
from dialogkit.errors import DialogkitError, UsageError
from dialogkit.io import AtomicWriter

# The config fields each stage reads (its fingerprint); later stages also hash earlier ones.
STAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "synth": ("scenario", "variants", "n_train", "n_eval", "train_seed", "eval_seed", "state_in_reasoning"),
    "validate": (),
    "prepare": ("model", "tiny"),
    "sft": ("sft", "launcher"),
    "mine": ("mine_strategies", "mine_max_per_turn"),
    "dpo": ("dpo",),
    "score": ("max_new_tokens", "gen_batch_size", "base_url", "endpoint_model"),
    "report": (),
}


@dataclass
class StageResult:
    """What a stage reports: commands (argv lists), outputs (name -> path) and facts."""

    commands: list[list[str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


class Context:
    """Paths and shared state handed to every stage."""

    def __init__(self, cfg: DemoConfig, echo: Callable[[str], None], group: Any = None):
        self.cfg = cfg
        self.root = Path(cfg.out)
        self.echo = echo
        self.group = group  # the dialogkit click group the stages run commands with

    def dir(self, stage: str) -> Path:
        return self.root / STAGE_DIRS[stage]

    def manifest(self, stage: str) -> dict[str, Any] | None:
        path = self.dir(stage) / "stage.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def output(self, stage: str, name: str) -> Path:
        man = self.manifest(stage)
        if man is None or name not in man.get("outputs", {}):
            raise UsageError(f"stage {stage!r} has not run in {self.root} (run it first, or use --from-stage)")
        return Path(man["outputs"][name])


def fingerprint(cfg: DemoConfig, stage: str) -> str:
    """Hash of the config fields read by ``stage`` and every stage before it."""
    upto = STAGES[: STAGES.index(stage) + 1]
    data = {s: {f: _jsonable(getattr(cfg, f)) for f in STAGE_FIELDS[s]} for s in upto}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def select_stages(stages: list[str] | None, from_stage: str | None) -> tuple[list[str], set[str]]:
    """``(stages to consider, stages forced to rerun)`` for ``--stages`` / ``--from-stage``."""
    for name in [*(stages or []), *([from_stage] if from_stage else [])]:
        if name not in STAGES:
            raise UsageError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
    if stages and from_stage:
        raise UsageError("give --stages or --from-stage, not both")
    if from_stage:
        chosen = list(STAGES[STAGES.index(from_stage):])
        return chosen, set(chosen)
    if stages:  # only these; each is reused when up to date (add --force to rerun it anyway)
        return [s for s in STAGES if s in stages], set()
    return list(STAGES), set()


def run_stages(ctx: Context, funcs: dict[str, Callable[[Context], StageResult]], *, force: bool = False,
               stages: list[str] | None = None, from_stage: str | None = None,
               progress: Callable[[str, int, int], None] | None = None) -> dict[str, dict[str, Any]]:
    """Run (or reuse) each selected stage; returns the manifests of all stages that have run."""
    chosen, forced = select_stages(stages, from_stage)
    ctx.root.mkdir(parents=True, exist_ok=True)
    done: dict[str, dict[str, Any]] = {}
    stale = False
    for i, stage in enumerate(STAGES, 1):
        fp = fingerprint(ctx.cfg, stage)
        man = ctx.manifest(stage)
        if stage not in chosen:
            if man is not None:
                done[stage] = man
                if man.get("fingerprint") != fp:
                    ctx.echo(f"note: stage {stage} ran with other settings than these; its output is used "
                             f"as it is (--from-stage {stage} reruns it)")
            continue
        if progress is not None:
            progress(stage, i, len(STAGES))
        reuse = (man is not None and man.get("fingerprint") == fp and not force and stage not in forced
                 and not stale)
        if reuse:
            ctx.echo(f"[{i}/{len(STAGES)}] {stage}: done before ({man['seconds']:.1f}s), reused "
                     f"(--force or --from-stage {stage} reruns it)")
            done[stage] = man
            continue
        stale = True  # everything after a rerun stage reruns too
        ctx.dir(stage).mkdir(parents=True, exist_ok=True)
        ctx.echo(f"[{i}/{len(STAGES)}] {stage} ...")
        start = time.perf_counter()
        try:
            result = funcs[stage](ctx)
        except DialogkitError:
            ctx.echo(f"[{i}/{len(STAGES)}] {stage}: failed; its log is in {ctx.dir(stage)}")
            raise
        seconds = time.perf_counter() - start
        man = {"stage": stage, "fingerprint": fp, "seconds": round(seconds, 2),
               "commands": [" ".join(_quote(a) for a in c) for c in result.commands],
               "outputs": {k: str(v) for k, v in result.outputs.items()}, "facts": result.facts}
        with AtomicWriter(ctx.dir(stage) / "stage.json") as fh:
            fh.write(json.dumps(man, indent=1, ensure_ascii=False, default=str).encode())
        ctx.echo(f"[{i}/{len(STAGES)}] {stage}: done in {seconds:.1f}s")
        done[stage] = man
    return done


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(str(arg))
