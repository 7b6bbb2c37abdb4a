"""Types shared by the lifecycle modules and their callers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]
"""Texts -> their unit-norm embeddings, one row per text (the service passes its embedder)."""
