"""The model registry: list/show/promote/rollback/keep-K through the library and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dialogkit.errors import InputError, UsageError
from dialogkit.lifecycle import ModelRegistry
from dialogkit.lifecycle.runs import metrics_summary, read_run


def make_run(root: Path, name: str, *, model: str | None = None, method: str = "sft", weights: bool = True,
             losses: tuple[float, ...] = (2.0, 1.5), manifest: dict | None = None) -> Path:
    """A run folder shaped like `dialogkit train` writes it (no real weights needed to manage it)."""
    run = root / name
    (run / "final").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"method": method, "model": model or str(root / "base"),
                                                     "data": "train.jsonl"}))
    if weights:
        (run / "final" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(root / "base")}))
    lines = [{"step": i + 1, "loss": v} for i, v in enumerate(losses)] + [{"step": len(losses), "eval_loss": 1.9}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (run / "data_manifest.json").write_text(json.dumps(manifest or {
        "inputs": [{"role": "train", "path": "/data/train.jsonl", "sha256": "ab" * 32}],
        "dialogs": {"train": 95, "eval": 5, "eval_source": "held_out"},
        "model": {"base": str(root / "base"), "adapter": None}}))
    (run / "summary.json").write_text(json.dumps({"method": method, "train_loss": losses[-1],
                                                  "global_step": len(losses), "final": {"kind": "adapter"}}))
    return run


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    r = tmp_path / "runs"
    (r / "base").mkdir(parents=True)
    (r / "base" / "config.json").write_text("{}")
    make_run(r, "sft-v1")
    make_run(r, "sft-v2", model=str(r / "sft-v1"))
    make_run(r, "dpo-v3", method="dpo", model=str(r / "sft-v2" / "final"))
    return r


# -------------------------------------------------------------------------------- library
def test_promote_and_rollback_follow_what_actually_served(root):
    reg = ModelRegistry(root)
    for name in ("sft-v1", "sft-v2", "dpo-v3"):
        reg.promote(name)
    assert reg.load().current == "dpo-v3"
    state, left = reg.rollback()
    assert (left, state.current) == ("dpo-v3", "sft-v2")
    assert reg.current_path() == root / "sft-v2"
    assert (root / "current").resolve() == (root / "sft-v2").resolve()
    # Promote again after a rollback: its previous is what served (sft-v2), not the bad dpo-v3.
    reg.promote("sft-v1")
    assert reg.rollback()[0].current == "sft-v2"
    assert reg.rollback()[0].current == "sft-v1"
    with pytest.raises(UsageError, match="first version"):
        reg.rollback()
    actions = [(e["action"], e["run"]) for e in reg.history()]
    assert actions == [("promote", "sft-v1"), ("promote", "sft-v2"), ("promote", "dpo-v3"), ("rollback", "sft-v2"),
                       ("promote", "sft-v1"), ("rollback", "sft-v2"), ("rollback", "sft-v1")]


def test_rollback_to_a_named_version(root):
    reg = ModelRegistry(root)
    for name in ("sft-v1", "sft-v2", "dpo-v3"):
        reg.promote(name)
    assert reg.rollback(to="sft-v1")[0].current == "sft-v1"
    with pytest.raises(UsageError, match="did not serve before"):
        reg.rollback(to="base")
    with pytest.raises(UsageError, match="did not serve before"):
        reg.rollback(to="dpo-v3")  # rolled back already: promote it to serve it again


def test_promote_refuses_what_it_cannot_serve(root, tmp_path):
    reg = ModelRegistry(root)
    make_run(root, "crashed", weights=False)
    with pytest.raises(UsageError, match="no weights"):
        reg.promote("crashed")
    with pytest.raises(UsageError, match="no run of that name"):
        reg.promote("nope")
    outside = make_run(tmp_path, "elsewhere")
    with pytest.raises(UsageError, match="directly under"):
        reg.promote(str(outside))
    with pytest.raises(UsageError, match="nothing to roll back"):
        reg.rollback()
    assert not (root / "registry.json").exists()


def test_keep_deletes_only_old_managed_versions(root):
    reg = ModelRegistry(root)
    for i in range(4, 8):
        make_run(root, f"exp-{i}", model=str(root / "base"))
    make_run(root, "never-promoted")
    for name in ("exp-4", "exp-5", "exp-6", "exp-7"):
        reg.promote(name)
    reg.rollback()  # current exp-6, previous exp-5
    _, plan = reg.promote("sft-v1", keep=1, dry_run=True)
    assert plan.dry_run and sorted(plan.deleted) == ["exp-4", "exp-5", "exp-7"]
    assert (root / "exp-4").is_dir() and reg.load().current == "exp-6"  # a dry run changes nothing
    state, plan = reg.promote("sft-v1", keep=1)
    # current sft-v1, its previous exp-6 kept; exp-5/exp-7/exp-4 older than the last 1.
    assert sorted(plan.deleted) == ["exp-4", "exp-5", "exp-7"]
    assert plan.protected == {"exp-6": "previous version (rollback target)"}
    assert not (root / "exp-4").exists() and (root / "exp-6").is_dir() and (root / "never-promoted").is_dir()
    assert [v.run for v in state.versions] == ["exp-6", "sft-v1"] and state.stack == ["exp-6", "sft-v1"]
    assert reg.rollback()[0].current == "exp-6"
    assert [e["run"] for e in reg.history() if e["action"] == "delete"] == ["exp-4", "exp-5", "exp-7"]


def test_keep_never_deletes_a_parent_of_a_kept_version(root):
    reg = ModelRegistry(root)
    for name in ("sft-v1", "sft-v2", "dpo-v3"):
        reg.promote(name)
    _, plan = reg.promote("dpo-v3", keep=1)  # current already: only prunes
    assert plan.deleted == []
    assert plan.protected == {"sft-v2": "previous version (rollback target)",
                              "sft-v1": "parent of kept version dpo-v3"}
    assert (root / "sft-v1").is_dir()


def test_lineage_metrics_and_data(root):
    reg = ModelRegistry(root)
    info = reg.show("dpo-v3")
    assert info.lineage.parent == str((root / "sft-v2").resolve())
    assert reg.lineage_chain(info) == (["sft-v2", "sft-v1"], "base")
    m = metrics_summary(root / "sft-v1")
    assert (m["first_loss"], m["last_loss"], m["min_loss"], m["best_eval_loss"]) == (2.0, 1.5, 1.5, 1.9)
    assert info.data_summary()["dialogs"]["train"] == 95


def test_damaged_files_are_reported_not_fatal(root):
    (root / "sft-v1" / "metrics.jsonl").write_text('{"step": 1, "loss": 3}\nnot json\n[1]\n')
    (root / "sft-v1" / "summary.json").write_text("{broken")
    info = read_run(root / "sft-v1", root)
    assert info.metrics["records"] == 1 and info.metrics["bad_lines"] == 2
    assert any("summary.json" in p for p in info.problems)
    (root / "registry.json").write_text("{nope")
    with pytest.raises(InputError, match="registry.json: not valid JSON"):
        ModelRegistry(root).load()
    (root / "registry.json").write_text('{"current": 3}')
    with pytest.raises(InputError, match="REGISTRY_INVALID"):
        ModelRegistry(root).load()


# ------------------------------------------------------------------------------------ CLI
def test_cli_list_show_promote_rollback(run_cli, root):
    assert run_cli("models", "promote", "sft-v1", "--root", root).exit_code == 0
    res = run_cli("models", "promote", str(root / "sft-v2"), "--root", root, "--note", "eval +3%")
    assert res.exit_code == 0 and "promoted sft-v2 (previous: sft-v1)" in res.output
    res = run_cli("models", "list", "--root", root)
    assert res.exit_code == 0
    lines = {line.split()[1] if line.startswith("*") else line.split()[0]: line for line in res.output.splitlines()}
    assert lines["sft-v2"].startswith("*") and "current" in lines["sft-v2"]
    assert "previous" in lines["sft-v1"] and "sft-v2" in lines["dpo-v3"].split()[4:6]
    data = json.loads(run_cli("models", "list", "--root", root, "--format", "json").output)
    assert data["current"] == "sft-v2"
    by_name = {r["name"]: r for r in data["runs"]}
    assert by_name["sft-v2"]["note"] == "eval +3%" and by_name["dpo-v3"]["lineage"]["chain"] == ["sft-v2", "sft-v1"]
    assert by_name["sft-v1"]["metrics"] == {"steps": 2, "train_loss": 1.5, "eval_loss": 1.9}
    show = run_cli("models", "show", "dpo-v3", "--root", root)
    assert show.exit_code == 0
    for part in ("lineage:", "dpo-v3 <- sft-v2 <- sft-v1 <- base", "data:", "/data/train.jsonl", "metrics:",
                 "config:", "method: dpo"):
        assert part in show.output
    full = json.loads(run_cli("models", "show", "sft-v1", "--root", root, "--format", "json").output)
    assert full["config"]["method"] == "sft" and full["data_manifest"]["dialogs"]["train"] == 95
    assert full["metrics_summary"]["records"] == 3
    res = run_cli("models", "rollback", "--root", root)
    assert res.exit_code == 0 and "rolled back sft-v2 -> sft-v1" in res.output
    assert json.loads((root / "registry.json").read_text())["current"] == "sft-v1"
    hist = run_cli("models", "history", "--root", root)
    assert [line.split()[1] for line in hist.output.splitlines()] == ["promote", "promote", "rollback"]


def test_cli_keep_lists_deletions(run_cli, root):
    for name in ("sft-v1", "sft-v2"):
        run_cli("models", "promote", name, "--root", root)
    make_run(root, "v4")
    res = run_cli("models", "promote", "v4", "--root", root, "--keep", "1")
    assert res.exit_code == 0
    assert "kept: sft-v2 (previous version (rollback target))" in res.output
    assert "kept: sft-v1 (parent of kept version sft-v2)" in res.output
    assert "nothing to delete" in res.output


def test_cli_errors_are_one_line(run_cli, root, tmp_path):
    res = run_cli("models", "rollback", "--root", root)
    assert res.exit_code == 2 and res.output.startswith("Error:") and "Traceback" not in res.output
    res = run_cli("models", "list", "--root", tmp_path / "missing")
    assert res.exit_code == 1 and "no such folder" in res.output
    res = run_cli("models", "promote", "ghost", "--root", root)
    assert res.exit_code == 2 and "runs: " in res.output
    res = run_cli("models", "promote", "sft-v1", "--root", root, "--keep", "0")
    assert res.exit_code == 2 and "--keep" in res.output
    assert run_cli("models", "list", "--root", tmp_path).output.startswith("no runs under")


def test_concurrent_promotes_never_lose_a_version(root):
    import threading

    names = [f"c{i}" for i in range(6)]
    for n in names:
        make_run(root, n)
    errors = []

    def promote(n):
        try:
            ModelRegistry(root).promote(n)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=promote, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    state = ModelRegistry(root).load()
    assert not errors
    assert sorted(v.run for v in state.versions) == names and sorted(state.stack) == names
    assert len(ModelRegistry(root).history()) == 6


def test_light_modules_do_not_import_heavy_packages():
    import subprocess
    import sys

    code = ("import sys, dialogkit.cli.models, dialogkit.cli.serve, dialogkit.lifecycle, dialogkit.serve.openai_io\n"
            "heavy = [m for m in ('torch', 'transformers', 'fastapi', 'uvicorn', 'prometheus_client') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_relative_model_paths_from_the_training_cwd_resolve(root, tmp_path, monkeypatch):
    # `train --output runs/sft-x --model runs/sft-v1` run from the project folder writes relative paths.
    make_run(root, "sft-x", model="runs/sft-v1")
    make_run(root, "sft-y", model="somewhere/else/sft-x/final")
    monkeypatch.chdir(tmp_path.parent)
    reg = ModelRegistry(root)
    assert reg.lineage_chain(reg.show("sft-x"))[0] == ["sft-v1"]
    assert reg.lineage_chain(reg.show("sft-y"))[0] == ["sft-x", "sft-v1"]
