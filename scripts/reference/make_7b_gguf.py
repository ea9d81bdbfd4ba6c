#!/usr/bin/env python3
"""Writes a Llama-2-7B-shaped GGUF with seeded random weights, for memory and speed measurements.

Shape: 32 layers, width 4096, FFN 11008, 32 query / 32 KV heads of width 128, RoPE base 10000,
RMSNorm eps 1e-5, context 4096, untied output (Llama-2-7B's config.json). The tokenizer metadata
(`tokenizer.*`) is copied from the default model (SmolLM2's GPT-2 BPE, 49,152 pieces), so the
vocabulary is 49,152 rather than Llama-2's 32,000: the embedding and output matrices are ~1.5x
Llama-2's (6.87 B parameters instead of 6.74 B). The weights are noise: nothing can be learnt
from this file's outputs, only how much memory and time a 7B model takes.

Types:
  q8_0    every matrix Q8_0 (~7.3 GB)
  q4_k_m  llama.cpp's Q4_K_M recipe: Q4_K everywhere except Q6_K for the output matrix and for
          attn_v / ffn_down in the first and last eighth of the layers and every third layer in
          between (llama.cpp's `use_more_bits`), ~4.2 GB
Norms are F32 (ones).

Blocks are random bytes with the scales overwritten so that every weight is O(0.02), like a
trained model's; no quantiser runs, so the 7 GB file takes about as long as the disk needs.
The file is streamed one tensor at a time (`add_tensor_info`, then `write_tensor_data`), so
the script needs memory for one tensor (~200 MB), not the model.

Never commit the output (models/ and *.gguf are ignored).

Usage (from the package root):
    .venv-ref/bin/python scripts/reference/make_7b_gguf.py --type q8_0 --out /tmp/llama2-7b-shape-q8_0.gguf
    .venv-ref/bin/python scripts/reference/make_7b_gguf.py --type q4_k_m --out /tmp/llama2-7b-shape-q4_k_m.gguf
Options: --layers N writes only the first N layers (a slice, for quick checks); --seed S.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

LAYERS, WIDTH, FFN, HEADS, KV_HEADS, CONTEXT = 32, 4096, 11008, 32, 32, 4096
DEFAULT_TOKENIZER = Path(__file__).resolve().parents[2] / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def tensor_types(kind: str, layers: int) -> dict[str, Q]:
    """ggml type of each 2-D tensor name (per layer names use the layer index)."""
    types: dict[str, Q] = {}
    main = Q.Q8_0 if kind == "q8_0" else Q.Q4_K
    types["token_embd.weight"] = main
    types["output.weight"] = Q.Q8_0 if kind == "q8_0" else Q.Q6_K
    for l in range(layers):
        more_bits = l < layers // 8 or l >= 7 * layers // 8 or (l - layers // 8) % 3 == 2
        for name in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]:
            t = main
            if kind == "q4_k_m" and name in ("attn_v", "ffn_down") and more_bits:
                t = Q.Q6_K
            types[f"blk.{l}.{name}.weight"] = t
    return types


def random_blocks(qtype: Q, rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, bytes per row) uint8 of random blocks whose values are O(0.02)."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n = rows * cols // block_size
    raw = np.frombuffer(rng.bytes(n * type_size), dtype=np.uint8).reshape(n, type_size).copy()

    def f16(values: np.ndarray) -> np.ndarray:
        return values.astype(np.float16).view(np.uint8).reshape(n, 2)

    spread = rng.uniform(0.5, 1.5, n)
    if qtype == Q.Q8_0:          # d·q, q uniform in int8: std ≈ 74·d
        raw[:, 0:2] = f16(0.02 / 74 * spread)
    elif qtype == Q.Q4_K:        # (d·sc)·q − dmin·m, sc, m, q uniform
        raw[:, 0:2] = f16(0.02 / (32 * 4.6) * spread)
        raw[:, 2:4] = f16(0.02 / (32 * 4.6) * 7.5 * spread)
    elif qtype == Q.Q6_K:        # (d·scale)·(q − 32), scale uniform int8
        raw[:, 208:210] = f16(0.02 / (74 * 18.5) * spread)
    else:
        raise ValueError(qtype)
    return raw.reshape(rows, -1)


def copy_tokenizer(writer: gguf.GGUFWriter, path: Path) -> int:
    """Copies every `tokenizer.*` key of `path`; returns the vocabulary size."""
    reader = gguf.GGUFReader(str(path))
    vocabulary = 0
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        main = field.types[0]
        value = field.contents()
        sub = field.types[1] if main == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, main, sub_type=sub)
        if key == "tokenizer.ggml.tokens":
            vocabulary = len(value)
    return vocabulary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--type", choices=["q8_0", "q4_k_m"], default="q8_0")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--layers", type=int, default=LAYERS)
    parser.add_argument("--seed", type=int, default=20260713)
    parser.add_argument("--tokenizer-from", type=Path, default=DEFAULT_TOKENIZER)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    writer = gguf.GGUFWriter(str(args.out), arch="llama")
    writer.add_name(f"random Llama-2-7B-shaped ({args.type}, seed {args.seed}, {args.layers} layers)")
    writer.add_block_count(args.layers)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(WIDTH)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(WIDTH // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_uint32("general.seed", args.seed)
    vocabulary = copy_tokenizer(writer, args.tokenizer_from)
    writer.add_vocab_size(vocabulary)

    types = tensor_types(args.type, args.layers)
    shapes: dict[str, tuple[int, ...]] = {"token_embd.weight": (vocabulary, WIDTH)}
    for l in range(args.layers):
        shapes |= {
            f"blk.{l}.attn_norm.weight": (WIDTH,),
            f"blk.{l}.attn_q.weight": (WIDTH, WIDTH),
            f"blk.{l}.attn_k.weight": (WIDTH, WIDTH),
            f"blk.{l}.attn_v.weight": (WIDTH, WIDTH),
            f"blk.{l}.attn_output.weight": (WIDTH, WIDTH),
            f"blk.{l}.ffn_norm.weight": (WIDTH,),
            f"blk.{l}.ffn_gate.weight": (FFN, WIDTH),
            f"blk.{l}.ffn_up.weight": (FFN, WIDTH),
            f"blk.{l}.ffn_down.weight": (WIDTH, FFN),
        }
    shapes |= {"output_norm.weight": (WIDTH,), "output.weight": (vocabulary, WIDTH)}

    for name, shape in shapes.items():
        if len(shape) == 1:
            writer.add_tensor_info(name, shape, np.dtype(np.float32), 4 * shape[0])
        else:
            qtype = types[name]
            block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
            row_bytes = shape[1] // block_size * type_size
            writer.add_tensor_info(name, (shape[0], row_bytes), np.dtype(np.uint8),
                                   shape[0] * row_bytes, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    start = time.time()
    for i, (name, shape) in enumerate(shapes.items()):
        if len(shape) == 1:
            writer.write_tensor_data(np.ones(shape, dtype=np.float32))
        else:
            writer.write_tensor_data(random_blocks(types[name], shape[0], shape[1], rng))
        if i % 20 == 0:
            print(f"  {i + 1}/{len(shapes)} tensors, {time.time() - start:.0f} s", file=sys.stderr)
    writer.close()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e9:.2f} GB, {len(shapes)} tensors)")


if __name__ == "__main__":
    main()
