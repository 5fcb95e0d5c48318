"""What a model does on a set of dev dialogs: teacher-forced loss and token accuracy, and scorer
metrics on turns it generates from the gold history.

The loss is the mean negative log-likelihood of exactly the tokens ``prepare`` marks for
training (assistant output), over the whole set (token-weighted), with the same tokenizer and
prepare options as the run; token accuracy is the share of those tokens the model ranks first.
Scorer metrics (``forgetting_suite``) come from greedy generation of every assistant turn given
the gold history, scored by dialogkit's scorers against the reference turns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dialogkit.schema import Dialog


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """``model.eval()`` inside, the previous mode restored after (training resumes unchanged)."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def _batches(rows: Any, batch_size: int, pad_id: int) -> Iterator[tuple[Any, Any, Any]]:
    import torch

    order = sorted(range(len(rows.input_ids)), key=lambda i: len(rows.input_ids[i]))  # less padding
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(rows.input_ids[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        labels = torch.full((len(idx), width), -100, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            n = len(rows.input_ids[i])
            ids[r, :n] = torch.tensor(rows.input_ids[i])
            labels[r, :n] = torch.tensor(rows.labels[i])
            mask[r, :n] = 1
        yield ids, labels, mask


def teacher_forced(model: Any, tokenizer: Any, dialogs: list[Dialog], prepare_options: dict[str, Any],
                   batch_size: int = 8) -> dict[str, Any]:
    """``{"loss", "token_accuracy", "tokens", "dialogs"}`` of ``model`` on ``dialogs`` (no packing)."""
    import torch

    from dialogkit.train.data import prepare_rows

    options = {k: v for k, v in prepare_options.items() if k != "pack"}
    rows = prepare_rows(dialogs, tokenizer, options, tokenizer.chat_template)
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    nll, correct, count = 0.0, 0, 0
    with eval_mode(model), torch.no_grad():
        for ids, labels, mask in _batches(rows, batch_size, pad):
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            target = labels[:, 1:].to(device)
            keep = target != -100
            logp = torch.log_softmax(logits[:, :-1][keep], dim=-1)
            t = target[keep]
            nll += float(-logp.gather(1, t[:, None]).sum())
            correct += int((logp.argmax(-1) == t).sum())
            count += int(keep.sum())
    return {"loss": nll / count if count else None, "token_accuracy": correct / count if count else None,
            "tokens": count, "dialogs": len(dialogs)}


# ------------------------------------------------------------------------------ generation
def _generate(model: Any, tokenizer: Any, requests: list[tuple[list[Any], list[Any]]],
              max_new_tokens: int, batch_size: int) -> list[Any]:
    """Greedy assistant messages for ``(history, tools)`` requests (same rendering as the HF backend)."""
    import torch

    from dialogkit.generate.parse import parse_completion
    from dialogkit.prepare.render import message_dict, tool_dict

    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    out = []
    try:
        for start in range(0, len(requests), batch_size):
            batch = requests[start:start + batch_size]
            texts = [tokenizer.apply_chat_template([message_dict(m) for m in msgs],
                                                   tools=[tool_dict(t) for t in tools] or None,
                                                   add_generation_prompt=True, tokenize=False)
                     for msgs, tools in batch]
            enc = tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt").to(device)
            with eval_mode(model), torch.no_grad():
                gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id)
            new = gen[:, enc["input_ids"].shape[1]:]
            out += [parse_completion(t) for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    finally:
        tokenizer.padding_side = side
    return out


def scorer_names(suite: str | None, dialogs: list[Dialog]) -> list[tuple[str, dict[str, Any]]]:
    """The scorers to run: ``auto`` = tool calls (when the references call tools) and text overlap."""
    if suite in (None, "none"):
        return []
    if suite == "auto":
        calls = any(m.role == "assistant" and m.tool_calls for d in dialogs for m in d.messages)
        return ([("tools", {})] if calls else []) + [("text", {})]
    from dialogkit.score.suite import load_suite

    return [(e.name, e.options) for e in load_suite(suite).scorers]


def generated_metrics(model: Any, tokenizer: Any, dialogs: list[Dialog], suite: str | None,
                      max_new_tokens: int = 128, batch_size: int = 8) -> tuple[dict[str, Any], set[str]]:
    """Scorer metrics of turns generated from each dialog's gold history: ``({metric: value}, lower_is_better)``."""
    from dialogkit.score.base import make_scorer
    from dialogkit.score.report import compute

    names = scorer_names(suite, dialogs)
    if not names or not dialogs:
        return {}, set()
    scorers = [make_scorer(n, o) for n, o in names]
    requests, slots = [], []
    for d in dialogs:
        for k, m in enumerate(d.messages):
            if m.role == "assistant":
                requests.append((list(d.messages[:k]), list(d.tools)))
                slots.append((d.id, k))
    generated = _generate(model, tokenizer, requests, max_new_tokens, batch_size)
    by_dialog: dict[str, dict[int, Any]] = {}
    for (did, k), msg in zip(slots, generated):
        by_dialog.setdefault(did, {})[k] = msg
    items = []
    for d in dialogs:
        turns = by_dialog.get(d.id, {})
        pred = d.model_copy(update={"messages": [turns.get(k, m) for k, m in enumerate(d.messages)]})
        for s in scorers:
            items += s.score(pred, d)
    specs = {m.name: m for s in scorers for m in s.metrics}
    values = {name: value for name, (value, n) in compute(items, specs).items() if n and value is not None}
    return values, {name for name in values if not specs[name].higher_is_better}
