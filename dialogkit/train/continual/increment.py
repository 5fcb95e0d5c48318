"""The glue ``train sft`` calls for an increment: checks, inherited settings, replay, regularizers.

Everything that can fail on the user's input (a run that is not a run, a replay file that moved
or changed, contradictory options) fails in :func:`plan`, before the run folder is touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import UsageError
from dialogkit.train.config import TrainConfig
from dialogkit.train.continual.lineage import (
    DataFile,
    RunRecord,
    find_run,
    lineage,
    read_record,
    replay_files,
)

# Settings an increment takes from the run it continues unless given again: how the model is
# adapted and how dialogs become tokens must not change silently between increments.
INHERITED = ("adapter", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_modules_to_save",
             "use_rslora", "dtype", "trust_remote_code", "attn_implementation", "chat_template", "prepare")


def inherited_config(init_from: str) -> dict[str, Any]:
    """The parent run's settings in :data:`INHERITED` (the lowest config layer of an increment)."""
    rec = read_record(init_from)
    return {k: rec.config[k] for k in INHERITED if k in rec.config and rec.config[k] is not None}


def uses_continual(cfg: TrainConfig) -> bool:
    return bool(cfg.init_from or cfg.replay or cfg.replay_from or cfg.regularize != "none" or cfg.freeze)


def check(cfg: TrainConfig) -> None:
    """Option combinations that cannot work (usage errors, exit code 2)."""
    if cfg.method != "sft" and uses_continual(cfg):
        raise UsageError("--init-from, --replay, --regularize and --freeze are for train sft")
    if cfg.replay_from and not cfg.replay:
        raise UsageError("--replay-from needs --replay FRACTION (the share of old dialogs in the mix)")
    if cfg.replay and not (cfg.init_from or cfg.replay_from):
        raise UsageError("--replay needs earlier runs: give --init-from RUN or --replay-from RUN")
    if cfg.reg_strength is not None and cfg.regularize == "none":
        raise UsageError("--reg-strength needs --regularize kl|l2sp")
    if cfg.init_from:
        if find_run(cfg.init_from) is None:
            raise UsageError(f"--init-from {cfg.init_from}: not a dialogkit run folder (config.yaml and final/); "
                             "use --model for a plain model folder")
        if cfg.model and Path(cfg.model).resolve() != Path(cfg.init_from).resolve():
            raise UsageError("--init-from and --model name different models; give only --init-from")


def check_output(cfg: TrainConfig, run: Path) -> None:
    """The new run may not be (and so, with --overwrite, delete) a run it starts from or replays."""
    out = run.expanduser().resolve()
    for spec in [cfg.init_from, *(cfg.replay_from or [])]:
        if spec and find_run(spec) == out:
            raise UsageError(f"--output {run}: is the run given as {spec}; write the increment to a new folder")


@dataclass
class Plan:
    """What an increment continues from and replays."""

    ancestors: list[RunRecord] = field(default_factory=list)  # init_from and its ancestors, nearest first
    replay_records: list[RunRecord] = field(default_factory=list)
    replay_files: list[DataFile] = field(default_factory=list)

    def manifest(self, cfg: TrainConfig) -> dict[str, Any]:
        return {
            "init_from": str(Path(cfg.init_from).resolve()) if cfg.init_from else None,
            "parent": str(self.ancestors[0].path) if self.ancestors else None,
            "lineage": [str(r.path) for r in self.ancestors],
            "regularize": cfg.regularize,
            "reg_strength": reg_strength(cfg),
            "freeze": cfg.freeze,
        }


def reg_strength(cfg: TrainConfig) -> float | None:
    from dialogkit.train.continual.regularize import strength_of

    return None if cfg.regularize == "none" else strength_of(cfg.regularize, cfg.reg_strength)


def plan(cfg: TrainConfig) -> Plan:
    """Read the lineage and check every replay source by sha256 (raises before anything is written)."""
    check(cfg)
    p = Plan()
    if cfg.init_from:
        p.ancestors = lineage(cfg.init_from)
    if cfg.replay:
        # By default every SFT run of the lineage (a DPO step in between has pairs, not dialogs).
        p.replay_records = ([read_record(r) for r in cfg.replay_from] if cfg.replay_from
                            else [r for r in p.ancestors if r.method == "sft"])
        if not p.replay_records:
            raise UsageError(f"--replay: no sft run in the lineage of {cfg.init_from} to replay from")
        p.replay_files = replay_files(p.replay_records)
    return p


def draw_replay(p: Plan, cfg: TrainConfig, new_dialogs: list[Any], seed: int) -> Any:
    """The replayed dialogs for ``new_dialogs`` (see :mod:`dialogkit.train.continual.replay`)."""
    from dialogkit.train.continual.replay import draw

    return draw(p.replay_files, p.replay_records, len(new_dialogs), cfg.replay, seed)


def check_freeze(model: Any, specs: list[str]) -> None:
    """Match ``--freeze`` specs on a copy-free dry run (no parameter is changed)."""
    from dialogkit.train.continual.regularize import match_freeze

    match_freeze(model, specs)


@dataclass
class Regularizers:
    """The loss function, callbacks and freezing of one increment, attached to its trainer."""

    compute_loss_func: Any = None
    log: Any = None
    kl: Any = None
    l2sp: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    def callbacks(self) -> list[Any]:
        return [self.log] if self.log is not None else []


def before_trainer(cfg: TrainConfig, model: Any, fresh_adapter: bool) -> Regularizers:
    """What must exist before the trainer: the KL loss (with a frozen copy of the previous model)."""
    from dialogkit.train.continual.regularize import KLToPrevious, RegLog, kl_reference, strength_of

    reg = Regularizers(log=RegLog() if cfg.regularize != "none" else None)
    if cfg.regularize == "kl":
        reg.kl = KLToPrevious(kl_reference(model, fresh_adapter), strength_of("kl", cfg.reg_strength))
        reg.compute_loss_func = reg.kl
        reg.log.kl = reg.kl
    return reg


def after_trainer(cfg: TrainConfig, reg: Regularizers, trainer: Any) -> Regularizers:
    """Freeze, anchor L2-SP at the starting weights and hook KL inputs, before ``train()`` builds the optimizer."""
    from dialogkit.train.continual.regularize import L2SP, freeze, strength_of

    if (cfg.regularize != "none" or cfg.freeze) and (trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled):
        raise UsageError("--regularize and --freeze need whole parameters on each process (DDP or one device), "
                         "not FSDP or DeepSpeed")
    if cfg.freeze:
        reg.info["freeze"] = freeze(trainer.model, cfg.freeze)
    if cfg.regularize == "l2sp":
        reg.l2sp = L2SP(trainer.model, strength_of("l2sp", cfg.reg_strength))
        trainer.add_callback(reg.l2sp)
        reg.log.l2sp = reg.l2sp
    if reg.kl is not None:
        reg.kl.attach(trainer.model)
    return reg
