"""Preference pairs for DPO-style training: rule-based negatives verified by the scorers, and
on-policy pairs sampled from a model and ranked by the same scorers (and optionally an LLM judge).

Every pair shares the exact history of its source dialog and differs only in one assistant turn;
a rule-based rejected turn must fail a scorer metric that the chosen turn passes.
"""

from dialogkit.mine.runner import MineConfig, MineReport, mine_file
from dialogkit.mine.strategies import STRATEGIES

__all__ = ["STRATEGIES", "MineConfig", "MineReport", "mine_file"]
