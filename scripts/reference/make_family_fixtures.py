#!/usr/bin/env python3
"""Parity fixtures for Locus's model families (issue 12), written by PyTorch + transformers.

One seeded random-weight checkpoint per family, saved by transformers, and what PyTorch computes
on it. For each family the directory ``Tests/LocusModelTests/Fixtures/families/<family>/`` holds

  config.json          as transformers' ``save_pretrained`` writes it (the real format)
  model.safetensors    as ``save_pretrained`` writes it (GPT-2's Conv1D weights stay (in, out)):
                       fp32 for gpt2 and gptj, fp16 for llama, qwen2 and gemma3 (as their hub
                       checkpoints ship in 16 bits; it keeps each family under 1 MB)
  tokenizer.json       a small committed tokenizer whose vocabulary fits the checkpoint
                       (+ tokenizer_config.json for the SentencePiece ones)
  <family>-f16.gguf    llama, qwen2, gemma3, gpt2 (not gptj: no llama.cpp converter writes
                       `gptj`): the same weights as llama.cpp's
                       ``convert_hf_to_gguf.py --outtype f16`` lays them out (below)
  reference.json       the expected values (below)

Families (each exercises what its real checkpoints have):

  gpt2    GPT2LMHeadModel: learned positions, LayerNorm with bias, Conv1D (in, out) weights with
          biases, GELU tanh ("gelu_new"), tied head. Byte-level BPE (tiny_tokenizer.json). GGUF.
  gptj    GPTJForCausalLM: parallel block (attention and MLP both read ln_1's output; no
          resid_mid), partial rotary (rotary_dim 8 < head_dim 16, GPT-J's interleaved pairs),
          no q/k/v/o biases, MLP biases, untied head with a bias. Byte-level BPE.
  qwen2   Qwen2ForCausalLM: q/k/v biases (no o bias), GQA (4 query heads, 2 KV heads), SwiGLU,
          RMSNorm, NeoX half-split RoPE, tied head. Byte-level BPE. GGUF.
  gemma3  Gemma3ForCausalLM (text only): head_dim 24 ≠ C/H = 16, MQA (1 KV head), q/k RMSNorms,
          RMSNorm (1 + w), sandwich norms, embeddings × √C, GeGLU (gelu_pytorch_tanh), layer 0
          sliding (window 4) with RoPE base 10 000, layer 1 full with base 1 000 000, final-logit
          soft-cap 3 (the script checks that it, and the window, change the logits), tied head.
          The attention soft-cap stays null: transformers 5.24's `Gemma3Attention.forward` never
          passes `attn_logit_softcapping` to the attention function (the config field exists and
          is ignored), so no reference could test it; Locus's `CausalAttention` soft-cap is
          tested against its naive twin in LocusTensorTests instead. SentencePiece (sentencepiece/). GGUF.
  llama   LlamaForCausalLM: head_dim 20 ≠ C/H = 16, GQA, SwiGLU, untied head. SentencePiece. GGUF.

Weights: every parameter 0.1·N(0,1) except norm weights 1 + 0.1·N(0,1) (Gemma stores w of its
(1 + w) norms: 0.1·N(0,1)), seeded per family (`SEEDS`), then rounded to the nearest fp16 value
so that the fp32 safetensors and the F16 GGUF hold exactly the same numbers (the reference is
computed in fp32 from those values). Sequences and steering vectors are seeded too.

reference.json:
  sequences          three seeded id sequences (lengths 1, 6, 10) and the logits (T, V) at every
                     position.
  greedy             20 greedy tokens after sequences[1] (argmax by full recomputation; checked
                     against ``generate`` with the KV cache), with each step's top-2 margin.
  sites              every site of every layer at every position of sequences[2] (T, width):
                     blocks.L.hook_resid_pre  the input of decoder block L (hidden_states it gets)
                     blocks.L.hook_resid_mid  resid_pre + attn_out: the input of ln_2 (gpt2),
                                              of post_attention_layernorm (llama, qwen2), of
                                              pre_feedforward_layernorm (gemma3); absent for gptj
                                              (a parallel block has none)
                     blocks.L.hook_resid_post the output of decoder block L
                     blocks.L.attn.hook_z     the input of the attention output projection
                                              (attn.c_proj, attn.out_proj, self_attn.o_proj):
                                              per-head attention outputs, (T, H·D) head-major
                     blocks.L.hook_attn_out   what attention adds to the residual stream: the
                                              output projection's output (with its bias, if any);
                                              gemma3: post_attention_layernorm's output
                     blocks.L.mlp.hook_post   the input of the MLP output projection (mlp.c_proj,
                                              mlp.fc_out, mlp.down_proj): act(fc) or act(gate)⊙up
                     blocks.L.hook_mlp_out    what the MLP adds to the residual stream: the output
                                              projection's output (with bias); gemma3:
                                              post_feedforward_layernorm's output
                     so resid_mid = resid_pre + attn_out and resid_post = resid_mid + mlp_out
                     (gptj: resid_post = resid_pre + attn_out + mlp_out); checked here.
  backward           autograd, loss = Σ log p(ids[t+1] | ids[..t]) over the last 8 positions of
                     sequences[2]: the gradient at every site (w.r.t. the activation as recorded)
                     and w.r.t. every layer's MLP and attention output projection weights
                     (`mlp_down.L`, `attention_output.L`) in (out, in) layout (GPT-2's Conv1D
                     gradient transposed); gradients have 6 significant digits.
  steering           a per-head vector v_L (H, D) added to hook_z at every position of layers
                     0 and L−1 (v seeded, 0.1·N(0,1)); loss = Σ log p(continuation | prefix) of a
                     seeded 6-token continuation after sequences[1]; the loss and d loss / d v_L
                     by autograd.

GGUF (llama, qwen2, gemma3, gpt2), written with the ``gguf`` package: tensor names from its
``get_tensor_name_map`` (llama.cpp's converter names), metadata keys as the converter writes
them, 2-D weights F16 and 1-D tensors F32 (the converter's ``--outtype f16``), tied heads without
``output.weight``. llama: Q and K rows permuted as ``DecoderModel.permute`` does (adjacent-pair
RoPE); qwen2, gemma3: not permuted (NeoX rotation in llama.cpp). gemma3: every ``*norm.weight``
stored as 1 + w (the converter's norm shift; transformers' ``Gemma2TensorProcessor`` subtracts
it back). Two gemma3 keys go beyond what llama.cpp's gemma3 converter writes, because it cannot
express this checkpoint otherwise: ``gemma3.attention.sliding_window_pattern`` (per-layer bools,
true = sliding; llama.cpp assumes every 6th layer full) and
``gemma3.final_logit_softcapping`` (gemma2's key; the gemma3 converter refuses soft-caps).
``query_pre_attn_scalar`` = head_dim, which is what llama.cpp's gemma3 assumes. Tokenizer
metadata: the SentencePiece fixture's (``tokenizer.ggml.model = llama``) or, for qwen2, the
byte-level vocabulary and merges (``gpt2``, pre ``llama-bpe``: the tiny tokenizer's split regex
is llama-3's; gpt2 likewise). gpt2: Conv1D weights transposed to (out, in), fused ``attn_qkv``,
``position_embd`` (``write_gpt2_gguf`` says where it follows the converter). Each GGUF is read
back by transformers (``gguf_file=``), whose weights must equal the originals exactly.

Every float in the JSON has 7 significant digits. The run is single-threaded.

    .venv-ref/bin/python scripts/reference/make_family_fixtures.py [family ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import shutil
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "LocusModelTests" / "Fixtures" / "families"
TOKENIZERS = ROOT / "Tests" / "LocusTokenizerTests" / "Fixtures"
BYTE_LEVEL = TOKENIZERS / "tiny_tokenizer.json"  # 271 pieces + 3 added tokens
SENTENCEPIECE = TOKENIZERS / "sentencepiece"  # 500 pieces, <unk>=0 <s>=1 </s>=2
SENTENCEPIECE_GGUF = TOKENIZERS / "sentencepiece-tokenizer.gguf"
SIG = 7
SEEDS = {"gpt2": 102, "gptj": 113, "qwen2": 101, "gemma3": 104, "llama": 105}  # gptj: 103 greedy-repeats one token
GGUF_FAMILIES = ("llama", "qwen2", "gemma3", "gpt2")
# Stored in 16 bits in safetensors too (GPT-2 stays fp32 there, as its hub checkpoints ship).
HALF_SAFETENSORS = ("llama", "qwen2", "gemma3")
SEQUENCE_LENGTHS = (1, 6, 10)
GREEDY_TOKENS = 20
STEERING_CONTINUATION = 6


def r(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {x}")
    return float(f"{x:.{SIG}g}")


def rl(t: torch.Tensor) -> list:
    return [rl(row) for row in t] if t.dim() > 1 else [r(v) for v in t.tolist()]


def rl6(t: torch.Tensor) -> list:
    """A 1-D tensor with 6 significant digits (gradients: for size; they are compared to 1e-3)."""
    return [float(f"{v:.6g}") for v in t.tolist()]


def environment() -> dict:
    import gguf
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gguf": getattr(gguf, "__version__", "?"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "float_significant_digits": SIG,
        "script": "scripts/reference/make_family_fixtures.py",
    }


# ----------------------------------------------------------------------------------------------
# tokenizers


def byte_level_vocab_size() -> int:
    t = json.loads(BYTE_LEVEL.read_text())
    return max(list(t["model"]["vocab"].values()) + [a["id"] for a in t["added_tokens"]]) + 1


def sentencepiece_vocab_size() -> int:
    t = json.loads((SENTENCEPIECE / "tokenizer.json").read_text())
    return max(list(t["model"]["vocab"].values()) + [a["id"] for a in t["added_tokens"]]) + 1


def is_sentencepiece(family: str) -> bool:
    return family in ("gemma3", "llama")


def copy_tokenizer(family: str, path: Path) -> None:
    if is_sentencepiece(family):
        shutil.copy(SENTENCEPIECE / "tokenizer.json", path / "tokenizer.json")
        shutil.copy(SENTENCEPIECE / "tokenizer_config.json", path / "tokenizer_config.json")
    else:
        shutil.copy(BYTE_LEVEL, path / "tokenizer.json")


# ----------------------------------------------------------------------------------------------
# families: config, model class, and where each site lives


def make_config(family: str):
    import transformers as tf

    if family == "gpt2":
        return tf.GPT2Config(
            vocab_size=byte_level_vocab_size(), n_positions=32, n_embd=64, n_layer=2, n_head=4,
            n_inner=128, activation_function="gelu_new", layer_norm_epsilon=1e-5,
            bos_token_id=271, eos_token_id=271, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
            tie_word_embeddings=True)
    if family == "gptj":
        return tf.GPTJConfig(
            vocab_size=byte_level_vocab_size(), n_positions=32, n_embd=64, n_layer=2, n_head=4,
            n_inner=128, rotary_dim=8, activation_function="gelu_new", layer_norm_epsilon=1e-5,
            tie_word_embeddings=False, bos_token_id=271, eos_token_id=271, resid_pdrop=0.0,
            embd_pdrop=0.0, attn_pdrop=0.0)
    if family == "qwen2":
        return tf.Qwen2Config(
            vocab_size=byte_level_vocab_size(), hidden_size=64, intermediate_size=128,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=32, rms_norm_eps=1e-6, rope_theta=10000.0,
            tie_word_embeddings=True, use_sliding_window=False, hidden_act="silu",
            bos_token_id=271, eos_token_id=271)
    if family == "gemma3":
        return tf.Gemma3TextConfig(
            vocab_size=sentencepiece_vocab_size(), hidden_size=64, intermediate_size=96,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=24,
            max_position_embeddings=32, rms_norm_eps=1e-6, query_pre_attn_scalar=24,
            sliding_window=4, layer_types=["sliding_attention", "full_attention"],
            rope_parameters={
                "full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
            },
            final_logit_softcapping=3.0, attn_logit_softcapping=None,
            hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
            bos_token_id=1, eos_token_id=2, pad_token_id=0, attn_implementation="eager")
    if family == "llama":
        return tf.ModelConfig(
            vocab_size=sentencepiece_vocab_size(), hidden_size=64, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=20,
            max_position_embeddings=32, rms_norm_eps=1e-5, rope_theta=10000.0,
            tie_word_embeddings=False, hidden_act="silu", attention_bias=False, mlp_bias=False,
            bos_token_id=1, eos_token_id=2)
    raise ValueError(family)


MODEL_CLASSES = {"gpt2": "GPT2LMHeadModel", "gptj": "GPTJForCausalLM", "qwen2": "Qwen2ForCausalLM",
                 "gemma3": "Gemma3ForCausalLM", "llama": "LlamaForCausalLM"}


def is_norm(family: str, name: str) -> bool:
    parts = name.split(".")
    return "norm" in name or (len(parts) > 1 and parts[-2].startswith("ln"))


def make_model(family: str, seed: int):
    import transformers as tf

    torch.manual_seed(0)
    config = make_config(family)
    model = getattr(tf, MODEL_CLASSES[family])(config).float().eval()
    if family == "gemma3":
        model.config._attn_implementation = "eager"
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            base = 1.0 if is_norm(family, name) and name.endswith("weight") and family != "gemma3" else 0.0
            p.copy_((base + 0.1 * torch.randn(p.shape, generator=g)).half().float())
    return model


def blocks(model, family):
    return model.transformer.h if family in ("gpt2", "gptj") else model.model.layers


def site_modules(family: str, layer) -> dict:
    """site → (module, "pre" = its input | "out" = its output), all but resid_pre/resid_post."""
    if family == "gpt2":
        return {
            "attn.hook_z": (layer.attn.c_proj, "pre"),
            "hook_attn_out": (layer.attn.c_proj, "out"),
            "hook_resid_mid": (layer.ln_2, "pre"),
            "mlp.hook_post": (layer.mlp.c_proj, "pre"),
            "hook_mlp_out": (layer.mlp.c_proj, "out"),
        }
    if family == "gptj":
        return {
            "attn.hook_z": (layer.attn.out_proj, "pre"),
            "hook_attn_out": (layer.attn.out_proj, "out"),
            "mlp.hook_post": (layer.mlp.fc_out, "pre"),
            "hook_mlp_out": (layer.mlp.fc_out, "out"),
        }
    if family == "gemma3":
        return {
            "attn.hook_z": (layer.self_attn.o_proj, "pre"),
            "hook_attn_out": (layer.post_attention_layernorm, "out"),
            "hook_resid_mid": (layer.pre_feedforward_layernorm, "pre"),
            "mlp.hook_post": (layer.mlp.down_proj, "pre"),
            "hook_mlp_out": (layer.post_feedforward_layernorm, "out"),
        }
    return {
        "attn.hook_z": (layer.self_attn.o_proj, "pre"),
        "hook_attn_out": (layer.self_attn.o_proj, "out"),
        "hook_resid_mid": (layer.post_attention_layernorm, "pre"),
        "mlp.hook_post": (layer.mlp.down_proj, "pre"),
        "hook_mlp_out": (layer.mlp.down_proj, "out"),
    }


def attach(model, family, fn, only: set[str] | None = None):
    """Registers `fn(site_name, tensor) -> tensor | None` at every site of every layer (or at the
    sites named in `only`); a returned tensor replaces the activation."""
    handles = []
    for l, layer in enumerate(blocks(model, family)):
        def pre_layer(module, args, kwargs, n=f"blocks.{l}.hook_resid_pre"):
            if args:
                x = fn(n, args[0])
                return ((x,) + tuple(args[1:]), kwargs) if x is not None else None
            x = fn(n, kwargs["hidden_states"])
            return (args, dict(kwargs, hidden_states=x)) if x is not None else None

        def post_layer(module, args, out, n=f"blocks.{l}.hook_resid_post"):
            t = out[0] if isinstance(out, tuple) else out
            x = fn(n, t)
            if x is None:
                return None
            return (x,) + tuple(out[1:]) if isinstance(out, tuple) else x

        wanted = lambda n: only is None or n in only
        if wanted(f"blocks.{l}.hook_resid_pre"):
            handles.append(layer.register_forward_pre_hook(pre_layer, with_kwargs=True))
        if wanted(f"blocks.{l}.hook_resid_post"):
            handles.append(layer.register_forward_hook(post_layer))
        for site, (module, kind) in site_modules(family, layer).items():
            n = f"blocks.{l}.{site}"
            if not wanted(n):
                continue
            if kind == "pre":
                def pre(m, a, n=n):
                    x = fn(n, a[0])
                    return (x,) + tuple(a[1:]) if x is not None else None

                handles.append(module.register_forward_pre_hook(pre))
            else:
                handles.append(module.register_forward_hook(lambda m, a, o, n=n: fn(n, o)))
    return handles


@torch.inference_mode()
def check_gemma3_features_matter(model, ids: list[int]) -> dict:
    """Each of the window and the two soft-caps changes the logits, so the fixture tests them."""
    import transformers as tf

    base = logits_of(model, ids)
    effect = {}
    for name, change in (("sliding_window", {"sliding_window": 64}),
                         ("final_logit_softcapping", {"final_logit_softcapping": None})):
        config = make_config("gemma3")
        for k, v in change.items():
            setattr(config, k, v)
        other = tf.Gemma3ForCausalLM(config).float().eval()
        other.config._attn_implementation = "eager"
        other.load_state_dict(model.state_dict())
        effect[name] = r((logits_of(other, ids) - base).abs().max())
        assert effect[name] > 1e-3, f"gemma3: {name} does not change the logits ({effect[name]})"
    return effect


def logits_of(model, ids):
    return model(torch.tensor([ids]), use_cache=False).logits[0].float()


def check_composition(family: str, cache: dict, layers: int) -> None:
    """The sites add up the way the Swift forward pass composes them."""
    for l in range(layers):
        b = f"blocks.{l}."
        pre, post = cache[b + "hook_resid_pre"], cache[b + "hook_resid_post"]
        attn, mlp = cache[b + "hook_attn_out"], cache[b + "hook_mlp_out"]
        if family == "gptj":
            assert b + "hook_resid_mid" not in cache
            assert torch.allclose(pre + attn + mlp, post, atol=1e-5), b
        else:
            mid = cache[b + "hook_resid_mid"]
            assert torch.allclose(pre + attn, mid, atol=1e-5), b
            assert torch.allclose(mid + mlp, post, atol=1e-5), b
        if l + 1 < layers:
            assert torch.equal(post, cache[f"blocks.{l + 1}.hook_resid_pre"]), b


@torch.inference_mode()
def greedy(model, prompt: list[int], new_tokens: int) -> dict:
    seq, margins = list(prompt), []
    for _ in range(new_tokens):
        top2 = torch.topk(logits_of(model, seq)[-1], 2)
        seq.append(int(top2.indices[0]))
        margins.append(r(top2.values[0] - top2.values[1]))
    out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                         do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                         eos_token_id=None, pad_token_id=0, use_cache=True)
    cached = out[0, len(prompt):].tolist()
    assert cached == seq[len(prompt):], f"generate with cache {cached} != recomputed {seq[len(prompt):]}"
    return {"ids": prompt, "greedy_ids": seq[len(prompt):], "step_margin": margins,
            "checked_against": "model.generate(do_sample=False, use_cache=True)"}


# ----------------------------------------------------------------------------------------------
# GGUF


def permute_rows(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's `DecoderModel.permute`: each head's rows from NeoX half-split order to
    interleaved pairs (row 2i ← i, row 2i+1 ← D/2 + i)."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_arch(family: str):
    import gguf

    return {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2,
            "gemma3": gguf.MODEL_ARCH.GEMMA3, "gpt2": gguf.MODEL_ARCH.GPT2}[family]


def write_tokenizer_metadata(writer, family: str) -> None:
    import gguf

    if is_sentencepiece(family):
        reader = gguf.GGUFReader(str(SENTENCEPIECE_GGUF))
        f = {k: v.contents() for k, v in reader.fields.items() if k.startswith("tokenizer.")}
        writer.add_tokenizer_model(f["tokenizer.ggml.model"])
        writer.add_tokenizer_pre(f["tokenizer.ggml.pre"])
        writer.add_token_list(f["tokenizer.ggml.tokens"])
        writer.add_token_scores(f["tokenizer.ggml.scores"])
        writer.add_token_types(f["tokenizer.ggml.token_type"])
        writer.add_bos_token_id(f["tokenizer.ggml.bos_token_id"])
        writer.add_eos_token_id(f["tokenizer.ggml.eos_token_id"])
        writer.add_unk_token_id(f["tokenizer.ggml.unknown_token_id"])
        writer.add_add_bos_token(f["tokenizer.ggml.add_bos_token"])
        writer.add_add_eos_token(f["tokenizer.ggml.add_eos_token"])
        writer.add_add_space_prefix(f["tokenizer.ggml.add_space_prefix"])
        return
    t = json.loads(BYTE_LEVEL.read_text())
    tokens = {i: s for s, i in t["model"]["vocab"].items()}
    types = {i: 1 for i in tokens}
    for a in t["added_tokens"]:
        tokens[a["id"]] = a["content"]
        types[a["id"]] = 3 if a["special"] else 4  # control / user-defined
    n = max(tokens) + 1
    assert sorted(tokens) == list(range(n))
    merges = [m if isinstance(m, str) else " ".join(m) for m in t["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama-bpe")
    writer.add_token_list([tokens[i] for i in range(n)])
    writer.add_token_types([types[i] for i in range(n)])
    writer.add_token_merges(merges)
    if family == "gpt2":
        writer.add_bos_token_id(271)  # as the fixture's config.json (GPT-2: <|endoftext|> both)
    writer.add_eos_token_id(271)
    writer.add_add_bos_token(False)


GPT2_CONV1D = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")


def write_gpt2_gguf(model, path: Path) -> dict:
    """GPT-2 as llama.cpp's converter writes it (ggerganov/llama.cpp `convert_hf_to_gguf.py`
    class `GPT2Model`, lines 2338-2371 at c392e50; `conversion/gpt2.py` at 0c1e570, the copy
    llama-cpp-python 0.3.36 vendors): metadata `gpt2.block_count`, `context_length`,
    `embedding_length`, `feed_forward_length`, `attention.head_count`,
    `attention.layer_norm_epsilon`; the Conv1D weights (c_attn, attn c_proj, c_fc, mlp c_proj)
    transposed to (out, in) (GGUF ne = [in, out]); `attn_qkv` stays fused (weight + bias);
    `position_embd`; norms with biases. Two departures, both because this checkpoint differs
    from the real GPT-2s the converter was written for: `feed_forward_length` is `n_inner` (the
    converter writes 4·n_embd, which is what every hub GPT-2 has, but this fixture's n_inner is
    2·n_embd), and `context_length` is `n_positions` (the converter reads `n_ctx`, which the hub
    configs carry with the same value and transformers 5 no longer saves). The head is tied:
    no `output.weight`, as the current converter writes it (c392e50 duplicated `token_embd` as
    `output.weight`; llama.cpp now falls back to `token_embd`, `src/models/gpt2.cpp`)."""
    import gguf

    c = model.config
    arch = gguf.MODEL_ARCH.GPT2
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_name("locus-gpt2-fixture")
    writer.add_block_count(c.n_layer)
    writer.add_context_length(c.n_positions)
    writer.add_embedding_length(c.n_embd)
    writer.add_feed_forward_length(c.n_inner or 4 * c.n_embd)
    writer.add_head_count(c.n_head)
    writer.add_layer_norm_eps(c.layer_norm_epsilon)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    write_tokenizer_metadata(writer, "gpt2")

    names = gguf.get_tensor_name_map(arch, c.n_layer)
    layout = {}
    for key, tensor in model.state_dict().items():
        if key.endswith((".attn.bias", ".attn.masked_bias")) or key == "lm_head.weight":
            continue  # causal-mask buffers; the tied head
        name = names.get_name(key, try_suffixes=(".weight", ".bias"))
        assert name is not None, f"gpt2: no GGUF name for {key}"
        w = tensor.detach().float().numpy().copy()
        if key.endswith(GPT2_CONV1D):
            w = np.ascontiguousarray(w.T)  # Conv1D (in, out) → (out, in)
        w = w.astype(np.float16) if w.ndim == 2 else w.astype(np.float32)
        writer.add_tensor(name, w)
        layout[name] = {"from": key, "shape": list(w.shape), "type": "F16" if w.ndim == 2 else "F32",
                        "transposed": key.endswith(GPT2_CONV1D)}
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return layout


def write_gguf(family: str, model, path: Path) -> dict:
    import gguf

    if family == "gpt2":
        return write_gpt2_gguf(model, path)
    c = model.config
    arch = gguf_arch(family)
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_name(f"locus-{family}-fixture")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_context_length(c.max_position_embeddings)
    writer.add_embedding_length(c.hidden_size)
    writer.add_block_count(c.num_hidden_layers)
    writer.add_feed_forward_length(c.intermediate_size)
    writer.add_head_count(c.num_attention_heads)
    writer.add_head_count_kv(c.num_key_value_heads)
    writer.add_layer_norm_rms_eps(c.rms_norm_eps)
    head_dim = getattr(c, "head_dim", None)
    if head_dim is not None:  # the converter writes them only when config.json has head_dim
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    head_dim = head_dim or c.hidden_size // c.num_attention_heads
    writer.add_vocab_size(c.vocab_size)
    if family == "gemma3":
        writer.add_rope_freq_base(c.rope_parameters["full_attention"]["rope_theta"])
        writer.add_sliding_window(c.sliding_window)
        writer.add_array(gguf.Keys.Attention.SLIDING_WINDOW_PATTERN.format(arch="gemma3"),
                         [t == "sliding_attention" for t in c.layer_types])
        writer.add_final_logit_softcapping(c.final_logit_softcapping)
    else:
        writer.add_rope_freq_base(c.rope_parameters["rope_theta"])
        writer.add_rope_dimension_count(head_dim)
    write_tokenizer_metadata(writer, family)

    names = gguf.get_tensor_name_map(arch, c.num_hidden_layers)
    layout = {}
    for key, tensor in model.state_dict().items():
        if key == "lm_head.weight" and c.tie_word_embeddings:
            continue  # the converter writes no output.weight for a tied head
        name = names.get_name(key, try_suffixes=(".weight", ".bias"))
        assert name is not None, f"{family}: no GGUF name for {key}"
        w = tensor.detach().float().numpy().copy()
        if family == "llama" and key.endswith("q_proj.weight"):
            w = permute_rows(w, c.num_attention_heads)
        if family == "llama" and key.endswith("k_proj.weight"):
            w = permute_rows(w, c.num_key_value_heads)
        if family == "gemma3" and key.endswith("norm.weight"):
            w = w + 1  # Gemma's (1 + w) stored shifted, as the converter does
        w = w.astype(np.float16) if w.ndim == 2 else w.astype(np.float32)
        writer.add_tensor(name, w)
        layout[name] = {"from": key, "shape": list(w.shape), "type": "F16" if w.ndim == 2 else "F32"}
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return layout


def check_gguf_round_trip(family: str, model, path: Path) -> None:
    """transformers' GGUF loader (which undoes the permutation and the norm shift) must give
    back exactly the original weights."""
    from transformers import AutoModelForCausalLM

    # transformers reads GPT-2's sizes from `gpt2.context_length` into `n_ctx` and ignores
    # `feed_forward_length` (integrations/ggml.py), so it would build n_positions 1024 and
    # n_inner 4·n_embd; the checkpoint's own config is passed: this checks the weights.
    config = {"config": model.config} if family == "gpt2" else {}
    loaded = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32, **config)
    mine, theirs = model.state_dict(), loaded.state_dict()
    for key, value in mine.items():
        assert key in theirs, f"{family} GGUF: {key} missing after reload"
        assert torch.equal(value.float(), theirs[key].float()), f"{family} GGUF: {key} differs after reload"


# ----------------------------------------------------------------------------------------------


def make_family(family: str) -> None:
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    seed = SEEDS[family]
    model = make_model(family, seed)
    layers = model.config.num_hidden_layers
    path = OUT / family
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    if family in HALF_SAFETENSORS:  # 16-bit storage; the values are fp16 already, so nothing rounds
        half = make_model(family, seed).half()
        half.save_pretrained(str(path), safe_serialization=True)
        del half
    else:
        model.save_pretrained(str(path), safe_serialization=True)
    (path / "generation_config.json").unlink(missing_ok=True)
    copy_tokenizer(family, path)
    reloaded = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval()
    if family == "gemma3":
        reloaded.config._attn_implementation = "eager"

    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(seed + 1)
    sequences = [torch.randint(3, vocab, (n,), generator=g).tolist() for n in SEQUENCE_LENGTHS]
    reference = {
        "family": family,
        "model_class": MODEL_CLASSES[family],
        "environment": environment(),
        "weights": {
            "seed": seed,
            "init": "0.1*N(0,1); norm weights 1 + 0.1*N(0,1) (Gemma: 0.1*N(0,1), used as 1 + w); "
                    "norm biases 0.1*N(0,1); then rounded to fp16 values (stored as fp32)",
            "storage_dtype": "float16" if family in HALF_SAFETENSORS else "float32",
            "tensors": {k: list(v.shape) for k, v in sorted(load_file(str(path / "model.safetensors")).items())},
        },
        "sequences_seed": seed + 1,
        "sequences": [],
    }
    with torch.inference_mode():
        for ids in sequences:
            a = logits_of(model, ids)
            assert torch.allclose(a, logits_of(reloaded, ids), atol=1e-6, rtol=0), f"{family}: reload differs"
            reference["sequences"].append({"ids": ids, "logits": rl(a)})
        reference["greedy"] = greedy(model, sequences[1], GREEDY_TOKENS)

        ids = sequences[2]
        cache = {}

        def keep(n, x):
            cache[n] = x[0].detach().clone().float()

        handles = attach(model, family, keep)
        try:
            logits = logits_of(model, ids)
        finally:
            for h in handles:
                h.remove()
        assert torch.equal(logits, logits_of(model, ids)), "recording changed the logits"
        check_composition(family, cache, layers)
        reference["sites"] = {"ids": ids, "values": {n: rl(v) for n, v in sorted(cache.items())}}
        if family == "gemma3":
            reference["feature_effects"] = {
                "ids": ids, "max_abs_logit_change_without": check_gemma3_features_matter(model, ids)}

    # Backward: gradients at every site and at layer 0's output projections.
    model.zero_grad()
    deltas = {}

    def add_delta(n, x):
        d = torch.zeros_like(x, requires_grad=True)
        deltas[n] = d
        return x + d

    handles = attach(model, family, add_delta)
    try:
        out = model(torch.tensor([ids]), use_cache=False).logits[0].float()
    finally:
        for h in handles:
            h.remove()
    lp = torch.log_softmax(out, dim=-1)
    targets = [(t, ids[t + 1]) for t in range(len(ids) - 9, len(ids) - 1)]
    loss = sum(lp[t, tok] for t, tok in targets)
    loss.backward()
    weight_grads = {}
    for l, layer in enumerate(blocks(model, family)):
        if family == "gpt2":  # Conv1D stores (in, out): transpose to (out, in)
            down, o = layer.mlp.c_proj.weight.grad.T, layer.attn.c_proj.weight.grad.T
        elif family == "gptj":
            down, o = layer.mlp.fc_out.weight.grad, layer.attn.out_proj.weight.grad
        else:
            down, o = layer.mlp.down_proj.weight.grad, layer.self_attn.o_proj.weight.grad
        weight_grads[f"mlp_down.{l}"] = rl6(down.reshape(-1))
        weight_grads[f"attention_output.{l}"] = rl6(o.reshape(-1))
    reference["backward"] = {
        "ids": ids,
        "targets": [{"position": t, "token": tok} for t, tok in targets],
        "loss": "sum of log p(token | ids[...position]) over the targets",
        "log_likelihood": r(loss.item()),
        "site_gradients": {n: [rl6(row) for row in d.grad[0]] for n, d in sorted(deltas.items())},
        "weight_gradients": weight_grads,
        "gradient_digits": 6,
        "weight_gradient_layout": "(out, in) row-major, flattened",
    }

    # Steering: per-head vectors added to z at two layers, gradient of a continuation's log-prob.
    model.zero_grad()
    heads = model.config.num_attention_heads if family != "gpt2" else model.config.n_head
    head_dim = cache["blocks.0.attn.hook_z"].shape[-1] // heads
    steer_layers = [0, layers - 1]
    gs = torch.Generator().manual_seed(seed + 2)
    prefix = sequences[1]
    continuation = torch.randint(3, vocab, (STEERING_CONTINUATION,), generator=gs).tolist()
    vectors = {l: (0.1 * torch.randn(heads, head_dim, generator=gs)).requires_grad_(True) for l in steer_layers}

    def steer(n, z):
        l = int(n.split(".")[1])
        return z + vectors[l].reshape(1, 1, heads * head_dim)

    handles = attach(model, family, steer, only={f"blocks.{l}.attn.hook_z" for l in steer_layers})
    try:
        full = prefix + continuation
        out = model(torch.tensor([full]), use_cache=False).logits[0].float()
    finally:
        for h in handles:
            h.remove()
    lp = torch.log_softmax(out, dim=-1)
    steer_loss = sum(lp[len(prefix) - 1 + i, tok] for i, tok in enumerate(continuation))
    steer_loss.backward()
    with torch.inference_mode():
        unsteered = torch.log_softmax(logits_of(model, full), dim=-1)
        base_loss = sum(unsteered[len(prefix) - 1 + i, tok] for i, tok in enumerate(continuation))
    reference["steering"] = {
        "site": "attn.hook_z",
        "layers": steer_layers,
        "heads": heads,
        "head_width": head_dim,
        "prefix": prefix,
        "continuation": continuation,
        "seed": seed + 2,
        "vectors": {str(l): rl(v.detach()) for l, v in vectors.items()},
        "added_at": "every position of prefix + continuation, z[t, h, :] += v[h, :]",
        "loss": "sum over i of log p(continuation[i] | prefix + continuation[..<i]) with the vectors added",
        "log_likelihood": r(steer_loss.item()),
        "log_likelihood_unsteered": r(base_loss.item()),
        "gradients": {str(l): rl(v.grad) for l, v in vectors.items()},
    }

    if family in GGUF_FAMILIES:
        gguf_path = path / f"{family}-f16.gguf"
        layout = write_gguf(family, model, gguf_path)
        check_gguf_round_trip(family, model, gguf_path)
        reference["gguf"] = {"file": gguf_path.name, "tensors": layout,
                             "round_trip": "transformers from_pretrained(gguf_file=...) weights equal the originals"}

    with open(path / "reference.json", "w") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    sizes = {p.name: p.stat().st_size for p in sorted(path.iterdir())}
    print(f"{family}: {sum(sizes.values()):,} B {sizes}")
    if family == "gemma3":
        capped = out.detach().abs().max().item()
        print(f"  gemma3 max |final logit| {capped:.3f} (cap {model.config.final_logit_softcapping})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="*", default=list(SEEDS), help=f"any of {list(SEEDS)}")
    args = parser.parse_args()
    unknown = [f for f in args.families if f not in SEEDS]
    if unknown:
        parser.error(f"unknown families {unknown}; known: {list(SEEDS)}")
    for family in args.families:
        make_family(family)


if __name__ == "__main__":
    main()
