"""Out-of-core and distributed training: EM and Lloyd's k-means over chunks.

:class:`pyvl.GaussianMixture` and :class:`pyvl.KMeans` come here when ``fit``
is given data that is not one in-memory array (see :func:`is_chunk_source`):

* a numpy array or ``numpy.memmap`` when ``chunk_size`` is given (read in
  row chunks of ``chunk_size`` rows; without ``chunk_size`` an array is
  fitted in memory);
* a list or tuple of 2-D arrays (each one a chunk, split further if longer
  than ``chunk_size``);
* a re-iterable (an object with ``__iter__`` that can be iterated once per
  pass, e.g. a class reading files) or a zero-argument callable returning a
  fresh iterator of 2-D arrays per pass (``lambda: read_chunks(path)``); a
  one-shot iterator (a generator) is refused, EM reads the data many times;
* a ``dask.array.Array`` (rows are points): every pass runs on the cluster of
  the active ``dask.distributed`` client, or on Dask's default scheduler.

EM by sufficient statistics
---------------------------
The EM loop is libgmm's ``vl_gmm_em`` (gmm.tc, and the C reference driver
``em_by_stats`` in libgmm/tests/test_gmm_em.c) written with the statistics
API of vl/gmm.h. Per iteration t:

1. the E-step parameters are frozen (a copy of the VlGMM, or for Dask the
   weights, means, variances and variance bounds as small numpy arrays);
2. one pass: every chunk's statistics (``vl_gmm_stats_accumulate``: masses,
   first and second moments, log-likelihood, count; ``K(2D+2)+2`` doubles)
   are added together in a fixed order (chunk order locally; a fixed tree of
   fan-in :data:`TREE_FAN_IN` in chunk order on Dask);
3. convergence exactly as the in-memory estimator: the iteration callback
   (scikit-learn's ``tol`` on the mean log-likelihood, progress, Ctrl-C),
   then the iteration limit; VLFeat's relative test is disabled;
4. from t = 2 on, the restart of nearly empty components exactly as
   ``vl_gmm_em``: ``vl_gmm_plan_restart`` proposes a "split" (4 doubles) from
   the masses, a pass replays all splits so far on the frozen E-step's
   posteriors around the current means, an M-step follows, and so on until
   no component is empty; then one more pass gives the statistics of the
   edited posteriors. A restart costs one pass (as in memory, where the
   posteriors are recomputed too);
5. the M-step from the statistics (``vl_gmm_mstep_from_stats``).

With the same initialisation and iteration count the result is in-memory
EM's up to floating-point rounding (sums run in another order).

Lloyd by sufficient statistics
------------------------------
k-means passes accumulate per-center counts, coordinate sums and the energy
(``vl_kmeans_stats_*``, squared L2, exact nearest center) and move every
center to the mean of its points; the convergence tests are in-memory
Lloyd's (energy unchanged, relative energy variation below ``tol``, iteration
limit). Unlike in-memory Lloyd, **a center that receives no point keeps its
place** (in-memory Lloyd restarts it at a random point, which needs random
access to the data). On data where no cluster empties, chunked Lloyd equals
in-memory Lloyd up to rounding. ``algorithm`` "lloyd" and "elkan" (both
exact) run these Lloyd iterations; "ann" runs them too, with a warning.

Initialisation on data that does not fit
----------------------------------------
The estimator's own initialisation ("kmeans", "k-means++", "random_from_data"
with ``means_init`` etc.; KMeans' "k-means++"/"random") runs in memory on a
uniform random sample of at most ``init_sample_size`` rows (default
:func:`default_init_sample_size`: ``max(100 K, 10000)``) taken in one pass:

* chunk sources: reservoir sampling (Vitter's Algorithm R) with a numpy
  ``Generator`` seeded from ``random_state`` (one draw per row after the
  first m, in row order: the sample does not depend on the chunk size);
* Dask arrays: every row gets a uniform key from a generator seeded by
  ``(seed, block index)`` and the m smallest keys are kept (tree-merged, ties
  broken by row index) -- the same distribution as Algorithm R, computed in
  parallel; it depends on the block structure.

Either way, when the data has at most m rows the "sample" is all the data in
row order, so the initialisation is exactly the in-memory one. The pass is
skipped when it is not needed (``warm_start``, or ``weights_init``,
``means_init`` and ``precisions_init`` all given; KMeans with an array init).

Memory
------
A local pass holds one chunk (converted to the working dtype if it is not
already) plus libgmm's workspace, O(K D) per slab and thread, and the sample
(m x D). Pages of a read-only shared file mapping (a ``numpy.memmap`` opened
with mode "r") read by a pass are dropped from the process (Linux; the file
stays in the page cache) so the resident size does not grow with the file;
no other memory is ever released (see :class:`_PageReleaser`). KMeans stores
``labels_`` (8 bytes per row; a lazy Dask array for Dask input).

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
import itertools
import logging
import math
import mmap
import sys
import warnings
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np

from ._arrays import _numeric, c_array, ptr
from ._lib import lib

logger = logging.getLogger("pyvl")

_VL_TYPE = {np.dtype(np.float32): 1, np.dtype(np.float64): 2}
_DP = ctypes.POINTER(ctypes.c_double)
_INT32_MAX = np.iinfo(np.int32).max

#: Default chunk of an array/memmap source: rows of about this many bytes.
DEFAULT_CHUNK_BYTES = 32 << 20
#: Fan-in of the fixed reduction tree of statistics on Dask.
TREE_FAN_IN = 16


def default_init_sample_size(k: int) -> int:
    """Rows sampled for the initialisation when ``init_sample_size`` is None."""
    return max(100 * int(k), 10000)


def _dp(a: np.ndarray | None) -> Any:
    """``double*`` of a float64 array from :func:`c_array` (aligned, C-contiguous)."""
    if a is None:
        return None
    if not (a.dtype == np.float64 and a.flags.c_contiguous and a.flags.aligned):
        raise ValueError("internal error: statistics buffer is not an aligned float64 C array")
    return a.ctypes.data_as(_DP)


# ---- what goes where ------------------------------------------------------------------


def is_dask_array(X: Any) -> bool:
    mod = sys.modules.get("dask.array")
    return mod is not None and isinstance(X, mod.Array)


def is_chunk_source(X: Any, chunk_size: Any = None) -> bool:
    """Whether ``fit`` should take the chunked (or Dask) path for X.

    True for a dask array, a numpy array (a ``numpy.memmap`` among them) when
    ``chunk_size`` is given, a non-empty list/tuple of 2-D numpy arrays, a
    callable, or an iterable that is not array-like (no ``shape``, no
    ``__array__``: lists of lists, DataFrames and sparse matrices stay on the
    in-memory path). An array without ``chunk_size`` is fitted in memory,
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


def check_optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be None or an integer >= 1, got {value!r}")
    return int(value)


def work_dtype(native: np.dtype, dtype: Any) -> np.dtype:
    """The estimators' dtype rule: ``dtype`` if given, else float32 stays float32
    and everything else is fitted in float64."""
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt not in _VL_TYPE:
            raise ValueError(f"dtype must be float32, float64 or None, got {dtype!r}")
        return dt
    return np.dtype(native) if np.dtype(native) in _VL_TYPE else np.dtype(np.float64)


class Interrupted(Exception):
    """A pass was abandoned because of Ctrl-C (the model stays valid)."""


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
            a = _numeric(piece, "chunk")
            if a.ndim != 2:
                raise ValueError(f"every chunk must be a 2-D (rows, D) array, got shape {a.shape}")
            self.d, self.native = int(a.shape[1]), a.dtype
            return
        raise ValueError("the chunk source yielded no data")

    def chunks(self, dtype: np.dtype) -> Iterator[np.ndarray]:
        """One pass over the data."""
        for piece in self._pieces():
            a = _numeric(piece, "chunk")
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
    assert source.d is not None
    rng = np.random.default_rng(seed)
    res = np.empty((m, source.d), dtype=dtype)
    n = 0
    for c in source.chunks(dtype):
        rows = c.shape[0]
        fill = min(max(m - n, 0), rows)
        if fill:
            res[n : n + fill] = c[:fill]
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
        n += rows
    return res[: min(m, n)].copy(), n


# ---- a VlGMM owned here (the workers do not import the estimators) -------------------


class _Owned:
    def __init__(self, p: Any, free: Callable[[Any], None]) -> None:
        self.ptr, self._free = p, free

    def close(self) -> None:
        if self.ptr:
            self._free(self.ptr)
            self.ptr = None

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> _Owned:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _c_array(address: int, count: int, dtype: np.dtype) -> np.ndarray:
    buf = (ctypes.c_char * (count * dtype.itemsize)).from_address(address)
    return np.frombuffer(buf, dtype=dtype).copy()


def gmm_snapshot(gptr: Any, dtype: np.dtype, k: int, d: int) -> dict[str, Any]:
    """A VlGMM's E-step state as small numpy arrays (what a worker needs)."""
    bounds = np.ctypeslib.as_array(lib.vl_gmm_get_covariance_lower_bounds(gptr), shape=(d,))
    return {
        "dtype": dtype.str,
        "weights": _c_array(lib.vl_gmm_get_priors(gptr), k, dtype),
        "means": _c_array(lib.vl_gmm_get_means(gptr), k * d, dtype).reshape(k, d),
        "covariances": _c_array(lib.vl_gmm_get_covariances(gptr), k * d, dtype).reshape(k, d),
        "bounds": np.array(bounds, dtype=np.float64),
    }


def _gmm_from_snapshot(p: dict[str, Any]) -> _Owned:
    dtype = np.dtype(p["dtype"])
    k, d = p["means"].shape
    g = _Owned(lib.vl_gmm_new(_VL_TYPE[dtype], d, k), lib.vl_gmm_delete)
    lib.vl_gmm_set_priors(g.ptr, ptr(c_array(p["weights"], dtype=dtype)))
    lib.vl_gmm_set_means(g.ptr, ptr(c_array(p["means"], dtype=dtype)))
    lib.vl_gmm_set_covariances(g.ptr, ptr(c_array(p["covariances"], dtype=dtype)))
    lib.vl_gmm_set_covariance_lower_bounds(g.ptr, _dp(c_array(p["bounds"], dtype=np.float64)))
    return g


def _kmeans_from_centers(centers: np.ndarray) -> _Owned:
    k, d = centers.shape
    km = _Owned(lib.vl_kmeans_new(_VL_TYPE[centers.dtype], 1), lib.vl_kmeans_delete)  # L2
    lib.vl_kmeans_set_centers(km.ptr, ptr(c_array(centers)), d, k)
    return km


def kmeans_centers(kmptr: Any, dtype: np.dtype, k: int, d: int) -> np.ndarray:
    return _c_array(lib.vl_kmeans_get_centers(kmptr), k * d, dtype).reshape(k, d)


class _NumThreads:
    """libgmm threads inside the block (None: leave as is)."""

    def __init__(self, n: int | None) -> None:
        self.n = n

    def __enter__(self) -> None:
        if self.n is not None:
            self.before = int(lib.vl_get_max_threads())
            lib.vl_set_num_threads(int(self.n))

    def __exit__(self, *exc: object) -> None:
        if self.n is not None:
            lib.vl_set_num_threads(self.before)


# ---- the tasks a Dask worker runs (module-level: pickled by reference) ---------------


def _gmm_block_stats(block: Any, p: dict[str, Any]) -> np.ndarray:
    """One block's EM statistics under the frozen parameters ``p``."""
    dtype = np.dtype(p["dtype"])
    with _gmm_from_snapshot(p) as g, _NumThreads(p.get("n_threads")):
        st = np.zeros(int(lib.vl_gmm_stats_size(g.ptr)))
        data = c_array(block, dtype=dtype)
        if data.shape[0]:
            ref = p.get("ref")
            splits = p.get("splits")
            lib.vl_gmm_stats_accumulate(
                g.ptr, _dp(st), ptr(data), data.shape[0],
                None if ref is None else ptr(c_array(ref, dtype=dtype)),
                _dp(splits), 0 if splits is None else splits.shape[0],
            )
    return st


def _kmeans_block_stats(block: Any, p: dict[str, Any]) -> np.ndarray:
    centers = p["centers"]
    with _kmeans_from_centers(centers) as km, _NumThreads(p.get("n_threads")):
        st = np.zeros(int(lib.vl_kmeans_stats_size(km.ptr)))
        data = c_array(block, dtype=centers.dtype)
        if data.shape[0]:
            lib.vl_kmeans_stats_accumulate(km.ptr, _dp(st), ptr(data), data.shape[0])
    return st


def _kmeans_block_labels(block: Any, centers: np.ndarray) -> np.ndarray:
    with _kmeans_from_centers(centers) as km:
        data = c_array(block, dtype=centers.dtype)
        a = np.empty(data.shape[0], dtype=np.uint32)
        if data.shape[0]:
            lib.vl_kmeans_quantize(km.ptr, ptr(a), None, ptr(data), data.shape[0])
    return a.astype(np.int64)


def _gmm_block_labels(block: Any, p: dict[str, Any]) -> np.ndarray:
    with _gmm_from_snapshot(p) as g:
        data = c_array(block, dtype=np.dtype(p["dtype"]))
        lab = np.empty(data.shape[0], dtype=np.uint32)
        if data.shape[0]:
            lib.vl_gmm_estep(g.ptr, ptr(data), data.shape[0], None, None,
                             lab.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)))
    return lab.astype(np.int64)


def _sum_in_order(*parts: np.ndarray) -> np.ndarray:
    acc = np.array(parts[0], dtype=np.float64, copy=True)
    for a in parts[1:]:
        acc += a
    return acc


def _block_sample(block: Any, seed: int, index: int, offset: int, m: int, dtype: str) -> tuple:
    """The m rows of a block with the smallest random keys: (keys, row numbers, rows)."""
    data = np.asarray(block)
    n = data.shape[0]
    keys = np.random.default_rng([int(seed), int(index)]).random(n)
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
    """Passes over a :class:`ChunkSource` in this process."""

    def __init__(self, source: ChunkSource, dtype: np.dtype, stop: Callable[[], bool]) -> None:
        self.source, self.dtype, self.stop = source, dtype, stop

    def _chunks(self) -> Iterator[np.ndarray]:
        for c in self.source.chunks(self.dtype):
            yield c
            if self.stop():
                raise Interrupted

    def gmm_stats(self, frozen: _Owned, k: int, d: int, ref: np.ndarray | None = None,
                  splits: np.ndarray | None = None) -> np.ndarray:
        st = np.zeros(int(lib.vl_gmm_stats_size(frozen.ptr)))
        for c in self._chunks():
            lib.vl_gmm_stats_accumulate(
                frozen.ptr, _dp(st), ptr(c), c.shape[0], ptr(ref), _dp(splits),
                0 if splits is None else splits.shape[0],
            )
        return st

    def kmeans_stats(self, kmptr: Any, k: int, d: int) -> np.ndarray:
        st = np.zeros(int(lib.vl_kmeans_stats_size(kmptr)))
        for c in self._chunks():
            lib.vl_kmeans_stats_accumulate(kmptr, _dp(st), ptr(c), c.shape[0])
        return st

    def sample(self, m: int, seed: int) -> tuple[np.ndarray, int]:
        return reservoir_sample(self.source, m, seed, self.dtype)


class DaskPasses:
    """Passes over a dask array: one task per block, a fixed reduction tree."""

    def __init__(self, X: Any, dtype: np.dtype, n_threads: int | None,
                 fan_in: int | None = None) -> None:
        import dask

        self.dask = dask
        self.X, self.dtype, self.n_threads = X, dtype, n_threads
        self.fan_in = max(2, int(fan_in or TREE_FAN_IN))
        self.blocks = list(X.to_delayed().ravel())
        self.offsets = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)

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

    def stats_graph(self, task: Callable, params: dict[str, Any]) -> Any:
        """The Delayed of one pass: a task per block, then the reduction tree."""
        delayed = self.dask.delayed
        params = dict(params, n_threads=self.n_threads)
        shared = delayed(params, pure=True)  # one key, fetched once per worker
        parts = [delayed(task, pure=True)(b, shared) for b in self.blocks]
        if len(parts) == 1:
            parts = [delayed(_sum_in_order, pure=True)(parts[0])]
        return self._tree(parts, _sum_in_order)

    def _stats(self, task: Callable, params: dict[str, Any]) -> np.ndarray:
        (out,) = self.dask.compute(self.stats_graph(task, params))
        # arrays coming back from workers may sit at odd byte offsets
        return c_array(out, np.float64)

    def gmm_stats(self, frozen: _Owned, k: int, d: int, ref: np.ndarray | None = None,
                  splits: np.ndarray | None = None) -> np.ndarray:
        p = gmm_snapshot(frozen.ptr, self.dtype, k, d)
        p["ref"], p["splits"] = ref, splits
        return self._stats(_gmm_block_stats, p)

    def kmeans_stats(self, kmptr: Any, k: int, d: int) -> np.ndarray:
        return self._stats(_kmeans_block_stats, {"centers": kmeans_centers(kmptr, self.dtype, k, d)})

    def sample(self, m: int, seed: int) -> tuple[np.ndarray, int]:
        delayed = self.dask.delayed
        parts = [
            delayed(_block_sample, pure=True)(b, seed, i, int(self.offsets[i]), m, self.dtype.str)
            for i, b in enumerate(self.blocks)
        ]
        if len(parts) == 1:
            parts = [delayed(_merge_samples, pure=True)(m, parts[0])]
        _, rows, data = self._reduce(parts, _merge_samples, m)
        order = np.argsort(rows, kind="stable")
        return c_array(data[order], dtype=self.dtype), int(self.offsets[-1])


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


# ---- the EM and Lloyd loops -------------------------------------------------------------


class Progress:
    """What the loops report to: the estimator's Monitor and the point count."""

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        self.n = 0

    def report(self, t: int, value: float) -> bool:
        return bool(self.monitor._call(None, t, value))

    def stop(self) -> bool:
        return bool(self.monitor.interrupted)


def _clamp_covariances(gptr: Any, dtype: np.dtype, k: int, d: int) -> None:
    """What vl_gmm_em does first: raise the variances to their lower bounds."""
    covs = _c_array(lib.vl_gmm_get_covariances(gptr), k * d, dtype).reshape(k, d)
    bounds = np.ctypeslib.as_array(lib.vl_gmm_get_covariance_lower_bounds(gptr), shape=(d,)).copy()
    low = covs.astype(np.float64) < bounds[None, :]
    if np.any(low):
        covs[low] = np.broadcast_to(bounds.astype(dtype), covs.shape)[low]
        lib.vl_gmm_set_covariances(gptr, ptr(covs))


def gmm_em(gptr: Any, dtype: np.dtype, k: int, d: int, passes: Any, max_iter: int,
           progress: Progress, min_points: int = 1) -> float:
    """EM from the VlGMM's current parameters, reading data only through
    ``passes``; leaves the result in the VlGMM and returns the last summed
    log-likelihood (that of the returned parameters unless stopped mid-pass).
    Raises :class:`Interrupted` only through ``passes`` (caught here)."""
    _clamp_covariances(gptr, dtype, k, d)
    ll = math.nan
    for t in itertools.count():
        with _Owned(lib.vl_gmm_new_copy(gptr), lib.vl_gmm_delete) as frozen:
            try:
                st = passes.gmm_stats(frozen, k, d)
            except Interrupted:
                break
            n = int(st[-1])
            if t == 0:
                if n < min_points:
                    raise ValueError(
                        f"Expected n_samples >= n_components but got n_components = {k}, "
                        f"n_samples = {n}"
                    )
                progress.n = n
            ll = float(st[-2])
            logger.debug("gmm (chunked): iteration %d: %d points, loglikelihood %.6f", t, n, ll)
            if progress.report(t, ll) or t >= max_iter:
                break
            if t > 1:
                try:
                    st = _restart_empty_modes(gptr, frozen, st, n, dtype, k, d, passes)
                except Interrupted:
                    break
            lib.vl_gmm_mstep_from_stats(gptr, _dp(st), None)
    return ll


def _restart_empty_modes(gptr: Any, frozen: _Owned, st: np.ndarray, n: int,
                         dtype: np.dtype, k: int, d: int, passes: Any) -> np.ndarray:
    """gmm.tc's restart_empty_modes, with passes instead of in-memory replays."""
    if k <= 1:
        return st
    mass = c_array(st[k : 2 * k])
    splits: list[np.ndarray] = []
    start = 0
    while True:
        split = np.zeros(4)
        start = int(lib.vl_gmm_plan_restart(gptr, _dp(mass), n, start, _dp(split)))
        if not start:
            break
        splits.append(split)
        logger.debug("gmm (chunked): restarting empty component %d from %d", split[0], split[1])
        arr = c_array(np.stack(splits))
        ref = _c_array(lib.vl_gmm_get_means(gptr), k * d, dtype).reshape(k, d)
        st = passes.gmm_stats(frozen, k, d, ref=ref, splits=arr)
        lib.vl_gmm_mstep_from_stats(gptr, _dp(st), None)
    if splits:
        ref = _c_array(lib.vl_gmm_get_means(gptr), k * d, dtype).reshape(k, d)
        st = passes.gmm_stats(frozen, k, d, ref=ref, splits=c_array(np.stack(splits)))
    return st


def lloyd(kmptr: Any, dtype: np.dtype, k: int, d: int, passes: Any, max_iter: int, tol: float,
          progress: Progress, min_points: int = 1) -> float:
    """Lloyd from the VlKMeans' centers (refine_lloyd_ann's loop, by statistics);
    returns the energy of the last pass."""
    e_prev, e0, e = math.inf, math.inf, math.nan
    for t in itertools.count():
        try:
            st = passes.kmeans_stats(kmptr, k, d)
        except Interrupted:
            break
        n = int(st[-1])
        if t == 0:
            if n < min_points:
                raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
            progress.n = n
        e = float(st[k * (d + 1)])
        if progress.report(t, e) or t >= max_iter or e == e_prev:
            break
        if t == 0:
            e0 = e
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                var = np.float64(e_prev - e) / np.float64(e0 - e)
            if var < tol:
                break
        e_prev = e
        lib.vl_kmeans_update_from_stats(kmptr, _dp(st))
    return e


# ---- the estimators' chunked fits ------------------------------------------------------


def _open(X: Any, chunk_size: int | None, dtype_param: Any, n_threads: int | None,
          stop: Callable[[], bool]) -> tuple[Any, int, np.dtype, int | None]:
    """(passes, D, working dtype, N if known)."""
    if is_dask_array(X):
        X = dask_source(X, chunk_size)
        dtype = work_dtype(X.dtype, dtype_param)
        return DaskPasses(X, dtype, n_threads), int(X.shape[1]), dtype, int(X.shape[0])
    source = ChunkSource(X, chunk_size)
    assert source.d is not None and source.native is not None
    dtype = work_dtype(source.native, dtype_param)
    return LocalPasses(source, dtype, stop), source.d, dtype, None


def _seeds(random_state: Any, count: int) -> tuple[list[int], int]:
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    seeds = [int(rng.randint(_INT32_MAX)) for _ in range(count)]
    return seeds, int(rng.randint(_INT32_MAX))


def fit_gaussian_mixture(est: Any, X: Any) -> Any:
    """GaussianMixture.fit on a chunk source or a dask array (see the module doc)."""
    from . import estimators as E
    from ._progress import Monitor

    chunk_size = check_optional_int(est.chunk_size, "chunk_size")
    sample_size = check_optional_int(est.init_sample_size, "init_sample_size")
    k = E._check_positive_int(est.n_components, "n_components")
    monitor = Monitor("gmm", 0, est.verbose)
    progress = Progress(monitor)
    passes, d, dtype, n_known = _open(X, chunk_size, est.dtype, est.n_threads, progress.stop)
    est._validate_params(d)
    if n_known is not None and n_known < k:
        raise ValueError(
            f"Expected n_samples >= n_components but got n_components = {k}, n_samples = {n_known}"
        )
    user = est._user_init(k, d, dtype)
    warm = est.warm_start and hasattr(est, "means_")
    n_init = 1 if warm else int(est.n_init)
    seeds, sample_seed = _seeds(est.random_state, n_init)
    need_sample = not warm and len(user) < 3

    gmm = E._Gmm(dtype, d, k)
    lib.vl_gmm_set_store_posteriors(gmm.ptr, 0)  # the initialisation needs no N x K either
    bound = np.asarray(est.covariance_lower_bound, dtype=np.float64)
    if bound.ndim == 0:
        lib.vl_gmm_set_covariance_lower_bound(gmm.ptr, float(bound))
    else:
        lib.vl_gmm_set_covariance_lower_bounds(gmm.ptr, _dp(c_array(bound)))
    tol = float(est.tol)
    monitor.total = int(est.max_iter)
    monitor.converged_test = lambda a, b: abs(b - a) / progress.n < tol

    best = None
    interrupted = False
    with E._threads(est.n_threads), monitor.catching_sigint():
        sample = np.empty((0, d), dtype=dtype)
        if need_sample:
            m = sample_size or default_init_sample_size(k)
            try:
                sample, n = passes.sample(m, sample_seed)
            except Interrupted:
                raise KeyboardInterrupt from None
            if n < k:
                raise ValueError(
                    f"Expected n_samples >= n_components but got n_components = {k}, n_samples = {n}"
                )
            logger.info("GaussianMixture: initialising on a sample of %d of %d rows", len(sample), n)
        for trial in range(n_init):
            with E._seeded(seeds[trial]):
                if need_sample or warm:
                    est._initialize(gmm, sample, k, d, user, warm, dtype)
                else:
                    gmm.set_params(user["weights_init"], user["means_init"],
                                   1.0 / user["precisions_init"])
            monitor.start(f"GaussianMixture init {trial + 1}/{n_init}")
            try:
                ll = gmm_em(gmm.ptr, dtype, k, d, passes, int(est.max_iter), progress, k)
            finally:
                monitor.close()
            values = list(monitor.values)
            result = (ll, gmm.params(), monitor.converged, max(len(values) - 1, 0), values)
            if best is None or ll > best[0] or (math.isnan(best[0]) and not math.isnan(ll)):
                best = result
            if monitor.interrupted:
                interrupted = True
                break
    est.n_features_in_ = d
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    est._adopt(best, progress.n, interrupted)
    return est


def predict_gaussian_mixture(est: Any, X: Any) -> Any:
    """Labels of a chunk source (numpy, chunk after chunk) or of a dask array (lazy)."""
    dtype = est.means_.dtype
    if is_dask_array(X):
        X = dask_source(X, check_optional_int(est.chunk_size, "chunk_size"))
        g = est._fitted_gmm()
        p = gmm_snapshot(g.ptr, dtype, g.k, g.d)
        return X.map_blocks(_gmm_block_labels, p=p, drop_axis=1, dtype=np.int64)
    source = ChunkSource(X, check_optional_int(est.chunk_size, "chunk_size"))
    out = [est.predict(c) for c in source.chunks(dtype)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def fit_kmeans(est: Any, X: Any) -> Any:
    """KMeans.fit on a chunk source or a dask array: Lloyd by statistics."""
    from . import estimators as E
    from ._progress import Monitor

    chunk_size = check_optional_int(est.chunk_size, "chunk_size")
    sample_size = check_optional_int(est.init_sample_size, "init_sample_size")
    k = E._check_positive_int(est.n_clusters, "n_clusters")
    max_iter = E._check_positive_int(est.max_iter, "max_iter", 0)
    n_init = E._check_positive_int(est.n_init, "n_init")
    if est.algorithm not in est._ALGORITHMS:
        raise ValueError(f"algorithm must be 'lloyd', 'elkan' or 'ann', got {est.algorithm!r}")
    if est.algorithm == "ann":
        warnings.warn("chunked/Dask k-means runs exact Lloyd iterations (algorithm='ann' ignored)",
                      UserWarning, stacklevel=3)
    if not (isinstance(est.tol, (int, float, np.integer, np.floating)) and est.tol >= 0):
        raise ValueError(f"tol must be a float >= 0, got {est.tol!r}")
    monitor = Monitor("kmeans", max_iter, est.verbose)
    progress = Progress(monitor)
    passes, d, dtype, n_known = _open(X, chunk_size, est.dtype, est.n_threads, progress.stop)
    if n_known is not None and n_known < k:
        raise ValueError(f"n_samples={n_known} should be >= n_clusters={k}.")
    centers_init = None
    if isinstance(est.init, str):
        if est.init not in ("k-means++", "random"):
            raise ValueError(f"init must be 'k-means++', 'random' or an array, got {est.init!r}")
    else:
        centers_init = np.asarray(est.init, dtype=np.float64)
        if centers_init.shape != (k, d) or not np.all(np.isfinite(centers_init)):
            raise ValueError(
                f"init array must be finite with shape ({k}, {d}), got {centers_init.shape}"
            )
        n_init = 1
    (seed,), sample_seed = _seeds(est.random_state, 1)

    km = _Owned(lib.vl_kmeans_new(_VL_TYPE[dtype], 1), lib.vl_kmeans_delete)
    best = None
    monitor.start("KMeans")
    try:
        with E._threads(est.n_threads), monitor.catching_sigint():
            if centers_init is None:
                m = sample_size or default_init_sample_size(k)
                try:
                    sample, n = passes.sample(m, sample_seed)
                except Interrupted:
                    raise KeyboardInterrupt from None
                if n < k:
                    raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
                sample = c_array(sample)
            with E._seeded(seed):
                for _ in range(n_init):
                    if centers_init is None:
                        init = (lib.vl_kmeans_init_centers_plus_plus if est.init == "k-means++"
                                else lib.vl_kmeans_init_centers_with_rand_data)
                        init(km.ptr, ptr(sample), d, sample.shape[0], k)
                    else:
                        c0 = c_array(centers_init, dtype=dtype)
                        lib.vl_kmeans_set_centers(km.ptr, ptr(c0), d, k)
                    e = lloyd(km.ptr, dtype, k, d, passes, max_iter, float(est.tol), progress, k)
                    if best is None or e < best[0]:
                        best = (e, kmeans_centers(km.ptr, dtype, k, d))
                    if monitor.interrupted:
                        break
    finally:
        monitor.close()
    energy, centers = best
    est.cluster_centers_ = centers
    est.n_iter_ = max(len(monitor.values) - 1, 1 if max_iter > 0 else 0)
    est.n_features_in_ = d
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    if isinstance(passes, DaskPasses):
        est.labels_ = passes.X.map_blocks(_kmeans_block_labels, centers=centers, drop_axis=1,
                                          dtype=np.int64)
        est.inertia_ = float(energy)
    else:
        lib.vl_kmeans_set_centers(km.ptr, ptr(centers), d, k)
        labels, inertia = [], 0.0
        for c in passes.source.chunks(dtype):
            a = np.empty(c.shape[0], dtype=np.uint32)
            dist = np.empty(c.shape[0], dtype=dtype)
            with E._threads(est.n_threads):
                lib.vl_kmeans_quantize(km.ptr, ptr(a), ptr(dist), ptr(c), c.shape[0])
            labels.append(a.astype(np.int64))
            inertia += float(np.sum(dist, dtype=np.float64))
        est.labels_ = np.concatenate(labels)
        est.inertia_ = inertia
    km.close()
    if monitor.interrupted:
        raise KeyboardInterrupt
    return est
