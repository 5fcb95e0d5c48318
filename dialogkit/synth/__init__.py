"""Dialog synthesis: scenarios, an offline template generator, augmentation, and (later) self-play.

Every mode is a generator registered in :data:`GENERATORS` as a lazy ``"module:attr"``
entry pointing at ``run(job: SynthJob) -> SynthReport``. A generator owns its output file
(``job.out``): ``outline`` writes it once at the end, a self-play generator can append and
resume from a journal. Plugins register under the entry-point group ``dialogkit.generators``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import Issue, NotBuiltError
from dialogkit.registry import Registry

GENERATOR_VERSION = "1.0"


@dataclass
class SynthJob:
    """What to synthesize. ``options`` carries mode-specific settings (``--set key=value``)."""

    mode: str
    out: Path
    seed: int = 0
    n: int | None = None
    scenario: str | None = None
    inputs: list[Path] = field(default_factory=list)
    lang: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # progress(done, failed) is called as dialogs are accepted or dropped
    progress: Callable[[int, int], None] | None = None


@dataclass
class SynthReport:
    written: int = 0
    attempts: int = 0
    failed: int = 0
    duplicates: int = 0
    rejected: int = 0  # input records that could not be read (augment)
    issues: list[Issue] = field(default_factory=list)
    # issue code -> count, over every dropped dialog
    failure_codes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def fail(self, issues: list[Issue], keep: int = 20) -> None:
        self.failed += 1
        for i in issues:
            self.failure_codes[i.code] = self.failure_codes.get(i.code, 0) + 1
        self._keep(issues, keep)

    def reject(self, issues: list[Issue], keep: int = 20) -> None:
        self.rejected += 1
        self._keep(issues, keep)

    def _keep(self, issues: list[Issue], keep: int) -> None:
        if len(self.issues) < keep:
            self.issues.extend(issues[: keep - len(self.issues)])


SynthFn = Callable[[SynthJob], SynthReport]
GENERATORS: Registry[SynthFn] = Registry("synth mode", "dialogkit.generators")
GENERATORS.register("outline", "dialogkit.synth.outline:run")
GENERATORS.register("augment", "dialogkit.synth.augment:run")
GENERATORS.register("selfplay", "dialogkit.synth.selfplay:run")
GENERATORS.register("paraphrase", "dialogkit.synth.paraphrase:run")


def get_generator(mode: str) -> SynthFn:
    """The run function of ``mode``.

    Raises:
        UsageError: unknown mode (with suggestions).
        NotBuiltError: the mode is registered but its module does not exist yet.
    """
    try:
        return GENERATORS.get(mode)
    except ModuleNotFoundError as e:
        # A registered built-in whose module has not been written yet.
        if e.name and e.name.startswith("dialogkit.synth."):
            raise NotBuiltError(f"mode {mode!r} is not built yet") from e
        raise


def run(job: SynthJob) -> SynthReport:
    return get_generator(job.mode)(job)
