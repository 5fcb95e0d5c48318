"""Dialog-state tracking metrics with the official SGD semantics.

Scored on every assistant turn whose reference carries a ``state``; each reference frame
(the top-level frame named by ``state.domain``, plus ``state.frames``) is one SGD frame:

* intent accuracy: exact ``active_intent`` match;
* requested-slot F1: multiset F1 per frame (precision or recall is 1.0 when its side is empty,
  so a frame with nothing requested on either side scores 1.0 - SGD's code, not its docstring);
* per-slot goal score over the union of reference and predicted slots: absent in both -> 1,
  absent in one -> 0, categorical -> exact match of the first predicted value with the first
  reference value, non-categorical -> best fuzzywuzzy ``token_sort_ratio / 100`` over the
  reference variants (continuous credit, option ``fuzzy``);
* average goal accuracy = mean score of the slots active in the reference; joint goal accuracy
  = the **product** of all slot scores of the frame, or of the whole turn with
  ``across_turn: true`` (MultiWOZ style);
* slot precision/recall/F1 (micro): a slot is right when its score >= ``slot_match_threshold``.

Without a service schema a slot is categorical when listed in ``categorical_slots``, when a
tool parameter of that name declares an ``enum``, or when its reference value is not a string.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from dialogkit.schema import Dialog, DialogState, FrameState
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, aligned_turns, mean_stat
from dialogkit.score.fuzzy import sgd_fuzzy_score


class StateOptions(ScorerOptions):
    fuzzy: bool = True
    across_turn: bool = False
    categorical_slots: list[str] = []
    slot_match_threshold: float = 1.0


def frames_of(state: DialogState | None) -> dict[str, FrameState]:
    """Every frame of a state, keyed by service (the top-level frame under its ``domain``)."""
    if state is None:
        return {}
    out: dict[str, FrameState] = dict(state.frames)
    if state.active_intent is not None or state.slots or state.requested_slots or not out:
        out[state.domain or "_"] = state
    return out


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def requested_f1(ref: list[str], hyp: list[str]) -> float:
    """SGD's ``compute_f1`` on requested slots (multisets)."""
    r, h = Counter(ref), Counter(hyp)
    tp = sum((r & h).values())
    precision = tp / sum(h.values()) if h else 1.0
    recall = tp / sum(r.values()) if r else 1.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def categorical_names(dialog: Dialog, extra: list[str]) -> set[str]:
    names = set(extra)
    for tool in dialog.tools:
        for pname, prop in (tool.function.parameters.get("properties") or {}).items():
            if isinstance(prop, dict) and "enum" in prop:
                names.add(pname)
    return names


def slot_scores(
    ref: dict[str, Any], hyp: dict[str, Any], categorical: set[str], fuzzy: bool
) -> dict[str, tuple[float, bool]]:
    """``slot -> (score, active in reference)`` over the union of slots."""
    out = {}
    for slot in sorted(set(ref) | set(hyp)):
        if slot not in ref:
            out[slot] = (0.0, False)
        elif slot not in hyp:
            out[slot] = (0.0, True)
        else:
            ref_values, hyp_value = _values(ref[slot]), _values(hyp[slot])[0] if _values(hyp[slot]) else ""
            is_cat = slot in categorical or not isinstance(ref_values[0] if ref_values else "", str)
            if is_cat:
                score = float(bool(ref_values) and ref_values[0] == hyp_value)
            elif fuzzy:
                score = sgd_fuzzy_score(ref_values, hyp_value)
            else:
                score = float(any(str(r) == str(hyp_value) for r in ref_values))
            out[slot] = (score, True)
    return out


class StateScorer(BaseScorer):
    name = "state"
    version = "1"
    higher_is_better = True
    Options = StateOptions
    metrics = (
        MetricSpec(
            "joint_goal_accuracy",
            "ratio",
            True,
            "SGD JGA: product of per-slot scores, per frame (or per turn)",
        ),
        MetricSpec(
            "average_goal_accuracy", "ratio", True, "mean per-slot score over slots active in the reference"
        ),
        MetricSpec("intent_accuracy", "ratio", True, "frames whose active intent matches"),
        MetricSpec("requested_slots_f1", "ratio", True, "SGD requested-slot F1, averaged over frames"),
        MetricSpec("slot_precision", "precision", True, "predicted slots that are right"),
        MetricSpec("slot_recall", "recall", True, "reference slots predicted right"),
        MetricSpec("slot_f1", "f1", True, "micro F1 of slot values"),
    )

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        opts = self.options
        categorical = categorical_names(ref, opts.categorical_slots)
        items = []
        for k, _, rm, _, pm in aligned_turns(pred, ref):
            if rm.state is None:
                continue
            hyp_frames = frames_of(pm.state if pm is not None else None)
            sums: dict[str, list[float]] = {}
            turn_joint = 1.0
            for service, rf in frames_of(rm.state).items():
                hf = hyp_frames.get(service, FrameState())
                scores = slot_scores(rf.slots, hf.slots, categorical, opts.fuzzy)
                joint = math.prod(s for s, _ in scores.values())
                turn_joint *= joint
                active = [s for s, a in scores.values() if a]
                tp = sum(1 for s, a in scores.values() if a and s >= opts.slot_match_threshold)
                fp = sum(
                    1
                    for slot, (s, a) in scores.items()
                    if slot in hf.slots and not (a and s >= opts.slot_match_threshold)
                )
                fn = sum(1 for s, a in scores.values() if a) - tp
                per_frame = {
                    "intent_accuracy": mean_stat(rf.active_intent == hf.active_intent),
                    "requested_slots_f1": mean_stat(requested_f1(rf.requested_slots, hf.requested_slots)),
                    "slot_precision": [tp, fp, fn],
                    "slot_recall": [tp, fp, fn],
                    "slot_f1": [tp, fp, fn],
                }
                if not opts.across_turn:
                    per_frame["joint_goal_accuracy"] = mean_stat(joint)
                if active:
                    per_frame["average_goal_accuracy"] = mean_stat(sum(active) / len(active))
                for name, vec in per_frame.items():
                    acc = sums.setdefault(name, [0.0] * len(vec))
                    sums[name] = [a + b for a, b in zip(acc, vec)]
            if opts.across_turn:
                sums["joint_goal_accuracy"] = mean_stat(turn_joint)
            items.append(Item(ref.id, k, sums, {"missing_turn": True} if pm is None else {}))
        return items
