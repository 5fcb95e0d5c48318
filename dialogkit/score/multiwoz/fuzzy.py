"""fuzzywuzzy 0.18's ``fuzz.partial_ratio`` with the python-Levenshtein backend, on rapidfuzz.

mwzeval matches venue names, foods and stations with ``partial_ratio >= 90`` and DST values with
``> 95``. rapidfuzz's own ``fuzz.partial_ratio`` searches every alignment and can score higher than
fuzzywuzzy, so this module reproduces fuzzywuzzy's recipe instead: align the shorter string
against windows of the longer one that start where a Levenshtein matching block suggests, score
each window with the Indel ratio, stop early above 0.995, round half to even. python-Levenshtein
(>= 0.21) is itself a thin layer over rapidfuzz's ``Levenshtein.opcodes`` / ``Indel``, so the
blocks and ratios below are the very numbers fuzzywuzzy sees.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import Indel, Levenshtein


def partial_ratio(s1: object, s2: object) -> int:
    """``fuzzywuzzy.fuzz.partial_ratio(s1, s2)``: an int in 0..100; non-strings compared via ``str``."""
    if s1 is None or s2 is None:
        return 0
    if s1 == s2:
        return 100
    if not isinstance(s1, str) or not isinstance(s2, str):
        s1, s2 = str(s1), str(s2)
    if not s1 or not s2:
        return 0
    return _partial_ratio(s1, s2)


@lru_cache(maxsize=262144)
def _partial_ratio(s1: str, s2: str) -> int:
    shorter, longer = (s1, s2) if len(s1) <= len(s2) else (s2, s1)
    n = len(shorter)
    best = 0.0
    for block in Levenshtein.opcodes(shorter, longer).as_matching_blocks():
        start = max(block.b - block.a, 0)
        r = Indel.normalized_similarity(shorter, longer[start:start + n])
        if r > 0.995:
            return 100
        best = max(best, r)
    return int(round(100 * best))
