"""Convert a dialog file from one format to another, streaming, with located rejects.

``convert_file`` reads the source with its converter, validates every record with
:func:`dialogkit.records.parse_dialog`, hands the good ones (lazily, so memory stays flat) to
the target converter, and keeps each bad one, with the reasons, in an optional rejects JSONL.
It never prints: the CLI prints the :class:`ConvertReport`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue, OutputError, RecordError, UsageError
from dialogkit.formats import FORMATS, Converter
from dialogkit.io import JsonlWriter, Raw, ensure_not_input, reject_record
from dialogkit.records import parse_dialog
from dialogkit.schema import Dialog, dump

MAX_ISSUES = 1000  # issues kept in the report; the count and the rejects file have them all


@dataclass
class ConvertReport:
    """What one conversion did."""

    input: str
    output: str
    src: str
    dst: str
    read: int = 0
    written: int = 0
    rejected: int = 0
    issues: list[Issue] = field(default_factory=list)
    issue_count: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    rejects: str | None = None

    def add_issues(self, issues: list[Issue], limit: int = MAX_ISSUES) -> None:
        self.issue_count += len(issues)
        room = limit - len(self.issues)
        if room > 0:
            self.issues.extend(issues[:room])

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``dialogkit convert --format json``."""
        return {
            "input": self.input,
            "output": self.output,
            "from": self.src,
            "to": self.dst,
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "dropped": dict(self.dropped),
            "issue_count": self.issue_count,
            "issues": [i.to_dict() for i in self.issues],
            "rejects": self.rejects,
        }


def get_converters(src: str, dst: str) -> tuple[Converter, Converter]:
    """The two converters, or a :class:`UsageError` saying which direction is impossible."""
    reader, writer = FORMATS.get(src), FORMATS.get(dst)
    if not reader.can_read:
        raise UsageError(f"format {src!r} cannot be read")
    if not writer.can_write:
        writable = ", ".join(n for n in FORMATS.names() if FORMATS.get(n).can_write)
        raise UsageError(f"format {dst!r} is import-only; write to one of: {writable}")
    return reader, writer


def split_options(reader: Converter, writer: Converter, options: dict[str, Any]) -> tuple[dict, dict]:
    """Options for the reader and for the writer; an option neither takes is a usage error."""
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    r_names = set(getattr(reader, "read_options", ()))
    w_names = set(getattr(writer, "write_options", ()))
    unknown = sorted(k for k in given if k not in r_names | w_names)
    if unknown:
        opts = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise UsageError(f"{opts} does not apply to --from {reader.name} --to {writer.name}")
    return ({k: v for k, v in given.items() if k in r_names}, {k: v for k, v in given.items() if k in w_names})


def convert_file(
    inp: str | Path,
    out: str | Path,
    src: str,
    dst: str,
    *,
    rejects: str | Path | None = None,
    max_issues: int = MAX_ISSUES,
    **options: Any,
) -> ConvertReport:
    """Convert ``inp`` (format ``src``) to ``out`` (format ``dst``).

    Args:
        inp: source file (or folder, for formats that read folders: sgd, multiwoz, hf).
        out: target path; written atomically, never over ``inp``.
        src: source format name (see ``dialogkit.formats.FORMATS``).
        dst: target format name.
        rejects: optional JSONL file receiving every bad record with its issues.
        max_issues: how many issues the report keeps (all are counted).
        **options: format options, e.g. ``dataset_info``/``dataset`` (sharegpt, alpaca),
            ``schema`` (sgd, multiwoz), ``keep_extras`` (openai, sharegpt).

    Returns:
        A :class:`ConvertReport`; ``rejected > 0`` means some records were bad.

    Raises:
        UsageError: unknown format, import-only target, an option the formats do not take.
        InputError: the input cannot be read at all.
        OutputError: ``out`` or ``rejects`` would overwrite an input.
    """
    reader, writer = get_converters(src, dst)
    read_opts, write_opts = split_options(reader, writer, options)
    inp, out = Path(inp), Path(out)
    ensure_not_input(out, [inp])
    if rejects is not None:
        ensure_not_input(rejects, [inp])
        if Path(rejects).resolve() == out.resolve():
            raise OutputError(f"{rejects}: the rejects file cannot be the output")
    report = ConvertReport(str(inp), str(out), src, dst, rejects=None if rejects is None else str(rejects))
    with ExitStack() as stack:
        rej = stack.enter_context(JsonlWriter(rejects)) if rejects is not None else None

        def reject(raw: Raw, issues: list[Issue]) -> None:
            report.rejected += 1
            report.add_issues(issues, max_issues)
            if rej is not None:
                rej.write(reject_record(raw, issues))

        good = _validated(reader.read(inp, **read_opts), writer, report, reject)
        written = writer.write(good, out, **write_opts)
    report.written = written.written
    report.dropped = dict(written.dropped)
    return report


def _validated(raws: Iterator[Raw], writer: Converter, report: ConvertReport, reject: Any) -> Iterator[Dialog]:
    check = getattr(writer, "check", None)
    for raw in raws:
        report.read += 1
        if raw.issue is not None:
            reject(raw, [raw.issue])
            continue
        try:
            dialog = parse_dialog(raw.data, **raw.where())
        except RecordError as e:
            reject(raw, e.issues)
            continue
        if check is not None:
            issues = [i.located(**raw.where()) for i in check(dialog)]
            if issues:
                reject(Raw(raw.file, raw.line, dump(dialog)), issues)
                continue
        yield dialog
