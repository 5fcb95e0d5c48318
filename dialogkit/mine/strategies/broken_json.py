"""Broken JSON where structured output is expected.

A reply whose gold text is a JSON object or array gets one syntax error (truncated, a trailing
comma, single quotes); the structured scorer's ``json_parse_rate`` must fail it. A tool-call
turn is written the way a model that botches the call emits it - the Hermes/Qwen
``<tool_call>{...}</tool_call>`` block as text, with the JSON broken - which is also how
``dialogkit.generate`` keeps a call that does not parse.
"""

from __future__ import annotations

import json
import random
import re

from dialogkit.mine.strategies.base import Negative, Strategy, TurnContext, pick, rejected_turn
from dialogkit.score.structured import parse_json_text


def corrupt(text: str, kind: str) -> str:
    body = text.rstrip()
    if kind == "truncated":
        return body[:-1]
    if kind == "trailing_comma":
        return body[:-1].rstrip() + "," + body[-1]
    return body.replace('"', "'")  # single_quotes


KINDS = ("truncated", "trailing_comma", "single_quotes")
_FENCE = re.compile(r"^(```(?:json)?\s*)(.*?)(\s*```)$", re.S)


class BrokenJson(Strategy):
    name = "broken_json"
    description = "JSON output or a tool call's JSON with a syntax error"
    targets = ("structured.json_parse_rate", "structured.tool_call_json")

    def propose(self, ctx: TurnContext, rng: random.Random) -> Negative | None:
        gold = ctx.message
        kind = pick(rng, list(KINDS))
        if gold.tool_calls:
            j = rng.randrange(len(gold.tool_calls))
            blocks = []
            for i, c in enumerate(gold.tool_calls):
                body = json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False)
                blocks.append(f"<tool_call>\n{corrupt(body, kind) if i == j else body}\n</tool_call>")
            text = "\n".join([gold.content.strip(), *blocks]).strip()
            return Negative(
                rejected_turn(gold, text),
                {"kind": kind, "where": "tool_call", "call": gold.tool_calls[j].name},
            )
        ok, value = parse_json_text(gold.content)
        if not ok or not isinstance(value, (dict, list)):
            return None
        text = gold.content
        fence = _FENCE.match(text.strip())
        body = fence.group(2) if fence else text
        if kind == "single_quotes" and '"' not in body:
            kind = "truncated"
        broken = corrupt(body, kind)
        if fence:
            broken = f"{fence.group(1)}{broken}{fence.group(3)}"
        return Negative(rejected_turn(gold, broken), {"kind": kind, "where": "content"})
