"""Robustness: task success on perturbed variants vs their originals.

A reference dialog with ``metadata.variant_of = <id>`` is a variant (paraphrase, typo, code
switch ...) of dialog ``<id>``. Success is judged as by the ``task`` scorer. The summary
compares mean success over the originals that have variants with mean success over those
variants, and flags the model when the drop exceeds ``threshold`` (default 3 points).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dialogkit.schema import Dialog
from dialogkit.score.base import BaseScorer, Item, MetricSpec, ScorerOptions, mean_stat
from dialogkit.score.dialog import TaskSuccessScorer


class RobustnessOptions(ScorerOptions):
    threshold: float = 0.03
    fuzzy_threshold: int = 90


class RobustnessScorer(BaseScorer):
    name = "robustness"
    version = "1"
    higher_is_better = True
    Options = RobustnessOptions
    metrics = (MetricSpec("variant_success", "ratio", True, "task success on variant dialogs"),)

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._task = TaskSuccessScorer(fuzzy_threshold=self.options.fuzzy_threshold)

    def score(self, pred: Dialog | None, ref: Dialog) -> list[Item]:
        task_items = self._task.score(pred, ref)
        if not task_items:
            return []
        success = bool(task_items[0].info["success"])
        original = ref.metadata.variant_of
        info = {"group": original or ref.id, "variant": original is not None, "success": success}
        # Originals' success only means something next to their variants: summarize() pairs them.
        stats = {"variant_success": mean_stat(success)} if original else {}
        return [Item(ref.id, None, stats, {"robustness": info})]

    def summarize(self, items: list[Item]) -> dict[str, Any]:
        groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: {"original": [], "variant": []})
        for it in items:
            info = it.info.get("robustness")
            if info:
                groups[info["group"]]["variant" if info["variant"] else "original"].append(info["success"])
        pairs = {g: v for g, v in groups.items() if v["original"] and v["variant"]}
        if not pairs:
            return {}
        orig = [x for v in pairs.values() for x in v["original"]]
        var = [x for v in pairs.values() for x in v["variant"]]
        o, va = sum(orig) / len(orig), sum(var) / len(var)
        drop = o - va
        return {
            "robustness": {
                "originals": len(pairs),
                "variants": len(var),
                "original_success": o,
                "variant_success": va,
                "drop": drop,
                "threshold": self.options.threshold,
                "flagged": drop > self.options.threshold + 1e-12,
                "worst": sorted(
                    (
                        {
                            "id": g,
                            "original": sum(v["original"]) / len(v["original"]),
                            "variant": sum(v["variant"]) / len(v["variant"]),
                        }
                        for g, v in pairs.items()
                    ),
                    key=lambda r: r["variant"] - r["original"],
                )[:10],
            }
        }
