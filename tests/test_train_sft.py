"""`dialogkit train sft` end to end on a tiny local model: run files, exact labels, resume, adapters, bad input."""

from __future__ import annotations

import json

import pytest
import yaml
from train_support import (
    booking_dialog,
    one_thread,  # noqa: F401  (fixture)
    write_jsonl,
)

pytest.importorskip("trl")
pytestmark = pytest.mark.usefixtures("one_thread")

FAST = ["--set", "per_device_train_batch_size=2", "--set", "logging_steps=1", "--set", "save_steps=2",
        "--set", "lora_r=4", "--set", "lora_alpha=8"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A tiny model built from the data, a data file with 1 bad record, and one 2-step SFT run."""
    from dialogkit.cli import main  # noqa: F401  (import check: the CLI group loads)
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    d = tmp_path_factory.mktemp("sft")
    data = write_jsonl(d / "dialogs.jsonl", [booking_dialog(i) for i in range(6)],
                       bad_lines=['{"id": "broken", "messages": [{"role": "user"}]}'])
    init_tiny_from_data(str(data), d / "tiny", TinyConfig(seed=1), vocab_size=500)
    return {"dir": d, "data": data, "model": d / "tiny"}


@pytest.fixture(scope="module")
def sft_run(env):
    from click.testing import CliRunner

    from dialogkit.cli import cli

    run = env["dir"] / "run"
    res = CliRunner().invoke(cli, ["train", "sft", "--model", str(env["model"]), "--data", str(env["data"]),
                                   "--output", str(run), "--set", "max_steps=2", "--set", "eval_fraction=0", *FAST],
                             catch_exceptions=False)
    return run, res


def test_sft_run_folder(sft_run, env):
    run, res = sft_run
    # trained, and the bad record is located and rejected (exit 1), good ones still used
    assert res.exit_code == 1, res.output
    assert "trained sft (lora) to step 2" in res.stdout
    assert "dialogs.jsonl:7: record broken: messages[0].content: Field required (FIELD_MISSING)" in res.stderr
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["method"] == "sft" and cfg["adapter"] == "lora" and cfg["training"]["max_steps"] == 2
    assert cfg["model"] == str(env["model"])
    manifest = json.loads((run / "data_manifest.json").read_text())
    (inp,) = manifest["inputs"]
    assert inp["records"] == 7 and inp["good"] == 6 and inp["bad"] == 1 and len(inp["sha256"]) == 64
    assert manifest["prepared"]["train"]["rows"] == 6
    assert manifest["prepared"]["train"]["trained_tokens"] > 0
    rejects = [json.loads(line) for line in (run / "rejects.jsonl").read_text().splitlines()]
    assert rejects[0]["id"] == "broken" and rejects[0]["issues"][0]["code"] == "FIELD_MISSING"
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [m for m in metrics if "loss" in m]
    assert [m["step"] for m in steps] == [1, 2]
    assert all({"loss", "learning_rate", "epoch", "grad_norm"} <= set(m) for m in steps)
    assert (run / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    assert (run / "final" / "adapter_config.json").is_file() and (run / "final" / "tokenizer.json").is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["global_step"] == 2 and summary["final"]["kind"] == "adapter"


def test_adapter_save_load_identical_logits(sft_run, env):
    """The saved adapter, loaded with plain transformers + peft, gives the trainer's logits."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run, _ = sft_run
    final = run / "final"
    tok = AutoTokenizer.from_pretrained(final)
    cfg = json.loads((final / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(env["model"].resolve())
    base = AutoModelForCausalLM.from_pretrained(cfg["base_model_name_or_path"])
    ids = tok("Book a table for 2 in Rome", return_tensors="pt").input_ids
    with torch.no_grad():
        base_logits = base(ids).logits.clone()
        model = PeftModel.from_pretrained(base, final).eval()
        a = model(ids).logits
        again = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(cfg["base_model_name_or_path"]),
                                          final).eval()
        b = again(ids).logits
        # the checkpoint the trainer wrote holds the same adapter
        ck = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(cfg["base_model_name_or_path"]),
                                       run / "checkpoints" / "checkpoint-2").eval()
        c = ck(ids).logits
    assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.allclose(a, base_logits)  # the adapter did change the model


def test_resume_continues_from_checkpoint(sft_run, run_cli):
    run, _ = sft_run
    res = run_cli("train", "sft", "--output", run, "--resume", "--set", "max_steps=4")
    assert res.exit_code == 1, res.output  # same input, same rejected record
    assert "to step 4 (resumed at step 2)" in res.stdout
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "loss" in m] == [1, 2, 3, 4]
    state = json.loads((run / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    assert yaml.safe_load((run / "config.yaml").read_text())["training"]["max_steps"] == 4


def test_trl_trains_exactly_prepare_labels(env, tmp_path):
    """The batches SFTTrainer feeds the model carry prepare's labels token for token (packed or not)."""
    import torch

    from dialogkit.prepare import PrepareConfig, prepare_dialogs
    from dialogkit.records import parse_dialog
    from dialogkit.train.config import load_config
    from dialogkit.train.data import prepare_rows
    from dialogkit.train.model import load_model, load_tokenizer, resolve_model
    from dialogkit.train.sft import sft_trainer

    dialogs = [parse_dialog(booking_dialog(i)) for i in range(4)]
    for pack in (False, True):
        options = {"pack": pack, "max_length": 2048} if pack else {}  # all 4 in one pack
        cfg = load_config("sft", cli={"model": str(env["model"])}, sets={"per_device_train_batch_size": 4})
        src = resolve_model(cfg.model)
        tok = load_tokenizer(cfg, src)
        expected = list(prepare_dialogs(dialogs, tok, PrepareConfig(**options)))
        rows = prepare_rows(dialogs, tok, options)
        model, peft_config = load_model(cfg, src)
        trainer = sft_trainer(cfg, tmp_path / f"run{pack}", model, peft_config, tok, rows, None)
        batch = next(iter(trainer.get_train_dataloader()))
        got = sorted(l[l != -100].tolist() for l in batch["labels"]) if not pack else None
        if pack:
            # padding-free: one flattened row; sample boundaries come back as position resets
            (row,) = expected
            assert batch["input_ids"].shape[0] == 1
            assert batch["input_ids"][0].tolist() == row.input_ids
            assert batch["position_ids"][0].tolist() == row.position_ids
            want = torch.tensor(row.labels)
            want[torch.tensor(row.position_ids) == 0] = -100  # first token of a sample: no target anyway
            assert batch["labels"][0].tolist() == want.tolist()
        else:
            assert got == sorted([t for t in r.labels if t != -100] for r in expected)
            for lab, ids in zip(batch["labels"], batch["input_ids"]):
                keep = lab != -100
                assert torch.equal(lab[keep], ids[keep])
        # what is trained decodes to assistant output only: no user text, no tool result
        trained = tok.decode([t for t in expected[0].labels if t != -100])
        assert "Reference R100" in trained and "book_table" in trained and "<|im_end|>" in trained
        assert "Book a table for" not in trained and '"ok"' not in trained and "You book" not in trained


@pytest.mark.parametrize("args, code, text", [
    (["--set", "lora_rr=4"], 2, "unknown config key 'lora_rr'"),
    (["--set", "max_stepz=4"], 2, "Did you mean: max_steps"),
    (["--adapter", "qlora"], None, None),
])
def test_cli_config_errors(env, run_cli, tmp_path, args, code, text):
    res = run_cli("train", "sft", "--model", env["model"], "--data", env["data"], "--output", tmp_path / "r", *args)
    if args[0] == "--adapter":
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA present: QLoRA is allowed here")
        assert res.exit_code == 2 and "needs a CUDA GPU" in res.stderr
    else:
        assert res.exit_code == code and text in res.stderr
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_cli_input_errors(env, run_cli, tmp_path):
    res = run_cli("train", "sft", "--model", tmp_path / "no-model", "--data", env["data"], "--output", tmp_path / "r")
    assert res.exit_code == 1 and "no-model: no such model folder" in res.stderr
    res = run_cli("train", "sft", "--model", env["model"], "--data", tmp_path / "none.jsonl", "--output", tmp_path / "r")
    assert res.exit_code == 1 and "none.jsonl: no such file" in res.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    res = run_cli("train", "sft", "--model", env["model"], "--data", env["data"], "--output", busy)
    assert res.exit_code == 2 and "exists and is not empty" in res.stderr
    assert (busy / "keep.txt").read_text() == "x"
    res = run_cli("train", "sft", "--output", tmp_path / "nothing", "--resume", "--model", env["model"],
                  "--data", env["data"])
    assert res.exit_code == 2 and "nothing to resume" in res.stderr


def test_train_help(run_cli):
    res = run_cli("train", "--help")
    assert res.exit_code == 0 and all(m in res.stdout for m in ("sft", "dpo", "simpo", "orpo"))
    res = run_cli("train", "sft", "--help")
    assert "Examples:" in res.stdout and "--resume" in res.stdout and "--set" in res.stdout


def test_cli_import_does_not_load_torch():
    import subprocess
    import sys

    code = ("import sys, dialogkit.cli.train, dialogkit.cli.model, dialogkit.train.config; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_merge_and_heldout_eval(env, run_cli):
    """--set merge=true writes final/merged (plain transformers) with the adapter's logits; eval is held out."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    many = write_jsonl(env["dir"] / "many.jsonl", [booking_dialog(i) for i in range(20)])
    run = env["dir"] / "merged"
    res = run_cli("train", "sft", "--model", env["model"], "--data", many, "--output", run,
                  "--set", "max_steps=1", "--set", "merge=true", "--set", "eval_fraction=0.1", *FAST)
    assert res.exit_code == 0, res.output
    manifest = json.loads((run / "data_manifest.json").read_text())
    assert manifest["dialogs"] == {"train": 18, "eval": 2, "eval_source": "held_out"}
    assert len(manifest["eval_ids"]) == 2
    summary = json.loads((run / "summary.json").read_text())
    assert "eval_loss" in summary and summary["final"]["merged"] == str(run / "final" / "merged")
    ids = torch.tensor([[5, 17, 42, 8, 99]])
    merged = AutoModelForCausalLM.from_pretrained(run / "final" / "merged").eval()
    adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(env["model"]), run / "final").eval()
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, adapter(ids).logits, atol=1e-4)


def test_build_args_rules(tmp_path):
    from dialogkit.errors import UsageError
    from dialogkit.train.args import build_args
    from dialogkit.train.config import load_config

    cfg = load_config("sft", sets={"early_stopping_patience": 2, "eval_steps": 5})
    with pytest.raises(UsageError, match="needs an eval set"):
        build_args(cfg, tmp_path, has_eval=False)
    args = build_args(cfg, tmp_path, has_eval=True)
    assert args.load_best_model_at_end and args.metric_for_best_model == "eval_loss"
    assert args.eval_steps == 5 and args.save_steps == 5 and args.report_to == []
    # LoRA-sized default learning rate, TRL's own name wins when given
    assert build_args(load_config("sft"), tmp_path, has_eval=False).learning_rate == 1e-4
    assert build_args(load_config("sft", sets={"learning_rate": 3e-5}), tmp_path, has_eval=False).learning_rate == 3e-5
    simpo = build_args(load_config("simpo"), tmp_path, has_eval=False)
    assert simpo.loss_type == "simpo" and simpo.cpo_alpha == 0.0
    # a bare max_length is prepare's (length is budgeted by turns there); TRL's own is refused for SFT
    assert load_config("sft", sets={"max_length": 64}).prepare == {"max_length": 64}
    with pytest.raises(UsageError, match="managed by dialogkit"):
        cfg = load_config("sft", sets={"training.max_length": 64})
        build_args(cfg, tmp_path, has_eval=False, extra={"max_length": None})
