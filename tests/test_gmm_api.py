"""pyvl.gmm as a Python API: handles, conversions, errors, output, threads."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
from helpers import custom_init, mixture_data

import pyvl
from pyvl import AllocationError, InvalidArgumentError, SizeOverflowError, StateError
from pyvl.gmm import *  # noqa: F403 - this is how notebooks use it
from pyvl.gmm import VlGMM
from pyvl.kmeans import (
    VlDistanceL2,
    VlKMeansLloyd,
    vl_kmeans_delete,
    vl_kmeans_get_centers,
    vl_kmeans_new,
    vl_kmeans_set_algorithm,
)


def fitted(dtype=np.float32, n=500, d=3, k=4, seed=0):
    vt = VL_TYPE_FLOAT if dtype == np.float32 else VL_TYPE_DOUBLE  # noqa: F405
    x = mixture_data(n, d, k, dtype, seed=seed)
    g = vl_gmm_new(vt, d, k)  # noqa: F405
    vl_rand_seed(vl_get_rand(), 1)  # noqa: F405
    vl_gmm_cluster(g, x)  # noqa: F405
    return g, x


def state(g):
    return [vl_gmm_get_means(g), vl_gmm_get_covariances(g), vl_gmm_get_priors(g)]  # noqa: F405


# ---- handles ------------------------------------------------------------------


def test_defaults_are_vlfeats():
    g = vl_gmm_new(VL_TYPE_FLOAT, 3, 5)  # noqa: F405
    assert vl_gmm_get_max_num_iterations(g) == 50  # noqa: F405
    assert vl_gmm_get_num_repetitions(g) == 1  # noqa: F405
    assert vl_gmm_get_initialization(g) == VlGMMRand  # noqa: F405
    assert vl_gmm_get_verbosity(g) == 0  # noqa: F405
    assert vl_gmm_get_num_data(g) == 0  # noqa: F405
    assert vl_gmm_get_loglikelihood(g) == 0  # noqa: F405
    assert vl_gmm_get_posteriors(g) is None  # noqa: F405
    np.testing.assert_array_equal(vl_gmm_get_covariance_lower_bounds(g), np.full(3, 1e-4))  # noqa: F405
    assert vl_gmm_get_data_type(g) == VL_TYPE_FLOAT  # noqa: F405
    assert np.all(vl_gmm_get_means(g) == 0)  # noqa: F405


def test_delete_twice_and_use_after_delete_raise():
    g = vl_gmm_new(VL_TYPE_DOUBLE, 2, 2)  # noqa: F405
    vl_gmm_delete(g)  # noqa: F405
    with pytest.raises(StateError):
        vl_gmm_delete(g)  # noqa: F405
    with pytest.raises(StateError):
        vl_gmm_get_means(g)  # noqa: F405
    with pytest.raises(StateError):
        vl_gmm_cluster(g, np.zeros((10, 2)))  # noqa: F405
    assert "deleted" in repr(g)


def test_garbage_collection_frees_the_c_object():
    g = vl_gmm_new(VL_TYPE_DOUBLE, 2, 2)  # noqa: F405
    holder = weakref.ref(g._obj)  # its finalizer frees the C object
    del g
    gc.collect()
    assert holder() is None


def test_wrong_handle_type():
    with pytest.raises(TypeError):
        vl_gmm_get_means(object())  # noqa: F405


def test_kmeans_init_object_is_kept_alive():
    g = vl_gmm_new(VL_TYPE_FLOAT, 3, 4)  # noqa: F405
    km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)  # noqa: F405
    vl_kmeans_set_algorithm(km, VlKMeansLloyd)
    vl_gmm_set_kmeans_init_object(g, km)  # noqa: F405
    ref = weakref.ref(km)
    del km
    gc.collect()
    assert ref() is not None
    vl_gmm_set_initialization(g, VlGMMKMeans)  # noqa: F405
    vl_gmm_cluster(g, mixture_data(300, 3, 4, np.float32))  # noqa: F405
    assert vl_gmm_get_kmeans_init_object(g) is ref()  # noqa: F405


def test_new_copy_is_deep_and_complete():
    g, x = fitted(np.float64)
    vl_gmm_set_covariance_lower_bounds(g, [1e-3, 2e-3, 3e-3])  # noqa: F405
    c = vl_gmm_new_copy(g)  # noqa: F405
    for a, b in zip(state(c), state(g)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(vl_gmm_get_posteriors(c), vl_gmm_get_posteriors(g))  # noqa: F405
    np.testing.assert_array_equal(vl_gmm_get_covariance_lower_bounds(c), [1e-3, 2e-3, 3e-3])  # noqa: F405
    assert vl_gmm_get_loglikelihood(c) == vl_gmm_get_loglikelihood(g)  # noqa: F405
    vl_gmm_delete(g)  # noqa: F405
    assert np.all(np.isfinite(vl_gmm_get_means(c)))  # noqa: F405


def test_getters_return_copies():
    g, _ = fitted()
    m = vl_gmm_get_means(g)  # noqa: F405
    m[:] = 123
    assert not np.any(vl_gmm_get_means(g) == 123)  # noqa: F405


# ---- data conversions ---------------------------------------------------------------


def test_flat_2d_noncontiguous_readonly_and_converted_inputs_agree():
    x = mixture_data(400, 3, 4, np.float32, seed=2)
    init = custom_init(x, 4)

    def run(data, num_data=None):
        g = vl_gmm_new(VL_TYPE_FLOAT, 3, 4)  # noqa: F405
        vl_gmm_set_means(g, init[0])  # noqa: F405
        vl_gmm_set_covariances(g, init[1])  # noqa: F405
        vl_gmm_set_priors(g, init[2])  # noqa: F405
        ll = vl_gmm_em(g, data, num_data)  # noqa: F405
        return ll, state(g)

    base = run(x)
    wide = np.zeros((400, 6), np.float32)
    wide[:, ::2] = x
    ro = x.copy()
    ro.flags.writeable = False
    for data, n in [(x.ravel(), 400), (x, None), (wide[:, ::2], None), (ro, None), (x.tolist(), None)]:
        got = run(data, n)
        assert got[0] == base[0]
        for a, b in zip(got[1], base[1]):
            np.testing.assert_array_equal(a, b)
    # float64 data into a float GMM is converted (rounded like x itself)
    got = run(x.astype(np.float64))
    assert got[0] == base[0]


def test_misaligned_input_is_copied_to_an_aligned_array():
    """Arrays at an odd byte offset (as Dask deserialises them) are accepted:
    libgmm must never read floats from a misaligned address."""
    x = mixture_data(300, 3, 2, np.float32)
    raw = bytearray(x.nbytes + 1)
    odd = np.frombuffer(raw, np.float32, count=x.size, offset=1).reshape(x.shape)
    odd[...] = x
    assert not odd.flags.aligned
    results = []
    for data in (x, odd):
        g = vl_gmm_new(VL_TYPE_FLOAT, 3, 2)  # noqa: F405
        vl_rand_seed(vl_get_rand(), 0)  # noqa: F405
        results.append(vl_gmm_cluster(g, data))  # noqa: F405
    assert results[0] == results[1]
    est = pyvl.GaussianMixture(2, random_state=0)
    np.testing.assert_array_equal(est.fit(odd).predict(odd), est.fit(x).predict(x))


def test_num_data_selects_leading_points():
    x = mixture_data(400, 3, 4, np.float64)
    g = vl_gmm_new(VL_TYPE_DOUBLE, 3, 4)  # noqa: F405
    vl_gmm_init_with_rand_data(g, x, 100)  # noqa: F405
    assert vl_gmm_get_num_data(g) == 100  # noqa: F405
    with pytest.raises(ValueError, match="holds only"):
        vl_gmm_cluster(g, x, 401)  # noqa: F405


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.zeros((10, 3), np.complex64), TypeError, "real numeric"),
        (np.array([["a", "b", "c"]] * 10), TypeError, "real numeric"),
        (np.array([object()] * 30, dtype=object), TypeError, "object array"),
        (np.zeros((10, 3, 1)), ValueError, "3-D"),
        (np.float32(1.0), ValueError, "0-D"),
        (np.zeros(31), ValueError, "not a multiple"),
        (np.zeros((10, 4)), ValueError, "expected"),
    ],
)
def test_bad_data_shapes_and_dtypes(bad, exc, match):
    g = vl_gmm_new(VL_TYPE_FLOAT, 3, 2)  # noqa: F405
    with pytest.raises(exc, match=match):
        vl_gmm_cluster(g, bad)  # noqa: F405
    vl_gmm_cluster(g, mixture_data(50, 3, 2, np.float32))  # still usable  # noqa: F405


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_data_is_rejected_and_state_kept(value):
    g, x = fitted(np.float32)
    before = state(g)
    bad = x.copy()
    bad[17, 1] = value
    for fn in (vl_gmm_cluster, vl_gmm_em, vl_gmm_init_with_rand_data):  # noqa: F405
        with pytest.raises(InvalidArgumentError, match="NaN or Inf"):
            fn(g, bad)
    for a, b in zip(state(g), before):
        np.testing.assert_array_equal(a, b)
    vl_gmm_em(g, x)  # noqa: F405


def test_fewer_points_than_clusters():
    g = vl_gmm_new(VL_TYPE_DOUBLE, 2, 10)  # noqa: F405
    with pytest.raises(ValueError, match=r"fewer data points \(5\) than clusters \(10\)"):
        vl_gmm_cluster(g, np.random.default_rng(0).normal(size=(5, 2)))  # noqa: F405


def test_bad_parameters():
    g, x = fitted(np.float64)
    before = state(g)
    with pytest.raises(InvalidArgumentError, match="NaN or Inf"):
        vl_gmm_set_means(g, np.full(12, np.nan))  # noqa: F405
    with pytest.raises(InvalidArgumentError, match="negative"):
        vl_gmm_set_covariances(g, -np.ones(12))  # noqa: F405
    with pytest.raises(InvalidArgumentError, match="negative"):
        vl_gmm_set_priors(g, [-0.5, 0.5, 0.5, 0.5])  # noqa: F405
    with pytest.raises(ValueError, match="must have 12 values"):
        vl_gmm_set_means(g, np.zeros(11))  # noqa: F405
    for a, b in zip(state(g), before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidArgumentError):
        vl_gmm_set_num_repetitions(g, 0)  # noqa: F405
    with pytest.raises(InvalidArgumentError):
        vl_gmm_set_initialization(g, 7)  # noqa: F405
    with pytest.raises(InvalidArgumentError):
        vl_gmm_set_covariance_lower_bound(g, -1.0)  # noqa: F405
    with pytest.raises(InvalidArgumentError):
        vl_gmm_set_covariance_lower_bounds(g, [1e-3, np.nan, 1])  # noqa: F405
    with pytest.raises(ValueError):
        vl_gmm_set_max_num_iterations(g, -1)  # noqa: F405
    vl_gmm_em(g, x)  # noqa: F405


def test_em_without_parameters_is_an_error():
    g = vl_gmm_new(VL_TYPE_DOUBLE, 2, 3)  # noqa: F405
    with pytest.raises(InvalidArgumentError, match="every prior is below 1e-6"):
        vl_gmm_em(g, np.random.default_rng(0).normal(size=(30, 2)))  # noqa: F405


def test_bad_constructor_arguments():
    with pytest.raises(ValueError):
        vl_gmm_new(3, 2, 2)  # noqa: F405
    with pytest.raises(ValueError):
        vl_gmm_new(VL_TYPE_FLOAT, 0, 2)  # noqa: F405
    with pytest.raises(SizeOverflowError):
        vl_gmm_new(VL_TYPE_FLOAT, 2**40, 2**40)  # noqa: F405
    with pytest.raises(AllocationError):
        vl_gmm_new(VL_TYPE_DOUBLE, 2**30, 2**20)  # noqa: F405


# ---- output, threads ----------------------------------------------------------------


def test_verbose_output_goes_to_python_stdout(capsys):
    x = mixture_data(300, 2, 3, np.float64)
    g = vl_gmm_new(VL_TYPE_DOUBLE, 2, 3)  # noqa: F405
    vl_gmm_cluster(g, x)  # noqa: F405
    assert capsys.readouterr().out == ""  # silent unless asked
    vl_gmm_set_verbosity(g, 1)  # noqa: F405
    vl_gmm_set_max_num_iterations(g, 5)  # noqa: F405
    vl_gmm_cluster(g, x)  # noqa: F405
    out = capsys.readouterr().out
    assert "gmm: clustering: starting repetition 1 of 1" in out
    assert "gmm: em: iteration 0: loglikelihood = " in out
    assert "gmm: all repetitions terminated with final loglikelihood" in out


def test_results_do_not_depend_on_thread_count(threads):
    x = mixture_data(20000, 16, 12, np.float32, seed=4)
    results = []
    for n in (1, 2, 3):
        pyvl.vl_set_num_threads(n)
        g = vl_gmm_new(VL_TYPE_FLOAT, 16, 12)  # noqa: F405
        vl_rand_seed(vl_get_rand(), 3)  # noqa: F405
        ll = vl_gmm_cluster(g, x)  # noqa: F405
        results.append((ll, state(g)))
    for ll, st in results[1:]:
        assert ll == results[0][0]
        for a, b in zip(st, results[0][1]):
            np.testing.assert_array_equal(a, b)


def test_python_threads_run_in_parallel_with_serial_results():
    """Separate objects in separate Python threads (the GIL is released in C)."""
    datas = [mixture_data(5000, 8, 6, np.float64, seed=s) for s in range(4)]

    def fit(x, out, i):
        g = vl_gmm_new(VL_TYPE_DOUBLE, 8, 6)  # noqa: F405
        vl_gmm_set_initialization(g, VlGMMCustom)  # noqa: F405
        m, c, p = custom_init(x, 6)
        vl_gmm_set_means(g, m)  # noqa: F405
        vl_gmm_set_covariances(g, c)  # noqa: F405
        vl_gmm_set_priors(g, p)  # noqa: F405
        out[i] = (vl_gmm_cluster(g, x), state(g))  # noqa: F405

    serial = {}
    for i, x in enumerate(datas):
        fit(x, serial, i)
    parallel = {}
    ts = [threading.Thread(target=fit, args=(x, parallel, i)) for i, x in enumerate(datas)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i in range(4):
        assert parallel[i][0] == serial[i][0]
        for a, b in zip(parallel[i][1], serial[i][1]):
            np.testing.assert_array_equal(a, b)


def test_handle_repr():
    g = vl_gmm_new(VL_TYPE_FLOAT, 3, 5)  # noqa: F405
    assert isinstance(g, VlGMM) and "dimension=3" in repr(g) and "num_clusters=5" in repr(g)


def test_deleting_a_kmeans_init_object_in_use_does_not_free_it():
    """vl_kmeans_delete on a k-means object a GMM still points to: the handle dies,
    the C object lives until the GMM lets it go (the issue's use-after-free)."""
    x = mixture_data(300, 3, 4, np.float32)
    g = vl_gmm_new(VL_TYPE_FLOAT, 3, 4)  # noqa: F405
    km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)  # noqa: F405
    vl_kmeans_set_algorithm(km, VlKMeansLloyd)
    vl_gmm_set_kmeans_init_object(g, km)  # noqa: F405
    vl_gmm_set_initialization(g, VlGMMKMeans)  # noqa: F405
    holder = weakref.ref(km._obj)
    vl_kmeans_delete(km)
    with pytest.raises(StateError):
        vl_kmeans_get_centers(km)
    gc.collect()
    assert holder() is not None  # the GMM still points to it
    ref = vl_gmm_new(VL_TYPE_FLOAT, 3, 4)  # noqa: F405
    km2 = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)  # noqa: F405
    vl_kmeans_set_algorithm(km2, VlKMeansLloyd)
    vl_gmm_set_kmeans_init_object(ref, km2)  # noqa: F405
    vl_gmm_set_initialization(ref, VlGMMKMeans)  # noqa: F405
    for gmm in (g, ref):
        vl_rand_seed(vl_get_rand(), 1)  # noqa: F405
        vl_gmm_cluster(gmm, x)  # noqa: F405
    np.testing.assert_array_equal(vl_gmm_get_means(g), vl_gmm_get_means(ref))  # noqa: F405
    c = vl_gmm_new_copy(g)  # noqa: F405 (points to the same k-means object)
    vl_gmm_set_kmeans_init_object(g, None)  # noqa: F405
    gc.collect()
    assert holder() is not None  # the copy still points to it
    del c
    gc.collect()
    assert holder() is None  # freed once nobody points to it
