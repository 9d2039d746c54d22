"""Where training data comes from: one array in memory, chunks read pass after
pass, or a Dask array; and how a pass over chunks gets the statistics of EM
and of Lloyd's k-means.

The estimators (and the encoders) give their data to :func:`open_source`:

* an array -- a numpy array, a ``numpy.memmap`` or any array-like -- is
  :class:`InMemory` (trained by libgmm's own loops, ``vl_gmm_em`` and
  ``vl_kmeans_cluster``), unless ``chunk_size`` is given;
* an array with ``chunk_size``, a list or tuple of 2-D arrays (each one a
  chunk, split further if longer than ``chunk_size``), a re-iterable (an
  object with ``__iter__`` that can be iterated once per pass, e.g. a class
  reading files) or a zero-argument callable returning a fresh iterator of 2-D
  arrays per pass (``lambda: read_chunks(path)``) is read by
  :class:`LocalPasses`; a one-shot iterator (a generator) is refused, training
  reads the data many times;
* a ``dask.array.Array`` (rows are points) is read by :class:`DaskPasses`:
  every pass runs on the cluster of the active ``dask.distributed`` client, or
  on Dask's default scheduler.

Passes
------
A pass computes, for frozen parameters, the sufficient statistics of all
the data: for EM (``vl_gmm_stats_accumulate``) masses, first and second
moments, log-likelihood and count, ``K(2D+2)+2`` doubles; for k-means
(``vl_kmeans_stats_accumulate``) per-center counts, coordinate sums and the
energy. Chunk statistics are added in a fixed order (chunk order locally; a
fixed tree of fan-in :data:`TREE_FAN_IN` in chunk order on Dask), so results
do not depend on the number of threads or workers. The loops that use them
are in ``pyvl/_training/gmm.py`` and ``pyvl/_training/kmeans.py``.

Initialisation on data that does not fit
----------------------------------------
Initialisation runs in memory on a uniform random sample of at most ``m``
rows taken in one pass (default :func:`default_init_sample_size`):

* chunk sources: reservoir sampling (Vitter's Algorithm R) with a numpy
  ``Generator`` seeded from ``random_state`` (one draw per row after the
  first m, in row order: the sample does not depend on the chunk size);
* Dask arrays: every row gets a uniform key from a generator seeded by
  ``(seed, block index)`` and the m smallest keys are kept (tree-merged, ties
  broken by row index) -- the same distribution as Algorithm R, computed in
  parallel; it depends on the block structure.

Either way, when the data has at most m rows the "sample" is all the data in
row order, so the initialisation is exactly the in-memory one.

Sample weights
--------------
k-means takes one weight per row (``sample_weight``, checked by
``pyvl/_training/params.py``): with the array in memory, the weights are an
array of the working dtype (:class:`InMemory`); for chunks, a 1-D array (a
memmap too) in row order, of which every chunk passes its own slice
(converted to the working dtype, as scikit-learn rounds weights to X's
dtype); on Dask, a dask array chunked as X's rows (a numpy array is wrapped
in one). The initialisation sample carries its rows' weights.

Memory
------
A local pass holds one chunk (converted to the working dtype if it is not
already) plus libgmm's workspace, O(K D) per slab and thread, and the sample
(m x D). Pages of a read-only shared file mapping (a ``numpy.memmap`` opened
with mode "r") read by a pass are dropped from the process (Linux; the file
stays in the page cache) so the resident size does not grow with the file;
no other memory is ever released (see :class:`_PageReleaser`).

Reproducibility
---------------
Results do not depend on the number of libgmm threads; on Dask they do not
depend on the number of workers, on task placement or on retried tasks: each
block's statistics are a pure function of the block and the parameters and
the reduction tree is fixed. With the same chunks (Dask blocks = local
chunks, and at most :data:`TREE_FAN_IN` of them) Dask and local chunked fits
are bit-identical. (Workers must run the same libgmm at the same SIMD level.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import mmap
import sys
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np

from .._core.arrays import c_array, numeric, work_dtype
from .._core.objects import GMM, KMeans
from .._core.runtime import num_threads
from .params import check_chunked_weights, check_dask_weights

#: Default chunk of an array/memmap source: rows of about this many bytes.
DEFAULT_CHUNK_BYTES = 32 << 20
#: Fan-in of the fixed reduction tree of statistics on Dask.
TREE_FAN_IN = 16


def default_init_sample_size(k: int) -> int:
    """Rows sampled for the initialisation when ``init_sample_size`` is None."""
    return max(100 * int(k), 10000)


class Interrupted(Exception):
    """A pass was abandoned because of Ctrl-C (the model stays valid)."""


# ---- what goes where ------------------------------------------------------------------


def is_dask_array(X: Any) -> bool:
    mod = sys.modules.get("dask.array")
    return mod is not None and isinstance(X, mod.Array)


def is_chunked(X: Any, chunk_size: Any = None) -> bool:
    """Whether X is trained by passes over chunks (see the module doc).

    True for a dask array, a numpy array (a ``numpy.memmap`` among them) when
    ``chunk_size`` is given, a non-empty list/tuple of 2-D numpy arrays, a
    callable, or an iterable that is not array-like (no ``shape``, no
    ``__array__``: lists of lists, DataFrames and sparse matrices stay on the
    in-memory path). An array without ``chunk_size`` is trained in memory,
    whatever its class, so the same data gives the same model whichever way
    it arrives."""
    if is_dask_array(X):
        return True
    if isinstance(X, np.ndarray):
        return chunk_size is not None
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(isinstance(a, np.ndarray) and a.ndim == 2 for a in X)
    if isinstance(X, (str, bytes, dict)) or hasattr(X, "shape") or hasattr(X, "__array__"):
        return False
    return callable(X) or hasattr(X, "__iter__")


class InMemory:
    """All the data as one C-contiguous (N, D) array of the working dtype, and its
    sample weights ((N,) of the working dtype, or None)."""

    in_memory = True

    def __init__(self, X: np.ndarray, weights: np.ndarray | None = None) -> None:
        self.X = X
        self.n, self.d = X.shape
        self.dtype = X.dtype
        self.weights = weights

    def sample(self, m: int, seed: int) -> tuple[np.ndarray, int]:
        """All the data: the initialisation of an in-memory fit sees every row."""
        return self.X, self.n

    def sample_weighted(self, m: int, seed: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """:meth:`sample` and the sample's weights."""
        return self.X, self.n, self.weights


# ---- releasing the pages of a read-only file mapping -----------------------------------
#
# A pass over a memory-mapped file leaves every page it read resident in the
# process. Dropping them after use (madvise MADV_DONTNEED) keeps the resident
# set of an out-of-core fit at about one chunk. MADV_DONTNEED *discards* the
# contents of private and anonymous memory, so pages are released only where
# /proc/self/maps proves the memory is a read-only shared mapping of a file
# ("r--s" with an inode): there the data stays in the file and in the page
# cache and comes back on the next read. Anything else -- a copy-on-write
# ('c') or writable memmap, the heap-allocated np.memmap that .astype() or
# np.require() return, shared memory, an ordinary array -- is never touched.
# Without /proc (macOS, Windows) nothing is released.


def _load_madvise() -> Any:
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.madvise
    except (OSError, AttributeError):  # pragma: no cover - exotic platforms
        return None
    fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return lambda addr, length: fn(ctypes.c_void_p(addr), length, advice)


_MADVISE = _load_madvise()
_PAGE = mmap.PAGESIZE


def readonly_file_mappings() -> list[tuple[int, int]]:
    """Address ranges [start, end) of this process' read-only shared file mappings
    (adjacent ones merged), from /proc/self/maps; empty where there is none."""
    ranges: list[tuple[int, int]] = []
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 5 or fields[1] != "r--s" or fields[4] == "0":
                    continue
                lo, hi = (int(v, 16) for v in fields[0].split("-"))
                if ranges and ranges[-1][1] == lo:
                    ranges[-1] = (ranges[-1][0], hi)
                else:
                    ranges.append((lo, hi))
    except OSError:
        return []
    return ranges


class _PageReleaser:
    """Drops the pages of a read-only shared file mapping already read (see above)."""

    def __init__(self, X: Any) -> None:
        self.ok = False
        if _MADVISE is None or not isinstance(X, np.ndarray) or X.ndim != 2:
            return
        if not X.flags.c_contiguous or X.nbytes == 0:
            return
        start, end = X.ctypes.data, X.ctypes.data + X.nbytes
        # whole pages only: the first and last page may hold other data
        lo, hi = -(-start // _PAGE) * _PAGE, end - end % _PAGE
        if hi <= lo or not any(a <= lo and hi <= b for a, b in readonly_file_mappings()):
            return
        self.ok, self.start, self.lo, self.hi, self.done = True, start, lo, hi, lo

    def upto(self, address: int) -> None:
        """Release every whole page of the mapping below ``address``."""
        if not self.ok:
            return
        stop = min(address - address % _PAGE, self.hi)
        if stop > self.done:
            _MADVISE(self.done, stop - self.done)
            self.done = stop

    def finish(self) -> None:
        if self.ok:
            self.upto(self.hi)
            self.done = self.lo


# ---- chunk sources --------------------------------------------------------------------


class ChunkSource:
    """Data read as (rows, D) chunks, one pass at a time (see the module doc).

    ``chunks(dtype)`` is one pass: C-contiguous arrays of ``dtype``; memory is
    one chunk at a time (plus its conversion if it is not of ``dtype``)."""

    def __init__(self, X: Any, chunk_size: int | None = None) -> None:
        self.X = X
        self.chunk_size = chunk_size
        if isinstance(X, np.ndarray):
            if X.ndim != 2:
                raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
            self.kind = "array"
        elif isinstance(X, (list, tuple)):
            if not X:
                raise ValueError("the list of chunks is empty")
            self.kind = "list"
        elif callable(X):
            self.kind = "callable"
        elif hasattr(X, "__iter__"):
            if iter(X) is X:
                raise TypeError(
                    "a one-shot iterator (such as a generator) can be read only once, and EM "
                    "reads the data once per iteration: pass a list of arrays, a re-iterable "
                    "object, or a zero-argument callable returning a fresh iterator "
                    "(e.g. lambda: read_chunks(path))"
                )
            self.kind = "iterable"
        else:
            raise TypeError(f"cannot read chunks from {type(X).__name__}")
        self.d: int | None = None
        self.native: np.dtype | None = None
        self._peek()

    def _pieces(self) -> Iterator[Any]:
        if self.kind == "array":
            yield self.X
        elif self.kind == "list":
            yield from self.X
        elif self.kind == "callable":
            it = self.X()
            if it is None or not hasattr(it, "__iter__"):
                raise TypeError("the chunk source callable must return an iterable of 2-D arrays")
            yield from it
        else:
            yield from iter(self.X)

    def _rows(self, piece: np.ndarray) -> int:
        if self.chunk_size is not None:
            return self.chunk_size
        row = max(1, piece.shape[1]) * piece.dtype.itemsize
        return max(1, DEFAULT_CHUNK_BYTES // row)

    def _peek(self) -> None:
        """D and the native dtype, from the first piece."""
        for piece in self._pieces():
            a = numeric(piece, "chunk")
            if a.ndim != 2:
                raise ValueError(f"every chunk must be a 2-D (rows, D) array, got shape {a.shape}")
            self.d, self.native = int(a.shape[1]), a.dtype
            return
        raise ValueError("the chunk source yielded no data")

    def chunks(self, dtype: np.dtype) -> Iterator[np.ndarray]:
        """One pass over the data."""
        for piece in self._pieces():
            a = numeric(piece, "chunk")
            if a.ndim != 2 or a.shape[1] != self.d:
                raise ValueError(
                    f"every chunk must be a 2-D (rows, {self.d}) array, got shape {a.shape}"
                )
            if a.shape[0] == 0:
                continue
            rows = self._rows(a)
            release = _PageReleaser(piece)  # the memmap itself: np.asarray drops the subclass
            try:
                for i in range(0, a.shape[0], rows):
                    part = a[i : i + rows]
                    yield c_array(part, dtype=dtype)
                    if release.ok:
                        release.upto(release.start + (i + part.shape[0]) * a.strides[0])
            finally:
                release.finish()


def reservoir_sample(
    source: ChunkSource, m: int, seed: int, dtype: np.dtype
) -> tuple[np.ndarray, int]:
    """Algorithm R over one pass: (sample (min(m, N), D) of ``dtype``, N).

    Row i (0-based) >= m draws j uniform in [0, i] from
    ``numpy.random.default_rng(seed)`` and replaces slot j if j < m; the
    draws are made in row order, so the sample does not depend on how the
    data is chunked. With N <= m the sample is the data, in order."""
    sample, n, _ = reservoir_rows(source, m, seed, dtype)
    return sample, n


def reservoir_rows(
    source: ChunkSource, m: int, seed: int, dtype: np.dtype
) -> tuple[np.ndarray, int, np.ndarray]:
    """:func:`reservoir_sample` and the row number (int64) of every sampled row."""
    assert source.d is not None
    rng = np.random.default_rng(seed)
    res = np.empty((m, source.d), dtype=dtype)
    where = np.empty(m, dtype=np.int64)
    n = 0
    for c in source.chunks(dtype):
        rows = c.shape[0]
        fill = min(max(m - n, 0), rows)
        if fill:
            res[n : n + fill] = c[:fill]
            where[n : n + fill] = np.arange(n, n + fill)
        if rows > fill:
            idx = np.arange(n + fill, n + rows, dtype=np.int64)
            j = rng.integers(0, idx + 1)
            hit = np.nonzero(j < m)[0]
            if hit.size:
                slots = j[hit]
                # sequential semantics: the last row drawing a slot keeps it
                _, last = np.unique(slots[::-1], return_index=True)
                keep = hit.size - 1 - last
                res[slots[keep]] = c[fill + hit[keep]]
                where[slots[keep]] = idx[hit[keep]]
        n += rows
    k = min(m, n)
    return res[:k].copy(), n, where[:k].copy()


# ---- the tasks a Dask worker runs (module-level: pickled by reference) ---------------


def _gmm_from_snapshot(p: dict[str, Any]) -> GMM:
    dtype = np.dtype(p["dtype"])
    k, d = p["means"].shape
    g = GMM.of_dtype(dtype, d, k)
    g.covariance_type = p.get("covariance_type", 0)  # before the parameters (it resets them)
    if g.covariance_type == 0:
        g.exact_em = bool(p.get("exact_em", False))
    g.set_params(p["weights"], p["means"], p["covariances"])
    g.set_covariance_lower_bounds(p["bounds"])
    return g


def gmm_snapshot(g: GMM) -> dict[str, Any]:
    """A GMM's E-step state as small numpy arrays (what a worker needs)."""
    w, m, c = g.params()
    return {"dtype": g.dtype.str, "weights": w, "means": m, "covariances": c,
            "bounds": g.covariance_lower_bounds, "covariance_type": int(g.covariance_type),
            "exact_em": g.exact_em}


def _gmm_block_stats(block: Any, p: dict[str, Any]) -> np.ndarray:
    """One block's EM statistics under the frozen parameters ``p``."""
    dtype = np.dtype(p["dtype"])
    with _gmm_from_snapshot(p) as g, num_threads(p.get("n_threads")):
        st = g.new_stats()
        data = c_array(block, dtype=dtype)
        if data.shape[0]:
            ref = p.get("ref")
            g.stats_accumulate(st, data, None if ref is None else c_array(ref, dtype=dtype),
                               p.get("splits"))
    return st


def _kmeans_block_stats(block: Any, p: dict[str, Any], weights: Any = None) -> np.ndarray:
    """One block's k-means statistics (weighted with the block's ``weights``)."""
    centers = p["centers"]
    with KMeans.with_centers(centers) as km, num_threads(p.get("n_threads")):
        st = km.new_stats()
        data = c_array(block, dtype=centers.dtype)
        if data.shape[0]:
            w = None if weights is None else np.asarray(weights, dtype=centers.dtype)
            km.stats_accumulate(st, data, w)
    return st


def _kmeans_block_labels(block: Any, centers: np.ndarray) -> np.ndarray:
    with KMeans.with_centers(centers) as km:
        data = c_array(block, dtype=centers.dtype)
        if not data.shape[0]:
            return np.zeros(0, dtype=np.int64)
        a, _ = km.quantize(data, distances=False)
    return a.astype(np.int64)


def _gmm_block_labels(block: Any, p: dict[str, Any]) -> np.ndarray:
    with _gmm_from_snapshot(p) as g:
        data = c_array(block, dtype=np.dtype(p["dtype"]))
        if not data.shape[0]:
            return np.zeros(0, dtype=np.int64)
        lab = g.estep(data, labels=True)[2]
    assert lab is not None
    return lab.astype(np.int64)


def _sum_in_order(*parts: np.ndarray) -> np.ndarray:
    acc = np.array(parts[0], dtype=np.float64, copy=True)
    for a in parts[1:]:
        acc += a
    return acc


def _block_sample(block: Any, seed: int, index: int, offset: int, m: int,
                  dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The m rows of a block with the smallest random keys: (keys, row numbers, rows)."""
    data = np.asarray(block)
    n = data.shape[0]
    keys = np.asarray(np.random.default_rng([int(seed), int(index)]).random(n))
    if n > m:
        sel = np.sort(np.argpartition(keys, m - 1)[:m])
    else:
        sel = np.arange(n)
    return keys[sel], offset + sel.astype(np.int64), np.array(data[sel], dtype=np.dtype(dtype))


def _merge_samples(m: int, *parts: tuple) -> tuple:
    keys = np.concatenate([p[0] for p in parts])
    rows = np.concatenate([p[1] for p in parts])
    data = np.concatenate([p[2] for p in parts])
    order = np.lexsort((rows, keys))[:m]
    return keys[order], rows[order], data[order]


# ---- passes: where the data is read ----------------------------------------------------


class LocalPasses:
    """Passes over a :class:`ChunkSource` in this process (with the rows' sample
    weights, a 1-D array, or None)."""

    in_memory = False
    n: int | None = None

    def __init__(self, source: ChunkSource, dtype: np.dtype,
                 stop: Callable[[], bool] | None = None, weights: Any = None) -> None:
        self.source, self.dtype, self.stop = source, dtype, stop
        assert source.d is not None
        self.d = source.d
        self.weights = weights

    def weighted_chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """One pass: every chunk with its slice of the weights (of the working
        dtype; None without weights). ``ValueError`` if the weights and the rows
        do not match in number."""
        off = 0
        for c in self._chunks():
            w = None
            if self.weights is not None:
                w = np.asarray(self.weights[off : off + c.shape[0]], dtype=self.dtype)
                if w.shape[0] != c.shape[0]:
                    raise ValueError(f"sample_weight has {self.weights.shape[0]} values, but the "
                                     "data has more rows")
            yield c, w
            off += c.shape[0]
        if self.weights is not None and off != self.weights.shape[0]:
            raise ValueError(f"sample_weight.shape == {self.weights.shape}, expected ({off},)!")

    def _chunks(self) -> Iterator[np.ndarray]:
        for c in self.source.chunks(self.dtype):
            yield c
            if self.stop is not None and self.stop():
                raise Interrupted

    def gmm_stats(self, frozen: GMM, ref: np.ndarray | None = None,
                  splits: np.ndarray | None = None) -> np.ndarray:
        st = frozen.new_stats()
        for c in self._chunks():
            frozen.stats_accumulate(st, c, ref, splits)
        return st

    def kmeans_stats(self, km: KMeans) -> np.ndarray:
        st = km.new_stats()
        for c, w in self.weighted_chunks():
            km.stats_accumulate(st, c, w)
        return st

    def sample(self, m: int, seed: int) -> tuple[np.ndarray, int]:
        return reservoir_sample(self.source, m, seed, self.dtype)

    def sample_weighted(self, m: int, seed: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """:meth:`sample` and the sampled rows' weights (None without weights)."""
        sample, n, rows = reservoir_rows(self.source, m, seed, self.dtype)
        if self.weights is None:
            return sample, n, None
        if self.weights.shape[0] != n:
            raise ValueError(f"sample_weight.shape == {self.weights.shape}, expected ({n},)!")
        return sample, n, np.asarray(self.weights[rows], dtype=self.dtype)


class DaskPasses:
    """Passes over a dask array: one task per block, a fixed reduction tree."""

    in_memory = False
    stop: Callable[[], bool] | None = None  # passes on Dask run to the end

    def __init__(self, X: Any, dtype: np.dtype, n_threads: int | None,
                 fan_in: int | None = None, weights: Any = None) -> None:
        dask = sys.modules["dask"]  # imported by whoever made the dask array

        self.dask = dask
        self.X, self.dtype, self.n_threads = X, dtype, n_threads
        self.n, self.d = int(X.shape[0]), int(X.shape[1])
        self.fan_in = max(2, int(fan_in or TREE_FAN_IN))
        self.blocks = list(X.to_delayed().ravel())
        self.offsets = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)
        #: the sample weights: a dask array chunked as X's rows, or None
        self.weights = weights
        self.wblocks = None if weights is None else list(weights.to_delayed().ravel())

    def _tree(self, parts: list, fn: Callable, *lead: Any) -> Any:
        """The fixed reduction tree: nodes of TREE_FAN_IN consecutive parts, in order."""
        delayed = self.dask.delayed
        while len(parts) > 1:
            parts = [
                delayed(fn, pure=True)(*lead, *parts[i : i + self.fan_in])
                for i in range(0, len(parts), self.fan_in)
            ]
        return parts[0]

    def _reduce(self, parts: list, fn: Callable, *lead: Any) -> Any:
        (out,) = self.dask.compute(self._tree(parts, fn, *lead))
        return out

    def stats_graph(self, task: Callable, params: dict[str, Any], weighted: bool = False) -> Any:
        """The Delayed of one pass: a task per block (with the block's weights when
        ``weighted``), then the reduction tree."""
        delayed = self.dask.delayed
        params = dict(params, n_threads=self.n_threads)
        shared = delayed(params, pure=True)  # one key, fetched once per worker
        if weighted and self.wblocks is not None:
            parts = [delayed(task, pure=True)(b, shared, w) for b, w in zip(self.blocks, self.wblocks)]
        else:
            parts = [delayed(task, pure=True)(b, shared) for b in self.blocks]
        if len(parts) == 1:
            parts = [delayed(_sum_in_order, pure=True)(parts[0])]
        return self._tree(parts, _sum_in_order)

    def _stats(self, task: Callable, params: dict[str, Any], weighted: bool = False) -> np.ndarray:
        (out,) = self.dask.compute(self.stats_graph(task, params, weighted))
        # arrays coming back from workers may sit at odd byte offsets
        return c_array(out, np.float64)

    def gmm_stats(self, frozen: GMM, ref: np.ndarray | None = None,
                  splits: np.ndarray | None = None) -> np.ndarray:
        p = gmm_snapshot(frozen)
        p["ref"], p["splits"] = ref, splits
        return self._stats(_gmm_block_stats, p)

    def kmeans_stats(self, km: KMeans) -> np.ndarray:
        return self._stats(_kmeans_block_stats, {"centers": km.centers_2d()}, weighted=True)

    def sample(self, m: int, seed: int) -> tuple[np.ndarray, int]:
        sample, n, _ = self.sample_weighted(m, seed)
        return sample, n

    def sample_weighted(self, m: int, seed: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """:meth:`sample` and the sampled rows' weights (None without weights)."""
        delayed = self.dask.delayed
        parts = [
            delayed(_block_sample, pure=True)(b, seed, i, int(self.offsets[i]), m, self.dtype.str)
            for i, b in enumerate(self.blocks)
        ]
        if len(parts) == 1:
            parts = [delayed(_merge_samples, pure=True)(m, parts[0])]
        _, rows, data = self._reduce(parts, _merge_samples, m)
        order = np.argsort(rows, kind="stable")
        w = None
        if self.weights is not None:
            (w,) = self.dask.compute(self.weights[rows[order]])
            w = np.asarray(w, dtype=self.dtype)
        return c_array(data[order], dtype=self.dtype), int(self.offsets[-1]), w


def dask_source(X: Any, chunk_size: int | None) -> Any:
    """X as a 2-D dask array chunked along rows only (known chunk sizes)."""
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D dask array (rows = points), got {X.ndim}-D")
    if np.dtype(X.dtype).kind not in "fiub":
        raise TypeError(f"the dask array must be real numeric, got dtype {X.dtype}")
    if any(math.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if chunk_size is not None:
        X = X.rechunk({0: chunk_size})
    return X



def open_source(X: Any, chunk_size: int | None, dtype_param: Any,
                n_threads: int | None, sample_weight: Any = None) -> LocalPasses | DaskPasses:
    """Passes over chunked data X (see :func:`is_chunked`) in the working dtype,
    with its sample weights (one per row, in row order, checked; see the module
    doc); a training loop sets ``stop`` (a callable: True abandons a local pass)."""
    if is_dask_array(X):
        X = dask_source(X, chunk_size)
        weights = None
        if sample_weight is not None:
            weights = check_dask_weights(sample_weight, int(X.shape[0]), X.chunks[0])
        return DaskPasses(X, work_dtype(X.dtype, dtype_param), n_threads, weights=weights)
    source = ChunkSource(X, chunk_size)
    assert source.native is not None
    n = None
    if source.kind == "array":
        n = int(X.shape[0])
    elif source.kind == "list":
        n = sum(int(np.shape(a)[0]) for a in X)
    weights = check_chunked_weights(sample_weight, n)
    return LocalPasses(source, work_dtype(source.native, dtype_param), weights=weights)



def iter_chunks(X: Any, chunk_size: int | None, dtype: np.dtype) -> Iterator[np.ndarray]:
    """One pass over chunked local data X: C-contiguous chunks of ``dtype``."""
    yield from ChunkSource(X, chunk_size).chunks(dtype)


def map_dask_blocks(X: Any, chunk_size: int | None, task: Callable[..., np.ndarray],
                    **task_args: Any) -> Any:
    """A lazy (N,) int64 dask array: ``task(block, **task_args)`` per row block of X."""
    return dask_source(X, chunk_size).map_blocks(task, drop_axis=1, dtype=np.int64, **task_args)
