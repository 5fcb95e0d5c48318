"""A wrong belief: one slot value of the state the turn writes in its reasoning, the action kept.

For data whose assistant turns write their dialog state into the reasoning (``state domain:
intent; slot=value``, :mod:`dialogkit.generate.state_text`, what ``synth`` and the demo train
on), a trained model's wrong tool arguments start there: it writes a wrong value into its state
and then copies it faithfully into the call (docs/mining.md). This negative says another value
of one slot - a date, weekday or time shifted, an integer +/- 1, or another value of that slot
seen in the input - where the gold reasoning states it, and keeps the gold text and calls. The
pair first differs at the wrong belief. What follows in the rejected turn is the gold action,
which that belief does not lead to; a rejected turn that copied its wrong belief faithfully into
the call would instead teach a preference loss "do not copy your state". (Measured on the
demo's model, DPO on these pairs did not improve tool calls either: docs/mining.md.)
"""

from __future__ import annotations

import random
from typing import Any

from dialogkit.generate.state_text import parse_state
from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, pick, rejected_turn, retell
from dialogkit.mine.strategies.values import date_shifts, number_shifts


def _alternatives(ctx: TurnContext, slot: str, value: Any) -> list[Any]:
    out = [v for _, v in date_shifts(value)] if isinstance(value, str) else [v for _, v in number_shifts(value, {})]
    out += [v for v in ctx.corpus.slot_values.get(slot, []) if str(v) != str(value)]
    return list(dict.fromkeys(out))


class WrongState(Strategy):
    name = "wrong_state"
    description = "one slot value of the state written in the reasoning changed; text and calls kept"
    targets = ("state.belief_match",)

    def propose(self, ctx: TurnContext, rng: random.Random) -> Negative | None:
        gold = ctx.message
        if gold.state is None or not gold.state.slots or parse_state(gold.reasoning) is None:
            return None
        edits: dict[str, list[tuple[Any, Any, str]]] = {}
        for slot, value in gold.state.slots.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                continue
            for new in _alternatives(ctx, slot, value):
                # "slot=value" as format_state writes it: the edit lands on this slot's value only
                told = retell(gold.reasoning, {f"{slot}={value}": f"{slot}={new}"})
                if told is not None:
                    edits.setdefault(slot, []).append((value, new, told))
        if not edits:
            return None
        slot = pick(rng, sorted(edits))
        old, new, told = pick(rng, edits[slot])
        message = rejected_turn(gold, gold.content, list(gold.tool_calls)).model_copy(update={"reasoning": told})
        return Negative(message, {"kind": "wrong_belief", "slot": slot, "from": old, "to": new})
