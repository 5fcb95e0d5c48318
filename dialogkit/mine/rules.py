"""Rule-based negatives at one turn: every strategy proposes, the verifier decides.

A proposal is kept when the rejected turn fails one of the strategy's target metrics that the
chosen (gold) turn passes, and breaks none of its ``must_pass`` metrics. Otherwise it is dropped
and counted under a reason code (:data:`dialogkit.mine.stats.DROP_REASONS`).
"""

from __future__ import annotations

from typing import Any

from dialogkit.io import dumps
from dialogkit.mine.pairs import make_pair
from dialogkit.mine.stats import MineStats
from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, rng_for
from dialogkit.mine.verify import Outcomes, Verifier, failed, message_tokens, separating
from dialogkit.schema import PreferencePair, dump

MAX_PROPOSALS = 3


def _proposals(strategy: Strategy, ctx: TurnContext, seed: int) -> list[Negative]:
    got = strategy.propose(ctx, rng_for(seed, ctx.dialog.id, ctx.index, strategy.name))
    if got is None:
        return []
    return [got] if isinstance(got, Negative) else list(got)[:MAX_PROPOSALS]


class RuleMiner:
    """Runs the chosen strategies on each turn and verifies their proposals."""

    def __init__(
        self,
        strategies: list[Strategy],
        verifier: Verifier,
        stats: MineStats,
        *,
        seed: int = 0,
        length_match: float | None = None,
        strict_chosen: bool = False,
        max_per_turn: int | None = None,
    ):
        self.strategies = strategies
        self.verifier = verifier
        self.stats = stats
        self.seed = seed
        self.length_match = length_match
        self.strict_chosen = strict_chosen
        self.max_per_turn = max_per_turn

    def mine_turn(self, ctx: TurnContext, where: dict[str, Any]) -> list[PreferencePair]:
        gold = ctx.message
        chosen_out: Outcomes | None = None
        accepted: list[tuple[Strategy, Negative, Outcomes]] = []
        seen = {dumps(dump(gold))}
        for strategy in self.strategies:
            kind = strategy.name
            try:
                proposals = _proposals(strategy, ctx, self.seed)
            except Exception as e:  # noqa: BLE001 - a plugin's bug must not stop the run; it is counted
                self.stats.drop(kind, "STRATEGY_ERROR", f"{type(e).__name__}: {e}")
                continue
            if not proposals:
                self.stats.not_applicable[kind] += 1
                continue
            self.stats.proposed[kind] += 1
            if chosen_out is None:
                chosen_out = self.verifier.evaluate(ctx.dialog, ctx.index, gold)
            if self.strict_chosen and failed(chosen_out):
                self.stats.drop(kind, "CHOSEN_NOT_CLEAN")
                continue
            reason = "NOT_VERIFIED"
            for neg in proposals:
                result = self._check(strategy, ctx, chosen_out, neg, seen)
                if isinstance(result, str):
                    reason = result
                    continue
                seen.add(dumps(dump(neg.message)))
                accepted.append((strategy, neg, result))
                break
            else:
                self.stats.drop(kind, reason)
        assert chosen_out is not None or not accepted
        return [self._pair(s, ctx, neg, chosen_out, out, where) for s, neg, out in self._cap(ctx, accepted)]

    def _check(
        self, strategy: Strategy, ctx: TurnContext, chosen_out: Outcomes, neg: Negative, seen: set[bytes]
    ) -> Outcomes | str:
        """The rejected turn's outcomes when it is a valid negative, else the drop reason."""
        key = dumps(dump(neg.message))
        if key == dumps(dump(ctx.message)):
            return "IDENTICAL"
        if key in seen:
            return "DUPLICATE"
        if self.length_match:
            c, r = message_tokens(ctx.message), message_tokens(neg.message)
            if c and not (1 / self.length_match <= r / c <= self.length_match):
                return "LENGTH_MISMATCH"
        out = self.verifier.evaluate(ctx.dialog, ctx.index, neg.message)
        if any(m in out and not out[m].passed for m in strategy.must_pass):
            return "BREAKS_MUST_PASS"
        if not separating(chosen_out, out, strategy.targets):
            both = [m for m in strategy.targets if m in out and not out[m].passed]
            return "CHOSEN_FAILS" if both else "NOT_VERIFIED"
        return out

    def _pair(
        self,
        strategy: Strategy,
        ctx: TurnContext,
        neg: Negative,
        chosen_out: Outcomes,
        rejected_out: Outcomes,
        where: dict[str, Any],
    ) -> PreferencePair:
        targets = separating(chosen_out, rejected_out, strategy.targets)
        others = [m for m in separating(chosen_out, rejected_out) if m not in targets]
        verified = [
            {
                "metric": m,
                "chosen": chosen_out[m].to_dict() if m in chosen_out else None,
                "rejected": rejected_out[m].to_dict(),
            }
            for m in targets
        ]
        pair = make_pair(
            ctx,
            ctx.message,
            neg.message,
            strategy.name,
            self.seed,
            where,
            method="rule",
            edit=neg.edit,
            verified_by=verified,
            also_fails=others,
        )
        self.stats.add_pair(
            strategy.name, ctx.k, message_tokens(ctx.message), message_tokens(neg.message), targets
        )
        return pair

    def _cap(self, ctx: TurnContext, accepted: list[Any]) -> list[Any]:
        if self.max_per_turn is None or len(accepted) <= self.max_per_turn:
            return accepted
        rng = rng_for(self.seed, ctx.dialog.id, ctx.index, "cap")
        keep = set(rng.sample(range(len(accepted)), self.max_per_turn))
        for i, (strategy, _, _) in enumerate(accepted):
            if i not in keep:
                self.stats.drop(strategy.name, "OVER_TURN_CAP")
        return [a for i, a in enumerate(accepted) if i in keep]
