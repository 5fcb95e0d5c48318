"""``dialogkit validate`` end to end through the CLI, on a file mixing every defect."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest

ASSETS = Path(__file__).parent / "assets" / "validate"
MIXED = ASSETS / "mixed.jsonl"
EXPECTED = {int(k): v for k, v in json.loads((ASSETS / "mixed.expected.json").read_text()).items()}
GOOD = {n for n, codes in EXPECTED.items() if all(c.startswith("PII_") or c in ("FEW_TURNS", "SYSTEM_MID_DIALOG") for c in codes)}


def _json(result) -> dict:
    assert result.stdout.lstrip().startswith("{"), result.output
    return json.loads(result.stdout)


def _codes_by_line(issues: list[dict]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for i in issues:
        out.setdefault(i["line"], set()).add(i["code"])
    return out


def test_mixed_file_reports_every_defect_and_splits_outputs(run_cli, tmp_path):
    out, rejects = tmp_path / "clean.jsonl", tmp_path / "rejects.jsonl"
    r = run_cli("validate", MIXED, "--format", "json", "--out", out, "--rejects", rejects)
    assert r.exit_code == 1
    report = _json(r)
    got = _codes_by_line(report["issues"])
    for line, codes in EXPECTED.items():
        assert got.get(line, set()) == set(codes), f"line {line}"
    errors = {i["line"] for i in report["issues"] if i["severity"] == "error"}
    assert errors == set(EXPECTED) - GOOD
    for issue in report["issues"]:
        assert set(issue) >= {"line", "id", "path", "code", "severity", "message"}
        assert issue["severity"] == ("warning" if issue["code"].startswith("PII_") or issue["code"] in
                                     ("FEW_TURNS", "SYSTEM_MID_DIALOG") else "error")
    # --out: exactly the error-free lines, byte for byte; --rejects: every other line, with reasons.
    original = MIXED.read_bytes().split(b"\n")
    assert out.read_bytes().split(b"\n")[:-1] == [original[n - 1] for n in sorted(GOOD)]
    rej = [orjson.loads(x) for x in rejects.read_bytes().splitlines()]
    assert [x["line"] for x in rej] == sorted(set(EXPECTED) - GOOD)
    assert all(x["issues"] and x["file"] == str(MIXED) for x in rej)
    assert next(x for x in rej if x["line"] == 3)["text"].startswith('{"id": "d03"')
    s = report["summary"]
    assert (s["dialogs"], s["clean"], s["rejected"]) == (len(EXPECTED), len(GOOD), len(EXPECTED) - len(GOOD))
    assert s["outputs"]["out"]["records"] == len(GOOD)


def test_text_output_locates_issues(run_cli):
    r = run_cli("validate", MIXED, "--max-issues", "100")
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    assert f"{MIXED}:13: dialog d13: messages[2].tool_calls[0].arguments.to: 7 is not of type 'string' (TOOL_ARGS_SCHEMA)" in r.output
    assert f"{MIXED}:5: dialog d05: messages[1]: unknown role 'customer'" in r.output
    assert f"{MIXED}:3: not valid JSON" in r.output and "(JSON_TRUNCATED)" in r.output
    assert "TOOL_RESULT_ORPHAN" in r.output and "28 dialogs" in r.output


def test_clean_file_exits_zero_with_warnings(run_cli, tmp_path):
    clean = tmp_path / "c.jsonl"
    run_cli("validate", MIXED, "--out", clean)
    r = run_cli("validate", clean, "--format", "json")
    assert r.exit_code == 0
    report = _json(r)
    assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] > 0


def test_disable_and_warn(run_cli, tmp_path):
    out = tmp_path / "o.jsonl"
    r = run_cli("validate", MIXED, "--format", "json", "--disable", "ROLE_ORDER,COPY_LOOP", "--disable", "pii",
                "--warn", "TOOL_UNDECLARED", "--out", out)
    codes = {i["code"] for i in _json(r)["issues"]}
    assert not codes & {"ROLE_ORDER", "COPY_LOOP", "PII_PHONE", "PII_EMAIL"}
    undeclared = [i for i in _json(r)["issues"] if i["code"] == "TOOL_UNDECLARED"]
    assert undeclared and undeclared[0]["severity"] == "warning"
    ids = [orjson.loads(x)["id"] for x in out.read_bytes().splitlines()]
    assert {"d09", "d11", "d22", "d28"} <= set(ids)  # their only errors were disabled or demoted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--disable", "FEW_TURN"], "Did you mean: FEW_TURNS"),
        (["--disable", "JSON_INVALID"], "structural code cannot be changed"),
        (["--tokenizer", "x"], "--tokenizer and --max-length go together"),
        (["--from", "sharegtp"], "unknown format"),
    ],
)
def test_usage_errors_exit_2(run_cli, args, message):
    r = run_cli("validate", MIXED, *args)
    assert r.exit_code == 2
    assert message in r.output


def test_refuses_to_overwrite_input_and_missing_file(run_cli, tmp_path):
    copy = tmp_path / "in.jsonl"
    shutil.copy(MIXED, copy)
    r = run_cli("validate", copy, "--out", copy)
    assert r.exit_code == 1 and "refusing to overwrite" in r.output
    assert copy.read_bytes() == MIXED.read_bytes()
    r = run_cli("validate", tmp_path / "missing.jsonl")
    assert r.exit_code == 1 and "no such file" in r.output
    r = run_cli("validate", tmp_path)
    assert r.exit_code == 1 and "is a folder" in r.output


def test_redact_replaces_pii_with_typed_placeholders(run_cli, tmp_path):
    red = tmp_path / "red.jsonl"
    r = run_cli("validate", MIXED, "--redact", red, "--format", "json")
    assert r.exit_code == 1
    text = red.read_text(encoding="utf-8")
    for leaked in ("13812345678", "li.lei@example.com", "11010519491231002X", "6222 0212 3456 7894", "203.0.113.9"):
        assert leaked not in text
    d23 = next(orjson.loads(x) for x in text.splitlines() if orjson.loads(x)["id"] == "d23")
    content = d23["messages"][1]["content"]
    for placeholder in ("[PHONE]", "[EMAIL]", "[ID_CN]", "[BANK_CARD]", "[IP]"):
        assert placeholder in content
    # every record that is a JSON object is in the copy, untouched when it has no PII
    assert len(text.splitlines()) == 24
    assert text.splitlines()[0].encode() == MIXED.read_bytes().splitlines()[0]
    assert _json(r)["summary"]["outputs"]["redact"]["records"] == 24


def test_redact_also_covers_invalid_records(run_cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "z", "messages": [{"role": "customer", "content": "mail me: a.b@example.com"}]}\n')
    red = tmp_path / "red.jsonl"
    r = run_cli("validate", bad, "--redact", red)
    assert r.exit_code == 1 and "ROLE_UNKNOWN" in r.output
    assert "a.b@example.com" not in red.read_text() and "[EMAIL]" in red.read_text()


def test_workers_give_the_same_report(run_cli, tmp_path):
    big = tmp_path / "big.jsonl"
    # Many chunks: repeat the fixture so duplicates span chunk and worker boundaries.
    lines = MIXED.read_bytes().splitlines()
    big.write_bytes(b"\n".join(lines * 40) + b"\n")
    one = _json(run_cli("validate", big, "--format", "json"))
    two = _json(run_cli("validate", big, "--format", "json", "--workers", "2"))
    assert one["issues"] == two["issues"]
    dups = [i for i in one["issues"] if i["code"] == "DUPLICATE_EXACT"]
    assert len(dups) > 39 * 20  # every later copy of each parsed dialog is an exact duplicate


def test_list_rules(run_cli):
    r = run_cli("validate", "--list-rules", "--format", "json")
    assert r.exit_code == 0
    rules = json.loads(r.stdout)
    codes = {x["code"] for x in rules}
    assert {"TOOL_ARGS_SCHEMA", "PII_ID_CN", "TOO_LONG", "DUPLICATE_NEAR", "JSON_INVALID"} <= codes
    docs = (Path(__file__).parents[1] / "docs" / "validate.md").read_text()
    missing = [c for c in codes if f"`{c}`" not in docs]
    assert not missing, f"codes not documented in docs/validate.md: {missing}"


def test_other_formats_and_empty_file(run_cli, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    r = run_cli("validate", empty, "--format", "json")
    assert r.exit_code == 0 and _json(r)["summary"]["dialogs"] == 0
    arr = tmp_path / "arr.json"
    records = [orjson.loads(x) for x in MIXED.read_bytes().splitlines()[:2]]
    arr.write_bytes(orjson.dumps(records))
    out = tmp_path / "o.jsonl"
    r = run_cli("validate", arr, "--format", "json", "--out", out, "--disable", "DUPLICATE_EXACT")
    assert r.exit_code == 0, r.output
    assert [orjson.loads(x) for x in out.read_bytes().splitlines()] == records


def test_gzip_input_same_report(run_cli, tmp_path):
    import gzip

    gz = tmp_path / "mixed.jsonl.gz"
    gz.write_bytes(gzip.compress(MIXED.read_bytes()))
    plain = _json(run_cli("validate", MIXED, "--format", "json"))["issues"]
    zipped = _json(run_cli("validate", gz, "--format", "json"))["issues"]
    assert [(i["line"], i["code"], i["path"]) for i in zipped] == [(i["line"], i["code"], i["path"]) for i in plain]


def test_validate_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, dialogkit.cli.validate, dialogkit.validate; assert 'torch' not in sys.modules; assert 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
