"""In-process generation with transformers: a model folder, a hub id, or a dialogkit training run.

A run folder (``RUN`` with ``final/``) or an adapter folder (``adapter_config.json``) loads the
base model named in the adapter config and applies the adapter, so on-policy sampling, scoring
and serving see exactly the trained model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError
from dialogkit.generate.base import ChatRequest, GenerationConfig
from dialogkit.generate.parse import parse_completion
from dialogkit.prepare.render import message_dict, tool_dict
from dialogkit.schema import AssistantMessage


def resolve_model_dir(spec: str) -> Path | str:
    """A run folder resolves to its ``final/``; other paths and hub ids are returned as they are."""
    p = Path(spec)
    if (p / "final").is_dir():
        return p / "final"
    return p if p.exists() else spec


def load_model_and_tokenizer(spec: str, device: str | None = None) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = resolve_model_dir(spec)
    adapter_cfg = Path(where) / "adapter_config.json" if isinstance(where, Path) else None
    try:
        if adapter_cfg is not None and adapter_cfg.exists():
            from peft import PeftModel

            base = json.loads(adapter_cfg.read_text())["base_model_name_or_path"]
            model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
            model = PeftModel.from_pretrained(model, str(where))
        else:
            model = AutoModelForCausalLM.from_pretrained(str(where), dtype="auto")
        tokenizer = AutoTokenizer.from_pretrained(str(where))
    except OSError as e:
        raise InputError(f"{spec}: cannot load model: {str(e).splitlines()[0]}") from e
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    return model, tokenizer


class HFBackend:
    name = "transformers"

    def __init__(self, spec: str, device: str | None = None):
        self.spec = spec
        self.model, self.tokenizer = load_model_and_tokenizer(spec, device)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def prompt_text(self, request: ChatRequest) -> str:
        messages = [message_dict(m) for m in request.messages]
        tools = [tool_dict(t) for t in request.tools] or None
        return self.tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)

    def generate(self, requests: list[ChatRequest], config: GenerationConfig) -> list[list[AssistantMessage]]:
        import torch

        out: list[list[AssistantMessage]] = []
        sample = config.temperature > 0
        for start in range(0, len(requests), config.batch_size):
            batch = requests[start:start + config.batch_size]
            enc = self.tokenizer([self.prompt_text(r) for r in batch], add_special_tokens=False,
                                 padding=True, return_tensors="pt").to(self.model.device)
            torch.manual_seed(config.seed + start)
            kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens, "do_sample": sample,
                                      "num_return_sequences": config.n, "pad_token_id": self.tokenizer.pad_token_id}
            if sample:
                kwargs.update(temperature=config.temperature, top_p=config.top_p)
            with torch.no_grad():
                gen = self.model.generate(**enc, **kwargs)
            new = gen[:, enc["input_ids"].shape[1]:]
            texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            for i in range(len(batch)):
                out.append([parse_completion(t) for t in texts[i * config.n:(i + 1) * config.n]])
        return out
