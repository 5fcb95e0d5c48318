"""Model lifecycle: the registry of trained versions under a root folder (list, show, promote,
rollback, keep-last-K) that ``dialogkit models`` and ``dialogkit serve --models-root`` use."""

from dialogkit.lifecycle.registry import KeepPlan, ModelRegistry, RegistryState, Version
from dialogkit.lifecycle.runs import RunInfo, discover_runs, read_run

__all__ = ["KeepPlan", "ModelRegistry", "RegistryState", "RunInfo", "Version", "discover_runs", "read_run"]
