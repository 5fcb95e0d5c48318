"""Two-process DDP on CPU (gloo) through torchrun: the CLI runs unchanged under a launcher."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from train_support import booking_dialog, write_jsonl

pytest.importorskip("trl")
# Two processes importing torch + TRL and training: ~80 s on 2 shared cores, so not in the fast suite.
pytestmark = pytest.mark.slow


def test_sft_two_process_ddp_cpu(tmp_path):
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    data = write_jsonl(tmp_path / "dialogs.jsonl", [booking_dialog(i) for i in range(6)])
    init_tiny_from_data(str(data), tmp_path / "tiny", TinyConfig(seed=4), vocab_size=400)
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        torchrun = shutil.which("torchrun")
    if not torchrun:
        pytest.skip("torchrun not installed")
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [str(torchrun), "--nproc_per_node", "2", "--master_port", "29531", "-m", "dialogkit", "train", "sft",
           "--model", str(tmp_path / "tiny"), "--data", str(data), "--output", str(run),
           "--set", "max_steps=2", "--set", "per_device_train_batch_size=2", "--set", "logging_steps=1",
           "--set", "save_steps=2", "--set", "eval_fraction=0", "--set", "lora_r=4"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2
    # one report, from rank 0 only
    assert out.stdout.count("trained sft (lora) to step 2") == 1
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "loss" in m] == [1, 2]
    # 2 ranks x batch 2: each logged step saw 4 dialogs' tokens
    manifest = json.loads((run / "data_manifest.json").read_text())
    per_dialog = manifest["prepared"]["train"]["tokens"] / 6
    assert metrics[0]["num_tokens"] >= 3.5 * per_dialog * 0.8
    assert (run / "final" / "adapter_model.safetensors").is_file()
