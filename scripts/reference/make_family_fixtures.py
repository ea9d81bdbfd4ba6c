#!/usr/bin/env python3
"""Parity fixtures for Locus's architecture seam: one seeded random-weight checkpoint per family,
written by transformers, with what PyTorch computes on it.

For each family (qwen2, gpt2, gptj, gemma3) the directory
``Tests/LocusModelTests/Fixtures/families/<family>/`` holds

  config.json         as transformers' ``save_pretrained`` writes it (the real format)
  model.safetensors   as ``save_pretrained`` writes it (GPT-2's Conv1D weights stay (in, out))
  reference.json      logits at every position of three id sequences; a 20-token greedy chain;
                      every activation site (resid_pre/mid/post, attn_out, z, mlp_hidden, mlp_out)
                      of every layer at every position of one sequence; and autograd gradients of
                      a log-likelihood with respect to sites and to the MLP/attention output
                      projections (the backward pass's parity reference).

Weights: every parameter 0.1·N(0,1) (norm weights 1 + 0.1·N(0,1), or 0.1·N(0,1) for Gemma's
``1 + w`` norms), seeded per family (seed recorded). Sequences: seeded random ids. The run is
single-threaded. Every float is rounded to 7 significant digits.

    .venv-ref/bin/python scripts/reference/make_family_fixtures.py [family ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "LocusModelTests" / "Fixtures" / "families"
SIG = 7
VOCAB = 256


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
        "script": "scripts/reference/make_family_fixtures.py",
    }


# ----------------------------------------------------------------------------------------------
# families: config, model class, and where each site lives


def make_config(family: str):
    import transformers as tf

    if family == "qwen2":
        return tf.Qwen2Config(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
            rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
            use_sliding_window=False, hidden_act="silu", bos_token_id=1, eos_token_id=2)
    if family == "gpt2":
        return tf.GPT2Config(
            vocab_size=VOCAB, n_positions=128, n_embd=64, n_layer=2, n_head=4,
            activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=1,
            eos_token_id=2, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    if family == "gptj":
        return tf.GPTJConfig(
            vocab_size=VOCAB, n_positions=128, n_embd=64, n_layer=2, n_head=4, rotary_dim=8,
            activation_function="gelu_new", layer_norm_epsilon=1e-5, tie_word_embeddings=False,
            bos_token_id=1, eos_token_id=2, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    if family == "gemma3":
        return tf.Gemma3TextConfig(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
            num_attention_heads=4, num_key_value_heads=1, head_dim=24,
            max_position_embeddings=128, rms_norm_eps=1e-6, query_pre_attn_scalar=32,
            sliding_window=64, layer_types=["sliding_attention", "sliding_attention",
                                            "full_attention"],
            rope_parameters={
                "full_attention": {"rope_type": "default", "rope_theta": 100000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            },
            final_logit_softcapping=30.0, attn_logit_softcapping=None,
            hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
            bos_token_id=2, eos_token_id=1, pad_token_id=0)
    raise ValueError(family)


def make_model(family: str, seed: int):
    import transformers as tf

    torch.manual_seed(0)
    config = make_config(family)
    cls = {"qwen2": tf.Qwen2ForCausalLM, "gpt2": tf.GPT2LMHeadModel,
           "gptj": tf.GPTJForCausalLM, "gemma3": tf.Gemma3ForCausalLM}[family]
    model = cls(config).float().eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "norm" in name or name.split(".")[-2].startswith("ln"):
                base = 0.0 if family == "gemma3" else 1.0  # Gemma scales by (1 + w)
                if name.endswith("bias"):
                    base = 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("wpe.weight"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return model


def blocks(model, family):
    return model.transformer.h if family in ("gpt2", "gptj") else model.model.layers


def site_modules(family: str, layer) -> dict:
    """module → (hook kind, site) for every site but resid_pre/resid_post."""
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


def attach(model, family, fn):
    """Registers `fn(site_name, tensor) -> tensor|None` at every site of every layer."""
    handles = []
    for l, layer in enumerate(blocks(model, family)):
        def pre_layer(module, args, kwargs, n=f"blocks.{l}.hook_resid_pre"):
            if args:
                x = fn(n, args[0])
                return ((x,) + tuple(args[1:]), kwargs) if x is not None else None
            x = fn(n, kwargs["hidden_states"])
            if x is not None:
                kwargs = dict(kwargs, hidden_states=x)
                return (args, kwargs)
            return None

        handles.append(layer.register_forward_pre_hook(pre_layer, with_kwargs=True))

        def post_layer(module, args, out, n=f"blocks.{l}.hook_resid_post"):
            t = out[0] if isinstance(out, tuple) else out
            x = fn(n, t)
            if x is None:
                return None
            return (x,) + tuple(out[1:]) if isinstance(out, tuple) else x

        handles.append(layer.register_forward_hook(post_layer))
        for site, (module, kind) in site_modules(family, layer).items():
            n = f"blocks.{l}.{site}"
            if kind == "pre":
                def pre(m, a, n=n):
                    x = fn(n, a[0])
                    return (x,) + tuple(a[1:]) if x is not None else None

                handles.append(module.register_forward_pre_hook(pre))
            else:
                def post(m, a, o, n=n):
                    return fn(n, o)

                handles.append(module.register_forward_hook(post))
    return handles


def logits_of(model, ids):
    return model(torch.tensor([ids]), use_cache=False).logits[0].float()


# ----------------------------------------------------------------------------------------------


def make_family(family: str, seed: int) -> None:
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    model = make_model(family, seed)
    path = OUT / family
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path), safe_serialization=True)
    for extra in ("generation_config.json",):
        (path / extra).unlink(missing_ok=True)
    reloaded = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval()

    g = torch.Generator().manual_seed(seed + 1)
    sequences = [torch.randint(3, VOCAB, (n,), generator=g).tolist() for n in (1, 7, 16)]
    reference = {
        "family": family,
        "environment": environment(),
        "weights": {"seed": seed, "init": "0.1*N(0,1); norm weights 1 + 0.1*N(0,1) "
                    "(Gemma: 0.1*N(0,1), used as 1 + w); norm biases 0.1*N(0,1)",
                    "tensors": {k: list(v.shape) for k, v in sorted(load_file(
                        str(path / "model.safetensors")).items())}},
        "sequences_seed": seed + 1,
        "sequences": [],
    }
    with torch.inference_mode():
        for ids in sequences:
            a = logits_of(model, ids)
            b = logits_of(reloaded, ids)
            assert torch.allclose(a, b, atol=1e-6, rtol=0), f"{family}: reload differs"
            reference["sequences"].append({"ids": ids, "logits": rl(a)})

        prompt = sequences[1]
        seq, margins = list(prompt), []
        for _ in range(20):
            top2 = torch.topk(logits_of(model, seq)[-1], 2)
            seq.append(int(top2.indices[0]))
            margins.append(r(top2.values[0] - top2.values[1]))
        reference["greedy"] = {"ids": prompt, "greedy_ids": seq[len(prompt):],
                               "step_margin": margins}

        ids = sequences[2]
        cache = {}

        def keep(n, x):
            cache[n] = x[0].detach().clone().float()
            return None

        handles = attach(model, family, keep)
        try:
            logits = logits_of(model, ids)
        finally:
            for h in handles:
                h.remove()
        assert torch.equal(logits, logits_of(model, ids)), "recording changed the logits"
        reference["sites"] = {"ids": ids, "values": {n: rl(v) for n, v in sorted(cache.items())}}

    # Autograd: loss = Σ_t log p(ids[t+1] | ids[..t]) over the last 8 positions of `ids`,
    # gradients at every site of every layer (w.r.t. the activation as the next module reads
    # it) and w.r.t. the MLP and attention output projections in (out, in) layout.
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
        if family == "gpt2":
            down, o = layer.mlp.c_proj.weight.grad.T, layer.attn.c_proj.weight.grad.T
        elif family == "gptj":
            down, o = layer.mlp.fc_out.weight.grad, layer.attn.out_proj.weight.grad
        else:
            down, o = layer.mlp.down_proj.weight.grad, layer.self_attn.o_proj.weight.grad
        weight_grads[f"mlp_down.{l}"] = rl(down.reshape(-1))
        weight_grads[f"attention_output.{l}"] = rl(o.reshape(-1))
    site_gradients = {n: d.grad[0] for n, d in deltas.items()}
    # resid_mid is hooked at the MLP norm's input, so its delta reaches only the norm branch;
    # the residual stream also carries x₁ straight to the block output. ∂L/∂x₁ is the sum.
    for n in list(site_gradients):
        if n.endswith("hook_resid_mid"):
            site_gradients[n] = site_gradients[n] + site_gradients[n.replace("mid", "post")]
    reference["backward"] = {
        "ids": ids,
        "targets": [{"position": t, "token": tok} for t, tok in targets],
        "loss": "sum of log p(token | ids[...position]) over the targets",
        "log_likelihood": r(loss.item()),
        "site_gradients": {n: rl(g) for n, g in sorted(site_gradients.items())},
        "weight_gradients": weight_grads,
    }
    with open(path / "reference.json", "w") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    total = sum(p.stat().st_size for p in path.iterdir())
    print(f"{family}: {total:,} B in {sorted(p.name for p in path.iterdir())}")


FAMILIES = {"qwen2": 101, "gpt2": 102, "gptj": 103, "gemma3": 104}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="*", default=list(FAMILIES))
    args = parser.parse_args()
    for family in args.families:
        make_family(family, FAMILIES[family])


if __name__ == "__main__":
    main()
