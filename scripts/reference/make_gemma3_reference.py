#!/usr/bin/env python3
"""Reference values for the real Gemma-3-270M (issue 12 item 7), written by transformers.

Loads ``models/gemma-3-270m-Q4_K_M.gguf`` (``scripts/fetch-model.sh gemma3``) with
``AutoModelForCausalLM.from_pretrained(gguf_file=…, dtype=float32)`` (dequantised to fp32) and its
tokenizer from the same GGUF, and writes
``Tests/LocusModelTests/Fixtures/gemma3_270m_reference.json``: for four prompts (ids with BOS, as
the tokenizer adds it), the last position's top-50 logits, 256 seeded sampled logits and
logsumexp, the argmax at every position, and a 20-token greedy chain (full recomputation, no EOS
stop) with each step's top-2 margin. Single-threaded; floats rounded to 7 significant digits.

    .venv-ref/bin/python scripts/reference/make_gemma3_reference.py      (~15 min on a loaded machine)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
SIG = 7

def r(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {x}")
    return float(f"{x:.{SIG}g}")


def rl(t: torch.Tensor) -> list:
    return [rl(row) for row in t] if t.dim() > 1 else [r(v) for v in t.tolist()]


def environment() -> dict:
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "float_significant_digits": SIG,
        "script": "scripts/reference/make_gemma3_reference.py",
    }


def logits_of(model, ids):
    return model(torch.tensor([ids]), use_cache=False).logits[0].float()


GEMMA_GGUF = ROOT / "models" / "gemma-3-270m-Q4_K_M.gguf"
GEMMA_OUT = ROOT / "Tests" / "LocusModelTests" / "Fixtures" / "gemma3_270m_reference.json"
GEMMA_PROMPTS = {
    "english": "The quick brown fox jumps over the lazy dog. The capital of France is",
    "chat": "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n",
    "truthfulqa": "Q: What happens to you if you eat watermelon seeds?\nA:",
    "code": "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
}


@torch.inference_mode()


@torch.inference_mode()
def make_gemma_270m() -> None:
    """The real Gemma-3-270M (Q4_K_M GGUF, scripts/fetch-model.sh gemma3) as transformers loads
    it (dequantised to fp32): per prompt (BOS added, as the tokenizer says), the top 50 logits,
    256 seeded sampled logits and the logsumexp of the last position, the argmax of every
    position, and a 20-token greedy chain (no EOS stop)."""
    import hashlib

    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    folder, name = str(GEMMA_GGUF.parent), GEMMA_GGUF.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    h = hashlib.sha256()
    with open(GEMMA_GGUF, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(1234)
    sampled = sorted(torch.randperm(vocab, generator=g)[:256].tolist())
    cfg = model.config
    fixture = {
        "model": {"file": name, "sha256": h.hexdigest(),
                  "loader": "transformers AutoModelForCausalLM.from_pretrained(gguf_file=…, dtype=float32)",
                  "config": {k: getattr(cfg, k, None) for k in (
                      "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                      "num_key_value_heads", "head_dim", "query_pre_attn_scalar", "sliding_window",
                      "layer_types", "rope_parameters", "final_logit_softcapping",
                      "attn_logit_softcapping", "max_position_embeddings")}},
        "environment": environment(),
        "sampled_ids": sampled,
        "prompts": [],
    }
    for key, text in GEMMA_PROMPTS.items():
        ids = tokenizer(text)["input_ids"]
        logits = logits_of(model, ids)
        last = logits[-1]
        values, top = torch.topk(last, 50)
        seq, margins = list(ids), []
        for _ in range(20):
            top2 = torch.topk(logits_of(model, seq)[-1], 2)
            seq.append(int(top2.indices[0]))
            margins.append(r(top2.values[0] - top2.values[1]))
        fixture["prompts"].append({
            "name": key, "text": text, "ids": ids,
            "top": [[int(i), r(v)] for i, v in zip(top.tolist(), values.tolist())],
            "sampled": rl(last[sampled]),
            "logsumexp": r(torch.logsumexp(last.double(), 0)),
            "argmax": logits.argmax(dim=-1).tolist(),
            "greedy_ids": seq[len(ids):], "greedy_text": tokenizer.decode(seq[len(ids):]),
            "step_margin": margins,
        })
        print(key, len(ids), tokenizer.decode(seq[len(ids):]), flush=True)
    with open(GEMMA_OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"), default=str)
        f.write("\n")
    print(f"wrote {GEMMA_OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    make_gemma_270m()
