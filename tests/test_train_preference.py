"""`dialogkit train dpo|simpo|orpo`: scored turns, exact pair tokens in TRL, reference = SFT model."""

from __future__ import annotations

import json

import pytest
from train_support import (
    booking_dialog,
    booking_pairs,
    one_thread,  # noqa: F401  (fixture)
    write_jsonl,
)

from dialogkit.errors import Issue
from dialogkit.records import parse_pair
from dialogkit.train.data import scored_turn

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = ["--set", "per_device_train_batch_size=2", "--set", "logging_steps=1", "--set", "save_steps=2",
        "--set", "lora_r=4", "--set", "lora_alpha=8", "--set", "eval_fraction=0"]


def _pair(chosen, rejected, prompt=None):
    prompt = prompt or [{"role": "user", "content": "Book Rome for 2."}]
    return parse_pair({"id": "p", "prompt": prompt, "chosen": chosen, "rejected": rejected})


def test_scored_turn_moves_shared_tool_exchange_into_prompt():
    call = {"role": "assistant", "tool_calls": [{"id": "c1", "name": "book", "arguments": {"city": "Rome"}}]}
    result = {"role": "tool", "tool_call_id": "c1", "name": "book", "content": {"ok": True}}
    sp = scored_turn(_pair([call, result, {"role": "assistant", "content": "Booked."}],
                           [call, result, {"role": "assistant", "content": "Failed."}]))
    assert not isinstance(sp, Issue)
    assert [m.role for m in sp.prompt] == ["user", "assistant", "tool"]
    assert sp.chosen[0].content == "Booked." and sp.rejected[0].content == "Failed."
    assert len(sp.chosen) == len(sp.rejected) == 1


def test_scored_turn_cuts_after_the_differing_assistant_turn():
    result = {"role": "tool", "tool_call_id": "c1", "name": "book", "content": {"ok": True}}
    good = {"role": "assistant", "tool_calls": [{"id": "c1", "name": "book", "arguments": {"city": "Rome"}}]}
    bad = {"role": "assistant", "tool_calls": [{"id": "c1", "name": "book", "arguments": {"city": "Oslo"}}]}
    sp = scored_turn(_pair([good, result], [bad, result]))
    # only the tool call is scored: its result is never part of the completion
    assert [m.role for m in sp.chosen] == ["assistant"] and [m.role for m in sp.rejected] == ["assistant"]
    assert sp.chosen[0].tool_calls[0].arguments == {"city": "Rome"}


def test_scored_turn_identical_sides_is_an_issue():
    same = [{"role": "assistant", "content": "Same."}]
    issue = scored_turn(_pair(same, same), {"file": "p.jsonl", "line": 3})
    assert isinstance(issue, Issue) and issue.code == "PAIR_IDENTICAL"
    assert issue.located(file="p.jsonl", line=3).format().startswith("p.jsonl:3: record p:")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    pytest.importorskip("trl")
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    d = tmp_path_factory.mktemp("pref")
    data = write_jsonl(d / "dialogs.jsonl", [booking_dialog(i) for i in range(4)])
    pairs = booking_pairs(4)
    same = dict(pairs[0], id="dup", rejected=pairs[0]["chosen"])
    pfile = write_jsonl(d / "pairs.jsonl", pairs + [same], bad_lines=['{"id": "nochosen", "prompt": []}'])
    init_tiny_from_data(str(data), d / "tiny", TinyConfig(seed=2), vocab_size=500)
    return {"dir": d, "data": data, "pairs": pfile, "model": d / "tiny"}


def test_pair_tokens_in_trl_equal_prepare(env, tmp_path):
    """DPO and SimPO/ORPO datasets, as TRL tokenized them, hold prepare's exact pair ids."""
    from dialogkit.prepare import ContinuationEncoder
    from dialogkit.train.config import load_config
    from dialogkit.train.data import load_pairs
    from dialogkit.train.model import load_model, load_tokenizer, resolve_model
    from dialogkit.train.preference import align_with_prepare, pair_rows, preference_trainer

    loaded = load_pairs(str(env["pairs"]))
    pairs = [scored_turn(p) for p in loaded.records[:4]]
    for method in ("dpo", "orpo"):
        cfg = load_config(method, cli={"model": str(env["model"])}, sets={"per_device_train_batch_size": 2})
        src = resolve_model(cfg.model)
        tok = load_tokenizer(cfg, src)
        rows = pair_rows(pairs, tok, {})
        enc = ContinuationEncoder(tok)
        for p, ids in zip(pairs, rows.ids):
            prompt_ids, chosen = enc.encode(p.prompt, p.chosen, p.tools)
            assert ids["prompt_ids"] == prompt_ids
            # scored: the assistant turn up to and including <|im_end|>, nothing of the history
            assert ids["chosen_ids"] == chosen[: chosen.index(tok.eos_token_id) + 1]
            assert tok.decode(ids["chosen_ids"]).startswith("Booked for")
            assert "book_table" in tok.decode(ids["prompt_ids"])  # tools are in the prompt
        model, peft_config = load_model(cfg, src)
        trainer = preference_trainer(cfg, tmp_path / method, model, peft_config, tok, rows, None)
        assert align_with_prepare(trainer, method, rows) == 0  # TRL derived the same ids


def test_dpo_from_sft_run_uses_sft_as_reference(env, run_cli):
    import torch

    sft = env["dir"] / "sft"
    res = run_cli("train", "sft", "--model", env["model"], "--data", env["data"], "--output", sft,
                  "--set", "max_steps=2", *FAST)
    assert res.exit_code == 0, res.output
    dpo = env["dir"] / "dpo"
    res = run_cli("train", "dpo", "--model", sft, "--data", env["pairs"], "--output", dpo, "--set", "max_steps=2", *FAST)
    # two bad records (no chosen; identical sides) are rejected with locations, the rest trains
    assert res.exit_code == 1, res.output
    assert "pairs.jsonl:5: record dup: chosen: chosen and rejected do not differ" in res.stderr
    assert "pairs.jsonl:6: record nochosen" in res.stderr
    manifest = json.loads((dpo / "data_manifest.json").read_text())
    assert manifest["model"]["adapter"] == str(sft / "final")
    assert manifest["model"]["reference"].startswith("sft adapter")
    assert manifest["pairs"]["train"] == 4 and manifest["boundary_fixed"]["train"] == 0
    metrics = [json.loads(line) for line in (dpo / "metrics.jsonl").read_text().splitlines()]
    logged = [m for m in metrics if "loss" in m]
    assert logged and all("rewards/accuracies" in m and "rewards/margins" in m for m in logged)
    # the DPO adapter continues the SFT adapter (same base, same config), and was trained
    from safetensors.torch import load_file

    a = load_file(str(sft / "final" / "adapter_model.safetensors"))
    b = load_file(str(dpo / "final" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)
    assert not (dpo / "final" / "ref").exists()

    # In TRL's trainer the reference adapter ("ref", used for reference log-probs) holds the SFT weights
    from dialogkit.train.config import load_config
    from dialogkit.train.data import load_pairs
    from dialogkit.train.model import load_model, load_tokenizer, resolve_model
    from dialogkit.train.preference import pair_rows, preference_trainer

    cfg = load_config("dpo", cli={"model": str(sft)}, sets={"per_device_train_batch_size": 2})
    src = resolve_model(cfg.model)
    tok = load_tokenizer(cfg, src)
    model, peft_config = load_model(cfg, src)
    assert peft_config is None  # the SFT adapter is continued, no new one stacked on the base
    rows = pair_rows([scored_turn(p) for p in load_pairs(str(env["pairs"])).records[:4]], tok, {})
    trainer = preference_trainer(cfg, env["dir"] / "dpo-inproc", model, peft_config, tok, rows, None)
    assert trainer.ref_model is None and "ref" in trainer.model.peft_config
    # trainer names "...q_proj.lora_A.ref.weight"; the saved SFT adapter "...q_proj.lora_A.weight"
    ref = {n.replace(".ref.", "."): p for n, p in trainer.model.named_parameters() if ".ref." in n}
    assert ref.keys() == a.keys()
    assert all(torch.equal(ref[k].detach().cpu(), a[k]) for k in a)


@pytest.mark.parametrize("method, metric", [("simpo", "rewards/margins"), ("orpo", "log_odds_ratio")])
def test_simpo_orpo_smoke(env, run_cli, method, metric):
    out = env["dir"] / method
    res = run_cli("train", method, "--model", env["model"], "--data", env["pairs"], "--output", out,
                  "--set", "max_steps=2", *FAST)
    assert res.exit_code == 1 and f"trained {method} (lora) to step 2" in res.stdout, res.output
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any(metric in m for m in metrics)
    assert (out / "final" / "adapter_config.json").is_file()
    if method == "simpo":
        cfg = json.loads((out / "summary.json").read_text())
        assert cfg["reference"].startswith("none")
