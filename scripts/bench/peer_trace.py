#!/usr/bin/env python3
"""PyTorch peer for `locus trace` (issue 6): the causal trace of one prompt, hidden states only.

    peer_trace.py trace   --prompt P --subject S --answer A [--threads N --samples 10 --noise 3
                          --seed 0 --noise-file F --out grid.json]
    peer_trace.py compare [same options] [--locus .build/release/locus --runs 1]

`trace` (the peer): the GGUF checkpoint dequantised to fp32 by transformers; the prompt is
tokenized without BOS (as Locus does); the subject's tokens are located as in Locus's
`SubjectTokens` (tokens of the text before the subject, trailing spaces trimmed, up to the tokens
of the text through the subject); the answer is the first token of " " + answer. The noise is
N(0, ν²) with ν = noise × std(embedding matrix) added to the subject tokens' embeddings, one draw
per sample: read from --noise-file (written by `locus trace --noise-file`, float32 samples ×
subject tokens × width, so both programs use the same draws) or, without it, drawn from
torch.Generator(seed). For every token t from the subject's first token on and every layer l, the
output of decoder layer l at token t (Locus's resid_post) is replaced by the clean run's, for every
sample, and p(answer) at the last position is averaged over the samples; tokens before the subject
cannot change anything and get the corrupted score (Locus does the same). Each token t is one
forward call of layers × samples sequences (full prompt, logits at the last position only).
The timed span is the clean run, the corrupted run and all restorations (not loading), as in the
`seconds` field of `locus trace`. Prints one JSON line (grid, clean/corrupt probability, seconds,
threads, load average, versions).

`compare` (the driver): runs `locus trace --kinds hidden --noise-file F --threads N` and then
this script's `trace` with the same F, back to back (--runs times each, alternating), prints both
times, the ratio locus/peer, and the largest absolute difference between the two
probability grids (same noise, so they should agree to float rounding of two fp32 programs).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GGUF = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = "The Eiffel Tower is located in the city of"


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompt", default=PROMPT)
    p.add_argument("--subject", default="Eiffel Tower")
    p.add_argument("--answer", default="Paris")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--noise", type=float, default=3.0, help="ν in units of the embedding std")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=str(GGUF))


def locate_subject(tok, prompt: str, subject: str) -> tuple[list[int], int, int]:
    """Tokens and [start, end) of the subject, Locus's SubjectTokens convention."""
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    i = prompt.index(subject)
    before = prompt[:i].rstrip(" ")
    start = len(enc(before)) if before else 0
    end = len(enc(prompt[: i + len(subject)]))
    return enc(prompt), start, end


def peer_trace(a: argparse.Namespace) -> dict:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(a.threads)
    load_avg = round(os.getloadavg()[0], 2)
    path = Path(a.model)
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    load_seconds = time.perf_counter() - t0

    tokens, s0, s1 = locate_subject(tok, a.prompt, a.subject)
    answer = tok(" " + a.answer, add_special_tokens=False)["input_ids"][0]
    T, L, S = len(tokens), model.config.num_hidden_layers, a.samples
    C = model.config.hidden_size
    emb = model.get_input_embeddings().weight
    std = emb.double().std(unbiased=False).item()
    scale = a.noise * std
    if a.noise_file:
        raw = np.fromfile(a.noise_file, dtype="<f4")
        if raw.size != S * (s1 - s0) * C:
            sys.exit(f"{a.noise_file}: {raw.size} floats, expected {S}×{s1 - s0}×{C}")
        noise = torch.from_numpy(raw.reshape(S, s1 - s0, C).copy())
        noise_source = "file"
    else:
        g = torch.Generator().manual_seed(a.seed)
        noise = torch.randn(S, s1 - s0, C, generator=g) * scale
        noise_source = f"torch.Generator({a.seed})"

    layers = model.model.layers
    ids = torch.tensor([tokens])
    state: dict = {"noise_rows": None, "restore": {}, "record": None}

    def embed_hook(_m, _inp, out):
        rows = state["noise_rows"]
        if rows is None:
            return out
        out = out.clone()
        out[:, s0:s1, :] += noise[rows]  # rows: sample index of each batch row
        return out

    def layer_hook(index):
        def hook(_m, _inp, out):
            h = out[0] if isinstance(out, tuple) else out
            if state["record"] is not None:
                state["record"][index] = h[0].detach().clone()
            r = state["restore"].get(index)
            if r is not None:
                batch_rows, t, value = r
                h[batch_rows, t, :] = value  # in place: the block's output is the next block's input
            return out
        return hook

    handles = [model.get_input_embeddings().register_forward_hook(embed_hook)]
    handles += [layers[l].register_forward_hook(layer_hook(l)) for l in range(L)]

    def p_answer(batch: torch.Tensor) -> torch.Tensor:
        logits = model(input_ids=batch, use_cache=False, logits_to_keep=1).logits[:, -1, :]
        return torch.softmax(logits.double(), dim=-1)[:, answer]

    with torch.inference_mode():
        start = time.perf_counter()
        state["record"] = {}
        clean_p = p_answer(ids).item()
        clean = state["record"]
        state["record"] = None
        state["noise_rows"] = torch.arange(S)
        corrupt_p = p_answer(ids.repeat(S, 1)).mean().item()
        grid = [[corrupt_p] * L for _ in range(T)]
        batch = ids.repeat(L * S, 1)
        state["noise_rows"] = torch.arange(S).repeat(L)  # row l*S + s carries sample s
        for t in range(s0, T):
            state["restore"] = {
                l: (torch.arange(l * S, (l + 1) * S), t, clean[l][t]) for l in range(L)}
            p = p_answer(batch).view(L, S).mean(dim=1)
            grid[t] = p.tolist()
        seconds = time.perf_counter() - start
    for h in handles:
        h.remove()
    return {
        "impl": "pytorch", "benchmark": "trace-hidden", "prompt": a.prompt, "subject": a.subject,
        "answer": a.answer, "tokens": [tok.decode([i]) for i in tokens], "subject_tokens": [s0, s1],
        "clean_probability": clean_p, "corrupt_probability": corrupt_p, "grid": grid,
        "restorations": (T - s0) * L, "samples": S, "noise_scale": scale, "embedding_std": std,
        "noise_source": noise_source, "seconds": round(seconds, 3), "load_seconds": round(load_seconds, 2),
        "threads": a.threads, "load_average": [load_avg, round(os.getloadavg()[0], 2)],
        "torch": torch.__version__, "transformers": __import__("transformers").__version__,
    }


def run_json(cmd: list[str]) -> tuple[dict, float]:
    """Runs cmd, returns its last stdout line as JSON and the process wall time."""
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1]), wall


def compare(a: argparse.Namespace) -> None:
    py = ROOT / ".venv-ref" / "bin" / "python"
    common = ["--prompt", a.prompt, "--subject", a.subject, "--answer", a.answer,
              "--threads", str(a.threads), "--samples", str(a.samples),
              "--noise", str(a.noise), "--seed", str(a.seed), "--model", a.model]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        nf = str(Path(tmp) / "noise.f32")
        for run in range(a.runs):
            load = round(os.getloadavg()[0], 2)
            locus, locus_wall = run_json(
                [a.locus, "trace", *common, "--kinds", "hidden", "--noise-file", nf])
            peer, peer_wall = run_json([str(py), __file__, "trace", *common, "--noise-file", nf])
            lg = locus["grids"][0]["probability"]
            pg = peer["grid"]
            diff = max(abs(x - y) for lr, pr in zip(lg, pg) for x, y in zip(lr, pr))
            rows.append({
                "run": run, "locus_seconds": locus["seconds"], "peer_seconds": peer["seconds"],
                "ratio_locus_over_peer": round(locus["seconds"] / peer["seconds"], 3),
                "locus_process_wall": round(locus_wall, 2), "peer_process_wall": round(peer_wall, 2),
                "peer_load_seconds": peer["load_seconds"],
                "clean": [locus["clean_probability"], peer["clean_probability"]],
                "corrupt": [locus["corrupt_probability"], peer["corrupt_probability"]],
                "max_abs_grid_difference": diff, "load_average_start": load,
                "load_average_end": round(os.getloadavg()[0], 2),
            })
            r = rows[-1]
            print(f"run {run}: locus {r['locus_seconds']:.2f} s, pytorch {r['peer_seconds']:.2f} s "
                  f"(ratio locus/pytorch {r['ratio_locus_over_peer']:.2f}); clean p {r['clean'][0]:.4f} vs "
                  f"{r['clean'][1]:.4f}, corrupt p {r['corrupt'][0]:.4f} vs {r['corrupt'][1]:.4f}; "
                  f"max |Δ grid| {diff:.2e}; load {load} → {r['load_average_end']}", file=sys.stderr)
            if a.grids:
                Path(a.grids).write_text(json.dumps({"locus": locus, "pytorch": peer}))
    print(json.dumps({"benchmark": "trace-hidden", "threads": a.threads, "samples": a.samples,
                      "tokens": len(locus["tokens"]), "restorations": peer["restorations"],
                      "torch": peer["torch"], "transformers": peer["transformers"], "runs": rows}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("trace")
    add_common(t)
    t.add_argument("--noise-file")
    t.add_argument("--out", help="also write the JSON record here")
    c = sub.add_parser("compare")
    add_common(c)
    c.add_argument("--locus", default=str(ROOT / ".build" / "release" / "locus"))
    c.add_argument("--runs", type=int, default=1)
    c.add_argument("--grids", help="write both records (grids included) of the last run here")
    a = ap.parse_args()
    if a.command == "trace":
        record = peer_trace(a)
        text = json.dumps(record)
        if a.out:
            Path(a.out).write_text(text)
        print(text, flush=True)
    else:
        compare(a)


if __name__ == "__main__":
    main()
