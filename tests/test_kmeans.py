"""k-means: libgmm against the real VLFeat (same ctypes code), and pyvl.kmeans."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import mixture_data
from vlapi import (
    VlDistanceL1,
    VlDistanceL2,
    VlKMeansElkan,
    VlKMeansLloyd,
    VlKMeansPlusPlus,
    VlKMeansRandomSelection,
    _p,
)

from pyvl import InvalidArgumentError, StateError
from pyvl.kmeans import *  # noqa: F403


def run(api, x, k, seed, distance=VlDistanceL2, init_centers=None, **settings):
    """Seed + cluster (or refine from given centers); (centers, energy)."""
    n, d = x.shape
    km = api.kmeans_new(x.dtype, distance, **settings)
    try:
        api.seed(seed)
        if init_centers is None:
            energy = api.lib.vl_kmeans_cluster(km, _p(x), d, n, k)
        else:
            c = np.ascontiguousarray(init_centers, dtype=x.dtype)
            api.lib.vl_kmeans_set_centers(km, _p(c), d, k)
            energy = api.lib.vl_kmeans_refine_centers(km, _p(x), n)
        return api.kmeans_centers(km, x.dtype), energy
    finally:
        api.kmeans_delete(km)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("init", [VlKMeansRandomSelection, VlKMeansPlusPlus])
@pytest.mark.parametrize("algorithm", [VlKMeansLloyd, VlKMeansElkan])
@pytest.mark.parametrize("repetitions", [1, 3])
def test_cluster_matches_vlfeat(ours, vlfeat, dtype, init, algorithm, repetitions):
    x = mixture_data(2000, 6, 8, dtype, seed=3)
    settings = dict(initialization=init, algorithm=algorithm, num_repetitions=repetitions)
    ca, ea = run(ours, x, 8, 11, **settings)
    cb, eb = run(vlfeat, x, 8, 11, **settings)
    if dtype == np.float64:
        np.testing.assert_array_equal(ca, cb)
        assert ea == pytest.approx(eb, rel=1e-12)
    else:
        np.testing.assert_allclose(ca, cb, rtol=1e-5, atol=1e-5)
        assert ea == pytest.approx(eb, rel=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", [VlKMeansLloyd, VlKMeansElkan])
@pytest.mark.parametrize("iterations", [1, 2, 10, 100])
def test_refine_from_same_centers(ours, vlfeat, dtype, algorithm, iterations):
    x = mixture_data(3000, 16, 12, dtype, seed=5)
    init = x[np.random.default_rng(0).choice(3000, 12, replace=False)]
    settings = dict(algorithm=algorithm, max_num_iterations=iterations)
    ca, ea = run(ours, x, 12, 0, init_centers=init, **settings)
    cb, eb = run(vlfeat, x, 12, 0, init_centers=init, **settings)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ca, cb, rtol=rtol, atol=rtol)
    assert ea == pytest.approx(eb, rel=rtol)


@pytest.mark.parametrize("init", [VlKMeansRandomSelection, VlKMeansPlusPlus])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seeding_is_vlfeats_exactly(ours, vlfeat, init, dtype):
    x = mixture_data(500, 4, 10, dtype, seed=8)
    settings = dict(initialization=init, max_num_iterations=0, algorithm=VlKMeansLloyd)
    # max_num_iterations = 0 with Lloyd: the centers are the seeds
    ca, _ = run(ours, x, 10, 123, **settings)
    cb, _ = run(vlfeat, x, 10, 123, **settings)
    np.testing.assert_array_equal(ca, cb)


def test_l1_matches_vlfeat_without_empty_clusters(ours, vlfeat):
    x = mixture_data(1000, 3, 4, np.float64, seed=2)
    settings = dict(algorithm=VlKMeansElkan, initialization=VlKMeansPlusPlus)
    ca, ea = run(ours, x, 4, 3, distance=VlDistanceL1, **settings)
    cb, eb = run(vlfeat, x, 4, 3, distance=VlDistanceL1, **settings)
    np.testing.assert_array_equal(ca, cb)
    assert ea == pytest.approx(eb, rel=1e-12)


def test_quantize_matches_brute_force():
    x = mixture_data(1000, 5, 7, np.float32, seed=1)
    km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)  # noqa: F405
    vl_kmeans_cluster(km, x, 5, 1000, 7)  # noqa: F405
    centers = vl_kmeans_get_centers(km).reshape(7, 5)  # noqa: F405
    a, dist = vl_kmeans_quantize(km, x)  # noqa: F405
    d2 = ((x[:, None, :].astype(np.float64) - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(a, d2.argmin(1))
    np.testing.assert_allclose(dist, d2.min(1), rtol=1e-5, atol=1e-5)
    assert a.dtype == np.uint32


def test_energy_is_stored_and_non_increasing():
    x = mixture_data(2000, 4, 6, np.float64, seed=9)
    km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2)  # noqa: F405
    vl_kmeans_init_centers_plus_plus(km, x, 4, 2000, 6)  # noqa: F405
    init = vl_kmeans_get_centers(km)  # noqa: F405
    energies = []
    for it in range(6):
        vl_kmeans_set_centers(km, init, 4, 6)  # noqa: F405
        vl_kmeans_set_max_num_iterations(km, it)  # noqa: F405
        e = vl_kmeans_refine_centers(km, x)  # noqa: F405
        assert vl_kmeans_get_energy(km) == e  # noqa: F405
        energies.append(e)
    assert all(b <= a * (1 + 1e-12) for a, b in zip(energies, energies[1:]))


def test_errors_and_object_reuse():
    x = mixture_data(100, 3, 4, np.float32)
    km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)  # noqa: F405
    with pytest.raises(InvalidArgumentError, match="exceeds numData"):
        vl_kmeans_cluster(km, x, 3, 100, 101)  # noqa: F405
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InvalidArgumentError, match="NaN"):
        vl_kmeans_cluster(km, bad, 3, 100, 4)  # noqa: F405
    with pytest.raises(InvalidArgumentError):
        vl_kmeans_set_algorithm(km, 9)  # noqa: F405
    with pytest.raises(StateError, match="no centers"):
        vl_kmeans_quantize(km, x)  # noqa: F405
    with pytest.raises(ValueError):
        vl_kmeans_new(VL_TYPE_FLOAT, 5)  # noqa: F405
    assert vl_kmeans_cluster(km, x, 3, 100, 4) > 0  # noqa: F405
    c = vl_kmeans_new_copy(km)  # noqa: F405
    np.testing.assert_array_equal(vl_kmeans_get_centers(c), vl_kmeans_get_centers(km))  # noqa: F405
    vl_kmeans_delete(km)  # noqa: F405
    with pytest.raises(StateError):
        vl_kmeans_get_centers(km)  # noqa: F405
    assert vl_kmeans_get_num_centers(c) == 4  # noqa: F405


def test_ann_quality_close_to_lloyd():
    x = mixture_data(20000, 16, 64, np.float32, seed=4)
    energies = {}
    for algo in (VlKMeansLloyd, VlKMeansANN):  # noqa: F405
        km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)  # noqa: F405
        vl_kmeans_set_algorithm(km, algo)  # noqa: F405
        vl_kmeans_set_initialization(km, VlKMeansPlusPlus)  # noqa: F405
        vl_rand_seed(vl_get_rand(), 1)  # noqa: F405
        energies[algo] = vl_kmeans_cluster(km, x, 16, 20000, 64)  # noqa: F405
    assert energies[VlKMeansANN] <= 1.1 * energies[VlKMeansLloyd]  # noqa: F405
