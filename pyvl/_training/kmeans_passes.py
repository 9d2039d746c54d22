"""The passes scikit-learn's k-means loop needs besides the statistics, for data
read in chunks or on Dask (``pyvl/_training/data.py`` has the passes
themselves):

* :func:`mean_variance`: the mean over features of the data's variance
  (population variance, every row counting once whatever its weight), the
  scale of ``tol``, as scikit-learn computes it; one pass, per-chunk means
  and sums of squared deviations in float64 merged in chunk order (Chan et
  al.'s pairwise update);
* :func:`farthest`: the m rows farthest from their nearest center (largest
  squared distance first, ties to the lower row number), with their
  coordinates, weights and labels: the points that empty clusters take
  (libgmm's relocation, ``vl/libgmm/kmeans.h``). One pass, only in the
  iterations where a cluster is empty.

The order of the results depends only on the data, so they do not depend on
the chunking (up to the rounding of the variance's merge) or on the number
of Dask workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.arrays import c_array
from .._core.objects import KMeans
from .._core.runtime import num_threads
from .data import DaskPasses, LocalPasses

# ---- the variance ------------------------------------------------------------------------


def _moments(block: Any) -> tuple[int, np.ndarray, np.ndarray]:
    """(rows, mean, sum of squared deviations) of a block, per feature, float64."""
    x = np.asarray(block, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return 0, np.zeros(x.shape[1]), np.zeros(x.shape[1])
    mean = x.mean(axis=0)
    z = x - mean
    return n, mean, np.einsum("ij,ij->j", z, z)


def _merge_moments(*parts: tuple[int, np.ndarray, np.ndarray]) -> tuple[int, np.ndarray, np.ndarray]:
    """Moments of consecutive blocks merged in order."""
    n, mean, m2 = parts[0]
    mean, m2 = np.array(mean, dtype=np.float64), np.array(m2, dtype=np.float64)
    for nb, mb, sb in parts[1:]:
        if nb == 0:
            continue
        total = n + nb
        delta = mb - mean
        mean = mean + delta * (nb / total)
        m2 = m2 + sb + delta * delta * (n * nb / total)
        n = total
    return n, mean, m2


def mean_variance(passes: LocalPasses | DaskPasses) -> float:
    """The mean over features of the variance of the rows (one pass)."""
    if isinstance(passes, DaskPasses):
        delayed = passes.dask.delayed
        parts = [delayed(_moments, pure=True)(b) for b in passes.blocks]
        if len(parts) == 1:
            parts = [delayed(_merge_moments, pure=True)(parts[0])]
        n, _, m2 = passes._reduce(parts, _merge_moments)
    else:
        n, _, m2 = _local_moments(passes)
    return float(np.mean(m2 / n)) if n else 0.0


def _local_moments(passes: LocalPasses) -> tuple[int, np.ndarray, np.ndarray]:
    acc: tuple[int, np.ndarray, np.ndarray] | None = None
    for c, _ in passes.weighted_chunks():
        part = _moments(c)
        acc = part if acc is None else _merge_moments(acc, part)
    assert acc is not None
    return acc


# ---- the farthest points -----------------------------------------------------------------


@dataclass
class Farthest:
    """Rows farthest from their nearest center, farthest first: squared distance
    (float64), row number, coordinates (m, D) of the working dtype, weight
    (float64; 1 without weights), label (nearest center)."""

    dist: np.ndarray
    rows: np.ndarray
    points: np.ndarray
    weights: np.ndarray
    labels: np.ndarray


def _top(m: int, dist: np.ndarray, rows: np.ndarray, points: np.ndarray, weights: np.ndarray,
         labels: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.lexsort((rows, -dist))[:m]
    return dist[order], rows[order], points[order], weights[order], labels[order]


def _block_far(block: Any, p: dict[str, Any], offset: int, weights: Any = None) -> tuple:
    """A block's m farthest rows under the centers ``p["centers"]``."""
    centers = p["centers"]
    data = c_array(block, dtype=centers.dtype)
    n = data.shape[0]
    if n == 0:
        return _empty_far(centers)
    with KMeans.with_centers(centers) as km, num_threads(p.get("n_threads")):
        a, dist = km.quantize(data)
    assert dist is not None
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=centers.dtype).astype(np.float64)
    return _top(p["m"], dist.astype(np.float64), offset + np.arange(n, dtype=np.int64), data, w,
                a.astype(np.int64))


def _empty_far(centers: np.ndarray) -> tuple:
    d = centers.shape[1]
    return (np.zeros(0), np.zeros(0, np.int64), np.zeros((0, d), centers.dtype), np.zeros(0),
            np.zeros(0, np.int64))


def _merge_far(m: int, *parts: tuple) -> tuple:
    return _top(m, *(np.concatenate([p[i] for p in parts]) for i in range(5)))


def farthest(passes: LocalPasses | DaskPasses, km: KMeans, m: int) -> Farthest:
    """The m rows farthest from their nearest center of ``km`` (one pass)."""
    centers = km.centers_2d()
    p = {"centers": centers, "m": m}
    if isinstance(passes, DaskPasses):
        delayed = passes.dask.delayed
        shared = delayed(dict(p, n_threads=passes.n_threads), pure=True)
        wblocks = passes.wblocks or [None] * len(passes.blocks)
        parts = [delayed(_block_far, pure=True)(b, shared, int(passes.offsets[i]), wblocks[i])
                 for i, b in enumerate(passes.blocks)]
        if len(parts) == 1:
            parts = [delayed(_merge_far, pure=True)(m, parts[0])]
        out = passes._reduce(parts, _merge_far, m)
    else:
        out = _empty_far(centers)
        off = 0
        for c, w in passes.weighted_chunks():
            out = _merge_far(m, out, _block_far(c, p, off, w))
            off += c.shape[0]
    dist, rows, points, weights, labels = out
    return Farthest(np.asarray(dist), np.asarray(rows), c_array(points, dtype=centers.dtype),
                    np.asarray(weights, dtype=np.float64), np.asarray(labels))
