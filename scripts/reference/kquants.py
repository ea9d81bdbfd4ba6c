"""Simple k-quant quantisers (Q4_K, Q5_K, Q6_K) in numpy, for fixtures and synthetic models.

gguf-py (0.19) can dequantise the k-quants but not quantise them. These produce valid blocks in
ggml's layouts (ggml-common.h: block_q4_K, block_q5_K, block_q6_K) with a plain min/max scale
choice per sub-block -- not llama.cpp's iterative search (`make_qkx2_quants`), so the rounding
error is somewhat larger, which does not matter for parity fixtures: the reference values are
always what `gguf.quants.dequantize` makes of the bytes written here.
"""
import numpy as np

QK_K = 256


def _f16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).view(np.uint8).reshape(x.shape[0], 2)


def _pack_scales(sc: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(n, 8) 6-bit scales and mins -> (n, 12) bytes, inverse of gguf's Q4_K.get_scale_min."""
    sc = sc.astype(np.uint8)
    m = m.astype(np.uint8)
    out = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = (sc[:, 0:4] & 0x3F) | ((sc[:, 4:8] >> 4) << 6)
    out[:, 4:8] = (m[:, 0:4] & 0x3F) | ((m[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (sc[:, 4:8] & 0x0F) | ((m[:, 4:8] & 0x0F) << 4)
    return out


def _scale_min_blocks(x: np.ndarray, levels: int):
    """Per 32-element sub-block: q in 0..levels, x ~ (d*sc)*q - dmin*m."""
    n = x.shape[0]
    sub = x.reshape(n, 8, 32)
    lo = np.minimum(sub.min(axis=-1), 0)
    hi = sub.max(axis=-1)
    scale = (hi - lo) / levels                      # (n, 8)
    d = scale.max(axis=-1, keepdims=True) / 63       # (n, 1)
    dmin = (-lo).max(axis=-1, keepdims=True) / 63
    d = d.astype(np.float16).astype(np.float32)
    dmin = dmin.astype(np.float16).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(d > 0, np.rint(scale / d), 0).clip(0, 63)
        m = np.where(dmin > 0, np.rint(-lo / dmin), 0).clip(0, 63)
        step = (d * sc)[..., None]
        q = np.where(step > 0, np.rint((sub + (dmin * m)[..., None]) / step), 0)
    q = q.clip(0, levels).astype(np.uint8)           # (n, 8, 32)
    return d, dmin, sc, m, q


def quantize_q4_k(x: np.ndarray) -> np.ndarray:
    """(rows, cols) float32, cols % 256 == 0 -> (rows, cols / 256 * 144) uint8."""
    rows = x.shape[0]
    blocks = x.reshape(-1, QK_K).astype(np.float32)
    d, dmin, sc, m, q = _scale_min_blocks(blocks, 15)
    qs = (q[:, 0::2, :] | (q[:, 1::2, :] << 4)).reshape(-1, 128)
    out = np.concatenate([_f16(d), _f16(dmin), _pack_scales(sc, m), qs], axis=1)
    return out.reshape(rows, -1)


def quantize_q5_k(x: np.ndarray) -> np.ndarray:
    """(rows, cols) float32 -> (rows, cols / 256 * 176) uint8."""
    rows = x.shape[0]
    blocks = x.reshape(-1, QK_K).astype(np.float32)
    d, dmin, sc, m, q = _scale_min_blocks(blocks, 31)
    low = q & 0x0F
    qs = (low[:, 0::2, :] | (low[:, 1::2, :] << 4)).reshape(-1, 128)
    high = (q >> 4) & 1                                # (n, 8, 32): bit k of qh[l]
    qh = np.zeros((blocks.shape[0], 32), dtype=np.uint8)
    for k in range(8):
        qh |= high[:, k, :] << k
    out = np.concatenate([_f16(d), _f16(dmin), _pack_scales(sc, m), qh, qs], axis=1)
    return out.reshape(rows, -1)


def quantize_q6_k(x: np.ndarray) -> np.ndarray:
    """(rows, cols) float32 -> (rows, cols / 256 * 210) uint8."""
    rows = x.shape[0]
    blocks = x.reshape(-1, QK_K).astype(np.float32)
    n = blocks.shape[0]
    sub = blocks.reshape(n, 16, 16)
    scale = np.abs(sub).max(axis=-1) / 31              # (n, 16)
    d = (scale.max(axis=-1, keepdims=True) / 127).astype(np.float16).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.where(d > 0, np.rint(scale / d), 0).clip(-128, 127)
        step = (d * sc)[..., None]
        q = np.where(step != 0, np.rint(sub / step), 0)
    q = (q.clip(-32, 31) + 32).astype(np.uint8).reshape(n, 2, 4, 32)  # half, k, l
    ql = np.zeros((n, 2, 64), dtype=np.uint8)
    qh = np.zeros((n, 2, 32), dtype=np.uint8)
    for k in range(4):
        ql[:, :, 32 * (k & 1):32 * (k & 1) + 32] |= (q[:, :, k, :] & 0x0F) << (4 * (k >> 1))
        qh |= (q[:, :, k, :] >> 4) << (2 * k)
    scales = sc.astype(np.int8).view(np.uint8)
    out = np.concatenate([ql.reshape(n, 128), qh.reshape(n, 64), scales, _f16(d)], axis=1)
    return out.reshape(rows, -1)


QUANTIZERS = {"Q4_K": quantize_q4_k, "Q5_K": quantize_q5_k, "Q6_K": quantize_q6_k}
