"""Build the TRL config object of a run: dialogkit's defaults, then the user's ``training`` keys.

Defaults differ from TRL's where TRL's would surprise on a laptop or a LoRA run: no bf16 and no
gradient checkpointing on CPU, LoRA-sized learning rates, no hub reporting, eval every logging
step when there is an eval set. Anything the user sets by TRL's own name wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialogkit.errors import UsageError
from dialogkit.train.config import TrainConfig, trl_config_class

# Learning rates for adapters (LLaMA-Factory / PEFT practice); full fine-tuning keeps TRL's own.
ADAPTER_LR = {"sft": 1e-4, "dpo": 5e-6, "simpo": 5e-6, "orpo": 8e-6}


def precision_defaults() -> dict[str, Any]:
    """bf16 where the GPU has it, fp16 on older GPUs, fp32 on CPU; checkpointing only on GPU."""
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"bf16": bf16, "fp16": not bf16, "gradient_checkpointing": True}
    return {"bf16": False, "fp16": False, "gradient_checkpointing": False, "use_cpu": True}


def method_defaults(cfg: TrainConfig) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if cfg.adapter != "full":
        d["learning_rate"] = ADAPTER_LR[cfg.method]
    if cfg.method == "simpo":
        # SimPO proper: no behaviour-cloning term (cpo_alpha=0), the paper's gamma/beta ratio.
        d.update(loss_type="simpo", cpo_alpha=0.0, simpo_gamma=0.5, beta=2.0)
    return d


def build_args(cfg: TrainConfig, run: Path, *, has_eval: bool, extra: dict[str, Any] | None = None) -> Any:
    """The TRL config instance (SFTConfig, DPOConfig, CPOConfig or ORPOConfig) for ``cfg``.

    ``extra`` carries settings dialogkit needs for correctness (e.g. ``max_length=None`` for
    pre-tokenized SFT rows); a user key that contradicts one of them is an error, not a silent loss.
    """
    user = dict(cfg.training)
    extra = extra or {}
    clash = sorted(k for k in extra if k in user and user[k] != extra[k])
    if clash:
        raise UsageError(f"training.{clash[0]} is managed by dialogkit for this run (set it under prepare instead)")
    kw: dict[str, Any] = {
        "output_dir": str(run / "checkpoints"),
        "report_to": "none",
        "logging_steps": 10,
        "save_strategy": "steps",
        "save_steps": 200,
        "save_total_limit": 3,
        "seed": 42,
        "disable_dropout": True,
        **precision_defaults(),
        **method_defaults(cfg),
    }
    if has_eval:
        kw.update(eval_strategy="steps", per_device_eval_batch_size=kw.get("per_device_eval_batch_size", 8))
    if cfg.early_stopping_patience:
        if not has_eval:
            raise UsageError("early_stopping_patience needs an eval set (--eval-data or eval_fraction > 0)")
        kw.update(load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False)
    kw.update(user)
    kw.update(extra)
    if cfg.early_stopping_patience:
        # transformers requires checkpoints on the eval schedule to restore the best one.
        kw["eval_steps"] = kw.get("eval_steps") or kw["logging_steps"]
        kw["save_steps"] = kw["eval_steps"]
    cls = trl_config_class(cfg.method)
    names = {f for f in cls.__dataclass_fields__}
    kw = {k: v for k, v in kw.items() if k in names}
    try:
        return cls(**kw)
    except (ValueError, TypeError) as e:
        raise UsageError(f"invalid training arguments: {e}") from e
