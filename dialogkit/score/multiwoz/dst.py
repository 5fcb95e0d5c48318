"""mwzeval's DST numbers (``Evaluator(dst=True)``): turn-level joint accuracy and slot P/R/F1.

Per system turn the states are flattened to ``(domain, slot) -> value``; a turn is a joint match
when both have the same keys and every value agrees with fuzzywuzzy ``partial_ratio > 95``. Slot
true positives need the key in both and the same fuzzy agreement. Precision and recall are
fractions, F1 and joint accuracy percentages, each with mwzeval's ``1e-10`` smoothing terms (so
a perfect run reads 99.9999999997..., shown as 100.0). Note: this is mwzeval's definition, not
TRADE-style DST accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dialogkit.score.multiwoz.fuzzy import partial_ratio

FUZZY_THRESHOLD = 95


def _flatten(state: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], Any]:
    return {(domain, slot): value for domain, slots in state.items() for slot, value in slots.items()}


def _agree(hyp: Any, ref: Any) -> bool:
    return partial_ratio(hyp, ref) > FUZZY_THRESHOLD


def dst_scores(pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, float]:
    """``pairs`` of (predicted state, gold state), one per system turn, both normalised."""
    joint = tp = fp = fn = turns = 0
    for hyp_state, ref_state in pairs:
        hyp, ref = _flatten(hyp_state), _flatten(ref_state)
        if hyp.keys() == ref.keys() and all(_agree(hyp[k], ref[k]) for k in ref):
            joint += 1
        for key, value in hyp.items():
            if key in ref and _agree(value, ref[key]):
                tp += 1
            else:
                fp += 1
        fn += sum(1 for key, value in ref.items() if key not in hyp or not _agree(hyp[key], value))
        turns += 1
    precision = tp / (tp + fp + 1e-10)
    recall = tp / (tp + fn + 1e-10)
    return {
        "joint_accuracy": joint / (turns + 1e-10) * 100,
        "slot_f1": 2 * precision * recall / (precision + recall + 1e-10) * 100,
        "slot_precision": precision,
        "slot_recall": recall,
    }
