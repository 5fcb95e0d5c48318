"""fuzzywuzzy-compatible fuzzy string scores (the SGD evaluator's non-categorical slot credit).

SGD's official metric is ``fuzz.token_sort_ratio(ref, hyp) / 100`` from fuzzywuzzy 0.18 with
python-Levenshtein. rapidfuzz's own ``token_sort_ratio`` differs in three ways, so only its
Indel distance is used here and the rest is fuzzywuzzy's exact recipe:

* preprocessing: fuzzywuzzy deletes code points 128-255 (``force_ascii``: Latin-1 letters such
  as ``é`` vanish; CJK is kept), replaces ``\\W`` (Unicode-aware, so ``_`` is kept) with spaces,
  lowercases and strips. rapidfuzz's ``default_process`` keeps ``é`` and turns ``_`` into a
  space, and is not applied at all unless asked for (rapidfuzz >= 3).
* equal processed strings score 100 before the empty-string rule (two strings that process to
  ``""`` are "equal"); one empty string scores 0.
* the result is ``int(round(100 * ratio))`` (Python's round: half to even), not a float.
"""

from __future__ import annotations

import re

from rapidfuzz.distance import Indel

_LATIN1 = {code: None for code in range(128, 256)}
_NON_WORD = re.compile(r"(?ui)\W")


def full_process(text: str, force_ascii: bool = True) -> str:
    """fuzzywuzzy's ``utils.full_process``."""
    if force_ascii:
        text = text.translate(_LATIN1)
    return _NON_WORD.sub(" ", text).lower().strip()


def _sorted_tokens(text: str, force_ascii: bool) -> str:
    return " ".join(sorted(full_process(text, force_ascii).split())).strip()


def ratio(s1: str, s2: str) -> int:
    """fuzzywuzzy's ``fuzz.ratio`` on already processed strings (python-Levenshtein backend)."""
    if s1 == s2:
        return 100
    if not s1 or not s2:
        return 0
    # python-Levenshtein's ratio equals rapidfuzz's Indel.normalized_similarity bit for bit
    # (checked on 200k pairs); (lensum - dist) / lensum can differ in the last bit and round
    # the other way at .5.
    return int(round(100 * Indel.normalized_similarity(s1, s2)))


def token_sort_ratio(s1: object, s2: object, force_ascii: bool = True) -> int:
    """fuzzywuzzy's ``fuzz.token_sort_ratio`` (0-100, an int), values converted with ``str``."""
    if s1 is None or s2 is None:
        return 0
    return ratio(_sorted_tokens(str(s1), force_ascii), _sorted_tokens(str(s2), force_ascii))


def sgd_fuzzy_score(ref_values: list[object], hyp: object) -> float:
    """SGD's ``noncat_slot_value_match``: the best ``token_sort_ratio / 100`` over reference variants."""
    return max((token_sort_ratio(r, hyp) / 100.0 for r in ref_values), default=0.0)
