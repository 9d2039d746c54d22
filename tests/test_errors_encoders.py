"""Bad input to the encoders (pyvl.encoders) and the scikit-learn transformers
(pyvl.transformers): the Python rows of docs/errors.md.

Every row calls one entry point with one kind of bad input and asserts the
exact exception type and a fragment of its message, then that the object it
was called on is unchanged and still works. The rows' data and helpers are in
tests/helpers.py; docs/errors.md is the table they check.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    COV,
    MU,
    PRI,
    D,
    K,
    X,
    expect,
    fisher_encoder_f32,
    mixture_data,
    nan_at,
    readonly,
)
from sklearn.exceptions import NotFittedError

import pyvl
import pyvl.encoders
from pyvl import InvalidArgumentError, StateError

IMAGES = [mixture_data(40, D, K, np.float32, seed=s) for s in range(3)]


ENCODER_ROWS = [
    ("None", lambda e: e.encode(None), TypeError, r"descriptor_sets\[0\] is None"),
    (
        "dimension",
        lambda e: e.encode(np.zeros((5, D + 1))),
        ValueError,
        r"descriptor_sets\[0\] has shape \(5, 4\): expected \(N, 3\)",
    ),
    (
        "NaN",
        lambda e: e.encode(nan_at(X)),
        InvalidArgumentError,
        "vl_fisher_encode_batch: data contains NaN or Inf",
    ),
    (
        "Inf in a batch",
        lambda e: e.encode_batch([X, nan_at(X, value=-np.inf)]),
        InvalidArgumentError,
        "data contains NaN or Inf",
    ),
    ("0-d", lambda e: e.encode(np.float32(1)), ValueError, r"has shape \(\)"),
    ("3-d", lambda e: e.encode(X[None]), ValueError, r"has shape \(1, 120, 3\)"),
    ("complex", lambda e: e.encode(X.astype(complex)), TypeError, "got dtype complex128"),
    (
        "object strings",
        lambda e: e.encode(np.array([["a"] * D], dtype=object)),
        TypeError,
        "does not convert to float",
    ),
    (
        "a single 2-D array as a batch",
        lambda e: e.encode_batch(X),
        TypeError,
        "got a single 2-D array",
    ),
    (
        "state: NaN",
        lambda e: e.set_state({"means": nan_at(MU, (1, 1)), "covariances": COV, "priors": PRI}),
        ValueError,
        "the parameters contain NaN or Inf",
    ),
    (
        "state: covariance 0",
        lambda e: e.set_state({"means": MU, "covariances": 0 * COV, "priors": PRI}),
        ValueError,
        "covariances must be > 0",
    ),
    (
        "state: negative prior",
        lambda e: e.set_state({"means": MU, "covariances": COV, "priors": -PRI}),
        ValueError,
        "priors must be >= 0",
    ),
    (
        "state: missing array",
        lambda e: e.set_state({"means": MU}),
        ValueError,
        "must have exactly the arrays",
    ),
    (
        "pyramid without positions",
        lambda e: _pyramid_encoder().encode(X),
        ValueError,
        "pass the descriptors' positions",
    ),
]


def _pyramid_encoder():
    import pyvl.encoders as E

    return E.FisherEncoder.from_gmm(MU, COV, PRI, pyramid=[(1, 1), (2, 2)])


@pytest.mark.parametrize("kind, call, exc, match", ENCODER_ROWS, ids=[r[0] for r in ENCODER_ROWS])
def test_encoder_row(kind, call, exc, match):
    enc = fisher_encoder_f32()
    state = {k: v.copy() for k, v in enc.get_state().items()}
    expected = enc.encode(X)
    expect(exc, match, call, enc)
    for k, v in enc.get_state().items():
        np.testing.assert_array_equal(v, state[k])
    np.testing.assert_array_equal(enc.encode(X), expected)


@pytest.mark.parametrize(
    "options, exc, match",
    [
        ({"name": "fisher", "n_components": 0}, ValueError, "n_components must be an integer >= 1, got 0"),
        ({"name": "fisher", "n_components": 2.5}, TypeError, "n_components must be an integer"),
        (
            {"name": "fisher", "n_components": 3, "fast": "yes"},
            TypeError,
            "fast must be True or False",
        ),
        (
            {"name": "fisher", "n_components": 3, "dtype": "int8"},
            ValueError,
            "dtype must be 'float32' or 'float64'",
        ),
        (
            {"name": "fisher", "n_components": 3, "random_state": -1},
            ValueError,
            "32-bit unsigned seed",
        ),
        ({"name": "bovw", "n_clusters": 3, "mode": "soft"}, ValueError, "needs sigma"),
        ({"name": "nope"}, pyvl.encoders.UnknownEncoderError, "unknown encoder 'nope'"),
    ],
)
def test_encoder_options_row(options, exc, match):
    import pyvl.encoders as E

    opts = dict(options)
    name = opts.pop("name")
    expect(exc, match, lambda: E.get(name, **opts))


def test_encoder_fit_rows():
    import pyvl.encoders as E

    enc = E.get("fisher", n_components=K, random_state=0, max_num_iterations=5)
    expect(ValueError, "fit needs at least n_components = 4 descriptors, got 3", enc.fit, X[:3])
    expect(InvalidArgumentError, "data contains NaN or Inf", enc.fit, nan_at(X))
    expect(ValueError, r"descriptors must be an \(N, D\) array or a list of them", enc.fit, X[None])
    expect(StateError, "has no model yet", enc.encode, X)
    enc.fit(X)  # still usable
    assert enc.encode(X).shape == (2 * K * D,)


TRANSFORMER_ROWS = [
    (
        "a single 2-D array of another width",
        lambda t: t.transform(np.zeros((4, D + 1))),
        ValueError,
        r"X\[0\] has shape \(4, 4\): expected \(N, 3\)",
    ),
    ("a string", lambda t: t.transform("abc"), TypeError, "got str"),
    ("dimension", lambda t: t.transform([np.zeros((4, D + 1))]), ValueError, "expected \\(N, 3\\)"),
    ("NaN", lambda t: t.transform([nan_at(X)]), InvalidArgumentError, "data contains NaN or Inf"),
    ("fit: empty list", lambda t: t.fit([]), ValueError, "X is an empty list of images"),
    # fit trains pyvl.GaussianMixture: its (scikit-learn's) messages
    ("fit: NaN", lambda t: t.fit([nan_at(X)]), ValueError, "Input X contains NaN"),
    (
        "fit: bad option",
        lambda t: t.set_params(n_components=-1).fit(IMAGES),
        ValueError,
        "n_components must be an integer >= 1",
    ),
    (
        "fit: random_state",
        lambda t: t.set_params(random_state=2**40).fit(IMAGES),
        ValueError,
        r"Seed must be between 0 and 2\*\*32 - 1",
    ),
]


@pytest.mark.parametrize(
    "kind, call, exc, match", TRANSFORMER_ROWS, ids=[r[0] for r in TRANSFORMER_ROWS]
)
def test_transformer_row(kind, call, exc, match):
    from pyvl import FisherVectorEncoder

    t = FisherVectorEncoder(n_components=K, random_state=0, max_iter=5).fit(IMAGES)
    params = t.get_params()
    means = t.means_.copy()
    expected = t.transform(IMAGES)
    expect(exc, match, call, t)
    np.testing.assert_array_equal(t.means_, means)
    t.set_params(**params)
    np.testing.assert_array_equal(t.transform(IMAGES), expected)
    t.fit(IMAGES)  # and it fits again


def test_transformer_accepts_object_and_3d_inputs():
    from pyvl import FisherVectorEncoder

    t = FisherVectorEncoder(n_components=K, random_state=0, max_iter=5).fit(IMAGES)
    expected = t.transform(IMAGES)
    np.testing.assert_array_equal(t.transform(np.stack(IMAGES)), expected)  # 3-D = a list of slices
    np.testing.assert_array_equal(t.transform([a.astype(object) for a in IMAGES]), expected)
    np.testing.assert_array_equal(t.transform([readonly(a) for a in IMAGES]), expected)
    expect(NotFittedError, "is not fitted yet", FisherVectorEncoder(K).transform, IMAGES)
