"""Weighted k-means at the object layer (``pyvl._core.objects.KMeans`` with ``weights``).

Truths: a NumPy reference of weighted Lloyd (weighted means, weighted medians
for L1) from the same initial centers; the sampling distributions of weighted
k-means++ and weighted random selection (chi-square against the exact
probabilities, and against the wrong ones); repeated and removed points; unit
weights against no weights; NumPy sums for the energy and the statistics.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mixture_data
from scipy import stats as scipy_stats

from pyvl import InvalidArgumentError
from pyvl._core.enums import Distance, KMeansAlgorithm, KMeansInit
from pyvl._core.objects import KMeans
from pyvl._core.rand import seeded

LLOYD, ELKAN, ANN = KMeansAlgorithm.LLOYD, KMeansAlgorithm.ELKAN, KMeansAlgorithm.ANN


# ---- NumPy references -----------------------------------------------------------------------


def distances(x: np.ndarray, c: np.ndarray, l1: bool) -> np.ndarray:
    """(N, K) squared L2 or L1 distances, in float64."""
    diff = x.astype(np.float64)[:, None, :] - c.astype(np.float64)[None, :, :]
    return np.abs(diff).sum(-1) if l1 else (diff * diff).sum(-1)


def weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    """The smallest value whose cumulative weight (values sorted) reaches half the total."""
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2, side="left")])


def reference_lloyd(x: np.ndarray, w: np.ndarray, c0: np.ndarray, iterations: int,
                    l1: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """``iterations`` weighted Lloyd updates from c0 (no cluster may empty); the
    centers are rounded to the data's dtype after each update, as libgmm stores
    them. Returns (centers, labels, energy of the final centers)."""
    c = c0.astype(np.float64)
    for _ in range(iterations):
        labels = distances(x, c, l1).argmin(1)
        for k in range(c.shape[0]):
            m = (labels == k) & (w > 0)
            assert m.any(), "the reference expects no empty cluster"
            if l1:
                c[k] = [weighted_median(x[m, d].astype(np.float64), w[m]) for d in range(x.shape[1])]
            else:
                c[k] = (w[m, None] * x[m].astype(np.float64)).sum(0) / w[m].sum()
        c = c.astype(x.dtype).astype(np.float64)
    dist = distances(x, c, l1)
    labels = dist.argmin(1)
    return c, labels, float((w * dist[np.arange(len(x)), labels]).sum())


def kmeans(dtype, distance=Distance.L2, algorithm=LLOYD, init=KMeansInit.RANDOM_SELECTION,
           iterations: int = 100, tol: float = 0.0) -> KMeans:
    km = KMeans.of_dtype(np.dtype(dtype), distance)
    km.algorithm = algorithm
    km.initialization = init
    km.max_num_iterations = iterations
    km.min_energy_variation = tol
    km.max_num_comparisons = 1000
    return km


def blob_data(dtype, n=900, d=4, k=5, seed=0):
    """Points of k separated blobs (point i in blob i mod k), weights in [0, 3)
    with about 15% zeros, and k initial centers: the first point of each blob
    (weight 1)."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(k, d)) * 8
    x = (mu[np.arange(n) % k] + rng.normal(size=(n, d))).astype(dtype)
    w = rng.uniform(0.0, 3.0, size=n)
    w[rng.random(n) < 0.15] = 0.0
    w[:k] = 1.0
    return x, w, x[:k].copy()


# ---- weighted Lloyd and Elkan against NumPy ---------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", [LLOYD, ELKAN])
@pytest.mark.parametrize("distance", [Distance.L2, Distance.L1])
@pytest.mark.parametrize("iterations", [1, 3, 30])
def test_weighted_refine_matches_numpy(dtype, algorithm, distance, iterations):
    x, w, c0 = blob_data(dtype, seed=iterations)
    l1 = distance == Distance.L1
    c_ref, labels_ref, e_ref = reference_lloyd(x, w, c0, iterations, l1)
    with kmeans(dtype, distance, algorithm, iterations=iterations) as km:
        km.set_centers(c0, x.shape[1], c0.shape[0])
        energy = km.refine_centers(x, weights=w)
        centers = km.centers_2d()
        labels, _, e_q = km.quantize_energy(x, weights=w)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(centers, c_ref, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(labels, labels_ref)
    assert energy == pytest.approx(e_ref, rel=1e-5 if dtype == np.float32 else 1e-10)
    # the energy of the final centers (Elkan computes its distances with another kernel)
    assert e_q == pytest.approx(energy, rel=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sklearn_hand_computed_example(dtype):
    # scikit-learn's test_kmeans_results: weights 3, 1, 1, 3 from centers (0, 0), (1, 1)
    x = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]], dtype=dtype)
    w = np.array([3.0, 1.0, 1.0, 3.0])
    for algorithm in (LLOYD, ELKAN):
        with kmeans(dtype, algorithm=algorithm) as km:
            km.set_centers(np.array([[0, 0], [1, 1]]), 2, 2)
            energy = km.refine_centers(x, weights=w)
            np.testing.assert_allclose(km.centers_2d(), [[0.125, 0], [0.875, 1]])
            assert energy == pytest.approx(0.375)
            labels, _, _ = km.quantize_energy(x, weights=w)
            np.testing.assert_array_equal(labels, [0, 0, 1, 1])


# ---- repeated, removed, unit and scaled weights ---------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", [LLOYD, ELKAN, ANN])
def test_integer_weights_equal_repeated_points(dtype, algorithm):
    x, _, c0 = blob_data(dtype, seed=7)
    x = (np.floor(x * 8) / 8).astype(dtype)  # exact sums: the same centers bit for bit
    c0 = (np.floor(c0 * 8) / 8).astype(dtype)
    w = np.random.default_rng(8).integers(1, 5, size=len(x))
    xr = np.repeat(x, w, axis=0)
    results = []
    for data, weights in ((x, w), (xr, None)):
        with kmeans(dtype, algorithm=algorithm) as km, seeded(3):
            km.set_centers(c0, x.shape[1], c0.shape[0])
            energy = km.refine_centers(data, weights=weights)
            labels, _, _ = km.quantize_energy(data)
            results.append((km.centers_2d(), energy, labels))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == pytest.approx(results[1][1], rel=1e-12)
    np.testing.assert_array_equal(np.repeat(results[0][2], w), results[1][2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("init", [KMeansInit.RANDOM_SELECTION, KMeansInit.PLUS_PLUS])
@pytest.mark.parametrize("algorithm", [LLOYD, ELKAN, ANN])
def test_zero_weights_equal_removed_points(dtype, init, algorithm):
    x = mixture_data(800, 5, 6, dtype, seed=11)
    w = np.random.default_rng(12).uniform(0.1, 2.0, size=len(x))
    w[::4] = 0.0
    keep = w > 0
    out = []
    for data, weights in ((x, w), (x[keep], w[keep])):
        with kmeans(dtype, algorithm=algorithm, init=init) as km, seeded(5):
            km.num_repetitions = 2
            energy = km.cluster(data, 5, None, 8, weights=weights)
            out.append((km.centers_2d(), energy))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert out[0][1] == out[1][1]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("init", [KMeansInit.RANDOM_SELECTION, KMeansInit.PLUS_PLUS])
@pytest.mark.parametrize("algorithm", [LLOYD, ELKAN, ANN])
@pytest.mark.parametrize("distance", [Distance.L2, Distance.L1])
def test_unit_weights_equal_no_weights(dtype, init, algorithm, distance):
    x = mixture_data(600, 3, 5, dtype, seed=13)
    out = []
    for weights in (None, np.ones(len(x)), np.full(len(x), 0.75)):
        with kmeans(dtype, distance, algorithm, init, tol=1e-4) as km, seeded(21):
            energy = km.cluster(x, 3, None, 6, weights=weights)
            out.append((km.centers_2d(), energy))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][0], out[2][0])
    assert out[0][1] == out[1][1]
    assert out[2][1] == out[0][1] * 0.75


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weights_scaled_by_a_power_of_two(dtype):
    x = mixture_data(700, 4, 5, dtype, seed=17)
    w = np.random.default_rng(18).uniform(size=len(x))
    out = []
    for scale in (1.0, 0.5, 2.0**40):
        with kmeans(dtype, init=KMeansInit.PLUS_PLUS, tol=1e-4) as km, seeded(2):
            energy = km.cluster(x, 4, None, 6, weights=w * scale)
            out.append((km.centers_2d(), energy / scale))
    for centers, energy in out[1:]:
        np.testing.assert_array_equal(centers, out[0][0])
        assert energy == out[0][1]


# ---- the sampling distributions of the weighted seedings -------------------------------------

POINTS = np.array([[0.0], [1.0], [3.0], [6.0], [10.0], [15.0], [21.0]])
WEIGHTS = np.array([0.5, 2.0, 0.0, 1.0, 3.0, 0.7, 1.6])


def seed_pairs(init: KMeansInit, weights: np.ndarray, runs: int, dtype=np.float64) -> np.ndarray:
    """(runs, 2) indices of the two centers each seeded run picks."""
    x = POINTS.astype(dtype)
    picks = np.empty((runs, 2), dtype=np.int64)
    with KMeans.of_dtype(np.dtype(dtype)) as km:
        for r in range(runs):
            with seeded(r):
                if init == KMeansInit.PLUS_PLUS:
                    km.init_centers_plus_plus(x, 1, None, 2, weights=weights)
                else:
                    km.init_centers_with_rand_data(x, 1, None, 2, weights=weights)
            c = km.centers_2d()[:, 0]
            picks[r] = [int(np.flatnonzero(POINTS[:, 0] == v)[0]) for v in c]
    return picks


def pair_probabilities(first: np.ndarray, second) -> np.ndarray:
    """P(i, j) = first[i] * second(i)[j] over all ordered pairs."""
    n = len(first)
    p = np.zeros((n, n))
    for i in range(n):
        if first[i] > 0:
            q = second(i)
            p[i] = first[i] * q / q.sum()
    return p


def chi_square_p(picks: np.ndarray, p: np.ndarray) -> float:
    n = p.shape[0]
    observed = np.bincount(picks[:, 0] * n + picks[:, 1], minlength=n * n).astype(float)
    expected = p.ravel() * len(picks)
    assert observed[expected == 0].sum() == 0, "a pair of probability 0 was drawn"
    cells = expected > 0
    return float(scipy_stats.chisquare(observed[cells], expected[cells]).pvalue)


def plusplus_probabilities(w: np.ndarray, first_weighted: bool = True,
                           second_weighted: bool = True) -> np.ndarray:
    d2 = (POINTS - POINTS.T) ** 2
    first = (w if first_weighted else (w > 0).astype(float)) / (w if first_weighted else (w > 0)).sum()
    return pair_probabilities(first, lambda i: (w if second_weighted else (w > 0)) * d2[i])


def selection_probabilities(w: np.ndarray, weighted: bool = True) -> np.ndarray:
    v = w if weighted else (w > 0).astype(float)

    def second(i):
        q = v.copy()
        q[i] = 0
        return q

    return pair_probabilities(v / v.sum(), second)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_plusplus_samples_weight_times_distance(dtype):
    picks = seed_pairs(KMeansInit.PLUS_PLUS, WEIGHTS, 6000, dtype)
    assert chi_square_p(picks, plusplus_probabilities(WEIGHTS)) > 1e-3
    # the test tells the right distribution from the plausible wrong ones
    assert chi_square_p(picks, plusplus_probabilities(WEIGHTS, first_weighted=False)) < 1e-9
    assert chi_square_p(picks, plusplus_probabilities(WEIGHTS, second_weighted=False)) < 1e-9


def test_plusplus_equal_weights_first_center_uniform():
    w = np.where(WEIGHTS > 0, 2.5, 0.0)
    picks = seed_pairs(KMeansInit.PLUS_PLUS, w, 4000)
    assert chi_square_p(picks, plusplus_probabilities(w)) > 1e-3


def test_random_selection_is_weighted_without_replacement():
    picks = seed_pairs(KMeansInit.RANDOM_SELECTION, WEIGHTS, 6000)
    assert (picks[:, 0] != picks[:, 1]).all()
    assert chi_square_p(picks, selection_probabilities(WEIGHTS)) > 1e-3
    assert chi_square_p(picks, selection_probabilities(WEIGHTS, weighted=False)) < 1e-9


def test_random_selection_equal_weights_uniform_among_positive():
    w = np.where(WEIGHTS > 0, 1.0, 0.0)
    picks = seed_pairs(KMeansInit.RANDOM_SELECTION, w, 4000)
    assert chi_square_p(picks, selection_probabilities(w)) > 1e-3


# ---- energy and statistics against NumPy ----------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_quantize_energy(dtype):
    x = mixture_data(500, 6, 4, dtype, seed=23)
    w = np.random.default_rng(24).integers(0, 5, size=len(x)).astype(np.int32)  # any real dtype
    c = x[:5].copy()
    dist = distances(x, c, False)
    with KMeans.with_centers(c) as km:
        labels, d, e = km.quantize_energy(x, weights=w)
        np.testing.assert_array_equal(labels, dist.argmin(1))
        assert d is not None and d.dtype == np.dtype(dtype)
        np.testing.assert_allclose(d, dist.min(1), rtol=1e-5 if dtype == np.float32 else 1e-12)
        assert e == pytest.approx(float(w @ dist.min(1)), rel=1e-5 if dtype == np.float32 else 1e-12)
        a, d2, e1 = km.quantize_energy(x, assignments=False, distances=False)
        assert a is None and d2 is None
        assert e1 == float(np.cumsum(d.astype(np.float64))[-1])  # the same sum, in point order
        assert km.quantize_energy(x, weights=np.zeros(len(x)))[2] == 0.0
        assert km.quantize_energy(x[:0])[2] == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stats_accumulate_weighted(dtype):
    x = mixture_data(400, 3, 4, dtype, seed=29)
    w = np.random.default_rng(30).uniform(0, 2, size=len(x))
    c = x[:4].copy()
    dist = distances(x, c, False)
    labels = dist.argmin(1)
    with KMeans.with_centers(c) as km:
        st = km.new_stats()
        km.stats_accumulate(st, x[:150], weights=w[:150])
        km.stats_accumulate(st, x[150:], weights=w[150:])
    k, d = c.shape
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(st[:k], np.bincount(labels, w, minlength=k), rtol=1e-12)
    sums = np.zeros((k, d))
    np.add.at(sums, labels, w[:, None] * x.astype(np.float64))
    np.testing.assert_allclose(st[k:k * (d + 1)].reshape(k, d), sums, rtol=rtol)
    assert st[-2] == pytest.approx(float(w @ dist.min(1)), rel=rtol)
    assert st[-1] == len(x)


# ---- input handling ---------------------------------------------------------------------------


def test_bad_weights_raise_and_leave_the_object():
    x = mixture_data(60, 2, 3, seed=31)
    with kmeans(np.float64) as km, seeded(1):
        km.cluster(x, 2, None, 3)
        before, energy = km.centers_2d(), km.energy
        for bad, message in ((np.nan, "weights[4] is nan"), (np.inf, "weights[4] is inf"),
                             (-1.0, "weights[4] is -1")):
            w = np.ones(len(x))
            w[4] = bad
            calls = (lambda w: km.cluster(x, 2, None, 3, weights=w),
                     lambda w: km.refine_centers(x, weights=w),
                     lambda w: km.init_centers_plus_plus(x, 2, None, 3, weights=w),
                     lambda w: km.init_centers_with_rand_data(x, 2, None, 3, weights=w),
                     lambda w: km.quantize_energy(x, weights=w))
            for call in calls:
                with pytest.raises(InvalidArgumentError, match=message.replace("[", r"\[")):
                    call(w)
        with pytest.raises(InvalidArgumentError, match="every weight is 0"):
            km.cluster(x, 2, None, 3, weights=np.zeros(len(x)))
        w = np.zeros(len(x))
        w[:2] = 1
        with pytest.raises(InvalidArgumentError, match=r"numCenters \(3\) exceeds the number of "
                                                       r"points with a positive weight \(2\)"):
            km.refine_centers(x, weights=w)
        for shape in ((len(x) - 1,), (len(x), 1), ()):
            with pytest.raises(ValueError, match="weights must have shape"):
                km.refine_centers(x, weights=np.ones(shape))
        with pytest.raises(TypeError):
            km.refine_centers(x, weights=np.array(["a"] * len(x)))
        np.testing.assert_array_equal(km.centers_2d(), before)
        assert km.energy == energy


def test_weights_are_read_only_and_not_copied_back():
    x = mixture_data(200, 3, 3, seed=37)
    w = np.random.default_rng(38).uniform(size=len(x))
    w.setflags(write=False)
    saved = w.copy()
    with kmeans(np.float64, init=KMeansInit.PLUS_PLUS) as km, seeded(3):
        km.cluster(x, 3, None, 4, weights=w)
        st = km.new_stats()
        km.stats_accumulate(st, x, weights=w)
    np.testing.assert_array_equal(w, saved)
    with kmeans(np.float64, init=KMeansInit.PLUS_PLUS) as km, seeded(3):
        km.cluster(x, 3, 100, 4, weights=w[:100])  # num_data: one weight per point used
        with pytest.raises(ValueError, match=r"shape \(100,\)"):
            km.cluster(x, 3, 100, 4, weights=w)
