"""``model init-tiny``: a tiny random causal LM (Qwen2 or Llama layout) around a tokenizer.

The offline default for demos and tests: a few hundred thousand parameters, seeded so two
builds from the same data are identical, trained on 2 CPU cores in minutes. Init follows TRL's
tiny test models (``scripts/generate_tiny_models``): N(0, 0.02) for embeddings and Linear
weights (embeddings at 1/sqrt(hidden), see ``_init_weights``), zeros for biases, ones for norms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dialogkit.errors import UsageError

Arch = Literal["qwen2", "llama"]


class TinyConfig(BaseModel):
    """Size of the tiny model; defaults learn a small task-oriented set in a few hundred steps."""

    model_config = ConfigDict(extra="forbid")

    arch: Arch = "qwen2"
    hidden_size: int = Field(default=64, gt=0)
    num_layers: int = Field(default=2, gt=0)
    num_heads: int = Field(default=4, gt=0)
    num_kv_heads: int = Field(default=2, gt=0)
    intermediate_size: int = Field(default=128, gt=0)
    max_position_embeddings: int = Field(default=2048, gt=0)
    tie_word_embeddings: bool = True
    seed: int = 0


def _hf_config(tiny: TinyConfig, tokenizer: Any) -> Any:
    if tiny.hidden_size % tiny.num_heads or tiny.num_heads % tiny.num_kv_heads:
        raise UsageError("hidden_size must divide by num_heads, and num_heads by num_kv_heads")
    common = {
        "vocab_size": len(tokenizer),
        "hidden_size": tiny.hidden_size,
        "intermediate_size": tiny.intermediate_size,
        "num_hidden_layers": tiny.num_layers,
        "num_attention_heads": tiny.num_heads,
        "num_key_value_heads": tiny.num_kv_heads,
        "max_position_embeddings": tiny.max_position_embeddings,
        "tie_word_embeddings": tiny.tie_word_embeddings,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if tiny.arch == "qwen2":
        from transformers import Qwen2Config

        return Qwen2Config(**common)
    from transformers import LlamaConfig

    return LlamaConfig(**common)


def _init_weights(model: Any, seed: int) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.fill_(1.0)
            elif name.endswith("bias"):
                param.zero_()
            elif "embed_tokens" in name or "lm_head" in name:
                # Tied embeddings at std 1/sqrt(hidden), not 0.02: after the final RMSNorm the logits
                # are bounded by the embedding norm, and at 0.02 a LoRA adapter (which cannot touch
                # embeddings) could never make a prediction confident.
                param.copy_(torch.randn(param.shape, generator=gen) * param.shape[-1] ** -0.5)
            else:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.02)


def build_tiny_model(tokenizer: Any, out: str | Path, tiny: TinyConfig | None = None) -> dict[str, Any]:
    """Save a seeded tiny causal LM and ``tokenizer`` to ``out``; returns a summary.

    The vocabulary is the tokenizer's full size (added special tokens included); pad/eos/bos
    ids are copied into the model and generation configs so ``generate`` stops at end of turn.
    """
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    tiny = tiny or TinyConfig()
    torch.manual_seed(tiny.seed)
    config = _hf_config(tiny, tokenizer)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    _init_weights(model, tiny.seed)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, do_sample=False,
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return {
        "path": str(out),
        "arch": tiny.arch,
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": config.vocab_size,
        "layers": tiny.num_layers,
        "hidden_size": tiny.hidden_size,
    }


def dialog_texts(dialogs: list[Any]) -> list[str]:
    """Every text a model will see from these dialogs: contents, tool calls and tool schemas."""
    import json

    texts: list[str] = []
    for d in dialogs:
        texts += [json.dumps(t.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for t in d.tools]
        for m in d.messages:
            content = m.content if isinstance(m.content, str) else json.dumps(m.content, ensure_ascii=False)
            if content:
                texts.append(content)
            for call in getattr(m, "tool_calls", None) or []:
                texts.append(json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False))
    return texts


def _clear_out(out: Path, overwrite: bool) -> None:
    import shutil

    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise UsageError(f"{out}: exists and is not empty; use --overwrite to replace it")
        if not (out / "config.json").is_file():
            raise UsageError(f"{out}: not a model folder (no config.json); refusing to delete it")
        shutil.rmtree(out)


def init_tiny_from_data(data: str, out: Path, tiny: TinyConfig, *, vocab_size: int = 1024,
                        data_format: str = "dialogkit", overwrite: bool = False,
                        template: str = "dialogkit") -> dict[str, Any]:
    """Train the tokenizer on ``data``'s dialogs, then build and save the tiny model in ``out``.

    ``template`` is one of :data:`dialogkit.tokenizer_tiny.TEMPLATES` or a Jinja file. Bad
    records are skipped and returned as ``issues``; no usable dialog at all is an InputError.
    """
    from dialogkit.errors import InputError
    from dialogkit.train.data import load_dialogs

    loaded = load_dialogs(data, data_format)
    if not loaded.records:
        raise InputError(f"{data}: no usable dialogs to train a tokenizer on ({loaded.read} read)")
    chat_template = resolve_template(template)  # template errors before anything is deleted
    texts = dialog_texts(loaded.records) + rendered_texts(loaded.records, chat_template)
    _clear_out(out, overwrite)
    tokenizer = train_tiny_tokenizer(texts, vocab_size, chat_template)
    info = build_tiny_model(tokenizer, out, tiny)
    return {**info, "dialogs": len(loaded.records), "texts": len(texts), "issues": loaded.issues}


def resolve_template(template: str) -> str:
    """The text of a named dialogkit template, or of a Jinja file."""
    from dialogkit import tokenizer_tiny

    if template in tokenizer_tiny.TEMPLATES:
        return tokenizer_tiny.chat_template(template)
    path = Path(template)
    if not path.is_file():
        raise UsageError(f"--chat-template {template}: not a file and not one of {', '.join(tokenizer_tiny.TEMPLATES)}")
    return path.read_text(encoding="utf-8")


def rendered_texts(dialogs: list[Any], chat_template: str, limit: int = 200) -> list[str]:
    """Up to ``limit`` dialogs as the model will read them, so that the template's fixed text
    (role headers, the tool list repeated in front of every dialog) gets merges: it is most of
    what a tiny model reads."""
    from jinja2 import TemplateError
    from transformers.utils.chat_template_utils import render_jinja_template

    from dialogkit.prepare.render import template_inputs

    out = []
    for d in dialogs[:limit]:
        messages, tools = template_inputs(d)
        try:
            rendered, _ = render_jinja_template([messages], tools=tools, chat_template=chat_template)
        except TemplateError as e:  # a user's template file: say which dialog it cannot render
            raise UsageError(f"chat template cannot render dialog {d.id}: {e}") from e
        out.append(rendered[0])
    return out


def train_tiny_tokenizer(texts: list[str], vocab_size: int, chat_template: str | None = None) -> Any:
    """A byte-level BPE tokenizer with a chat template (dialogkit's own by default).

    The template's own text joins the corpus so its fixed strings (role headers, the tools
    preamble) get merges too.
    """
    from dialogkit import tokenizer_tiny

    template = chat_template if chat_template is not None else tokenizer_tiny.chat_template()
    corpus = list(texts) + [template]
    return tokenizer_tiny.build_tiny_tokenizer(corpus, vocab_size=vocab_size, template=template)
