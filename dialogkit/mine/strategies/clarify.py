"""Skipped clarification: the assistant acts where it should ask.

Turns labelled ``clarify`` - required information is missing; with synth annotations only those
whose ``missing`` slots are non-empty (the goal really is underspecified): the rejected turn is
the call the gold dialog makes *later*, once the user has supplied the values - made now, with
the values the user has not given yet (invented) - or, when there is no such call, a reply that
goes ahead without asking.

Turns labelled ``confirm`` - everything is known, but the action (a booking, a payment) needs the
user's yes first: the rejected turn makes that later call now, unconfirmed, or goes ahead in text.

The behaviour scorer must see that no question was asked.
"""

from __future__ import annotations

import random

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, pick, rejected_turn

PROCEED = {
    "zh": ["好的，马上为您办理。", "没问题，我这就为您安排。", "收到，已经按您的要求开始处理了。"],
    "en": [
        "Sure, I'll take care of that right away.",
        "No problem, I'm arranging it for you now.",
        "Got it - I'm going ahead with that now.",
    ],
}


def _same_intent(a, b) -> bool:
    if a.state is None or b.state is None:
        return True
    return a.state.active_intent == b.state.active_intent


class SkippedClarification(Strategy):
    name = "skipped_clarification"
    description = ("acts (calls a tool with guessed values, or proceeds) although required slots are missing, "
                   "or before the user confirmed")
    targets = ("behaviour.behaviour_accuracy", "behaviour.clarify_rate", "behaviour.premature_call_rate")

    def propose(self, ctx: TurnContext, rng: random.Random) -> Negative | None:
        gold = ctx.message
        if ctx.expected not in ("clarify", "confirm") or gold.tool_calls:
            return None
        if ctx.expected == "confirm":
            return self._unconfirmed(ctx, rng)
        if ctx.annotation is not None and "missing" in ctx.annotation and not ctx.annotation["missing"]:
            return None
        context = ctx.context_text()
        for m in ctx.later():
            if m.role != "assistant" or not m.tool_calls:
                continue
            if not _same_intent(gold, m):
                break
            invented = sorted(
                {
                    f"{c.name}.{a}"
                    for c in m.tool_calls
                    for a, v in c.arguments.items()
                    if str(v) not in context
                }
            )
            if invented:
                return Negative(
                    rejected_turn(gold, "", list(m.tool_calls)),
                    {
                        "kind": "premature_call",
                        "invented": invented,
                        "missing": (ctx.annotation or {}).get("missing"),
                    },
                )
            break
        text = pick(rng, PROCEED["zh" if ctx.zh else "en"])
        return Negative(
            rejected_turn(gold, text),
            {"kind": "proceed_without_asking", "missing": (ctx.annotation or {}).get("missing")},
        )

    def _unconfirmed(self, ctx: TurnContext, rng: random.Random) -> Negative:
        gold = ctx.message
        for m in ctx.later():  # the call the user's yes leads to, made before it
            if m.role == "assistant" and m.tool_calls:
                if _same_intent(gold, m):
                    return Negative(rejected_turn(gold, "", list(m.tool_calls)),
                                    {"kind": "unconfirmed_call", "calls": [c.name for c in m.tool_calls]})
                break
        text = pick(rng, PROCEED["zh" if ctx.zh else "en"])
        return Negative(rejected_turn(gold, text), {"kind": "proceed_without_confirming"})
