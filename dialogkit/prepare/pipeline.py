"""Dialogs in, rows out: the library entry points of ``dialogkit prepare``.

``prepare_dialogs`` works on Dialog objects in memory; ``prepare_file`` reads any format
dialogkit reads, spreads dialogs over worker processes, writes Parquet atomically and keeps
bad records (located issues) out of the output without stopping the good ones.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError, Issue, RecordError
from dialogkit.io import Raw, ensure_not_input, reject_record, write_jsonl
from dialogkit.prepare.check import check_row
from dialogkit.prepare.config import PrepareConfig, PrepareReport
from dialogkit.prepare.engine import Preparer
from dialogkit.prepare.pack import PackedRow, pack_rows
from dialogkit.prepare.rows import Row
from dialogkit.prepare.truncate import Summarizer
from dialogkit.records import parse_dialog
from dialogkit.schema import Dialog

_CHUNK = 32


def _tokenizer_class(path: Path) -> Any:
    """The class ``AutoTokenizer`` would pick, imported alone (``AutoTokenizer`` imports torch)."""
    import transformers

    try:
        name = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8")).get("tokenizer_class")
    except (OSError, ValueError):
        name = None
    for candidate in (name, name[:-4] if name and name.endswith("Fast") else None):
        if candidate:
            try:
                return getattr(transformers, candidate)
            except (AttributeError, ImportError):
                continue
    return None if name else transformers.PreTrainedTokenizerFast


def load_tokenizer(path: str | Path) -> Any:
    """A local tokenizer directory, loaded as ``AutoTokenizer`` would (offline, nothing downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{path}: no such tokenizer directory")
    try:
        cls = _tokenizer_class(p)
        if cls is None:
            from transformers import AutoTokenizer as cls  # an unusual class name: let transformers resolve it
        return cls.from_pretrained(str(p))
    except Exception as e:  # noqa: BLE001 - transformers raises many types for unreadable tokenizers
        raise InputError(f"{path}: cannot load a tokenizer: {type(e).__name__}: {e}") from e


def _fill_facts(report: PrepareReport, preparer: Preparer) -> None:
    report.template_tagged = preparer.tagged
    report.template_stable = preparer.stability.stable
    report.template_note = preparer.stability.reason
    report.piece_cache = preparer.encoder.cached


def process_dialog(
    preparer: Preparer, dialog: Dialog, report: PrepareReport, issues: list[Issue], where: dict[str, Any]
) -> list[Row]:
    """Rows of one dialog, counting into ``report``; its problems go to ``issues``, located."""
    report.dialogs += 1
    try:
        rows, warnings, stats = preparer.prepare(dialog)
    except RecordError as e:
        report.bad_dialogs += 1
        issues.extend(i.located(**where) for i in e.issues)
        return []
    issues.extend(w.located(**where) for w in warnings)
    if preparer.config.verify:
        for r in rows:
            bad = check_row(preparer, r)
            report.verify_failures += len(bad)
            issues.extend(i.located(**where) for i in bad)
    report.rows += len(rows)
    report.tokens += sum(len(r.input_ids) for r in rows)
    report.trained_tokens += sum(r.trained_tokens for r in rows)
    report.trained_turns += len({s.msg if s.msg < 0 else r.context.index[s.msg]  # type: ignore[union-attr]
                                 for r in rows for s in r.spans})
    report.truncated_dialogs += stats["truncated"]
    report.dropped_turns += stats["dropped_turns"]
    report.lost_trained_turns += stats["lost"]
    report.summaries += stats["summaries"]
    report.too_long += stats["too_long"]
    report.boundary_merges += stats["merges"]
    report.per_turn_dialogs += stats["per_turn"]
    report.unstable_dialogs += stats["unstable"]
    report.skipped_turns += stats["skipped"]
    return rows


def prepare_dialogs(
    dialogs: Iterable[Dialog],
    tokenizer: Any,
    config: PrepareConfig,
    chat_template: str | None = None,
    *,
    report: PrepareReport | None = None,
    issues: list[Issue] | None = None,
    summarizer: Summarizer | None = None,
) -> Iterator[Row | PackedRow]:
    """Rows with exact loss masks for ``dialogs`` (packed rows when ``config.pack``).

    Args:
        dialogs: validated dialogs.
        tokenizer: a fast ``transformers`` tokenizer.
        config: the options.
        chat_template: a Jinja template overriding the tokenizer's.
        report: counts are added here.
        issues: located problems are appended here (bad dialogs are skipped, not raised).
        summarizer: ``(dialog, dropped_messages) -> str | None`` for "recent turns + summary".
    """
    preparer = Preparer(tokenizer, config, chat_template, summarizer)
    report = report if report is not None else PrepareReport()
    issues = issues if issues is not None else []
    _fill_facts(report, preparer)
    rows = (r for d in dialogs for r in process_dialog(preparer, d, report, issues, {"record_id": d.id}))
    if not config.pack:
        yield from rows
        return
    packed, eff = pack_rows(list(rows), config.max_length or 0)
    report.packed_rows, report.packing_efficiency = len(packed), eff
    yield from packed


# ----------------------------------------------------------------------------------- files
_WORKER: Preparer | None = None


@dataclass
class _ChunkResult:
    rows: list[Row] = field(default_factory=list)
    report: PrepareReport = field(default_factory=PrepareReport)
    issues: list[Issue] = field(default_factory=list)
    bad: list[tuple[int, list[Issue]]] = field(default_factory=list)  # (position in chunk, issues)


def _run_chunk(chunk: list[tuple[str, int, Any]]) -> _ChunkResult:
    assert _WORKER is not None
    out = _ChunkResult()
    for pos, (file, line, data) in enumerate(chunk):
        where = {"file": file, "line": line}
        try:
            dialog = parse_dialog(data, **where)
        except RecordError as e:
            out.report.dialogs += 1
            out.report.bad_dialogs += 1
            out.bad.append((pos, e.issues))
            continue
        where["record_id"] = dialog.id
        before = len(out.issues)
        bad_before = out.report.bad_dialogs
        rows = process_dialog(_WORKER, dialog, out.report, out.issues, where)
        if out.report.bad_dialogs > bad_before:
            out.bad.append((pos, out.issues[before:]))
            del out.issues[before:]
        # compact for the trip to the parent; the audit trail (spans, context) stays here
        out.rows += [Row(array("i", r.input_ids), array("i", r.labels), r.dialog_id, r.turn) for r in rows]
    return out


def _chunks(raws: Iterable[Raw], bad: list[tuple[Raw, list[Issue]]]) -> Iterator[tuple[list[Raw], list[Any]]]:
    buf: list[Raw] = []
    for raw in raws:
        if not raw.ok:
            bad.append((raw, [raw.issue]))  # type: ignore[list-item]
            continue
        buf.append(raw)
        if len(buf) >= _CHUNK:
            yield buf, [(r.file, r.line, r.data) for r in buf]
            buf = []
    if buf:
        yield buf, [(r.file, r.line, r.data) for r in buf]


def _results(chunks: Iterator[tuple[list[Raw], list[Any]]], workers: int) -> Iterator[tuple[list[Raw], _ChunkResult]]:
    if workers <= 1:
        for raws, payload in chunks:
            yield raws, _run_chunk(payload)
        return
    import multiprocessing as mp

    pending: list[list[Raw]] = []

    def payloads() -> Iterator[list[Any]]:
        for raws, payload in chunks:
            pending.append(raws)
            yield payload

    # fork: workers inherit the loaded tokenizer and compiled template instead of reloading them
    with mp.get_context("fork").Pool(workers) as pool:
        for res in pool.imap(_run_chunk, payloads(), chunksize=1):
            yield pending.pop(0), res


@dataclass
class FileResult:
    report: PrepareReport
    issues: list[Issue]
    rejected: int


def prepare_file(
    in_path: str | Path,
    out_path: str | Path,
    tokenizer_path: str | Path,
    config: PrepareConfig,
    chat_template: str | None = None,
    *,
    fmt: str = "dialogkit",
    workers: int = 1,
    rejects: str | Path | None = None,
    summarizer: Summarizer | None = None,
) -> FileResult:
    """Prepare a dialog file into Parquet; bad records become issues (and rejects), never a crash."""
    from dialogkit.formats import read_raw
    from dialogkit.prepare.writer import RowWriter

    global _WORKER
    ensure_not_input(out_path, [in_path])
    if rejects is not None:
        ensure_not_input(rejects, [in_path])
    if workers > 1:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # forked workers share no tokenizer threads
    tokenizer = load_tokenizer(tokenizer_path)
    _WORKER = Preparer(tokenizer, config, chat_template, summarizer)
    report = PrepareReport()
    _fill_facts(report, _WORKER)
    issues: list[Issue] = []
    bad: list[tuple[Raw, list[Issue]]] = []
    kept: list[Row] = []
    try:
        with RowWriter(out_path, packed=config.pack) as writer:
            for raws, res in _results(_chunks(read_raw(in_path, fmt), bad), workers):
                report.merge(res.report)
                issues += res.issues
                bad += [(raws[pos], iss) for pos, iss in res.bad]
                if config.pack:
                    kept += res.rows
                else:
                    for r in res.rows:
                        writer.write(r)
            if config.pack:
                packed, eff = pack_rows(kept, config.max_length or 0)
                report.packed_rows, report.packing_efficiency = len(packed), eff
                for p in packed:
                    writer.write(p)
    finally:
        _WORKER = None
    report.dialogs += sum(1 for raw, _ in bad if not raw.ok)
    report.bad_dialogs += sum(1 for raw, _ in bad if not raw.ok)
    all_issues = sorted([i for _, iss in bad for i in iss] + issues, key=lambda i: (i.file or "", i.line or 0))
    if rejects is not None:
        write_jsonl(rejects, (reject_record(raw, iss) for raw, iss in bad))
    return FileResult(report, all_issues, len(bad))
