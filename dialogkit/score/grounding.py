"""Groundedness: are the numbers and names in a reply backed by what the model was told?

For every predicted reply that follows at least one tool result, the *claims* are extracted:
numbers (``1,250.50`` -> 1250.5; compared numerically, so ``45.50`` matches ``45.5``) and
entities (runs of capitalised words that are not a lone sentence-initial word, and spans quoted
with ``“”``, ``「」``, ``《》`` or ``"``). A claim is grounded when it occurs in the context: the
tool results before the reply, the user's messages and the system prompt (a number the user
gave is not a hallucination). ``grounded_rate`` = grounded claims / claims.
"""

from __future__ import annotations

import json
import re

from dialogkit.schema import Dialog
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, assistant_messages

# Digits glued to Latin letters are codes (HT1234, A1), not quantities; CJK around digits is fine.
_NUMBER = re.compile(r"(?<![A-Za-z\d.,])\d(?:[\d,]*\d)?(?:\.\d+)?(?![A-Za-z\d])")
_CAP_RUN = re.compile(r"\b[A-Z][\w'&-]*(?:\s+(?:(?:of|the|de|la|and|&)\s+)?[A-Z][\w'&-]*)*")
_QUOTED = re.compile(r"[“「《\"]([^”」》\"]{2,40})[”」》\"]")
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？]\s*|\n\s*)$")


def numbers(text: str) -> set[float]:
    out = set()
    for m in _NUMBER.finditer(text):
        try:
            out.add(float(m.group().replace(",", "")))
        except ValueError:
            continue
    return out


def entities(text: str) -> set[str]:
    found = set()
    for m in _CAP_RUN.finditer(text):
        span = m.group()
        if " " not in span and (span == "I" or _SENTENCE_START.search(text[: m.start()])):
            continue  # a lone capitalised word starting a sentence is just grammar
        found.add(span)
    found.update(m.group(1).strip() for m in _QUOTED.finditer(text))
    return found


def _as_text(content) -> str:
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


class GroundingOptions(ScorerOptions):
    entities: bool = True


class GroundednessScorer(BaseScorer):
    name = "groundedness"
    version = "1"
    higher_is_better = True
    Options = GroundingOptions
    metrics = (
        MetricSpec(
            "grounded_rate", "ratio", True, "numbers/entities in replies found in tool results or user input"
        ),
    )

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        if pred is None:
            return []
        items = []
        for k, (i, msg) in enumerate(assistant_messages(pred)):
            before = pred.messages[:i]
            if not msg.content.strip() or not any(m.role == "tool" for m in before):
                continue
            context = " ".join(_as_text(m.content) for m in before if m.role in ("tool", "user", "system"))
            ctx_numbers, ctx_lower = numbers(context), context.lower()
            claims = [("number", n, n in ctx_numbers) for n in sorted(numbers(msg.content))]
            if self.options.entities:
                claims += [("entity", e, e.lower() in ctx_lower) for e in sorted(entities(msg.content))]
            if not claims:
                continue
            grounded = sum(ok for _, _, ok in claims)
            ungrounded = [c for kind, c, ok in claims if not ok]
            items.append(
                Item(
                    ref.id,
                    k,
                    {"grounded_rate": [grounded, len(claims)]},
                    {"ungrounded": ungrounded} if ungrounded else {},
                )
            )
        return items
