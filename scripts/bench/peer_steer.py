#!/usr/bin/env python3
"""PyTorch peer for `locus bench steer`: one IPO steering training step on the same shapes.

    peer_steer.py --threads N --pairs B --prompt P --answer A --heads K --seed S

Per step: 2·B sequences (prompt + chosen, prompt + rejected) of P + A random token ids; K
per-head vectors (random heads, seeded) added to z before o_proj at every position; forward,
summed answer log-probs, IPO loss (τ = 0.1) against fixed reference log-probs, backward to the
vectors only (model weights frozen, requires_grad False), an Adam step. tokens/s = 2·B·(P + A)
per step / median step time. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GGUF = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--prompt", type=int, default=24)
    ap.add_argument("--answer", type=int, default=12)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(GGUF.parent), gguf_file=GGUF.name, dtype=torch.float32).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    cfg = model.config
    d = cfg.hidden_size // cfg.num_attention_heads
    rng = np.random.default_rng(a.seed)
    all_heads = [(l, h) for l in range(cfg.num_hidden_layers) for h in range(cfg.num_attention_heads)]
    heads = [all_heads[i] for i in rng.choice(len(all_heads), a.heads, replace=False)]
    vectors = torch.zeros(a.heads, d, requires_grad=True)
    opt = torch.optim.Adam([vectors], lr=5e-4)
    for layer in sorted({l for l, _ in heads}):
        idx = [i for i, (l, _) in enumerate(heads) if l == layer]

        def pre(module, args, idx=idx):
            z = args[0].clone()
            for i in idx:
                h = heads[i][1]
                z[..., h * d:(h + 1) * d] += vectors[i]
            return (z,)

        model.model.layers[layer].self_attn.o_proj.register_forward_pre_hook(pre)
    n = a.prompt + a.answer
    ids = torch.tensor(rng.integers(0, cfg.vocab_size, size=(2 * a.pairs, n)))
    reference = torch.tensor(rng.normal(-30, 3, size=(2 * a.pairs,)), dtype=torch.float32)

    def step() -> float:
        start = time.perf_counter()
        logp = torch.log_softmax(model(ids).logits[:, a.prompt - 1:n - 1], dim=-1)
        scores = logp.gather(-1, ids[:, a.prompt:].unsqueeze(-1)).squeeze(-1).sum(-1)
        h = (scores[0::2] - reference[0::2]) - (scores[1::2] - reference[1::2])
        loss = ((h - 5.0) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    step()
    runs = [step() for _ in range(a.runs)]
    med = statistics.median(runs)
    tokens = 2 * a.pairs * n
    print(json.dumps({"benchmark": "steer", "tokens_per_second": tokens / med, "seconds": med,
                      "runs": runs, "pairs": a.pairs, "prompt": a.prompt, "answer": a.answer,
                      "heads": a.heads, "threads": a.threads, "impl": "pytorch", "torch": torch.__version__}))


if __name__ == "__main__":
    main()
