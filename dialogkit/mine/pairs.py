"""Build a :class:`PreferencePair` at one turn: the exact history, the two turns, the provenance."""

from __future__ import annotations

from typing import Any

from dialogkit import __version__
from dialogkit.mine.corpus import domain_of
from dialogkit.mine.strategies.base import TurnContext
from dialogkit.schema import AssistantMessage, PairMetadata, PreferencePair


def make_pair(
    ctx: TurnContext,
    chosen: AssistantMessage,
    rejected: AssistantMessage,
    kind: str,
    seed: int,
    where: dict[str, Any],
    **extra: Any,
) -> PreferencePair:
    """``prompt`` is ``messages[:index]`` of the source dialog, untouched; ``turn`` is that index."""
    provenance = {
        "generator": "dialogkit.mine",
        "version": __version__,
        "seed": seed,
        "source_file": where.get("file"),
        "source_line": where.get("line"),
    }
    source = ctx.dialog.metadata.provenance
    if source:
        provenance["source_provenance"] = source
    meta = PairMetadata(
        negative_type=kind,
        turn=ctx.index,
        source_id=ctx.dialog.id,
        provenance=provenance,
        assistant_turn=ctx.k,
        language=ctx.language,
        domain=domain_of(ctx.dialog) or None,
        expected=ctx.expected,
        **extra,
    )
    return PreferencePair(
        id=f"{ctx.dialog.id}:{ctx.index}:{kind}",
        prompt=list(ctx.history),
        chosen=[chosen],
        rejected=[rejected],
        tools=list(ctx.dialog.tools),
        metadata=meta,
    )
