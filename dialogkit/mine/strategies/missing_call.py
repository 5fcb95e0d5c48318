"""A missing tool call: the assistant answers from imagination instead of calling the tool.

The rejected turn is the reply the gold dialog gives *after* the call's result (its facts are
now unsupported: the model could not have known them), or, when the call is the last thing
before the user speaks again, a claim that the action is done. The tool-call scorer must see
the missing call.
"""

from __future__ import annotations

import random

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, pick, rejected_turn

CLAIM_DONE = {
    "zh": [
        "好的，已经为您处理好了。",
        "没问题，已经帮您办好了，请放心。",
        "已为您查询并处理完毕，还有其他需要吗？",
    ],
    "en": [
        "Done! I've taken care of that for you.",
        "All set - that has been handled.",
        "I've looked into it and everything is sorted. Anything else?",
    ],
}


class MissingToolCall(Strategy):
    name = "missing_tool_call"
    description = "answers (from imagination) where a tool call is needed"
    targets = ("tools.tool_call_accuracy", "tools.tool_call_recall", "behaviour.behaviour_accuracy")

    def propose(self, ctx: TurnContext, rng: random.Random) -> Negative | None:
        gold = ctx.message
        if not gold.tool_calls:
            return None
        for m in ctx.later():
            if m.role == "user":
                break
            if m.role == "assistant" and m.content.strip() and not m.tool_calls:
                return Negative(
                    rejected_turn(gold, m.content),
                    {"kind": "answer_without_call", "skipped": [c.name for c in gold.tool_calls]},
                )
        text = pick(rng, CLAIM_DONE["zh" if ctx.zh else "en"])
        return Negative(
            rejected_turn(gold, text), {"kind": "claim_done", "skipped": [c.name for c in gold.tool_calls]}
        )
