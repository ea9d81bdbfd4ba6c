#!/usr/bin/env python3
"""Random-weight Hugging Face checkpoints shaped like GPT-2 small and Qwen2-0.5B, for the
performance comparison of issue 12 (`scripts/bench/compare.sh --model DIR`).

Real GPT-2 / Qwen2 weights cannot be fetched here; speed depends on the shapes, not the values,
so these checkpoints have the real models' shapes and random weights (transformers' own
initialisation, seeded). They are benchmark inputs only: their outputs mean nothing.

  gpt2-small   GPT2LMHeadModel: 12 layers, n_embd 768, 12 heads, n_inner 3072, vocab 50257,
               n_positions 1024, GELU tanh ("gelu_new"), LayerNorm with biases, Conv1D weights,
               tied head (the shape of the hub's `gpt2`, 124 M parameters).
  qwen2-0.5b   Qwen2ForCausalLM: 24 layers, hidden 896, 14 query heads, 2 KV heads (head_dim
               64), intermediate 4864, vocab 151936, RMSNorm ε 1e-6, RoPE θ 1e6, q/k/v biases,
               tied embeddings, max_position_embeddings 32768 (the shape of `Qwen/Qwen2-0.5B`,
               494 M parameters).
  qwen2-0.5b-bf16  the same model (same seed, so the same weights rounded to bf16) saved in
               bfloat16, as the hub's Qwen2-0.5B is stored: Locus keeps the BF16 matrices stored
               and widens them exactly (`--weights stored`); PyTorch runs it in fp32 or bf16
               (`peer.py --dtype`).

Each directory gets config.json and model.safetensors (fp32, as `save_pretrained` writes them;
fp32 because both Locus and PyTorch are compared computing in fp32; bf16 for `-bf16`) and a byte-level BPE
tokenizer.json: SmolLM2's (49,152 pieces, GPT-2-style byte-level BPE), read from the project's
SmolLM2 GGUF by transformers and saved by it. Its ids fit both vocabularies (49,152 < 50,257 <
151,936); the ids above it are simply never produced by the tokenizer.

Output goes to runs/shaped-checkpoints/<name>/ (git-ignored; about 0.5 GB, 2.0 GB and 1.0 GB). Never
commit it. Seeds: torch.manual_seed(SEED[name]) before building each model (recorded in
`locus_shaped_checkpoint.json` next to the weights).

    .venv-ref/bin/python scripts/bench/make_shaped_checkpoints.py [gpt2-small] [qwen2-0.5b] [--force]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "runs" / "shaped-checkpoints"
TOKENIZER_GGUF = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
SEED = {"gpt2-small": 1201, "qwen2-0.5b": 1202, "qwen2-0.5b-bf16": 1202}
DTYPE = {"qwen2-0.5b-bf16": torch.bfloat16}  # the others: float32


def make_config(name: str):
    import transformers as tf

    if name == "gpt2-small":
        return tf.GPT2Config(
            vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, n_inner=None,
            activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=0,
            eos_token_id=0, tie_word_embeddings=True)
    if name in ("qwen2-0.5b", "qwen2-0.5b-bf16"):
        return tf.Qwen2Config(
            vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
            num_attention_heads=14, num_key_value_heads=2, hidden_act="silu",
            max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1_000_000.0,
            tie_word_embeddings=True, use_sliding_window=False, bos_token_id=0, eos_token_id=0,
            attention_dropout=0.0)
    raise ValueError(f"unknown checkpoint '{name}' ({', '.join(SEED)})")


def save_tokenizer(path: Path) -> None:
    from transformers import AutoTokenizer

    if not TOKENIZER_GGUF.exists():
        raise SystemExit(f"{TOKENIZER_GGUF}: missing (scripts/fetch-model.sh fetches it)")
    tokenizer = AutoTokenizer.from_pretrained(str(TOKENIZER_GGUF.parent), gguf_file=TOKENIZER_GGUF.name)
    tokenizer.save_pretrained(str(path))
    if not (path / "tokenizer.json").exists():
        raise SystemExit(f"{path}: transformers wrote no tokenizer.json")


def make(name: str, force: bool) -> None:
    from transformers import AutoModelForCausalLM

    path = OUT / name
    if (path / "model.safetensors").exists() and not force:
        print(f"{path}: exists (--force rewrites it)")
        return
    path.mkdir(parents=True, exist_ok=True)
    config = make_config(name)
    torch.manual_seed(SEED[name])
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    dtype = DTYPE.get(name, torch.float32)
    model = model.to(dtype)  # initialised in fp32 (same values for the same seed), then rounded
    parameters = sum(p.numel() for p in model.parameters())
    model.save_pretrained(str(path), safe_serialization=True)
    save_tokenizer(path)
    (path / "locus_shaped_checkpoint.json").write_text(json.dumps({
        "name": name, "seed": SEED[name], "parameters": parameters,
        "weights": f"transformers' default initialisation (random, fp32), stored as {dtype}",
        "tokenizer": "SmolLM2-135M-Instruct's byte-level BPE (from its GGUF)",
        "torch": torch.__version__, "transformers": __import__("transformers").__version__,
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "script": "scripts/bench/make_shaped_checkpoints.py",
    }, indent=2) + "\n")
    print(f"{path}: {parameters / 1e6:.1f} M parameters")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=list(SEED), help=", ".join(SEED))
    parser.add_argument("--force", action="store_true", help="rewrite existing checkpoints")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.names:
        make(name, args.force)


if __name__ == "__main__":
    main()
