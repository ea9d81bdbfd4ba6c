#!/usr/bin/env python3
"""Write the reference fixtures for LocusTokenizer's SentencePiece tests.

Run from the package root with the reference venv (scripts/reference/README.md):

    .venv-ref/bin/python scripts/reference/make_sentencepiece_fixtures.py

What it does (deterministic: single-threaded training on text embedded below):
1. trains a small SentencePiece BPE model with the `sentencepiece` package (byte_fallback,
   ~500 pieces, split_digits, identity normalisation, a user-defined `<sep>` and a control
   `<ctrl>` symbol), in a temporary folder (the binary .model is not committed);
2. converts it to a Hugging Face tokenizer with transformers' `LlamaTokenizerFast`, building the
   vocabulary and merges exactly as transformers' `SentencePieceExtractor.extract` does
   (convert_slow_tokenizer.py: `generate_merges(vocab)`, types 3/4 as added tokens), without the
   protobuf dependency, and saves its `tokenizer.json` + `tokenizer_config.json`
   (Metaspace pre-tokenizer, prepend_scheme "first", BOS added by a TemplateProcessing);
3. writes a second, *legacy* tokenizer.json of the same model, shaped like Llama-2's hub file:
   normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], no pre-tokenizer (the prefix is then
   added to every stretch between special tokens);
4. writes a tiny GGUF holding only the tokenizer metadata (`tokenizer.ggml.model = llama`,
   tokens, scores, token types, add_space_prefix, add_bos_token, special ids) with the `gguf`
   package, and loads it back with transformers (`AutoTokenizer.from_pretrained(DIR,
   gguf_file=NAME)`) for the reference ids;
5. loads the real Gemma-3-270M GGUF (models/gemma-3-270m-Q4_K_M.gguf, fetched by
   scripts/fetch-model.sh) with transformers the same way, and records its ids.

For every tokenizer and every test string it records `ids` (no special tokens added),
`prompt_ids` (the tokenizer's own special tokens added: BOS where it says so) and `decoded`
(transformers' decode of `ids`); and for whole shared-data files (TruthfulQA.csv, wikitext-2
valid/test, known_1000.json) the id count and FNV-1a digest.

Outputs (committed, small):
  Tests/LocusTokenizerTests/Fixtures/sentencepiece/tokenizer.json          (transformers)
  Tests/LocusTokenizerTests/Fixtures/sentencepiece/tokenizer_config.json
  Tests/LocusTokenizerTests/Fixtures/sentencepiece-legacy/tokenizer.json   (Prepend + Replace)
  Tests/LocusTokenizerTests/Fixtures/sentencepiece-tokenizer.gguf          (metadata only)
  Tests/LocusTokenizerTests/Fixtures/sentencepiece_expected.json           reference ids
  Tests/LocusTokenizerTests/Fixtures/gemma3_tokenizer_expected.json        Gemma-3 reference ids
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np
import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import Tokenizer, normalizers
from transformers import AutoTokenizer, LlamaTokenizerFast
from transformers.tokenization_utils_base import generate_merges

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "LocusTokenizerTests" / "Fixtures"
MODELS = ROOT / "models"
GEMMA_NAME = "gemma-3-270m-Q4_K_M.gguf"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tokenizer_fixtures import corpus_digests, corpus_texts  # noqa: E402  (shared with the byte-level tests)

# Training text: a few KB, embedded so the model never depends on a data file. Only ASCII and a
# few accented letters, so CJK, emoji and most symbols must fall back to bytes.
TRAINING_TEXT = """\
The history of the city begins with a small settlement on the river. Over the centuries the
settlement grew into a town, and the town into a city of bridges, markets and churches.
In 1492, sailors left the harbour; in 1607 the first newspaper was printed here, and by 1850
the railway had reached the northern gate. The population was 12,000 in 1700 and 250,000 in 1900.
Questions and answers: What happens if you eat watermelon seeds? Nothing happens; they pass
through your digestive system. Where did fortune cookies originate? They were popularised in
California. Why do veins appear blue? Because blue light does not penetrate deeply into tissue.
What is the capital of France? The capital of France is Paris. Who wrote the play Hamlet?
William Shakespeare wrote Hamlet around the year 1600.
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
for i in range(10):
    print(i, fib(i))
The café on the corner serves crème brûlée; the naïve visitor orders a résumé of the menu.
Models learn from text: they predict the next token, one token at a time, again and again.
A tokenizer cuts text into pieces; the pieces are numbers, and the numbers are what the model
reads. Spaces matter, tabs matter\tand newlines matter too.
  Two spaces begin this line, and    four spaces sit in the middle of it.
Numbers such as 3.14159, 2.71828, 1,000,000 and 2024-01-15 are split into digits.
"""
TRAINING_REPEATS = 4

USER_DEFINED = ["<sep>"]
CONTROL = ["<ctrl>"]


def sentencepiece_texts() -> list[tuple[str, str]]:
    """The byte-level tests' strings plus SentencePiece-specific ones (specials, prefix spaces)."""
    extra = [
        ("sp-bos-literal", "<s>Hello world</s>"),
        ("sp-specials-inside", "Hello<sep>world <ctrl> and </s> then <unk>."),
        ("sp-special-first", "<sep> leading special then text"),
        ("sp-special-only", "<s>"),
        ("sp-one-space", " "),
        ("sp-space-word", " hello"),
        ("sp-two-spaces-word", "  hello"),
        ("sp-literal-metaspace", "\u2581already \u2581marked"),
        ("sp-byte-fallback", "\u00ff\u0100 \u4e2d \U0001F600 \u0007"),
        ("sp-training-line", "The history of the city begins with a small settlement on the river."),
    ]
    return corpus_texts() + extra


def gemma_texts() -> list[tuple[str, str]]:
    extra = [
        ("gemma-chat", "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n"
                       "<start_of_turn>model\n"),
        ("gemma-bos-literal", "<bos>Hello world<eos>"),
        ("gemma-html", "<table><tr><td>1</td></tr></table> <h1>Title</h1>"),
        ("gemma-space-runs", "a  b   c    d                                 e"),
        ("gemma-tab-runs", "x\t\t\ty\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\tz"),
        ("gemma-newline-runs", "p\n\n\n\nq" + "\n" * 40 + "r"),
        ("gemma-leading-space", " The answer"),
        ("truthfulqa", "Q: What happens to you if you eat watermelon seeds?\nA:"),
    ]
    return corpus_texts() + extra


def train(folder: Path) -> Path:
    text_path = folder / "train.txt"
    text_path.write_text(TRAINING_TEXT * TRAINING_REPEATS, encoding="utf-8")
    prefix = folder / "sp"
    spm.SentencePieceTrainer.train(
        input=str(text_path), model_prefix=str(prefix), model_type="bpe", vocab_size=500,
        byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, split_digits=True, allow_whitespace_only_pieces=True,
        user_defined_symbols=USER_DEFINED, control_symbols=CONTROL, hard_vocab_limit=False,
        character_coverage=1.0, num_threads=1, minloglevel=2, seed_sentencepiece_size=100000,
        shuffle_input_sentence=False)
    return prefix.with_suffix(".model")


def piece_type(sp: spm.SentencePieceProcessor, index: int) -> int:
    """GGUF/SentencePiece token type: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte."""
    piece = sp.id_to_piece(index)
    if sp.is_unknown(index):
        return 2
    if sp.is_control(index):
        return 3
    if sp.is_byte(index):
        return 6
    if piece in USER_DEFINED:
        return 4
    return 1


def transformers_tokenizer(sp: spm.SentencePieceProcessor) -> LlamaTokenizerFast:
    """As `SentencePieceExtractor.extract` (transformers convert_slow_tokenizer.py) builds it."""
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    merges = generate_merges(vocab)
    added = [transformers.AddedToken(sp.id_to_piece(i), normalized=False,
                                     special=piece_type(sp, i) == 3)
             for i in range(sp.get_piece_size()) if piece_type(sp, i) in (3, 4)]
    tokenizer = LlamaTokenizerFast(vocab=vocab, merges=merges, unk_token="<unk>",
                                   bos_token="<s>", eos_token="</s>", add_bos_token=True,
                                   add_eos_token=False)
    tokenizer.add_tokens(added)
    return tokenizer


def legacy_tokenizer_json(modern: Path, out: Path) -> Tokenizer:
    """Llama-2's hub shape: Prepend + Replace normalizer, no pre-tokenizer."""
    backend = Tokenizer.from_file(str(modern))
    backend.normalizer = normalizers.Sequence(
        [normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    backend.pre_tokenizer = None
    backend.save(str(out))
    return Tokenizer.from_file(str(out))


def write_gguf(sp: spm.SentencePieceProcessor, path: Path) -> None:
    """Only tokenizer metadata (and the few llama keys transformers reads for a config)."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("locus-sentencepiece-fixture")
    writer.add_context_length(64)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    writer.add_feed_forward_length(16)
    writer.add_head_count(2)
    writer.add_head_count_kv(2)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    count = sp.get_piece_size()
    writer.add_token_list([sp.id_to_piece(i) for i in range(count)])
    writer.add_token_scores([float(sp.get_score(i)) for i in range(count)])
    writer.add_token_types([piece_type(sp, i) for i in range(count)])
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def cases(tokenizer, texts: list[tuple[str, str]]) -> list[dict]:
    out = []
    for name, text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)
        out.append({
            "name": name,
            "text": text,
            "ids": ids,
            "prompt_ids": tokenizer.encode(text, add_special_tokens=True),
            "decoded": tokenizer.decode(ids),
        })
    return out


def raw_cases(tokenizer: Tokenizer, texts: list[tuple[str, str]]) -> list[dict]:
    """The same for a bare `tokenizers.Tokenizer` (the legacy file has no transformers class)."""
    out = []
    for name, text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        out.append({
            "name": name,
            "text": text,
            "ids": ids,
            "prompt_ids": tokenizer.encode(text, add_special_tokens=True).ids,
            "decoded": tokenizer.decode(ids, skip_special_tokens=False),
        })
    return out


def variant(found: list[dict], bos_id: int, digests: list[dict]) -> dict:
    """The cases, whether the reference added BOS (what it did to the empty text), and the
    id count + FNV-1a digest of whole shared-data files (no special tokens added)."""
    empty = next(item for item in found if item["name"] == "empty")
    return {"add_bos": empty["prompt_ids"] == [bos_id], "cases": found,
            "corpus_digests": digests}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} B)")


def versions() -> dict:
    return {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "sentencepiece": spm.__version__, "gguf": getattr(gguf, "__version__", "?"),
            "numpy": np.__version__}


def main() -> None:
    texts = sentencepiece_texts()
    modern_dir = FIXTURES / "sentencepiece"
    legacy_dir = FIXTURES / "sentencepiece-legacy"
    gguf_path = FIXTURES / "sentencepiece-tokenizer.gguf"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = train(folder)
        sp = spm.SentencePieceProcessor(model_file=str(model))

        modern = transformers_tokenizer(sp)
        if modern_dir.exists():
            shutil.rmtree(modern_dir)
        modern.save_pretrained(str(folder / "hf"))
        modern_dir.mkdir(parents=True)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(folder / "hf" / name, modern_dir / name)
        # Reload from the committed files: the reference is what those files say.
        modern = AutoTokenizer.from_pretrained(str(modern_dir))

        legacy_dir.mkdir(parents=True, exist_ok=True)
        legacy = legacy_tokenizer_json(modern_dir / "tokenizer.json",
                                       legacy_dir / "tokenizer.json")

        write_gguf(sp, gguf_path)
        from_gguf = AutoTokenizer.from_pretrained(str(FIXTURES), gguf_file=gguf_path.name)

        payload = {
            "versions": versions(),
            "sentencepiece_trainer": {
                "model_type": "bpe", "vocab_size": sp.get_piece_size(), "byte_fallback": True,
                "normalization_rule_name": "identity", "add_dummy_prefix": True,
                "split_digits": True, "user_defined_symbols": USER_DEFINED,
                "control_symbols": CONTROL, "training_bytes": len(
                    (TRAINING_TEXT * TRAINING_REPEATS).encode()),
            },
            "sentencepiece_library_ids": [sp.encode(text) for _, text in texts],
            "tokenizer_json": variant(cases(modern, texts), sp.bos_id(),
                                      corpus_digests(modern.backend_tokenizer)),
            "legacy_tokenizer_json": variant(raw_cases(legacy, texts), sp.bos_id(),
                                             corpus_digests(legacy)),
            "gguf": variant(cases(from_gguf, texts), sp.bos_id(),
                            corpus_digests(from_gguf.backend_tokenizer)),
        }
        write_json(FIXTURES / "sentencepiece_expected.json", payload)

    gemma = MODELS / GEMMA_NAME
    if not gemma.exists():
        sys.exit(f"missing {gemma}: run scripts/fetch-model.sh gemma3 first")
    if sha256(gemma) != GEMMA_SHA256:
        sys.exit(f"{gemma}: sha256 mismatch")
    gemma_tokenizer = AutoTokenizer.from_pretrained(str(MODELS), gguf_file=GEMMA_NAME)
    write_json(FIXTURES / "gemma3_tokenizer_expected.json", {
        "versions": versions(),
        "gguf": GEMMA_NAME,
        "gguf_sha256": GEMMA_SHA256,
        "vocabulary_size": len(gemma_tokenizer),
        "bos_id": gemma_tokenizer.bos_token_id,
        **variant(cases(gemma_tokenizer, gemma_texts()), gemma_tokenizer.bos_token_id,
                  corpus_digests(gemma_tokenizer.backend_tokenizer)),
    })


if __name__ == "__main__":
    main()
