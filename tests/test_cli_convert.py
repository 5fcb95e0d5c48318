"""``dialogkit convert`` end to end: every kind of bad input, .gz, JSON report, usage errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "datasets"

def _call(fmt: str, cid: str, name: str, args: str) -> dict:
    if fmt == "openai":
        return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
    return {"id": cid, "name": name, "arguments": args}


def lines(fmt: str) -> list[bytes]:
    """Good, truncated, invalid UTF-8, unknown role, wrong type, tool args not JSON, good."""
    good = {"id": "g1", "messages": [
        {"role": "user", "content": "北京天气？"},
        {"role": "assistant", "tool_calls": [_call(fmt, "c1", "w", "{\"city\": \"北京\"}")]},
        {"role": "tool", "tool_call_id": "c1", "name": "w", "content": "晴"},
        {"role": "assistant", "content": "晴。"}]}
    bad_args = {"id": "a1", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
        _call(fmt, "c", "f", "{city: Rome}")]}]}
    return [
        json.dumps(good, ensure_ascii=False).encode(),
        b'{"id": "t1", "messages": [{"role": "user", "content": "cut',
        b'{"id": "u1", "messages": [{"role": "user", "content": "\xff\xfe bad bytes"}]}',
        json.dumps({"id": "r1", "messages": [{"role": "bot", "content": "hi"}]}).encode(),
        json.dumps({"id": "w1", "messages": [{"role": "user", "content": 5}]}).encode(),
        json.dumps(bad_args).encode(),
        json.dumps(dict(good, id="g2")).encode(),
    ]


EXPECTED = [
    ":2: ", "not valid JSON", "(JSON_TRUNCATED)",
    ":3: ", "invalid UTF-8", "(UTF8_INVALID)",
    ":4: record r1: messages[0]", "unknown role 'bot'", "(ROLE_UNKNOWN)",
    ":5: record w1: messages[0].content", "(TYPE_WRONG)",
    ":6: record a1: messages[1].tool_calls[0].arguments", "(TOOL_ARGS_NOT_JSON)",
]


@pytest.mark.parametrize("src", ["openai", "dialogkit"])
def test_every_bad_line_is_reported_and_good_ones_converted(tmp_path: Path, run_cli, src) -> None:
    bad_file = tmp_path / "mixed.jsonl"
    bad_file.write_bytes(b"\n".join(lines(src)) + b"\n")
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    res = run_cli("convert", "--from", src, "--to", "dialogkit", bad_file, out, "--rejects", rejects)
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    err = res.stderr.splitlines()
    assert len(err) == 5
    for line, expect in zip(err, [EXPECTED[0:3], EXPECTED[3:6], EXPECTED[6:9], EXPECTED[9:11], EXPECTED[11:13]]):
        assert line.startswith(str(bad_file) + expect[0]) and all(e in line for e in expect[1:]), line
    assert "read 7, written 2, rejected 5" in res.stdout
    assert [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()] == ["g1", "g2"]
    rej = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rej] == [2, 3, 4, 5, 6]
    assert rej[0]["text"].startswith('{"id": "t1"') and rej[0]["issues"][0]["code"] == "JSON_TRUNCATED"
    assert rej[2]["record"]["messages"][0]["role"] == "bot"


def test_gz_in_and_out_keep_chinese_readable(tmp_path: Path, run_cli) -> None:
    src = tmp_path / "in.jsonl.gz"
    src.write_bytes(gzip.compress((SAMPLES / "hotel_zh" / "dialogs.jsonl").read_bytes()))
    res = run_cli("convert", "--from", "dialogkit", "--to", "sharegpt", src, tmp_path / "lf.json.gz", "--keep-extras")
    assert res.exit_code == 0, res.output
    text = gzip.decompress((tmp_path / "lf.json.gz").read_bytes()).decode("utf-8")
    assert text.startswith("[\n") and "北京" in text or "上海" in text
    assert "\\u" not in text
    res = run_cli("convert", "--from", "sharegpt", "--to", "dialogkit", tmp_path / "lf.json.gz", tmp_path / "b.jsonl.gz")
    assert res.exit_code == 0
    assert gzip.decompress((tmp_path / "b.jsonl.gz").read_bytes()) == (SAMPLES / "hotel_zh" / "dialogs.jsonl").read_bytes()


def test_json_report_and_dropped_warning(tmp_path: Path, run_cli) -> None:
    src = SAMPLES / "restaurant_en" / "dialogs.jsonl"
    res = run_cli("convert", "--from", "dialogkit", "--to", "openai", src, tmp_path / "o.jsonl", "--format", "json")
    assert res.exit_code == 0
    report = json.loads(res.stdout)
    n = len(src.read_text(encoding="utf-8").splitlines())
    assert n > 50
    assert report["read"] == report["written"] == n and report["rejected"] == 0
    assert report["dropped"] == {"acts": n, "goal": n, "state": n}
    res = run_cli("convert", "--from", "dialogkit", "--to", "openai", src, tmp_path / "o2.jsonl")
    warnings = [x for x in res.stderr.splitlines() if x.startswith("warning:")]
    assert warnings == [f"warning: openai cannot carry acts: dropped from {n} dialog(s)",
                        f"warning: openai cannot carry goal: dropped from {n} dialog(s)",
                        f"warning: openai cannot carry state: dropped from {n} dialog(s)"]


def test_many_issues_are_capped(tmp_path: Path, run_cli) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text("".join(json.dumps({"id": f"x{i}", "messages": [{"role": "bot", "content": ""}]}) + "\n"
                           for i in range(30)))
    res = run_cli("convert", "--from", "openai", "--to", "dialogkit", src, tmp_path / "o.jsonl")
    assert res.exit_code == 1
    err = res.stderr.splitlines()
    assert len(err) == 21 and err[-1].startswith("... and 10 more")


def test_usage_errors_exit_2(tmp_path: Path, run_cli) -> None:
    src = SAMPLES / "chat_mixed" / "dialogs.jsonl"
    res = run_cli("convert", "--from", "sharegtp", "--to", "dialogkit", src, tmp_path / "o.jsonl")
    assert res.exit_code == 2 and "Did you mean: sharegpt" in res.output
    res = run_cli("convert", "--from", "dialogkit", "--to", "openai", src, tmp_path / "o.jsonl", "--schema", src)
    assert res.exit_code == 2 and "--schema does not apply" in res.output
    assert not (tmp_path / "o.jsonl").exists()


def test_never_overwrites_the_input(tmp_path: Path, run_cli) -> None:
    src = tmp_path / "d.jsonl"
    data = (SAMPLES / "chat_mixed" / "dialogs.jsonl").read_bytes()
    src.write_bytes(data)
    res = run_cli("convert", "--from", "dialogkit", "--to", "openai", src, src)
    assert res.exit_code == 1 and "refusing to overwrite an input" in res.output
    assert src.read_bytes() == data


def test_missing_input(tmp_path: Path, run_cli) -> None:
    res = run_cli("convert", "--from", "openai", "--to", "dialogkit", tmp_path / "nope.jsonl", tmp_path / "o.jsonl")
    assert res.exit_code == 1 and "no such file" in res.output and not (tmp_path / "o.jsonl").exists()


def test_help_has_examples(run_cli) -> None:
    res = run_cli("convert", "--help")
    assert res.exit_code == 0
    assert "dialogkit convert --from sgd --to dialogkit" in res.output and "--dataset-info" in res.output


def test_convert_does_not_import_torch() -> None:
    code = "import sys, dialogkit.cli.convert, dialogkit.convert, dialogkit.formats.sgd, dialogkit.formats.hf; " \
           "print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
