"""``mine IN --out PAIRS``: read dialogs twice (value pools, then mining), write pairs atomically.

Bad records become located issues (and rows of the rejects file); every good dialog is still
mined. Each assistant turn (not marked ``train: false``) is offered to every selected strategy and,
with a policy, sampled on-policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dialogkit.errors import Issue, RecordError, UsageError
from dialogkit.formats import read_raw
from dialogkit.io import AtomicWriter, JsonlWriter, dumps, ensure_not_input, reject_record
from dialogkit.mine.corpus import Corpus, language_of
from dialogkit.mine.onpolicy import OnPolicyConfig, OnPolicyMiner
from dialogkit.mine.rules import RuleMiner
from dialogkit.mine.stats import MineStats
from dialogkit.mine.strategies import STRATEGIES
from dialogkit.mine.strategies.base import Strategy, TurnContext
from dialogkit.mine.trl_format import pair_to_trl
from dialogkit.mine.verify import Verifier, VerifyConfig
from dialogkit.records import parse_dialog
from dialogkit.schema import Dialog, PreferencePair, dump


class MineConfig(BaseModel):
    """Everything ``mine`` does, as one validated object (the CLI builds it from its options)."""

    model_config = ConfigDict(extra="forbid")

    strategies: list[str] | None = Field(None, description="strategy names; None = every registered one")
    seed: int = 0
    input_format: str = "dialogkit"
    output_format: Literal["dialogkit", "trl"] = "dialogkit"
    trl_arguments: Literal["string", "object"] = "string"
    length_match: float | None = Field(
        None, gt=1.0, description="max rejected/chosen length ratio (and inverse)"
    )
    max_per_turn: int | None = Field(None, ge=1)
    strict_chosen: bool = False
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    onpolicy: OnPolicyConfig | None = None


@dataclass
class MineReport:
    pairs: int = 0
    issues: list[Issue] = field(default_factory=list)
    stats: MineStats = field(default_factory=MineStats)
    out: str = ""

    @property
    def bad_records(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")


def resolve_strategies(names: list[str] | None) -> list[Strategy]:
    """Instances of the named strategies (all when ``None``); unknown names are usage errors."""
    chosen = STRATEGIES.names() if names is None else names
    out = []
    for name in dict.fromkeys(chosen):
        cls = STRATEGIES.get(name)
        obj = cls() if isinstance(cls, type) else cls
        if not getattr(obj, "name", None):
            raise UsageError(f"mine strategy {name!r} has no name")
        out.append(obj)
    return out


def iter_dialogs(
    path: str | Path, fmt: str, issues: list[Issue] | None = None, rejects: list[dict[str, Any]] | None = None
) -> Iterator[tuple[Dialog, dict[str, Any]]]:
    """Good dialogs with their location; bad records go to ``issues``/``rejects`` when given."""
    for raw in read_raw(path, fmt):
        if not raw.ok:
            if issues is not None:
                issues.append(raw.issue)  # type: ignore[arg-type]
            if rejects is not None:
                rejects.append(reject_record(raw, [raw.issue]))  # type: ignore[list-item]
            continue
        try:
            dialog = parse_dialog(raw.data, **raw.where())
        except RecordError as e:
            if issues is not None:
                issues.extend(e.issues)
            if rejects is not None:
                rejects.append(reject_record(raw, e.issues))
            continue
        yield dialog, {"file": raw.file, "line": raw.line}


def turns(dialog: Dialog, corpus: Corpus) -> Iterator[TurnContext]:
    """Every trainable assistant turn of a dialog, with its synth annotation when there is one."""
    extra = dialog.metadata.model_extra or {}
    notes = {a.get("message"): a for a in extra.get("annotations") or [] if isinstance(a, dict)}
    lang = language_of(dialog)
    k = -1
    for i, m in enumerate(dialog.messages):
        if m.role != "assistant":
            continue
        k += 1
        if m.train is False:
            continue
        yield TurnContext(dialog, i, k, lang, corpus, notes.get(i))


class _Sink:
    """Writes pairs in the chosen format and counts them."""

    def __init__(self, writer: JsonlWriter, config: MineConfig):
        self.writer = writer
        self.config = config

    def write(self, pairs: list[PreferencePair]) -> None:
        for p in pairs:
            if self.config.output_format == "trl":
                self.writer.write(pair_to_trl(p, self.config.trl_arguments))
            else:
                self.writer.write(dump(p))


def mine_file(
    path: str | Path,
    out: str | Path,
    config: MineConfig | None = None,
    *,
    stats_path: str | Path | None = None,
    rejects_path: str | Path | None = None,
    backend: Any = None,
    judge: Any = None,
) -> MineReport:
    """Mine ``path`` into ``out``; ``backend`` (a :class:`~dialogkit.generate.Backend`) turns on on-policy."""
    config = config or MineConfig()
    for target in (out, stats_path, rejects_path):
        if target is not None:
            ensure_not_input(target, [path])
    if config.onpolicy is not None and backend is None:
        raise UsageError("on-policy mining needs a policy (--policy MODEL)")
    strategies = resolve_strategies(config.strategies)
    report = MineReport(out=str(out))
    stats = report.stats
    corpus, rejects = Corpus(), []
    for dialog, _ in iter_dialogs(path, config.input_format, report.issues, rejects):
        corpus.add(dialog)
        stats.dialogs += 1
    stats.bad_records = report.bad_records
    verifier = Verifier(config.verify)
    rules = RuleMiner(
        strategies,
        verifier,
        stats,
        seed=config.seed,
        length_match=config.length_match,
        strict_chosen=config.strict_chosen,
        max_per_turn=config.max_per_turn,
    )
    onpolicy = None
    if config.onpolicy is not None:
        onpolicy = OnPolicyMiner(
            backend,
            verifier,
            config.onpolicy,
            stats,
            seed=config.seed,
            judge=judge,
            length_match=config.length_match,
        )
    with JsonlWriter(out) as w:
        sink = _Sink(w, config)
        batch: list[tuple[TurnContext, dict[str, Any]]] = []
        for dialog, where in iter_dialogs(path, config.input_format):
            for ctx in turns(dialog, corpus):
                stats.turns += 1
                sink.write(rules.mine_turn(ctx, where))
                if onpolicy is not None and onpolicy.wants(ctx):
                    batch.append((ctx, where))
                    if len(batch) >= onpolicy.config.batch_turns:
                        sink.write(onpolicy.mine(batch))
                        batch = []
        if onpolicy is not None:
            sink.write(onpolicy.mine(batch))
        report.pairs = w.count
    if stats_path is not None:
        with AtomicWriter(stats_path) as fh:
            fh.write(
                dumps(
                    {
                        "input": str(path),
                        "output": str(out),
                        "config": config.model_dump(mode="json"),
                        **stats.to_dict(),
                        "issues": [i.to_dict() for i in report.issues],
                    }
                )
            )
    if rejects_path is not None:
        with JsonlWriter(rejects_path) as rw:
            for r in rejects:
                rw.write(r)
    return report
