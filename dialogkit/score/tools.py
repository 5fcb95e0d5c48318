"""Tool-call accuracy of dialog turns, with BFCL's AST semantics.

Each reference call becomes a BFCL possible answer: every argument's reference value is the one
acceptable value, a parameter whose tool spec declares a ``default`` may be omitted (``""``) or
given as that default, and ``ref.metadata["tool_answers"][<call id>]`` replaces the whole answer
with explicit BFCL-style acceptable lists (``{"city": ["Paris", "paris, fr"], "unit": ["c", ""]}``).
Types come from the dialog's tool specs (JSON Schema: ``number`` takes ints, ``integer`` does not
take floats); the checker is :mod:`dialogkit.score.ast_check`.

A turn is scored when the reference calls a tool or the prediction does. A call where none was
expected is BFCL's ``irrelevance_error:decoder_success``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from dialogkit.schema import Dialog, ToolCall
from dialogkit.score import ast_check
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, aligned_turns, mean_stat, meta


class ToolOptions(ScorerOptions):
    underscore_to_dot: bool = False


def functions_of(dialog: Dialog) -> list[dict[str, Any]]:
    """The dialog's tool specs as BFCL function descriptions."""
    return [{"name": t.function.name, "parameters": t.function.parameters} for t in dialog.tools]


def _acceptable(value: Any, prop: dict[str, Any]) -> list[Any]:
    declared = prop.get("type")
    if isinstance(value, dict) and declared in (None, "object", "dict"):
        return [{k: [v] for k, v in value.items()}]
    items = prop.get("items") or {}
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, dict) for v in value)
        and items.get("type")
        in (
            "object",
            "dict",
        )
    ):
        return [[{k: [v] for k, v in d.items()} for d in value]]
    return [value]


def answer_for(call: ToolCall, function: dict[str, Any] | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """A reference call as a BFCL possible answer ``{name: {param: [acceptable values]}}``."""
    if isinstance(overrides.get(call.id), dict):
        return {call.name: overrides[call.id]}
    params = (function or {}).get("parameters") or {}
    props = params.get("properties") or {}
    required = set(params.get("required") or [])
    answer: dict[str, list[Any]] = {}
    for name, value in call.arguments.items():
        prop = props.get(name) or {}
        answer[name] = _acceptable(value, prop)
        if name not in required and "default" in prop and prop["default"] == value:
            answer[name].append("")
    for name, prop in props.items():
        if name not in answer and isinstance(prop, dict) and "default" in prop and name not in required:
            answer[name] = [prop["default"], ""]
    return {call.name: answer}


def decoded(calls: list[ToolCall]) -> list[dict[str, dict[str, Any]]]:
    return [{c.name: dict(c.arguments)} for c in calls]


def check_turn(
    functions,
    ref_calls: list[ToolCall],
    pred_calls: list[ToolCall],
    overrides,
    underscore_to_dot: bool = False,
) -> ast_check.Verdict:
    """BFCL verdict for one turn: simple checking for one expected call, unordered for several."""
    if not ref_calls:
        if pred_calls:
            return ast_check.Verdict(
                False, "irrelevance_error:decoder_success", ["a tool was called; none expected"]
            )
        return ast_check.OK
    answers = [answer_for(c, ast_check.find_function(functions, c.name), overrides) for c in ref_calls]
    if len(ref_calls) == 1:
        return ast_check.check(
            "simple",
            [ast_check.find_function(functions, ref_calls[0].name)],
            decoded(pred_calls),
            answers,
            underscore_to_dot,
        )
    return ast_check.check("parallel", functions, decoded(pred_calls), answers, underscore_to_dot)


def match_calls(functions, ref_calls, pred_calls, overrides, underscore_to_dot: bool = False) -> int:
    """How many reference calls a distinct predicted call satisfies (greedy, as BFCL's parallel rule)."""
    claimed: set[int] = set()
    for ref in ref_calls:
        answer = answer_for(ref, ast_check.find_function(functions, ref.name), overrides)
        function = ast_check.find_function(functions, ref.name)
        for j, pred in enumerate(pred_calls):
            if (
                j not in claimed
                and ast_check.check_call(
                    function, {pred.name: dict(pred.arguments)}, answer, underscore_to_dot
                ).valid
            ):
                claimed.add(j)
                break
    return len(claimed)


class ToolCallScorer(BaseScorer):
    """Tool name accuracy, BFCL argument accuracy and call-level F1 per assistant turn."""

    name = "tools"
    version = "1"
    higher_is_better = True
    Options = ToolOptions
    metrics = (
        MetricSpec(
            "tool_call_accuracy",
            "ratio",
            True,
            "turns whose calls pass BFCL's AST check (names and arguments)",
        ),
        MetricSpec(
            "tool_name_accuracy",
            "ratio",
            True,
            "turns whose called tool names equal the reference's (multiset)",
        ),
        MetricSpec(
            "tool_arg_accuracy",
            "ratio",
            True,
            "calls with correct arguments among calls whose name was right",
        ),
        MetricSpec("tool_call_precision", "precision", True, "predicted calls that match a reference call"),
        MetricSpec("tool_call_recall", "recall", True, "reference calls matched by a predicted call"),
        MetricSpec("tool_call_f1", "f1", True, "F1 of call matching"),
    )

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        functions = functions_of(ref)
        overrides = meta(ref, "tool_answers") or {}
        utd = self.options.underscore_to_dot
        items = []
        for k, _, rm, _, pm in aligned_turns(pred, ref):
            ref_calls = rm.tool_calls
            pred_calls = pm.tool_calls if pm is not None else []
            if not ref_calls and not pred_calls:
                continue
            verdict = check_turn(functions, ref_calls, pred_calls, overrides, utd)
            names_ok = Counter(c.name for c in ref_calls) == Counter(c.name for c in pred_calls)
            tp = match_calls(functions, ref_calls, pred_calls, overrides, utd)
            same_name = sum(
                (Counter(c.name for c in ref_calls) & Counter(c.name for c in pred_calls)).values()
            )
            stats = {
                "tool_call_accuracy": mean_stat(verdict.valid),
                "tool_name_accuracy": mean_stat(names_ok),
                "tool_call_precision": [tp, len(pred_calls) - tp, len(ref_calls) - tp],
                "tool_call_recall": [tp, len(pred_calls) - tp, len(ref_calls) - tp],
                "tool_call_f1": [tp, len(pred_calls) - tp, len(ref_calls) - tp],
            }
            if same_name:
                stats["tool_arg_accuracy"] = [tp, same_name]
            info = {} if verdict.valid else {"error_type": verdict.error_type}
            if pm is None:
                info["missing_turn"] = True
            items.append(Item(ref.id, k, stats, info))
        return items
