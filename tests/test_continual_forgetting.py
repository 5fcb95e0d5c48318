"""The forgetting experiment end to end (slow): replay keeps the old scenario's dev loss lower than no replay.

Runs ``benchmarks/continual_forgetting.py`` at reduced size: a tiny model learns en_restaurant_hotel
dialogs, then support dialogs with and without replay; both increments start from the same base
run, so the only difference is the replayed share of old dialogs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_replay_forgets_less_than_plain_increment(tmp_path):
    pytest.importorskip("trl")
    cmd = [sys.executable, str(ROOT / "benchmarks" / "continual_forgetting.py"), "--n", "40", "--base-steps", "60",
           "--inc-steps", "30", "--variants", "none,replay0.3", "--workdir", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3000, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "variant" in out.stdout and "replay0.3" in out.stdout
    reps = {name: json.loads((tmp_path / "runs" / f"inc-{name}" / "forgetting.json").read_text())
            for name in ("none", "replay0.3")}
    old = {name: next(s for s in rep["sets"] if s["role"] == "earlier") for name, rep in reps.items()}
    new = {name: next(s for s in rep["sets"] if s["role"] == "new") for name, rep in reps.items()}
    # same starting point: the base run's model on its own dev data
    assert old["none"]["before"]["loss"] == pytest.approx(old["replay0.3"]["before"]["loss"], rel=1e-6)
    assert old["none"]["delta"]["loss"] > 0  # learning the new scenario alone forgets the old one
    assert old["replay0.3"]["delta"]["loss"] < old["none"]["delta"]["loss"]
    for name in reps:  # both learned the new scenario
        assert new[name]["after"]["loss"] < new[name]["before"]["loss"]
