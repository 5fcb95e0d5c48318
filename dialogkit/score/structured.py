"""Structured output: do JSON outputs and tool arguments parse, and do they fit their schema?

Counted outputs: every predicted tool call's arguments, and every predicted assistant text that
is meant to be JSON (the reference text is a JSON object/array, or the prediction starts with
``{``, ``[`` or a ```` ```json ```` fence). Arguments that were not valid JSON cannot be held in
a :class:`~dialogkit.schema.Dialog`; the runner records them in
``pred.metadata["score_unparsed_args"]`` (``[{"message", "call", "text"}]``) before parsing, and
they count as parse failures here. Schema validity checks arguments against the tool's
``parameters`` JSON Schema, and JSON texts against the ``output_schema`` option when given.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from dialogkit.errors import UsageError
from dialogkit.schema import Dialog
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, aligned_turns, meta

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


class StructuredOptions(ScorerOptions):
    output_schema: dict[str, Any] | str | None = None  # a JSON Schema, or the path of one


def parse_json_text(text: str) -> tuple[bool, Any]:
    """``(ok, value)`` for a JSON text, with an optional Markdown code fence around it."""
    body = text.strip()
    m = _FENCE.match(body)
    if m:
        body = m.group(1)
    try:
        return True, json.loads(body)
    except json.JSONDecodeError:
        return False, None


def is_json_turn(ref_text: str, pred_text: str) -> bool:
    ok, value = (
        parse_json_text(ref_text) if ref_text.strip()[:1] in "{[`" and ref_text.strip() else (False, None)
    )
    if ok and isinstance(value, (dict, list)):
        return True
    return pred_text.lstrip().startswith(("{", "[", "```json"))


@lru_cache(maxsize=256)
def _validator(schema_json: str):
    import jsonschema

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def schema_valid(value: Any, schema: dict[str, Any]) -> bool:
    """Whether ``value`` validates against ``schema`` (an invalid schema counts as not checkable: True)."""
    import jsonschema

    try:
        return _validator(json.dumps(schema, sort_keys=True)).is_valid(value)
    except jsonschema.SchemaError:
        return True


class StructuredOutputScorer(BaseScorer):
    name = "structured"
    version = "1"
    higher_is_better = True
    Options = StructuredOptions
    metrics = (
        MetricSpec("json_parse_rate", "ratio", True, "JSON outputs and tool arguments that parse"),
        MetricSpec(
            "schema_valid_rate",
            "ratio",
            True,
            "parsed tool arguments (and JSON outputs) valid against their schema",
        ),
    )

    def __init__(self, **options: Any):
        super().__init__(**options)
        schema = self.options.output_schema
        if isinstance(schema, str):
            try:
                schema = json.loads(Path(schema).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                raise UsageError(
                    f"scorer 'structured': output_schema {self.options.output_schema}: {e}"
                ) from None
        self.output_schema: dict[str, Any] | None = schema

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        specs = {t.function.name: t.function.parameters for t in ref.tools}
        unparsed: dict[int, set[int]] = {}
        for u in meta(pred, "score_unparsed_args") or []:
            unparsed.setdefault(u["message"], set()).add(u["call"])
        items = []
        for k, _, rm, pi, pm in aligned_turns(pred, ref):
            parsed = total = valid = checked = 0
            bad = unparsed.get(pi, set()) if pi is not None else set()
            for j, call in enumerate(pm.tool_calls if pm is not None else []):
                total += 1
                if j in bad:  # kept with empty arguments so names can still be scored
                    continue
                parsed += 1
                if specs:
                    checked += 1
                    valid += call.name in specs and schema_valid(call.arguments, specs[call.name])
            pred_text = pm.content if pm is not None else ""
            if is_json_turn(rm.content, pred_text):
                total += 1
                ok, value = parse_json_text(pred_text)
                parsed += ok
                if ok and self.output_schema is not None:
                    checked += 1
                    valid += schema_valid(value, self.output_schema)
            if not total:
                continue
            stats = {"json_parse_rate": [parsed, total]}
            if checked:
                stats["schema_valid_rate"] = [valid, checked]
            items.append(Item(ref.id, k, stats, {"unparsed_args": len(bad)} if bad else {}))
        return items
