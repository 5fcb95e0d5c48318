"""Dialogs in, rows out: the library entry points of ``dialogkit prepare``.

``prepare_dialogs`` works on Dialog objects in memory; ``prepare_file`` reads any format
dialogkit reads, spreads dialogs over worker processes, writes Parquet atomically and keeps
bad records (located issues) out of the output without stopping the good ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
from dialogkit.schema import Dialog


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
            from transformers import (
                AutoTokenizer as cls,  # an unusual class name: let transformers resolve it
            )
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
    from dialogkit.prepare import workers as wk
    from dialogkit.prepare.writer import RowWriter

    ensure_not_input(out_path, [in_path])
    if rejects is not None:
        ensure_not_input(rejects, [in_path])
    if workers > 1:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # forked workers share no tokenizer threads
    tokenizer = load_tokenizer(tokenizer_path)
    preparer = Preparer(tokenizer, config, chat_template, summarizer)
    report = PrepareReport()
    _fill_facts(report, preparer)
    issues: list[Issue] = []
    bad: list[tuple[Raw, list[Issue]]] = []
    kept: list[Row] = []
    # a plain .jsonl goes to the workers as undecoded lines: they decode it, the parent only splits
    items = wk.iter_lines(in_path) if wk.plain_jsonl(in_path, fmt) else read_raw(in_path, fmt)
    wk.install(preparer)
    try:
        # the pool first: workers start while the parent opens the output (pyarrow's import)
        with wk.pool(workers) as pool, RowWriter(out_path, packed=config.pack) as writer:
            for payload, res in wk.results(wk.chunks(items, bad), pool):
                report.merge(res.report)
                issues += res.issues
                failed = sorted([(pos, None) for pos in res.undecodable] + res.bad, key=lambda x: x[0])
                for pos, iss in failed:
                    raw = wk.as_raw(payload[pos])
                    bad.append((raw, iss if iss is not None else [raw.issue]))  # type: ignore[list-item]
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
        wk.install(None)
    report.dialogs += sum(1 for raw, _ in bad if not raw.ok)
    report.bad_dialogs += sum(1 for raw, _ in bad if not raw.ok)
    all_issues = sorted([i for _, iss in bad for i in iss] + issues, key=lambda i: (i.file or "", i.line or 0))
    if rejects is not None:
        write_jsonl(rejects, (reject_record(raw, iss) for raw, iss in bad))
    return FileResult(report, all_issues, len(bad))
