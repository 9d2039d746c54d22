"""Training k-means: the one driver behind ``pyvl.KMeans`` (in memory, out of core,
on Dask) and the encoders' k-means codebooks.

Data in memory runs libgmm's ``vl_kmeans_cluster`` (Lloyd, Elkan or ANN, with
its ``num_repetitions`` seeded from one generator stream, as VLFeat's
repetitions) or, from given centers, ``vl_kmeans_refine_centers``. Chunked
data runs :func:`lloyd_by_passes`: Lloyd's iterations by sufficient
statistics (per-center counts, coordinate sums and energy, one pass each),
with in-memory Lloyd's convergence tests (energy unchanged, relative energy
variation below ``tol``, iteration limit). Unlike in-memory Lloyd, **a center
that receives no point keeps its place** (in-memory Lloyd restarts it at a
random point, which needs random access to the data). Seeding runs in memory
on a sample (``pyvl/_training/data.py``).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from .._core.arrays import c_array
from .._core.enums import KMeansAlgorithm, KMeansInit
from .._core.errors import TrainingInterrupted
from .._core.objects import KMeans
from .._core.rand import Rand, seeded
from .._core.runtime import num_threads
from .data import DaskPasses, InMemory, Interrupted, LocalPasses, default_init_sample_size
from .params import KMeansParams, check_centers, draw_seed, random_state
from .progress import Monitor

Source = Union[InMemory, LocalPasses, DaskPasses]

ALGORITHMS = {"lloyd": KMeansAlgorithm.LLOYD, "elkan": KMeansAlgorithm.ELKAN,
              "ann": KMeansAlgorithm.ANN}


@dataclass
class KMeansFit:
    """The kept run: centers (K, D) of the working dtype, its energy (the inertia
    of the last pass for chunked data), the iteration count, and whether Ctrl-C
    stopped it."""

    centers: np.ndarray
    energy: float
    n_iter: int
    interrupted: bool


def fit(p: KMeansParams, source: Source) -> KMeansFit:
    """k-means on ``source`` (see the module doc)."""
    k, d, dtype = p.n_clusters, source.d, source.dtype
    rng = random_state(p.random_state)
    seed = draw_seed(rng)
    sample_seed = 0
    if not isinstance(source, InMemory):
        sample_seed = draw_seed(rng)
        if p.algorithm == "ann":
            warnings.warn("chunked/Dask k-means runs exact Lloyd iterations "
                          "(algorithm='ann' ignored)", UserWarning, stacklevel=3)
    given = None if isinstance(p.init, str) or callable(p.init) else [c_array(p.init, dtype=dtype)]
    monitor = Monitor("kmeans", p.max_iter, p.verbose)
    with KMeans.of_dtype(dtype) as km:
        monitor.start("KMeans")
        try:
            with num_threads(p.n_threads), monitor.catching_sigint():
                if isinstance(source, InMemory):
                    energy = _in_memory(km, source.X, p, given, monitor, seed, rng)
                else:
                    source.stop = lambda: monitor.interrupted
                    energy, centers = _by_passes(km, source, p, given, monitor, seed, sample_seed,
                                                 rng)
                    km.set_centers(centers, d, k)
        finally:
            monitor.close()
            km.set_iteration_callback(None)
        centers = km.centers_2d()
    n_iter = max(len(monitor.values) - 1, 1 if p.max_iter > 0 else 0)
    return KMeansFit(centers, energy, n_iter, monitor.interrupted)


def called_init(p: KMeansParams, X: np.ndarray, rng: np.random.RandomState) -> list[np.ndarray]:
    """``n_init`` starts from a callable ``init(X, n_clusters, random_state)``, checked."""
    starts = []
    for _ in range(p.n_init):
        c = check_centers(p.init(X, p.n_clusters, rng), p.n_clusters, X.shape[1])
        starts.append(c_array(c, dtype=X.dtype))
    return starts


def _refine_starts(km: KMeans, X: Any, starts: list[np.ndarray], refine: Any) -> float:
    """Refine from every start; leaves the best (lowest energy) centers in ``km``."""
    best: tuple[float, np.ndarray] | None = None
    for c in starts:
        km.set_centers(c, c.shape[1], c.shape[0])
        e = refine()
        if best is None or e < best[0]:
            best = (e, km.centers_2d())
    assert best is not None
    km.set_centers(best[1], best[1].shape[1], best[1].shape[0])
    return best[0]


def _in_memory(km: KMeans, X: np.ndarray, p: KMeansParams, given: list[np.ndarray] | None,
               monitor: Monitor, seed: int, rng: np.random.RandomState) -> float:
    k, d = p.n_clusters, X.shape[1]
    km.algorithm = ALGORITHMS[p.algorithm]
    km.initialization = (KMeansInit.PLUS_PLUS if isinstance(p.init, str) and p.init == "k-means++"
                         else KMeansInit.RANDOM_SELECTION)
    km.max_num_iterations = p.max_iter
    km.min_energy_variation = p.tol
    km.num_repetitions = 1 if given is not None or callable(p.init) else p.n_init
    km.set_iteration_callback(monitor)
    with seeded(seed):
        try:
            if given is None and not callable(p.init):
                return km.cluster(X, d, None, k)
            starts = given if given is not None else called_init(p, X, rng)
            return _refine_starts(km, X, starts, lambda: km.refine_centers(X))
        except TrainingInterrupted:  # Ctrl-C: the centers are valid
            return km.energy


def _by_passes(km: KMeans, source: LocalPasses | DaskPasses, p: KMeansParams,
               given: list[np.ndarray] | None, monitor: Monitor, seed: int,
               sample_seed: int, rng: np.random.RandomState) -> tuple[float, np.ndarray]:
    k, d = p.n_clusters, source.d
    if given is None:
        m = p.init_sample_size or default_init_sample_size(k)
        try:
            sample, n = source.sample(m, sample_seed)
        except Interrupted:
            raise KeyboardInterrupt from None
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        sample = c_array(sample)
        if callable(p.init):
            given = called_init(p, sample, rng)
    n_init = len(given) if given is not None else p.n_init
    best: tuple[float, np.ndarray] | None = None
    with seeded(seed):
        for trial in range(n_init):
            if given is None:
                if isinstance(p.init, str) and p.init == "k-means++":
                    km.init_centers_plus_plus(sample, d, None, k)
                else:
                    km.init_centers_with_rand_data(sample, d, None, k)
            else:
                km.set_centers(given[trial], d, k)
            e = lloyd_by_passes(km, source, p.max_iter, p.tol, monitor, k)
            if best is None or e < best[0]:
                best = (e, km.centers_2d())
            if monitor.interrupted:
                break
    assert best is not None
    return best


def lloyd_by_passes(km: KMeans, passes: LocalPasses | DaskPasses, max_iter: int, tol: float,
                    monitor: Monitor, min_points: int = 1) -> float:
    """Lloyd from the k-means object's centers (refine_lloyd's loop, by statistics);
    returns the energy of the last pass."""
    k, d = km.num_centers, km.dimension
    e_prev, e0, e = math.inf, math.inf, math.nan
    for t in itertools.count():
        try:
            st = passes.kmeans_stats(km)
        except Interrupted:
            break
        n = int(st[-1])
        if t == 0:
            if n < min_points:
                raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
            monitor.n = n
        e = float(st[k * (d + 1)])
        if monitor.report(t, e) or t >= max_iter or e == e_prev:
            break
        if t == 0:
            e0 = e
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                var = np.float64(e_prev - e) / np.float64(e0 - e)
            if var < tol:
                break
        e_prev = e
        km.update_from_stats(st)
    return e


def assign(centers: np.ndarray, X: np.ndarray, n_threads: int | None = None,
           distances: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Nearest center (squared L2, first minimum wins) of every row of X (of the
    centers' dtype): ``(labels uint32, squared distances or None)``."""
    with KMeans.with_centers(centers) as km, num_threads(n_threads):
        return km.quantize(X, distances=distances)


# ---- VLFeat's vl_kmeans_cluster (the encoders' codebooks) -------------------------------


def cluster_vlfeat(data: np.ndarray, n_clusters: int, *, algorithm: Any, max_num_iterations: int,
                   num_repetitions: int, random_state: int | None,
                   verbose: int = 0) -> np.ndarray:
    """VLFeat's ``vl_kmeans_cluster`` (squared L2, k-means++ seeding) on ``data``
    (N, D): centers (K, D) in the data's dtype. ``random_state`` seeds the
    calling thread's libgmm generator."""
    n, d = data.shape
    if n < n_clusters:
        raise ValueError(f"fit needs at least n_clusters = {n_clusters} descriptors, got {n}")
    with KMeans.of_dtype(data.dtype) as km:
        km.algorithm = algorithm
        km.initialization = KMeansInit.PLUS_PLUS
        km.max_num_iterations = max_num_iterations
        km.num_repetitions = num_repetitions
        if random_state is not None:
            Rand.default().seed(random_state)
        monitor = Monitor("kmeans", max_num_iterations, verbose)
        monitor.n = n
        km.set_iteration_callback(monitor)
        monitor.start(f"k-means codebook, {num_repetitions} repetition(s)")
        try:
            km.cluster(data, d, n, n_clusters)
        finally:
            monitor.close()
            km.set_iteration_callback(None)
        return km.centers_2d()
