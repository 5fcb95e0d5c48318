"""A tiny byte-level BPE tokenizer with dialogkit's chat template, trained offline in seconds.

Used by tests and by ``dialogkit model init-tiny``: byte-level, so any text (Chinese too)
encodes without unknown tokens; ChatML control tokens are special; the reasoning/tool markers
are added tokens so that templates' ``<tool_call>`` stays one token, as in real models.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ["<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKER_TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]

# Enough text to learn frequent merges for demos when no corpus is given.
DEFAULT_TEXTS = [
    "You are a helpful assistant. How can I help you today?",
    "I need a cheap restaurant in the centre. Book a table for 4 at 19:00 on Friday.",
    "What is the phone number? The phone number is 01223 356555. Anything else?",
    "Can you find me a train to Cambridge on Sunday? There are 5 trains on Sunday.",
    "帮我订明天中午上海到北京的高铁。查下明早重庆到成都票价。有没有靠近解放碑的酒店？",
    "收到，我先问几个偏好：更倾向博物馆还是自然？最低128元，平均156元。谢谢，就这样吧。",
    '{"name": "get_fare", "arguments": {"from": "重庆", "to": "成都", "date": "2025-10-20"}}',
    '{"type": "function", "function": {"name": "find_hotel", "parameters": {"type": "object"}}}',
    "system user assistant tool",
]


TEMPLATES = ("dialogkit", "dialogkit_compact")


def chat_template(name: str = "dialogkit") -> str:
    """One of dialogkit's own chat templates (``dialogkit/assets/templates/<name>.jinja``).

    ``dialogkit`` lists tools as JSON schemas (as Qwen/Hermes templates do); ``dialogkit_compact``
    lists each as one ``name(params): description`` line, for tiny models trained from scratch.
    """
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}; known: {', '.join(TEMPLATES)}")
    path = f"assets/templates/{name}.jinja"
    return resources.files("dialogkit").joinpath(path).read_text(encoding="utf-8")


def build_tiny_tokenizer(
    texts: Iterable[str] | None = None,
    vocab_size: int = 600,
    out_dir: str | Path | None = None,
    template: str | None = None,
) -> Any:
    """Train a byte-level BPE tokenizer on ``texts`` and attach a chat template.

    Args:
        texts: training text (defaults to a small built-in English/Chinese corpus).
        vocab_size: target vocabulary size, special and marker tokens included.
        out_dir: if given, ``save_pretrained`` there (tokenizer.json + config with the template).
        template: chat template (defaults to :func:`chat_template`).

    Returns:
        A ``transformers.PreTrainedTokenizerFast`` with ``eos_token="<|im_end|>"``.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) if texts is not None else DEFAULT_TEXTS, trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in MARKER_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|pad|>", model_max_length=1 << 20
    )
    fast.chat_template = template if template is not None else chat_template()
    if out_dir is not None:
        fast.save_pretrained(str(out_dir))
    return fast
