"""PyTorch reference for ROME's v* optimisation and the causal-tracing noise level.

Writes Tests/LocusEditingTests/Fixtures/rome_vstar_reference.json:
- `vstar`: for the tiny llama fixture (byte tokenizer) and the real SmolLM2 checkpoint, the
  trajectory of ROME's v* optimisation (per-evaluation NLL, KL, total loss; δ after the first
  update and at the end; Adam updates made), computed as kmeng01/rome `rome/compute_v.py`
  (commit 0874014) does it:
    * δ is added to the MLP output (`mlp` module output, before the residual add) at the last
      subject token of every rewriting prompt and of the KL prompt (L76–89);
    * v_init = that MLP output at the unprefixed prompt before δ (L80–84);
    * NLL = mean over prompts of (Σ over target tokens of −log p) / len(target) (L126–136);
    * KL = kl_div(init_log_probs, current_log_probs, log_target=True, reduction="batchmean")
      at the KL prompt's last subject token (L112–122, L137–139), times kl_factor;
    * weight decay = v_weight_decay · ‖δ‖ / ‖v_init‖² (L140–142);
    * stop if the total loss < 5e-2 or at the last evaluation (no update then) (L150–154);
    * Adam(lr) step, then clamp ‖δ‖ ≤ clamp_norm_factor · ‖v_init‖ (L156–164).
  Sequences are run one at a time (ROME pads a batch; with causal attention and the padding
  masked the rows are the same).
- `noise_level`: ROME's `collect_embedding_std` (experiments/causal_trace.py L647–656) over the
  subjects of knowns/known_1000.json with the SmolLM2 tokenizer (no special tokens: the GGUF's
  tokenizer adds no BOS), computed with numpy: std (ddof=1) of every element of the embedding
  rows of every subject's tokens; and the count of those tokens.

    .venv-ref/bin/python scripts/reference/make_rome_fixture.py

Token ids are stored, so the Swift test does not depend on tokenization for v*. fp32, one thread.
"""
from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY = ROOT / "Tests" / "LocusModelTests" / "Fixtures" / "tiny-llama"
KNOWNS = ROOT.parent / "shared" / "data" / "knowns" / "known_1000.json"
OUT = ROOT / "Tests" / "LocusEditingTests" / "Fixtures" / "rome_vstar_reference.json"

HYPER = {"steps": 20, "learning_rate": 0.5, "kl_factor": 0.0625, "weight_decay": 0.5,
         "clamp_factor": 4.0, "stop_loss": 0.05}


def g7(x: float) -> float:
    return float(f"{x:.7g}")


def vstar(model, layer: int, rewrites: list[dict], kl: dict, target: list[int]) -> dict:
    """ROME's compute_v loop on token ids. rewrites[i] = {"tokens", "last_subject"}; rewrites[0]
    is the unprefixed prompt."""
    for p in model.parameters():
        p.requires_grad_(False)
    c = model.config.hidden_size
    delta = torch.zeros(c, requires_grad=True)
    state = {"position": None, "v_init": None}

    def hook(module, args, output):
        if state["v_init"] is None and state["record"]:
            state["v_init"] = output[0, state["position"]].detach().clone()
        out = output.clone()
        out[0, state["position"]] = out[0, state["position"]] + delta
        return out

    handle = model.model.layers[layer].mlp.register_forward_hook(hook)
    opt = torch.optim.Adam([delta], lr=HYPER["learning_rate"])
    kl_init = None
    record = {"nll": [], "kl": [], "total": [], "updates": 0}
    for it in range(HYPER["steps"]):
        opt.zero_grad()
        nll = 0.0
        for i, r in enumerate(rewrites):
            ids = torch.tensor([r["tokens"] + target[:-1]])
            state["position"], state["record"] = r["last_subject"], (i == 0)
            logp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
            start = len(r["tokens"]) - 1
            nll = nll + -sum(logp[start + k, t] for k, t in enumerate(target)) / len(target)
        nll = nll / len(rewrites)
        state["position"], state["record"] = kl["last_subject"], False
        kl_logp = torch.log_softmax(model(torch.tensor([kl["tokens"]])).logits[0, kl["last_subject"]].float(), dim=-1)[None]
        if kl_init is None:
            kl_init = kl_logp.detach().clone()
        kl_div = torch.nn.functional.kl_div(kl_init, kl_logp, log_target=True, reduction="batchmean")
        wd = HYPER["weight_decay"] * (torch.norm(delta) / torch.norm(state["v_init"]) ** 2)
        loss = nll + HYPER["kl_factor"] * kl_div + wd
        record["nll"].append(g7(nll.item()))
        record["kl"].append(g7(kl_div.item()))
        record["total"].append(g7(loss.item()))
        if loss < HYPER["stop_loss"]:
            break
        if it == HYPER["steps"] - 1:
            break
        loss.backward()
        opt.step()
        record["updates"] += 1
        max_norm = HYPER["clamp_factor"] * state["v_init"].norm()
        if delta.norm() > max_norm:
            with torch.no_grad():
                delta[...] = delta * max_norm / delta.norm()
        if record["updates"] == 1:
            record["delta_after_first_update"] = [g7(v) for v in delta.detach().tolist()]
    handle.remove()
    record["delta"] = [g7(v) for v in delta.detach().tolist()]
    record["delta_norm"] = g7(delta.detach().norm().item())
    record["v_init_norm"] = g7(state["v_init"].norm().item())
    return record


def case(tokenize, prompt: str, subject: str, target: str, contexts: list[str]) -> dict:
    """Token ids and last-subject positions as Locus's `SubjectPosition` (ROME's subject_last):
    len(tokens of the text up to the end of the subject) − 1."""
    def position(text: str) -> dict:
        end = text.index(subject) + len(subject)
        return {"text": text, "tokens": tokenize(text), "last_subject": len(tokenize(text[:end])) - 1}
    texts = [prompt] + [c + ". " + prompt for c in contexts]
    return {"prompt": prompt, "subject": subject, "target": target,
            "rewrites": [position(t) for t in texts], "kl": position(subject + " is a"),
            "target_tokens": tokenize(" " + target)}


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    payload = {
        "about": "ROME v* trajectories (kmeng01/rome rome/compute_v.py, commit 0874014) and "
                 "collect_embedding_std over known_1000.json subjects; see scripts/reference/make_rome_fixture.py",
        "torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
        "threads": 1, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hyper": HYPER, "vstar": {},
    }

    tiny = LlamaForCausalLM.from_pretrained(str(TINY), dtype=torch.float32).eval()
    byte_tokenize = lambda s: list(s.encode("utf-8"))
    c = case(byte_tokenize, "ab cd ef", "cd", "zq", ["Xy", "mn op"])
    c["layer"] = 0
    c["result"] = vstar(tiny, 0, c["rewrites"], c["kl"], c["target_tokens"])
    payload["vstar"]["tiny"] = c
    print("tiny", c["result"]["total"], c["result"]["delta_norm"])

    tok = AutoTokenizer.from_pretrained(str(MODELS), gguf_file=GGUF)
    smol = AutoModelForCausalLM.from_pretrained(str(MODELS), gguf_file=GGUF, dtype=torch.float32).eval()
    tokenize = lambda s: tok(s, add_special_tokens=False).input_ids
    c = case(tokenize, "The Eiffel Tower is located in the city of", "Eiffel Tower", "Rome",
             ["The weather today is", "I think that"])
    c["layer"] = 12
    c["result"] = vstar(smol, 12, c["rewrites"], c["kl"], c["target_tokens"])
    payload["vstar"]["smollm2"] = c
    payload["model_sha256"] = hashlib.sha256((MODELS / GGUF).read_bytes()).hexdigest()
    print("smollm2", c["result"]["total"], c["result"]["delta_norm"])

    knowns = json.loads(KNOWNS.read_text(encoding="utf-8"))
    ids = [t for k in knowns for t in tokenize(k["subject"])]
    emb = smol.model.embed_tokens.weight.detach().numpy().astype(np.float64)
    rows = emb[np.array(ids)]
    payload["noise_level"] = {
        "source": "knowns/known_1000.json", "source_sha256": hashlib.sha256(KNOWNS.read_bytes()).hexdigest(),
        "subjects": len(knowns), "tokens": len(ids),
        "std_ddof1": float(f"{rows.std(ddof=1):.10g}"),
        "embedding_matrix_std_ddof0": float(f"{emb.std():.10g}"),
    }
    print("noise", payload["noise_level"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
