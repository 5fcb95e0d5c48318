"""Stay close to the previous model: KL to its outputs, L2-SP on the weights, frozen layers.

All three use extension points of transformers / TRL, never a trainer subclass:

* **KL** is a ``compute_loss_func`` (the Trainer/SFTTrainer argument for a custom loss): the
  token cross-entropy transformers' own models compute (``ForCausalLMLoss``), plus
  ``strength * KL(previous || current)`` over the trained (label) tokens, normalized like the
  cross-entropy. The inputs of each forward reach it through a forward pre-hook on the policy,
  so the previous model sees exactly the batch the policy saw (padding-free packing included).
  Evaluation (``model.training`` false) gets the plain cross-entropy, so ``eval_loss`` stays
  comparable with other runs.
* **L2-SP** (Li et al. 2018, ``strength/2 * ||w - w0||^2`` over the trainable weights) is a
  callback: ``on_pre_optimizer_step`` adds its gradient ``strength * (w - w0)`` after gradient
  clipping. No extra forward pass, and gradient accumulation counts it once per step.
* **Freezing** turns ``requires_grad`` off before the optimizer is created, so frozen weights get
  no optimizer state either.
"""

from __future__ import annotations

import copy
import fnmatch
import math
import re
from typing import Any

from transformers import TrainerCallback

from dialogkit.errors import UsageError

DEFAULT_STRENGTH = {"kl": 1.0, "l2sp": 0.1}
_BLOCK = re.compile(r"(?:^|\.)(?:layers|h|blocks|block)\.(\d+)\.")
_PEFT_PREFIX = "base_model.model."


def strength_of(method: str, strength: float | None) -> float:
    return DEFAULT_STRENGTH[method] if strength is None else float(strength)


# ----------------------------------------------------------------------------------- freezing
def _matcher(spec: str) -> Any:
    if spec.startswith("first:"):
        n = spec.removeprefix("first:")
        if not n.isdigit() or int(n) < 1:
            raise UsageError(f"--freeze {spec!r}: expected first:N with N >= 1 (the first N transformer blocks)")

        def in_first(name: str) -> bool:
            m = _BLOCK.search(name)
            return m is not None and int(m.group(1)) < int(n)

        return in_first
    return lambda name: fnmatch.fnmatchcase(name, spec) or fnmatch.fnmatchcase(name.removeprefix(_PEFT_PREFIX), spec)


def match_freeze(model: Any, specs: list[str]) -> set[str]:
    """Names of the trainable parameters ``specs`` freeze (a name glob, or ``first:N`` blocks).

    Raises:
        UsageError: a spec that matches no trainable parameter, or nothing left to train.
    """
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    frozen: set[str] = set()
    for spec in specs:
        match = _matcher(spec)
        hit = [n for n in trainable if match(n)]
        if not hit:
            sample = ", ".join(trainable[:3])
            raise UsageError(f"--freeze {spec!r} matches no trainable parameter (names look like: {sample})")
        frozen.update(hit)
    if len(frozen) == len(trainable):
        raise UsageError(f"--freeze {' '.join(specs)} leaves nothing to train")
    return frozen


def freeze(model: Any, specs: list[str]) -> dict[str, Any]:
    """Turn off ``requires_grad`` for the parameters :func:`match_freeze` selects; returns counts."""
    frozen = match_freeze(model, specs)
    params = dict(model.named_parameters())
    for n in frozen:
        params[n].requires_grad_(False)
    return {"specs": list(specs), "frozen_tensors": len(frozen),
            "frozen_params": sum(params[n].numel() for n in frozen),
            "trainable_params": sum(p.numel() for p in params.values() if p.requires_grad)}


# ----------------------------------------------------------------------------------------- KL
class KLToPrevious:
    """``compute_loss_func``: cross-entropy + ``strength`` x KL(previous || current) on the trained tokens.

    Args:
        reference: a frozen copy of the previous model, or None when the previous model is the
            policy with its (fresh) adapter disabled.
        strength: the KL weight.

    :meth:`attach` binds it to the module the trainer calls (``trainer.model``), whose inputs a
    forward pre-hook captures for the reference forward.
    """

    def __init__(self, reference: Any | None, strength: float):
        self.policy: Any = None
        self.reference = reference
        self.strength = strength
        self._inputs: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._in_reference = False
        self.values: list[float] = []
        self._hook: Any = None

    def attach(self, policy: Any) -> None:
        self.policy = policy
        self._hook = policy.register_forward_pre_hook(self._capture, with_kwargs=True)

    def _capture(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not self._in_reference:
            self._inputs = (args, dict(kwargs))

    def _reference_logits(self, device: Any) -> Any:
        import torch

        args, kwargs = self._inputs or ((), {})
        kwargs = {k: v for k, v in kwargs.items() if k not in ("labels", "fused_lm_head")}
        self._in_reference = True
        try:
            with torch.no_grad():
                if self.reference is None:
                    with self.policy.disable_adapter():
                        return self.policy(*args, **kwargs).logits
                if next(self.reference.parameters()).device != device:
                    self.reference.to(device)
                return self.reference(*args, **kwargs).logits
        finally:
            self._in_reference = False

    def __call__(self, outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        import torch
        import torch.nn.functional as F
        from transformers.loss.loss_utils import ForCausalLMLoss

        logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
        ce = ForCausalLMLoss(logits, labels, vocab_size=logits.size(-1), num_items_in_batch=num_items_in_batch)
        if self.policy is None or not self.policy.training or self.strength == 0:
            return ce
        ref = self._reference_logits(logits.device)
        mask = labels[..., 1:] != -100
        cur = F.log_softmax(logits[..., :-1, :][mask].float(), dim=-1)
        prev = F.log_softmax(ref[..., :-1, :][mask].float(), dim=-1)
        kl_sum = (prev.exp() * (prev - cur)).sum()
        denom = mask.sum() if num_items_in_batch is None else torch.as_tensor(num_items_in_batch, device=logits.device)
        kl = kl_sum / denom.clamp(min=1)
        self.values.append(float(kl_sum.detach() / mask.sum().clamp(min=1)))
        return ce + self.strength * kl

    def close(self) -> None:
        if self._hook is not None:
            self._hook.remove()


def kl_reference(model: Any, fresh_adapter: bool) -> Any | None:
    """The previous model for KL: None (adapter disabled) for a fresh adapter, else a frozen copy."""
    if fresh_adapter:
        return None
    ref = copy.deepcopy(model).eval()
    ref.requires_grad_(False)
    return ref


# -------------------------------------------------------------------------------------- L2-SP
class L2SP(TrainerCallback):
    """Adds ``strength * (w - w0)`` to each trainable weight's gradient before the optimizer step."""

    def __init__(self, model: Any, strength: float):
        self.strength = strength
        self.params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.anchor = {n: p.detach().clone() for n, p in self.params}  # w0: the previous model's weights

    def distance(self) -> float:
        import torch

        with torch.no_grad():
            total = sum(float(((p - self.anchor[n].to(p.device)) ** 2).sum()) for n, p in self.params)
        return math.sqrt(total)

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        import torch

        with torch.no_grad():
            for n, p in self.params:
                if p.grad is not None:
                    p.grad.add_(p - self.anchor[n].to(p.device), alpha=self.strength)


class RegLog(TrainerCallback):
    """Adds the regularizer's numbers to each training log line (``metrics.jsonl``): ``kl`` or ``l2sp_distance``."""

    def __init__(self, kl: KLToPrevious | None = None, l2sp: L2SP | None = None):
        self.kl, self.l2sp = kl, l2sp

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
        if not logs or "loss" not in logs:
            return
        if self.kl is not None and self.kl.values:
            logs["kl"] = sum(self.kl.values) / len(self.kl.values)
            self.kl.values.clear()
        if self.l2sp is not None:
            logs["l2sp_distance"] = self.l2sp.distance()
