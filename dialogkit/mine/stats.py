"""Counts of a mining run: pairs per type and per assistant turn, drops and why, length bias."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Why a proposed pair was not written. Stable: scripts match on these.
DROP_REASONS = {
    "NOT_VERIFIED": "the rejected turn passes every check that should catch it",
    "CHOSEN_FAILS": "the chosen turn fails the check too, so it does not separate the pair",
    "BREAKS_MUST_PASS": "the edit broke what it had to keep (e.g. wrong arguments no longer schema-valid)",
    "CHOSEN_NOT_CLEAN": "--strict-chosen: the chosen turn fails some check",
    "IDENTICAL": "the rejected turn equals the chosen turn",
    "DUPLICATE": "the same rejected turn was already paired at this turn",
    "LENGTH_MISMATCH": "--length-match: lengths differ by more than the allowed ratio",
    "OVER_TURN_CAP": "--max-per-turn: more pairs at this turn than allowed",
    "STRATEGY_ERROR": "the strategy raised an error",
    "TIE": "on-policy: no sample is clearly worse than the best",
    "TOO_FEW_CANDIDATES": "on-policy: fewer than two distinct samples",
    "POLICY_ERROR": "on-policy: the policy failed to generate",
}


@dataclass
class MineStats:
    dialogs: int = 0
    bad_records: int = 0
    turns: int = 0
    pairs: Counter = field(default_factory=Counter)  # negative type -> pairs
    by_turn: Counter = field(default_factory=Counter)  # assistant ordinal -> pairs
    proposed: Counter = field(default_factory=Counter)  # type -> turns where the strategy proposed
    not_applicable: Counter = field(default_factory=Counter)  # type -> turns it did not apply to
    drops: Counter = field(default_factory=Counter)  # (type, reason) -> count
    verified_by: Counter = field(default_factory=Counter)  # metric -> pairs it separated
    errors: dict[str, str] = field(default_factory=dict)  # type -> first error message
    lengths: dict[str, list[tuple[int, int]]] = field(
        default_factory=dict
    )  # type -> (chosen, rejected) tokens

    def drop(self, kind: str, reason: str, message: str | None = None) -> None:
        self.drops[(kind, reason)] += 1
        if message and kind not in self.errors:
            self.errors[kind] = message[:300]

    def add_pair(self, kind: str, turn: int, chosen_len: int, rejected_len: int, metrics: list[str]) -> None:
        self.pairs[kind] += 1
        self.by_turn[turn] += 1
        self.lengths.setdefault(kind, []).append((chosen_len, rejected_len))
        for m in metrics:
            self.verified_by[m] += 1

    @staticmethod
    def _lengths(pairs: list[tuple[int, int]]) -> dict[str, Any]:
        n = len(pairs)
        if not n:
            return {"pairs": 0}
        ratios = sorted(r / c for c, r in pairs if c)
        return {
            "pairs": n,
            "chosen_longer": round(sum(c > r for c, r in pairs) / n, 4),
            "rejected_longer": round(sum(r > c for c, r in pairs) / n, 4),
            "equal": round(sum(r == c for c, r in pairs) / n, 4),
            "mean_ratio": round(sum(ratios) / len(ratios), 4) if ratios else None,
            "median_ratio": round(ratios[len(ratios) // 2], 4) if ratios else None,
        }

    def length_summary(self) -> dict[str, Any]:
        """Length bias: shares of pairs whose chosen/rejected turn is longer, rejected/chosen ratio."""
        everything = [p for pairs in self.lengths.values() for p in pairs]
        out = self._lengths(everything)
        out["by_type"] = {k: self._lengths(v) for k, v in sorted(self.lengths.items())}
        return out

    def to_dict(self) -> dict[str, Any]:
        drops: dict[str, dict[str, int]] = {}
        for (kind, reason), n in sorted(self.drops.items()):
            drops.setdefault(kind, {})[reason] = n
        return {
            "dialogs": self.dialogs,
            "bad_records": self.bad_records,
            "assistant_turns": self.turns,
            "pairs": sum(self.pairs.values()),
            "pairs_by_type": dict(sorted(self.pairs.items())),
            "pairs_by_assistant_turn": {str(k): v for k, v in sorted(self.by_turn.items())},
            "proposed_by_type": dict(sorted(self.proposed.items())),
            "not_applicable_by_type": dict(sorted(self.not_applicable.items())),
            "drops": drops,
            "drop_reasons": {r: DROP_REASONS[r] for r in sorted({r for _, r in self.drops})},
            "verified_by": dict(sorted(self.verified_by.items())),
            "length": self.length_summary(),
            "errors": self.errors,
        }

    def rows(self) -> list[tuple[str, int, int, str]]:
        """``(type, pairs, proposed, drops by reason)`` per type, for the console table."""
        kinds = sorted(set(self.pairs) | set(self.proposed) | {k for k, _ in self.drops})
        out = []
        for kind in kinds:
            reasons = ", ".join(f"{r} {n}" for (k, r), n in sorted(self.drops.items()) if k == kind)
            out.append((kind, self.pairs[kind], self.proposed[kind], reasons))
        return out
