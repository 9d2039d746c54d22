"""pyvl.GaussianMixture and pyvl.KMeans: scikit-learn's estimator checks,
agreement with scikit-learn and with pyvl's VLFeat API, reproducibility,
precision, progress and Ctrl-C."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import warnings

import numpy as np
import pytest
from helpers import VLFEAT, mixture_data, sigint_at_log
from reference import posteriors as ref_posteriors
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

import pyvl


def _expected_failed_checks(estimator):
    """The checks scikit-learn expects its own KMeans to fail, for the same reason:
    k-means++ draws its random numbers from the weights for weighted samples and
    from the rows for repeated ones, so the seeding (hence the labels) differ."""
    if isinstance(estimator, pyvl.KMeans):
        return {"check_sample_weight_equivalence_on_dense_data":
                "sample_weight is not equivalent to removing/repeating samples (random seeding)."}
    return {}


@parametrize_with_checks([pyvl.GaussianMixture(), pyvl.KMeans(n_clusters=3)],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


#: VLFeat's GMM (the estimator's model before scikit-learn's defaults): these tests
#: check VLFeat's EM; tests/test_gaussian_mixture_sklearn.py checks the defaults.

def blobs(dtype=np.float64, n=3000, d=6, k=5, seed=0):
    return mixture_data(n, d, k, dtype, seed=seed, spread=4.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gmm_keeps_precision_and_is_bitwise_repeatable(dtype):
    X = blobs(dtype)
    a = pyvl.GaussianMixture(5, random_state=3, n_init=2, **VLFEAT).fit(X)
    b = pyvl.GaussianMixture(5, random_state=3, n_init=2, **VLFEAT).fit(X)
    for name in ("weights_", "means_", "covariances_"):
        assert getattr(a, name).dtype == dtype
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    assert a.lower_bound_ == b.lower_bound_ and a.n_iter_ == b.n_iter_
    assert a.predict_proba(X).dtype == dtype


def test_gmm_matches_scikit_learn_on_separated_clusters():
    X = blobs()
    # several initialisations on both sides, so both reach the global optimum
    ours = pyvl.GaussianMixture(5, random_state=0, tol=1e-6, max_iter=300, n_init=5, **VLFEAT).fit(X)
    theirs = SkGaussianMixture(5, covariance_type="diag", random_state=0, tol=1e-6, max_iter=300,
                               n_init=5).fit(X)
    assert ours.converged_
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, abs=1e-3)
    order = np.argsort(ours.means_[:, 0])
    order_sk = np.argsort(theirs.means_[:, 0])
    np.testing.assert_allclose(ours.means_[order], theirs.means_[order_sk], atol=1e-2)
    np.testing.assert_allclose(ours.weights_[order], theirs.weights_[order_sk], atol=1e-3)


def test_gmm_outputs_against_numpy_reference():
    X = blobs()
    g = pyvl.GaussianMixture(5, random_state=1, **VLFEAT).fit(X)
    q, ll = ref_posteriors(X, g.means_, g.covariances_, g.weights_)
    np.testing.assert_allclose(g.predict_proba(X), q, atol=1e-10)
    np.testing.assert_array_equal(g.predict(X), q.argmax(1))
    assert g.score(X) == pytest.approx(ll / len(X), rel=1e-12)
    assert g.score_samples(X).sum() == pytest.approx(ll, rel=1e-12)
    n_params = 2 * 5 * 6 + 4
    assert g.bic(X) == pytest.approx(-2 * ll + n_params * np.log(len(X)))
    assert g.aic(X) == pytest.approx(-2 * ll + 2 * n_params)
    np.testing.assert_allclose(g.precisions_, 1 / g.covariances_)
    assert g.weights_.sum() == pytest.approx(1)


def test_gmm_equals_vl_gmm_api_with_the_same_custom_start():
    """The estimator is EM of libgmm: from the same parameters, with tol=0 and
    the same iteration count, it gives vl_gmm_em's result bit for bit."""
    from pyvl.gmm import (
        VL_TYPE_DOUBLE,
        vl_gmm_em,
        vl_gmm_get_covariances,
        vl_gmm_get_means,
        vl_gmm_new,
        vl_gmm_set_covariances,
        vl_gmm_set_max_num_iterations,
        vl_gmm_set_means,
        vl_gmm_set_priors,
    )

    X = blobs()
    m0 = X[:5].copy()
    est = pyvl.GaussianMixture(5, means_init=m0, weights_init=np.full(5, 0.2),
                               precisions_init=np.ones((5, 6)), tol=0.0, max_iter=7,
                               init_params="random_from_data", **VLFEAT)
    with pytest.warns(Warning):
        est.fit(X)
    g = vl_gmm_new(VL_TYPE_DOUBLE, 6, 5)
    vl_gmm_set_means(g, m0)
    vl_gmm_set_covariances(g, np.ones((5, 6)))
    vl_gmm_set_priors(g, np.full(5, 0.2))
    vl_gmm_set_max_num_iterations(g, 7)
    vl_gmm_em(g, X)
    np.testing.assert_array_equal(est.means_.ravel(), vl_gmm_get_means(g))
    np.testing.assert_array_equal(est.covariances_.ravel(), vl_gmm_get_covariances(g))
    assert est.n_iter_ == 7 and not est.converged_


def test_gmm_warm_start_and_sample():
    X = blobs()
    g = pyvl.GaussianMixture(5, random_state=0, max_iter=2, warm_start=True, tol=0.0, **VLFEAT)
    with pytest.warns(Warning):
        g.fit(X)
    first = g.lower_bound_
    with pytest.warns(Warning):
        g.fit(X)
    assert g.lower_bound_ >= first - 1e-9
    Xs, ys = g.sample(1000)
    assert Xs.shape == (1000, 6) and ys.shape == (1000,)
    assert np.bincount(ys, minlength=5).sum() == 1000


def test_gmm_bad_parameters():
    X = blobs(n=100)
    for kwargs, match in [
        (dict(n_components=0), "n_components"),
        (dict(covariance_type="full"), "diag"),
        (dict(init_params="nope"), "init_params"),
        (dict(weights_init=[0.5, 0.6]), "weights_init"),
        (dict(n_components=2, weights_init=[0.5, 0.6]), "sum to 1"),
        (dict(n_components=2, means_init=np.zeros((3, 6))), "means_init"),
        (dict(covariance_lower_bound=-1.0), "covariance_lower_bound"),
        (dict(n_components=200), "n_samples >= n_components"),
    ]:
        with pytest.raises(ValueError, match=match):
            pyvl.GaussianMixture(**{**VLFEAT, **kwargs}).fit(X)


def test_gmm_pickles_and_survives_a_round_trip():
    X = blobs()
    g = pyvl.GaussianMixture(5, random_state=0, **VLFEAT).fit(X)
    h = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(h.predict_proba(X), g.predict_proba(X))


def test_gmm_n_threads_does_not_change_results():
    X = blobs(np.float32, n=20000)
    a = pyvl.GaussianMixture(5, random_state=0, n_threads=1, **VLFEAT).fit(X)
    b = pyvl.GaussianMixture(5, random_state=0, n_threads=2, **VLFEAT).fit(X)
    assert a.means_.tobytes() == b.means_.tobytes()


def test_verbose_logs(caplog, monkeypatch):
    """verbose=2 logs every iteration, with or without tqdm (an optional dependency)."""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # importing tqdm now fails
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X = blobs()
    with caplog.at_level(logging.DEBUG, logger="pyvl"):
        pyvl.GaussianMixture(5, random_state=0, verbose=2, **VLFEAT).fit(X)
    assert any("iteration 1" in r.message for r in caplog.records)


def test_verbose_progress_bar(capsys):
    pytest.importorskip("tqdm")  # optional for users; installed by the test extra (CI)
    pyvl.GaussianMixture(5, random_state=0, verbose=1).fit(blobs())
    assert "GaussianMixture" in capsys.readouterr().err  # the tqdm bar


def test_ctrl_c_stops_em_within_an_iteration_and_leaves_a_valid_model():
    """SIGINT arrives while libgmm runs EM (sent from the per-iteration log
    record of iteration 3, i.e. from inside the C call): EM stops at the next
    iteration, the model holds the parameters reached, KeyboardInterrupt is
    re-raised."""
    X = mixture_data(20000, 16, 32, np.float32, seed=1)

    g = pyvl.GaussianMixture(32, init_params="k-means++", tol=0.0, max_iter=1000, random_state=0, **VLFEAT)
    with sigint_at_log("iteration 3:"), pytest.raises(KeyboardInterrupt):
        g.fit(X)
    assert g.n_iter_ in (3, 4)  # stopped within one iteration of the interrupt
    assert np.all(np.isfinite(g.means_)) and g.weights_.sum() == pytest.approx(1, abs=1e-5)
    assert np.all(g.covariances_ >= 1e-4 * (1 - 1e-6))
    g.predict(X[:10])  # usable


@pytest.mark.parametrize("init", ["kmeans", "k-means++"])
def test_ctrl_c_during_initialisation_leaves_the_initial_model(init):
    """SIGINT while the initialisation runs (sent from its log record): the
    initialisation ends (its k-means after the current iteration), EM stops at
    once, the model holds the initial parameters and KeyboardInterrupt is
    re-raised."""
    X = mixture_data(20000, 16, 32, np.float32, seed=2)

    class CtrlC(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "initialisation 1 of 1" in record.getMessage():
                os.kill(os.getpid(), signal.SIGINT)

    logger = logging.getLogger("pyvl")
    handler, level = CtrlC(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    g = pyvl.GaussianMixture(32, init_params=init, tol=0.0, max_iter=1000, random_state=0, **VLFEAT)
    try:
        with pytest.raises(KeyboardInterrupt):
            g.fit(X)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert g.n_iter_ == 0
    assert np.all(np.isfinite(g.means_)) and g.weights_.sum() == pytest.approx(1, abs=1e-5)
    assert np.all(g.covariances_ > 0)
    g.predict(X[:10])  # usable


# ---- KMeans -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan", "ann"])
def test_kmeans_algorithms(algorithm):
    from sklearn.cluster import KMeans as SkKMeans

    X = blobs()
    ours = pyvl.KMeans(5, algorithm=algorithm, random_state=0).fit(X)
    theirs = SkKMeans(5, random_state=0, n_init=5).fit(X)
    assert ours.inertia_ <= theirs.inertia_ * 1.05
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)
    d = ours.transform(X)
    np.testing.assert_array_equal(d.argmin(1), ours.labels_)
    assert ours.score(X) == pytest.approx(-ours.inertia_, rel=1e-9)


def test_kmeans_repeatable_and_array_init():
    X = blobs(np.float32)
    a = pyvl.KMeans(5, random_state=4, n_init=3).fit(X)
    b = pyvl.KMeans(5, random_state=4, n_init=3).fit(X)
    assert a.cluster_centers_.tobytes() == b.cluster_centers_.tobytes()
    assert a.cluster_centers_.dtype == np.float32
    c = pyvl.KMeans(5, init=a.cluster_centers_, max_iter=0).fit(X)
    np.testing.assert_array_equal(c.cluster_centers_, a.cluster_centers_)
    # scikit-learn's messages
    with pytest.raises(ValueError, match=r"initial centers \(4, 6\) does not match the number of "
                       r"clusters 5\."):
        pyvl.KMeans(5, init=np.zeros((4, 6))).fit(X)
    with pytest.raises(ValueError, match=r"initial centers \(5, 2\) does not match the number of "
                       r"features of the data 6\."):
        pyvl.KMeans(5, init=np.zeros((5, 2))).fit(X)
    with pytest.raises(ValueError, match="initial centers contain NaN or infinity"):
        pyvl.KMeans(5, init=np.full((5, 6), np.nan)).fit(X)
    with pytest.raises(ValueError, match="real numeric array"):
        pyvl.KMeans(5, init=np.full((5, 6), "a")).fit(X)


# ---- scikit-learn's EM loop: counting, convergence, the final M-step -------------------


def test_max_iter_1_is_one_iteration_not_converged():
    """scikit-learn: one E-step and one M-step, converged_ False, a ConvergenceWarning."""
    from sklearn.exceptions import ConvergenceWarning

    X = blobs()
    with pytest.warns(ConvergenceWarning):
        g = pyvl.GaussianMixture(5, random_state=0, max_iter=1, **VLFEAT).fit(X)
    assert g.n_iter_ == 1 and not g.converged_ and len(g.lower_bounds_) == 1


@pytest.mark.parametrize("max_iter", [1, 2, 7])
def test_fit_ends_with_an_m_step(max_iter):
    """The parameters after max_iter iterations are those of max_iter M-steps from
    the same start: VLFeat's vl_gmm_em with max_num_iterations = max_iter (which
    also does max_iter M-steps, then one more E-step) gives them, and the
    estimator's lower bound is the E-step before the last M-step."""
    from pyvl import gmm as G

    X = blobs(np.float64)
    rng = np.random.default_rng(1)
    means = X[rng.choice(len(X), 5, replace=False)]
    kw = dict(means_init=means, weights_init=np.full(5, 0.2),
              precisions_init=np.ones((5, X.shape[1])), tol=0.0, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = pyvl.GaussianMixture(5, **kw, **VLFEAT).fit(X)
    ref = G.vl_gmm_new(G.VL_TYPE_DOUBLE, X.shape[1], 5)
    G.vl_gmm_set_means(ref, means)
    G.vl_gmm_set_priors(ref, np.full(5, 0.2))
    G.vl_gmm_set_covariances(ref, np.ones((5, X.shape[1])))
    G.vl_gmm_set_max_num_iterations(ref, max_iter - 1)
    ll_before = G.vl_gmm_em(ref, X)  # max_iter - 1 M-steps, then the E-step before the last
    G.vl_gmm_set_max_num_iterations(ref, 1)
    G.vl_gmm_em(ref, X)  # one more M-step
    assert g.n_iter_ == max_iter == len(g.lower_bounds_)
    np.testing.assert_allclose(g.means_, G.vl_gmm_get_means(ref).reshape(5, -1), rtol=1e-12)
    np.testing.assert_allclose(g.covariances_, G.vl_gmm_get_covariances(ref).reshape(5, -1),
                               rtol=1e-12)
    assert g.lower_bound_ == pytest.approx(ll_before / len(X), rel=1e-12)


def test_warm_start_converges_against_the_previous_lower_bound():
    """scikit-learn's warm start: each fit's first change is measured from the
    previous fit's lower bound, so max_iter=1 fits converge once EM settles."""
    X = blobs()
    g = pyvl.GaussianMixture(5, random_state=0, warm_start=True, max_iter=1, tol=1e-6, **VLFEAT)
    bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(200):
            g.fit(X)
            bounds.append(g.lower_bound_)
            if g.converged_:
                break
    assert g.converged_ and len(bounds) > 2
    assert abs(bounds[-1] - bounds[-2]) < 1e-6


def test_verbose_prints_scikit_learns_lines(capsys):
    X = blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = pyvl.GaussianMixture(5, random_state=0, verbose=1, verbose_interval=1, max_iter=3,
                                 tol=0.0, n_init=2, **VLFEAT).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert out == ["Initialization 0", "  Iteration 1", "  Iteration 2", "  Iteration 3",
                   "Initialization did not converge.", "Initialization 1", "  Iteration 1",
                   "  Iteration 2", "  Iteration 3", "Initialization did not converge."]
    assert g.n_iter_ == 3
    pyvl.GaussianMixture(5, random_state=0, verbose=2, verbose_interval=2, **VLFEAT).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Initialization 0" and out[-1].startswith("Initialization converged.")
    assert "lower bound" in out[-1] and all("ll change" in ln for ln in out[1:-1])
    pyvl.GaussianMixture(5, random_state=0, **VLFEAT).fit(X)
    assert capsys.readouterr().out == ""  # silent by default


# ---- scikit-learn's and scikit-image's classes -------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_sklearn_predicts_as_pyvl(dtype):
    from sklearn.mixture import GaussianMixture as SkGM

    X = blobs(dtype)
    g = pyvl.GaussianMixture(5, random_state=0, **VLFEAT).fit(X)
    sk = g.to_sklearn()
    assert type(sk) is SkGM and sk.covariance_type == "diag"
    # scikit-learn's own E-step on pyvl's parameters
    np.testing.assert_allclose(sk.predict_proba(X), g.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(sk.score_samples(X), g.score_samples(X), rtol=1e-5)
    np.testing.assert_array_equal(sk.predict(X), g.predict(X))
    back = pyvl.GaussianMixture.from_sklearn(sk)
    np.testing.assert_array_equal(back.means_, g.means_.astype(np.float64))
    np.testing.assert_array_equal(back.predict(X), g.predict(X))


def test_from_sklearn_takes_a_fitted_sklearn_mixture():
    from sklearn.mixture import GaussianMixture as SkGM

    X = blobs(np.float64)
    sk = SkGM(4, covariance_type="diag", random_state=0).fit(X)
    g = pyvl.GaussianMixture.from_sklearn(sk)
    np.testing.assert_allclose(g.predict_proba(X), sk.predict_proba(X), atol=1e-10)
    assert g.n_iter_ == sk.n_iter_ and g.converged_ == sk.converged_
    # every covariance type (here scikit-learn's default, full)
    full = SkGM(2, random_state=0).fit(X)
    np.testing.assert_allclose(pyvl.GaussianMixture.from_sklearn(full).predict_proba(X),
                               full.predict_proba(X), atol=1e-10)


def test_scikit_image_fisher_vector_accepts_a_pyvl_model():
    import skimage.feature as skimage_feature  # a test dependency

    X = blobs(np.float64)
    g = pyvl.GaussianMixture(4, random_state=0, **VLFEAT).fit(X)
    fv = skimage_feature.fisher_vector(X[:200], g.to_sklearn())
    # scikit-image's formula on the same parameters, written out
    q = g.predict_proba(X[:200])
    n = 200
    w, m, c = g.weights_, g.means_, g.covariances_
    d_pi = (q.mean(0) - w) / np.sqrt(w)
    d_mu = (q.T @ X[:200] / n - q.mean(0)[:, None] * m) / (np.sqrt(w)[:, None] * np.sqrt(c))
    d_s = -(q.T @ X[:200] ** 2 / n) - q.mean(0)[:, None] * m**2 + q.mean(0)[:, None] * c \
        + 2 * (q.T @ X[:200] / n) * m
    d_s /= np.sqrt(2) * np.sqrt(w)[:, None] * c
    np.testing.assert_allclose(fv, np.hstack([d_pi, d_mu.ravel(), d_s.ravel()]), rtol=1e-6,
                               atol=1e-9)


def test_kmeans_n_init_auto_and_callable_init_everywhere():
    """n_init="auto" is scikit-learn's rule (1 for k-means++, 10 for random or a
    callable); a callable init also seeds chunked fits (on the sample)."""
    X = blobs(np.float64)
    calls = []

    def init(data, k, random_state):
        calls.append(data.shape)
        return data[random_state.choice(len(data), k, replace=False)]

    km = pyvl.KMeans(5, init=init, random_state=0).fit(X)
    assert len(calls) == 10 and all(c == X.shape for c in calls)
    calls.clear()
    chunked = pyvl.KMeans(5, init=init, n_init=2, random_state=0).fit([X[:700], X[700:]])
    assert len(calls) == 2 and km.inertia_ > 0
    fixed = X[[0, 100, 200, 300, 400]]
    a = pyvl.KMeans(5, init=lambda x, k, r: fixed, n_init=1).fit([X[:700], X[700:]])
    b = pyvl.KMeans(5, init=fixed, n_init=1).fit([X[:700], X[700:]])
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert chunked.cluster_centers_.shape == (5, X.shape[1])
    ten = pyvl.KMeans(5, init="random", random_state=0).fit(X)
    one = pyvl.KMeans(5, init="random", n_init=1, random_state=0).fit(X)
    assert ten.inertia_ <= one.inertia_
    with pytest.raises(ValueError, match="initial centers"):
        pyvl.KMeans(5, init=lambda x, k, r: x[: k - 1]).fit(X)
