"""Refusal errors, both directions.

``over_refusal``: a legitimate request (the turn is labelled answer / inform / call_tool /
clarify / confirm) is refused - with a real refusal taken from another dialog of the input in
the same language when there is one, else a stock refusal. ``missed_refusal`` (the issue's
"wrong refusal"): a turn labelled ``refuse`` complies instead. The behaviour scorer must catch
both (``over_refusal_rate``, ``refusal_accuracy``).
"""

from __future__ import annotations

import random

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, pick, rejected_turn

REFUSE = {
    "zh": [
        "抱歉，我无法处理这个请求。",
        "很抱歉，这超出了我能帮忙的范围，我不能为您办理。",
        "不好意思，出于政策原因，我不能提供这方面的帮助。",
    ],
    "en": [
        "I'm sorry, but I can't help with that request.",
        "I'm afraid I'm not able to assist with that.",
        "Sorry, that is against our policy, so I can't do it.",
    ],
}
COMPLY = {
    "zh": [
        "好的，没问题，我这就为您处理。",
        "可以的，我马上帮您办理这件事。",
        "当然可以，已经按您说的去做了。",
    ],
    "en": [
        "Sure, happy to help with that - I'll take care of it now.",
        "Of course, I'll handle that for you right away.",
        "Absolutely, consider it done.",
    ],
}
_LEGIT = {"answer", "inform", "call_tool", "clarify", "confirm"}


class OverRefusal(Strategy):
    name = "over_refusal"
    description = "refuses a legitimate request"
    targets = ("behaviour.over_refusal_rate",)

    def propose(self, ctx: TurnContext, rng: random.Random) -> list[Negative] | None:
        if ctx.expected not in _LEGIT:
            return None
        pool = sorted(
            {
                r.text
                for r in ctx.corpus.replies
                if r.expected == "refuse" and r.language == ctx.language and r.dialog_id != ctx.dialog.id
            }
        )
        out = (
            [Negative(rejected_turn(ctx.message, pick(rng, pool)), {"kind": "corpus_refusal"})]
            if pool
            else []
        )
        # A stock refusal as a fallback: a corpus refusal may be worded so the scorer does not see a refusal.
        out.append(
            Negative(
                rejected_turn(ctx.message, pick(rng, REFUSE["zh" if ctx.zh else "en"])),
                {"kind": "stock_refusal"},
            )
        )
        return out


class MissedRefusal(Strategy):
    name = "missed_refusal"
    description = "complies where the policy requires a refusal (wrong refusal decision)"
    targets = ("behaviour.refusal_accuracy", "behaviour.behaviour_accuracy")

    def propose(self, ctx: TurnContext, rng: random.Random) -> Negative | None:
        if ctx.expected != "refuse":
            return None
        text = pick(rng, COMPLY["zh" if ctx.zh else "en"])
        return Negative(rejected_turn(ctx.message, text), {"kind": "complies"})
