"""How a constant prompt prefix delays copy learning in the demo's tiny model (docs/demo.md).

Each sequence: ``prefix`` (the same random tokens every time, like a system prompt + tool list),
12 random tokens, 30 random filler tokens, a separator, then the 12 tokens again; loss only on
the repeat. Prints teacher-forced copy accuracy every ``--every`` steps for each prefix length.

    .venv/bin/python benchmarks/copy_plateau.py --prefix 0 100 300 --steps 400
"""

from __future__ import annotations

import argparse
import tempfile
import time


def run(prefix: int, steps: int, batch: int, lr: float, every: int, hidden: int) -> list[tuple[int, float]]:
    import torch
    from transformers import AutoModelForCausalLM

    from dialogkit.tokenizer_tiny import build_tiny_tokenizer
    from dialogkit.train.tiny import TinyConfig, build_tiny_model

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tok = build_tiny_tokenizer(vocab_size=600)
        build_tiny_model(tok, tmp, TinyConfig(hidden_size=hidden, num_heads=4, num_kv_heads=4,
                                              intermediate_size=2 * hidden))
        model = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32)
    vocab, n, mid = len(tok) - 20, 12, 30
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95))
    fixed = torch.randint(10, vocab, (1, prefix))
    sep = torch.full((batch, 1), 5)
    out = []
    for step in range(1, steps + 1):
        body = torch.randint(10, vocab, (batch, n))
        x = torch.cat([fixed.expand(batch, prefix), body, torch.randint(10, vocab, (batch, mid)), sep, body], 1)
        y = x.clone()
        y[:, : prefix + n + mid + 1] = -100
        loss = model(x, labels=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            with torch.no_grad():
                pred = model(x).logits[:, prefix + n + mid : -1].argmax(-1)
            out.append((step, (pred == x[:, prefix + n + mid + 1 :]).float().mean().item()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefix", type=int, nargs="+", default=[0, 100, 300])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    for p in a.prefix:
        t0 = time.time()
        curve = run(p, a.steps, a.batch, a.lr, a.every, a.hidden)
        first = next((s for s, acc in curve if acc >= 0.5), None)
        print(f"prefix {p:4d}: copy accuracy " + " ".join(f"{s}:{acc:.2f}" for s, acc in curve)
              + f"  | first step >= 0.5: {first}  ({time.time() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
