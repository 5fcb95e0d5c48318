"""One-way data flow: a module imports only its own stage and the stages before it.

schema → io/formats → validate → score → prepare → synth → mine → train → lifecycle/serve → demo;
``cli`` may import anything. A new top-level module must be given a stage here.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "dialogkit"

STAGES = {
    0: {"__init__", "errors", "schema", "records", "io", "registry"},
    1: {"formats", "convert"},
    2: {"validate", "pii", "stats", "stats_html"},
    3: {"score"},
    4: {"prepare", "tokenizer_tiny"},
    5: {"synth", "generate"},
    6: {"mine"},
    7: {"train"},
    8: {"lifecycle", "serve", "models"},
    9: {"demo", "report"},
    99: {"cli", "__main__"},
}
RANK = {name: rank for rank, names in STAGES.items() for name in names}


def top_name(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def imported_stages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dialogkit.") and node.level == 0:
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dialogkit."):
                    out.add(alias.name.split(".")[1])
    return out


def test_every_module_has_a_stage():
    missing = sorted({top_name(p) for p in PKG.rglob("*.py")} - set(RANK))
    assert not missing, f"give these modules a stage in tests/test_layers.py: {missing}"


def test_imports_flow_one_way():
    bad = []
    for path in PKG.rglob("*.py"):
        me = top_name(path)
        if me not in RANK:
            continue
        for dep in imported_stages(path):
            if dep in RANK and RANK[dep] > RANK[me]:
                bad.append(f"{path.relative_to(PKG)} imports dialogkit.{dep} (a later stage)")
    assert not bad, "\n".join(bad)
