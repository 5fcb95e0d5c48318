"""Whole-process time of ``dialogkit prepare`` vs TRL's own SFTTrainer dataset preparation.

Same data (shared/bench/make_data.py), same tokenizer (real Qwen3) and the same template
(TRL's ``qwen3_training.jinja``, the one TRL swaps in for Qwen3 under assistant_only_loss).
TRL is timed by shared/bench/trl_prep.py (trainer construction = tokenize + masks, imports
excluded); dialogkit is timed as a whole ``dialogkit prepare`` process (imports, tokenizer
load, rendering, masks, Parquet write included). Both run in this one invocation.

Usage: python benchmarks/bench_prepare.py [N_DIALOGS] [--workers W] [--runs R]

On a shared machine the load changes from minute to minute: ``--runs R`` repeats the pair
(TRL, then dialogkit) R times on the same data and prints every run's ratio and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DIALOGKIT_SHARED", ROOT.parent / "shared"))
PY = sys.executable


def to_native(src: Path, dst: Path) -> None:
    """OpenAI-style chat JSONL -> dialogkit JSONL (tool-call arguments as objects, tool names kept)."""
    with src.open(encoding="utf-8") as fi, dst.open("w", encoding="utf-8") as fo:
        for line in fi:
            d = json.loads(line)
            names: dict[str, str] = {}
            msgs = []
            for m in d["messages"]:
                if m.get("tool_calls"):
                    calls = []
                    for c in m["tool_calls"]:
                        names[c["id"]] = c["function"]["name"]
                        calls.append({"id": c["id"], "name": c["function"]["name"],
                                      "arguments": json.loads(c["function"]["arguments"])})
                    m = {"role": "assistant", "content": m.get("content", ""), "tool_calls": calls}
                elif m["role"] == "tool":
                    m = {**m, "name": names.get(m["tool_call_id"], "tool")}
                msgs.append(m)
            fo.write(json.dumps({"id": d["id"], "messages": msgs, "tools": d["tools"], "metadata": d["metadata"]},
                                ensure_ascii=False) + "\n")


def run_pair(data: Path, native: Path, tok: Path, template: Path, tmp: Path, n: int, workers: int) -> float:
    """One TRL run, then one dialogkit run on the same data; prints both and returns the ratio."""
    out = subprocess.run([PY, str(SHARED / "bench/trl_prep.py"), str(data), str(tok), str(n), str(template)],
                         check=True, capture_output=True, text=True).stdout
    trl_line = [ln for ln in out.splitlines() if ln.startswith("dialogs=")][-1]
    trl_tps = float(re.search(r"tokens_per_s=(\d+)", trl_line).group(1))
    trl_tokens = int(re.search(r"tokens=(\d+)", trl_line).group(1))
    trl_trained = int(re.search(r"assistant_tokens=(-?\d+)", trl_line).group(1))

    report = tmp / "report.json"
    cmd = [str(Path(PY).parent / "dialogkit"), "prepare", str(native), "--tokenizer", str(tok), "--chat-template",
           str(template), "--workers", str(workers), "--out", str(tmp / "out.parquet"), "--report", str(report)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    dt = time.perf_counter() - t0
    rep = json.loads(report.read_text())
    dk_tps = rep["tokens"] / dt

    print(f"TRL SFTTrainer prep : {trl_line}")
    print(f"dialogkit prepare   : dialogs={rep['dialogs']} tokens={rep['tokens']} assistant_tokens="
          f"{rep['trained_tokens']} seconds={dt:.2f} (whole process, --workers {workers}) tokens_per_s={dk_tps:.0f}")
    if trl_trained >= 0:
        same = "same" if (rep["tokens"], rep["trained_tokens"]) == (trl_tokens, trl_trained) else "DIFFERENT"
        print(f"tokens and trained tokens vs TRL: {same}")
    else:  # TRL 1.16 folds assistant_masks into labels, so trl_prep.py can't count them
        print(f"tokens vs TRL: {'same' if rep['tokens'] == trl_tokens else 'DIFFERENT'} "
              "(trained tokens: see tests/test_prepare_trl.py, labels equal TRL's token for token)")
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"ratio dialogkit/TRL: {dk_tps / trl_tps:.2f}x")
    return dk_tps / trl_tps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    tok = SHARED / "tokenizers/qwen3"
    import trl

    template = Path(trl.__file__).parent / "chat_templates/qwen3_training.jinja"
    tmp = Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    data, native = tmp / "data.jsonl", tmp / "native.jsonl"
    subprocess.run([PY, str(SHARED / "bench/make_data.py"), str(args.n), str(data)], check=True)
    to_native(data, native)
    ratios = []
    for i in range(args.runs):
        if args.runs > 1:
            print(f"--- run {i + 1}/{args.runs}")
        ratios.append(run_pair(data, native, tok, template, tmp, args.n, args.workers))
    if args.runs > 1:
        print(f"ratios: {' '.join(f'{r:.2f}x' for r in ratios)}; median {statistics.median(ratios):.2f}x, "
              f"min {min(ratios):.2f}x")


if __name__ == "__main__":
    main()
