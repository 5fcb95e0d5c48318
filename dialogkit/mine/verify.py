"""Checker-backed verification: run the scorers on one candidate assistant turn.

A candidate is scored as a prediction whose history is the source dialog's gold history, against
the source dialog cut after the turn. Every scorer item of that turn becomes an :class:`Outcome`
per metric, named ``scorer.metric``; a metric *passes* when it is perfect (1 for higher-is-better
ratios, 0 for lower-is-better ones). A few per-reply checks the scorers compute per dialog are
thin functions over the scorers' own internals (tokenizer, n-grams, JSON parsing, ROUGE-L):

* ``repetition.repeated_turn`` - the reply repeats an earlier assistant reply of the dialog;
* ``repetition.repeated_ngram_rate`` - repeated n-grams within the reply, passes up to a threshold;
* ``length.length_ratio`` - tokens of the reply / tokens of the reference turn, passes up to a ratio;
* ``structured.tool_call_json`` - ``<tool_call>`` blocks left in the text (calls that did not parse);
* ``text.rouge_l`` - ROUGE-L against the reference turn; *soft*: used to verify off-topic
  negatives, never to rank on-policy samples (a good paraphrase may share few words);
* ``state.belief_match`` - the state a turn writes in its reasoning (``state ...``,
  :mod:`dialogkit.generate.state_text`) holds the gold turn's slot values; only for turns that
  write one, against a gold turn that has a state. *Soft*: it verifies ``wrong_state``
  negatives but does not rank on-policy samples. Ranked by it, most clarify/confirm pairs were
  two questions that differ only in a value, and DPO on them lowered the clarify rate (-3.0
  points against -0.6 without, same data; docs/mining.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dialogkit.generate.state_text import parse_state
from dialogkit.io import dumps
from dialogkit.schema import AssistantMessage, Dialog, DialogState
from dialogkit.score.base import AGGREGATORS, make_scorer
from dialogkit.score.structured import parse_json_text
from dialogkit.score.text import ngrams, rouge_l, tokens

HARD_SCORERS = ("tools", "structured", "behaviour", "groundedness")
_TOOL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_EPS = 1e-9


class VerifyConfig(BaseModel):
    """Thresholds of the thin checks and options passed to the scorers."""

    model_config = ConfigDict(extra="forbid")

    max_length_ratio: float = Field(2.0, gt=1.0, description="length.length_ratio passes up to this")
    max_repeated_ngram_rate: float = Field(0.15, ge=0.0, le=1.0)
    ngram: int = Field(3, ge=1, description="n of repetition.repeated_ngram_rate")
    min_rouge: float = Field(0.3, ge=0.0, le=1.0, description="text.rouge_l passes from this")
    scorer_options: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    value: float
    passed: bool
    soft: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 4), "passed": self.passed}


Outcomes = dict[str, Outcome]


def message_tokens(msg: AssistantMessage) -> int:
    """Length of a turn in words (CJK characters count one each), tool calls included."""
    n = len(tokens(msg.content))
    for call in msg.tool_calls:
        n += len(tokens(call.name)) + len(tokens(dumps(call.arguments).decode("utf-8")))
    return n


def repeated_ngram_rate(text: str, n: int) -> float:
    grams = ngrams(tokens(text), n)
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


def _norm(text: str) -> str:
    return " ".join(tokens(text))


class Verifier:
    """Scores candidate turns with the registered scorers plus the thin per-reply checks."""

    def __init__(self, config: VerifyConfig | None = None):
        self.config = config or VerifyConfig()
        opts = self.config.scorer_options
        self.scorers = [make_scorer(name, opts.get(name)) for name in HARD_SCORERS]
        self._specs = {(s.name, m.name): m for s in self.scorers for m in s.metrics}

    def evaluate(self, dialog: Dialog, index: int, candidate: AssistantMessage) -> Outcomes:
        """Outcomes of ``candidate`` in place of ``dialog.messages[index]``."""
        history = dialog.messages[:index]
        gold = dialog.messages[index]
        ref = dialog.model_copy(update={"messages": [*history, gold]})
        pred = dialog.model_copy(update={"messages": [*history, candidate]})
        k = sum(1 for m in history if m.role == "assistant")
        out: Outcomes = {}
        for scorer in self.scorers:
            for item in scorer.score(pred, ref):
                if item.turn != k:
                    continue
                for metric, stats in item.stats.items():
                    spec = self._specs.get((scorer.name, metric))
                    if spec is None or spec.agg not in AGGREGATORS:
                        continue
                    value = AGGREGATORS[spec.agg](stats)
                    if value is None:
                        continue
                    ok = value >= 1 - _EPS if spec.higher_is_better else value <= _EPS
                    out[f"{scorer.name}.{metric}"] = Outcome(value, ok)
        out.update(self._thin(history, gold, candidate))
        return out

    def _thin(self, history: list[Any], gold: AssistantMessage, cand: AssistantMessage) -> Outcomes:
        cfg = self.config
        out: Outcomes = {}
        text = cand.content
        if text.strip():
            earlier = {_norm(m.content) for m in history if m.role == "assistant" and m.content.strip()}
            repeated = _norm(text) in earlier
            out["repetition.repeated_turn"] = Outcome(float(repeated), not repeated)
            rate = repeated_ngram_rate(text, cfg.ngram)
            out["repetition.repeated_ngram_rate"] = Outcome(rate, rate <= cfg.max_repeated_ngram_rate)
            blocks = _TOOL_BLOCK.findall(text)
            if blocks:
                parsed = sum(parse_json_text(b)[0] for b in blocks)
                out["structured.tool_call_json"] = Outcome(parsed / len(blocks), parsed == len(blocks))
            if gold.content.strip() and not gold.tool_calls:
                r = rouge_l(text, gold.content)
                out["text.rouge_l"] = Outcome(r, r >= cfg.min_rouge, soft=True)
        if gold.state is not None and gold.state.slots:
            belief = parse_state(cand.reasoning)
            if belief is not None:
                same = _beliefs(belief) == _beliefs(gold.state)
                out["state.belief_match"] = Outcome(float(same), same, soft=True)
        ref_len = message_tokens(gold)
        if ref_len:
            ratio = message_tokens(cand) / ref_len
            out["length.length_ratio"] = Outcome(ratio, ratio <= cfg.max_length_ratio)
        return out


def _beliefs(state: DialogState) -> dict[str | None, dict[str, str]]:
    """Slot values per frame as the state line writes them (lists joined by ``|``)."""

    def text(v: object) -> str:
        return "|".join(map(str, v)) if isinstance(v, list) else str(v)

    out = {state.domain: {k: text(v) for k, v in state.slots.items()}}
    out.update({name: {k: text(v) for k, v in f.slots.items()} for name, f in state.frames.items()})
    return out


def failed(outcomes: Outcomes, soft: bool = False) -> list[str]:
    """Names of the metrics that fail (hard ones only unless ``soft``)."""
    return sorted(n for n, o in outcomes.items() if not o.passed and (soft or not o.soft))


def separating(chosen: Outcomes, rejected: Outcomes, metrics: tuple[str, ...] | None = None) -> list[str]:
    """Metrics the rejected turn fails and the chosen turn does not (passes, or had nothing to check).

    With ``metrics`` only those are considered (a strategy's intended checks).
    """
    names = rejected if metrics is None else [m for m in metrics if m in rejected]
    out = []
    for name in names:
        r = rejected[name]
        c = chosen.get(name)
        if not r.passed and (c is None or c.passed):
            out.append(name)
    return sorted(out)
