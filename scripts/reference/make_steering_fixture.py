"""PyTorch autograd reference for the steering gradient on the real SmolLM2 checkpoint.

Writes Tests/LocusSteeringTests/Fixtures/smollm2_steering_gradient.json: the gradient of the
IPO preference loss with respect to per-head steering vectors added to the head outputs z
(the input of o_proj) at every position, for two TruthfulQA preference pairs.

    .venv-ref/bin/python scripts/reference/make_steering_fixture.py

Token ids are stored, so the Swift test does not depend on tokenization. fp32, one thread.
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = ROOT / "Tests" / "LocusSteeringTests" / "Fixtures" / "smollm2_steering_gradient.json"
HEADS = [(3, 2), (12, 7), (12, 1), (25, 0)]  # (layer, head)
TAU = 0.1
D = 64


def g7(x: float) -> float:
    return float(f"{x:.7g}")


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(MODELS), gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(str(MODELS), gguf_file=GGUF, dtype=torch.float32)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    rows = list(csv.DictReader(open(ROOT.parent / "shared/data/truthfulqa/TruthfulQA.csv", encoding="utf-8-sig")))
    pairs = []
    for row in rows[:2]:
        prompt = f"Q: {row['Question']}\nA:"
        good = row["Correct Answers"].split(";")[0].strip()
        bad = row["Incorrect Answers"].split(";")[0].strip()
        close = lambda s: s if s.endswith(".") else s + "."
        pairs.append({
            "prompt": tok(prompt, add_special_tokens=False).input_ids,
            "chosen": tok(" " + close(good), add_special_tokens=False).input_ids,
            "rejected": tok(" " + close(bad), add_special_tokens=False).input_ids,
        })

    rng = np.random.default_rng(7)
    vectors = torch.tensor(rng.normal(0, 0.5, size=(len(HEADS), D)), dtype=torch.float32, requires_grad=True)

    def attach(active: bool):
        handles = []
        for layer in sorted({l for l, _ in HEADS}):
            idx = [i for i, (l, _) in enumerate(HEADS) if l == layer]

            def pre_hook(module, args, idx=idx):
                (z,) = args
                if not active:
                    return None
                z = z.clone()
                for i in idx:
                    h = HEADS[i][1]
                    z[..., h * D:(h + 1) * D] = z[..., h * D:(h + 1) * D] + vectors[i]
                return (z,)

            handles.append(model.model.layers[layer].self_attn.o_proj.register_forward_pre_hook(pre_hook))
        return handles

    def answer_logprob(prompt, answer):
        ids = torch.tensor([prompt + answer])
        logits = model(ids).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        p = len(prompt)
        return sum(logp[p - 1 + i, t] for i, t in enumerate(answer))

    handles = attach(False)
    with torch.no_grad():
        reference = [(answer_logprob(x["prompt"], x["chosen"]).item(), answer_logprob(x["prompt"], x["rejected"]).item()) for x in pairs]
    for h in handles:
        h.remove()
    handles = attach(True)
    margins, losses = [], []
    for x, (rc, rr) in zip(pairs, reference):
        lc = answer_logprob(x["prompt"], x["chosen"])
        lr = answer_logprob(x["prompt"], x["rejected"])
        h = (lc - rc) - (lr - rr)
        margins.append(h)
        losses.append((h - 1 / (2 * TAU)) ** 2)
    loss = sum(losses) / len(losses)
    loss.backward()
    for h in handles:
        h.remove()

    OUT.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "about": "∂ IPO loss / ∂ per-head steering vectors (added to z before o_proj, all positions), "
                 "PyTorch autograd; see scripts/reference/make_steering_fixture.py",
        "model_sha256": hashlib.sha256((MODELS / GGUF).read_bytes()).hexdigest(),
        "torch": torch.__version__, "transformers": transformers.__version__, "threads": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "objective": {"kind": "ipo", "tau": TAU, "reduction": "mean over pairs", "length_normalized": False},
        "heads": [{"layer": l, "head": h} for l, h in HEADS],
        "vectors": [[g7(v) for v in row] for row in vectors.detach().tolist()],
        "pairs": pairs,
        "reference_logprobs": [{"chosen": g7(c), "rejected": g7(r)} for c, r in reference],
        "margins": [g7(m.item()) for m in margins],
        "loss": g7(loss.item()),
        "gradient": [[g7(v) for v in row] for row in vectors.grad.tolist()],
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {OUT} loss={loss.item():.6f} |grad|={vectors.grad.norm().item():.6f}")


if __name__ == "__main__":
    main()
