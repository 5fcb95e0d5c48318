"""Training throughput and peak memory: `dialogkit train sft` vs a plain TRL SFTTrainer run.

Both train the same model on the same dialogs with the same LoRA, batch size, steps and
precision. The baseline is TRL as documented: a conversational dataset (``messages`` + ``tools``
as a JSON string) with ``assistant_only_loss=True``, TRL tokenizing and (with --pack) BFD-packing
itself. dialogkit feeds pre-tokenized rows from ``prepare`` (exact labels; its own packing).

Measured per side: preparation seconds (building the trainer: tokenization, labels, packing),
training seconds, trained-on tokens/s (TRL's ``num_tokens``: non-pad input tokens) and peak
memory (CUDA max allocated on GPU; max RSS on CPU). Each side runs in a fresh process. Ratios are
dialogkit / baseline.

\b
GPU:  python benchmarks/bench_train.py --model /models/Qwen3-0.6B --dialogs 2000 --steps 50 --batch-size 8 --pack
CPU:  python benchmarks/bench_train.py            # tiny model built on the fly, a few steps
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

EN = ["I need a cheap restaurant in the centre.", "Book a table for 4 at 19:00 on Friday.",
      "What is the phone number?", "Can you find me a train to Cambridge on Sunday?", "That is all, thanks."]
ZH = ["帮我订明天中午上海到北京的高铁。", "查下明早重庆到成都票价。", "有没有靠近解放碑的酒店？", "谢谢，就这样吧。"]
REPLY = ["Sure, which day would you like to book for?", "I have booked it. Your reference number is 8XJ2KQ1.",
         "最低128元，平均156元；建议提前1小时到站。", "There are 5 trains on Sunday. When would you like to leave?"]
TOOLS = [{"type": "function", "function": {"name": "get_fare", "description": "train fare lookup", "parameters": {
    "type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"}, "date": {"type": "string"}}}}}]


def make_dialogs(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Deterministic zh/en multi-turn dialogs with tool calls (lengths vary 2-8 turns)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        msgs: list[dict[str, Any]] = [{"role": "system", "content": "You are a helpful travel agent."}]
        for t in range(rng.randint(2, 8)):
            msgs.append({"role": "user", "content": " ".join(rng.choice(rng.choice([EN, ZH])) for _ in range(2))})
            if rng.random() < 0.2:
                cid = f"c{i}_{t}"
                msgs.append({"role": "assistant", "content": "", "tool_calls": [
                    {"id": cid, "name": "get_fare", "arguments": {"from": "重庆", "to": "成都", "date": "2025-10-20"}}]})
                msgs.append({"role": "tool", "tool_call_id": cid, "name": "get_fare", "content": {"lowest": 128}})
            msgs.append({"role": "assistant", "content": " ".join(rng.choice(REPLY) for _ in range(rng.randint(1, 3)))})
        out.append({"id": f"d{i}", "messages": msgs, "tools": TOOLS})
    return out


def peak_mib(device: str) -> float:
    """CUDA max allocated on GPU; the process's max RSS on CPU (each side runs in its own process)."""
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def common_args(a: argparse.Namespace, out: Path) -> dict[str, Any]:
    return {"output_dir": str(out), "max_steps": a.steps, "per_device_train_batch_size": a.batch_size,
                "learning_rate": 1e-4, "logging_steps": max(1, a.steps), "save_strategy": "no", "report_to": "none",
                "seed": 0, "gradient_checkpointing": a.device == "cuda", "dataloader_num_workers": 0}


def measure(build, device: str) -> dict[str, Any]:
    """Time ``build()`` (trainer construction = data preparation) and ``trainer.train()``."""
    t0 = time.perf_counter()
    trainer = build()
    prep = time.perf_counter() - t0
    t1 = time.perf_counter()
    trainer.train()
    train = time.perf_counter() - t1
    tokens = max((h.get("num_tokens", 0) for h in trainer.state.log_history), default=0)
    res = {"prep_s": prep, "train_s": train, "tokens": tokens, "tokens_per_s": tokens / train,
           "peak_mib": peak_mib(device), "steps": trainer.state.global_step}
    del trainer
    gc.collect()
    return res


def baseline(a, model_path, dialogs, tmp, device):
    """Plain TRL: conversational rows, TRL templating + assistant-only masks (+ BFD packing)."""
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from datasets import Dataset
    from dialogkit.prepare.render import template_inputs
    from dialogkit.records import parse_dialog

    rows = []
    for d in dialogs:
        msgs, tools = template_inputs(parse_dialog(d))
        rows.append({"messages": msgs, "tools": json.dumps(tools or [], ensure_ascii=False)})
    ds = Dataset.from_list(rows, on_mixed_types="use_json")  # avoid Arrow's null-filled tool args (trl.md)

    def build():
        tok = AutoTokenizer.from_pretrained(model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=a.dtype)
        args = SFTConfig(**common_args(a, tmp / "trl"), assistant_only_loss=True, max_length=a.max_length,
                         packing=a.pack, bf16=a.dtype == "bfloat16", use_cpu=device == "cpu")
        return SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok,
                          peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))

    return measure(build, device)


def dialogkit_side(a, model_path, dialogs, tmp, device):
    """dialogkit: prepare's exact rows (own truncation/packing) into the same SFTTrainer."""
    from trl import SFTTrainer  # noqa: F401  (imported before timing, as on the baseline side)

    from dialogkit.prepare import prepare_dialogs  # noqa: F401
    from dialogkit.records import parse_dialog
    from dialogkit.train.config import load_config
    from dialogkit.train.data import prepare_rows
    from dialogkit.train.model import load_model, load_tokenizer, resolve_model
    from dialogkit.train.sft import sft_trainer

    parsed = [parse_dialog(d) for d in dialogs]
    prepare = {"max_length": a.max_length, "pack": a.pack}
    sets = {k: v for k, v in common_args(a, tmp / "dk").items() if k != "output_dir"}
    sets.update(bf16=a.dtype == "bfloat16", lora_r=16, lora_alpha=32, lora_target_modules="all-linear",
                dtype=a.dtype, prepare=prepare, lora_dropout=0.05)
    cfg = load_config("sft", cli={"model": str(model_path)}, sets=sets)

    def build():
        src = resolve_model(cfg.model)
        tok = load_tokenizer(cfg, src)
        rows = prepare_rows(parsed, tok, cfg.prepare)
        model, peft_config = load_model(cfg, src)
        return sft_trainer(cfg, tmp / "dk", model, peft_config, tok, rows, None)

    return measure(build, device)


def tiny_model(tmp: Path, dialogs: list[dict[str, Any]]) -> Path:
    from dialogkit.records import parse_dialog
    from dialogkit.train.tiny import TinyConfig, build_tiny_model, dialog_texts, train_tiny_tokenizer

    tok = train_tiny_tokenizer(dialog_texts([parse_dialog(d) for d in dialogs[:200]]), 1024)
    build_tiny_model(tok, tmp / "tiny", TinyConfig())
    return tmp / "tiny"


def run_side(a: argparse.Namespace) -> None:
    """Child process: one side, one JSON line on stdout."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    a.device = device
    a.dtype = "bfloat16" if device == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    if device == "cpu":
        torch.set_num_threads(1)  # shared small CPUs: avoid thread oversubscription noise
    dialogs = make_dialogs(a.dialogs)
    with tempfile.TemporaryDirectory() as t:
        fn = baseline if a.side == "trl" else dialogkit_side
        r = fn(a, Path(a.model), dialogs, Path(t), device)
    r.update(device=torch.cuda.get_device_name(0) if device == "cuda" else "cpu", dtype=a.dtype)
    print("RESULT " + json.dumps(r))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model folder (default: a tiny model built here)")
    p.add_argument("--dialogs", type=int, default=64)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--pack", action="store_true", help="pack both sides (TRL BFD vs prepare's BFD)")
    p.add_argument("--repeat", type=int, default=1, help="alternate the two sides this many times; best kept")
    p.add_argument("--side", choices=["trl", "dialogkit"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.side:
        return run_side(a)
    import subprocess

    with tempfile.TemporaryDirectory() as t:
        model = a.model or str(tiny_model(Path(t), make_dialogs(a.dialogs)))
        best: dict[str, dict[str, Any]] = {}
        for _ in range(a.repeat):
            for side in ("trl", "dialogkit"):
                cmd = [sys.executable, __file__, "--side", side, "--model", model, "--dialogs", str(a.dialogs),
                       "--steps", str(a.steps), "--batch-size", str(a.batch_size), "--max-length", str(a.max_length)]
                out = subprocess.run(cmd + (["--pack"] if a.pack else []), capture_output=True, text=True, check=False)
                line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
                if out.returncode or not line:
                    raise SystemExit(f"{side} failed:\n{out.stderr[-3000:]}")
                r = json.loads(line[-1][7:])
                if side not in best or r["tokens_per_s"] > best[side]["tokens_per_s"]:
                    best[side] = r
    b, d = best["trl"], best["dialogkit"]
    print(f"device={b['device']} dtype={b['dtype']} model={a.model or 'tiny (built here)'} dialogs={a.dialogs} "
          f"steps={a.steps} batch={a.batch_size} max_length={a.max_length} pack={a.pack} repeat={a.repeat}")
    print(f"{'':10} {'prep_s':>8} {'train_s':>8} {'tokens':>9} {'tokens/s':>10} {'peak_MiB':>9}")
    for name, r in best.items():
        print(f"{name:10} {r['prep_s']:8.2f} {r['train_s']:8.2f} {r['tokens']:9.0f} "
              f"{r['tokens_per_s']:10.1f} {r['peak_mib']:9.1f}")
    print(f"ratio dialogkit/trl: tokens/s {d['tokens_per_s'] / b['tokens_per_s']:.2f}x, "
          f"prep time {d['prep_s'] / b['prep_s']:.2f}x, peak memory {d['peak_mib'] / b['peak_mib']:.2f}x")
    if b["tokens"] != d["tokens"]:
        print(f"note: token counts differ ({d['tokens']:.0f} vs {b['tokens']:.0f}): truncation/packing differ by design")


if __name__ == "__main__":
    sys.exit(main())
