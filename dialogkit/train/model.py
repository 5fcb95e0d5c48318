"""Load the model and tokenizer a run trains, with full, LoRA, QLoRA (4-bit) or DoRA adapters.

``--model`` may be a local model folder, a dialogkit run folder (its ``final/``), a PEFT adapter
folder (its base is read from ``adapter_config.json``), or a hub id (only where the machine can
reach the hub; nothing here forces a download). Adapter folders matter for preference training:
continuing from an SFT LoRA run keeps the SFT adapter as the trained policy, and TRL's DPO copies
it into a frozen "ref" adapter, so the reference model is the SFT model, not the base.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError, MissingDependencyError, UsageError
from dialogkit.train.config import TrainConfig

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DENSE = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_ATTN = ["q_proj", "k_proj", "v_proj", "o_proj"]
# Attention and MLP projections (the QLoRA paper's "all linear layers", lm_head excluded: TRL's
# fused LM head rejects an adapter there). MoE experts are fused parameters, not Linear: attention only.
TARGET_MODULES: dict[str, list[str]] = {
    **{t: _DENSE for t in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text",
                           "olmo", "olmo2", "granite", "smollm3", "internlm2", "deepseek_v2", "yi")},
    **{t: _ATTN for t in ("mixtral", "qwen2_moe", "qwen3_moe", "gpt_oss")},
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    "phi": ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
    "falcon": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
}


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from: a base model, plus an adapter to continue from (or None)."""

    base: str
    adapter: str | None = None
    is_local: bool = True

    @property
    def tokenizer_dir(self) -> str:
        # A run's final/ holds the tokenizer (and its chat template) it was trained with.
        if self.adapter and (Path(self.adapter) / "tokenizer_config.json").is_file():
            return self.adapter
        return self.base


def resolve_model(path: str) -> ModelSource:
    """Classify ``--model``; raises :class:`InputError` with what was expected when it is unusable."""
    p = Path(path).expanduser()
    if p.is_dir():
        if (p / "config.yaml").is_file() and (p / "final").is_dir():
            p = p / "final"  # a dialogkit run folder
        if (p / "adapter_config.json").is_file():
            try:
                base = json.loads((p / "adapter_config.json").read_text())["base_model_name_or_path"]
            except (KeyError, json.JSONDecodeError) as e:
                raise InputError(f"{p}/adapter_config.json: cannot read base_model_name_or_path ({e})") from e
            if not base:
                raise InputError(f"{p}/adapter_config.json: base_model_name_or_path is empty")
            if not Path(base).is_absolute() and (p / base).is_dir():
                base = str(p / base)
            base_src = resolve_model(base)
            return ModelSource(base=base_src.base, adapter=str(p), is_local=base_src.is_local)
        if (p / "config.json").is_file():
            # Absolute, so the adapter_config.json a run writes still finds its base from anywhere.
            return ModelSource(base=str(p.resolve()))
        raise InputError(f"{path}: folder holds no model (expected config.json or adapter_config.json)")
    if p.exists():
        raise InputError(f"{path}: is a file; --model takes a model folder or a hub id")
    if _HUB_ID.match(path) and not path.startswith((".", "/", "~")):
        return ModelSource(base=path, is_local=False)
    raise InputError(f"{path}: no such model folder")


def resolve_dtype(name: str) -> Any:
    """``auto``: bf16 on GPUs that support it, else fp16 on GPU, float32 on CPU (CPU half precision is slow)."""
    import torch

    if name != "auto":
        return getattr(torch, name)
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def target_modules(model: Any, wanted: list[str] | str = "auto") -> list[str] | str:
    """LoRA target modules for ``model``'s architecture, or PEFT's ``all-linear`` when unknown."""
    if wanted != "auto":
        return wanted
    model_type = getattr(model.config, "model_type", "")
    mods = TARGET_MODULES.get(model_type)
    if mods is None:
        return "all-linear"
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    found = [m for m in mods if m in present]
    return found or "all-linear"


def check_qlora() -> None:
    """QLoRA needs CUDA and bitsandbytes: say so before any loading starts."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise UsageError("adapter 'qlora' (4-bit) needs a CUDA GPU and none is available; "
                         "use --set adapter=lora (or dora) on this machine")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise MissingDependencyError("bitsandbytes", "train")


def load_tokenizer(cfg: TrainConfig, source: ModelSource) -> Any:
    """The tokenizer (a run's own when continuing), with ``chat_template`` applied and a pad token set."""
    from transformers import AutoTokenizer

    where = cfg.tokenizer or source.tokenizer_dir
    try:
        tok = AutoTokenizer.from_pretrained(where, trust_remote_code=cfg.trust_remote_code)
    except (OSError, ValueError) as e:
        raise InputError(f"{where}: cannot load a tokenizer: {e}") from e
    if cfg.chat_template:
        tpl = Path(cfg.chat_template)
        if not tpl.is_file():
            raise InputError(f"{cfg.chat_template}: no such chat template file")
        tok.chat_template = tpl.read_text(encoding="utf-8")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _quantization(cfg: TrainConfig, dtype: Any) -> dict[str, Any]:
    if cfg.adapter != "qlora":
        return {}
    from transformers import BitsAndBytesConfig

    q = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                           bnb_4bit_compute_dtype=dtype)
    return {"quantization_config": q, "device_map": {"": int(os.environ.get("LOCAL_RANK", "0"))}}


def load_model(cfg: TrainConfig, source: ModelSource) -> tuple[Any, Any]:
    """Load the policy model; returns ``(model, peft_config)``.

    ``peft_config`` is None when continuing an adapter (the model is then a trainable PeftModel)
    or for full fine-tuning. Raises :class:`InputError` when the weights cannot be loaded.
    """
    if cfg.adapter == "qlora":
        check_qlora()
    import torch  # noqa: F401  (loads before transformers picks a backend)
    from transformers import AutoModelForCausalLM

    dtype = resolve_dtype(cfg.dtype)
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": cfg.trust_remote_code,
                              **_quantization(cfg, dtype)}
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(source.base, **kwargs)
    except (OSError, ValueError) as e:
        hint = "" if source.is_local else " (a hub id needs network access or a local cache)"
        raise InputError(f"{source.base}: cannot load the model{hint}: {e}") from e
    if cfg.adapter == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    if source.adapter is None:
        return model, (None if cfg.adapter == "full" else lora_config(cfg, model))
    from peft import PeftModel

    model = PeftModel.from_pretrained(model, source.adapter, is_trainable=cfg.adapter != "full")
    if cfg.adapter == "full":
        model = model.merge_and_unload()
    return model, None


def lora_config(cfg: TrainConfig, model: Any) -> Any:
    """PEFT ``LoraConfig`` for LoRA / QLoRA / DoRA with per-architecture target modules."""
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=target_modules(model, cfg.lora_target_modules),
        modules_to_save=cfg.lora_modules_to_save,
        use_rslora=cfg.use_rslora,
        use_dora=cfg.adapter == "dora",
        bias="none",
        task_type="CAUSAL_LM",
    )


def save_final(trainer: Any, tokenizer: Any, out: Path, merge: bool) -> dict[str, Any]:
    """Save the trained adapter (or full model) and tokenizer to ``out``; optionally ``out/merged``."""
    out.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(out))
    info: dict[str, Any] = {"path": str(out), "kind": "adapter" if (out / "adapter_config.json").is_file() else "full"}
    if merge and info["kind"] == "adapter" and trainer.is_world_process_zero():
        model = trainer.accelerator.unwrap_model(trainer.model)
        if getattr(model.base_model, "is_loaded_in_4bit", False):
            raise UsageError("merging a 4-bit QLoRA model is not supported; load the base in bf16 and merge")
        merged = model.merge_and_unload()
        merged.save_pretrained(str(out / "merged"))
        tokenizer.save_pretrained(str(out / "merged"))
        info["merged"] = str(out / "merged")
    return info
