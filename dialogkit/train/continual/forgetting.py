"""``RUN/forgetting.json``: every earlier run's dev data and the new data, before and after an increment.

"Before" is the model the increment starts from (``--init-from``), measured in memory before
training; "after" is the trained model. For each data set: loss and token accuracy on the
trained tokens, and, when ``forgetting_generate_dialogs`` > 0, scorer metrics of generated turns.
An earlier run whose dev data cannot be found again (moved or changed file) is listed with the
reason instead of numbers; one that recorded no dev split is measured on its training dialogs
(``split: "train"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue
from dialogkit.train.continual.lineage import RunRecord, dev_source

FORMAT = "dialogkit.forgetting/1"
LOWER_IS_BETTER = {"loss"}


@dataclass
class DevSet:
    """One data set to measure: an earlier run's dev dialogs, or the new data's."""

    name: str
    role: str  # "earlier" or "new"
    split: str  # "dev", or "train" when no dev split exists
    run: str | None = None
    files: list[str] = field(default_factory=list)
    dialogs: list[Any] = field(default_factory=list)
    skipped: str | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # "before"/"after" -> metrics


def _load(src: Any, limit: int) -> list[Any]:
    from dialogkit.train.data import load_dialogs

    out = []
    for f in src.files:
        out += [d for d in load_dialogs(f.path, f.fmt).records if src.ids is None or d.id in src.ids]
    return out[:limit]


def dev_sets(ancestors: list[RunRecord], new_dev: list[Any], new_train: list[Any], new_name: str,
             limit: int) -> tuple[list[DevSet], list[Issue]]:
    """The sets to measure, oldest run first and the new data last; problems become warnings."""
    sets, issues = [], []
    for rec in reversed(ancestors):
        src = dev_source(rec)
        ds = DevSet(rec.path.name, "earlier", src.split, str(rec.path), [f.path for f in src.files])
        if src.problem:
            ds.skipped = f"{src.problem} ({src.code})"
            issues.append(Issue(src.code or "DEV_SOURCE_MISSING", f"forgetting: {rec.path}: {src.problem}; "
                                "not measured", severity="warning"))
        else:
            ds.dialogs = _load(src, limit)
        sets.append(ds)
    new = DevSet(new_name, "new", "dev" if new_dev else "train", None)
    new.dialogs = (new_dev or new_train)[:limit]
    sets.append(new)
    return sets, issues


class Forgetting:
    """Measures the dev sets on a model at two points and writes the comparison."""

    def __init__(self, sets: list[DevSet], tokenizer: Any, prepare_options: dict[str, Any], *,
                 suite: str | None, generate_dialogs: int, batch_size: int = 8):
        self.sets, self.tokenizer, self.prepare = sets, tokenizer, prepare_options
        self.suite, self.generate_dialogs, self.batch_size = suite, generate_dialogs, batch_size
        self.lower: set[str] = set()  # scorer metrics where lower is better (e.g. turns_to_success)

    def measure(self, model: Any, when: str) -> None:
        """Fill ``results[when]`` of every set that has dialogs."""
        from dialogkit.train.continual.evaluate import generated_metrics, teacher_forced

        for ds in self.sets:
            if ds.skipped or not ds.dialogs:
                continue
            res = teacher_forced(model, self.tokenizer, ds.dialogs, self.prepare, self.batch_size)
            if self.generate_dialogs:
                values, lower = generated_metrics(model, self.tokenizer, ds.dialogs[:self.generate_dialogs],
                                                  self.suite, batch_size=self.batch_size)
                res.update(values)
                self.lower |= lower
            ds.results[when] = res

    def to_dict(self, run: Path, settings: dict[str, Any]) -> dict[str, Any]:
        """The ``forgetting.json`` object."""
        out_sets = []
        for ds in self.sets:
            before, after = ds.results.get("before", {}), ds.results.get("after", {})
            metrics = [k for k in before if k not in ("tokens", "dialogs") and isinstance(before[k], (int, float))]
            delta = {k: after[k] - before[k] for k in metrics
                     if isinstance(after.get(k), (int, float)) and isinstance(before.get(k), (int, float))}
            out_sets.append({"name": ds.name, "role": ds.role, "split": ds.split, "run": ds.run, "files": ds.files,
                             "dialogs": len(ds.dialogs), "tokens": before.get("tokens"),
                             "before": _strip(before), "after": _strip(after), "delta": delta,
                             "skipped": ds.skipped})
        return {"format": FORMAT, "run": str(run.resolve()), **settings,
                "lower_is_better": sorted(LOWER_IS_BETTER | self.lower),
                "sets": out_sets, "summary": summarize(out_sets)}


def _strip(res: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in res.items() if k not in ("tokens", "dialogs")}


def summarize(sets: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean loss before/after over the earlier runs' sets and on the new set; forgetting = the rise on earlier sets."""
    def mean(role: str, when: str, key: str = "loss") -> float | None:
        vals = [s[when][key] for s in sets if s["role"] == role and isinstance(s[when].get(key), (int, float))]
        return sum(vals) / len(vals) if vals else None

    out: dict[str, Any] = {}
    for role in ("earlier", "new"):
        for key in ("loss", "token_accuracy"):
            b, a = mean(role, "before", key), mean(role, "after", key)
            out[f"{role}_{key}_before"], out[f"{role}_{key}_after"] = b, a
    b, a = out["earlier_loss_before"], out["earlier_loss_after"]
    out["forgetting"] = (a - b) if a is not None and b is not None else None
    return out
