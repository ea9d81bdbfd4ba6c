#!/usr/bin/env python3
"""PyTorch performance peer for `locus bench` (same workloads, same JSON fields).

    peer.py forward --threads N --batch B --tokens T   prefill: B×T ids, logits at every position
    peer.py decode  --threads N --tokens N             greedy generation of N new tokens

The model is the GGUF checkpoint dequantised to fp32 by transformers (as Locus computes in fp32),
or a Hugging Face directory (config.json + safetensors + tokenizer.json, e.g. the shaped
checkpoints of scripts/bench/make_shaped_checkpoints.py) loaded in fp32, or with --dtype bfloat16
in bf16 (PyTorch then computes in bf16: the fastest it runs a bf16 checkpoint on CPU, while
Locus keeps bf16 weights and computes in fp32; both are worth comparing).
One warm-up, then --runs timed runs; the median is reported. Prints one JSON line on stdout:
{"tokens_per_second","seconds","best_tokens_per_second","runs","batch","tokens","threads",
 "peak_rss_mb","rss_after_load_mb","load_seconds","load_average","benchmark","impl":"pytorch","dtype",
 "torch","transformers","cpu_seconds","cpu_runs"}. tokens_per_second uses the median run, best_…
the fastest one; cpu_seconds is the median run's process CPU time (every thread), which a shared
machine distorts less than wall time.
peak_rss_mb is the process peak (ru_maxrss), which includes dequantising the GGUF at load time;
rss_after_load_mb is the resident size once the model is loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_TEXT = Path("/work/shared/data/corpus/wikitext2-valid.txt")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load(path: Path, dtype: torch.dtype = torch.float32):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    if path.is_dir():
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype).eval()
        return tokenizer, model, time.perf_counter() - start
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=dtype
    ).eval()
    return tokenizer, model, time.perf_counter() - start


def text_ids(tokenizer, text: Path, batch: int, tokens: int, seed: int) -> torch.Tensor:
    """B windows of T consecutive real-text token ids at seeded offsets (random ids if no text)."""
    g = torch.Generator().manual_seed(seed)
    vocab = tokenizer.vocab_size if hasattr(tokenizer, "vocab_size") else 49152
    if not text.exists():
        return torch.randint(0, vocab, (batch, tokens), generator=g)
    with open(text, encoding="utf-8") as f:
        corpus = f.read(300_000)
    ids = torch.tensor(tokenizer(corpus, add_special_tokens=False)["input_ids"])
    if len(ids) <= tokens:
        return torch.randint(0, vocab, (batch, tokens), generator=g)
    starts = torch.randint(0, len(ids) - tokens, (batch,), generator=g)
    return torch.stack([ids[s : s + tokens] for s in starts.tolist()])


def timed(fn, runs: int) -> tuple[list[float], list[float]]:
    """Wall and process CPU seconds of each run after one warm-up."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="benchmark", required=True)
    for name, runs in (("forward", 5), ("decode", 3)):
        p = sub.add_parser(name)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--tokens", type=int, default=128 if name == "forward" else 64)
        p.add_argument("--runs", type=int, default=runs, help="timed runs after one warm-up (>= 3)")
        p.add_argument("--model", default=str(DEFAULT_MODEL), help="GGUF file or Hugging Face directory")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                       help="dtype the model is loaded and run in (default float32)")
        if name == "forward":
            p.add_argument("--batch", type=int, default=4)
            p.add_argument("--text", default=str(DEFAULT_TEXT), help="corpus the ids are drawn from")
        else:
            p.add_argument("--prompt", default="The history of the city begins")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs must be at least 3")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    load_average_before = round(os.getloadavg()[0], 2)
    tokenizer, model, load_seconds = load(Path(args.model), DTYPES[args.dtype])
    rss_after_load = current_rss_mb()

    with torch.inference_mode():
        if args.benchmark == "forward":
            batch, tokens = args.batch, args.tokens
            ids = text_ids(tokenizer, Path(args.text), batch, tokens, args.seed)

            def once():
                logits = model(input_ids=ids, use_cache=False).logits  # (B, T, V), every position
                assert logits.shape == (batch, tokens, model.config.vocab_size)

            count = batch * tokens
        else:
            batch, tokens = 1, args.tokens
            prompt = torch.tensor([tokenizer(args.prompt, add_special_tokens=False)["input_ids"]])
            mask = torch.ones_like(prompt)

            def once():
                out = model.generate(
                    prompt, attention_mask=mask, do_sample=False, num_beams=1,
                    max_new_tokens=tokens, min_new_tokens=tokens,
                    pad_token_id=getattr(model.config, "pad_token_id", None), use_cache=True,
                )
                assert out.shape[1] - prompt.shape[1] == tokens

            count = tokens
        runs, cpu_runs = timed(once, args.runs)

    median = statistics.median(runs)
    print(json.dumps({
        "benchmark": args.benchmark,
        "tokens_per_second": round(count / median, 2),
        "seconds": round(median, 4),
        "best_tokens_per_second": round(count / min(runs), 2),
        "runs": [round(t, 4) for t in runs],
        "cpu_seconds": round(statistics.median(cpu_runs), 4),
        "cpu_runs": [round(t, 4) for t in cpu_runs],
        "batch": batch,
        "tokens": tokens,
        "threads": args.threads,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_after_load_mb": round(rss_after_load, 1),
        "load_seconds": round(load_seconds, 2),
        "load_average": [load_average_before, round(os.getloadavg()[0], 2)],  # 1-min, start/end
        "impl": "pytorch",
        "dtype": args.dtype,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
    }), flush=True)


if __name__ == "__main__":
    main()
