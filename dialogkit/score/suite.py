"""Evaluator suites: versioned YAML files in ``evaluators/`` naming registered scorers and options.

.. code-block:: yaml

    name: task_oriented
    version: 1
    description: State tracking, task success and response quality.
    scorers:
      - name: state
        options: {fuzzy: true}
      - name: task

A suite is given as a path or as the name of a file in ``evaluators/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialogkit.errors import UsageError
from dialogkit.score.base import Scorer, make_scorer

EVALUATORS = Path(__file__).resolve().parents[2] / "evaluators"


class ScorerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: int | str
    description: str = ""
    scorers: list[ScorerEntry] = Field(min_length=1)
    headline: bool = True  # show the MultiWOZ-style Inform / Success / BLEU / Combined table


def available_suites() -> list[str]:
    return sorted(p.stem for p in EVALUATORS.glob("*.yaml")) if EVALUATORS.is_dir() else []


def resolve_suite(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.is_file():
        return p
    candidate = EVALUATORS / f"{p.stem if p.suffix in ('.yaml', '.yml') else p.name}.yaml"
    if candidate.is_file():
        return candidate
    raise UsageError(
        f"suite {name_or_path!s}: no such file or suite. Available: {', '.join(available_suites())}"
    )


def load_suite(name_or_path: str | Path) -> Suite:
    """Read and validate a suite (unknown keys are errors that name them)."""
    path = resolve_suite(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise UsageError(f"{path}: not valid YAML: {e}") from None
    try:
        return Suite.model_validate(data)
    except ValidationError as e:
        detail = "; ".join(f"{'.'.join(map(str, x['loc'])) or '(top)'}: {x['msg']}" for x in e.errors())
        raise UsageError(f"{path}: invalid suite: {detail}") from None


def build_scorers(suite: Suite) -> list[Scorer]:
    """Instantiate every scorer of a suite (unknown names and bad options are usage errors)."""
    return [make_scorer(entry.name, entry.options) for entry in suite.scorers]
