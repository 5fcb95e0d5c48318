"""Every code ``dialogkit validate`` can report: severity, group and meaning, in one registry.

Codes are a contract (tools outside the project match on them), so they live here once and
``docs/validate.md`` and ``--list-rules`` are generated from the same table. Structural codes
come from :mod:`dialogkit.records` / :mod:`dialogkit.io`: a record that does not parse cannot
be checked further, so those cannot be disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dialogkit.errors import Severity, UsageError
from dialogkit.registry import Registry


@dataclass(frozen=True, slots=True)
class Rule:
    """One stable code: what it means and how bad it is by default."""

    code: str
    severity: Severity
    group: str
    description: str

    @property
    def can_disable(self) -> bool:
        return self.group != "structure"


RULES: Registry[Rule] = Registry("validation rule")

_TABLE: list[tuple[str, Severity, str, str]] = [
    # structure: from the reader and the schema (dialogkit.io / dialogkit.records)
    ("JSON_INVALID", "error", "structure", "the line is not valid JSON"),
    ("JSON_TRUNCATED", "error", "structure", "the line ends in the middle of a JSON value"),
    ("UTF8_INVALID", "error", "structure", "the line is not valid UTF-8"),
    ("TYPE_WRONG", "error", "structure", "a field has the wrong type (e.g. content that is not a string)"),
    ("FIELD_MISSING", "error", "structure", "a required field is missing (e.g. a tool message's tool_call_id)"),
    ("FIELD_UNKNOWN", "error", "structure", "a field the schema does not know (misspelled?)"),
    ("ROLE_UNKNOWN", "error", "structure", "a message role other than system, user, assistant, tool"),
    ("ROLE_MISSING", "error", "structure", "a message without a role"),
    ("TOOL_ARGS_NOT_JSON", "error", "structure", "tool-call arguments are a string that is not JSON"),
    ("TOOL_ARGS_NOT_OBJECT", "error", "structure", "tool-call arguments are JSON but not an object"),
    ("VALUE_EMPTY", "error", "structure", "a field that must not be empty is empty (id, tool name ...)"),
    ("VALUE_INVALID", "error", "structure", "a value outside the allowed literals"),
    ("SCHEMA_INVALID", "error", "structure", "any other schema violation"),
    # roles and order
    ("DIALOG_EMPTY", "error", "roles", "no user or assistant message at all"),
    ("ASSISTANT_EMPTY", "error", "roles", "an assistant turn with no text and no tool calls"),
    ("LAST_NOT_ASSISTANT", "error", "roles", "the dialog does not end with an assistant reply (nothing to learn at the end)"),
    ("ROLE_ORDER", "error", "roles", "user/assistant alternation broken outside a tool sequence"),
    ("SYSTEM_MID_DIALOG", "warning", "roles", "a system message after the conversation started"),
    # tools
    ("TOOL_UNDECLARED", "error", "tools", "a call to a tool that is not declared in `tools`"),
    ("TOOL_NAME_DUPLICATE", "error", "tools", "two declared tools share a name"),
    ("TOOL_SCHEMA_INVALID", "error", "tools", "a declared tool's parameters are not a valid JSON Schema"),
    ("TOOL_ARGS_SCHEMA", "error", "tools", "call arguments violate the tool's parameters JSON Schema"),
    ("TOOL_CALL_ID_DUPLICATE", "error", "tools", "two calls in one dialog share an id"),
    ("TOOL_CALL_UNANSWERED", "error", "tools", "a call with no tool result before the next assistant or user message"),
    ("TOOL_RESULT_NO_ID", "error", "tools", "a tool result with an empty tool_call_id"),
    ("TOOL_RESULT_ORPHAN", "error", "tools", "a tool result whose tool_call_id no earlier call made"),
    ("TOOL_RESULT_NAME", "error", "tools", "a tool result named differently from the call it answers"),
    ("TOOL_RESULT_DUPLICATE", "error", "tools", "a second tool result for a call that already has one"),
    # dialog state against a domain schema (--domain-schema)
    ("STATE_DOMAIN_UNKNOWN", "error", "state", "a state frame for a service/domain the schema does not have"),
    ("STATE_INTENT_UNKNOWN", "error", "state", "an active or goal intent the service does not have"),
    ("STATE_SLOT_UNKNOWN", "error", "state", "a slot (state, requested or goal) the service does not have"),
    ("STATE_VALUE_INVALID", "error", "state", "a categorical slot value outside its possible values"),
    # quality
    ("FEW_TURNS", "warning", "quality", "fewer user turns than --min-turns (default 3): little multi-turn signal"),
    ("COPY_LOOP", "error", "quality", "an assistant reply repeats the previous one verbatim (or an earlier one a third time), or loops on itself"),
    ("DUPLICATE_EXACT", "error", "quality", "the same messages as an earlier dialog (the first is kept)"),
    ("DUPLICATE_NEAR", "error", "quality", "mostly the same turns as an earlier dialog (the first is kept)"),
    ("ID_DUPLICATE", "error", "quality", "an id already used by an earlier dialog"),
    # personal data (dialogkit.pii)
    ("PII_EMAIL", "warning", "pii", "an e-mail address"),
    ("PII_PHONE", "warning", "pii", "a phone number (Chinese mobile/landline, international, NANP, national)"),
    ("PII_ID_CN", "warning", "pii", "a Chinese 18-digit resident ID number (checksum verified)"),
    ("PII_ID_US", "warning", "pii", "a US social security number"),
    ("PII_BANK_CARD", "warning", "pii", "a payment card number (issuer prefix and Luhn checksum verified)"),
    ("PII_IP", "warning", "pii", "an IPv4 or IPv6 address (loopback and unspecified excluded)"),
    # length (--tokenizer and --max-length)
    ("TOO_LONG", "error", "length", "longer than --max-length tokens with the chat template; says how many turns truncation drops"),
    ("TEMPLATE_ERROR", "error", "length", "the tokenizer's chat template cannot render the dialog"),
]
for _code, _sev, _group, _desc in _TABLE:
    RULES.register(_code, Rule(_code, _sev, _group, _desc))

GROUPS = ("structure", "roles", "tools", "state", "quality", "pii", "length")


def all_rules() -> list[Rule]:
    """Every rule, in documentation order."""
    return [RULES.get(code) for code, *_ in _TABLE]


def split_codes(values: Iterable[str]) -> list[str]:
    """``("A,B", "C")`` -> ``["A", "B", "C"]``: options may be repeated or comma lists."""
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def resolve_codes(values: Iterable[str], option: str = "--disable") -> frozenset[str]:
    """Codes named by the user, checked: unknown codes and structural ones are usage errors.

    A group name (``pii``, ``quality`` ...) stands for all of its codes.
    """
    out: set[str] = set()
    for code in split_codes(values):
        if code.lower() in GROUPS:
            group = code.lower()
            if group == "structure":
                raise UsageError(f"{option} {code}: structural codes cannot be changed")
            out.update(r.code for r in all_rules() if r.group == group)
            continue
        rule = RULES.get(code)  # UsageError with suggestions when unknown
        if not rule.can_disable:
            raise UsageError(
                f"{option} {code}: a structural code cannot be changed (the record does not parse, "
                "so nothing else can be checked)"
            )
        out.add(code)
    return frozenset(out)


def severity_of(code: str, demoted: frozenset[str] = frozenset()) -> Severity:
    """The severity a code is reported with; codes from readers that are not listed are errors."""
    if code in demoted:
        return "warning"
    return RULES.get(code).severity if code in RULES else "error"
