"""GPU-only checks (marked `gpu`, skipped without CUDA): QLoRA 4-bit, bf16, and the benchmark script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from train_support import booking_dialog, write_jsonl

pytestmark = pytest.mark.gpu
torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    d = tmp_path_factory.mktemp("gpu")
    data = write_jsonl(d / "dialogs.jsonl", [booking_dialog(i) for i in range(8)])
    # hidden 128: bitsandbytes 4-bit blocks want dimensions that are multiples of 64
    init_tiny_from_data(str(data), d / "tiny", TinyConfig(hidden_size=128, intermediate_size=256), vocab_size=600)
    return {"dir": d, "data": data, "model": d / "tiny"}


def _train(run_cli, env, name, *sets):
    out = env["dir"] / name
    res = run_cli("train", "sft", "--model", env["model"], "--data", env["data"], "--output", out,
                  "--set", "max_steps=3", "--set", "per_device_train_batch_size=4", "--set", "logging_steps=1",
                  "--set", "eval_fraction=0", *sets)
    assert res.exit_code == 0, res.output
    return out


def test_qlora_trains_and_saves_adapter(run_cli, env):
    pytest.importorskip("bitsandbytes")
    out = _train(run_cli, env, "qlora", "--adapter", "qlora")
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "loss" in m] == [1, 2, 3]
    assert json.loads((out / "final" / "adapter_config.json").read_text())["r"] == 16


def test_bf16_by_default_on_gpu(run_cli, env):
    if not torch.cuda.is_bf16_supported():
        pytest.skip("GPU without bf16")
    out = _train(run_cli, env, "bf16")
    args = torch.load(out / "checkpoints" / "checkpoint-3" / "training_args.bin", weights_only=False)
    assert args.bf16 is True and args.gradient_checkpointing is True


def test_benchmark_runs_on_gpu(env):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_train.py"), "--model", str(env["model"]),
           "--dialogs", "32", "--steps", "3", "--pack"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ratio dialogkit/trl: tokens/s" in out.stdout and "device=cpu" not in out.stdout
