"""Reference-exact MultiWOZ scoring: the numbers mwzeval (Tomiinek/MultiWOZ_Evaluation @ 7f19ee01) reports.

``score_multiwoz(pred, data_dir)`` reads mwzeval's input format and data layout and returns BLEU,
Inform, Success (total and per domain), Combined and mwzeval's DST numbers. Modules: ``moses``
(tokeniser round trip), ``normalize`` (placeholders, state values), ``fuzzy`` (fuzzywuzzy's
partial_ratio), ``database`` (venue queries), ``success`` (Inform/Success), ``dst``, ``data``
(files and located issues), ``scorer`` (the whole run) and ``report`` (headline rows).
"""

from dialogkit.score.multiwoz.scorer import COMPAT, score_multiwoz

__all__ = ["COMPAT", "score_multiwoz"]
