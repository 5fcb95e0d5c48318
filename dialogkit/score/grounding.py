"""Groundedness: are the numbers and names in a reply backed by what the model was told?

For every predicted reply that follows at least one tool result, the *claims* are extracted:
numbers (``1,250.50`` -> 1250.5; compared numerically, so ``45.50`` matches ``45.5``) and
entities (runs of capitalised Latin-script words, and spans quoted with ``“”``, ``「」``, ``《》``
or ``"``). A claim is grounded when it occurs in the context: the tool results before the reply,
the user's messages and the system prompt (a number the user gave is not a hallucination).
``grounded_rate`` = grounded claims / claims.

What is grammar, not a claim: a lone capitalised word starting a sentence, and pronouns
(``Glad I``, ``Can I``, ``It's`` are not names; a run is split at them). A sentence-initial
run may start with a word capitalised only because it starts the sentence (``The``,
``Order A11674``): it is grounded when the rest of the run is. A number is also grounded when
it is the sum of two amounts of the context or an amount times a count (``2 × 54.5 = 109`` for
a total, the nights times the nightly price). An amount has cents or is above 10, a count is a
whole number from 2 to 99, and parts of dates, times and phone numbers are neither (nor are
they ever computed in a reply).
"""

from __future__ import annotations

import json
import re

from dialogkit.schema import Dialog
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, assistant_messages

# Digits glued to Latin letters are codes (HT1234, A1), not quantities; CJK around digits is fine.
_NUMBER = re.compile(r"(?<![A-Za-z\d.,])\d(?:[\d,]*\d)?(?:\.\d+)?(?![A-Za-z\d])")
# Latin script only: Chinese has no spaces, so \w would glue "X2目前已发货" into one "name".
_WORD = r"[A-Z][A-Za-z0-9\u00C0-\u024F'&-]*"
_CAP_RUN = re.compile(rf"\b{_WORD}(?:\s+(?:(?:of|the|de|la|and|&)\s+)?{_WORD})*")
_QUOTED = re.compile(r"[“「《\"]([^”」》\"]{2,40})[”」》\"]")
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？]\s*|\n\s*)$")
# Personal pronouns (with contractions) are never part of a name.
_PRONOUNS = frozenset({
    "I", "I'm", "I'd", "I'll", "I've", "It", "It's", "We", "We're", "We'll", "We've", "You", "You're",
    "You'll", "He", "She", "They", "They're",
})
# Closed-class words that start sentences: capitalised by position, not because they name something.
_OPENERS = frozenset({
    "A", "An", "The", "This", "That", "These", "Those", "Your", "Our", "My", "Their", "His", "Her", "Its",
    "Some", "Any", "Each", "Every", "No", "Yes", "And", "But", "Or", "So", "If", "When", "While", "Where",
    "What", "Which", "Who", "How", "Why", "There", "Here", "Please", "Sorry", "Thanks", "Thank", "Sure",
    "OK", "Okay", "Hello", "Hi", "Great", "Also", "However", "Then", "Now", "Just", "Shall", "Can", "Could",
    "Would", "Should", "Will", "May", "Might", "Must", "Do", "Does", "Did", "Is", "Are", "Was", "Were",
    "Has", "Have", "Had", "Let", "Let's", "To", "For", "From", "At", "In", "On", "With", "By", "As",
    "After", "Before", "Unfortunately", "Alright",
})
# Words that label the identifier after them ("Order A11674", "Reference H308094").
_ID_LABELS = frozenset({
    "Order", "Reference", "Ref", "Booking", "Reservation", "Confirmation", "Ticket", "Tracking", "Return",
    "Refund", "Invoice", "Receipt", "Case", "Train", "Flight", "Room", "Table", "Code", "Number", "No",
})
_MAX_COUNT = 99
_MIN_ADDEND = 10
_NOT_QUANTITY = re.compile(
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?|\d{1,2}月\d{1,2}[日号]|\d{1,2}:\d{2}(?::\d{2})?|\d{7,}"
)


def numbers(text: str) -> set[float]:
    out = set()
    for m in _NUMBER.finditer(text):
        try:
            out.add(float(m.group().replace(",", "")))
        except ValueError:
            continue
    return out


def _segments(text: str, m: re.Match) -> list[tuple[list[str], bool]]:
    """The run split at pronouns: ``(words, starts a sentence)`` for each piece."""
    out: list[tuple[list[str], bool]] = []
    words: list[str] = []
    initial = bool(_SENTENCE_START.search(text[: m.start()]))
    for w in m.group().split():
        if w in _PRONOUNS:
            if words:
                out.append((words, initial))
            words, initial = [], False
        else:
            words.append(w)
    if words:
        out.append((words, initial))
    return out


def _entity_claims(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """``(entity, forms that ground it)`` for each entity of ``text``."""
    found: dict[str, tuple[str, ...]] = {}
    for m in _CAP_RUN.finditer(text):
        for words, initial in _segments(text, m):
            if initial and len(words) == 1:
                continue  # a lone capitalised word starting a sentence is just grammar
            span = " ".join(words)
            forms: tuple[str, ...] = (span,)
            # The first word of a sentence is capitalised anyway: when it is a function word or
            # labels the code after it ("Order A11674"), the rest is what must be supported.
            if initial and (words[0] in _OPENERS or (words[0] in _ID_LABELS and any(c.isdigit() for c in words[1]))):
                forms += (" ".join(words[1:]),)
            found[span] = forms
    for q in _QUOTED.finditer(text):
        span = q.group(1).strip()
        found.setdefault(span, (span,))
    return sorted(found.items())


def entities(text: str) -> set[str]:
    """Names a reply states: capitalised Latin-script runs (pronouns and sentence grammar left
    out) and quoted spans."""
    return {span for span, _ in _entity_claims(text)}


def quantities(text: str) -> set[float]:
    """The numbers of ``text`` that can be amounts: parts of dates, times and long digit strings
    (phone, tracking numbers) are left out, so "2025-05-12" does not offer 12 to add up."""
    return numbers(_NOT_QUANTITY.sub(" ", text))


def derivable(value: float, operands: set[float]) -> bool:
    """``value`` is ``a + b`` or ``count × a`` for amounts ``a``, ``b`` in ``operands``.

    An amount has cents or is above 10; a count is a whole number from 2 to 99. Small whole
    numbers are never added up or multiplied together: every price off by one, and every
    small number (2 × 3), would otherwise be "derivable".
    """
    amounts = [a for a in operands if _is_amount(a)]
    for a in amounts:
        b = value - a
        if b > 0 and _is_amount(b) and _close_in(b, operands):
            return True
    for n in operands:
        if 2 <= n <= _MAX_COUNT and n == int(n):
            b = value / n
            if _is_amount(b) and _close_in(b, operands):
                return True
    return False


def _is_amount(x: float) -> bool:
    return x > _MIN_ADDEND or round(x, 6) != int(x)


def _close_in(x: float, support: set[float]) -> bool:
    # Money has cents: 3 × 33.3 prints as 99.9, not 99.89999999999999.
    return x in support or round(x, 6) in support or round(x, 2) in support


def _as_text(content) -> str:
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


class GroundingOptions(ScorerOptions):
    entities: bool = True
    arithmetic: bool = True  # sums and count-products of context numbers are grounded


class GroundednessScorer(BaseScorer):
    name = "groundedness"
    version = "2"
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
            # Parts of dates and times are read off, never computed: only amounts may be derived.
            operands = quantities(context) if self.options.arithmetic else set()
            computed = quantities(msg.content) if operands else set()
            claims = [("number", n, n in ctx_numbers or (n in computed and derivable(n, operands)))
                      for n in sorted(numbers(msg.content))]
            if self.options.entities:
                claims += [("entity", e, any(f.lower() in ctx_lower for f in forms))
                           for e, forms in _entity_claims(msg.content)]
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
