"""Facts not supported by the tool result: one number or name the reply took from a tool result is
replaced by another plausible one that appears nowhere in the context (a price off by a little,
another venue's name from elsewhere in the input). The groundedness scorer must flag it.
"""

from __future__ import annotations

import json
import random

from dialogkit.mine.corpus import scalars
from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, pick, rejected_turn
from dialogkit.score.grounding import _NUMBER, entities, numbers

_STEPS = (1, 2, 3, 5, 10)


def _number_text(old: str, value: float) -> str:
    decimals = len(old.split(".")[1]) if "." in old else 0
    text = f"{value:.{decimals}f}"
    if "," in old and decimals == 0:
        text = f"{int(value):,}"
    return text


def _number_edits(text: str, tool_nums: set[float], ctx_nums: set[float], rng: random.Random):
    out = []
    for m in _NUMBER.finditer(text):
        old = m.group()
        try:
            value = float(old.replace(",", ""))
        except ValueError:
            continue
        if value not in tool_nums or value == 0:
            continue  # only facts the tool result gave (a number the user said is not the tool's)
        # A small, plausible change: a 4-star hotel becomes 3- or 5-star, not 9-star.
        steps = [s for s in _STEPS if s <= max(1.0, 0.25 * abs(value))]
        for step in rng.sample(steps, len(steps)):
            new = value + step if rng.random() < 0.5 or value - step <= 0 else value - step
            if new not in ctx_nums and new not in numbers(text):
                out.append(("number", m.start(), m.end(), old, _number_text(old, new)))
                break
    return out


def _tool_text(ctx: TurnContext) -> str:
    return "\n".join(
        m.content if isinstance(m.content, str) else json.dumps(m.content, ensure_ascii=False)
        for m in ctx.tool_results()
    )


def _name_edits(ctx: TurnContext, text: str, context: str, rng: random.Random):
    """Replace a string the reply copied from a tool result by another value of the same result field."""
    lower = context.lower()
    out = []
    for m in ctx.tool_results():
        for key, value in scalars(m.content):
            if not isinstance(value, str) or len(value) < 2 or value not in text:
                continue
            if value not in entities(text):
                continue  # not a claim the groundedness scorer checks (a code, a lowercase word)
            others = [
                v
                for v in ctx.corpus.result_values.get(key, [])
                if isinstance(v, str) and v.lower() not in lower and v not in text
            ]
            if others:
                start = text.index(value)
                out.append(("name", start, start + len(value), value, pick(rng, others)))
    return out


class Hallucination(Strategy):
    name = "hallucination"
    description = "one number or name from the tool result replaced by an unsupported one"
    targets = ("groundedness.grounded_rate",)

    def propose(self, ctx: TurnContext, rng: random.Random) -> list[Negative] | None:
        gold = ctx.message
        if gold.tool_calls or not gold.content.strip() or not ctx.tool_results():
            return None
        context = ctx.context_text()
        said = "\n".join(m.content for m in ctx.history if m.role in ("user", "system"))
        tool_nums = numbers(_tool_text(ctx)) - numbers(said)
        edits = _number_edits(gold.content, tool_nums, numbers(context), rng)
        edits += _name_edits(ctx, gold.content, context, rng)
        kinds = sorted({e[0] for e in edits})
        out = []
        for kind in rng.sample(kinds, len(kinds)):  # one edit per kind, in seeded order
            _, start, end, old, new = pick(rng, [e for e in edits if e[0] == kind])
            text = gold.content[:start] + new + gold.content[end:]
            out.append(Negative(rejected_turn(gold, text), {"kind": kind, "from": old, "to": new}))
        return out or None
