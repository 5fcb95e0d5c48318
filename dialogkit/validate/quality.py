"""Quality rules inside one dialog (copy loops) and the compact signatures used to find duplicates.

Duplicates are global, so a worker only computes a signature per dialog and the parent
compares them (:mod:`dialogkit.validate.dedup`): an exact hash of the messages, and for
near-duplicates a bottom-k sketch of the set of message texts, whose Jaccard estimate tells
how many turns two dialogs share verbatim.
"""

from __future__ import annotations

import operator
from itertools import compress, repeat
from operator import eq, getitem
from typing import NamedTuple

from dialogkit.validate.structure import View
from dialogkit.validate.tools import Emit

SKETCH_SIZE = 16  # exact Jaccard for dialogs up to 16 distinct texts
MIN_LOOP_TEXT = 20  # shorter replies ("OK.", "Thanks!") may legitimately repeat
TAIL = 16
_TAIL = slice(-TAIL, None)


class Signature(NamedTuple):
    """What the parent needs to find duplicates: no text, a few integers."""

    exact: int
    keys: tuple[int, ...]  # LSH keys: pairs of the three smallest turn hashes
    sketch: tuple[int, ...]  # bottom-k turn hashes, top 32 bits, ascending
    size: int = 0  # distinct texts in the dialog


def check_copy_loops(view: View, emit: Emit, prefilter: bool = True) -> None:
    """Assistant replies that repeat the previous reply verbatim (or any earlier one twice),
    or loop on their own tail.

    One verbatim repeat of an older reply is left alone: task-oriented data legitimately says
    "Sorry, that failed too. Anything else?" twice when the situation repeats.
    ``prefilter=False`` walks every reply even when a test in C shows nothing can be found.
    """
    roles = view.roles
    i = roles.find("a")
    if i < 0:
        return
    replies = list(compress(view.texts, map(eq, roles, repeat("a"))))
    # Two tests in C: does any reply equal another, does any end in a unit it repeats three
    # times (necessary conditions of the two kinds of report below)? The walk in Python then
    # looks only for the kind that can be there.
    repeats_possible = tails_possible = True
    if prefilter:
        repeats_possible = len(set(replies)) != len(replies)
        tails_possible = max(map(str.count, replies, map(getitem, replies, repeat(_TAIL)))) >= 3
        if not (repeats_possible or tails_possible):
            return
    first: dict[str, int] = {}
    repeats: dict[str, int] = {}
    texts = view.texts
    last = ""
    while i >= 0:  # the assistant replies only (str.find walks the role string in C)
        text = texts[i]
        if len(text) < MIN_LOOP_TEXT:
            last = text
            i = roles.find("a", i + 1)
            continue
        if repeats_possible:
            j = first.setdefault(text, i)
            if j != i:
                n = repeats[text] = repeats.get(text, 1) + 1
                if text == last:
                    emit(("COPY_LOOP", f"messages[{i}].content", "repeats the previous reply verbatim"))
                elif n >= 3:
                    emit(("COPY_LOOP", f"messages[{i}].content", f"repeats messages[{j}] verbatim for the {n - 1}th time"))
        last = text
        if tails_possible and len(text) >= 3 * TAIL:
            tail = text[-TAIL:]
            # A looping generation ends in the unit it repeats; a few distinct characters
            # rule out separators and rules ("-----", "====").
            if (n := text.count(tail)) >= 3 and len(set(tail)) >= 4:
                emit(("COPY_LOOP", f"messages[{i}].content", f"the reply loops: its last {TAIL} characters occur {n} times"))
        i = roles.find("a", i + 1)


def signature(view: View) -> Signature:
    """The duplicate-detection signature of a structurally valid dialog.

    The exact hash covers every message text, the role sequence and the call arguments; the
    near-duplicate sketch is over the set of message texts (tool calls excluded).
    """
    texts = view.texts
    exact = hash((view.roles, tuple(texts), tuple(view.extras)))
    turns = set(map(hash, texts))
    turns.discard(_EMPTY)
    if len(turns) < 3:
        return _new(Signature, (exact, (), (), 0))
    low = sorted(turns)[:SKETCH_SIZE]
    a, b, c = low[0], low[1], low[2]
    keys = (hash((a, b)), hash((a, c)), hash((b, c)))
    return _new(Signature, (exact, keys, tuple(map(_TOP32, low, _SHIFTS)), len(turns)))


_new = tuple.__new__  # what Signature(...) does, minus a Python-level call
_SHIFTS = (32,) * SKETCH_SIZE
_TOP32 = operator.rshift  # the sketch keeps the top 32 bits of each hash (4 bytes a turn)
_EMPTY = hash("")


def sketch_jaccard(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int], k: int = SKETCH_SIZE) -> float:
    """Jaccard estimate of two bottom-k sketches (exact when both sets are smaller than k)."""
    sa, sb = set(a), set(b)
    if len(a) < k and len(b) < k:
        both = len(sa.intersection(sb))
        union = len(sa) + len(sb) - both
        return both / union if union else 0.0
    limit = min(a[-1] if len(a) >= k else float("inf"), b[-1] if len(b) >= k else float("inf"))
    union_l = [x for x in sa | sb if x <= limit]
    if not union_l:
        return 0.0
    both = sum(1 for x in union_l if x in sa and x in sb)
    return both / len(union_l)
