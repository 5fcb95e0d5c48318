"""Proof it learns (slow, CPU, minutes): SFT memorizes a task-oriented set, DPO separates mined pairs.

One tiny model is trained with SFT on 8 booking dialogs (tool call, tool result, confirmation);
then DPO starts from that SFT run on pairs whose rejected reply is a wrong confirmation.
"""

from __future__ import annotations

import json

import pytest
from train_support import (
    booking_dialog,
    booking_pairs,
    one_thread,  # noqa: F401  (fixture)
    write_jsonl,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]
N = 8


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from click.testing import CliRunner

    from dialogkit.cli import cli
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    d = tmp_path_factory.mktemp("learn")
    data = write_jsonl(d / "dialogs.jsonl", [booking_dialog(i) for i in range(N)])
    init_tiny_from_data(str(data), d / "tiny", TinyConfig(seed=0), vocab_size=800)
    run = d / "sft"
    res = CliRunner().invoke(cli, [
        "train", "sft", "--model", str(d / "tiny"), "--data", str(data), "--output", str(run), "--adapter", "full",
        "--set", "max_steps=160", "--set", "learning_rate=3e-3", "--set", "lr_scheduler_type=constant_with_warmup",
        "--set", "warmup_steps=5", f"--set=per_device_train_batch_size={N}", "--set", "logging_steps=10",
        "--set", "save_steps=1000", "--set", "eval_fraction=0"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return {"dir": d, "data": data, "run": run}


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_sft_loss_at_least_halves(trained):
    losses = [m["loss"] for m in _metrics(trained["run"]) if "loss" in m]
    assert losses[-1] <= losses[0] / 2, losses


def test_greedy_decoding_reproduces_trained_turns(trained):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dialogkit.prepare.render import template_inputs
    from dialogkit.records import parse_dialog

    final = trained["run"] / "final"
    tok = AutoTokenizer.from_pretrained(final)
    model = AutoModelForCausalLM.from_pretrained(final).eval()
    exact = total = 0
    for i in range(N):
        msgs, tools = template_inputs(parse_dialog(booking_dialog(i)))
        for k, m in enumerate(msgs):
            if m["role"] != "assistant":
                continue
            prompt = tok.apply_chat_template(msgs[:k], tools=tools, add_generation_prompt=True, tokenize=False)
            target = tok.apply_chat_template(msgs[: k + 1], tools=tools, tokenize=False)[len(prompt):]
            ids = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids
            with torch.no_grad():
                out = model.generate(ids, max_new_tokens=64, do_sample=False)
            text = tok.decode(out[0, ids.shape[1]:])
            total += 1
            exact += text.strip() == target.strip()  # generation stops at <|im_end|>; the "\n" follows it
    assert total == 3 * N
    assert exact / total >= 0.75, f"{exact}/{total} assistant turns reproduced exactly"


def test_user_and_tool_tokens_not_learned(trained):
    """Every token here is determined by its context, yet only assistant tokens were learned."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dialogkit.prepare import PrepareConfig, prepare_dialogs
    from dialogkit.records import parse_dialog

    final = trained["run"] / "final"
    tok = AutoTokenizer.from_pretrained(final)
    model = AutoModelForCausalLM.from_pretrained(final).eval()
    rows = list(prepare_dialogs([parse_dialog(booking_dialog(i)) for i in range(N)], tok, PrepareConfig()))
    trained_nll, other_nll, tool_nll = [], [], []
    for row in rows:
        ids = torch.tensor([row.input_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0, :-1], -1)
        nll = -logp.gather(1, ids[0, 1:, None])[:, 0]
        labels = torch.tensor(row.labels[1:])
        trained_nll.append(nll[labels != -100])
        other_nll.append(nll[labels == -100])
        text = tok.decode(row.input_ids)
        start = text.index("<tool_response>")
        # tokens of the tool result '{"ok": true, "ref": "R1xx"}': fixed given the dialog, never trained
        n_before = len(tok(text[:start], add_special_tokens=False).input_ids)
        tool_nll.append(nll[n_before: n_before + 12])
    a, o, t = (torch.cat(x).mean().item() for x in (trained_nll, other_nll, tool_nll))
    assert a < 0.1, a
    assert o > 1.0 and o > 10 * a, (a, o)
    assert t > 1.0, t


def test_dpo_from_sft_separates_pairs(trained):
    from click.testing import CliRunner

    from dialogkit.cli import cli

    d = trained["dir"]
    pairs = write_jsonl(d / "pairs.jsonl", booking_pairs(N))
    run = d / "dpo"
    res = CliRunner().invoke(cli, [
        "train", "dpo", "--model", str(trained["run"]), "--data", str(pairs), "--eval-data", str(pairs),
        "--output", str(run), "--set", "max_steps=30", "--set", "learning_rate=5e-3", "--set", "beta=0.1",
        f"--set=per_device_train_batch_size={N}", "--set", "logging_steps=5", "--set", "eval_steps=15",
        "--set", "save_steps=1000", "--set", "lora_r=8", "--set", "lora_alpha=16"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    manifest = json.loads((run / "data_manifest.json").read_text())
    assert manifest["model"]["base"] == str((trained["run"] / "final").resolve())  # starts from the SFT model
    metrics = _metrics(run)
    train = [m for m in metrics if "rewards/margins" in m]
    evals = [m for m in metrics if "eval_rewards/accuracies" in m]
    assert train[-1]["rewards/margins"] > train[0]["rewards/margins"]
    assert evals[-1]["eval_rewards/accuracies"] >= 0.8
    assert evals[-1]["eval_rewards/margins"] > 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["eval_rewards/accuracies"] >= 0.8
