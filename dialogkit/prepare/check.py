"""The training/inference consistency check behind ``inspect --check`` and ``prepare --verify``.

For every trained turn of a row, the tokens before it must equal what the model is given at
inference: ``apply_chat_template(messages[:turn], tools=..., add_generation_prompt=True)``
tokenized. Anything else trains the model on a context it never sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dialogkit.errors import Issue, RecordError
from dialogkit.prepare.rows import Row


def inference_prompt(preparer: Any, messages: list[dict[str, Any]], tools: Any, k: int) -> str:
    """What the model is given before message ``k`` (with the generation prompt for assistants)."""
    gen = messages[k]["role"] == "assistant"
    try:
        return preparer.renderer.render(messages[:k], tools, add_generation_prompt=gen).text
    except RecordError:
        if k:
            raise
        return ""


def check_row(preparer: Any, row: Row) -> list[Issue]:
    """Issues for trained turns whose context or target differ from inference.

    PROMPT_MISMATCH: the tokens before the turn are not the tokenized inference prompt.
    COMPLETION_MISMATCH: the turn's tokens are not what the template renders for it as the
    last turn, i.e. what the model is asked to generate at inference (Qwen3's think blocks).
    """
    ctx = row.context
    if ctx is None:
        return []
    issues = []
    seen: set[int] = set()
    for span in row.spans:
        if span.msg < 0 or span.msg in seen:
            continue
        seen.add(span.msg)
        k = span.msg
        prompt = inference_prompt(preparer, ctx.messages, ctx.tools, k)
        expected = preparer.encoder.encode(prompt).ids
        got = row.input_ids[: span.start]
        where = f"messages[{ctx.index[k]}]"
        if got != expected:
            issues.append(Issue("PROMPT_MISMATCH", _diff("tokens before the trained turn", "inference prompt",
                                                         got, expected, preparer.tokenizer), path=where))
            continue
        last = preparer.renderer.render(ctx.messages[: k + 1], ctx.tools).text
        full = preparer.encoder.encode(last).ids
        if not last.startswith(prompt) or full[: len(expected)] != expected:
            continue  # no clean inference-side target to compare with (reported by prepare)
        target = full[len(expected):]
        mine = row.input_ids[span.start : span.start + len(target)]
        if mine != target:
            issues.append(Issue("COMPLETION_MISMATCH", _diff("trained tokens", "turn as rendered at inference",
                                                             mine, target, preparer.tokenizer), path=where))
    return issues


def _diff(what: str, other: str, got: list[int], expected: list[int], tok: Any) -> str:
    at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    return (f"the {len(got)} {what} differ from the {len(expected)}-token {other} at token {at}: "
            f"training has {tok.decode(got[at:at + 12])!r}, inference {tok.decode(expected[at:at + 12])!r}")


@dataclass
class CheckResult:
    dialogs: int = 0
    rows: int = 0
    turns: int = 0
    mismatches: int = 0
    issues: list[Issue] = field(default_factory=list)


def check_records(preparer: Any, raws: Iterable[Any]) -> CheckResult:
    """Prepare every record of ``raws`` (``dialogkit.io.Raw``) and check each trained turn."""
    from dialogkit.records import parse_dialog

    out = CheckResult()
    for raw in raws:
        out.dialogs += 1
        if not raw.ok:
            out.issues.append(raw.issue)
            continue
        where = raw.where()
        try:
            rows, warnings, _ = preparer.prepare(parse_dialog(raw.data, file=raw.file, line=raw.line))
        except RecordError as e:
            out.issues += [i.located(**where) for i in e.issues]
            continue
        out.issues += [w.located(**where) for w in warnings]
        for row in rows:
            out.rows += 1
            out.turns += len({s.msg for s in row.spans if s.msg >= 0})
            bad = check_row(preparer, row)
            out.mismatches += len(bad)
            out.issues += [i.located(**where) for i in bad]
    return out
