from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from storage.quantization import code_bytes, decode, encode, normalize

unit_vectors = (
    arrays(np.float32, st.integers(8, 400), elements=st.floats(-1, 1, width=32))
    .filter(lambda v: float(np.linalg.norm(v)) > 1e-3)
    .map(normalize)
)


@settings(max_examples=200)
@given(unit_vectors)
def test_round_trip_error_is_bounded(vector: np.ndarray) -> None:
    d = vector.shape[0]
    for bits, bound in ((8, 0.5 / 127), (4, 0.5 / 7)):
        code = encode(vector, bits)
        assert len(code.payload) == code_bytes(bits, d)
        restored = decode(code, d)
        peak = float(np.abs(vector).max())
        assert np.abs(restored - vector).max() <= peak * bound + 1e-6


@settings(max_examples=200)
@given(unit_vectors)
def test_coarser_codes_are_smaller_and_sign_code_keeps_signs(vector: np.ndarray) -> None:
    d = vector.shape[0]
    sizes = [len(encode(vector, b).payload) for b in (8, 4, 1)]
    assert sizes[0] > sizes[1] > sizes[2] or d < 16
    signs = decode(encode(vector, 1), d)
    assert np.all((signs >= 0) == (vector >= 0))
    assert abs(float(np.linalg.norm(signs)) - 1.0) < 1e-4


def test_cosine_is_preserved_on_real_like_vectors() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = normalize(x[0] + 0.5 * x[1])
    exact = x @ q
    approx8 = np.array([decode(encode(v, 8), 384) @ q for v in x])
    assert np.abs(approx8 - exact).max() < 0.01
