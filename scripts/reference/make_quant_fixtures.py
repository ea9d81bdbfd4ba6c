#!/usr/bin/env python3
"""Writes the dequantisation parity fixtures of LocusCheckpointTests.

A small seeded matrix is quantised with the Python `gguf` package (the reference: llama.cpp's
gguf-py) to F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 and written with `gguf.GGUFWriter` into a tiny
GGUF file, together with metadata of every value type and a non-default alignment. The file is
read back with `gguf.GGUFReader`, each tensor is dequantised with `gguf.quants.dequantize`, and
the float32 bit patterns go into a JSON fixture. The Swift test reads the same GGUF file and must
reproduce every bit.

A second pair, `kquant_fixture.gguf/.json`, holds a (4, 512) matrix in Q4_K, Q5_K and Q6_K. gguf-py
cannot quantise the k-quants, so `kquants.py` (beside this script) writes the blocks; the reference
values are still gguf-py's `dequantize` of those bytes. One extra tensor per type holds seeded
random bytes (any scale, any bits, f16 scales kept finite) so that every bit of the layout is
exercised, not only the patterns a quantiser produces.

Usage (from the package root):
    .venv-ref/bin/python scripts/reference/make_quant_fixtures.py
"""
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

import kquants

SEED = 20240613
ROWS, COLS = 8, 64  # two 32-element blocks per row
ALIGNMENT = 64
OUT = Path(__file__).resolve().parents[2] / "Tests" / "LocusCheckpointTests" / "Fixtures"


def test_matrix() -> np.ndarray:
    """Rows that exercise the edge cases of every format, then ordinary random rows."""
    rng = np.random.default_rng(SEED)
    m = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    m[0] = 0.0                      # all-zero blocks: d == 0
    m[1] = 0.5                      # constant blocks: Q4_1 d == 0, m == 0.5
    m[2] *= 1e-6                    # tiny: F16 subnormals, tiny scales
    m[3] *= 1e4                     # large, still inside the F16 range
    m[4, :32] = -m[4, :32] ** 2     # an all-negative block
    m[5] *= np.float32(3.0)
    m[6, 7] = 40.0                  # one outlier per block
    m[6, 40] = -40.0
    return m


def main() -> None:
    matrix = test_matrix()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "quant_fixture.gguf"

    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_custom_alignment(ALIGNMENT)
    writer.add_uint8("test.uint8", 200)
    writer.add_int8("test.int8", -100)
    writer.add_uint16("test.uint16", 60000)
    writer.add_int16("test.int16", -30000)
    writer.add_uint32("test.uint32", 4_000_000_000)
    writer.add_int32("test.int32", -2_000_000_000)
    writer.add_float32("test.float32", 0.1)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo, GGUF ✓")
    writer.add_uint64("test.uint64", 18_000_000_000_000_000_000)
    writer.add_int64("test.int64", -9_000_000_000_000_000_000)
    writer.add_float64("test.float64", -2.5e-300)
    writer.add_array("test.ints", [1, -2, 3])
    writer.add_array("test.strings", ["a", "", "ccc"])
    writer.add_array("test.floats", [0.25, -1.5])
    writer.add_array("test.bools", [True, False])
    writer.add_array("test.nested", [[1, 2], [3]])

    types = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0,
             "q4_1": Q.Q4_1, "q5_0": Q.Q5_0, "q5_1": Q.Q5_1}
    for name, qtype in types.items():
        stored = gguf.quants.quantize(matrix, qtype)
        raw_dtype = qtype if stored.dtype == np.uint8 else None
        writer.add_tensor(name, stored, raw_dtype=raw_dtype)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reader = gguf.GGUFReader(str(path))
    tensors = []
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        values = values.reshape(ROWS, COLS)
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "shape": [int(d) for d in reversed(t.shape.tolist())],
            "offset": int(t.data_offset),
            "byteCount": int(t.n_bytes),
            "bits": values.view(np.uint32).ravel().tolist(),
        })
    fixture = {
        "generator": "scripts/reference/make_quant_fixtures.py",
        "gguf": version("gguf"),
        "seed": SEED,
        "alignment": ALIGNMENT,
        "dataOffset": int(reader.data_offset),
        "metadataKeys": [k for k in reader.fields if not k.startswith("GGUF.")],
        "input": matrix.view(np.uint32).ravel().tolist(),
        "tensors": tensors,
    }
    (OUT / "quant_fixture.json").write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} B) and quant_fixture.json")
    write_kquant_fixture()


K_ROWS, K_COLS = 4, 512


def random_kquant_bytes(qtype: Q, rows: int, cols: int, rng) -> np.ndarray:
    """Seeded random blocks whose f16 scales are finite (|d| <= 2^-4, any sign)."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(rows * cols // block_size, type_size), dtype=np.uint8)
    for off in [208] if qtype == Q.Q6_K else [0, 2]:  # d (and dmin)
        d = (rng.standard_normal(raw.shape[0]) * 0.01).astype(np.float16)
        raw[:, off:off + 2] = d.view(np.uint8).reshape(-1, 2)
    return raw.reshape(rows, -1)


def write_kquant_fixture() -> None:
    rng = np.random.default_rng(SEED + 1)
    m = rng.standard_normal((K_ROWS, K_COLS)).astype(np.float32)
    m[0, :256] = 0.0                 # an all-zero super-block: d == dmin == 0
    m[1, :256] = 0.75                # constant, positive: dmin == 0
    m[2] *= 1e-3                     # small scales
    m[3, 10] = 30.0                  # an outlier
    path = OUT / "kquant_fixture.gguf"
    writer = gguf.GGUFWriter(str(path), arch="llama")
    for name, qtype in {"q4_k": Q.Q4_K, "q5_k": Q.Q5_K, "q6_k": Q.Q6_K}.items():
        stored = kquants.QUANTIZERS[qtype.name](m)
        writer.add_tensor(name, stored, raw_dtype=qtype)
        writer.add_tensor(name + "_random", random_kquant_bytes(qtype, K_ROWS, K_COLS, rng),
                          raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reader = gguf.GGUFReader(str(path))
    tensors = []
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        values = values.reshape(K_ROWS, K_COLS)
        if not t.name.endswith("_random"):
            error = np.abs(values - m).max()
            assert error < 0.2 * np.abs(m).max(), (t.name, error)  # the quantiser is sane
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "shape": [int(d) for d in reversed(t.shape.tolist())],
            "bits": values.view(np.uint32).ravel().tolist(),
        })
    fixture = {
        "generator": "scripts/reference/make_quant_fixtures.py (write_kquant_fixture)",
        "gguf": version("gguf"),
        "seed": SEED + 1,
        "input": m.view(np.uint32).ravel().tolist(),
        "tensors": tensors,
    }
    (OUT / "kquant_fixture.json").write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} B) and kquant_fixture.json")


if __name__ == "__main__":
    main()
