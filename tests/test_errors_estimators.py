"""Bad input to the scikit-learn estimators (pyvl.GaussianMixture, pyvl.KMeans): the
Python rows of docs/errors.md.

Every row calls one entry point with one kind of bad input and asserts the
exact exception type and a fragment of its message, then that the object it
was called on is unchanged and still works. The rows' data and helpers are in
tests/helpers.py; docs/errors.md is the table they check.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import PRI, D, K, N, X, expect, nan_at, readonly, strided
from sklearn.exceptions import NotFittedError

ESTIMATOR_FIT_ROWS = [
    # (kind, X or params, exception, message fragment); applied to both estimators
    ("NaN data", {"X": nan_at(X)}, ValueError, "Input X contains NaN"),
    ("Inf data", {"X": nan_at(X, value=np.inf)}, ValueError, "Input X contains infinity"),
    ("N < K", {"X": X[:3]}, ValueError, "(n_samples >= n_components|should be >= n_clusters)"),
    ("0 samples", {"X": X[:0]}, ValueError, "0 sample"),
    ("1-d", {"X": X[:, 0]}, ValueError, "Expected 2D array, got 1D array"),
    ("0-d", {"X": np.float64(1)}, ValueError, "Expected 2D array, got scalar array"),
    ("3-d", {"X": X.reshape(2, N // 2, D)}, ValueError, "Found array with dim 3"),
    ("complex", {"X": X.astype(complex)}, ValueError, "Complex data not supported"),
    (
        "object strings",
        {"X": np.array([["a", "b", "c"]] * 10, dtype=object)},
        ValueError,
        "could not convert string to float",
    ),
    (
        "K = 0",
        {"params": {"n_components": 0, "n_clusters": 0}},
        ValueError,
        "must be an integer >= 1, got 0",
    ),
    ("max_iter < 0", {"params": {"max_iter": -1}}, ValueError, "max_iter must be an integer >= 0"),
    ("tol NaN", {"params": {"tol": float("nan")}}, ValueError, "tol must be a float >= 0"),
    (
        "dtype",
        {"params": {"dtype": np.int32}},
        ValueError,
        "dtype must be float32, float64 or None",
    ),
    (
        "n_threads -1",
        {"params": {"n_threads": -1}},
        ValueError,
        "n_threads must be an integer >= 1, got -1",
    ),
]


def _fitted(name):
    from pyvl import GaussianMixture, KMeans

    if name == "GaussianMixture":
        return GaussianMixture(K, random_state=0, max_iter=20).fit(X)
    return KMeans(K, random_state=0).fit(X)


def _learned(est):
    keys = (
        ("weights_", "means_", "covariances_")
        if hasattr(est, "weights_")
        else ("cluster_centers_",)
    )
    return [getattr(est, k).copy() for k in keys]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["GaussianMixture", "KMeans"])
@pytest.mark.parametrize(
    "kind, spec, exc, match", ESTIMATOR_FIT_ROWS, ids=[r[0] for r in ESTIMATOR_FIT_ROWS]
)
def test_estimator_fit_row(restore_threads, name, kind, spec, exc, match):
    est = _fitted(name)
    learned = _learned(est)
    original = est.get_params()
    est.set_params(**{k: v for k, v in spec.get("params", {}).items() if k in original})
    expect(exc, match, est.fit, spec.get("X", X))
    # the learned arrays are untouched, and the estimator fits again with valid input
    for a, b in zip(_learned(est), learned):
        np.testing.assert_array_equal(a, b)
    est.set_params(**original)
    est.fit(X)
    for a, b in zip(_learned(est), learned):
        np.testing.assert_array_equal(a, b)
    assert est.predict(X[:5]).shape == (5,)


def test_estimator_weights_init_must_sum_to_one():
    from pyvl import GaussianMixture

    gm = GaussianMixture(K, weights_init=2 * PRI)
    expect(ValueError, "weights_init must be non-negative and sum to 1, got sum 2", gm.fit, X)
    gm.set_params(weights_init=PRI)
    assert gm.fit(X).weights_.sum() == pytest.approx(1)
    for bad, match in ((-PRI, "non-negative"), (nan_at(PRI, 0), "finite"), (PRI[:2], "shape")):
        gm.set_params(weights_init=bad)
        expect(ValueError, match, gm.fit, X)
    gm.set_params(precisions_init=np.zeros((K, D)), weights_init=None,
                  covariance_type="diag")
    expect(ValueError, "precisions_init must be positive", gm.fit, X)


@pytest.mark.parametrize("name", ["GaussianMixture", "KMeans"])
@pytest.mark.parametrize(
    "kind, data, exc, match",
    [
        ("dimension", np.zeros((5, D + 1)), ValueError, "X has 4 features, but"),
        ("NaN", nan_at(X), ValueError, "Input X contains NaN"),
        ("3-d", X[None], ValueError, "Found array with dim 3"),
        ("0 samples", X[:0], ValueError, "0 sample"),
    ],
)
def test_estimator_predict_row(name, kind, data, exc, match):
    est = _fitted(name)
    expected = est.predict(X)
    expect(exc, match, est.predict, data)
    np.testing.assert_array_equal(est.predict(X), expected)


@pytest.mark.parametrize("name", ["GaussianMixture", "KMeans"])
def test_estimator_accepts_readonly_noncontiguous_and_object_numbers(name):
    ref = _fitted(name)
    for variant in (readonly(X), strided(X), np.asfortranarray(X), X.astype(object)):
        est = _fitted(name).__class__(**ref.get_params()).fit(variant)
        for a, b in zip(_learned(est), _learned(ref)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["GaussianMixture", "KMeans"])
def test_estimator_not_fitted(name):
    from pyvl import GaussianMixture, KMeans

    est = GaussianMixture(K) if name == "GaussianMixture" else KMeans(K)
    expect(NotFittedError, "is not fitted yet", est.predict, X)
