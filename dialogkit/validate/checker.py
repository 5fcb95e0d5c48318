"""Everything one process checks about one record; duplicates are left to the parent."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from dialogkit.errors import Issue
from dialogkit.io import Raw, dumps
from dialogkit.schema import Dialog, dump
from dialogkit.validate.privacy import check_pii, redact_dialog
from dialogkit.validate.quality import Signature, check_copy_loops, signature
from dialogkit.validate.roles import check_roles
from dialogkit.validate.rules import all_rules, severity_of
from dialogkit.validate.state import check_state, load_domain_schema
from dialogkit.validate.structure import check_structure
from dialogkit.validate.tools import SchemaCache, check_tools


class ValidateConfig(BaseModel):
    """What ``dialogkit validate`` checks; the CLI options map onto these fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    disabled: frozenset[str] = frozenset()
    warn: frozenset[str] = Field(default=frozenset(), description="codes reported as warnings instead of errors")
    min_turns: int = Field(default=3, ge=0)
    near_threshold: float = Field(default=0.8, gt=0, le=1)
    domain_schema: str | None = None
    tokenizer: str | None = None
    max_length: int | None = Field(default=None, gt=0)
    redact: bool = False

    def group_on(self, group: str) -> bool:
        """Whether any code of ``group`` is still enabled (a disabled group is not even run)."""
        return any(r.code not in self.disabled for r in all_rules() if r.group == group)


class Result(NamedTuple):
    """One record's verdict from a worker: compact, so it pickles cheaply."""

    line: int
    id: str | None
    issues: list[Issue]
    sig: Signature | None
    redacted: bytes | None
    is_object: bool = True  # decoded to a JSON object (what --redact can copy)


class RecordChecker:
    """Checks records one by one; holds what is built once per process (schemas, tokenizer)."""

    def __init__(self, config: ValidateConfig, signatures: bool = True):
        """``signatures=False``: skip the duplicate signature (a caller checking one dialog alone)."""
        self.config = config
        self.schemas = SchemaCache()
        self.pii_cache: dict[str, Any] = {}
        self.domain = load_domain_schema(config.domain_schema) if config.domain_schema else None
        self.length = None
        if config.tokenizer and config.max_length:
            from dialogkit.validate.length import LengthChecker

            self.length = LengthChecker(config.tokenizer, config.max_length)
        self._severity = {r.code: severity_of(r.code, config.warn) for r in all_rules()}
        on = config.group_on
        self._roles, self._tools, self._pii = on("roles"), on("tools"), on("pii")
        self._loops = "COPY_LOOP" not in config.disabled
        self._dedup = signatures and any(c not in config.disabled for c in ("DUPLICATE_EXACT", "DUPLICATE_NEAR"))

    def check(self, raw: Raw) -> Result:
        where = raw.where()
        if raw.issue is not None:
            return Result(raw.line, None, [raw.issue.located(**where)], None, None, False)
        dialog, view, issues = check_structure(raw.data, where)
        if dialog is None or view is None:
            redacted = None
            if self.config.redact and isinstance(raw.data, dict):
                # Invalid records are copied too: redact whatever strings their messages hold.
                copy = redact_dialog(raw.data)
                redacted = dumps(copy) if copy != raw.data else None
            return Result(raw.line, where["record_id"], issues, None, redacted, isinstance(raw.data, dict))
        found: list[tuple[str, str | None, str]] = []
        emit = found.append
        cfg = self.config
        if self._roles:
            check_roles(view, emit, cfg.min_turns)
        if self._tools and (dialog.get("tools") or "c" in view.roles or "t" in view.roles):
            check_tools(dialog, self.schemas, emit, view.roles)
        if self._loops:
            check_copy_loops(view, emit)
        if self.domain is not None:
            check_state(dialog, self.domain, emit)
        has_pii = check_pii(view, emit, self.pii_cache) if self._pii or cfg.redact else False
        if self.length is not None:
            self.length.check(dialog, emit)
        disabled, severity = cfg.disabled, self._severity
        rid = where["record_id"]
        issues = [
            Issue(code, msg, raw.file, raw.line, rid, path, severity.get(code, "error"))
            for code, path, msg in found
            if code not in disabled
        ]
        redacted = dumps(redact_dialog(raw.data)) if has_pii and cfg.redact else None
        sig = signature(view) if self._dedup else None
        return Result(raw.line, where["record_id"], issues, sig, redacted)


def issue_from(code: str, path: str | None, message: str, raw_line: int, file: str, rid: Any, warn: frozenset[str]) -> Issue:
    """An issue found by the parent (duplicates), located like the others."""
    return Issue(code, message, file, raw_line, rid, path, severity_of(code, warn))


@lru_cache(maxsize=16)
def _checker(config: ValidateConfig) -> RecordChecker:
    # Built once per distinct config: compiled tool schemas and the PII cache are reused by
    # every dialog (a generator checks thousands per second).
    return RecordChecker(config, signatures=False)


_DEFAULT = ValidateConfig()


def validate_dialog(dialog: Dialog | dict[str, Any], config: ValidateConfig | None = None, *,
                    file: str | None = None, line: int | None = None) -> list[Issue]:
    """Every issue ``dialogkit validate`` reports for one dialog on its own.

    The same rules and codes as :func:`validate_file` (structure, roles, tools, state, copy
    loops, PII, length) with ``config``; duplicate rules (``DUPLICATE_*``, ``ID_DUPLICATE``)
    compare dialogs with each other, so they are not run here. Warnings are included: filter on
    ``issue.severity == "error"`` for a keep/reject decision.

    Args:
        dialog: a :class:`~dialogkit.schema.Dialog`, or its JSON form as a dict (checked as is,
            so schema errors come back as issues instead of exceptions).
        config: what to check (default: ``ValidateConfig()``, the CLI defaults).
        file: file name to locate the issues with, if the dialog was read from one.
        line: 1-based line of the dialog in ``file``.

    Returns:
        The issues, in the order the rules found them; empty when the dialog is clean.
    """
    data = dump(dialog) if isinstance(dialog, Dialog) else dialog
    raw = Raw(file, line, data)  # type: ignore[arg-type]  # Issue accepts an unknown file
    return _checker(config if config is not None else _DEFAULT).check(raw).issues
