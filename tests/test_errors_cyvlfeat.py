"""Bad input to pyvl.compat.cyvlfeat (cyvlfeat's conventions: ValueError,
float32/float64 only): the Python rows of docs/errors.md.

Every row calls one entry point with one kind of bad input and asserts the
exact exception type and a fragment of its message, then that the object it
was called on is unchanged and still works. The rows' data and helpers are in
tests/helpers.py; docs/errors.md is the table they check.
"""

from __future__ import annotations

import pytest
from helpers import COV, MU, PRI, XF, K, N, X, expect, nan_at

from pyvl import InvalidArgumentError

CYVLFEAT_ROWS = [
    ("NaN", lambda cy: cy.gmm(nan_at(X), K), ValueError, "x contains NaN or Inf values"),
    (
        "N < K",
        lambda cy: cy.gmm(X[:3], K),
        ValueError,
        "no larger than the number of data points 3",
    ),
    (
        "int dtype",
        lambda cy: cy.gmm(X.astype(int), K),
        ValueError,
        "must be a float32 or float64 array",
    ),
    (
        "object",
        lambda cy: cy.kmeans(X.astype(object), K),
        ValueError,
        "must be a float32 or float64 array",
    ),
    ("3-d", lambda cy: cy.gmm(X[None], K), ValueError, "must be a 2-D array"),
    ("dtype mismatch", lambda cy: cy.fisher(XF, MU, COV, PRI), ValueError, "they must match"),
    (
        "covariance 0",
        lambda cy: cy.fisher(X, MU, 0 * COV, PRI),
        InvalidArgumentError,
        "covariance 0 is 0",
    ),
    ("enum", lambda cy: cy.kmeans(X, K, distance="l7"), ValueError, "distance must be one of"),
    ("no data", lambda cy: cy.kmeans_quantize(X[:0], MU), ValueError, "at least one row"),
]


@pytest.mark.parametrize("kind, call, exc, match", CYVLFEAT_ROWS, ids=[r[0] for r in CYVLFEAT_ROWS])
def test_cyvlfeat_row(kind, call, exc, match):
    from pyvl.compat import cyvlfeat as cy

    expect(exc, match, call, cy)
    assert cy.kmeans_quantize(X, MU).shape == (N,)
