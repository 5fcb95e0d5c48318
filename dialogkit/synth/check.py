"""Checks every synthesized dialog must pass before it is written.

The rules are ``dialogkit validate``'s own (:func:`dialogkit.validate.validate_dialog`): schema,
role order, declared tools, argument JSON Schemas, answered calls, orphan results, ending with an
assistant reply, copy loops. So whatever ``synth`` writes, ``validate`` accepts with no error.
Only *errors* reject: a synthesized dialog may have fewer user turns than ``--min-turns`` or
carry (fake) personal data, which ``validate`` reports as warnings.

On top of them, two checks only a generator needs: no empty user text, and no half-rendered
template (``{placeholder}``) in user or assistant text.
"""

from __future__ import annotations

from typing import Any

from dialogkit.errors import Issue
from dialogkit.schema import Dialog, dump
from dialogkit.validate import ValidateConfig, all_rules, resolve_codes, validate_dialog
from dialogkit.validate.tools import SchemaCache

# PII rules only warn, and the scenarios' customers have (fake) e-mails and phone numbers:
# scanning for them would cost time and reject nothing.
SYNTH_CONFIG = ValidateConfig(disabled=resolve_codes(["pii"]))
_SCHEMAS = SchemaCache()
# A dialog with one of these did not parse: the other rules did not run, and its texts cannot
# be read reliably either.
_STRUCTURE = frozenset(r.code for r in all_rules() if r.group == "structure")


def argument_errors(schema: dict[str, Any], arguments: Any) -> list[str]:
    """Messages for each way ``arguments`` break the JSON Schema ``schema`` (empty: valid).

    The same compiled validator ``validate`` uses (a fast accept-only path, then jsonschema
    for the exact message); the scenario database calls it before executing a call.
    """
    return [message for _, message in _SCHEMAS.get(schema).violations(arguments)]


def check_dialog(data: dict[str, Any] | Dialog, external: bool = True,
                 trusted_tools: list[dict[str, Any]] | None = None) -> list[Issue]:
    """The errors that keep one synthesized dialog out of the output (empty list: write it).

    ``external`` and ``trusted_tools`` are accepted for compatibility and ignored: the
    validate rules always run, and their compiled tool schemas are cached per process.
    """
    del external, trusted_tools
    issues = [i for i in validate_dialog(data, SYNTH_CONFIG) if i.severity == "error"]
    if any(i.code in _STRUCTURE for i in issues):
        return issues
    d = dump(data) if isinstance(data, Dialog) else data
    rid = str(d.get("id"))
    return issues + [i.located(record_id=rid) for i in _text_issues(d["messages"])]


def _text_issues(messages: list[dict[str, Any]]) -> list[Issue]:
    out = []
    for i, m in enumerate(messages):
        role, text = m.get("role"), m.get("content")
        if role not in ("user", "assistant") or not isinstance(text, str):
            continue
        if role == "user" and not text.strip():
            out.append(Issue("TEXT_EMPTY", "user message is empty", path=f"messages[{i}].content"))
        if "{" in text and "}" in text:
            out.append(Issue("TEMPLATE_LEFTOVER", "text still holds a {placeholder}", path=f"messages[{i}].content"))
    return out


def validate_tools(tools: list[dict[str, Any]]) -> list[Issue]:
    """Errors of a tools list: schema, duplicate names, invalid parameter schemas.

    Checked once per generator, so a bad scenario fails at load instead of in every dialog.
    """
    issues = validate_dialog({"id": "tools", "messages": [], "tools": tools}, SYNTH_CONFIG)
    return [i for i in issues if i.severity == "error" and (i.path or "").startswith("tools")]
