"""The scorer protocol, per-item results, aggregators and the scorer registry.

Every scorer returns *items*: one per scored turn (``turn`` = the assistant message's ordinal
among the dialog's assistant messages) or per dialog (``turn=None``). An item carries, for each
metric, a small vector of *summable statistics*; a metric's value is a function of the sum of
its items' vectors (``[value, 1]`` summed gives a mean, ``[tp, fp, fn]`` an F1, sacrebleu's
sufficient statistics a corpus BLEU). So the report keeps every number needed to recompute any
metric on any subset - per domain, per turn index, or a bootstrap resample in ``score compare``
- without rerunning a scorer.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from dialogkit.errors import UsageError
from dialogkit.registry import Registry
from dialogkit.schema import AssistantMessage, Dialog

REPORT_FORMAT = "dialogkit.score/1"


@dataclass(frozen=True)
class MetricSpec:
    """What a metric means and how its statistics combine (``agg`` names an :data:`AGGREGATORS` entry)."""

    name: str
    agg: str = "ratio"
    higher_is_better: bool = True
    description: str = ""
    scale: str = "fraction"  # "fraction" in [0, 1]; "score" (e.g. 1-5); "count"

    def to_dict(self) -> dict[str, Any]:
        return {
            "agg": self.agg,
            "higher_is_better": self.higher_is_better,
            "description": self.description,
            "scale": self.scale,
        }


@dataclass
class Item:
    """One scored unit. ``stats`` maps a metric name to its summable statistics."""

    dialog: str
    turn: int | None
    stats: dict[str, list[float]]
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Scorer(Protocol):
    """A scorer: compares a predicted dialog with its reference.

    ``pred`` is ``None`` when the prediction is missing; the scorer must then return failing
    items for everything it would have scored, so missing predictions count against the model.
    """

    name: str
    version: str
    higher_is_better: bool
    metrics: Sequence[MetricSpec]

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]: ...


class ScorerOptions(BaseModel):
    """Base of every scorer's options: unknown options are errors that name the option."""

    model_config = ConfigDict(extra="forbid")


class BaseScorer:
    """Convenience base: validates ``**options`` with the nested ``Options`` model."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    higher_is_better: ClassVar[bool] = True
    metrics: ClassVar[tuple[MetricSpec, ...]] = ()
    Options: ClassVar[type[ScorerOptions]] = ScorerOptions

    def __init__(self, **options: Any):
        try:
            self.options = self.Options(**options)
        except ValidationError as e:
            detail = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'options'}: {x['msg']}" for x in e.errors())
            raise UsageError(f"scorer {self.name!r}: bad options: {detail}") from None

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:  # pragma: no cover - abstract
        raise NotImplementedError

    def summarize(self, items: list[Item]) -> dict[str, Any]:
        """Extra report sections computed from all items (pass^k, robustness). Default: none."""
        return {}


# ----------------------------------------------------------------------------- aggregators
def _ratio(s: Sequence[float]) -> float | None:
    return s[0] / s[1] if s[1] else None


def _precision(s: Sequence[float]) -> float | None:
    tp, fp, _ = s
    return tp / (tp + fp) if tp + fp else None


def _recall(s: Sequence[float]) -> float | None:
    tp, _, fn = s
    return tp / (tp + fn) if tp + fn else None


def _f1(s: Sequence[float]) -> float | None:
    tp, fp, fn = s
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


@functools.lru_cache(maxsize=1)
def _sacrebleu_metrics() -> tuple[Any, Any]:
    from sacrebleu.metrics import BLEU, CHRF

    return BLEU(), CHRF()


def _bleu(s: Sequence[float]) -> float | None:
    # sacrebleu's corpus BLEU from summed sufficient statistics (defaults: exp smoothing).
    if not s[1]:
        return None
    return _sacrebleu_metrics()[0]._compute_score_from_stats([int(round(x)) for x in s]).score / 100.0


def _chrf(s: Sequence[float]) -> float | None:
    if not any(s):
        return None
    return _sacrebleu_metrics()[1]._compute_score_from_stats([int(round(x)) for x in s]).score / 100.0


AGGREGATORS: dict[str, Callable[[Sequence[float]], float | None]] = {
    "ratio": _ratio,
    "precision": _precision,
    "recall": _recall,
    "f1": _f1,
    "bleu": _bleu,
    "chrf": _chrf,
}


def aggregate(agg: str, vectors: list[Sequence[float]]) -> float | None:
    """Sum the vectors and apply the named aggregator (``None`` when nothing was scored)."""
    if not vectors:
        return None
    total = [math.fsum(col) for col in zip(*vectors)]
    value = AGGREGATORS[agg](total)
    return None if value is None or math.isnan(value) else value


def mean_stat(value: float | bool) -> list[float]:
    """Statistics of a metric averaged over items."""
    return [float(value), 1.0]


# --------------------------------------------------------------------------------- helpers
def assistant_messages(dialog: Dialog | None) -> list[tuple[int, AssistantMessage]]:
    """``(message index, message)`` of every assistant message, in order."""
    if dialog is None:
        return []
    return [(i, m) for i, m in enumerate(dialog.messages) if m.role == "assistant"]


def aligned_turns(pred: Dialog | None, ref: Dialog):
    """Yield ``(k, ref_index, ref_msg, pred_index, pred_msg)`` pairing the k-th assistant messages.

    Predictions are the model's turns generated from the gold history, so the k-th assistant
    message of the prediction answers the same context as the k-th of the reference. A missing
    predicted turn gives ``(None, None)``.
    """
    pred_turns = assistant_messages(pred)
    for k, (ri, rm) in enumerate(assistant_messages(ref)):
        pi, pm = pred_turns[k] if k < len(pred_turns) else (None, None)
        yield k, ri, rm, pi, pm


def meta(dialog: Dialog | None, key: str, default: Any = None) -> Any:
    """An extra (untyped) metadata key of a dialog, e.g. ``tool_answers`` or ``final_db``."""
    if dialog is None:
        return default
    extra = dialog.metadata.model_extra or {}
    return extra.get(key, default)


# -------------------------------------------------------------------------------- registry
SCORERS: Registry[Callable[..., Scorer]] = Registry("scorer", "dialogkit.scorers")
for _name, _target in {
    "tools": "dialogkit.score.tools:ToolCallScorer",
    "structured": "dialogkit.score.structured:StructuredOutputScorer",
    "state": "dialogkit.score.state:StateScorer",
    "behaviour": "dialogkit.score.behaviour:BehaviourScorer",
    "text": "dialogkit.score.text:TextScorer",
    "repetition": "dialogkit.score.text:RepetitionScorer",
    "groundedness": "dialogkit.score.grounding:GroundednessScorer",
    "task": "dialogkit.score.dialog:TaskSuccessScorer",
    "robustness": "dialogkit.score.robustness:RobustnessScorer",
    "judge": "dialogkit.score.judge:JudgeScorer",
}.items():
    SCORERS.register(_name, _target)


def make_scorer(name: str, options: dict[str, Any] | None = None) -> Scorer:
    """Build a registered scorer with its options; checks it honours the protocol."""
    factory = SCORERS.get(name)
    scorer = factory(**(options or {}))
    if not isinstance(scorer, Scorer):
        raise UsageError(
            f"scorer {name!r} does not implement the Scorer protocol (name, version, metrics, score)"
        )
    return scorer
