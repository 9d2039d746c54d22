"""Contracts of the estimators and encoders that mutmut found unchecked.

Each test pins one documented behaviour with an independent check: the warning class
scikit-learn users filter on, parameter validation (bad shapes and values raise, edge
values that are allowed are accepted), warm starts equal an explicit start from the
previous parameters, ``bic`` on data of the wrong width, ``n_iter_`` counts the updates
that ran, and the ``dtype`` parameter decides the working precision.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import VLFEAT, mixture_data
from sklearn.exceptions import ConvergenceWarning

import pyvl
import pyvl.encoders as E

K, D = 3, 4


def data(n=600, dtype=np.float64, seed=0):
    return mixture_data(n, D, K, dtype, seed=seed, spread=3.0)


def test_gmm_not_converging_warns_convergence_warning():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        pyvl.GaussianMixture(K, max_iter=2, tol=0.0, random_state=0).fit(data())


def test_gmm_covariance_lower_bound_of_the_wrong_shape():
    X = data()
    for bound in (np.full((2, D), 1e-3), np.full(D + 1, 1e-3), np.full((1, 1), 1e-3)):
        with pytest.raises(ValueError, match="covariance_lower_bound must be a float or an array"):
            pyvl.GaussianMixture(K, covariance_lower_bound=bound).fit(X)
    g = pyvl.GaussianMixture(K, covariance_lower_bound=np.full(D, 1e-3), random_state=0, **VLFEAT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        g.fit(X)
    assert np.all(g.covariances_ >= 1e-3 * (1 - 1e-12))


def test_warm_start_equals_an_explicit_start_from_the_previous_parameters():
    X = data()
    kw = dict(max_iter=3, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        g = pyvl.GaussianMixture(K, warm_start=True, **kw).fit(X)
        start = (g.weights_.copy(), g.means_.copy(), g.precisions_.copy())
        g.fit(X)
        ref = pyvl.GaussianMixture(
            K, weights_init=start[0], means_init=start[1], precisions_init=start[2], **kw
        ).fit(X)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(g, name), getattr(ref, name), rtol=1e-12, atol=1e-14)


def test_bic_and_aic_reject_data_of_another_width():
    X = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        g = pyvl.GaussianMixture(K, random_state=0, max_iter=5).fit(X)
    for method in (g.bic, g.aic, g.score):
        with pytest.raises(ValueError, match="features"):
            method(X[:, :2])
    assert g.n_features_in_ == D


@pytest.mark.parametrize("chunked", [False, True], ids=["in-memory", "chunked"])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_kmeans_n_iter_counts_the_updates(algorithm, chunked):
    """libgmm's Lloyd reports the energy once more than it updates, its Elkan does not;
    chunked data runs Lloyd by passes whatever the algorithm: n_iter_ counts updates."""
    X = mixture_data(2000, 5, 12, np.float64, seed=3, spread=1.0)  # slow to converge
    for max_iter in (1, 2, 3):
        km = pyvl.KMeans(12, max_iter=max_iter, tol=0.0, algorithm=algorithm, random_state=0)
        km.fit([X[:900], X[900:]] if chunked else X)
        assert km.n_iter_ == max_iter
    # and an unbounded run stops by itself with fewer iterations than allowed
    km = pyvl.KMeans(12, max_iter=1000, algorithm=algorithm, random_state=0).fit(X)
    assert 3 < km.n_iter_ < 1000


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kmeans_dtype_parameter_sets_the_precision(dtype):
    X = data(dtype=np.float64 if dtype == np.float32 else np.float32)
    km = pyvl.KMeans(K, dtype=dtype, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == dtype
    ref = pyvl.KMeans(K, random_state=0).fit(X.astype(dtype))
    np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)


def test_encoder_covariance_bound_validation():
    for bad in (-1.0, -1e-9, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="covariance_bound"):
            E.FisherEncoder(covariance_bound=bad)
    assert E.FisherEncoder(covariance_bound=0).covariance_bound == 0.0


def test_encoder_zero_iterations_keeps_the_initialisation():
    X = data()
    enc = E.FisherEncoder(n_components=K, max_num_iterations=0, random_state=1, dtype="float64")
    enc.fit(X)
    # no EM step: the 'rand' initialisation (uniform priors, the data variance)
    np.testing.assert_allclose(enc.priors_, 1.0 / K)
    np.testing.assert_allclose(enc.covariances_, np.tile(X.var(axis=0, ddof=1), (K, 1)), rtol=1e-12)
    with pytest.raises(ValueError, match="max_num_iterations"):
        E.FisherEncoder(max_num_iterations=-1)


def test_too_few_samples_are_named_in_the_error():
    X = data(n=5)
    with pytest.raises(ValueError, match=r"n_samples=5 should be >= n_clusters=10"):
        pyvl.KMeans(10).fit(X)
    with pytest.raises(ValueError, match=r"n_components = 10, n_samples = 5"):
        pyvl.GaussianMixture(10).fit(X)
    for chunks in ([X], [X[:2], X[2:]]):
        with pytest.raises(ValueError, match=r"n_samples=5 should be >= n_clusters=10"):
            pyvl.KMeans(10, init_sample_size=3).fit(chunks)
        with pytest.raises(ValueError, match=r"n_components = 10, n_samples = 5"):
            pyvl.GaussianMixture(10).fit(chunks)


# ---- found by a larger mutmut sample (docs/testing.md) --------------------------------------


ENCODER_OPTIONS = {  # transformer parameter = encoder attribute: a non-default value
    "FisherVectorEncoder": dict(n_components=2, improved=False, square_root=True,
                                normalized=True, fast=True, layout="skimage"),
    "VladEncoder": dict(n_clusters=2, normalize_components=True, square_root=True,
                        normalize_mass=True, unnormalized=True, algorithm="elkan"),
    "BovwEncoder": dict(n_clusters=2, mode="soft", sigma=1.5, frequencies=True, square_root=True,
                        normalized=True, algorithm="elkan"),
}


@pytest.mark.parametrize("name", sorted(ENCODER_OPTIONS))
def test_every_encoder_option_of_a_transformer_reaches_the_encoder(name):
    import pyvl.transformers as T

    options = ENCODER_OPTIONS[name]
    t = getattr(T, name)(random_state=0, dtype="float64", **options)
    assert {p: t.get_params()[p] for p in options} == options
    images = [np.random.default_rng(i).normal(size=(30, 3)) for i in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        enc = t.fit(images).encoder_
    for p, value in options.items():
        assert getattr(enc, p) == value, p


# transformer, training estimator, (parameter, non-default value) pairs, extra transformer
# parameters (the BovwEncoder's codebook kind)
TRAINING_OPTIONS = [
    ("FisherVectorEncoder", "GaussianMixture",
     [("covariance_lower_bound", 0.5), ("init_params", "random"), ("tol", 0.5),
      ("max_iter", 2), ("n_init", 3)], {}),
    ("VladEncoder", "KMeans",
     [("init", "random"), ("n_init", 3), ("max_iter", 1), ("tol", 0.5)], {}),
    ("BovwEncoder", "KMeans",
     [("init", "random"), ("n_init", 3), ("max_iter", 1), ("tol", 0.5)], {}),
    ("BovwEncoder", "GaussianMixture",
     [("covariance_lower_bound", 0.5), ("init_params", "random"), ("tol", 0.5),
      ("max_iter", 2), ("n_init", 3)], {"codebook": "gmm"}),
]


def _codebook(est):
    if hasattr(est, "cluster_centers_"):
        return {"centers": est.cluster_centers_}
    return {"means": est.means_, "covariances": est.covariances_, "priors": est.weights_}


@pytest.mark.parametrize(
    "name, trainer, changes, extra", TRAINING_OPTIONS,
    ids=["fisher", "vlad", "bovw-kmeans", "bovw-gmm"])
def test_every_training_parameter_of_a_transformer_reaches_the_estimator(name, trainer, changes,
                                                                         extra):
    """Each training parameter, changed alone, gives the codebook of pyvl's estimator fitted
    with that parameter on the concatenated descriptors, which differs from the default
    estimator's (so a parameter the transformer dropped would show)."""
    import pyvl.transformers as T

    X = mixture_data(600, 3, 6, np.float64, seed=2, spread=1.5)
    images = [X[:200], X[200:400], X[400:]]
    k = 4
    size = "n_components" if name == "FisherVectorEncoder" else "n_clusters"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the transformers train VLFeat's GMM by default (pyvl.GaussianMixture: scikit-learn's)
        model = VLFEAT if trainer == "GaussianMixture" else {}
        default = _codebook(getattr(pyvl, trainer)(k, random_state=0, dtype="float64",
                                                   **model).fit(X))
        for p, value in changes:
            ref = _codebook(getattr(pyvl, trainer)(k, random_state=0, dtype="float64",
                                                   **model, **{p: value}).fit(X))
            assert any(not np.array_equal(ref[a], default[a]) for a in ref), \
                f"{p}={value!r} does not change the {trainer}: the check has no teeth"
            t = getattr(T, name)(random_state=0, dtype="float64", **{size: k, p: value}, **extra)
            state = t.fit(images).encoder_.get_state()
            for a, v in ref.items():
                np.testing.assert_array_equal(state[a], v, err_msg=f"{name}({p}={value!r})")


@pytest.mark.parametrize("name", ["VladEncoder", "BovwEncoder"])
def test_a_transformer_passes_algorithm_to_the_kmeans(name, monkeypatch):
    """``algorithm`` reaches pyvl.KMeans. (Its codebook cannot show it: with scikit-learn's
    stopping rule Elkan gives Lloyd's result, which tests/test_kmeans_sklearn.py checks.)"""
    import pyvl.estimators
    import pyvl.transformers as T

    seen = []
    fit = pyvl.estimators.KMeans.fit

    def spy(self, X, y=None, sample_weight=None):
        seen.append(self.algorithm)
        return fit(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(pyvl.estimators.KMeans, "fit", spy)
    X = mixture_data(600, 3, 6, np.float64, seed=2, spread=1.5)
    getattr(T, name)(n_clusters=4, algorithm="elkan", random_state=0).fit([X[:300], X[300:]])
    assert seen == ["elkan"]


def test_encoder_defaults_are_the_documented_ones():
    """The defaults the docstrings and docs/encoders.md give."""
    assert E.FisherEncoder().n_components == 64 and E.FisherEncoder().num_repetitions == 1
    assert E.VladEncoder().n_clusters == 64 and E.VladEncoder().num_repetitions == 1
    assert E.BovwEncoder().n_clusters == 256 and E.BovwEncoder().num_repetitions == 1
    for cls in (E.FisherEncoder, E.VladEncoder, E.BovwEncoder):
        assert cls().max_num_iterations == 100
    assert E.VladEncoder(max_num_iterations=0).max_num_iterations == 0


def test_pyramid_accepts_an_image_of_size_one():
    enc = E.VladEncoder.from_centers(np.eye(2), pyramid=[(1, 1), (2, 1)])
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    pos = np.array([[0.2, 0.5], [0.9, 0.5]])
    out = enc.encode(x, pos, (1, 1))
    # cells: the whole image, then the left and the right halves
    flat = E.VladEncoder.from_centers(np.eye(2))
    np.testing.assert_array_equal(out, np.concatenate([flat.encode(x), flat.encode(x[:1]), flat.encode(x[1:])]))
    with pytest.raises(ValueError):
        enc.encode(x, pos, (0, 1))


def test_kmeans_transform_of_points_at_a_center_is_zero():
    X = data(n=300) + 1e4  # a point at a center takes the exact recomputation branch
    km = pyvl.KMeans(K, random_state=0).fit(X)
    d = km.transform(km.cluster_centers_.astype(np.float64))
    np.testing.assert_array_equal(np.diag(d), 0)
    ref = np.sqrt(((X[:20, None, :] - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(km.transform(X[:20]), ref, rtol=1e-9)


def test_random_from_data_starts_with_uniform_weights():
    X = data()
    g = pyvl.GaussianMixture(K, init_params="random_from_data", max_iter=0, random_state=0).fit(X)
    np.testing.assert_allclose(g.weights_, 1.0 / K)


def test_describe_reports_the_file(tmp_path):
    X = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        g = pyvl.GaussianMixture(K, random_state=0, max_iter=2).fit(X)
    g.save(tmp_path / "g.npz")
    info = pyvl.io.describe(tmp_path / "g.npz")
    assert info["format"] == pyvl.io.FORMAT and info["version"] == pyvl.io.VERSION
    assert info["class"] == "pyvl.GaussianMixture" and info["fitted"] is True
    assert info["params"]["n_components"] == K
    assert info["arrays"]["means_"] == ((K, D), "float64")


ENCODER_BOOLS = {
    E.FisherEncoder: ["improved", "square_root", "normalized", "fast"],
    E.VladEncoder: ["normalize_components", "square_root", "normalize_mass", "unnormalized"],
    E.BovwEncoder: ["frequencies", "square_root", "normalized"],
}
ENCODER_CHOICES = {
    E.FisherEncoder: ["init"],
    E.VladEncoder: ["algorithm"],
    E.BovwEncoder: ["mode", "codebook", "algorithm", "init"],
}


@pytest.mark.parametrize("cls", sorted(ENCODER_BOOLS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_invalid_options_are_named_in_the_error(cls):
    for name in ENCODER_BOOLS[cls]:
        with pytest.raises(TypeError, match=rf"^{name} must be True or False, got 'yes'$"):
            cls(**{name: "yes"})
    for name in ENCODER_CHOICES[cls]:
        with pytest.raises(ValueError, match=rf"^{name} must be one of .*; got 'nope'$"):
            cls(**{name: "nope"})
    with pytest.raises(ValueError, match=r"^covariance_lower_bound must be finite and >= 0$"):
        pyvl.GaussianMixture(2, covariance_lower_bound=np.nan).fit(data())


def test_wrapped_gmm_of_mixed_dtypes_is_float64():
    means = np.zeros((2, 3))  # float64
    covs, priors = np.ones((2, 3), np.float32), np.full(2, 0.5, np.float32)
    for cls in (E.FisherEncoder, E.BovwEncoder):
        assert cls.from_gmm(means, covs, priors).dtype == "float64"
        assert cls.from_gmm(means.astype(np.float32), covs, priors).dtype == "float32"
