"""Held-out loss: mean negative log-likelihood of the assistant tokens ``prepare`` marks.

The same number for every model of the demo (base, SFT, DPO): the SFT objective on held-out
dialogs, computed with the exact labels training uses, so the three are comparable (TRL's own
``eval_loss`` means a different thing for DPO).
"""

from __future__ import annotations

import math
from typing import Any

from dialogkit.schema import Dialog


def heldout_nll(model_spec: str, dialogs: list[Dialog], *, batch_size: int = 8,
                max_length: int | None = None) -> dict[str, Any]:
    """``{"eval_loss", "eval_tokens", "eval_ppl"}`` of a local model or run folder on ``dialogs``."""
    import torch

    from dialogkit.generate.hf import load_model_and_tokenizer
    from dialogkit.prepare import PrepareConfig, prepare_dialogs

    model, tokenizer = load_model_and_tokenizer(model_spec, device="cpu" if not torch.cuda.is_available() else None)
    rows = list(prepare_dialogs(dialogs, tokenizer, PrepareConfig(max_length=max_length)))
    rows.sort(key=lambda r: len(r.input_ids))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            width = max(len(r.input_ids) for r in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, r in enumerate(batch):
                n = len(r.input_ids)
                ids[i, :n] = torch.tensor(r.input_ids)
                labels[i, :n] = torch.tensor(r.labels)
                mask[i, :n] = 1
            ids, labels, mask = ids.to(model.device), labels.to(model.device), mask.to(model.device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target = labels[:, 1:]
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum"
            )
            total += float(nll)
            count += int((target != -100).sum())
    loss = total / count if count else None
    return {"eval_loss": loss, "eval_tokens": count,
            "eval_ppl": math.exp(loss) if loss is not None and loss < 50 else None}
