"""Wrong tool arguments that still satisfy the tool's JSON Schema.

Exactly one argument of one call changes, to a value of the same kind: an enum neighbour, a date
or weekday +/- 1 day (a time +/- 1 hour), an integer +/- 1, another real value of the same
argument or slot seen elsewhere in the input (another city, another restaurant), or two string
arguments swapped (origin <-> destination). Everything else - the other arguments, the call id,
the text - is kept. The tool-call scorer (BFCL AST semantics) must reject it; the structured
scorer must still accept it (schema-valid).
"""

from __future__ import annotations

import random
import re
from typing import Any

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, pick, rejected_turn
from dialogkit.mine.strategies.values import date_shifts, enum_neighbours, number_shifts
from dialogkit.schema import ToolCall
from dialogkit.score.structured import schema_valid

_BFCL_STRIP = re.compile(r"[ ,./\-_*^]")


def _same_to_bfcl(a: Any, b: Any) -> bool:
    # BFCL standardises strings before comparing; an edit it cannot see is no negative.
    if isinstance(a, str) and isinstance(b, str):
        return _BFCL_STRIP.sub("", a).lower().replace("'", '"') == _BFCL_STRIP.sub("", b).lower().replace(
            "'", '"'
        )
    return a == b and type(a) is type(b)


def _edits(ctx: TurnContext, call: ToolCall, props: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Every ``(kind, argument, new value)`` one-argument edit, before the schema check."""
    sources = (ctx.annotation or {}).get("arg_sources") or {}
    out: list[tuple[str, str, Any]] = []
    for arg, value in call.arguments.items():
        prop = props.get(arg) if isinstance(props.get(arg), dict) else {}
        shifted = enum_neighbours(value, prop) or number_shifts(value, prop)
        if isinstance(value, str) and not prop.get("enum"):
            shifted += date_shifts(value)
        out += [(kind, arg, new) for kind, new in shifted]
        if isinstance(value, str) and not prop.get("enum") and not date_shifts(value):
            for other in ctx.corpus.values_for(call.name, arg, sources.get(arg)):
                if isinstance(other, str) and not _same_to_bfcl(other, value):
                    out.append(("other_entity", arg, other))
    # Swap only arguments that hold the same kind of value (origin/destination: both cities).
    strings = [a for a, v in call.arguments.items() if isinstance(v, str)]
    for i, a in enumerate(strings):
        for b in strings[i + 1 :]:
            va, vb = call.arguments[a], call.arguments[b]
            pool_a = ctx.corpus.values_for(call.name, a, sources.get(a))
            pool_b = ctx.corpus.values_for(call.name, b, sources.get(b))
            if not _same_to_bfcl(va, vb) and (va in pool_b or vb in pool_a):
                out.append(("swap", f"{a},{b}", None))
    return out


def _apply(call: ToolCall, arg: str, new: Any, kind: str) -> dict[str, Any]:
    args = dict(call.arguments)
    if kind == "swap":
        a, b = arg.split(",")
        args[a], args[b] = args[b], args[a]
    else:
        args[arg] = new
    return args


class WrongToolArgs(Strategy):
    name = "wrong_tool_args"
    description = (
        "one argument changed to another schema-valid value (enum neighbour, date +/-1, other entity, swap)"
    )
    targets = ("tools.tool_call_accuracy",)
    must_pass = ("structured.schema_valid_rate", "structured.json_parse_rate")

    def propose(self, ctx: TurnContext, rng: random.Random) -> Negative | None:
        gold = ctx.message
        if not gold.tool_calls:
            return None
        j = rng.randrange(len(gold.tool_calls))
        call = gold.tool_calls[j]
        spec = ctx.tool(call.name)
        params = spec.function.parameters if spec else {}
        edits = []
        for kind, arg, new in _edits(ctx, call, params.get("properties") or {}):
            args = _apply(call, arg, new, kind)
            if not spec or schema_valid(args, params):
                edits.append((kind, arg, new, args))
        if not edits:
            return None
        kind = pick(rng, sorted({e[0] for e in edits}))
        kind, arg, new, args = pick(rng, [e for e in edits if e[0] == kind])
        calls = list(gold.tool_calls)
        calls[j] = ToolCall(id=call.id, name=call.name, arguments=args)
        edit = {"kind": kind, "call": call.name, "argument": arg}
        if kind == "swap":
            a, b = arg.split(",")
            edit.update({"from": [call.arguments[a], call.arguments[b]], "to": [args[a], args[b]]})
        else:
            edit.update({"from": call.arguments[arg], "to": new})
        return Negative(rejected_turn(gold, gold.content, calls), edit)
