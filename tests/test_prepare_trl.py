"""Against TRL itself: SFTTrainer's own dataset preparation, and training from prepared Parquet.

Slow (they build trainers); the fast suite compares with ``apply_chat_template`` masks, which
is what SFTTrainer calls (tests/test_prepare.py).
"""

from __future__ import annotations

import json
import os

import pytest

from dialog_factory import make_dialogs
from dialogkit.prepare import PrepareConfig, prepare_dialogs
from dialogkit.prepare.render import template_inputs
from dialogkit.records import parse_dialog

pytestmark = pytest.mark.slow


def _tiny_model(tok):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    return Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1))


def _args(tmp_path, **kw):
    from trl import SFTConfig

    return SFTConfig(output_dir=str(tmp_path), report_to=[], use_cpu=True, bf16=False, max_length=None,
                     dataset_num_proc=None, **kw)


def _trl_row(dialog):
    msgs, tools = template_inputs(dialog)
    for m in msgs:  # string arguments: Arrow would null-fill differing argument keys (TRL PR #5118)
        for c in m.get("tool_calls", []):
            c["function"]["arguments"] = json.dumps(c["function"]["arguments"], ensure_ascii=False)
    return {"messages": msgs, "tools": json.dumps(tools or [], ensure_ascii=False)}


@pytest.mark.parametrize("n", [300])
def test_labels_equal_sft_trainer_preparation_qwen3(shared_dir, tmp_path, n):
    """TRL refuses the shared Qwen3 template; with TRL's qwen3_training.jinja both must agree exactly."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from pathlib import Path

    import trl
    from datasets import Dataset
    from trl import SFTTrainer
    from trl.chat_template_utils import get_training_chat_template

    from dialogkit.prepare import load_tokenizer

    tok = load_tokenizer(shared_dir / "tokenizers/qwen3")
    with pytest.raises(ValueError, match="not training-compatible"):
        get_training_chat_template(tok)  # TRL can't patch this template; dialogkit prepares it per turn
    template = (Path(trl.__file__).parent / "chat_templates/qwen3_training.jinja").read_text()
    tok.chat_template = template
    dialogs = [parse_dialog(d) for d in make_dialogs(n, seed=21)]
    ds = Dataset.from_list([_trl_row(d) for d in dialogs])
    trainer = SFTTrainer(model=_tiny_model(tok), processing_class=tok, train_dataset=ds,
                         args=_args(tmp_path, assistant_only_loss=True, shuffle_dataset=False))
    prepared = trainer.train_dataset
    rows = list(prepare_dialogs(dialogs, tok, PrepareConfig(), template))
    assert len(rows) == len(prepared) == n
    for i, row in enumerate(rows):
        assert row.input_ids == prepared[i]["input_ids"], dialogs[i].id
        assert row.labels == prepared[i]["labels"], dialogs[i].id


def test_trl_trains_on_prepared_parquet(run_cli, tmp_path):
    """Pre-tokenized rows go straight into SFTTrainer: no re-tokenizing, labels kept, a step runs."""
    from datasets import load_dataset
    from trl import SFTTrainer

    from dialogkit.tokenizer_tiny import build_tiny_tokenizer

    tok_dir = tmp_path / "tok"
    tok = build_tiny_tokenizer(vocab_size=500, out_dir=tok_dir)
    src = tmp_path / "d.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in make_dialogs(16, seed=2)) + "\n")
    out = tmp_path / "t.parquet"
    assert run_cli("prepare", src, "--tokenizer", tok_dir, "--out", out).exit_code == 0
    ds = load_dataset("parquet", data_files=str(out), split="train")
    trainer = SFTTrainer(model=_tiny_model(tok), processing_class=tok, train_dataset=ds,
                         args=_args(tmp_path / "run", max_steps=1, per_device_train_batch_size=2,
                                    shuffle_dataset=False))
    assert trainer.train_dataset["labels"] == ds["labels"]
    result = trainer.train()
    assert result.training_loss == result.training_loss and result.training_loss > 0  # finite
