"""Repetitive replies: the assistant repeats its previous reply instead of moving on (a loop), or,
when it has said nothing before, repeats a sentence of its reply. The repetition checks
(``repetition.repeated_turn``, ``repetition.repeated_ngram_rate``) must catch it.
"""

from __future__ import annotations

import random
import re

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, rejected_turn
from dialogkit.score.text import tokens

_SENTENCE = re.compile(r"(?<=[。！？!?.])\s*")


class Repetitive(Strategy):
    name = "repetitive"
    description = "repeats the previous reply (a loop) or a sentence of the reply"
    targets = ("repetition.repeated_turn", "repetition.repeated_ngram_rate")

    def propose(self, ctx: TurnContext, rng: random.Random) -> list[Negative] | None:
        gold = ctx.message
        if gold.tool_calls or not gold.content.strip():
            return None
        out = []
        gold_norm = tokens(gold.content)
        for m in reversed(ctx.history):
            if m.role == "assistant" and m.content.strip() and not m.tool_calls:
                if tokens(m.content) != gold_norm:
                    out.append(Negative(rejected_turn(gold, m.content), {"kind": "repeat_previous_turn"}))
                break
        sentences = [s for s in _SENTENCE.split(gold.content.strip()) if s]
        if sentences:
            longest = max(sentences, key=lambda s: len(tokens(s)))
            sep = "" if ctx.zh else " "
            i = sentences.index(longest)
            text = sep.join(sentences[: i + 1] + [longest] + sentences[i + 1 :])
            out.append(Negative(rejected_turn(gold, text), {"kind": "repeat_sentence", "sentence": longest}))
        return out or None
