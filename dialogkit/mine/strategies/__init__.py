"""Negative strategies, one module per family, in a registry plugins extend.

A plugin registers a class under the entry-point group ``dialogkit.mine_strategies``::

    [project.entry-points."dialogkit.mine_strategies"]
    wrong_unit = "mypkg.mine:WrongUnit"

The class has ``name``, ``description``, ``targets`` (metrics that must catch the edit),
``must_pass`` and ``propose(ctx, rng) -> Negative | None`` (see :mod:`.base`).
"""

from __future__ import annotations

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext
from dialogkit.registry import Registry

STRATEGIES: Registry[type[Strategy]] = Registry("mine strategy", "dialogkit.mine_strategies")
for _name, _target in {
    "wrong_tool_args": "dialogkit.mine.strategies.wrong_args:WrongToolArgs",
    "wrong_state": "dialogkit.mine.strategies.wrong_state:WrongState",
    "missing_tool_call": "dialogkit.mine.strategies.missing_call:MissingToolCall",
    "hallucination": "dialogkit.mine.strategies.hallucination:Hallucination",
    "skipped_clarification": "dialogkit.mine.strategies.clarify:SkippedClarification",
    "over_refusal": "dialogkit.mine.strategies.refusal:OverRefusal",
    "missed_refusal": "dialogkit.mine.strategies.refusal:MissedRefusal",
    "verbose": "dialogkit.mine.strategies.verbose:Verbose",
    "repetitive": "dialogkit.mine.strategies.repetitive:Repetitive",
    "off_topic": "dialogkit.mine.strategies.off_topic:OffTopic",
    "broken_json": "dialogkit.mine.strategies.broken_json:BrokenJson",
}.items():
    STRATEGIES.register(_name, _target)

__all__ = ["STRATEGIES", "Negative", "Strategy", "TurnContext"]
