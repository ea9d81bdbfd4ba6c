#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) on the workloads of `locus bench`, one per process.

    .venv-llamacpp/bin/python scripts/bench/llamacpp_peer.py decode  --model F.gguf --threads 1 --tokens 32
    .venv-llamacpp/bin/python scripts/bench/llamacpp_peer.py forward --model F.gguf --threads 1 --tokens 128
    .venv-llamacpp/bin/python scripts/bench/llamacpp_peer.py requantize --model IN.gguf --out OUT.gguf --type q8_0

decode   greedy generation of N tokens after the prompt "The history of the city begins" (BOS
         added when the file says so), one token per llama_decode call, as `locus bench decode`
         (prompt evaluation included in the timed run, EOS ignored); median of --runs after a
         warm-up.
forward  one sequence of T seeded random token ids evaluated in one batch with the logits of
         every position (`logits_all`), as `locus bench forward --batch 1`; median of --runs.
requantize  llama.cpp's quantizer (llama_model_quantize, requantising allowed) writes OUT in
         the given type (q8_0, q4_0, q4_1, q4_k_m): how the SmolLM2 Q8_0 peer file is made from
         the Q4_1 one (its values are those of the Q4_1 file, re-stored as Q8_0).

Prints one JSON object like `locus bench … --json`: tokens_per_second, seconds, runs, batch,
tokens, threads, peak_rss_mb (ru_maxrss of this process), load_seconds, cpu_seconds (median
process CPU seconds of the timed runs), impl "llama.cpp".
The build is llama.cpp's own CPU backend (no BLAS), compiled for this CPU by
scripts/bench/install-llamacpp.sh.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time

import numpy as np
import llama_cpp
from llama_cpp import Llama


def load(path: str, threads: int, context: int, logits_all: bool) -> tuple[Llama, float]:
    start = time.perf_counter()
    llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=context,
                n_batch=max(512, context), n_ubatch=max(512, context), logits_all=logits_all,
                use_mmap=True, verbose=False)
    return llm, time.perf_counter() - start


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def decode(args) -> dict:
    llm, load_seconds = load(args.model, args.threads, 256, logits_all=False)
    prompt = llm.tokenize(args.prompt.encode(), add_bos=True, special=False)

    cpu = []

    def once() -> float:
        llm.reset()
        t, c = time.perf_counter(), time.process_time()
        llm.eval(prompt)
        produced = []
        for _ in range(args.tokens):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            produced.append(token)
            llm.eval([token])
        assert len(produced) == args.tokens
        cpu.append(time.process_time() - c)
        return time.perf_counter() - t

    once()
    cpu.clear()
    runs = [once() for _ in range(args.runs)]
    median = statistics.median(runs)
    return {"benchmark": "decode", "tokens_per_second": args.tokens / median, "seconds": median,
            "runs": runs, "batch": 1, "tokens": args.tokens, "threads": args.threads,
            "peak_rss_mb": peak_rss_mb(), "load_seconds": load_seconds,
            "cpu_seconds": statistics.median(cpu)}


def forward(args) -> dict:
    llm, load_seconds = load(args.model, args.threads, args.tokens + 8, logits_all=True)
    rng = np.random.default_rng(args.seed)
    ids = rng.integers(0, llm.n_vocab(), args.tokens).tolist()

    cpu = []

    def once() -> float:
        llm.reset()
        t, c = time.perf_counter(), time.process_time()
        llm.eval(ids)
        elapsed = time.perf_counter() - t
        cpu.append(time.process_time() - c)
        scores = llm.scores[:args.tokens]
        assert scores.shape[0] == args.tokens and np.isfinite(scores[-1]).all()
        return elapsed

    once()
    cpu.clear()
    runs = [once() for _ in range(args.runs)]
    median = statistics.median(runs)
    return {"benchmark": "forward", "tokens_per_second": args.tokens / median, "seconds": median,
            "runs": runs, "batch": 1, "tokens": args.tokens, "threads": args.threads,
            "peak_rss_mb": peak_rss_mb(), "load_seconds": load_seconds,
            "cpu_seconds": statistics.median(cpu)}


def requantize(args) -> dict:
    types = {"q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
             "q4_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_1, "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M}
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = types[args.type]
    params.nthread = args.threads
    params.allow_requantize = True
    start = time.perf_counter()
    status = llama_cpp.llama_model_quantize(args.model.encode(), args.out.encode(), params)
    if status != 0:
        sys.exit(f"llama_model_quantize failed ({status})")
    return {"requantized": args.out, "type": args.type, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["decode", "forward", "requantize"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt", default="The history of the city begins")
    parser.add_argument("--out")
    parser.add_argument("--type", default="q8_0")
    args = parser.parse_args()
    if args.tokens is None:
        args.tokens = 32 if args.command == "decode" else 128
    result = {"decode": decode, "forward": forward, "requantize": requantize}[args.command](args)
    result.update({"impl": "llama.cpp", "llama_cpp_python": llama_cpp.__version__, "model": args.model})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
