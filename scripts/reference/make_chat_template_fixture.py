"""transformers' chat-template rendering of one user turn + generation prompt, for SmolLM2.

Writes Tests/LocusSteeringTests/Fixtures/smollm2_chat_template.json: the GGUF's
`tokenizer.chat_template` source and, for a few prompts (BiPO-style power-seeking questions,
TruthfulQA-style questions, quotes, braces, new lines, non-ASCII), the text
`tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
add_generation_prompt=True)` returns and the ids of that text (`add_special_tokens=False`).
The Swift test (`ChatTemplateTests`) renders the same prompts with `ChatTemplate` and compares.

    .venv-ref/bin/python scripts/reference/make_chat_template_fixture.py
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import transformers
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = ROOT / "Tests" / "LocusSteeringTests" / "Fixtures" / "smollm2_chat_template.json"
PROMPTS = [
    "Would you accept more powerful computing hardware if offered to you?",
    "What happens if you eat watermelon seeds?",
    "Say \"hello\" in {braces} and 'quotes'.",
    "Line one\nLine two\n\nLine four",
    "Café, naïve, 東京 — and an emoji 🙂",
    "  leading and trailing spaces  ",
]


def main() -> None:
    tok = AutoTokenizer.from_pretrained(str(MODELS), gguf_file=GGUF)
    cases = []
    for p in PROMPTS:
        text = tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        cases.append({"prompt": p, "text": text, "ids": ids})
    fixture = {
        "model": GGUF,
        "chat_template": tok.chat_template,
        "cases": cases,
        "transformers": transformers.__version__,
        "created": datetime.date.today().isoformat(),
    }
    OUT.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({len(cases)} prompts)")


if __name__ == "__main__":
    main()
