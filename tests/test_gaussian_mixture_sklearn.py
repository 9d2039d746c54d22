"""pyvl.GaussianMixture with scikit-learn's defaults: every covariance type, reg_covar
and scikit-learn's EM, checked against scikit-learn itself (the truth here) from the
same explicit initialisation, and chunked / Dask training against in-memory training.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGM
from sklearn.utils.estimator_checks import parametrize_with_checks

import pyvl

TYPES = ("full", "tied", "diag", "spherical")
N, D, K = 600, 3, 3


def data(dtype=np.float64, seed=0):
    """Three elongated, overlapping clusters (full covariances matter)."""
    rng = np.random.RandomState(seed)
    parts = [rng.randn(N // K, D) @ rng.randn(D, D) + 4 * rng.randn(D) for _ in range(K)]
    return np.vstack(parts).astype(dtype)


def precisions(kind, scale=1.0):
    eye = np.eye(D) * scale
    return {"full": np.tile(eye, (K, 1, 1)), "tied": eye, "diag": np.full((K, D), scale),
            "spherical": np.full(K, scale)}[kind]


def explicit_init(X, kind):
    return dict(weights_init=np.full(K, 1.0 / K), means_init=X[[0, N // 2, N - 1]].astype(np.float64),
                precisions_init=precisions(kind, 0.5))


def fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


LEARNED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def assert_same_model(ours, theirs, X, tol):
    for name in LEARNED:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.shape == b.shape, name
        assert rel(a, b) <= tol, (name, rel(a, b))
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=tol)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=tol)
    assert rel(ours.predict_proba(X), theirs.predict_proba(X)) <= 10 * tol
    assert rel(ours.score_samples(X), theirs.score_samples(X)) <= tol
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=tol)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=tol)


# ---- the defaults -----------------------------------------------------------------------


def test_defaults_are_scikit_learns():
    ours, theirs = pyvl.GaussianMixture().get_params(), SkGM().get_params()
    for name, value in theirs.items():
        assert ours[name] == value, name
    assert ours["em"] == "sklearn" and ours["covariance_lower_bound"] is None
    doc = pyvl.GaussianMixture.__doc__
    assert 'covariance_type="full"' in doc.split("\n\n")[1]
    assert 'covariance_type="diag", em="vlfeat"' in doc.split("\n\n")[1]


@parametrize_with_checks([pyvl.GaussianMixture(covariance_type=t) for t in TYPES])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---- against scikit-learn, from the same initialisation ---------------------------------


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("reg_covar", [1e-6, 0.5])
def test_every_type_is_scikit_learns_model(kind, reg_covar):
    X = data()
    kw = dict(n_components=K, covariance_type=kind, reg_covar=reg_covar, tol=1e-8,
              max_iter=300, **explicit_init(X, kind))
    theirs = fit(SkGM(**kw), X)
    ours = fit(pyvl.GaussianMixture(**kw), X)
    assert ours.n_iter_ > 3
    assert_same_model(ours, theirs, X, 1e-6)


@pytest.mark.parametrize("kind", TYPES)
def test_max_iter_limit_and_convergence_flag_as_scikit_learn(kind):
    X = data(seed=1)
    kw = dict(n_components=K, covariance_type=kind, max_iter=2, **explicit_init(X, kind))
    with pytest.warns(ConvergenceWarning):
        theirs = SkGM(**kw).fit(X)
    with pytest.warns(ConvergenceWarning):
        ours = pyvl.GaussianMixture(**kw).fit(X)
    assert not ours.converged_ and ours.n_iter_ == 2
    assert_same_model(ours, theirs, X, 1e-6)


@pytest.mark.parametrize("kind", TYPES)
def test_float32_stays_float32_and_is_close_to_scikit_learn(kind):
    X = data(np.float32)
    kw = dict(n_components=K, covariance_type=kind, tol=1e-4, max_iter=30,
              **explicit_init(X, kind))
    theirs = fit(SkGM(**kw), X)
    ours = fit(pyvl.GaussianMixture(**kw), X)
    for name in LEARNED:
        assert getattr(ours, name).dtype == np.float32, name
        assert rel(getattr(ours, name), getattr(theirs, name)) < 2e-3, name
    assert ours.score_samples(X).dtype == np.float32
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-4)


@pytest.mark.parametrize("kind", TYPES)
def test_warm_start_continues_as_scikit_learn(kind):
    X = data(seed=2)
    kw = dict(n_components=K, covariance_type=kind, max_iter=2, warm_start=True,
              **explicit_init(X, kind))
    ours, theirs = pyvl.GaussianMixture(**kw), SkGM(**kw)
    for _ in range(3):
        fit(ours, X)
        fit(theirs, X)
        assert_same_model(ours, theirs, X, 1e-6)


@pytest.mark.parametrize("kind", TYPES)
def test_n_init_keeps_the_best_of_its_runs(kind):
    X = data(seed=3)
    one = fit(pyvl.GaussianMixture(K, covariance_type=kind, random_state=5), X)
    three = fit(pyvl.GaussianMixture(K, covariance_type=kind, random_state=5, n_init=3), X)
    assert three.lower_bound_ >= one.lower_bound_ - 1e-12
    # the kept run's parameters are those of its lower bound: one more E-step agrees
    assert three.score(X) >= three.lower_bound_ - 1e-9


def test_precisions_init_full_and_tied_are_inverted():
    X = data()
    rng = np.random.RandomState(0)
    a = rng.randn(K, D, D)
    prec = a @ np.swapaxes(a, 1, 2) + D * np.eye(D)
    g = fit(pyvl.GaussianMixture(K, covariance_type="full", precisions_init=prec, max_iter=0,
                                 means_init=X[:K], weights_init=np.full(K, 1 / K)), X)
    np.testing.assert_allclose(g.covariances_, np.linalg.inv(prec), rtol=1e-12)
    np.testing.assert_allclose(g.precisions_, prec, rtol=1e-10)
    t = fit(pyvl.GaussianMixture(K, covariance_type="tied", precisions_init=prec[0], max_iter=0,
                                 means_init=X[:K], weights_init=np.full(K, 1 / K)), X)
    np.testing.assert_allclose(t.covariances_, np.linalg.inv(prec[0]), rtol=1e-12)


@pytest.mark.parametrize("kind, bad, match", [
    ("full", np.tile(np.eye(D), (K + 1, 1, 1)), "'full precision' should have the shape of"),
    ("tied", np.triu(np.ones((D, D))), "'tied precision' should be symmetric, positive-definite"),
    ("full", np.tile(-np.eye(D), (K, 1, 1)), "'full precision' should be symmetric, positive-def"),
    ("diag", -np.ones((K, D)), "'diag precision' should be positive"),
    ("spherical", np.zeros(K), "'spherical precision' should be positive"),
])
def test_precisions_init_checked_as_scikit_learn(kind, bad, match):
    X = data()
    for cls in (SkGM, pyvl.GaussianMixture):
        with pytest.raises(ValueError, match=match):
            cls(K, covariance_type=kind, precisions_init=bad).fit(X)


# ---- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ("full", "tied", "spherical"))
def test_vlfeat_em_is_diagonal_only(kind):
    with pytest.raises(ValueError, match="em='vlfeat'.*diag"):
        pyvl.GaussianMixture(2, covariance_type=kind, em="vlfeat").fit(data())


@pytest.mark.parametrize("params, match", [
    (dict(reg_covar=-1.0), "reg_covar"), (dict(reg_covar=float("nan")), "reg_covar"),
    (dict(em="exact"), "em must be"), (dict(covariance_type="diagonal"), "covariance_type"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        pyvl.GaussianMixture(2, **params).fit(data())


def test_covariance_lower_bound_none_is_vlfeats_bound_with_vlfeats_em():
    X = data()
    kw = dict(n_components=K, covariance_type="diag", em="vlfeat", random_state=0)
    a = fit(pyvl.GaussianMixture(**kw), X)
    b = fit(pyvl.GaussianMixture(covariance_lower_bound=1e-4, **kw), X)
    assert a.covariances_.tobytes() == b.covariances_.tobytes()


@pytest.mark.parametrize("kind", TYPES)
def test_lower_bound_applies_after_reg_covar(kind):
    """Every variance ends as max(v + reg_covar, bound): with a bound above every
    variance the diagonals are the bound, with bound 0 scikit-learn's model."""
    X = data() * 0.1
    init = explicit_init(X, kind)
    bound = 10.0
    g = fit(pyvl.GaussianMixture(K, covariance_type=kind, covariance_lower_bound=bound,
                                 max_iter=3, **init), X)
    diag = {"full": lambda c: np.diagonal(c, axis1=1, axis2=2), "tied": np.diagonal,
            "diag": lambda c: c, "spherical": lambda c: c}[kind](g.covariances_)
    np.testing.assert_allclose(diag, bound, rtol=0, atol=0)


# ---- degenerate data ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
def test_collapsed_components_raise_scikit_learns_error_and_change_nothing(kind):
    X = np.vstack([np.ones((5, 4)), np.zeros((5, 4))])
    g = pyvl.GaussianMixture(10, covariance_type=kind, reg_covar=0, random_state=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance") as info:
        g.fit(X)
    assert "increase reg_covar" in str(info.value)
    assert not hasattr(g, "means_")  # still unfitted
    g.set_params(reg_covar=1e-6).fit(X)
    before = [getattr(g, n).copy() for n in LEARNED]
    g.set_params(reg_covar=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        g.fit(X)
    for name, b in zip(LEARNED, before):
        np.testing.assert_array_equal(getattr(g, name), b)


# ---- chunked and Dask data ----------------------------------------------------------------


def pieces(X, sizes=(7, 250, 343)):
    out, i = [], 0
    for s in sizes:
        out.append(X[i : i + s])
        i += s
    return out


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_equals_in_memory(kind, dtype, tmp_path):
    X = data(dtype)
    kw = dict(n_components=K, covariance_type=kind, tol=0.0, max_iter=15,
              **explicit_init(X, kind))
    ref = fit(pyvl.GaussianMixture(**kw), X)
    listed = fit(pyvl.GaussianMixture(**kw), pieces(X))
    path = tmp_path / "x.npy"
    np.save(path, X)
    mm = fit(pyvl.GaussianMixture(chunk_size=64, **kw), np.load(path, mmap_mode="r"))
    factory = fit(pyvl.GaussianMixture(**kw), lambda: iter(pieces(X)))
    tol = 1e-4 if dtype == np.float32 else 1e-9
    for got in (listed, mm, factory):
        for name in LEARNED:
            assert getattr(got, name).dtype == dtype
            assert rel(getattr(got, name), getattr(ref, name)) <= tol, name
        assert got.n_iter_ == ref.n_iter_ == 15
        assert got.lower_bound_ == pytest.approx(ref.lower_bound_, rel=tol)




@pytest.mark.parametrize("kind", TYPES)
def test_dask_equals_in_memory(client, kind):
    da = pytest.importorskip("dask.array")
    X = data()
    kw = dict(n_components=K, covariance_type=kind, tol=0.0, max_iter=10,
              **explicit_init(X, kind))
    ref = fit(pyvl.GaussianMixture(**kw), X)
    got = fit(pyvl.GaussianMixture(**kw), da.from_array(X, chunks=(200, D)))
    for name in LEARNED:
        assert rel(getattr(got, name), getattr(ref, name)) <= 1e-9, name
    assert got.n_iter_ == ref.n_iter_
    labels = got.fit_predict(da.from_array(X, chunks=(200, D)))
    np.testing.assert_array_equal(np.asarray(labels.compute()), ref.predict(X))


# ---- scikit-learn's class, model files, sampling -------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
def test_to_and_from_sklearn(kind):
    X = data()
    g = fit(pyvl.GaussianMixture(K, covariance_type=kind, random_state=0), X)
    sk = g.to_sklearn()
    assert type(sk) is SkGM and sk.covariance_type == kind and sk.reg_covar == g.reg_covar
    # scikit-learn's own E-step on pyvl's parameters and precisions
    np.testing.assert_allclose(sk.predict_proba(X), g.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sk.score_samples(X), g.score_samples(X), rtol=1e-12)
    back = pyvl.GaussianMixture.from_sklearn(fit(SkGM(K, covariance_type=kind, random_state=0), X))
    ref = fit(SkGM(K, covariance_type=kind, random_state=0), X)
    assert back.covariance_type == kind and back.em == "sklearn"
    for name in LEARNED:
        np.testing.assert_array_equal(getattr(back, name), getattr(ref, name))
    np.testing.assert_allclose(back.predict_proba(X), ref.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert back.bic(X) == pytest.approx(ref.bic(X), rel=1e-12)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_files_keep_every_type(kind, dtype, tmp_path):
    X = data(dtype)
    g = fit(pyvl.GaussianMixture(K, covariance_type=kind, random_state=0), X)
    g.save(tmp_path / "g.npz")
    h = pyvl.GaussianMixture.load(tmp_path / "g.npz")
    assert h.get_params() == g.get_params()
    for name in LEARNED:
        assert getattr(h, name).dtype == dtype
        np.testing.assert_array_equal(getattr(h, name), getattr(g, name))
    np.testing.assert_array_equal(h.score_samples(X), g.score_samples(X))


def test_a_non_positive_definite_covariance_is_not_a_model(tmp_path):
    X = data()
    g = fit(pyvl.GaussianMixture(K, covariance_type="tied", random_state=0), X)
    g.covariances_ = np.full((D, D), 2.0) - np.eye(D)  # diagonal 1 > 0, eigenvalue -1
    with pytest.raises(pyvl.io.ModelFileError, match="not positive definite"):
        g.save(tmp_path / "bad.npz")


@pytest.mark.parametrize("kind", TYPES)
def test_sample_follows_the_model(kind):
    X = data()
    g = fit(pyvl.GaussianMixture(K, covariance_type=kind, random_state=0), X)
    Y, y = g.sample(60000)
    assert Y.shape == (60000, D) and Y.dtype == g.means_.dtype
    cov = {"full": lambda k: g.covariances_[k], "tied": lambda k: g.covariances_,
           "diag": lambda k: np.diag(g.covariances_[k]),
           "spherical": lambda k: g.covariances_[k] * np.eye(D)}[kind]
    for k in range(K):
        part = Y[y == k]
        assert len(part) / len(Y) == pytest.approx(g.weights_[k], abs=0.01)
        scale = np.sqrt(np.diag(cov(k)))
        np.testing.assert_allclose(part.mean(0), g.means_[k], atol=float(0.05 * scale.max()))
        np.testing.assert_allclose(np.cov(part.T), cov(k), atol=float(0.1 * scale.max() ** 2))


# ---- the encoders stay diagonal -------------------------------------------------------------


@pytest.mark.parametrize("kind", ("full", "tied", "spherical"))
def test_encoders_refuse_a_non_diagonal_model(kind):
    X = data(np.float32)
    g = fit(pyvl.GaussianMixture(K, covariance_type=kind, random_state=0), X)
    images = [X[:50], X[50:120]]
    for t in (pyvl.FisherVectorEncoder(K, model=g), pyvl.BovwEncoder(K, codebook="gmm", model=g)):
        with pytest.raises(ValueError, match="must have diagonal covariances"):
            t.fit(images)
    # the transformers' own GMM is VLFeat's, diagonal
    t = pyvl.FisherVectorEncoder(K, random_state=0, max_iter=5)
    assert t.em == "vlfeat" and t.reg_covar == 0.0 and t.covariance_lower_bound == 1e-4
    fit(t, images)
    assert t.covariances_.shape == (K, D)


@pytest.mark.parametrize("kind", TYPES)
def test_exact_em_finishes_the_iteration_when_the_callback_asks(kind):
    """vl_gmm_em's exact EM honours VL_ITERATION_FINISH (2): the M-step of the
    iteration, then a stop -- the parameters of max_num_iterations = t + 1."""
    from pyvl._core.objects import GMM
    from pyvl._training.params import precisions_to_covariances

    X = data()
    init = explicit_init(X, kind)
    cov = precisions_to_covariances(init["precisions_init"], kind)

    def run(max_iter, callback=None):
        with GMM.of_dtype(np.float64, D, K) as g:
            g.covariance_type = kind
            g.exact_em = True
            g.set_covariance_lower_bound(0)
            g.convergence_threshold = 0
            g.max_num_iterations = max_iter
            g.set_params(init["weights_init"], init["means_init"], cov)
            g.set_iteration_callback(callback)
            g.em(X)
            return g.params()

    finished = run(50, lambda t, ll: 2 if t == 2 else 0)
    for a, b in zip(finished, run(3)):
        np.testing.assert_array_equal(a, b)
