"""Semantic channel: cosine similarity over quantized vectors in FAISS.

One FAISS index per precision: 8-bit scalar quantization for hot and warm memories, 4-bit
for cold ones, 1-bit sign codes (``IndexBinaryFlat``) for archived ones. A scope becomes an
ID selector that FAISS checks *before* computing a distance, so a scope holding 0.1% of
the index still gets its true top-k.

The 8-bit index is exhaustive (``IndexScalarQuantizer``) up to ``IVF_MIN`` vectors; past
that it becomes an inverted file over the same SQ8 codes (``IndexIVFScalarQuantizer``,
``nlist = 2 sqrt(n)`` k-means cells, re-trained when the index has grown ``RETRAIN_GROWTH``
times since). A search probes ``PROBE_SHARE * nlist`` cells, widened by the share of the
index the scope covers (``* n / |scope|``): a scope of at most ``EXACT_SCOPE`` memories
probes every cell, so its top-k stays exact. Removing a vector touches only its cell (the
exhaustive index shifts every code after it). The recall@10 against exhaustive search is
measured by ``bench/scale.py``.

Coarse codes are noisier, so their scores are ranked by a lower confidence bound:
``score - margin[bits]``. With the margins below, a coarse copy never outranks an equally
relevant 8-bit one because of quantization noise (``tests/unit/test_semantic_channel.py``).
1-bit codes are searched in two steps ("binary with re-ranking"): a Hamming shortlist
(``SHORTLIST`` x k) from FAISS, then an asymmetric estimate with the exact query,
``BINARY_GAIN * (q . sign(x)) / sqrt(d)``, which ranks far better than the symmetric
``cos(pi * h / d)`` (Charikar 2002): recall@10 against exact search 0.72 instead of 0.62 on
MiniLM vectors of LoCoMo turns, max |error| 0.185 instead of 0.312.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import faiss
import numpy as np

from channels.base import ChannelStats, Doc, FloatArray, Hit, KeyArray, Query, top_hits
from channels.context import with_context
from channels.slots import grown

INDEX_BITS = {"hot": 8, "warm": 8, "cold": 4, "archived": 1}
"""Per lifecycle tier: the precision a vector is *indexed* at in RAM (the stored code may be
finer: see ``lifecycle.decay.TIER_BITS``)."""
# Lower-confidence-bound margins per precision (cosine units): above the largest
# |estimated - exact| cosine error measured over 1M query/vector pairs of MiniLM vectors
# (4-bit: 0.036-0.065; 1-bit asymmetric: 0.185), so noise alone cannot lift a coarse copy
# over a fine one.
MARGIN = {8: 0.0, 4: 0.07, 1: 0.19}
# Least-squares gain of the asymmetric 1-bit estimate against exact cosine on MiniLM vectors.
BINARY_GAIN = 1.195
SHORTLIST = 8
RESCORE = 64
IVF_MIN = 50_000
"""Below this many 8-bit vectors the exhaustive scan is fast enough (a few ms)."""
EXACT_SCOPE = 20_000
"""Scopes up to this size are searched exhaustively, whatever the index."""
PROBE_SHARE = 0.5
"""Share of the cells a whole-tenant search probes. Measured on MiniLM vectors of 100k
conversation turns with question queries (bench/scale.py): recall@10 against exhaustive
search 0.94 at 0.4, 0.99 at 0.5 of 632 cells; questions score flatly against chat turns, so
their true top 10 is spread over many cells (HNSW, M=24, efSearch=256, reached only 0.91)."""
RETRAIN_GROWTH = 4
TRAIN_PER_CELL = 40
BATCH_SELECTOR_MAX = 50_000
"""Scopes up to this size become a hash-set selector; larger ones a bitmap over the keys."""
# A 1-bit shortlist is re-scored with each memory's stored code when ``rescore`` is set: the
# engine fetches those codes (4-bit for archived memories) from SQL, not from RAM.
Rescorer = Callable[[Sequence[int]], Mapping[int, tuple[FloatArray, int]]]
_RANGE = 0.35  # unit-norm MiniLM components stay inside [-0.35, 0.35]; rare outliers clip


def _lower_bound(est: FloatArray, precision: np.ndarray) -> FloatArray:
    """Estimated cosines minus the margin of the precision each came from."""
    margins = np.array([MARGIN[int(b)] for b in precision], dtype=np.float32)
    return (est - margins).astype(np.float32)


def _indexed_vector(doc: Doc) -> FloatArray:
    """The memory's vector, with its conversation context mixed in (``channels.context``)."""
    assert doc.vector is not None
    return with_context(doc.vector, doc.context_vector)


class SemanticChannel:
    name = "semantic"

    def __init__(self, *, dimension: int = 384, threads: int = 1) -> None:
        self.dimension = dimension
        self._threads = threads
        self._bits_of = np.zeros(0, dtype=np.int8)
        """Per key: the precision its vector is indexed at (0: not indexed)."""
        self._count = 0
        self._indexes: dict[int, faiss.Index | faiss.IndexBinary] = {}
        self._trained_at = 0
        """Vectors in the 8-bit index when its IVF was trained (0: exhaustive)."""
        self.rescore: Rescorer | None = None
        self._reset()

    def _reset(self) -> None:
        self._bits_of = np.zeros(0, dtype=np.int8)
        self._count = 0
        self._trained_at = 0
        self._indexes = {bits: self._new_index(bits) for bits in (8, 4, 1)}

    def _new_index(self, bits: int) -> faiss.Index | faiss.IndexBinary:
        if bits == 1:
            return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(self.dimension))
        qtype = (
            faiss.ScalarQuantizer.QT_8bit_uniform
            if bits == 8
            else faiss.ScalarQuantizer.QT_4bit_uniform
        )
        sq = faiss.IndexScalarQuantizer(self.dimension, qtype, faiss.METRIC_INNER_PRODUCT)
        bounds = np.full((2, self.dimension), _RANGE, dtype=np.float32)
        bounds[0] *= -1
        sq.train(bounds)
        return faiss.IndexIDMap2(sq)

    # writes

    def upsert(self, docs: Sequence[Doc]) -> None:
        docs = [d for d in docs if d.vector is not None]
        if not docs:
            return
        self.remove([d.key for d in docs])
        groups: dict[int, list[Doc]] = {}
        for doc in docs:
            groups.setdefault(INDEX_BITS.get(doc.tier, 8), []).append(doc)
        for bits, group in groups.items():
            keys = np.fromiter((d.key for d in group), dtype=np.int64, count=len(group))
            vectors = np.vstack([_indexed_vector(d) for d in group])
            if bits == 1:
                self._indexes[1].add_with_ids(np.packbits(vectors >= 0, axis=1), keys)
            else:
                self._indexes[bits].add_with_ids(np.clip(vectors, -_RANGE, _RANGE), keys)
            self._bits_of = grown(self._bits_of, int(keys.max()) + 1)
            self._bits_of[keys] = bits
            self._count += keys.size
        index = self._indexes[8]
        if index.ntotal >= IVF_MIN and index.ntotal >= RETRAIN_GROWTH * self._trained_at:
            self._indexes[8] = self._inverted(index)

    def remove(self, keys: Sequence[int]) -> None:
        known = np.asarray([k for k in keys if 0 <= k < self._bits_of.shape[0]], dtype=np.int64)
        if known.size == 0:
            return
        bits_of = self._bits_of[known]
        for bits in (8, 4, 1):
            group = known[bits_of == bits]
            if group.size:
                self._indexes[bits].remove_ids(group)
        self._count -= int(np.count_nonzero(bits_of))
        self._bits_of[known] = 0

    def _inverted(self, index: faiss.Index) -> faiss.Index:
        """The 8-bit vectors moved into a freshly trained IVF over SQ8 codes."""
        keys, vectors = _sq8_contents(index)
        n = keys.shape[0]
        nlist = int(min(max(2 * math.sqrt(n), 256), 4096))
        quantizer = faiss.IndexFlatIP(self.dimension)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer,
            self.dimension,
            nlist,
            faiss.ScalarQuantizer.QT_8bit_uniform,
            faiss.METRIC_INNER_PRODUCT,
            False,
        )
        ivf.cp.niter = 10
        sample = np.random.default_rng(n).choice(n, min(n, TRAIN_PER_CELL * nlist), replace=False)
        ivf.train(np.clip(vectors[np.sort(sample)], -_RANGE, _RANGE))
        # the exhaustive index's fixed code range, not one fitted to the sample: the codes
        # (and so the scores) stay exactly those of the exhaustive index
        faiss.copy_array_to_vector(
            np.array([-_RANGE, 2 * _RANGE], dtype=np.float32), ivf.sq.trained
        )
        # each cell filled in one step, so its buffers are allocated at their exact size
        # (adding vector by vector doubles them: ~1.4x the codes' bytes on average)
        cells = np.concatenate(
            [quantizer.search(vectors[i : i + 65_536], 1)[1][:, 0] for i in range(0, n, 65_536)]
        )
        codes = ivf.sq.compute_codes(vectors)
        order = np.argsort(cells, kind="stable")
        bounds = np.searchsorted(cells[order], np.arange(nlist + 1))
        lists = ivf.invlists
        for cell in range(nlist):
            members = order[bounds[cell] : bounds[cell + 1]]
            if members.size:
                ids = np.ascontiguousarray(keys[members])
                cell_codes = np.ascontiguousarray(codes[members])
                lists.add_entries(
                    cell, members.size, faiss.swig_ptr(ids), faiss.swig_ptr(cell_codes)
                )
        ivf.ntotal = n
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        self._trained_at = n
        return ivf

    def rebuild(self, docs: Iterable[Doc]) -> None:
        self._reset()
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= 4096:
                self.upsert(batch)
                batch = []
        self.upsert(batch)

    # reads

    def search(self, query: Query) -> list[Hit]:
        if query.vector is None or not self._count or query.limit <= 0:
            return []
        if query.allowed is not None and query.allowed.size == 0:
            return []
        faiss.omp_set_num_threads(self._threads)
        vector = np.asarray(query.vector, dtype=np.float32).reshape(1, -1)
        keys: list[KeyArray] = []
        scores: list[FloatArray] = []
        exact: list[FloatArray] = []
        used_bits: list[np.ndarray] = []
        selector, keep = self._selector(query.allowed)
        scope = self._count if query.allowed is None else int(query.allowed.size)
        for bits, index in self._indexes.items():
            if index.ntotal == 0:
                continue
            params = _search_params(index, selector, scope)
            # Widen k while the cut-off score is tied, so exact ties are broken by key
            # (in top_hits), never by storage order.
            k = min(query.limit + 16, int(index.ntotal))
            while True:
                ids, est, precision = self._search_index(bits, index, vector, k, params)
                found = ids >= 0
                ids, est, precision = ids[found], est[found], precision[found]
                lcb = _lower_bound(est, precision)
                if (
                    k >= index.ntotal
                    or ids.size < k
                    or lcb[-1] < lcb[min(query.limit, ids.size) - 1]
                ):
                    break
                k = min(k * 2, int(index.ntotal))
            keys.append(ids.astype(np.int64))
            exact.append(est.astype(np.float32))
            scores.append(lcb)
            used_bits.append(precision)
        del keep  # the selector's bitmap lives until every index was searched
        if not keys:
            return []
        all_keys, all_scores = np.concatenate(keys), np.concatenate(scores)
        all_est = dict(
            zip(np.concatenate(keys).tolist(), np.concatenate(exact).tolist(), strict=True)
        )
        bits_of = dict(zip(all_keys.tolist(), np.concatenate(used_bits).tolist(), strict=True))
        return [
            Hit(
                key,
                score,
                {"cosine": round(all_est[key], 4), "precision_bits": int(bits_of[key])},
            )
            for key, score in top_hits(all_keys, all_scores, query.limit)
        ]

    def _selector(self, allowed: KeyArray | None) -> tuple[faiss.IDSelector | None, object]:
        """A FAISS selector for the scope, and the array it reads (keep it alive)."""
        if allowed is None:
            return None, None
        if allowed.size <= BATCH_SELECTOR_MAX:
            return faiss.IDSelectorBatch(allowed), allowed
        size = self._bits_of.shape[0]
        mask = np.zeros(size, dtype=bool)
        mask[allowed[allowed < size]] = True
        bitmap = np.packbits(mask, bitorder="little")
        return faiss.IDSelectorBitmap(size, faiss.swig_ptr(bitmap)), bitmap

    def _search_index(
        self,
        bits: int,
        index: faiss.Index | faiss.IndexBinary,
        vector: FloatArray,
        k: int,
        params: faiss.SearchParameters | None,
    ) -> tuple[KeyArray, FloatArray, np.ndarray]:
        """Top-k ids, estimated cosines and the precision each estimate came from."""
        if bits == 1:
            return self._search_binary(index, vector, k, params)
        if params is None:
            distances, ids = index.search(vector, k)
        else:
            distances, ids = index.search(vector, k, params=params)
        return ids[0], distances[0].astype(np.float32), np.full(ids.shape[1], bits)

    def _search_binary(
        self,
        index: faiss.IndexBinary,
        vector: FloatArray,
        k: int,
        params: faiss.SearchParameters | None,
    ) -> tuple[KeyArray, FloatArray, np.ndarray]:
        """Hamming shortlist, re-ranked by the asymmetric estimate with the float query, then
        (with ``rescore``) the best of it re-scored with the memories' stored, finer codes."""
        probe = np.packbits(vector >= 0, axis=1)
        wide = min(max(k * SHORTLIST, 256), int(index.ntotal))
        if params is None:
            _, ids = index.search(probe, wide)
        else:
            _, ids = index.search(probe, wide, params=params)
        ids = ids[0][ids[0] >= 0]
        if ids.size == 0:
            return ids, np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        codes = np.stack([index.reconstruct(int(i)) for i in ids])
        signs = np.unpackbits(codes, axis=1)[:, : self.dimension].astype(np.float32) * 2.0 - 1.0
        est = BINARY_GAIN * (signs @ vector[0]) / math.sqrt(self.dimension)
        order = np.lexsort((ids, -est))[: max(k, RESCORE)]
        ids, est = ids[order], est[order].astype(np.float32)
        precision = np.ones(ids.size, dtype=np.int64)
        if self.rescore is not None:
            finer = self.rescore(ids.tolist())
            for i, key in enumerate(ids.tolist()):
                if key in finer:
                    fine_vector, fine_bits = finer[key]
                    est[i], precision[i] = float(fine_vector @ vector[0]), fine_bits
        order = np.lexsort((ids, -_lower_bound(est, precision)))[:k]
        return ids[order], est[order], precision[order]

    def stats(self) -> ChannelStats:
        per_bits = {bits: int(index.ntotal) for bits, index in self._indexes.items()}
        code_bytes = {8: self.dimension, 4: (self.dimension + 1) // 2, 1: self.dimension // 8}
        index_bytes = sum(per_bits[b] * (code_bytes[b] + 8) for b in per_bits)
        extra: dict[str, object] = {"by_precision": {f"{b}bit": n for b, n in per_bits.items()}}
        if self._trained_at:
            extra["ivf"] = {"nlist": int(self._indexes[8].nlist), "trained_at": self._trained_at}
        return ChannelStats(documents=self._count, index_bytes=index_bytes, extra=extra)


def nprobe(nlist: int, ntotal: int, scope: int) -> int:
    """Cells to probe: a base share of the cells, widened by how little of the index the
    scope covers (its members are spread over all cells); every cell for a small scope."""
    if scope <= EXACT_SCOPE:
        return nlist
    base = PROBE_SHARE * nlist
    return int(min(nlist, math.ceil(base * ntotal / max(scope, 1))))


def _search_params(
    index: faiss.Index | faiss.IndexBinary, selector: faiss.IDSelector | None, scope: int
) -> faiss.SearchParameters | None:
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(
            sel=selector, nprobe=nprobe(index.nlist, index.ntotal, scope)
        )
    return None if selector is None else faiss.SearchParameters(sel=selector)


def _sq8_contents(index: faiss.Index) -> tuple[KeyArray, FloatArray]:
    """(keys, decoded vectors) of an 8-bit index, exhaustive or inverted."""
    if isinstance(index, faiss.IndexIVF):
        lists = index.invlists
        keys, codes = [], []
        for cell in range(index.nlist):
            n = lists.list_size(cell)
            if n:
                keys.append(faiss.rev_swig_ptr(lists.get_ids(cell), n).copy())
                raw = faiss.rev_swig_ptr(lists.get_codes(cell), n * lists.code_size)
                codes.append(raw.copy().reshape(n, lists.code_size))
        decoder = index.sq
        all_keys, all_codes = np.concatenate(keys), np.concatenate(codes)
    else:
        inner = faiss.downcast_index(index.index)
        all_keys = faiss.vector_to_array(index.id_map).astype(np.int64)
        all_codes = faiss.vector_to_array(inner.codes).reshape(index.ntotal, inner.code_size)
        decoder = inner.sq
    vectors = np.vstack(
        [decoder.decode(all_codes[i : i + 65_536]) for i in range(0, all_codes.shape[0], 65_536)]
    )
    return all_keys.astype(np.int64), vectors.astype(np.float32)
