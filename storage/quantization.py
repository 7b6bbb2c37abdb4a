"""Vector codecs: unit-norm float32 embeddings <-> compact bytes.

Three precisions, one per lifecycle step down (pure functions, property-tested):

- ``8``: symmetric scalar quantization, per vector: ``scale = max|x| / 127``,
  ``q = round(x / scale)`` in int8. Max error per component ``scale / 2``.
- ``4``: the same with 4-bit codes in [-7, 7], two per byte: ``scale = max|x| / 7``.
- ``1``: sign bits (``x >= 0``), 8 per byte; decoded as ``sign / sqrt(d)`` so the
  decoded vector is unit-norm. Cosine between sign vectors estimates the angle
  (Charikar 2002: ``P[bit differs] = theta / pi``).

A code is ``(bits, scale, payload)``; the dimension is stored next to it in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

PRECISIONS = (8, 4, 1)


@dataclass(frozen=True, slots=True)
class Code:
    bits: int
    scale: float
    payload: bytes


def encode(vector: FloatArray, bits: int = 8) -> Code:
    v = np.asarray(vector, dtype=np.float32).ravel()
    if bits == 8:
        peak = float(np.abs(v).max()) or 1.0
        scale = peak / 127.0
        q = np.clip(np.rint(v / scale), -127, 127).astype(np.int8)
        return Code(8, scale, q.tobytes())
    if bits == 4:
        peak = float(np.abs(v).max()) or 1.0
        scale = peak / 7.0
        q = (np.clip(np.rint(v / scale), -7, 7).astype(np.int16) + 8).astype(np.uint8)
        if q.size % 2:
            q = np.append(q, np.uint8(8))
        packed = (q[0::2] << 4) | q[1::2]
        return Code(4, scale, packed.astype(np.uint8).tobytes())
    if bits == 1:
        return Code(1, 1.0, np.packbits(v >= 0).tobytes())
    raise ValueError(f"unsupported precision: {bits} bits")


def decode(code: Code, dimension: int) -> FloatArray:
    raw = np.frombuffer(code.payload, dtype=np.uint8)
    if code.bits == 8:
        return (raw.view(np.int8).astype(np.float32) * np.float32(code.scale))[:dimension]
    if code.bits == 4:
        hi = (raw >> 4).astype(np.int16) - 8
        lo = (raw & 0x0F).astype(np.int16) - 8
        q = np.empty(raw.size * 2, dtype=np.int16)
        q[0::2], q[1::2] = hi, lo
        return (q[:dimension].astype(np.float32)) * np.float32(code.scale)
    if code.bits == 1:
        signs = np.unpackbits(raw)[:dimension].astype(np.float32) * 2.0 - 1.0
        return (signs / np.float32(np.sqrt(dimension))).astype(np.float32)
    raise ValueError(f"unsupported precision: {code.bits} bits")


def normalize(vector: FloatArray) -> FloatArray:
    n = float(np.linalg.norm(vector))
    return (vector / n).astype(np.float32) if n > 0 else vector.astype(np.float32)


def code_bytes(bits: int, dimension: int) -> int:
    """Payload size of one code."""
    return (dimension * bits + 7) // 8
