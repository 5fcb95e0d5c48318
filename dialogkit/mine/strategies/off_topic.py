"""Off-topic replies: a fluent reply of the same kind (same language, same label when possible)
taken from another dialog of the input about another domain or intent, sharing none of this
dialog's slot values. It must fall below the ROUGE-L floor against the gold reply
(``text.rouge_l``, a soft check used only for this).
"""

from __future__ import annotations

import random

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, rejected_turn
from dialogkit.score.text import rouge_l

MAX_TRIES = 3
_SMALL_TALK = {"bye", "greet"}  # a goodbye from another dialog is still a fine goodbye
MIN_ROUGE_GAP = 0.3


class OffTopic(Strategy):
    name = "off_topic"
    description = "a fluent reply about something else, from another dialog"
    targets = ("text.rouge_l",)

    def propose(self, ctx: TurnContext, rng: random.Random) -> list[Negative] | None:
        gold = ctx.message
        if gold.tool_calls or not gold.content.strip() or ctx.expected in _SMALL_TALK:
            return None
        from dialogkit.mine.corpus import domain_of

        domain = domain_of(ctx.dialog)
        intent = (gold.state.active_intent if gold.state else None) or ""
        values = {
            str(v)
            for m in ctx.dialog.messages
            if m.role == "assistant" and m.state
            for v in m.state.slots.values()
        }
        pool = [
            r
            for r in ctx.corpus.replies
            if r.language == ctx.language
            and r.expected not in _SMALL_TALK
            and r.dialog_id != ctx.dialog.id
            and (r.domain != domain or (r.intent and r.intent != intent))
            and not any(v and v in r.text for v in values)
        ]
        same_label = [r for r in pool if r.expected == (ctx.expected or "")]
        pool = same_label or pool
        out = []
        for r in rng.sample(pool, len(pool)):
            if rouge_l(r.text, gold.content) < MIN_ROUGE_GAP:
                out.append(
                    Negative(
                        rejected_turn(gold, r.text), {"kind": "other_dialog", "from_dialog": r.dialog_id}
                    )
                )
                if len(out) == MAX_TRIES:
                    break
        return out or None
