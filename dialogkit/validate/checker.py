"""Everything one process checks about one record; duplicates are left to the parent."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from dialogkit.errors import Issue, RecordError
from dialogkit.io import Raw, dumps
from dialogkit.records import parse_dialog, record_id
from dialogkit.schema import Dialog, dump
from dialogkit.validate.privacy import check_pii, redact_dialog
from dialogkit.validate.quality import Signature, check_copy_loops, signature
from dialogkit.validate.roles import check_roles
from dialogkit.validate.rules import all_rules, severity_of
from dialogkit.validate.state import check_state, load_domain_schema
from dialogkit.validate.structure import check_structure, scan, view_of
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
    """One record's verdict: what :meth:`RecordChecker.check` returns."""

    line: int
    id: str | None
    issues: list[Issue]
    sig: Signature | None
    redacted: bytes | None
    is_object: bool = True  # decoded to a JSON object (what --redact can copy)


# A rule's finding before it becomes an Issue: (code, message, path, severity). Building an
# Issue (a frozen dataclass) costs more than most rules, so a file run keeps findings in this
# form and makes Issues only for what is printed or written; records that failed to parse
# carry their Issues as they are (their file, line and id can differ from the record's).
Finding = tuple[str, str, str | None, str]
# (line, id, findings or Issues, signature, redacted copy, is a JSON object, file): plain
# tuples, so they pickle cheaply across processes.
Packed = tuple[int, str | None, list[Any], Signature | None, bytes | None, bool, str]


def to_issue(f: Finding | Issue, file: str, line: int, rid: str | None) -> Issue:
    """The located Issue of a finding (an Issue is returned as it is)."""
    if type(f) is Issue:
        return f  # type: ignore[return-value]
    code, message, path, severity = f
    return Issue(code, message, file, line, rid, path, severity)  # type: ignore[arg-type]


def unpack(p: Packed) -> Result:
    """A packed verdict as a :class:`Result` with located Issues."""
    line, rid, found, sig, redacted, is_object, file = p
    return Result(line, rid, [to_issue(f, file, line, rid) for f in found], sig, redacted, is_object)


class RecordChecker:
    """Checks records one by one; holds what is built once per process (schemas, tokenizer)."""

    def __init__(self, config: ValidateConfig, signatures: bool = True, fast: bool = True):
        """``signatures=False``: skip the duplicate signature (a caller checking one dialog alone).

        ``fast=False`` takes the reference path for every record: pydantic decides the
        structure and builds the view, and the rules run without their shortcuts and caches.
        It gives exactly the same verdicts, several times slower (tests compare the two).
        """
        self.config = config
        self.fast = fast
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
        self._by_roles: dict[str, list[tuple[str, str | None, str]]] = {}
        self._dedup = signatures and any(c not in config.disabled for c in ("DUPLICATE_EXACT", "DUPLICATE_NEAR"))

    def check(self, raw: Raw) -> Result:
        """Every issue of one record (duplicates aside), with its signature and redacted copy."""
        return unpack(self.check_data(raw.file, raw.line, raw.data, raw.issue))

    def check_data(self, file: str, line: int, data: Any, issue: Issue | None = None) -> Packed:
        """:meth:`check` in packed form: ``data`` is the decoded record, ``issue`` why it could not be."""
        if issue is not None:
            return (line, None, [issue.located(file=file, line=line, record_id=record_id(data))], None, None, False, file)
        if not self.fast:
            return self._reference(file, line, data)
        view = scan(data)
        if view is not None:
            dialog, rid = data, data["id"]  # scan accepts only a non-empty string id
        else:
            rid = record_id(data)
            dialog, view, issues = check_structure(data, {"file": file, "line": line, "record_id": rid})
            if dialog is None or view is None:
                return self._invalid(file, line, rid, data, issues)
        found: list[tuple[str, str | None, str]] = []
        emit = found.append
        cfg = self.config
        if self._roles:
            # The role rules read the role string only, and files repeat a few shapes.
            by_roles = self._by_roles.get(view.roles)
            if by_roles is None:
                if len(self._by_roles) > 4096:
                    self._by_roles.clear()
                by_roles = self._by_roles[view.roles] = []
                check_roles(view, by_roles.append, cfg.min_turns)
            found.extend(by_roles)
        if self._tools and (dialog.get("tools") or "c" in view.roles or "t" in view.roles):
            check_tools(dialog, self.schemas, emit, view.roles, view.tools_key)
        if self._loops:
            check_copy_loops(view, emit)
        if self.domain is not None:
            check_state(dialog, self.domain, emit)
        has_pii = check_pii(view, emit, self.pii_cache) if self._pii or cfg.redact else False
        if self.length is not None:
            self.length.check(dialog, emit)
        if found:
            disabled, severity = cfg.disabled, self._severity
            findings = [(code, msg, path, severity.get(code, "error")) for code, path, msg in found if code not in disabled]
        else:
            findings = found  # type: ignore[assignment]
        redacted = dumps(redact_dialog(data)) if has_pii and cfg.redact else None
        sig = signature(view) if self._dedup else None
        return (line, rid, findings, sig, redacted, True, file)

    def _reference(self, file: str, line: int, data: Any) -> Packed:
        """:meth:`check_data` the slow, plain way (``fast=False``)."""
        rid = record_id(data)
        try:
            model = parse_dialog(data, file=file, line=line, record_id=rid)
        except RecordError as e:
            return self._invalid(file, line, rid, data, e.issues)
        dialog, view = dump(model), view_of(model)
        found: list[tuple[str, str | None, str]] = []
        emit = found.append
        cfg = self.config
        if self._roles:
            check_roles(view, emit, cfg.min_turns)
        if self._tools:
            check_tools(dialog, SchemaCache(), emit)
        if self._loops:
            check_copy_loops(view, emit, prefilter=False)
        if self.domain is not None:
            check_state(dialog, self.domain, emit)
        has_pii = check_pii(view, emit, None, rendered={}) if self._pii or cfg.redact else False
        if self.length is not None:
            self.length.check(dialog, emit)
        findings = [(code, msg, path, self._severity.get(code, "error")) for code, path, msg in found if code not in cfg.disabled]
        redacted = dumps(redact_dialog(data)) if has_pii and cfg.redact else None
        return (line, rid, findings, signature(view) if self._dedup else None, redacted, True, file)

    def _invalid(self, file: str, line: int, rid: str | None, data: Any, issues: list[Issue]) -> Packed:
        redacted = None
        if self.config.redact and isinstance(data, dict):
            # Invalid records are copied too: redact whatever strings their messages hold.
            copy = redact_dialog(data)
            redacted = dumps(copy) if copy != data else None
        return (line, rid, list(issues), None, redacted, isinstance(data, dict), file)


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
