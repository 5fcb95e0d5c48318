"""The fast path of ``dialogkit validate`` gives exactly what the reference path gives.

``RecordChecker(fast=True)`` (the default) takes shortcuts: a hand-written structural scan,
caches of role-rule results, declared tools and PII messages, a C-level prefilter for copy
loops, findings kept as tuples. ``fast=False`` decides every record with pydantic and runs the
rules plainly. Both must agree on every code, line, path and message, and ``--workers`` (which
reads byte ranges in each worker) must agree with one process, byte for byte.
"""

from __future__ import annotations

import copy
import gzip
import random
from itertools import pairwise
from pathlib import Path

import orjson
import pytest
from dialog_factory import long_dialog, make_dialogs

from dialogkit.validate import ValidateConfig, chunks, resolve_codes, validate_file
from dialogkit.validate.checker import RecordChecker, unpack
from dialogkit.validate.runner import Outputs

ROOT = Path(__file__).resolve().parents[1]
MIXED = ROOT / "tests" / "assets" / "validate" / "mixed.jsonl"
SAMPLES = sorted((ROOT / "datasets").glob("*/dialogs.jsonl"))
CONFIGS = [
    ValidateConfig(),
    ValidateConfig(redact=True, min_turns=1, warn=resolve_codes(["TOOL_UNDECLARED"])),
    ValidateConfig(disabled=resolve_codes(["pii", "ROLE_ORDER"])),
]


def _records(path: Path) -> list[tuple[int, object]]:
    out = []
    for n, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if line.strip():
            try:
                out.append((n, orjson.loads(line)))
            except orjson.JSONDecodeError:
                continue
    return out


def _mutations(seed: int = 5, n: int = 300) -> list[dict]:
    """Valid dialogs with one defect each: a role, a call id, arguments, a repeated reply ..."""
    rng = random.Random(seed)
    base = make_dialogs(60, seed=seed) + [long_dialog()]
    out = []
    for _ in range(n):
        d = copy.deepcopy(rng.choice(base))
        msgs = d["messages"]
        k = rng.randrange(len(msgs))
        m = msgs[k]
        op = rng.randrange(10)
        if op == 0:
            m["role"] = rng.choice(["user", "assistant", "system", "tool", "bot"])
        elif op == 1 and m.get("tool_calls"):
            m["tool_calls"][0]["id"] = rng.choice(["c0", "", m["tool_calls"][0]["id"] + "x"])
        elif op == 2 and m.get("tool_calls"):
            m["tool_calls"][0]["arguments"] = rng.choice([{"to": 7}, {"stars": "five"}, {}, "{bad"])
        elif op == 3 and m["role"] == "assistant" and not m.get("tool_calls"):
            msgs.insert(k + 1, dict(m))  # the same reply twice: a copy loop and a role-order error
        elif op == 4:
            m["content"] = rng.choice(["", " ", "call 13812345678 or mail a.b@example.com", "ab" * 40, 5])
        elif op == 5:
            del msgs[k]
        elif op == 6 and m.get("tool_calls"):
            msgs.insert(k + 1, {"role": "user", "content": "and then?"})  # a call the user interrupts
        elif op == 7 and m["role"] == "assistant":
            m["reasoning"] = "user said 13812345678, ip 203.0.113.9"  # PII outside the content
            for c in m.get("tool_calls") or []:
                c["arguments"] = {"to": "li.lei@example.com"}
        elif op == 8 and m["role"] == "tool":
            del msgs[k]  # an unanswered call
        else:
            d["tools"] = d.get("tools", [])[:1]
        out.append(d)
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "redact-warn", "no-pii"])
def test_fast_path_equals_reference_path(config):
    fast, ref = RecordChecker(config), RecordChecker(config, fast=False)
    cases = [(str(p), n, d) for p in [MIXED, *SAMPLES] for n, d in _records(p)]
    cases += [("mutated", n, d) for n, d in enumerate(_mutations(), 1)]
    differ = [(f, n) for f, n, d in cases if fast.check_data(f, n, d) != ref.check_data(f, n, d)]
    assert not differ, differ[:5]
    # Both paths really ran on defective records: these cases hold errors of many codes.
    codes = {i.code for f, n, d in cases for i in unpack(fast.check_data(f, n, d)).issues}
    assert len(cases) > 500 and len(codes) >= 12, codes


def test_caches_do_not_leak_between_records():
    """The same record checked before and after thousands of others gives the same verdict."""
    checker = RecordChecker(ValidateConfig())
    records = _records(MIXED)
    first = [checker.check_data("f", n, d) for n, d in records]
    for n, d in enumerate(_mutations(seed=9, n=400)):
        checker.check_data("g", n, d)
    assert [checker.check_data("f", n, d) for n, d in records] == first


def _run(path: Path, tmp: Path, workers: int, tag: str) -> tuple[list[dict], dict[str, bytes]]:
    issues: list[dict] = []
    outs = Outputs(str(tmp / f"{tag}.out"), str(tmp / f"{tag}.rej"), str(tmp / f"{tag}.red"))
    validate_file(path, ValidateConfig(), workers=workers, outputs=outs, on_issue=lambda i: issues.append(i.to_dict()))
    return issues, {k: Path(p).read_bytes() for k, p in vars(outs).items()}


def test_workers_reading_byte_ranges_match_one_process(tmp_path, monkeypatch):
    # Small ranges: many chunks, cut inside the file's defects, duplicates across workers.
    big = tmp_path / "big.jsonl"
    lines = MIXED.read_bytes().splitlines()
    big.write_bytes(b"\n".join(lines * 12) + b"\n\n" + lines[0])  # a blank line, no final newline
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1500)
    assert len(list(chunks.span_chunks(big))) > 20
    one_issues, one_files = _run(big, tmp_path, 1, "one")
    two_issues, two_files = _run(big, tmp_path, 2, "two")
    assert one_issues == two_issues
    assert one_files == two_files
    lines_seen = {i["line"] for i in one_issues}
    assert max(lines_seen) == len(lines) * 12 + 2  # the last line, after the blank one
    assert any(i["code"] == "JSON_TRUNCATED" and i["line"] > len(lines) for i in two_issues)
    # every issue's line holds the record it names
    file_lines = big.read_bytes().split(b"\n")
    for i in one_issues:
        if i.get("id") is not None and i["code"] != "ID_DUPLICATE":
            assert f'"{i["id"]}"'.encode() in file_lines[i["line"] - 1], i
    # gzip input is read in byte chunks whose lines are counted by whoever checks them
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(big.read_bytes()))
    for workers in (1, 2):
        gz_issues, _ = _run(gz, tmp_path, workers, f"gz{workers}")
        assert [{**i, "file": None} for i in gz_issues] == [{**i, "file": None} for i in one_issues]


def test_span_chunks_cover_the_file_at_line_ends(tmp_path, monkeypatch):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"".join(b'{"id": "%d", "pad": "%s"}\n' % (i, b"x" * (i * 37 % 500)) for i in range(300)))
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1000)
    spans = [c.span for c in chunks.span_chunks(path)]
    data = path.read_bytes()
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in pairwise(spans))
    assert all(data[e - 1 : e] == b"\n" for _, e in spans)


def test_summary_is_the_same_with_and_without_outputs_and_callback(tmp_path):
    """Counting without output files or a callback takes a shortcut; the summary must not change."""
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"\n".join(MIXED.read_bytes().splitlines() * 8) + b"\n")

    def summary(**kw) -> dict:
        d = validate_file(big, ValidateConfig(), **kw).to_dict()
        return {k: v for k, v in d.items() if k not in ("seconds", "dialogs_per_s", "outputs")}

    plain = summary()
    assert plain["by_code"]["DUPLICATE_EXACT"]["count"] > 100 and plain["warnings"] > 0
    assert summary(on_issue=lambda i: None) == plain
    assert summary(outputs=Outputs(str(tmp_path / "o.jsonl"), str(tmp_path / "r.jsonl"))) == plain
