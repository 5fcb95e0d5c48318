"""``validate_dialog``: the per-dialog API gives exactly what ``dialogkit validate`` reports."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from dialogkit.errors import RecordError
from dialogkit.records import parse_dialog
from dialogkit.validate import ValidateConfig, resolve_codes, validate_dialog
from dialogkit.validate.checker import _checker

ASSETS = Path(__file__).parent / "assets" / "validate"
MIXED = ASSETS / "mixed.jsonl"
EXPECTED = {int(k): v for k, v in json.loads((ASSETS / "mixed.expected.json").read_text()).items()}
# Rules that compare a dialog with the others in its file: not a property of one dialog.
CROSS = {"DUPLICATE_EXACT", "DUPLICATE_NEAR", "ID_DUPLICATE"}


def _lines():
    for n, line in enumerate(MIXED.read_bytes().split(b"\n"), 1):
        if n in EXPECTED:
            try:
                yield n, orjson.loads(line)
            except orjson.JSONDecodeError:
                continue


def test_same_codes_as_the_cli_on_every_defect():
    checked = 0
    for n, data in _lines():
        issues = validate_dialog(data, file="mixed.jsonl", line=n)
        assert {i.code for i in issues} == set(EXPECTED[n]) - CROSS, f"line {n}"
        assert all(i.file == "mixed.jsonl" and i.line == n for i in issues)
        checked += 1
    assert checked >= 20


def test_dialog_object_gives_the_same_issues_as_its_dict():
    for n, data in _lines():
        try:
            dialog = parse_dialog(data)
        except RecordError:
            continue  # only structurally valid dialogs can be Dialog objects
        assert validate_dialog(dialog) == validate_dialog(data), f"line {n}"


def test_structural_errors_come_back_as_issues():
    issues = validate_dialog({"id": "x", "messages": [{"role": "bot", "content": "hi"}]})
    assert [(i.code, i.path, i.record_id) for i in issues] == [("ROLE_UNKNOWN", "messages[0]", "x")]
    assert [i.code for i in validate_dialog(["not", "a", "dialog"])] == ["TYPE_WRONG"]


def test_config_disables_and_demotes():
    d = {"id": "y", "messages": [{"role": "user", "content": "mail a.b@example.com"}, {"role": "assistant", "content": "ok"}]}
    assert [(i.code, i.severity) for i in validate_dialog(d)] == [("FEW_TURNS", "warning"), ("PII_EMAIL", "warning")]
    assert validate_dialog(d, ValidateConfig(disabled=resolve_codes(["pii"]), min_turns=1)) == []
    loop = {"id": "z", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "x" * 30},
                                    {"role": "user", "content": "b"}, {"role": "assistant", "content": "x" * 30}]}
    assert [(i.code, i.severity) for i in validate_dialog(loop, ValidateConfig(min_turns=1))] == [("COPY_LOOP", "error")]
    assert [(i.code, i.severity) for i in validate_dialog(loop, ValidateConfig(min_turns=1, warn=frozenset({"COPY_LOOP"})))] == [
        ("COPY_LOOP", "warning")]


def test_checker_is_built_once_per_config():
    a, b = ValidateConfig(min_turns=2), ValidateConfig(min_turns=2)
    assert _checker(a) is _checker(b)
    assert _checker(a) is not _checker(ValidateConfig(min_turns=1))
