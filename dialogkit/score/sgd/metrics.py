"""Frame-level metrics of the official SGD evaluator (google-research ``schema_guided_dst/metrics.py``).

Computed per (user turn, service frame):

* active intent accuracy: exact match of ``state.active_intent``;
* requested slots F1 / precision / recall: multiset F1 where an empty hypothesis gives
  precision 1 and an empty reference recall 1 (so both empty score 1.0 - the official docstring
  says such frames are skipped; its code does not skip them, and neither does this);
* slot tagging F1 (only when the hypothesis frame has ``slots``): non-categorical spans as
  (slot, utterance substring) multisets;
* goal accuracy: for every slot of the service schema, 1 when absent from both, 0 when in only
  one, else categorical: the hypothesis' first value equals the reference's first value;
  non-categorical: the best fuzzywuzzy ``token_sort_ratio / 100`` over the reference variants
  (or exact membership with ``use_fuzzy_match=False``). Average goal accuracy is the mean over
  slots active in the reference, joint goal accuracy the *product* over all slots, each also
  split into categorical / non-categorical; a part with no slots is ``"NA"`` and not averaged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from dialogkit.score.fuzzy import token_sort_ratio

NAN_VAL = "NA"
JOINT_METRICS = ("joint_goal_accuracy", "joint_cat_accuracy", "joint_noncat_accuracy")


def noncat_match(ref_values: Sequence[Any], hyp: Any, fuzzy: bool = True) -> float:
    score = 0.0
    for ref in ref_values:
        score = max(score, token_sort_ratio(ref, hyp) / 100.0 if fuzzy else float(ref == hyp))
    return score


def f1(ref: Sequence[Any], hyp: Sequence[Any]) -> tuple[float, float, float]:
    """(f1, precision, recall) of two multisets, with the official empty-set conventions."""
    r, h = Counter(ref), Counter(hyp)
    true, positive, tp = sum(r.values()), sum(h.values()), sum((r & h).values())
    precision = tp / positive if positive else 1.0
    recall = tp / true if true else 1.0
    score = 2.0 * precision * recall / (precision + recall) if precision + recall > 0.0 else 0.0
    return score, precision, recall


def slot_scores(ref: Mapping[str, Sequence[Any]], hyp: Mapping[str, Sequence[Any]], service: Mapping[str, Any],
                fuzzy: bool) -> tuple[list[float], list[bool], list[bool]]:
    """Per schema slot: (score, active in reference, categorical)."""
    scores, active, categorical = [], [], []
    for slot in service["slots"]:
        name, cat = slot["name"], slot["is_categorical"]
        categorical.append(cat)
        active.append(name in ref)
        if name in ref and name in hyp:
            value = hyp[name][0]
            scores.append(float(ref[name][0] == value) if cat else noncat_match(ref[name], value, fuzzy))
        else:
            scores.append(1.0 if name not in ref and name not in hyp else 0.0)
    return scores, active, categorical


def goal_accuracy(frame_ref: Mapping[str, Any], frame_hyp: Mapping[str, Any], service: Mapping[str, Any],
                  fuzzy: bool = True) -> dict[str, Any]:
    import numpy as np

    scores, active, cat = slot_scores(frame_ref["state"]["slot_values"], frame_hyp["state"]["slot_values"],
                                      service, fuzzy)
    mean = lambda xs: np.mean(xs) if xs else NAN_VAL  # noqa: E731
    prod = lambda xs: np.prod(xs) if xs else NAN_VAL  # noqa: E731
    return {
        "average_goal_accuracy": mean([s for s, a in zip(scores, active) if a]),
        "average_cat_accuracy": mean([s for s, a, c in zip(scores, active, cat) if a and c]),
        "average_noncat_accuracy": mean([s for s, a, c in zip(scores, active, cat) if a and not c]),
        "joint_goal_accuracy": prod(scores),
        "joint_cat_accuracy": prod([s for s, c in zip(scores, cat) if c]),
        "joint_noncat_accuracy": prod([s for s, c in zip(scores, cat) if not c]),
    }


def frame_metrics(frame_ref: Mapping[str, Any], frame_hyp: Mapping[str, Any], utterance: str,
                  service: Mapping[str, Any], fuzzy: bool = True) -> dict[str, Any]:
    """Every official metric of one frame (slot tagging only when the hypothesis has ``slots``)."""
    out: dict[str, Any] = {
        "active_intent_accuracy": float(frame_ref["state"]["active_intent"] == frame_hyp["state"]["active_intent"]),
    }
    score, p, r = f1(frame_ref["state"]["requested_slots"], frame_hyp["state"]["requested_slots"])
    out.update(requested_slots_f1=score, requested_slots_precision=p, requested_slots_recall=r)
    if "slots" in frame_hyp:
        noncat = {s["name"] for s in service["slots"] if not s["is_categorical"]}
        spans = lambda frame: [(s["slot"], utterance[s["start"]:s["exclusive_end"]])  # noqa: E731
                               for s in frame.get("slots", []) if s["slot"] in noncat]
        score, p, r = f1(spans(frame_ref), spans(frame_hyp))
        out.update(slot_tagging_f1=score, slot_tagging_precision=p, slot_tagging_recall=r)
    out.update(goal_accuracy(frame_ref, frame_hyp, service, fuzzy))
    return out
