#!/usr/bin/env python3
"""Write the reference fixtures for LocusTokenizer's parity tests.

Run from the package root with the reference venv (see DATA.md):

    .venv-ref/bin/python scripts/reference/make_tokenizer_fixtures.py

Outputs (committed, small):
  Tests/LocusTokenizerTests/Fixtures/smollm2_tokenizer.json   text -> ids, decode, SmolLM2
  Tests/LocusTokenizerTests/Fixtures/gpt2_tokenizer.json      text -> ids, decode, GPT-2 files
  Tests/LocusTokenizerTests/Fixtures/pretokenizer_splits.json pieces of the three scanners
  Tests/LocusTokenizerTests/Fixtures/tiny_tokenizer.json      a hand-made tokenizer.json
  Tests/LocusTokenizerTests/Fixtures/tiny_tokenizer_expected.json  its reference ids
Output (ignored, ~2 MB, read by the Swift tokenizer.json loader test):
  models/smollm2-tokenizer.json                               SmolLM2's faithful tokenizer

Why the SmolLM2 reference is rebuilt: transformers' GGUF converter maps every `gpt2`-model GGUF
to a plain `ByteLevel(use_regex=True)` pre-tokenizer and ignores `tokenizer.ggml.pre = smollm`.
SmolLM2's original tokenizer.json (and llama.cpp's `smollm` pre-type) first isolate every
Unicode number (\\p{N}: Nd, Nl, No) and only then apply the GPT-2 pattern. Because the SmolLM2
vocabulary has no multi-digit tokens, ASCII digit runs come out the same either way, but a space
before a number, or non-ASCII numbers (², ½, ٣, Ⅻ), tokenise differently. The script checks
this instead of assuming it, records the converter's pre-tokenizer and ids next to the corrected
ones, and uses the corrected tokenizer as the reference.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import sys
from pathlib import Path

import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, pre_tokenizers
from tokenizers.models import BPE
from transformers import AutoTokenizer, GPT2TokenizerFast

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SHARED = (ROOT / ".." / "shared" / "data").resolve()
FIXTURES = ROOT / "Tests" / "LocusTokenizerTests" / "Fixtures"
FULL_JSON = MODELS / "smollm2-tokenizer.json"

GPT2_PATTERN = (
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
)
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def corpus_texts() -> list[tuple[str, str]]:
    """(name, text) pairs covering the behaviours the Swift tokenizer must reproduce."""
    texts = [
        ("empty", ""),
        ("prose-1", "The quick brown fox jumps over the lazy dog."),
        ("prose-2", "Hello, world! How are you doing today? I hope everything's fine."),
        ("prose-3", "In 1492, Columbus sailed the ocean blue; he reached the Bahamas."),
        ("python", "def fib(n):\n    if n < 2:\n        return n\n"
                   "    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n"),
        ("python-tabs", "class A:\n\tdef f(self, x=1):\n\t\treturn {'k': x ** 2}  # square\n"),
        ("swift", "struct Point: Equatable {\n    var x: Double\n    var y: Double\n\n"
                  "    func norm() -> Double { (x * x + y * y).squareRoot() }\n}\n"
                  "let p = Point(x: 3, y: 4)\nprint(p.norm())  // 5.0\n"),
        ("spaces", "a  b   c    d     e"),
        ("tabs", "a\tb\t\tc\t\t\td"),
        ("newlines", "line one\nline two\n\nline four\n\n\n"),
        ("trailing-spaces", "trailing spaces   "),
        ("leading-spaces", "   leading spaces"),
        ("only-newlines", "\n\n\n"),
        ("only-spaces", "     "),
        ("mixed-whitespace", " \t \n \r\n\t x \n y\u00a0z\u3000w\u2003v"),
        ("crlf", "first\r\nsecond\r\n\r\nthird"),
        ("numbers-1", "1234567"),
        ("numbers-2", "pi is 3.14159 and e is 2.71828"),
        ("numbers-3", "1,000,000 people on 2024-01-15 at 12:30:45"),
        ("numbers-4", "Call 555-0123 or +1 (800) 555 0199; ID=A1B2C3; v2.0.1"),
        ("numbers-unicode", "x² + y² = z², ½ cup, ٣ and ४२, Ⅻ o'clock, ① ② ③"),
        ("contractions-1", "I'm sure they'll come, but we'd've left; it's John's."),
        ("contractions-2", "DON'T SHOUT, I'M HERE. You're right, she's sure, we've won."),
        ("contractions-3", "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'Ll ''s rock'n'roll"),
        ("accents", "café, naïve, Zürich, résumé, São Paulo, façade, Ångström"),
        ("combining", "cafe\u0301 and nai\u0308ve (decomposed)"),
        ("cjk-1", "中文文本测试"),
        ("cjk-2", "日本語のテキストです。"),
        ("cjk-3", "한국어 텍스트"),
        ("emoji-1", "I love it 👍🏽!"),
        ("emoji-2", "family: 👩‍👩‍👧‍👦 and flag: 🏳️‍🌈 and ❤️"),
        ("emoji-3", "🙂🙂🙂 😀 🚀 x🚀y"),
        ("mixed-scripts", "Hello мир, Γειά σου κόσμε, مرحبا بالعالم, שלום, नमस्ते, สวัสดี"),
        ("punctuation", "Wait... what?! (Really) [yes] {no} <maybe> \"quoted\" — dash – en…"),
        ("urls", "See https://example.com/path?q=1&r=two#frag or mail a.b@c.org."),
        ("chatml", "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"),
        ("chatml-system", "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
                          "trained by Hugging Face<|im_end|>\n<|im_start|>user\n"
                          "What is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>"),
        ("specials-adjacent", "<|endoftext|><|endoftext|>text<|im_end|> <|im_start|>"),
        ("specials-partial", "<|im_start <|im_end| <|endoftext|x <|im_start|>|>"),
        ("special-like", "<repo_name>foo<file_sep>bar<|unknown|>"),
        ("bom", "\ufeffType,Category,Question"),
        ("control-chars", "a\u0000b\u0007c\u001bd\u007fe\u200bf\u200dg"),
        ("long-word", "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"),
        ("repeats", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa " + "=" * 40 + " " + "-" * 33),
        ("long-space-run", "x" + " " * 300 + "y"),
    ]
    return texts


def truthfulqa_questions() -> list[str]:
    path = SHARED / "truthfulqa" / "TruthfulQA.csv"
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [row["Question"] for row in csv.DictReader(handle)]


def wikitext_slices() -> list[tuple[str, str]]:
    text = (SHARED / "corpus" / "wikitext2-valid.txt").read_text(encoding="utf-8")
    rng = random.Random(1234)
    slices = []
    for index in range(2):
        start = rng.randrange(0, len(text) - 4000)
        start = text.index("\n", start) + 1
        end = text.index("\n", start + 2500) + 1
        slices.append((f"wikitext-{index}", text[start:end]))
    return slices


CORPUS_FILES = ["truthfulqa/TruthfulQA.csv", "corpus/wikitext2-valid.txt",
                "corpus/wikitext2-test.txt", "knowns/known_1000.json"]


def fnv1a64(ids: list[int]) -> str:
    """FNV-1a over the ids (one 64-bit xor-multiply per id), hex: cheap to repeat in Swift."""
    value = 0xCBF29CE484222325
    for token in ids:
        value = ((value ^ token) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def corpus_digests(tokenizer: Tokenizer) -> list[dict]:
    """Whole shared-data files (bytes decoded as UTF-8, BOM and CRLF kept): id count + digest."""
    out = []
    for relative in CORPUS_FILES:
        path = SHARED / relative
        ids = tokenizer.encode(path.read_bytes().decode("utf-8"), add_special_tokens=False).ids
        out.append({"path": relative, "sha256": sha256(path), "count": len(ids),
                    "fnv1a64": fnv1a64(ids)})
    return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def smollm2_reference() -> tuple[Tokenizer, Tokenizer, dict]:
    """The converter's tokenizer, the corrected one, and what the check found."""
    gguf = MODELS / GGUF_NAME
    if not gguf.exists():
        sys.exit(f"missing {gguf}: run scripts/fetch-model.sh first")
    if sha256(gguf) != GGUF_SHA256:
        sys.exit(f"{gguf}: sha256 mismatch")
    converted = AutoTokenizer.from_pretrained(str(MODELS), gguf_file=GGUF_NAME)
    converter = converted.backend_tokenizer
    converter_pre = str(converter.pre_tokenizer)

    corrected = Tokenizer.from_str(converter.to_str())
    corrected.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    reference_pre = str(corrected.pre_tokenizer)

    probe = " 42 x² ½ ٣"
    splits_converter = converter.pre_tokenizer.pre_tokenize_str(probe)
    splits_reference = corrected.pre_tokenizer.pre_tokenize_str(probe)
    reproduces = "Digits" in converter_pre and splits_converter == splits_reference
    finding = {
        "gguf": GGUF_NAME,
        "gguf_sha256": GGUF_SHA256,
        "gguf_tokenizer_pre": "smollm",
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "converter_pre_tokenizer": converter_pre,
        "reference_pre_tokenizer": reference_pre,
        "converter_reproduces_smollm": reproduces,
        "probe": probe,
        "probe_pieces_converter": [piece for piece, _ in splits_converter],
        "probe_pieces_reference": [piece for piece, _ in splits_reference],
        "why": (
            "transformers' GGUF converter builds a plain ByteLevel(use_regex=True) pre-tokenizer "
            "for every gpt2-model GGUF and ignores tokenizer.ggml.pre='smollm'. SmolLM2's own "
            "tokenizer.json (and llama.cpp's smollm pre-type) isolate each \\p{N} character "
            "first, then apply the GPT-2 pattern. The reference ids ('ids') therefore come from "
            "the converter's tokenizer with its pre-tokenizer replaced by "
            "Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, "
            "use_regex=True)]; 'converter_ids' is recorded where the converter differs."
        ) if not reproduces else "the converter already reproduces the smollm pre-tokenizer",
    }
    return converter, (converter if reproduces else corrected), finding


def encode_cases(tokenizer: Tokenizer, texts, converter: Tokenizer | None = None) -> list[dict]:
    cases = []
    for name, text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        decoded = tokenizer.decode(ids, skip_special_tokens=False)
        case = {"name": name, "text": text, "ids": ids, "decoded": decoded}
        if converter is not None:
            converter_ids = converter.encode(text, add_special_tokens=False).ids
            if converter_ids != ids:
                case["converter_ids"] = converter_ids
        cases.append(case)
    return cases


def partial_decodes(tokenizer: Tokenizer, texts: list[str]) -> list[dict]:
    """Every prefix of the ids of a few multi-byte texts: exercises U+FFFD replacement."""
    out = []
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        for end in range(1, len(ids) + 1):
            out.append({"ids": ids[:end],
                        "decoded": tokenizer.decode(ids[:end], skip_special_tokens=False)})
        for start in range(1, len(ids)):
            out.append({"ids": ids[start:],
                        "decoded": tokenizer.decode(ids[start:], skip_special_tokens=False)})
    return out


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} B)")


def check_merges_unique(merges: list) -> None:
    keys = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]
    if len(set(keys)) != len(keys):
        sys.exit("merge list has duplicates: the rank rule (last wins) would matter; check it")


def pretokenizer_fixture(texts: list[str]) -> dict:
    """Pieces (raw text, not byte-mapped) from the regex engine tokenizers uses (Oniguruma)."""
    gpt2 = pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="isolated")
    smollm = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), gpt2])
    llama3 = pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    out = {"gpt2_pattern": GPT2_PATTERN, "llama3_pattern": LLAMA3_PATTERN, "cases": []}
    for text in texts:
        gpt2_pieces = [p for p, _ in gpt2.pre_tokenize_str(text)]
        # ByteLevel's built-in regex must split exactly like the Split above.
        mapped = [p for p, _ in byte_level.pre_tokenize_str(text)]
        assert mapped == [to_byte_level(p) for p in gpt2_pieces], text
        out["cases"].append({
            "text": text,
            "gpt2": gpt2_pieces,
            "smollm": [p for p, _ in smollm.pre_tokenize_str(text)],
            "llama3": [p for p, _ in llama3.pre_tokenize_str(text)],
        })
    return out


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for byte in range(256):
        if byte in keep:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


BYTE_CHARS = bytes_to_unicode()


def to_byte_level(text: str) -> str:
    return "".join(BYTE_CHARS[b] for b in text.encode("utf-8"))


def tiny_tokenizer() -> dict:
    """A hand-made byte-level tokenizer.json: llama-3 pre-tokenizer, ignore_merges, specials."""
    vocab = {BYTE_CHARS[b]: b for b in range(256)}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "in"), ("e", "r"),
              ("Ġthe", "r"), ("o", "w"), ("l", "o"), ("lo", "w"), ("low", "er"),
              ("1", "2"), ("12", "3"), ("Ċ", "Ċ")]
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    # Reachable only through ignore_merges: no merge produces it.
    vocab["Ġhello"] = len(vocab)
    added = [
        {"id": len(vocab), "content": "<|end|>", "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": True},
        {"id": len(vocab) + 1, "content": "<|end|>x", "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": True},
        {"id": len(vocab) + 2, "content": "<user>", "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": False},
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN},
                 "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None,
            "continuing_subword_prefix": None, "end_of_word_suffix": None,
            "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
            "vocab": vocab,
            "merges": [f"{left} {right}" for left, right in merges],
        },
    }


def main() -> None:
    if "--export-only" in sys.argv:
        # Only the (ignored) faithful tokenizer.json the Swift loader test reads; used by
        # scripts/ensure-deps.sh on a fresh machine.
        _, reference, _ = smollm2_reference()
        reference.save(str(FULL_JSON))
        print(f"wrote {FULL_JSON}")
        return
    texts = corpus_texts()
    questions = truthfulqa_questions()
    wiki = wikitext_slices()
    all_texts = texts + [(f"truthfulqa-{i}", q) for i, q in enumerate(questions[:6])] + wiki

    converter, reference, finding = smollm2_reference()
    print("converter pre-tokenizer:", finding["converter_pre_tokenizer"])
    print("reproduces smollm:", finding["converter_reproduces_smollm"])
    check_merges_unique(json.loads(reference.to_str())["model"]["merges"])
    reference.save(str(FULL_JSON))
    print(f"wrote {FULL_JSON.relative_to(ROOT)} (ignored; for the tokenizer.json loader test)")

    cases = encode_cases(reference, all_texts, converter)
    differing = [case["name"] for case in cases if "converter_ids" in case]
    print("converter differs on:", differing)
    question_ids = [reference.encode(q, add_special_tokens=False).ids for q in questions]
    write_json(FIXTURES / "smollm2_tokenizer.json", {
        "about": "SmolLM2-135M-Instruct reference tokenisation; see "
                 "scripts/reference/make_tokenizer_fixtures.py",
        "reference": finding,
        "converter_differs_on": differing,
        "cases": cases,
        "truthfulqa_questions": {"texts": questions, "ids": question_ids},
        "corpus_digests": corpus_digests(reference),
        "partial_decodes": partial_decodes(reference, [
            "café 👩‍👩‍👧‍👦 中文", "🏳️‍🌈 ½ 한국어"]),
    })

    gpt2_dir = SHARED / "tokenizers" / "gpt2"
    # transformers 5 ignores GPT2TokenizerFast(vocab_file=..., merges_file=...) (an empty
    # vocabulary results); from_pretrained on the folder reads both files.
    gpt2_fast = GPT2TokenizerFast.from_pretrained(str(gpt2_dir))
    gpt2 = gpt2_fast.backend_tokenizer
    if gpt2.get_vocab_size() != 50257:
        sys.exit(f"GPT-2 reference tokenizer has {gpt2.get_vocab_size()} tokens, expected 50257")
    print("gpt2 added tokens:", gpt2_fast.added_tokens_decoder)
    print("gpt2 pre-tokenizer:", gpt2.pre_tokenizer)
    check_merges_unique(json.loads(gpt2.to_str())["model"]["merges"])
    gpt2_texts = all_texts + [("endoftext", "a<|endoftext|>b <|endoftext|>")]
    write_json(FIXTURES / "gpt2_tokenizer.json", {
        "about": "GPT-2 (vocab.json + merges.txt from ../shared/data/tokenizers/gpt2) reference "
                 "tokenisation by transformers.GPT2TokenizerFast",
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "pre_tokenizer": str(gpt2.pre_tokenizer),
        "vocab_sha256": sha256(gpt2_dir / "vocab.json"),
        "merges_sha256": sha256(gpt2_dir / "merges.txt"),
        "cases": encode_cases(gpt2, gpt2_texts),
        "corpus_digests": corpus_digests(gpt2),
    })

    extra = ["'S 'ſ 'RE 'rE x'Ve 'LL 'D", "a \n\nb", "\r\n\r\n  x", "x \r\n", "123456789 12",
             "\u00a0word \u2003x", "e\u0301 A\u030a", "\tword\n\tword", " !?\n\n", "ab12cd",
             "  \n  \n", "a\n \n b", "foo  \u00a0bar", "'", " '", "''", "\n", " ", "x "]
    write_json(FIXTURES / "pretokenizer_splits.json",
               pretokenizer_fixture([t for _, t in all_texts] + extra))

    tiny = tiny_tokenizer()
    write_json(FIXTURES / "tiny_tokenizer.json", tiny)
    tiny_tok = Tokenizer.from_str(json.dumps(tiny))
    tiny_texts = [("hello", "hello there, the lower <|end|>x<|end|> <user>in 123 1234\n\n\n"),
                  ("ignore-merges", " hello hellos"), ("specials", "<|end|><user><|end|>x"),
                  ("llama3", "DON'T stop\n\n  now 12345 ½")]
    write_json(FIXTURES / "tiny_tokenizer_expected.json",
               {"cases": encode_cases(tiny_tok, tiny_texts)})


if __name__ == "__main__":
    main()
