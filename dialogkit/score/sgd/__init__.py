"""The official Schema-Guided Dialogue DST metrics (google-research ``schema_guided_dst``), offline.

``score_sgd(ref_dir, pred_dir)``: active intent accuracy, requested slots F1, average and joint
goal accuracy (fuzzy credit for non-categorical slots), slot tagging F1, split into ALL / SEEN /
UNSEEN services, per service and per domain, exactly as ``evaluate.py`` aggregates them.
"""

from dialogkit.score.sgd.evaluate import ALL, SEEN, UNSEEN, score_sgd
from dialogkit.score.sgd.metrics import token_sort_ratio

__all__ = ["ALL", "SEEN", "UNSEEN", "score_sgd", "token_sort_ratio"]
