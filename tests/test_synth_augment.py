"""synth --mode augment: rule-based variants keep annotations true."""

from __future__ import annotations

import json

import pytest

from dialogkit.synth.augment import OPS, variant
from dialogkit.synth.check import check_dialog
from dialogkit.synth.outline import OutlineGenerator
from dialogkit.synth.scenario import load_scenario


@pytest.fixture(scope="module")
def dialogs():
    out = []
    for name in ("zh_travel", "en_restaurant_hotel", "support"):
        gen = OutlineGenerator(load_scenario(name), seed=0)
        out += [gen.dialog(i) for i in range(1, 31)]
    return out


@pytest.mark.parametrize("op", ["paraphrase", "typo", "noise"])
def test_surface_variants_keep_slot_values_and_acts(dialogs, op):
    made = 0
    for d in dialogs:
        v = variant(d, op, seed=0)
        if v is None:
            continue
        made += 1
        assert v["metadata"]["variant_of"] == d["id"] and v["id"] != d["id"]
        assert check_dialog(v) == []
        changed = 0
        for a, b in zip(d["messages"], v["messages"]):
            assert a["role"] == b["role"]
            if a["role"] != "user":
                assert a == b  # only user text changes
                continue
            assert a["acts"] == b["acts"]
            changed += a["content"] != b["content"]
            for act in a["acts"]:
                for val in act.get("values", []):
                    if str(val) in a["content"]:
                        assert str(val) in b["content"], (op, a["content"], b["content"])
        assert changed >= 1
    assert made >= len(dialogs) // 2


@pytest.mark.parametrize("op", ["clarify", "refusal", "failure"])
def test_structural_variants_shift_annotations(dialogs, op):
    label = {"clarify": "clarify", "refusal": "refuse", "failure": "call_tool"}[op]
    for d in dialogs[:40]:
        v = variant(d, op, seed=0)
        if v is None:
            continue
        assert check_dialog(v) == []
        assert len(v["messages"]) == len(d["messages"]) + 2
        inserted = [a for a in v["metadata"]["annotations"] if a.get("inserted")]
        assert len(inserted) == 1 and inserted[0]["expected"] == label
        for a in v["metadata"]["annotations"]:
            assert v["messages"][a["message"]].get("expected") == a["expected"]
        if op == "failure":
            i = inserted[0]["message"]
            assert v["messages"][i + 1]["content"]["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert v["messages"][i + 2]["tool_calls"][0]["arguments"] == v["messages"][i]["tool_calls"][0]["arguments"]


def test_cli_augment_end_to_end(run_cli, tmp_path):
    src = tmp_path / "in.jsonl"
    out = tmp_path / "aug.jsonl"
    r = run_cli("synth", "--scenario", "support", "--n", "20", "--out", src, "-q")
    assert r.exit_code == 0
    # one broken line among good ones: reported with its location, the rest still augmented
    lines = src.read_text(encoding="utf-8").splitlines()
    lines.insert(3, '{"id": "broken", "messages": [{"role": "robot", "content": "x"}]}')
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run_cli("synth", "--mode", "augment", "--in", src, "--ops", "paraphrase,refusal", "--out", out)
    assert r.exit_code == 1
    assert f"{src}:4: record broken: messages[0]" in r.stderr and "ROLE_UNKNOWN" in r.stderr
    got = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert {d["metadata"]["augmentation"] for d in got} == {"paraphrase", "refusal"}
    assert len(got) >= 30
    again = tmp_path / "again.jsonl"
    run_cli("synth", "--mode", "augment", "--in", src, "--ops", "paraphrase,refusal", "--out", again, "-q")
    assert again.read_bytes() == out.read_bytes()


def test_cli_augment_bad_ops_and_no_input(run_cli, tmp_path):
    src = tmp_path / "in.jsonl"
    run_cli("synth", "--scenario", "support", "--n", "2", "--out", src, "-q")
    r = run_cli("synth", "--mode", "augment", "--in", src, "--ops", "shout", "--out", tmp_path / "o.jsonl")
    assert r.exit_code == 2 and "unknown augmentation 'shout'" in r.output
    r = run_cli("synth", "--mode", "augment", "--out", tmp_path / "o.jsonl")
    assert r.exit_code == 2 and "--in" in r.output
    r = run_cli("synth", "--mode", "augment", "--in", src, "--out", src)
    assert r.exit_code == 1 and "refusing to overwrite" in r.output


def test_all_ops_listed():
    assert set(OPS) == {"paraphrase", "typo", "noise", "clarify", "refusal", "failure"}
