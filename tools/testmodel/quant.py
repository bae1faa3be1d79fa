"""INT4 block quantization in the layout of com.microsoft MatMulNBits (bits=4, no zero points).

MatMulNBits computes Y = A @ dequant(B)^T where B holds the weight transposed, [N, K]:
each row is cut into blocks of `block_size` along K, each block has one scale, and two 4-bit
codes share a byte (even k in the low nibble). Without a zero_points input the zero point is 8.
See onnxruntime/docs/ContribOperators.md, "com.microsoft.MatMulNBits".
"""
import numpy as np


def quantize_int4(w_kn: np.ndarray, block_size: int):
    """Quantizes w [K, N] (y = x @ w). Returns (packed uint8 [N, blocks, block_size/2],
    scales float32 [N * blocks], dequantized float32 [K, N] equal to what the kernel sees)."""
    k, n = w_kn.shape
    blocks = (k + block_size - 1) // block_size
    padded = np.zeros((n, blocks * block_size), dtype=np.float32)
    padded[:, :k] = w_kn.T
    grouped = padded.reshape(n, blocks, block_size)
    amax = np.abs(grouped).max(axis=2)
    # Scales are rounded through float16 so that the q4 (float32) and q4f16 graphs carry the
    # very same weights, and the plain-MatMul variants can use the exact dequantized values.
    scales = np.where(amax > 0, amax / 7.0, 1.0).astype(np.float16).astype(np.float32)
    codes = np.clip(np.rint(grouped / scales[:, :, None]) + 8, 0, 15).astype(np.uint8)
    packed = (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)
    deq = ((codes.astype(np.float32) - 8.0) * scales[:, :, None]).reshape(n, blocks * block_size)[:, :k]
    return packed, scales.reshape(-1), np.ascontiguousarray(deq.T)

