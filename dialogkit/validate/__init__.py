"""Find every defect in a dialog file: structure, roles, tools, state, quality, PII and length.

Each defect is an :class:`dialogkit.errors.Issue` with a stable code from :data:`RULES`;
:func:`validate_file` streams a file, writes clean and rejected copies, and returns a summary;
:func:`validate_dialog` checks one dialog in memory (what generators call before writing).
"""

from dialogkit.validate.checker import RecordChecker, Result, ValidateConfig, validate_dialog
from dialogkit.validate.rules import RULES, Rule, all_rules, resolve_codes
from dialogkit.validate.runner import Outputs, Summary, validate_file
from dialogkit.validate.state import DomainSchema, load_domain_schema

__all__ = [
    "RULES",
    "DomainSchema",
    "Outputs",
    "RecordChecker",
    "Result",
    "Rule",
    "Summary",
    "ValidateConfig",
    "all_rules",
    "load_domain_schema",
    "resolve_codes",
    "validate_dialog",
    "validate_file",
]
