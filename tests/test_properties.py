"""Property tests: the Python API on generated problems.

Hypothesis generates small shapes (N <= 40, D <= 6, K <= 4), both dtypes and
finite values within +-1e3, with duplicate rows and constant columns, and
checks invariants that must hold for every input:

* EM: priors >= 0 summing to 1, covariances >= the lower bound (rounded to the
  dtype), posterior rows summing to 1 in [0, 1], a finite log-likelihood;
* the log-likelihood over EM iterations, exactly where it must not decrease
  (see test_em_loglikelihood_does_not_decrease);
* stateless posteriors = the direct-form float64 reference, within the
  E-step error bound of test_robustness.py;
* Fisher and VLAD vectors of unit L2 norm when normalised, zeros for no
  descriptors; batch = single, bit for bit; 1 thread = 2 threads, bit for bit;
* k-means energy not increasing over Lloyd and Elkan iterations.

Runs are reproducible: ``derandomize=True`` (examples are a function of the
test alone) and no example database.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import reference as ref
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_robustness import (
    F32,
    F64,
    MSTEP_THRESHOLD,
    U,
    all_finite,
    em_run,
    estep,
    estep_bound,
    gmm_params,
    ulp,
    vt,
)

import pyvl
from pyvl.bovw import VL_BOVW_FLAG_SOFT, bovw_encode, bovw_encode_batch
from pyvl.fisher import VL_FISHER_FLAG_NORMALIZED, fisher_encode_batch, vl_fisher_encode
from pyvl.gmm import (
    VlGMMKMeans,
    VlGMMRand,
    vl_get_rand,
    vl_gmm_cluster,
    vl_gmm_get_posteriors,
    vl_gmm_new,
    vl_gmm_set_covariance_lower_bound,
    vl_gmm_set_initialization,
    vl_gmm_set_max_num_iterations,
    vl_rand_seed,
)
from pyvl.kmeans import (
    VlDistanceL2,
    VlKMeansElkan,
    VlKMeansLloyd,
    VlKMeansPlusPlus,
    vl_kmeans_cluster,
    vl_kmeans_get_centers,
    vl_kmeans_init_centers_plus_plus,
    vl_kmeans_new,
    vl_kmeans_quantize,
    vl_kmeans_refine_centers,
    vl_kmeans_set_algorithm,
    vl_kmeans_set_centers,
    vl_kmeans_set_initialization,
    vl_kmeans_set_max_num_iterations,
)
from pyvl.vlad import VL_VLAD_FLAG_UNNORMALIZED, vl_vlad_encode, vlad_encode_batch

PROPS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---- strategies ----------------------------------------------------------------------


@st.composite
def problems(draw, max_n=40, max_d=6, max_k=4, min_n=1):
    """(x (N, D) of float32 or float64, K): values in +-1e3 (float32-representable,
    so both dtypes see the same numbers), some rows duplicated, some columns
    constant."""
    dtype = draw(st.sampled_from([F32, F64]))
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(1, max_d))
    k = draw(st.integers(1, min(max_k, n)))
    values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=32)
    x = draw(arrays(F32, (n, d), elements=values)).astype(dtype)
    for j in range(d):  # constant columns
        if draw(st.booleans()) and draw(st.booleans()):
            x[:, j] = x[0, j]
    dup = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n // 2))
    for a, b in dup:  # duplicate rows
        x[a] = x[b]
    return np.ascontiguousarray(x), k


@st.composite
def models(draw, d, k, dtype):
    """A GMM: means within the data range, variances in [1e-3, 1e4], priors from
    positive weights with some exact zeros and some below 1e-6 (at least one
    usable component)."""
    means = draw(arrays(F32, (k, d), elements=st.floats(-1e3, 1e3, width=32)))
    covs = draw(arrays(F32, (k, d), elements=st.floats(float(F32(1e-3)), 1e4, width=32)))
    w = np.array(draw(st.lists(st.sampled_from([0.0, 1e-8, 0.1, 0.5, 1.0, 3.0]), min_size=k, max_size=k)))
    if w.max() < 0.1:
        w[draw(st.integers(0, k - 1))] = 1.0
    priors = w / w.sum()
    return means.astype(dtype), covs.astype(dtype), priors.astype(dtype)


def data_and_model():
    """(x, K, (means, covariances, priors)) for a generated problem."""
    return problems().flatmap(
        lambda p: st.tuples(st.just(p[0]), st.just(p[1]), models(p[0].shape[1], p[1], p[0].dtype.type))
    )


def check_posteriors(q, k, dtype):
    q = np.asarray(q, F64)
    assert np.all((q >= 0) & (q <= 1))
    assert np.all(np.abs(q.sum(axis=1) - 1) <= 2 * (k + 6) * U[dtype])


@contextlib.contextmanager
def num_threads(n):
    pyvl.vl_set_num_threads(n)
    try:
        yield
    finally:
        pyvl.vl_set_num_threads(0)


# ---- EM -------------------------------------------------------------------------------


@PROPS
@given(problems(), st.sampled_from([VlGMMKMeans, VlGMMRand]), st.sampled_from([1e-4, 1e-2, 1.0]))
def test_em_invariants(problem, init, bound):
    """After vl_gmm_cluster: priors >= 0 sum to 1 (within 2 K u: K values
    rounded once each), covariances >= dtype(bound) (a variance >= the bound
    rounds to >= the rounded bound), posterior rows sum to 1 within the
    log-sum-exp rounding, LL finite; and pyvl.GaussianMixture's likewise."""
    x, k = problem
    dtype = x.dtype.type
    n, d = x.shape
    g = vl_gmm_new(vt(dtype), d, k)
    vl_gmm_set_initialization(g, init)
    vl_gmm_set_covariance_lower_bound(g, bound)
    vl_gmm_set_max_num_iterations(g, 10)
    vl_rand_seed(vl_get_rand(), 1)
    ll = vl_gmm_cluster(g, x)
    means, covs, priors = gmm_params(g)
    assert all_finite(ll, means, covs, priors)
    assert np.all(priors >= 0)
    assert abs(float(np.sum(priors, dtype=F64)) - 1) <= 2 * k * U[dtype]
    assert np.all(covs >= dtype(bound))
    check_posteriors(vl_gmm_get_posteriors(g).reshape(n, k), k, dtype)
    if n >= 2 or k == 1:
        gm = pyvl.GaussianMixture(k, covariance_lower_bound=bound, max_iter=10, tol=0.0, random_state=0,
                                  covariance_type="diag", em="vlfeat", reg_covar=0.0)  # VLFeat's
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning (tol=0)
            gm.fit(x)
        assert all_finite(gm.weights_, gm.means_, gm.covariances_, gm.lower_bounds_)
        assert abs(float(np.sum(gm.weights_, dtype=F64)) - 1) <= 2 * k * U[dtype]
        assert np.all(gm.covariances_ >= dtype(bound))
        check_posteriors(gm.predict_proba(x), k, dtype)


def log_p(x, means, covs, priors):
    """log pi_k + log N(x_i; mu_k, s2_k) in float64 (reference.log_joint)."""
    return ref.log_joint(x, means, covs, priors)


@PROPS
@given(problems(min_n=2), st.sampled_from([1e-4, 1e-1]), st.integers(0, 2**31 - 1))
def test_em_loglikelihood_does_not_decrease(problem, bound, seed):
    """One vl_gmm_em iteration at a time (restarts of empty modes happen only
    from the third iteration of a call, so never here): the log-likelihood
    satisfies LL(t+1) - LL(t) >= dR - slack, where

    * dR = sum over the posteriors the M-step dropped (below 1e-2/K, by
      libgmm's own posteriors) of q_ik (log p_ik(t+1) - log p_ik(t)), with q the
      exact posteriors at t and log p = log pi + log N. VLFeat's M-step
      maximises the expected log-likelihood of the kept posteriors only
      (bounded variances: the bound is the constrained maximiser of each
      variance term, so clamping keeps EM monotone); Jensen's inequality then
      gives LL(t+1) - LL(t) >= dR. With nothing dropped (e.g. K = 1, or
      posteriors of exactly 0 and 1) the LL cannot decrease.
    * slack = the E-step bounds at t and t+1 (test_robustness.estep_bound), the
      kept posteriors' errors times |log p(t+1) - log p(t)|, and the rounding
      of the new parameters to the dtype (second order around the maximiser).
    """
    x, k = problem
    dtype = x.dtype.type
    n, d = x.shape
    rng = np.random.default_rng(seed)
    means = x[rng.choice(n, size=k, replace=False)].copy()
    covs = np.maximum(x.astype(F64).var(axis=0), bound) * rng.uniform(0.5, 2, size=(k, d))
    params = (means, np.maximum(covs, bound).astype(dtype), np.full(k, 1.0 / k, dtype))
    q_lib, ll = estep(x, *params)
    for _ in range(4):
        ll_new, *new, post = em_run(x, *params, iterations=1, bound=bound)
        new = tuple(new)
        q, ll_i, tol_q, tol_ll = estep_bound(x, *params, dtype)
        _, _ll_i_new, _, tol_ll_new = estep_bound(x, *new, dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            dlogp = log_p(x, *new) - log_p(x, *params)
            dropped = q_lib < MSTEP_THRESHOLD / k
            terms = np.where(q > 0, q * dlogp, 0.0)
            dr = np.sum(np.where(dropped, terms, 0.0))
            kept_err = np.sum(np.where(~dropped & (q > 0), tol_q * np.abs(dlogp), 0.0))
        if not np.isfinite(dr):  # a dropped posterior under a vanished component: no bound
            params, q_lib, ll = new, post.astype(F64), ll_new
            continue
        nm, nc, npri = (np.asarray(a, F64) for a in new)
        s0 = n * npri
        rounding = 2 * (
            0.5 * np.sum(s0[:, None] * ((ulp(nm, dtype) / np.sqrt(nc)) ** 2 + 0.5 * (ulp(nc, dtype) / nc) ** 2))
            + n * np.sum(np.where(npri > 0, ulp(npri, dtype) ** 2 / np.where(npri > 0, npri, 1), 0))
        )
        slack = tol_ll.sum() + tol_ll_new.sum() + kept_err + rounding + 4 * n * U[F64] * np.abs(ll_i).sum()
        assert ll_new - ll >= dr - slack, (ll, ll_new, dr, slack)
        if not np.any(dropped & (q > 0)):
            assert ll_new >= ll - slack
        params, q_lib, ll = new, post.astype(F64), ll_new


@PROPS
@given(problems(min_n=2, max_k=1))
def test_gaussian_mixture_k1_lower_bounds_do_not_decrease(problem):
    """K = 1: nothing is dropped and no mode restarts, so GaussianMixture's
    per-iteration log-likelihoods (the iteration callback) never decrease
    beyond rounding (2 (D + 8) u per point and iteration, the E-step's size
    for one component near its optimum)."""
    import warnings

    x, _ = problem
    dtype = x.dtype.type
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = pyvl.GaussianMixture(1, max_iter=8, tol=0.0, init_params="random_from_data", random_state=0,
                                  covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(x)
    lb = np.array(gm.lower_bounds_)
    assert np.all(np.isfinite(lb))
    tol = 2 * (x.shape[1] + 8) * U[dtype] * (1 + np.abs(lb[:-1]))
    assert np.all(np.diff(lb) >= -tol)


# ---- stateless posteriors --------------------------------------------------------------


@PROPS
@given(data_and_model())
def test_posteriors_match_reference(case):
    """vl_get_gmm_data_posteriors_f/_d = the direct-form float64 reference within
    the a priori E-step bound (test_robustness.estep_bound); rows sum to 1."""
    x, k, model = case
    dtype = x.dtype.type
    q, ll = estep(x, *model)
    q_ref, ll_ref, tol_q, tol_ll = estep_bound(x, *model, dtype)
    assert np.all(np.abs(q - q_ref) <= tol_q)
    assert abs(ll - ll_ref.sum()) <= tol_ll.sum() + len(x) * U[F64] * np.abs(ll_ref).sum()
    check_posteriors(q, k, dtype)


# ---- encoders ---------------------------------------------------------------------------


@PROPS
@given(data_and_model(), st.integers(0, 7))
def test_fisher_norm_and_empty(case, flags):
    """Fisher vectors: finite; unit L2 norm with NORMALIZED (unless the vector is
    zero: the norm is taken over max(norm, 1e-12)); zeros for no descriptors."""
    x, _k, (means, covs, priors) = case
    dtype = x.dtype.type
    enc = vl_fisher_encode(means, covs, priors, x, flags).astype(F64)
    assert all_finite(enc)
    if flags & VL_FISHER_FLAG_NORMALIZED:
        raw = vl_fisher_encode(means, covs, priors, x, flags & ~VL_FISHER_FLAG_NORMALIZED).astype(F64)
        if np.linalg.norm(raw) > 1e-12:
            assert abs(np.linalg.norm(enc) - 1) <= 2 * enc.size * U[dtype]
    empty = vl_fisher_encode(means, covs, priors, np.zeros((0, x.shape[1]), dtype), flags)
    assert empty.shape == enc.shape and not np.any(empty)


@PROPS
@given(problems(), st.integers(0, 15), st.booleans(), st.integers(0, 2**31 - 1))
def test_vlad_norm_and_empty(problem, flags, soft, seed):
    x, k = problem
    dtype = x.dtype.type
    rng = np.random.default_rng(seed)
    centers = x[rng.choice(len(x), size=k, replace=False)]
    if soft:
        w = rng.dirichlet(np.ones(k), size=len(x)).astype(dtype)
    else:
        w = np.eye(k, dtype=dtype)[rng.integers(0, k, size=len(x))]
    enc = vl_vlad_encode(centers, x, w, flags).astype(F64)
    assert all_finite(enc)
    if not flags & VL_VLAD_FLAG_UNNORMALIZED:
        raw = vl_vlad_encode(centers, x, w, VL_VLAD_FLAG_UNNORMALIZED).astype(F64)
        if np.abs(raw).max() > 1e-6:  # (a zero vector stays zero)
            assert abs(np.linalg.norm(enc) - 1) <= 4 * enc.size * U[dtype]
    empty = vl_vlad_encode(centers, np.zeros((0, x.shape[1]), dtype), np.zeros((0, k), dtype), flags)
    assert not np.any(empty)


@PROPS
@given(data_and_model(), st.lists(st.integers(0, 40), min_size=1, max_size=4), st.integers(0, 15))
def test_batch_equals_single(case, cuts, flags):
    """Batch encoders give each image's single encoding, bit for bit (images
    given by cutting the data at arbitrary points, empty images included)."""
    x, k, (means, covs, priors) = case
    bounds = sorted({0, len(x), *[min(c, len(x)) for c in cuts]})
    images = [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])] + [x[:0]]
    fb = fisher_encode_batch(means, covs, priors, images, flags & 7)
    vb = vlad_encode_batch(means, images, None, flags)
    bb = bovw_encode_batch(means, images, sigma=10.0, flags=flags | VL_BOVW_FLAG_SOFT)
    for j, img in enumerate(images):
        np.testing.assert_array_equal(fb[j], vl_fisher_encode(means, covs, priors, img, flags & 7))
        np.testing.assert_array_equal(bb[j], bovw_encode(means, img, sigma=10.0, flags=flags | VL_BOVW_FLAG_SOFT))
        if len(img):
            km = vl_kmeans_new(vt(x.dtype.type), VlDistanceL2)
            vl_kmeans_set_centers(km, means, x.shape[1], k)
            a, _ = vl_kmeans_quantize(km, img)
            onehot = np.eye(k, dtype=x.dtype)[a]
            np.testing.assert_array_equal(vb[j], vl_vlad_encode(means, img, onehot, flags))
        else:
            assert not np.any(vb[j])


# ---- threads ------------------------------------------------------------------------------


@PROPS
@given(data_and_model(), st.integers(30, 80))
def test_one_and_two_threads_agree(case, reps):
    """1 and 2 threads give identical bits: EM, the stateless E-step, Fisher,
    VLAD and k-means (the data is tiled to a few thousand rows so that the
    parallel paths run: several E-step blocks and statistics slabs)."""
    x, k, model = case
    big = np.ascontiguousarray(np.tile(x, (reps, 1)))
    assume(len(big) >= k)
    dtype = x.dtype.type
    _n, d = big.shape
    results = []
    for nt in (1, 2):
        with num_threads(nt):
            g = vl_gmm_new(vt(dtype), d, k)
            vl_gmm_set_max_num_iterations(g, 3)
            vl_rand_seed(vl_get_rand(), 3)
            ll = vl_gmm_cluster(g, big)
            q, lls = estep(big, *model)
            fv = vl_fisher_encode(*model, big, 3)
            vv = vlad_encode_batch(model[0], [big, x], None, 0)
            km = vl_kmeans_new(vt(dtype), VlDistanceL2)
            vl_kmeans_set_initialization(km, VlKMeansPlusPlus)
            vl_rand_seed(vl_get_rand(), 3)
            e = vl_kmeans_cluster(km, big, d, None, k)
            results.append([ll, *gmm_params(g), q, lls, fv, vv, e, vl_kmeans_get_centers(km)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ---- k-means -------------------------------------------------------------------------------


@PROPS
@given(problems(min_n=2), st.sampled_from([VlKMeansLloyd, VlKMeansElkan]), st.integers(0, 2**31 - 1))
def test_kmeans_energy_does_not_increase(problem, algorithm, seed):
    """Lloyd/Elkan, one iteration per refine call: the energy (exact, in float64,
    at the new centers) does not increase beyond rounding. In exact
    arithmetic both steps (assignment, mean update; an empty cluster
    restarted at a data point can only lower it) decrease it; in the dtype a
    center coordinate, a sum of n_k values, is off by at most
    delta = (n_k + 1) u max|x| (+ an ulp), which raises the energy by at most
    sum_i sum_d (2 |x_id - c_d| delta_d + delta_d^2)."""
    x, k = problem
    dtype = x.dtype.type
    _n, d = x.shape
    km = vl_kmeans_new(vt(dtype), VlDistanceL2)
    vl_kmeans_set_algorithm(km, algorithm)
    vl_kmeans_set_max_num_iterations(km, 1)
    vl_rand_seed(vl_get_rand(), seed)
    vl_kmeans_init_centers_plus_plus(km, x, d, None, k)

    def energy():
        c = vl_kmeans_get_centers(km).reshape(k, d).astype(F64)
        dd = ((x.astype(F64)[:, None] - c[None]) ** 2).sum(axis=2)
        return dd.min(axis=1), c, dd.argmin(axis=1)

    e_prev, _, _ = energy()
    xmax = np.abs(x.astype(F64)).max() + 1e-300
    for _ in range(4):
        vl_kmeans_refine_centers(km, x)
        e_new, c, a = energy()
        counts = np.bincount(a, minlength=k)
        delta = (counts[:, None] + 1) * U[dtype] * xmax + ulp(c, dtype)
        dl = delta[a]
        tol = np.sum(2 * np.abs(x.astype(F64) - c[a]) * dl + dl * dl)
        assert e_new.sum() <= e_prev.sum() + tol + 1e-300
        e_prev = e_new
