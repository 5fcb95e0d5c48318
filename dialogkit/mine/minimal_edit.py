"""A minimal-edit chosen turn: the policy's own rejected sample with only its wrong values fixed.

An on-policy pair whose chosen is the gold turn (or another sample) differs from the rejected
one in wording, slot order and ids as well as in the mistake, and DPO pushes on every token that
differs. When the rejected sample has the chosen turn's shape - the same tool calls with the same
argument names, a state line with the same frames, intents and slots - and differs only in
values, the chosen can be that sample with the values corrected: the pair then differs exactly
where the policy erred (the state line's ``slot=value``, the call arguments, and the wrong value
where the sample's text repeats it).
"""

from __future__ import annotations

from typing import Any

from dialogkit.generate.state_text import parse_state
from dialogkit.mine.strategies.base import retell, value_pattern
from dialogkit.schema import AssistantMessage, DialogState


def _frames(state: DialogState) -> dict[str | None, Any]:
    out: dict[str | None, Any] = {state.domain: state}
    out.update(state.frames)
    return out


def _value_changes(wrong: str | None, right: str | None) -> dict[Any, Any] | None:
    """``{wrong value: right value}`` between two state lines of the same shape; None when their
    shapes differ (frames, intents, slot names, requested slots) or either is not a state line."""
    if wrong == right:
        return {}
    a, b = parse_state(wrong), parse_state(right)
    if a is None or b is None:
        return None
    fa, fb = _frames(a), _frames(b)
    if fa.keys() != fb.keys():
        return None
    changes: dict[Any, Any] = {}
    for name, x in fa.items():
        y = fb[name]
        if x.active_intent != y.active_intent or list(x.slots) != list(y.slots) or x.requested_slots != y.requested_slots:
            return None
        for slot, value in x.slots.items():
            if value != y.slots[slot]:
                if str(value) in changes and changes[str(value)] != str(y.slots[slot]):
                    return None  # one wrong value that should become two different ones
                changes[str(value)] = str(y.slots[slot])
    return changes


def _retell_present(text: str, changes: dict[Any, Any]) -> str | None:
    """``text`` with those wrong values that occur in it replaced (each must occur once)."""
    present = {old: new for old, new in changes.items() if value_pattern(old).search(text)}
    if not present:
        return text
    return retell(text, present)


def minimal_edit(rejected: AssistantMessage, chosen: AssistantMessage) -> AssistantMessage | None:
    """``rejected`` with the chosen turn's values in its state line, text and call arguments, or
    None when the two turns differ in more than values (or do not differ at all).

    The text stays the sample's own: a wrong value it repeats ("a table for 5?") is corrected,
    so a question stays a question on both sides and only the value is preferred.
    """
    if len(rejected.tool_calls) != len(chosen.tool_calls):
        return None
    calls = []
    for r, c in zip(rejected.tool_calls, chosen.tool_calls, strict=True):
        if r.name != c.name or r.arguments.keys() != c.arguments.keys():
            return None
        calls.append(r.model_copy(update={"arguments": {k: c.arguments[k] for k in r.arguments}}))
    changes = _value_changes(rejected.reasoning, chosen.reasoning)
    if changes is None:
        return None
    reasoning, content = rejected.reasoning, rejected.content
    if changes:
        reasoning = retell(rejected.reasoning, changes)
        content = _retell_present(content, changes) if content else content
        if reasoning is None or content is None:
            return None  # a wrong value that occurs twice: no single edit
    elif content.strip() != chosen.content.strip():
        return None  # the same belief, another text: not a value mistake
    update: dict[str, Any] = {"tool_calls": calls, "reasoning": reasoning, "content": content}
    if rejected.state is not None and changes:
        update["state"] = parse_state(reasoning)  # a parsed belief must say what the line now says
    edited = rejected.model_copy(update=update)
    return None if edited == rejected else edited
