"""Typed errors and located issues.

Library code raises these (never prints or exits); only ``dialogkit.cli`` turns them into
messages and exit codes. An :class:`Issue` is one located defect in one record: the same
shape is used by convert, validate, synth and score so users learn one message format.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One defect, located as precisely as the input allows.

    ``line`` is the 1-based line of the record in ``file`` (row index + 1 for Parquet).
    ``path`` is the field inside the record, e.g. ``messages[3].tool_calls[0].arguments``.
    ``code`` is stable across releases: tools outside the project match on it.
    """

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    record_id: str | None = None
    path: str | None = None
    severity: Severity = "error"

    def format(self, noun: str = "record") -> str:
        """``file:line: record <id>: path: message (CODE)``, leaving out what is unknown."""
        parts = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.record_id is not None:
            parts.append(f"{noun} {self.record_id}")
        if self.path:
            parts.append(self.path)
        parts.append(f"{self.message} ({self.code})")
        return ": ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by ``--format json`` and rejects files."""
        d = asdict(self)
        d["id"] = d.pop("record_id")
        return d

    def located(self, **where: Any) -> Issue:
        """A copy with location fields filled in (only those still unknown)."""
        fields = {k: v for k, v in where.items() if getattr(self, k) is None}
        if not fields:
            return self
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(fields)
        return Issue(**d)


class DialogkitError(Exception):
    """Base class of every error dialogkit raises on purpose."""

    exit_code = 1


class UsageError(DialogkitError):
    """The command was asked for something impossible (unknown format, bad option combination)."""

    exit_code = 2


class InputError(DialogkitError):
    """An input cannot be read at all (missing file, unreadable folder layout)."""


class OutputError(DialogkitError):
    """An output cannot be written (would overwrite an input, no permission)."""


class RecordError(DialogkitError):
    """One record is bad; carries the located issues so callers can reject it and go on."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("; ".join(i.format() for i in issues))


class NotBuiltError(DialogkitError):
    """A command of the product that is not implemented yet."""

    exit_code = 2


class MissingDependencyError(DialogkitError):
    """An optional dependency (an extra) is needed for this command."""

    exit_code = 2

    def __init__(self, package: str, extra: str):
        super().__init__(
            f"this needs the '{package}' package: pip install 'dialogkit[{extra}]'"
        )
