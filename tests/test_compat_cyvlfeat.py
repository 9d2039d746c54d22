"""pyvl.compat.cyvlfeat: cyvlfeat's gmm, fisher, vlad, kmeans and kmeans_quantize.

Written from cyvlfeat's documented behaviour (menpo/cyvlfeat:
cyvlfeat/gmm/gmm.py and cygmm.pyx, cyvlfeat/fisher/fisher.py and cyfisher.pyx,
cyvlfeat/vlad/vlad.py and cyvlfeat.pyx, cyvlfeat/kmeans/kmeans.py and
cykmeans.pyx) and modelled on what its tests check (shapes, dtypes, return
order, recovering well separated clusters, quantizing back to them), plus:

* signatures: cyvlfeat's argument names, order and defaults;
* every result equals pyvl's VLFeat API (``vl_gmm_*``, ``vl_kmeans_*``,
  ``vl_fisher_encode``, ``vl_vlad_encode``) called directly with the same
  settings and seed, bit for bit;
* and the real VLFeat 0.9.21 (tests/vlapi.py): GMM with the same seed and
  'rand' init or a custom init (scalar and per-dimension bounds), k-means,
  Fisher vectors and VLAD for every flag combination;
* the cyvlfeat bugs we do not reproduce (spec section 6, Q26-Q28): custom
  initialisation by giving the three arrays (MATLAB's rule), the covariance
  bound as a Python float or a float32 array, the log-likelihood as a double;
* errors on bad input (ValueError naming the argument) and verbose output.
"""

from __future__ import annotations

import ctypes
import inspect
import itertools

import numpy as np
import pytest
from helpers import assert_close, c_fisher, c_vlad, mixture_data

from pyvl.compat import cyvlfeat as cy
from pyvl.compat.cyvlfeat import fisher, gmm, kmeans, kmeans_quantize, vlad
from pyvl.fisher import vl_fisher_encode
from pyvl.gmm import (
    VL_TYPE_DOUBLE,
    VL_TYPE_FLOAT,
    VlGMMCustom,
    VlGMMKMeans,
    VlGMMRand,
    vl_gmm_cluster,
    vl_gmm_delete,
    vl_gmm_get_covariances,
    vl_gmm_get_means,
    vl_gmm_get_posteriors,
    vl_gmm_get_priors,
    vl_gmm_new,
    vl_gmm_set_covariance_lower_bound,
    vl_gmm_set_covariance_lower_bounds,
    vl_gmm_set_covariances,
    vl_gmm_set_initialization,
    vl_gmm_set_max_num_iterations,
    vl_gmm_set_means,
    vl_gmm_set_num_repetitions,
    vl_gmm_set_priors,
)
from pyvl.kmeans import (
    VlDistanceL1,
    VlDistanceL2,
    VlKMeansANN,
    VlKMeansElkan,
    VlKMeansLloyd,
    VlKMeansPlusPlus,
    VlKMeansRandomSelection,
    vl_kmeans_cluster,
    vl_kmeans_delete,
    vl_kmeans_get_centers,
    vl_kmeans_new,
    vl_kmeans_quantize,
    vl_kmeans_set_algorithm,
    vl_kmeans_set_centers,
    vl_kmeans_set_initialization,
    vl_kmeans_set_max_num_iterations,
    vl_kmeans_set_min_energy_variation,
    vl_kmeans_set_num_repetitions,
)
from pyvl.random import vl_get_rand, vl_rand_seed
from pyvl.vlad import vl_vlad_encode

DTYPES = [np.float32, np.float64]
VL_TYPES = {np.dtype(np.float32): VL_TYPE_FLOAT, np.dtype(np.float64): VL_TYPE_DOUBLE}
# agreement with the real VLFeat, relative to max|value| (spec section 7)
VLFEAT_TOL = {np.float32: 1e-3, np.float64: 1e-8}
ENC_TOL = {np.float32: 1e-4, np.float64: 1e-10}


def seed(s: int) -> None:
    vl_rand_seed(vl_get_rand(), s)


# ---- signatures ------------------------------------------------------------------------

E = inspect.Parameter.empty
CYVLFEAT_SIGNATURES = {
    "gmm": [
        ("x", E),
        ("n_clusters", 10),
        ("max_num_iterations", 100),
        ("covariance_bound", None),
        ("init_mode", "rand"),
        ("init_priors", None),
        ("init_means", None),
        ("init_covars", None),
        ("n_repetitions", 1),
        ("verbose", False),
    ],
    "fisher": [
        ("x", E),
        ("means", E),
        ("covariances", E),
        ("priors", E),
        ("normalized", False),
        ("square_root", False),
        ("improved", False),
        ("fast", False),
        ("verbose", False),
    ],
    "vlad": [
        ("x", E),
        ("means", E),
        ("assignments", E),
        ("unnormalized", False),
        ("square_root", False),
        ("normalize_components", False),
        ("normalize_mass", False),
        ("verbose", False),
    ],
    "kmeans": [
        ("data", E),
        ("num_centers", E),
        ("distance", "l2"),
        ("initialization", "RANDSEL"),
        ("algorithm", "LLOYD"),
        ("num_repetitions", 1),
        ("num_trees", 3),
        ("max_num_comparisons", 100),
        ("max_num_iterations", 100),
        ("min_energy_variation", 0.0),
        ("verbose", False),
    ],
    "kmeans_quantize": [
        ("data", E),
        ("centers", E),
        ("distance", "l2"),
        ("algorithm", "LLOYD"),
        ("num_trees", 3),
        ("max_num_comparisons", 100),
        ("verbose", False),
    ],
}


@pytest.mark.parametrize("name", sorted(CYVLFEAT_SIGNATURES))
def test_signature_is_cyvlfeats(name):
    params = list(inspect.signature(getattr(cy, name)).parameters.values())
    assert [(p.name, p.default) for p in params] == CYVLFEAT_SIGNATURES[name]
    assert all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params)
    assert getattr(cy, name).__doc__


def test_public_names():
    # the integer k-means functions are checked in test_ikmeans.py
    ikm = ["hikmeans", "hikmeans_push", "ikmeans", "ikmeans_push"]
    assert sorted(cy.__all__) == sorted([*CYVLFEAT_SIGNATURES, *ikm])


# ---- gmm -------------------------------------------------------------------------------


def direct_gmm(x, k, init, iterations=100, repetitions=1, seed_=None, bound=None, custom=None):
    """The same fit through pyvl.gmm's VLFeat API."""
    n, d = x.shape
    g = vl_gmm_new(VL_TYPES[x.dtype], d, k)
    try:
        vl_gmm_set_initialization(g, init)
        vl_gmm_set_max_num_iterations(g, iterations)
        vl_gmm_set_num_repetitions(g, repetitions)
        if bound is not None:
            if np.ndim(bound) == 0:
                vl_gmm_set_covariance_lower_bound(g, float(bound))
            else:
                vl_gmm_set_covariance_lower_bounds(g, np.asarray(bound, dtype=np.float64))
        if custom is not None:
            priors, means, covs = custom
            vl_gmm_set_priors(g, priors)
            vl_gmm_set_means(g, means)
            vl_gmm_set_covariances(g, covs)
        if seed_ is not None:
            seed(seed_)
        ll = vl_gmm_cluster(g, x)
        return (
            vl_gmm_get_means(g).reshape(k, d),
            vl_gmm_get_covariances(g).reshape(k, d),
            vl_gmm_get_priors(g),
            ll,
            vl_gmm_get_posteriors(g).reshape(n, k),
        )
    finally:
        vl_gmm_delete(g)


def custom_params(x, k, s=1):
    """(priors, means, covars): means at k distinct points, unit variances, uniform priors."""
    rng = np.random.default_rng(s)
    means = x[rng.choice(x.shape[0], size=k, replace=False)].copy()
    covars = np.ones((k, x.shape[1]), dtype=x.dtype)
    priors = np.full(k, 1.0 / k, dtype=x.dtype)
    return priors, means, covars


def assert_gmm_equal(a, b):
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gmm_shapes_dtypes_and_order(dtype):
    x = mixture_data(300, 4, 3, dtype, seed=1)
    seed(0)
    out = gmm(x, n_clusters=3)
    assert isinstance(out, tuple) and len(out) == 5
    means, covars, priors, ll, posteriors = out
    assert means.shape == (3, 4) and means.dtype == dtype
    assert covars.shape == (3, 4) and covars.dtype == dtype
    assert priors.shape == (3,) and priors.dtype == dtype
    assert type(ll) is float and np.isfinite(ll) and ll < 0
    assert posteriors.shape == (300, 3) and posteriors.dtype == dtype
    assert (covars > 0).all()
    np.testing.assert_allclose(priors.sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0, rtol=1e-4)
    assert all(arr.flags.c_contiguous for arr in (means, covars, priors, posteriors))


def test_gmm_default_n_clusters_is_10():
    x = mixture_data(200, 2, 4, np.float64, seed=2)
    seed(0)
    means, covars, priors, _, posteriors = gmm(x)
    assert means.shape == covars.shape == (10, 2)
    assert priors.shape == (10,) and posteriors.shape == (200, 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("init_mode, init", [("rand", VlGMMRand), ("kmeans", VlGMMKMeans)])
def test_gmm_equals_direct_api(dtype, init_mode, init):
    """Defaults: 100 EM iterations, 1 repetition, VLFeat's bound; same seed."""
    x = mixture_data(500, 5, 4, dtype, seed=3)
    seed(11)
    ours = gmm(x, 4, init_mode=init_mode)
    assert_gmm_equal(ours, direct_gmm(x, 4, init, iterations=100, seed_=11))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gmm_repetitions_and_iterations_equal_direct_api(dtype):
    x = mixture_data(400, 3, 5, dtype, seed=4)
    seed(5)
    ours = gmm(x, 5, max_num_iterations=7, n_repetitions=3)
    assert_gmm_equal(ours, direct_gmm(x, 5, VlGMMRand, iterations=7, repetitions=3, seed_=5))


def test_gmm_positional_arguments_in_cyvlfeats_order():
    x = mixture_data(200, 3, 3, np.float64, seed=5)
    seed(1)
    a = gmm(x, 3, 20, 0.01, "rand", None, None, None, 2, False)
    seed(1)
    b = gmm(x, n_clusters=3, max_num_iterations=20, covariance_bound=0.01, n_repetitions=2)
    assert_gmm_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gmm_rand_equals_vlfeat(vlfeat, dtype):
    """Same seed, 'rand' init: VLFeat's vl_gmm_cluster."""
    x = mixture_data(400, 3, 5, dtype, seed=9)
    seed(7)
    means, covars, priors, ll, posteriors = gmm(x, 5, max_num_iterations=30)
    ref = vlfeat.gmm_cluster(x, 5, VlGMMRand, seed=7, max_iterations=30)
    tol = VLFEAT_TOL[dtype]
    assert_close(means, ref["means"], tol)
    assert_close(covars, ref["covariances"], tol)
    assert_close(priors, ref["priors"], tol)
    assert_close(posteriors, ref["posteriors"], tol * 10)
    assert ll == pytest.approx(ref["cluster_return"], rel=1e-10 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gmm_custom_equals_vlfeat(vlfeat, dtype):
    x = mixture_data(600, 4, 4, dtype, seed=10)
    priors0, means0, covars0 = custom_params(x, 4)
    means, covars, priors, ll, posteriors = gmm(
        x, 4, max_num_iterations=20, init_priors=priors0, init_means=means0, init_covars=covars0
    )
    ref = vlfeat.gmm_cluster(
        x, 4, VlGMMCustom, seed=0, max_iterations=20, custom=(means0, covars0, priors0)
    )
    tol = VLFEAT_TOL[dtype]
    assert_close(means, ref["means"], tol)
    assert_close(covars, ref["covariances"], tol)
    assert_close(priors, ref["priors"], tol)
    assert_close(posteriors, ref["posteriors"], tol * 10)
    assert ll == pytest.approx(ref["cluster_return"], rel=1e-10 if dtype == np.float64 else 1e-5)


# custom initialisation: MATLAB's semantics (spec Q26)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gmm_init_arrays_select_custom(dtype):
    """The three arrays with init_mode left out: custom init (cyvlfeat ignores them or fails)."""
    x = mixture_data(300, 3, 3, dtype, seed=12)
    init = custom_params(x, 3)
    ours = gmm(x, 3, init_priors=init[0], init_means=init[1], init_covars=init[2])
    assert_gmm_equal(ours, direct_gmm(x, 3, VlGMMCustom, custom=init))
    explicit = gmm(
        x, 3, init_mode="custom", init_priors=init[0], init_means=init[1], init_covars=init[2]
    )
    assert_gmm_equal(ours, explicit)


def test_gmm_custom_init_is_used():
    """With 0 EM iterations the parameters are the given ones (only an E-step runs)."""
    x = mixture_data(300, 3, 3, np.float64, seed=13)
    priors0 = np.array([0.2, 0.3, 0.5])
    means0 = x[[0, 100, 200]].copy()
    covars0 = np.full((3, 3), 2.0)
    means, covars, priors, ll, posteriors = gmm(
        x, 3, max_num_iterations=0, init_priors=priors0, init_means=means0, init_covars=covars0
    )
    assert np.isfinite(ll)
    np.testing.assert_array_equal(means, means0)
    np.testing.assert_array_equal(covars, covars0)
    np.testing.assert_array_equal(priors, priors0)
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)


def test_gmm_custom_init_arrays_converted_to_data_dtype():
    """Lists and float64 arrays for float32 data, as cyvlfeat's np.require(dtype=x.dtype)."""
    x = mixture_data(200, 2, 2, np.float32, seed=14)
    priors0, means0, covars0 = custom_params(x, 2)
    a = gmm(
        x,
        2,
        init_priors=priors0.tolist(),
        init_means=means0.astype(np.float64),
        init_covars=covars0.tolist(),
    )
    b = gmm(x, 2, init_priors=priors0, init_means=means0, init_covars=covars0)
    assert_gmm_equal(a, b)
    assert a[0].dtype == np.float32


def test_gmm_custom_repetitions_all_start_from_init():
    """Several custom repetitions equal one (VLFeat ran the later ones on garbage, Q3)."""
    x = mixture_data(300, 3, 3, np.float64, seed=15)
    init = dict(zip(("init_priors", "init_means", "init_covars"), custom_params(x, 3)))
    assert_gmm_equal(gmm(x, 3, n_repetitions=3, **init), gmm(x, 3, n_repetitions=1, **init))


@pytest.mark.parametrize("missing", ["init_priors", "init_means", "init_covars"])
def test_gmm_partial_init_arrays_rejected(missing):
    x = mixture_data(100, 2, 2, np.float64, seed=16)
    init = dict(zip(("init_priors", "init_means", "init_covars"), custom_params(x, 2)))
    del init[missing]
    with pytest.raises(ValueError, match=missing):
        gmm(x, 2, **init)


@pytest.mark.parametrize("mode", ["rand", "kmeans"])
def test_gmm_init_arrays_with_explicit_noncustom_mode_rejected(mode):
    x = mixture_data(100, 2, 2, np.float64, seed=17)
    p, m, c = custom_params(x, 2)
    with pytest.raises(ValueError, match="conflicts"):
        gmm(x, 2, init_mode=mode, init_priors=p, init_means=m, init_covars=c)


def test_gmm_custom_mode_without_arrays_rejected():
    x = mixture_data(100, 2, 2, np.float64, seed=18)
    with pytest.raises(ValueError, match="custom"):
        gmm(x, 2, init_mode="custom")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda p, m, c: (p[:-1], m, c), "init_priors must have shape"),
        (lambda p, m, c: (p, m[:, :-1], c), "init_means must have shape"),
        (lambda p, m, c: (p, m, c.T), "init_covars must have shape"),
        (lambda p, m, c: (p, np.where(m == m[0, 0], np.nan, m), c), "init_means contains NaN"),
        (lambda p, m, c: (-p, m, c), "init_priors must be >= 0"),
        (lambda p, m, c: (p, m, -c), "init_covars must be >= 0"),
        (lambda p, m, c: (p.astype(str), m, c), "init_priors must be a real numeric"),
    ],
)
def test_gmm_bad_init_arrays(change, match):
    x = mixture_data(100, 3, 2, np.float64, seed=19)
    p, m, c = change(*custom_params(x, 2))
    with pytest.raises(ValueError, match=match):
        gmm(x, 2, init_priors=p, init_means=m, init_covars=c)


# covariance bound (spec Q27)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bound", [0.5, 1, np.float32(0.5), np.array(0.25), np.array([0.25])])
def test_gmm_scalar_covariance_bound(dtype, bound):
    x = mixture_data(300, 3, 3, dtype, seed=20)
    seed(3)
    ours = gmm(x, 3, max_num_iterations=25, covariance_bound=bound)
    assert_gmm_equal(
        ours, direct_gmm(x, 3, VlGMMRand, iterations=25, seed_=3, bound=float(np.ravel(bound)[0]))
    )
    assert (ours[1] >= np.float32(np.ravel(bound)[0])).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bound_dtype", [np.float32, np.float64, int])
def test_gmm_per_dimension_covariance_bound(dtype, bound_dtype):
    """A length-D array of any dtype is passed as doubles (cyvlfeat passed float32 as double*)."""
    x = mixture_data(300, 3, 3, dtype, seed=21)
    bound = np.array([4.0, 0.5, 0.0]).astype(bound_dtype)
    seed(4)
    ours = gmm(x, 3, max_num_iterations=25, covariance_bound=bound)
    seed(4)
    as_list = gmm(x, 3, max_num_iterations=25, covariance_bound=[float(b) for b in bound])
    assert_gmm_equal(ours, as_list)
    assert_gmm_equal(ours, direct_gmm(x, 3, VlGMMRand, iterations=25, seed_=4, bound=bound))
    covars = ours[1]
    assert (covars[:, 0] >= bound[0]).all() and (covars[:, 1] >= bound[1]).all()
    assert covars[:, 2].min() < 0.5  # not raised


@pytest.mark.parametrize("dtype", DTYPES)
def test_gmm_per_dimension_bound_equals_vlfeat(vlfeat, dtype):
    x = mixture_data(500, 3, 3, dtype, seed=22)
    p0, m0, c0 = custom_params(x, 3)
    bound = np.array([3.0, 0.25, 1e-3], dtype=np.float32)
    means, covars, priors, ll, _ = gmm(
        x,
        3,
        max_num_iterations=20,
        covariance_bound=bound,
        init_priors=p0,
        init_means=m0,
        init_covars=c0,
    )
    ref = vlfeat.gmm_em(x, m0, c0, p0, 20, bound=bound.astype(np.float64))
    tol = VLFEAT_TOL[dtype]
    assert_close(means, ref["means"], tol)
    assert_close(covars, ref["covariances"], tol)
    assert_close(priors, ref["priors"], tol)
    assert ll == pytest.approx(ref["em_return"], rel=1e-10 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize(
    "bound, match",
    [
        (np.ones(4), r"shape \(3,\)"),
        (np.ones((3, 1)), r"shape \(3,\)"),
        (-1.0, "finite and >= 0"),
        (np.array([0.1, -0.1, 0.1]), "finite and >= 0"),
        (float("nan"), "finite and >= 0"),
        ("big", "covariance_bound"),
    ],
)
def test_gmm_bad_covariance_bound(bound, match):
    x = mixture_data(100, 3, 2, np.float64, seed=23)
    with pytest.raises(ValueError, match=match):
        gmm(x, 2, covariance_bound=bound)


def test_gmm_loglikelihood_is_a_double_for_float32_data():
    """cyvlfeat typed LL as the data type, truncating it to float32."""
    x = mixture_data(500, 4, 3, np.float32, seed=24)
    seed(9)
    ll = gmm(x, 3)[3]
    ll_direct = direct_gmm(x, 3, VlGMMRand, seed_=9)[3]
    assert type(ll) is float
    assert ll == ll_direct
    assert ll != float(np.float32(ll))


@pytest.mark.parametrize("init_mode", ["rand", "kmeans"])
def test_gmm_recovers_two_clusters(init_mode):
    """Modelled on cyvlfeat's test_gmm: two well separated 2-D Gaussians."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 2))
    x[500:] = x[500:] * (2, 3) + (6, 6)
    seed(0)
    means, covars, priors, _, posteriors = gmm(x, n_clusters=2, init_mode=init_mode)
    order = np.argsort(means[:, 0])
    # Against the generating parameters only sampling error limits the agreement (a
    # variance from 500 points is known to about sqrt(2/500) = 6%, here 6.0%), so compare
    # with the statistics of the two halves themselves: EM's estimate differs from them by
    # the few points that fall on the other side (3 of 1000): 1.8% at most here.
    halves = (x[:500], x[500:])
    np.testing.assert_allclose(means[order], [h.mean(0) for h in halves], atol=0.03)
    np.testing.assert_allclose(covars[order], [h.var(0) for h in halves], rtol=0.03)
    np.testing.assert_allclose(covars[order], [[1, 1], [4, 9]], rtol=0.1)
    np.testing.assert_allclose(priors, [0.5, 0.5], atol=0.005)
    assert posteriors[0, order[0]] > 0.9 and posteriors[999, order[1]] > 0.9


def test_gmm_accepts_non_contiguous_and_fortran_data():
    x = mixture_data(300, 3, 3, np.float64, seed=25)
    seed(2)
    a = gmm(x, 3)
    seed(2)
    b = gmm(np.asfortranarray(x), 3)
    big = np.zeros((300, 6))
    big[:, ::2] = x
    seed(2)
    c = gmm(big[:, ::2], 3)
    assert_gmm_equal(a, b)
    assert_gmm_equal(a, c)


def test_gmm_init_mode_case_insensitive():
    x = mixture_data(200, 2, 2, np.float64, seed=26)
    seed(1)
    a = gmm(x, 2, init_mode="KMeans")
    seed(1)
    assert_gmm_equal(a, gmm(x, 2, init_mode="kmeans"))


@pytest.mark.parametrize(
    "x, kwargs, match",
    [
        (np.zeros((0, 3)), {}, "at least one row"),
        (np.arange(30.0), {"n_clusters": 2}, "2-D"),
        (np.ones((10, 2), dtype=np.int64), {"n_clusters": 2}, "float32 or float64"),
        (np.ones((10, 2), dtype=np.float16), {"n_clusters": 2}, "float32 or float64"),
        (np.where(np.eye(10, 2) > 0, np.nan, 1.0), {"n_clusters": 2}, "NaN or Inf"),
        (np.where(np.eye(10, 2) > 0, np.inf, 1.0), {"n_clusters": 2}, "NaN or Inf"),
        (None, {}, "x is required"),
    ],
)
def test_gmm_bad_data(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gmm(x, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"n_clusters": 21}, "n_clusters"),
        ({"n_clusters": 2.0}, "n_clusters"),
        ({"max_num_iterations": -1}, "max_num_iterations"),
        ({"n_repetitions": 0}, "n_repetitions"),
        ({"init_mode": "random"}, "init_mode"),
        ({"init_mode": None}, "init_mode"),
    ],
)
def test_gmm_bad_arguments(kwargs, match):
    x = mixture_data(20, 2, 2, np.float64, seed=27)
    with pytest.raises(ValueError, match=match):
        gmm(x, **{"n_clusters": 2, **kwargs})


def test_gmm_k_equal_n_and_numpy_integers():
    x = mixture_data(6, 2, 2, np.float64, seed=28)
    seed(0)
    means = gmm(x, np.int64(6), max_num_iterations=np.int32(3))[0]
    assert means.shape == (6, 2)


def test_gmm_verbose(capsys):
    x = mixture_data(200, 2, 2, np.float64, seed=29)
    p, m, c = custom_params(x, 2)
    gmm(
        x,
        2,
        max_num_iterations=3,
        covariance_bound=[0.5, 0.25],
        init_priors=p,
        init_means=m,
        init_covars=c,
        verbose=True,
    )
    out = capsys.readouterr().out
    assert "vl_gmm: initialization = custom" in out
    assert "vl_gmm: num. Gaussian modes = 2" in out
    assert "lower bound on covariance = [0.5 0.25]" in out
    assert "gmm: em: iteration" in out  # libgmm's own messages
    gmm(x, 2, max_num_iterations=3)
    assert capsys.readouterr().out == ""


# ---- fisher ------------------------------------------------------------------------------


def fisher_model(dtype, n=200, d=5, k=4, s=0):
    rng = np.random.default_rng(s)
    x = mixture_data(n, d, k, dtype, seed=s + 100)
    means = x[rng.choice(n, k, replace=False)].copy()
    covs = rng.uniform(0.5, 2.0, size=(k, d)).astype(dtype)
    priors = rng.uniform(0.5, 1.5, size=k)
    priors = (priors / priors.sum()).astype(dtype)
    return x, means, covs, priors


FISHER_OPTIONS = list(itertools.product([False, True], repeat=4))


def fisher_flags(normalized, square_root, improved, fast):
    return (
        (2 if normalized or improved else 0)
        | (1 if square_root or improved else 0)
        | (4 if fast else 0)
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_fisher_shape_and_dtype(dtype):
    x, m, c, p = fisher_model(dtype)
    enc = fisher(x, m, c, p)
    assert enc.shape == (2 * 4 * 5,) and enc.ndim == 1 and enc.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalized, square_root, improved, fast", FISHER_OPTIONS)
def test_fisher_options_equal_vl_fisher_encode_and_vlfeat(
    vlfeat, dtype, normalized, square_root, improved, fast
):
    x, m, c, p = fisher_model(dtype, s=3)
    enc = fisher(
        x, m, c, p, normalized=normalized, square_root=square_root, improved=improved, fast=fast
    )
    flags = fisher_flags(normalized, square_root, improved, fast)
    np.testing.assert_array_equal(enc, vl_fisher_encode(m, c, p, x, flags))
    assert_close(enc, c_fisher(vlfeat, m, c, p, x, flags)[0], ENC_TOL[dtype])
    if normalized or improved:
        assert np.linalg.norm(enc.astype(np.float64)) == pytest.approx(1.0, rel=1e-5)


def test_fisher_improved_is_normalized_square_root():
    x, m, c, p = fisher_model(np.float64, s=4)
    np.testing.assert_array_equal(
        fisher(x, m, c, p, improved=True), fisher(x, m, c, p, normalized=True, square_root=True)
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_fisher_arange_model_equals_vlfeat(vlfeat, dtype):
    """The set-up of cyvlfeat's encoding test (points 0..N*D-1, means 0..K*D-1, unit
    variances, uniform priors), checked against VLFeat itself."""
    n, k, d = 21, 3, 5
    x = np.arange(n * d, dtype=dtype).reshape(n, d)
    mu = np.arange(k * d, dtype=dtype).reshape(k, d)
    sigma2 = np.ones((k, d), dtype=dtype)
    prior = np.full(k, 1.0 / k, dtype=dtype)
    enc = fisher(x, mu, sigma2, prior)
    assert_close(enc, c_fisher(vlfeat, mu, sigma2, prior, x, 0)[0], ENC_TOL[dtype])


def test_fisher_no_descriptors_is_zeros():
    _, m, c, p = fisher_model(np.float32)
    enc = fisher(np.zeros((0, 5), dtype=np.float32), m, c, p, improved=True)
    np.testing.assert_array_equal(enc, np.zeros(40, dtype=np.float32))


def test_fisher_verbose(capsys):
    x, m, c, p = fisher_model(np.float64)
    fisher(x, m, c, p, improved=True, verbose=True)
    out = capsys.readouterr().out
    assert "vl_fisher: code dimension: 40" in out
    assert "vl_fisher: square root:    True" in out
    assert "sparsity of assignments" in out
    fisher(x, m, c, p)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x, m, c, p: (None, m, c, p), "x is required"),
        (lambda x, m, c, p: (x, m, None, p), "covariances is required"),
        (lambda x, m, c, p: (x.astype(np.int32), m, c, p), "float32 or float64"),
        (lambda x, m, c, p: (x, m.astype(np.float32), c, p), "means has dtype float32"),
        (lambda x, m, c, p: (x, m, c, p.astype(np.float32)), "priors has dtype float32"),
        (lambda x, m, c, p: (x, m, c[:, :-1], p), "covariances must have the shape"),
        (lambda x, m, c, p: (x, m, c[:-1], p), "covariances must have the shape"),
        (lambda x, m, c, p: (x, m, c, p[:, None]), "priors must have shape"),
        (lambda x, m, c, p: (x, m, c, p[:-1]), "priors must have shape"),
        (lambda x, m, c, p: (x[:, :-1], m, c, p), "same dimension"),
        (lambda x, m, c, p: (x.ravel(), m, c, p), "2-D"),
        (lambda x, m, c, p: (x, m, c * 0, p), "covariance"),  # libgmm: covariances <= 0
    ],
)
def test_fisher_bad_input(change, match):
    args = change(*fisher_model(np.float64))
    with pytest.raises(ValueError, match=match):
        fisher(*args)


# ---- vlad ----------------------------------------------------------------------------------


def vlad_model(dtype, n=150, d=4, k=5, s=0, soft=False):
    rng = np.random.default_rng(s)
    x = mixture_data(n, d, k, dtype, seed=s + 200)
    means = x[rng.choice(n, k, replace=False)].copy()
    if soft:
        a = rng.uniform(size=(n, k)).astype(dtype)
    else:
        nearest = ((x[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
        a = np.eye(k, dtype=dtype)[nearest]
    return x, means, a


VLAD_OPTIONS = list(itertools.product([False, True], repeat=4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_vlad_shape_dtype_and_default_normalisation(dtype):
    x, m, a = vlad_model(dtype)
    enc = vlad(x, m, a)
    assert enc.shape == (5 * 4,) and enc.ndim == 1 and enc.dtype == dtype
    assert np.linalg.norm(enc.astype(np.float64)) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize(
    "unnormalized, square_root, normalize_components, normalize_mass", VLAD_OPTIONS
)
def test_vlad_options_equal_vl_vlad_encode_and_vlfeat(
    vlfeat, dtype, soft, unnormalized, square_root, normalize_components, normalize_mass
):
    x, m, a = vlad_model(dtype, s=1, soft=soft)
    enc = vlad(
        x,
        m,
        a,
        unnormalized=unnormalized,
        square_root=square_root,
        normalize_components=normalize_components,
        normalize_mass=normalize_mass,
    )
    flags = (
        (1 if normalize_components else 0)
        | (2 if square_root else 0)
        | (4 if unnormalized else 0)
        | (8 if normalize_mass else 0)
    )
    np.testing.assert_array_equal(enc, vl_vlad_encode(m, x, a, flags))
    assert_close(enc, c_vlad(vlfeat, m, x, a, flags), ENC_TOL[dtype])


def test_vlad_arange_model_equals_vlfeat(vlfeat):
    """The set-up of cyvlfeat's encoding test (soft weights i/(K*N)), against VLFeat."""
    n, k, d = 21, 3, 5
    x = np.arange(n * d, dtype=np.float32).reshape(n, d)
    mu = np.arange(k * d, dtype=np.float32).reshape(k, d)
    assign = (np.arange(n * k, dtype=np.float32) / (k * n)).reshape(n, k)
    enc = vlad(x, mu, assign)
    assert_close(enc, c_vlad(vlfeat, mu, x, assign, 0), ENC_TOL[np.float32])


def test_vlad_verbose_code_dimension_is_k_times_d(capsys):
    x, m, a = vlad_model(np.float64)
    vlad(x, m, a, square_root=True, verbose=True)
    out = capsys.readouterr().out
    assert "vl_vlad: code dimension:       20" in out
    assert "vl_vlad: square root:          1" in out
    vlad(x, m, a)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x, m, a: (None, m, a), "x is required"),
        (lambda x, m, a: (x, m, None), "assignments is required"),
        (lambda x, m, a: (x, m, a[:-1]), r"assignments must have shape \(150, 5\)"),
        (lambda x, m, a: (x, m, a[:, :-1]), r"assignments must have shape \(150, 5\)"),
        (lambda x, m, a: (x, m, a.T), r"assignments must have shape \(150, 5\)"),
        (lambda x, m, a: (x[:, :-1], m, a), "same dimension"),
        (lambda x, m, a: (x, m.astype(np.float32), a), "means has dtype float32"),
        (lambda x, m, a: (x, m, a.astype(np.float32)), "assignments has dtype float32"),
        (lambda x, m, a: (x.astype(np.int64), m, a), "float32 or float64"),
        (lambda x, m, a: (x, m[0], a), "means must be a 2-D"),
    ],
)
def test_vlad_bad_input(change, match):
    args = change(*vlad_model(np.float64))
    with pytest.raises(ValueError, match=match):
        vlad(*args)


# ---- kmeans ---------------------------------------------------------------------------------

KM_INITS = {"RANDSEL": VlKMeansRandomSelection, "PLUSPLUS": VlKMeansPlusPlus}
KM_ALGOS = {"LLOYD": VlKMeansLloyd, "ELKAN": VlKMeansElkan, "ANN": VlKMeansANN}
KM_DISTANCES = {"l2": VlDistanceL2, "l1": VlDistanceL1}


def direct_kmeans(
    x,
    k,
    seed_,
    distance="l2",
    initialization="RANDSEL",
    algorithm="LLOYD",
    repetitions=1,
    iterations=100,
    variation=None,
):
    km = vl_kmeans_new(VL_TYPES[x.dtype], KM_DISTANCES[distance])
    try:
        vl_kmeans_set_initialization(km, KM_INITS[initialization])
        vl_kmeans_set_algorithm(km, KM_ALGOS[algorithm])
        vl_kmeans_set_num_repetitions(km, repetitions)
        vl_kmeans_set_max_num_iterations(km, iterations)
        if variation is not None:
            vl_kmeans_set_min_energy_variation(km, variation)
        seed(seed_)
        vl_kmeans_cluster(km, x, x.shape[1], None, k)
        return vl_kmeans_get_centers(km).reshape(k, x.shape[1])
    finally:
        vl_kmeans_delete(km)


def vlfeat_kmeans(api, x, k, seed_, initialization, algorithm, repetitions=1):
    km = api.kmeans_new(
        x.dtype,
        VlDistanceL2,
        initialization=KM_INITS[initialization],
        algorithm=KM_ALGOS[algorithm],
        num_repetitions=repetitions,
    )
    try:
        api.seed(seed_)
        xc = np.ascontiguousarray(x)
        api.lib.vl_kmeans_cluster(km, xc.ctypes.data_as(ctypes.c_void_p), x.shape[1], x.shape[0], k)
        return api.kmeans_centers(km, x.dtype)
    finally:
        api.kmeans_delete(km)


def separated_data(dtype, n=50, k=4, d=8, noise=0.1, s=0):
    """cyvlfeat-test-like data: point i near true center i % k."""
    rng = np.random.default_rng(s)
    centers = rng.integers(-40, 40, size=(k, d)).astype(dtype)
    while len({tuple(c) for c in centers}) < k:
        centers = rng.integers(-40, 40, size=(k, d)).astype(dtype)
    data = (centers[np.arange(n) % k] + rng.random((n, d)) * noise).astype(dtype)
    return centers, data


def set_distance(a, b):
    """Largest distance from a center of one set to the closest center of the other."""
    dist = np.sqrt(((a[:, None, :] - b[None]) ** 2).sum(-1))
    return max(dist.min(0).max(), dist.min(1).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_returns_centers_only(dtype):
    _, data = separated_data(dtype)
    seed(0)
    centers = kmeans(data, 4)
    assert isinstance(centers, np.ndarray)
    assert centers.shape == (4, 8) and centers.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("initialization", ["RANDSEL", "PLUSPLUS"])
@pytest.mark.parametrize("algorithm", ["LLOYD", "ELKAN", "ANN"])
@pytest.mark.parametrize("distance", ["l2", "l1"])
def test_kmeans_equals_direct_api(dtype, initialization, algorithm, distance):
    x = mixture_data(600, 5, 6, dtype, seed=30)
    seed(8)
    ours = kmeans(
        x,
        6,
        distance=distance,
        initialization=initialization,
        algorithm=algorithm,
        num_repetitions=2,
    )
    ref = direct_kmeans(x, 6, 8, distance, initialization, algorithm, repetitions=2)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("initialization", ["RANDSEL", "PLUSPLUS"])
@pytest.mark.parametrize("algorithm", ["LLOYD", "ELKAN"])
def test_kmeans_equals_vlfeat(vlfeat, dtype, initialization, algorithm):
    x = mixture_data(1000, 6, 8, dtype, seed=31)
    seed(11)
    ours = kmeans(x, 8, initialization=initialization, algorithm=algorithm, num_repetitions=2)
    ref = vlfeat_kmeans(vlfeat, x, 8, 11, initialization, algorithm, repetitions=2)
    if dtype == np.float64:
        np.testing.assert_array_equal(ours, ref)
    else:
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_kmeans_min_energy_variation():
    """0 (the default) keeps VLFeat's 1e-4; a positive value is used (an int is fine)."""
    x = mixture_data(2000, 4, 10, np.float64, seed=32)
    seed(1)
    default = kmeans(x, 10)
    np.testing.assert_array_equal(default, direct_kmeans(x, 10, 1, variation=None))
    seed(1)
    np.testing.assert_array_equal(kmeans(x, 10, min_energy_variation=0), default)
    seed(1)
    loose = kmeans(x, 10, min_energy_variation=0.2)
    np.testing.assert_array_equal(loose, direct_kmeans(x, 10, 1, variation=0.2))
    seed(1)
    np.testing.assert_array_equal(
        kmeans(x, 10, min_energy_variation=1), direct_kmeans(x, 10, 1, variation=1.0)
    )


def test_kmeans_max_num_iterations():
    x = mixture_data(500, 3, 5, np.float64, seed=33)
    seed(2)
    np.testing.assert_array_equal(
        kmeans(x, 5, max_num_iterations=2), direct_kmeans(x, 5, 2, iterations=2)
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", ["LLOYD", "ELKAN", "ANN"])
def test_kmeans_then_quantize_recovers_clusters(dtype, algorithm):
    """Modelled on cyvlfeat's kmeans tests: the centers are found and every point
    is assigned back to its own cluster."""
    n = 5000 if algorithm == "ANN" else 50
    true_centers, data = separated_data(dtype, n=n, s=1)
    seed(3)
    found = kmeans(data, 4, initialization="PLUSPLUS", algorithm=algorithm)
    assert set_distance(true_centers, found) <= 0.1 * np.sqrt(8)
    a = kmeans_quantize(data, found, algorithm=algorithm)
    assert a.dtype == np.uint32 and a.shape == (n,)
    assert len(set(a[:4].tolist())) == 4
    np.testing.assert_array_equal(a, a[np.arange(n) % 4])


def test_kmeans_options_case_insensitive():
    x = mixture_data(300, 3, 4, np.float64, seed=34)
    seed(5)
    a = kmeans(x, 4, distance="L1", initialization="plusplus", algorithm="elkan")
    seed(5)
    b = kmeans(x, 4, distance="l1", initialization="PLUSPLUS", algorithm="ELKAN")
    np.testing.assert_array_equal(a, b)


def test_kmeans_verbose(capsys):
    x = mixture_data(300, 3, 4, np.float64, seed=35)
    kmeans(x, 4, initialization="PLUSPLUS", max_num_iterations=3, verbose=True)
    out = capsys.readouterr().out
    assert "kmeans: Initialization = PLUSPLUS" in out
    assert "kmeans: MinEnergyVariation = 0.0001" in out
    assert "kmeans: Lloyd iter" in out  # libgmm's own messages
    kmeans(x, 4)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "data, kwargs, match",
    [
        (np.arange(20.0), {}, "2-D"),
        (np.ones((20, 2), dtype=np.int32), {}, "float32 or float64"),
        (np.where(np.eye(20, 2) > 0, np.nan, 1.0), {}, "NaN or Inf"),
        (None, {}, "data is required"),
        (np.ones((20, 2)), {"num_centers": 21}, "num_centers"),
        (np.ones((20, 2)), {"num_centers": 0}, "num_centers"),
        (np.ones((20, 2)), {"num_centers": 2.5}, "num_centers"),
        (np.ones((20, 2)), {"distance": "cosine"}, "distance"),
        (np.ones((20, 2)), {"initialization": "RAND"}, "initialization"),
        (np.ones((20, 2)), {"algorithm": "HAMERLY"}, "algorithm"),
        (np.ones((20, 2)), {"num_repetitions": 0}, "num_repetitions"),
        (np.ones((20, 2)), {"num_trees": 0}, "num_trees"),
        (np.ones((20, 2)), {"max_num_comparisons": 0}, "max_num_comparisons"),
        (np.ones((20, 2)), {"max_num_iterations": 0}, "max_num_iterations"),
        (np.ones((20, 2)), {"max_num_iterations": 1.5}, "max_num_iterations"),
        (np.ones((20, 2)), {"min_energy_variation": -0.1}, "min_energy_variation"),
        (np.ones((20, 2)), {"min_energy_variation": "0.1"}, "min_energy_variation"),
    ],
)
def test_kmeans_bad_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kmeans(data, **{"num_centers": 2, **kwargs})


# ---- kmeans_quantize -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("distance", ["l2", "l1"])
@pytest.mark.parametrize("algorithm", ["LLOYD", "ELKAN"])
def test_kmeans_quantize_is_nearest_center(dtype, distance, algorithm):
    rng = np.random.default_rng(40)
    data = rng.normal(size=(400, 6)).astype(dtype)
    centers = rng.normal(size=(9, 6)).astype(dtype)
    a = kmeans_quantize(data, centers, distance=distance, algorithm=algorithm)
    assert a.dtype == np.uint32 and a.shape == (400,)
    diff = data[:, None, :].astype(np.float64) - centers[None].astype(np.float64)
    dist = (diff**2).sum(-1) if distance == "l2" else np.abs(diff).sum(-1)
    np.testing.assert_array_equal(a, dist.argmin(1))
    km = vl_kmeans_new(VL_TYPES[np.dtype(dtype)], KM_DISTANCES[distance])
    vl_kmeans_set_centers(km, centers, 6, 9)
    np.testing.assert_array_equal(a, vl_kmeans_quantize(km, data)[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_quantize_ann_on_separated_data(dtype):
    true_centers, data = separated_data(dtype, n=2000, k=6, s=2)
    seed(0)
    a = kmeans_quantize(data, true_centers, algorithm="ANN", num_trees=2, max_num_comparisons=10)
    np.testing.assert_array_equal(a, np.arange(2000) % 6)
    assert a.dtype == np.uint32


def test_kmeans_quantize_verbose_accepted():
    _, data = separated_data(np.float32)
    centers = data[:4].copy()
    np.testing.assert_array_equal(kmeans_quantize(data, centers, verbose=True), np.arange(50) % 4)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x, c: (x, c.astype(np.float32)), "same dtype"),
        (lambda x, c: (x, c[:, :-1]), "same number of columns"),
        (lambda x, c: (x.ravel(), c), "2-D"),
        (lambda x, c: (x.astype(np.int16), c), "float32 or float64"),
        (lambda x, c: (x, c[:0]), "at least one row"),
        (lambda x, c: (x[:0], c), "at least one row"),
        (lambda x, c: (x, np.where(c == c[0, 0], np.inf, c)), "centers contains NaN or Inf"),
        (lambda x, c: (None, c), "data is required"),
    ],
)
def test_kmeans_quantize_bad_input(change, match):
    _, data = separated_data(np.float64)
    args = change(data, data[:4].copy())
    with pytest.raises(ValueError, match=match):
        kmeans_quantize(*args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"distance": "l3"}, "distance"),
        ({"algorithm": "KDTREE"}, "algorithm"),
        ({"num_trees": 0}, "num_trees"),
        ({"max_num_comparisons": -5}, "max_num_comparisons"),
    ],
)
def test_kmeans_quantize_bad_options(kwargs, match):
    _, data = separated_data(np.float64)
    with pytest.raises(ValueError, match=match):
        kmeans_quantize(data, data[:4].copy(), **kwargs)
