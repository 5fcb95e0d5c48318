"""Training data: dialogs -> prepared rows (``dialogkit.prepare``'s exact labels), pairs -> scored turns.

Bad records never stop a run: each becomes located issues and a rejects entry, the good records
are used. Tokenization is ``prepare``'s, never TRL's: SFT gets ``input_ids`` + ``labels`` rows (TRL
skips its own templating and label building when both columns exist), and preference pairs get
their prompt/continuation boundary from ``prepare``'s pair tokenizer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from dialogkit.errors import Issue, RecordError, UsageError
from dialogkit.formats import read_raw
from dialogkit.io import reject_record
from dialogkit.records import parse_dialog, parse_pair
from dialogkit.schema import Dialog, PreferencePair

MIN_FOR_HOLDOUT = 20


@dataclass
class Loaded:
    """Records parsed from one input, and what was wrong with the others."""

    records: list[Any] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    where: list[dict[str, Any]] = field(default_factory=list)  # file/line of each good record
    read: int = 0

    def counts(self) -> dict[str, int]:
        return {"records": self.read, "good": len(self.records), "bad": len(self.rejects)}

    def add_reject(self, raw: Any, issues: list[Issue]) -> None:
        self.issues.extend(issues)
        self.rejects.append(reject_record(raw, issues))


def _load(path: str, parse: Any, fmt: str = "dialogkit") -> Loaded:
    out = Loaded()
    for raw in read_raw(path, fmt):
        out.read += 1
        if not raw.ok:
            out.add_reject(raw, [raw.issue])
            continue
        try:
            out.records.append(parse(raw.data, file=raw.file, line=raw.line))
            out.where.append({"file": raw.file, "line": raw.line})
        except RecordError as e:
            out.add_reject(raw, e.issues)
    return out


def load_dialogs(path: str, fmt: str = "dialogkit") -> Loaded:
    """Dialogs of ``path`` in format ``fmt``; bad ones become issues, good ones are kept."""
    return _load(path, parse_dialog, fmt)


def load_pairs(path: str) -> Loaded:
    """Preference pairs (``PreferencePair`` JSONL/JSON/Parquet); bad ones become issues."""
    return _load(path, parse_pair)


def holdout(records: list[Any], fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """Split off ``fraction`` of records by a hash of their id (stable across runs and ranks).

    Small sets (< 20 records) or ``fraction == 0`` keep everything for training.
    """
    if fraction <= 0 or len(records) < MIN_FOR_HOLDOUT:
        return records, []

    def key(r: Any) -> str:
        return hashlib.sha256(f"{seed}:{r.id}".encode()).hexdigest()

    ranked = sorted(records, key=key)
    n_eval = max(1, round(len(records) * fraction))
    held = {id(r) for r in ranked[:n_eval]}
    return [r for r in records if id(r) not in held], [r for r in records if id(r) in held]


# ------------------------------------------------------------------------------------- SFT rows
@dataclass
class Prepared:
    """Tokenized SFT rows ready for TRL, plus prepare's report and issues."""

    input_ids: list[list[int]] = field(default_factory=list)
    labels: list[list[int]] = field(default_factory=list)
    seq_lengths: list[list[int]] | None = None  # set when prepare packed rows
    issues: list[Issue] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        return {
            "rows": len(self.input_ids),
            "tokens": sum(len(x) for x in self.input_ids),
            "trained_tokens": sum(sum(1 for t in lab if t != -100) for lab in self.labels),
            "prepare_report": self.report,
        }

    def to_dataset(self) -> Any:
        from datasets import Dataset

        cols: dict[str, Any] = {"input_ids": self.input_ids, "labels": self.labels}
        if self.seq_lengths is not None:
            cols["seq_lengths"] = self.seq_lengths
        return Dataset.from_dict(cols)


def prepare_config(options: dict[str, Any]) -> Any:
    """``PrepareConfig`` from the run's ``prepare`` mapping; a bad value is a usage error."""
    from pydantic import ValidationError

    from dialogkit.prepare import PrepareConfig

    try:
        return PrepareConfig(**options)
    except ValidationError as e:
        msgs = [f"prepare.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors(include_url=False)]
        raise UsageError("invalid config: " + "; ".join(msgs)) from None


def prepare_rows(dialogs: list[Dialog], tokenizer: Any, prepare_options: dict[str, Any],
                 chat_template: str | None = None, where: list[dict[str, Any]] | None = None) -> Prepared:
    """Run ``dialogkit.prepare`` over ``dialogs``; rows that train no token are left out.

    ``where`` (file/line per dialog) locates prepare's issues; a dialog prepare rejects goes to
    ``rejects`` with them, and the other dialogs are still used.
    """
    from dialogkit.prepare import PrepareReport, prepare_dialogs
    from dialogkit.schema import dump

    config = prepare_config(prepare_options)
    report, issues = PrepareReport(), []
    out = Prepared()
    for row in prepare_dialogs(dialogs, tokenizer, config, chat_template, report=report, issues=issues):
        if not any(t != -100 for t in row.labels):
            continue  # nothing to learn (e.g. a dialog whose assistant turns are all train=false)
        out.input_ids.append(list(row.input_ids))
        out.labels.append(list(row.labels))
        seq = getattr(row, "seq_lengths", None)
        if seq is not None:
            out.seq_lengths = out.seq_lengths if out.seq_lengths is not None else []
            out.seq_lengths.append(list(seq))
    out.report = report.to_dict()
    by_id = {d.id: (d, w) for d, w in zip(dialogs, where or [{}] * len(dialogs))}
    bad: dict[str, list[Issue]] = {}
    for issue in issues:
        d, w = by_id.get(issue.record_id or "", (None, {}))
        issue = issue.located(**w)
        out.issues.append(issue)
        if issue.severity == "error" and d is not None:
            bad.setdefault(d.id, []).append(issue)
    for rid, its in bad.items():
        d, w = by_id[rid]
        out.rejects.append({**w, "id": rid, "issues": [i.to_dict() for i in its], "record": dump(d)})
    return out


# ------------------------------------------------------------------------------ preference pairs
@dataclass
class ScoredPair:
    """One pair reduced to the turn that is scored: shared history as prompt, one assistant turn each."""

    id: str
    prompt: list[Any]
    chosen: list[Any]
    rejected: list[Any]
    tools: list[Any]
    where: dict[str, Any] = field(default_factory=dict)
    source: PreferencePair | None = None


def pair_reject(pair: PreferencePair, where: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    """A rejects-file entry for a pair that parsed but cannot be trained on."""
    from dialogkit.schema import dump

    return {**where, "id": pair.id, "issues": [i.to_dict() for i in issues], "record": dump(pair)}


def scored_turn(pair: PreferencePair, where: dict[str, Any] | None = None) -> ScoredPair | Issue:
    """Move the continuations' common prefix into the prompt and keep only the assistant turn that differs.

    A continuation may hold ``assistant(tool_calls) -> tool -> assistant``. Messages both sides share
    (an identical tool call and its result) are history, so they join the prompt; what is scored is
    the first assistant message where the sides differ, never a tool result.
    """
    chosen, rejected = list(pair.chosen), list(pair.rejected)
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    prompt = list(pair.prompt) + chosen[:n]
    c_rest, r_rest = chosen[n:], rejected[n:]
    if not c_rest or not r_rest:
        return Issue("PAIR_IDENTICAL", "chosen and rejected do not differ at any assistant turn",
                     record_id=pair.id, path="chosen" if not c_rest else "rejected")
    for side, rest in (("chosen", c_rest), ("rejected", r_rest)):
        if rest[0].role != "assistant":
            return Issue("PAIR_NOT_ASSISTANT", "the sides first differ at a tool result, not an assistant turn",
                         record_id=pair.id, path=f"{side}[{n}]")
    return ScoredPair(pair.id, prompt, c_rest[:1], r_rest[:1], list(pair.tools), dict(where or {}), pair)


class PairEncoder:
    """``prepare``'s boundary-exact continuation encoder, plus a length budget on the history.

    With ``max_length`` set, the oldest whole turns of the prompt are dropped (system messages
    kept) until prompt + the longer continuation fit, the same policy ``prepare`` applies to SFT.
    Chosen and rejected always share the same (trimmed) prompt.
    """

    def __init__(self, tokenizer: Any, prepare_options: dict[str, Any], chat_template: str | None = None):
        from dialogkit.prepare import ContinuationEncoder

        config = prepare_config(prepare_options)
        self.max_length = config.max_length
        self.encoder = ContinuationEncoder(tokenizer, chat_template, config.chat_template_kwargs)
        self.dropped_turns = 0

    def encode(self, pair: ScoredPair) -> dict[str, list[int]]:
        """``{"prompt_ids", "chosen_ids", "rejected_ids"}``; raises RecordError when it cannot fit."""
        from dialogkit.prepare.render import message_dict
        from dialogkit.prepare.truncate import split_turns

        prompt = [message_dict(m) for m in pair.prompt]
        turns = split_turns(prompt)
        for drop in range(max(1, len(turns.groups))):
            keep = turns.head + [i for g in turns.groups[drop:] for i in g]
            msgs = [prompt[i] for i in keep]
            c = self.encoder.encode(msgs, pair.chosen, pair.tools)
            r = self.encoder.encode(msgs, pair.rejected, pair.tools)
            longest = len(c.prompt_ids) + max(len(c.completion_ids), len(r.completion_ids))
            if self.max_length is None or longest <= self.max_length:
                self.dropped_turns += drop
                return {"prompt_ids": c.prompt_ids, "chosen_ids": c.completion_ids, "rejected_ids": r.completion_ids}
            if len(turns.groups) - drop <= 1:
                break
        raise RecordError([Issue("PAIR_TOO_LONG", f"does not fit max_length={self.max_length} "
                                 "even with only the last turn of history")])
