"""The CLI frame: every product command is listed; unbuilt ones say so; light commands stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dialogkit import cli as cli_mod

PRODUCT = ["convert", "validate", "stats", "prepare", "inspect", "synth", "mine", "train", "score", "serve", "models", "demo"]


def test_help_lists_every_command(run_cli):
    res = run_cli("--help")
    assert res.exit_code == 0
    listed = [line.split()[0] for line in res.output.split("Commands:")[1].splitlines() if line.startswith("  ") and line.split()]
    for name in PRODUCT:
        assert name in listed


def test_every_command_has_help_with_an_example(run_cli):
    for name in list(cli_mod.COMMANDS):
        res = run_cli(name, "--help")
        assert res.exit_code == 0, (name, res.output)
        module = cli_mod.COMMANDS[name][0].split(":")[0]
        import importlib.util

        if importlib.util.find_spec(module) is not None:
            assert "dialogkit " in res.output.split("Usage:", 1)[1], f"{name} --help has no example"


def test_unbuilt_command_exits_2(run_cli, monkeypatch):
    monkeypatch.setitem(cli_mod.COMMANDS, "demo", ("dialogkit.cli.not_there:demo", "Run the demo.", "10"))
    res = run_cli("demo", "--out", "x")
    assert res.exit_code == 2
    assert "not built yet (issue 10)" in res.output


def test_version(run_cli):
    res = run_cli("--version")
    assert res.exit_code == 0 and "dialogkit" in res.output


@pytest.mark.parametrize("command", ["convert", "validate", "stats", "score", "schema"])
def test_light_commands_do_not_import_torch(command):
    module = cli_mod.COMMANDS[command][0].split(":")[0]
    code = (
        "import importlib, importlib.util, sys\n"
        f"spec = importlib.util.find_spec({module!r})\n"
        f"if spec is not None: importlib.import_module({module!r})\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_schema_command_prints_json(run_cli):
    import json

    res = run_cli("schema", "dialog")
    assert res.exit_code == 0
    assert json.loads(res.output)["title"] == "Dialog"
