"""Training k-means: the one driver behind ``pyvl.KMeans`` (in memory, out of core,
on Dask) and the encoders' k-means codebooks.

``pyvl.KMeans`` runs scikit-learn's loop (libgmm's ``VlKMeansStopSklearn``,
``vl/libgmm/kmeans.h``): iteration t assigns every point to its nearest
center and moves every center to the weighted mean of its points, empty
clusters taking the points farthest from their centers; the loop stops at
strict convergence (no label changed), when the total squared center shift
is within ``tol`` times the mean feature variance of the data, or after
``max_iter`` iterations; unless strictly converged, a last assignment gives
the labels and the inertia. ``n_iter`` counts the center updates. For
``n_init`` starts (seeded with the sample weights, from one generator stream)
the run of lowest inertia is kept (a run whose labels are the kept run's up
to a permutation does not replace it, as in scikit-learn).

Data in memory runs ``vl_kmeans_refine_centers_with_assignments`` (Lloyd,
Elkan or ANN) from every start. Chunked data runs :func:`lloyd_by_passes`:
the same loop by sufficient statistics (per-center weights, weighted
coordinate sums and energy, one pass per iteration), with a pass for the
variance (when ``tol`` > 0) and, in the iterations where a cluster is
empty, a pass for the farthest points (``pyvl/_training/kmeans_passes.py``).
Strict convergence there is a center shift of exactly 0: identical labels
give bitwise identical sums, and so identical centers. Seeding runs in
memory on a sample (``pyvl/_training/data.py``) with its rows' weights.

The encoders' codebooks (:func:`cluster_vlfeat`) keep VLFeat's loop.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from .._core.arrays import c_array
from .._core.enums import KMeansAlgorithm, KMeansInit, KMeansStoppingRule, KMeansStopReason
from .._core.errors import TrainingInterrupted
from .._core.objects import KMeans
from .._core.rand import Rand, seeded
from .._core.runtime import num_threads
from .data import DaskPasses, InMemory, Interrupted, LocalPasses, default_init_sample_size
from .kmeans_passes import farthest, mean_variance
from .params import KMeansParams, check_centers, draw_seed, random_state
from .progress import Monitor

Source = Union[InMemory, LocalPasses, DaskPasses]

ALGORITHMS = {"lloyd": KMeansAlgorithm.LLOYD, "elkan": KMeansAlgorithm.ELKAN,
              "ann": KMeansAlgorithm.ANN}


@dataclass
class KMeansFit:
    """The kept run: centers (K, D) of the working dtype, its inertia (the
    weighted energy of its final labels under its centers), the iterations
    (center updates), whether Ctrl-C stopped it, and its labels (uint32 (N,),
    data in memory only)."""

    centers: np.ndarray
    energy: float
    n_iter: int
    interrupted: bool
    labels: np.ndarray | None = None


@dataclass
class PassesRun:
    """What :func:`lloyd_by_passes` did: the energy of the last pass, the
    iterations, why it stopped (``KMeansStopReason``), the last total squared
    center shift, and the statistics of the last pass (those of the final
    labels)."""

    energy: float
    n_iter: int
    reason: KMeansStopReason
    shift: float
    stats: np.ndarray


def fit(p: KMeansParams, source: Source) -> KMeansFit:
    """k-means on ``source`` (see the module doc)."""
    dtype = source.dtype
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
    if p.verbose:  # scikit-learn's lines on stdout, besides the progress bar
        end = "" if p.algorithm == "elkan" and isinstance(source, InMemory) else "."
        monitor.line = lambda it, value: f"Iteration {it}, inertia {value}{end}"
    with KMeans.of_dtype(dtype) as km:
        km.algorithm = ALGORITHMS[p.algorithm]
        km.stopping_rule = KMeansStoppingRule.SKLEARN
        km.center_shift_tolerance = p.tol
        km.max_num_iterations = p.max_iter
        try:
            with num_threads(p.n_threads), monitor.catching_sigint():
                if isinstance(source, InMemory):
                    km.set_iteration_callback(monitor)
                    best = _in_memory(km, source, p, given, monitor, seed, rng)
                else:
                    source.stop = lambda: monitor.interrupted
                    best = _by_passes(km, source, p, given, monitor, seed, sample_seed, rng)
        finally:
            monitor.close()
            km.set_iteration_callback(None)
    assert best is not None
    best.interrupted = monitor.interrupted
    return best


def called_init(p: KMeansParams, X: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """One start from a callable ``init(X, n_clusters, random_state)``, checked."""
    c = check_centers(p.init(X, p.n_clusters, rng), p.n_clusters, X.shape[1])
    return c_array(c, dtype=X.dtype)


def _seed(km: KMeans, p: KMeansParams, X: np.ndarray, weights: np.ndarray | None,
          given: list[np.ndarray] | None, rng: np.random.RandomState) -> None:
    """The start of one run: given centers, a callable's, or seeding (weighted)
    with libgmm's generator."""
    k, d = p.n_clusters, X.shape[1]
    if given is not None:
        km.set_centers(given[0], d, k)
    elif callable(p.init):
        km.set_centers(called_init(p, X, rng), d, k)
    elif p.init == "k-means++":
        km.init_centers_plus_plus(X, d, None, k, weights=weights)
    else:
        km.init_centers_with_rand_data(X, d, None, k, weights=weights)
    if p.verbose:
        print("Initialization complete")


def _print_stop(reason: KMeansStopReason, n_iter: int, shift: float, threshold: float) -> None:
    """scikit-learn's line when a run converged."""
    if reason == KMeansStopReason.NO_CHANGE:
        print(f"Converged at iteration {n_iter - 1}: strict convergence.")
    elif reason == KMeansStopReason.CENTER_SHIFT:
        print(f"Converged at iteration {n_iter - 1}: center shift {shift} within tolerance "
              f"{threshold}.")


def same_clustering(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labelings are the same up to a permutation of the labels."""
    if a.shape != b.shape:
        return False
    pairs = np.unique(np.stack([a.astype(np.int64), b.astype(np.int64)]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def same_clustering_stats(a: np.ndarray, b: np.ndarray, k: int) -> bool:
    """:func:`same_clustering` for data read by passes, from the statistics of
    the two labelings: the same clusters up to a permutation have the same
    weights and coordinate sums, bit for bit (each sums the same points in the
    same order)."""
    def rows(st: np.ndarray) -> np.ndarray:
        r = np.column_stack([st[:k], st[k : -2].reshape(k, -1)])
        return r[np.lexsort(r.T[::-1])]
    return bool(np.array_equal(rows(a), rows(b)))


def _in_memory(km: KMeans, source: InMemory, p: KMeansParams, given: list[np.ndarray] | None,
               monitor: Monitor, seed: int, rng: np.random.RandomState) -> KMeansFit:
    X, w = source.X, source.weights
    best: KMeansFit | None = None
    with seeded(seed):
        for trial in range(p.n_init):
            _seed(km, p, X, w, given, rng)
            monitor.start("KMeans" if p.n_init == 1 else f"KMeans, init {trial + 1}/{p.n_init}")
            monitor.n = source.n
            labels = np.zeros(source.n, dtype=np.uint32)
            try:
                energy, _ = km.refine_centers_with_assignments(X, weights=w, assignments=labels)
            except TrainingInterrupted:  # Ctrl-C: the centers and labels are valid
                energy = km.energy
            if p.verbose:
                _print_stop(km.stop_reason, km.num_iterations, km.center_shift,
                            km.center_shift_threshold)
            if best is None or (energy < best.energy and best.labels is not None
                                and not same_clustering(labels, best.labels)):
                best = KMeansFit(km.centers_2d(), energy, km.num_iterations, False, labels)
            if monitor.interrupted:
                break
    assert best is not None
    return best


def _by_passes(km: KMeans, source: LocalPasses | DaskPasses, p: KMeansParams,
               given: list[np.ndarray] | None, monitor: Monitor, seed: int,
               sample_seed: int, rng: np.random.RandomState) -> KMeansFit:
    k, d = p.n_clusters, source.d
    sample, w = np.empty((0, d), dtype=source.dtype), None
    if given is None:
        m = p.init_sample_size or default_init_sample_size(k)
        try:
            sample, n, w = source.sample_weighted(m, sample_seed)
        except Interrupted:
            raise KeyboardInterrupt from None
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        sample = c_array(sample)
    try:
        threshold = p.tol * mean_variance(source) if p.tol > 0 else 0.0
    except Interrupted:
        raise KeyboardInterrupt from None
    best: KMeansFit | None = None
    best_stats = np.zeros(0)
    with seeded(seed):
        for trial in range(p.n_init):
            _seed(km, p, sample, w, given, rng)
            monitor.start("KMeans" if p.n_init == 1 else f"KMeans, init {trial + 1}/{p.n_init}")
            run = lloyd_by_passes(km, source, p.max_iter, threshold, monitor, k)
            if p.verbose:
                _print_stop(run.reason, run.n_iter, run.shift, threshold)
            if best is None or (run.energy < best.energy
                                and not same_clustering_stats(run.stats, best_stats, k)):
                best = KMeansFit(km.centers_2d(), run.energy, run.n_iter, False)
                best_stats = run.stats
            if monitor.interrupted:
                break
    assert best is not None
    return best


def lloyd_by_passes(km: KMeans, passes: LocalPasses | DaskPasses, max_iter: int,
                    threshold: float, monitor: Monitor, min_points: int = 1) -> PassesRun:
    """scikit-learn's loop (see the module doc) from the k-means object's centers,
    by statistics; ``threshold`` is the absolute one (``tol`` times the mean
    variance). Leaves the final centers in ``km``; the energy returned is that
    of the final centers, unless Ctrl-C stopped a pass (then that of the last
    complete pass)."""
    k, d = km.num_centers, km.dimension
    t, reason, shift, converged = 0, KMeansStopReason.MAX_ITERATIONS, 0.0, False
    energy = math.nan
    st = km.new_stats()
    try:
        st = passes.kmeans_stats(km)
        n = int(st[-1])
        if n < min_points:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        monitor.n = n
        while True:
            energy = float(st[k * (d + 1)])
            if converged or t >= max_iter:
                break
            if monitor.report(t, energy):
                reason = KMeansStopReason.CALLBACK
                break
            old = km.centers_2d()
            _update(km, passes, st, k, d)
            new = km.centers_2d()
            shift = float(np.sum((new.astype(np.float64) - old.astype(np.float64)) ** 2))
            t += 1
            if shift == 0 and t > 1:  # the labels did not change
                reason = KMeansStopReason.NO_CHANGE
                break
            if shift <= threshold:
                converged, reason = True, KMeansStopReason.CENTER_SHIFT
                if shift == 0:  # the same centers: the same statistics
                    continue
            st = passes.kmeans_stats(km)
    except Interrupted:
        reason = KMeansStopReason.CALLBACK
    return PassesRun(energy, t, reason, shift, st)


def _update(km: KMeans, passes: LocalPasses | DaskPasses, st: np.ndarray, k: int, d: int) -> None:
    """The centers from the statistics ``st`` of the current ones: the empty
    clusters first take the points farthest from their centers (one more pass),
    then every center with weight moves to its mean and those still without go
    to the heaviest cluster's (as libgmm's update)."""
    mass = st[:k]
    empty = np.flatnonzero(mass == 0)
    if empty.size:
        far = farthest(passes, km, int(empty.size))
        if far.dist.size and far.dist[0] > 0:
            st = st.copy()
            mass, sums = st[:k], st[k : k * (d + 1)].reshape(k, d)
            for j, target in enumerate(empty):
                wx = far.weights[j] * far.points[j].astype(np.float64)
                sums[far.labels[j]] -= wx
                sums[target] = wx
                mass[far.labels[j]] -= far.weights[j]
                mass[target] = far.weights[j]
    km.update_from_stats(st)
    if np.any(~(mass > 0)):
        centers = km.centers_2d()
        centers[~(mass > 0)] = centers[int(np.argmax(mass))]
        km.set_centers(centers, d, k)


def labels_inertia(centers: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None,
                   n_threads: int | None = None) -> tuple[np.ndarray, float]:
    """Nearest center (squared L2, first minimum wins) of every row of X (of the
    centers' dtype) and the inertia, the sum of weight x squared distance in
    float64: ``(labels uint32 (N,), inertia)``."""
    with KMeans.with_centers(centers) as km, num_threads(n_threads):
        a, _, e = km.quantize_energy(X, weights=weights, distances=False)
    assert a is not None
    return a, e


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
