"""Function-call checking with BFCL's AST semantics (Python category), reimplemented.

The rules follow ``bfcl_eval/eval_checker/ast_eval/ast_checker.py`` (gorilla, Apache-2.0)
exactly, including its quirks, because published BFCL numbers depend on them:

* a call is ``{name: {param: value}}``; an answer is ``{name: {param: [acceptable values]}}``
  and ``""`` among the acceptable values marks the parameter optional;
* types are checked against the function description with *exact* Python types (``True`` is
  not an integer); the only coercion is int -> float for ``float`` parameters; arrays check
  their items' types one level deep (without the int -> float coercion);
* a value whose type differs from the declared one but equals the answers' type is a
  "variable" and is compared by plain membership;
* strings compare after :func:`standardize_string`; lists must equal one acceptable list
  (order-sensitive); dicts key by key; everything else by membership (so ``1 == 1.0``);
* parallel calls match without order: each expected call claims the first unclaimed model call
  that passes.

Error types are BFCL's strings (``type_error:simple``, ``value_error:string`` ...).
dialogkit extensions (never triggered by BFCL's own data): JSON-Schema type names ``number``
and ``object`` are read as ``float`` and ``dict``, and a parameter without a usable declared
type takes the type of its first acceptable answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_ALIASES = {"number": "float", "object": "dict"}
_NESTED = ("array", "tuple")
_STANDARDIZE = re.compile(r"[ ,./\-_*^]")


@dataclass
class Verdict:
    """The outcome of checking one model output against its answer."""

    valid: bool
    error_type: str | None = None
    errors: list[Any] = field(default_factory=list)
    is_variable: bool = False


OK = Verdict(True)


def _fail(error_type: str, message: Any) -> Verdict:
    return Verdict(False, error_type, [message])


def standardize_string(text: str) -> str:
    """Delete spaces and ``,./-_*^``, lowercase, and turn ``'`` into ``"`` (BFCL's rule)."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def _answer_type(acceptable: list[Any]) -> type | None:
    for answer in acceptable:
        if answer != "":
            return type(answer)
    return None


def _type_name(details: dict[str, Any] | None, acceptable: list[Any]) -> str | None:
    raw = (details or {}).get("type")
    name = _ALIASES.get(raw, raw) if isinstance(raw, str) else None
    if name in PY_TYPES:
        return name
    inferred = _answer_type(acceptable)  # extension: no usable declared type
    for key, typ in PY_TYPES.items():
        if inferred is typ and key != "any":
            return key
    return None


def check_type(param: str, value: Any, acceptable: list[Any], type_name: str, nested: type | None) -> Verdict:
    """BFCL's ``type_checker`` (one level of nesting)."""
    expected = PY_TYPES[type_name]
    answer_type = _answer_type(acceptable)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return Verdict(True, is_variable=is_variable)
        nested_name = next(k for k, t in PY_TYPES.items() if t is nested)
        for answer in acceptable:
            if type(answer) is list and not all(
                check_type(param, item, answer, nested_name, None).valid for item in value
            ):
                continue
            return Verdict(True, is_variable=is_variable)
        if answer_type is not None and type(value) is answer_type:
            return _fail("type_error:nested", f"nested type check failed for {param!r}: {value!r}")
    elif answer_type is not None and type(value) is answer_type:
        return Verdict(True, is_variable=True)
    return _fail(
        "type_error:simple",
        f"incorrect type for {param!r}: expected {type_name}, got {type(value).__name__} ({value!r})",
    )


def _std(v: Any) -> Any:
    return standardize_string(v) if type(v) is str else v


def check_string(param: str, value: str, acceptable: list[Any]) -> Verdict:
    allowed = [standardize_string(a) for a in acceptable if type(a) is str]
    if standardize_string(value) not in allowed:
        return _fail(
            "value_error:string", f"invalid value for {param!r}: {value!r}; expected one of {acceptable}"
        )
    return OK


def check_list(param: str, value: list[Any], acceptable: list[Any]) -> Verdict:
    got = [_std(v) for v in value]
    # BFCL iterates each acceptable answer, so the optional marker "" becomes [].
    allowed = [[_std(v) for v in a] for a in acceptable if isinstance(a, (list, str))]
    if got not in allowed:
        return _fail(
            "value_error:list/tuple", f"invalid value for {param!r}: {value!r}; expected one of {acceptable}"
        )
    return OK


def _dict_against(value: dict[str, Any], answer: Any) -> Verdict:
    if not isinstance(answer, dict):
        return _fail("dict_checker:unclear", f"answer {answer!r} is not a dict")
    verdict = OK
    for key, item in value.items():
        if key not in answer:
            verdict = _fail("value_error:dict_key", f"unexpected dict key {key!r}")
            break
        if _std(item) not in [_std(a) for a in answer[key]]:
            verdict = _fail("value_error:dict_value", f"invalid value for dict key {key!r}: {item!r}")
            break
    # BFCL runs the missing-key pass even after a failure, and its error type wins.
    for key, allowed in answer.items():
        if key not in value and "" not in allowed:
            return _fail("value_error:dict_key", f"missing dict key {key!r}")
    return verdict


def check_dict(param: str, value: dict[str, Any], acceptable: list[Any]) -> Verdict:
    verdict = _fail("dict_checker:unclear", f"no acceptable dict for {param!r}")
    for answer in acceptable:
        if answer == "":
            continue
        verdict = _dict_against(value, answer)
        if verdict.valid:
            return OK
    return verdict


def check_list_of_dicts(param: str, value: list[Any], acceptable: list[Any]) -> Verdict:
    verdict = _fail("list_dict_checker:unclear", f"no acceptable list of dicts for {param!r}")
    for answer in acceptable:
        if len(value) != len(answer):
            verdict = _fail("value_error:list_dict_count", f"wrong number of dicts in {param!r}")
            continue
        for item, expected in zip(value, answer):
            verdict = check_dict(param, item, [expected])
            if not verdict.valid:
                break
        else:
            return OK
    return verdict


def _check_value(param: str, value: Any, acceptable: list[Any], details: dict[str, Any] | None) -> Verdict:
    type_name = _type_name(details, acceptable)
    if type_name is None:  # nothing to check the type against: membership only
        return (
            OK
            if value in acceptable
            else _fail("value_error:others", f"invalid value for {param!r}: {value!r}")
        )
    nested = None
    if type_name in _NESTED:
        items = (details or {}).get("items") or {}
        item_type = _ALIASES.get(items.get("type"), items.get("type"))
        nested = PY_TYPES.get(item_type) if isinstance(item_type, str) else None
    if type_name == "float" and type(value) is int:
        value = float(value)
    verdict = check_type(param, value, acceptable, type_name, nested)
    if not verdict.valid:
        return verdict
    expected = PY_TYPES[type_name]
    if not verdict.is_variable:
        if expected is dict:
            return check_dict(param, value, acceptable)
        if expected is list and nested is dict:
            return check_list_of_dicts(param, value, acceptable)
        if expected is str:
            return check_string(param, value, acceptable)
        if expected is list:
            return check_list(param, value, acceptable)
    if value not in acceptable:
        return _fail(
            "value_error:others", f"invalid value for {param!r}: {value!r}; expected one of {acceptable}"
        )
    return OK


def expected_name(name: str, underscore_to_dot: bool) -> str:
    """BFCL's ``convert_func_name``: models that cannot emit dots use underscores instead."""
    return name.replace(".", "_") if underscore_to_dot and "." in name else name


def check_call(
    function: dict[str, Any] | None,
    call: dict[str, dict[str, Any]],
    answer: dict[str, dict[str, list[Any]]],
    underscore_to_dot: bool = False,
) -> Verdict:
    """BFCL's ``simple_function_checker``: one model call against one expected call."""
    answer_name, acceptable_by_param = next(iter(answer.items()))
    function = function or {"name": answer_name, "parameters": {}}
    params = function.get("parameters") or {}
    properties = params.get("properties") or {}
    name = expected_name(function["name"], underscore_to_dot)
    if name not in call:
        return _fail(
            "simple_function_checker:wrong_func_name", f"function {name!r} not found in model output"
        )
    args = call[name]
    for param in params.get("required") or []:
        if param not in args:
            return _fail("simple_function_checker:missing_required", f"missing required parameter {param!r}")
    for param, value in args.items():
        # Without a declared schema (a dialog without tool specs) the answer alone decides.
        declared = param in properties or not properties
        if not declared or param not in acceptable_by_param:
            return _fail("simple_function_checker:unexpected_param", f"unexpected parameter {param!r}")
        verdict = _check_value(param, value, acceptable_by_param[param], properties.get(param))
        if not verdict.valid:
            return verdict
    for param, acceptable in acceptable_by_param.items():
        if param not in args and "" not in acceptable:
            return _fail(
                "simple_function_checker:missing_optional",
                f"optional parameter {param!r} not provided and not marked as optional",
            )
    return OK


def find_function(functions: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((f for f in functions if f.get("name") == name), None)


def check_parallel(functions, calls, answers, underscore_to_dot: bool = False) -> Verdict:
    """BFCL's ``parallel_function_checker_no_order``."""
    if len(calls) != len(answers):
        return _fail("parallel_function_checker_no_order:wrong_count", "wrong number of functions")
    claimed: set[int] = set()
    for i, answer in enumerate(answers):
        function = find_function(functions, next(iter(answer)))
        sub_errors = []
        for index, call in enumerate(calls):
            if index in claimed:
                continue
            verdict = check_call(function, call, answer, underscore_to_dot)
            if verdict.valid:
                claimed.add(index)
                break
            sub_errors.append(
                {"model_index": index, "error_type": verdict.error_type, "error": verdict.errors}
            )
        else:
            return Verdict(
                False,
                "parallel_function_checker_no_order:cannot_find_match",
                [f"no model call matches expected call {i}", *sub_errors],
            )
    return OK


def check_multiple(functions, calls, answers, underscore_to_dot: bool = False) -> Verdict:
    """BFCL's ``multiple_function_checker``: one call, chosen among several functions."""
    if len(calls) != len(answers):
        return _fail("multiple_function_checker:wrong_count", "wrong number of functions")
    function = find_function(functions, next(iter(answers[0])))
    return check_call(function, calls[0], answers[0], underscore_to_dot)


def check(category: str, functions, calls, answers, underscore_to_dot: bool = False) -> Verdict:
    """BFCL's ``ast_checker`` dispatch by category name (Python semantics)."""
    if "parallel" in category:
        return check_parallel(functions, calls, answers, underscore_to_dot)
    if "multiple" in category:
        return check_multiple(functions, calls, answers, underscore_to_dot)
    if len(calls) != 1:
        return _fail("simple_function_checker:wrong_count", "wrong number of functions")
    return check_call(functions[0] if functions else None, calls[0], answers[0], underscore_to_dot)
