"""Verbose replies: the gold reply wrapped in what a rambling assistant adds - a restatement of the
user's message, a recap of what it has on file, generic offers and disclaimers - until it is well
over the length ratio the ``length.length_ratio`` check allows. The facts stay the same, so the
only thing wrong is the verbosity.
"""

from __future__ import annotations

import random

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, rejected_turn
from dialogkit.mine.verify import message_tokens

OPEN = {
    "zh": "您好！非常感谢您的耐心。关于您刚才提到的“{user}”，我来为您详细说明一下。",
    "en": 'Thank you so much for reaching out and for your patience! Regarding your message ("{user}"), '
    "let me walk you through everything in detail.",
}
RECAP = {
    "zh": "为了方便您核对，我再把目前记录的信息复述一遍：{slots}。",
    "en": "To recap everything I have on file so far: {slots}.",
}
FILLER = {
    "zh": [
        "如果您对以上内容有任何疑问，欢迎随时告诉我。",
        "我们始终致力于为每一位用户提供贴心、周到的服务体验。",
        "请您放心，所有信息都会得到妥善处理和保护。",
        "另外温馨提示，具体情况可能会因实际安排而有所调整，敬请谅解。",
        "希望这些信息能对您有所帮助，祝您生活愉快、一切顺利！",
        "如果之后还需要进一步的协助，无论大小问题，我都很乐意继续为您服务。",
    ],
    "en": [
        "If you have any questions at all about the above, please don't hesitate to let me know.",
        "We are always committed to providing every customer with a smooth and pleasant experience.",
        "Please rest assured that all of your information is handled carefully and securely.",
        "As a friendly reminder, details may occasionally change depending on circumstances, "
        "so thank you for understanding.",
        "I really hope this information is helpful to you, and I wish you a wonderful day ahead!",
        "Should you need any further assistance in the future, big or small, "
        "I would be more than happy to help.",
    ],
}
TARGET_RATIO = 2.5
MIN_TOKENS = 6  # padding "Goodbye!" says nothing about verbosity
MAX_QUOTE = 120


class Verbose(Strategy):
    name = "verbose"
    description = "the same reply buried in restatements, recaps and filler"
    targets = ("length.length_ratio",)

    def propose(self, ctx: TurnContext, rng: random.Random) -> Negative | None:
        gold = ctx.message
        if gold.tool_calls or message_tokens(gold) < MIN_TOKENS:
            return None
        lang = "zh" if ctx.zh else "en"
        user = next((m.content for m in reversed(ctx.history) if m.role == "user"), "").strip()
        parts = [OPEN[lang].format(user=user)] if user and len(user) <= MAX_QUOTE else []
        parts.append(gold.content.strip())
        values = [
            str(v if not isinstance(v, list) else v[0])
            for v in (gold.state.slots if gold.state else {}).values()
        ]
        if values:
            parts.append(RECAP[lang].format(slots=("、" if ctx.zh else ", ").join(values)))
        fillers = rng.sample(FILLER[lang], len(FILLER[lang]))
        goal = TARGET_RATIO * message_tokens(gold)
        while fillers and message_tokens(rejected_turn(gold, self._join(parts, ctx.zh))) < goal:
            parts.append(fillers.pop())
        return Negative(
            rejected_turn(gold, self._join(parts, ctx.zh)), {"kind": "padded", "parts": len(parts)}
        )

    @staticmethod
    def _join(parts: list[str], zh: bool) -> str:
        return ("" if zh else " ").join(parts)
