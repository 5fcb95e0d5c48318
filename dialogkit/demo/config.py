"""What the demo runs: one pydantic config, with a full and a ``--fast`` preset.

The numbers were chosen by measurement on a 2-core CPU (see docs/demo.md): a tiny model
learns the derived restaurant scenario's turns in a few hundred full fine-tuning steps, and
DPO on checker-verified pairs from the training dialogs then sharpens tool arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STAGES = ("synth", "validate", "prepare", "sft", "mine", "dpo", "score", "report")
STAGE_DIRS = {name: f"{i:02d}_{name}" for i, name in enumerate(STAGES, 1)}


class TinyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vocab_size: int = 1024
    hidden_size: int = 128  # measured: lower loss and higher BLEU than 64 at about the same speed
    layers: int = 2
    heads: int = 4
    kv_heads: int = 4
    intermediate_size: int = 256
    # One line per tool instead of JSON schemas: ~80 prompt tokens instead of ~330. With the long
    # prompt the model never learned to copy slot values in the time budget (docs/demo.md).
    chat_template: str = "dialogkit_compact"


class DemoConfig(BaseModel):
    """Every knob of the demo; stage fingerprints are hashes of the fields a stage reads."""

    model_config = ConfigDict(extra="forbid")

    out: Path
    model: str | None = Field(None, description="base model (folder or hub id); default: a tiny model built here")
    base_url: str | None = None
    endpoint_model: str | None = None
    fast: bool = False
    scenario: str = Field("demo", description="'demo' (derived restaurant scenario), or a scenario name/file")
    variants: int = Field(1, ge=1, description="assistant phrasings per act in the derived scenario")
    n_train: int = Field(400, ge=8)
    n_eval: int = Field(60, ge=4)
    train_seed: int = 1
    eval_seed: int = 2
    state_in_reasoning: bool = True
    tiny: TinyModel = Field(default_factory=TinyModel)
    sft: dict[str, Any] = Field(default_factory=dict)
    mine_strategies: list[str] = Field(default_factory=lambda: ["wrong_tool_args", "missing_tool_call",
                                                                 "skipped_clarification"])
    mine_max_per_turn: int = 1
    dpo: dict[str, Any] = Field(default_factory=dict)
    max_new_tokens: int = 160
    gen_batch_size: int = 32
    threads: int = Field(1, ge=1)
    launcher: str | None = Field(None, description="run train stages under this launcher, e.g. "
                                 "'accelerate launch --config_file configs/accelerate/ddp.yaml'")
    quiet: bool = False


def tiny_sft(fast: bool) -> dict[str, Any]:
    """Full fine-tuning of the tiny model (LoRA on a 64-wide model learns far slower).

    One dialog per forward pass: without padding the attention runs its causal fast path,
    about twice as fast per token on CPU as a padded batch of 8 (measured), and the many small
    updates learn faster than few large ones at this size. Copying slot values starts late
    (teacher-forced copy accuracy on held-out values 0.31 at 500 steps, 0.64 at 1500, 0.83 at
    2500, measured), hence the step count.
    """
    return {
        "adapter": "full",
        "eval_fraction": 0.0,
        "learning_rate": 3e-3,
        "adam_beta2": 0.95,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 20,
        "max_steps": 120 if fast else 2500,
        "per_device_train_batch_size": 1,
        "gradient_accumulation_steps": 2,
        "logging_steps": 20 if fast else 100,
        "save_steps": 100_000,
        "save_total_limit": 1,
    }


def tiny_dpo(fast: bool) -> dict[str, Any]:
    return {
        "adapter": "full",
        "eval_fraction": 0.0,
        "learning_rate": 5e-5,
        "lr_scheduler_type": "constant_with_warmup",
        "warmup_steps": 2,
        "beta": 0.1,
        "loss_type": "[sigmoid,sft]",
        "loss_weights": "[1.0,1.0]",
        "max_steps": 10 if fast else 40,
        "per_device_train_batch_size": 1,
        "gradient_accumulation_steps": 4,
        "logging_steps": 5 if fast else 10,
        "save_steps": 100_000,
        "save_total_limit": 1,
    }


def real_sft() -> dict[str, Any]:
    """A real model: LoRA, TRL's usual settings (change with --set-sft)."""
    return {"adapter": "lora", "learning_rate": 1e-4, "max_steps": 200, "per_device_train_batch_size": 4,
            "gradient_accumulation_steps": 4, "logging_steps": 10, "eval_fraction": 0.0, "save_steps": 10_000}


def real_dpo() -> dict[str, Any]:
    return {"learning_rate": 5e-6, "max_steps": 100, "per_device_train_batch_size": 4, "beta": 0.1,
            "logging_steps": 10, "eval_fraction": 0.0, "save_steps": 10_000}


def build_config(out: Path, *, fast: bool = False, model: str | None = None, **overrides: Any) -> DemoConfig:
    """The preset for ``fast`` / a real ``model``, with ``overrides`` (None values ignored) on top."""
    preset: dict[str, Any] = {"out": out, "fast": fast, "model": model}
    if fast:
        preset.update(n_train=64, n_eval=12, max_new_tokens=96,
                      tiny=TinyModel(vocab_size=600, hidden_size=32, layers=1, heads=2, kv_heads=1,
                                     intermediate_size=64))
    preset["sft"] = real_sft() if model else tiny_sft(fast)
    preset["dpo"] = real_dpo() if model else tiny_dpo(fast)
    sft_sets = overrides.pop("sft", None) or {}
    dpo_sets = overrides.pop("dpo", None) or {}
    preset.update({k: v for k, v in overrides.items() if v is not None})
    preset["sft"].update(sft_sets)
    preset["dpo"].update(dpo_sets)
    return DemoConfig(**preset)
