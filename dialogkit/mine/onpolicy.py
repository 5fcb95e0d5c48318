"""On-policy pairs: sample k turns from the policy at each gold history, rank them, keep best vs worse.

Ranking: the number of failed checks - scorers with a failing metric; the same scorers that
verify rule-based negatives, soft checks excluded - then of failed metrics, then, with a judge,
its 1-5 score. A sample is *clearly worse* than the best when it fails at least ``margin`` more
checks, or as many checks and the judge scores it at least
``judge_margin`` lower; when none is, the turn is a tie and dropped (``TIE``). Among the clearly
worse samples the rejected one is the *hardest* (best ranked) by default - argmin-reward negatives
are too easy - and, with equal rank, the one closest in length to the chosen. Ties for the best go
to the shorter sample, which works against length bias; ``length_match`` drops pairs whose
lengths differ by more than the ratio. When even the best sample fails a check and
``gold_fallback`` is on, the gold turn is chosen instead (it must pass every check). With
``edit_chosen``, a rejected sample that differs from the chosen only in values is paired with
itself corrected (:mod:`dialogkit.mine.minimal_edit`), if the correction passes every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dialogkit.generate.base import Backend, ChatRequest, GenerationConfig
from dialogkit.io import dumps
from dialogkit.mine.minimal_edit import minimal_edit
from dialogkit.mine.pairs import make_pair
from dialogkit.mine.stats import MineStats
from dialogkit.mine.strategies.base import TurnContext
from dialogkit.mine.verify import Outcomes, Verifier, failed, message_tokens, separating
from dialogkit.schema import AssistantMessage, PreferencePair, dump

KIND = "on_policy"


class OnPolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(4, ge=2, description="samples per turn")
    temperature: float = Field(0.8, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=1)
    batch_turns: int = Field(16, ge=1, description="turns sent to the policy at once")
    margin: int = Field(1, ge=1, description="more failed checks that make a sample clearly worse")
    judge_margin: float = Field(1.0, gt=0.0, description="judge points that make a sample clearly worse")
    pick_rejected: Literal["hardest", "worst"] = "hardest"
    gold_fallback: bool = True
    labels: list[str] | None = Field(None, description="only turns with these expected labels")
    edit_chosen: bool = Field(False, description="chosen = the rejected sample with its wrong values fixed, when "
                              "values are all that differ (see dialogkit.mine.minimal_edit)")


@dataclass
class Candidate:
    message: AssistantMessage
    outcomes: Outcomes
    failures: list[str]
    judge: float | None = None
    source: str = "policy"

    @property
    def failed_checks(self) -> int:
        """Scorers (checks) with a failing metric: a scorer reporting one error as several metrics
        (accuracy, recall, F1 ...) counts once."""
        return len({f.split(".", 1)[0] for f in self.failures})

    @property
    def rank(self) -> tuple[float, float, float]:
        return (-self.failed_checks, -len(self.failures), self.judge if self.judge is not None else 0.0)

    @property
    def length(self) -> int:
        return message_tokens(self.message)


class OnPolicyMiner:
    """Samples, scores and pairs; ``judge`` is a scorer with ``score(pred, ref)`` (e.g. ``JudgeScorer``)."""

    def __init__(
        self,
        backend: Backend,
        verifier: Verifier,
        config: OnPolicyConfig,
        stats: MineStats,
        *,
        seed: int = 0,
        judge: Any = None,
        length_match: float | None = None,
    ):
        self.backend = backend
        self.verifier = verifier
        self.config = config
        self.stats = stats
        self.seed = seed
        self.judge = judge
        self.length_match = length_match

    def wants(self, ctx: TurnContext) -> bool:
        return self.config.labels is None or (ctx.expected or "") in self.config.labels

    def mine(self, batch: list[tuple[TurnContext, dict[str, Any]]]) -> list[PreferencePair]:
        """Pairs for a batch of ``(turn, where)``; failures are counted, never raised."""
        if not batch:
            return []
        cfg = self.config
        requests = [ChatRequest(messages=list(ctx.history), tools=list(ctx.dialog.tools)) for ctx, _ in batch]
        gen = GenerationConfig(
            n=cfg.k,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_new_tokens=cfg.max_new_tokens,
            seed=self.seed,
            batch_size=max(1, cfg.batch_turns),
        )
        try:
            samples = self.backend.generate(requests, gen)
        except Exception as e:  # noqa: BLE001 - an endpoint/model failure loses this batch, not the run
            for _ in batch:
                self.stats.drop(KIND, "POLICY_ERROR", f"{type(e).__name__}: {e}")
            return []
        if len(samples) != len(batch):
            for _ in batch:
                self.stats.drop(
                    KIND, "POLICY_ERROR", f"policy returned {len(samples)} results for {len(batch)} requests"
                )
            return []
        out = []
        for (ctx, where), messages in zip(batch, samples, strict=True):
            pair = self._pair(ctx, where, messages)
            if pair is not None:
                out.append(pair)
        return out

    def _candidate(self, ctx: TurnContext, msg: AssistantMessage, source: str = "policy") -> Candidate:
        outcomes = self.verifier.evaluate(ctx.dialog, ctx.index, msg)
        judge = None
        if self.judge is not None:
            judge = self._judge(ctx, msg)
        return Candidate(msg, outcomes, failed(outcomes), judge, source)

    def _judge(self, ctx: TurnContext, msg: AssistantMessage) -> float | None:
        history = list(ctx.history)
        pred = ctx.dialog.model_copy(update={"messages": [*history, msg]})
        ref = ctx.dialog.model_copy(update={"messages": [*history, ctx.message]})
        for item in self.judge.score(pred, ref):
            stats = item.stats.get("user_satisfaction")
            if stats and stats[1]:
                return stats[0] / stats[1]
        return None

    def _distinct(self, ctx: TurnContext, messages: list[AssistantMessage]) -> list[Candidate]:
        seen: set[bytes] = set()
        out = []
        for m in messages:
            key = dumps(dump(m))
            if key not in seen:
                seen.add(key)
                out.append(self._candidate(ctx, m))
        return out

    def _worse(self, chosen: Candidate, c: Candidate) -> bool:
        extra = c.failed_checks - chosen.failed_checks
        if extra >= self.config.margin:
            return True
        if extra == 0 and chosen.judge is not None and c.judge is not None:
            return chosen.judge - c.judge >= self.config.judge_margin
        return False

    def _pair(
        self, ctx: TurnContext, where: dict[str, Any], messages: list[AssistantMessage]
    ) -> PreferencePair | None:
        cands = self._distinct(ctx, messages)
        best = min(cands, key=lambda c: (*(-x for x in c.rank), c.length)) if cands else None
        if (best is None or best.failures) and self.config.gold_fallback:
            gold = self._candidate(ctx, ctx.message, "reference")
            if not gold.failures:
                best = gold
        if best is None:
            self.stats.drop(KIND, "TOO_FEW_CANDIDATES")
            return None
        worse = [c for c in cands if c is not best and self._worse(best, c)]
        if not worse:
            few = len(cands) < 2 and best.source == "policy"
            self.stats.drop(KIND, "TOO_FEW_CANDIDATES" if few else "TIE")
            return None
        if self.length_match:
            worse = [
                c
                for c in worse
                if best.length and 1 / self.length_match <= c.length / best.length <= self.length_match
            ]
            if not worse:
                self.stats.drop(KIND, "LENGTH_MISMATCH")
                return None
        sign = -1 if self.config.pick_rejected == "hardest" else 1
        rejected = min(worse, key=lambda c: (*(sign * x for x in c.rank), abs(c.length - best.length)))
        if self.config.edit_chosen:
            edited = minimal_edit(rejected.message, best.message)
            if edited is not None:
                fixed = self._candidate(ctx, edited, "edited")
                if not fixed.failures and self._worse(fixed, rejected):
                    best = fixed
        return self._make(ctx, where, best, rejected, len(cands))

    def _make(
        self, ctx: TurnContext, where: dict[str, Any], chosen: Candidate, rejected: Candidate, n: int
    ) -> PreferencePair:
        metrics = separating(chosen.outcomes, rejected.outcomes)
        verified = [
            {
                "metric": m,
                "chosen": chosen.outcomes[m].to_dict() if m in chosen.outcomes else None,
                "rejected": rejected.outcomes[m].to_dict(),
            }
            for m in metrics
        ]
        if not metrics and chosen.judge is not None:
            metrics = ["judge.user_satisfaction"]
            verified = [
                {
                    "metric": metrics[0],
                    "chosen": {"value": chosen.judge},
                    "rejected": {"value": rejected.judge},
                }
            ]
        scores = {
            side: {"failed": c.failures, **({"judge": c.judge} if c.judge is not None else {})}
            for side, c in (("chosen", chosen), ("rejected", rejected))
        }
        pair = make_pair(
            ctx,
            chosen.message,
            rejected.message,
            KIND,
            self.seed,
            where,
            method="on_policy",
            chosen_source=chosen.source,
            samples=n,
            scores=scores,
            verified_by=verified,
            policy=getattr(self.backend, "name", None),
        )
        self.stats.add_pair(KIND, ctx.k, chosen.length, rejected.length, metrics)
        return pair
