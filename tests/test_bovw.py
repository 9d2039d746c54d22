"""Bags of visual words against NumPy brute force.

Hard counts (nearest center by explicit squared distances), the soft kernel
codebook (exp(-d^2 / 2 sigma^2), normalised per descriptor) and GMM votes
(posteriors from reference.posteriors, or their argmax), then frequencies,
square roots and L2 normalisation in that order; every flag combination, float
and double, empty images; batch rows equal single-image encodings.
"""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from helpers import assert_close, mixture_data

import pyvl
from pyvl.bovw import (
    VL_BOVW_FLAG_FREQUENCIES,
    VL_BOVW_FLAG_NORMALIZED,
    VL_BOVW_FLAG_SOFT,
    VL_BOVW_FLAG_SQUARE_ROOT,
    bovw_encode,
    bovw_encode_batch,
    bovw_encode_gmm_batch,
)

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-5, np.float64: 1e-10}
POST = [
    0,
    VL_BOVW_FLAG_FREQUENCIES,
    VL_BOVW_FLAG_SQUARE_ROOT,
    VL_BOVW_FLAG_NORMALIZED,
    VL_BOVW_FLAG_FREQUENCIES | VL_BOVW_FLAG_SQUARE_ROOT | VL_BOVW_FLAG_NORMALIZED,
]


def sq_distances(x, centers):
    x = np.asarray(x, np.float64)
    c = np.asarray(centers, np.float64)
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)


def votes_reference(x, centers, flags, sigma):
    """(N, K) votes of the k-means codebook."""
    d2 = sq_distances(x, centers)
    if flags & VL_BOVW_FLAG_SOFT:
        logits = -d2 / (2 * sigma**2)
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        return w / w.sum(axis=1, keepdims=True)
    return np.eye(centers.shape[0])[np.argmin(d2, axis=1)]


def finish_reference(votes, flags):
    hist = votes.sum(axis=0)
    n = votes.shape[0]
    if flags & VL_BOVW_FLAG_FREQUENCIES and n:
        hist = hist / n
    if flags & VL_BOVW_FLAG_SQUARE_ROOT:
        hist = np.sqrt(hist)
    if flags & VL_BOVW_FLAG_NORMALIZED and n:
        hist = hist / max(np.linalg.norm(hist), 1e-12)
    return hist


def codebook(n, d, k, dtype, seed=0):
    x = mixture_data(n, d, k, np.float64, seed=seed)
    rng = np.random.default_rng(seed)
    pool = mixture_data(max(n, k), d, k, np.float64, seed=seed)
    centers = pool[rng.choice(pool.shape[0], size=k, replace=False)] + rng.normal(size=(k, d)) * 0.1
    return centers.astype(dtype), x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("post", POST)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize(
    "shape", [(500, 6, 8), (1, 3, 4), (60, 1, 2)], ids=lambda s: "N%d-D%d-K%d" % s
)
def test_kmeans_codebook(dtype, post, soft, shape):
    centers, x = codebook(*shape, dtype, seed=shape[0])
    flags = post | (VL_BOVW_FLAG_SOFT if soft else 0)
    sigma = 1.3 if soft else None
    hist = bovw_encode(centers, x, sigma, flags)
    assert hist.shape == (shape[2],) and hist.dtype == dtype
    expected = finish_reference(votes_reference(x, centers, flags, sigma or 0), flags)
    assert_close(hist, expected, TOL[dtype])
    if not soft and not post:
        assert hist.sum() == shape[0] and np.all(hist == np.round(hist))


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_votes_far_from_every_center(dtype):
    """Descriptors far away (d^2 / 2 sigma^2 in the thousands) still vote 1 in total."""
    centers, x = codebook(200, 4, 5, dtype, seed=3)
    x = x + dtype(60)
    hist = bovw_encode(centers, x, 0.5, VL_BOVW_FLAG_SOFT)
    assert np.all(np.isfinite(hist))
    # float32 distances of ~1e4 carry absolute errors of ~1e-3 into the exponent
    tol = 1e-3 if dtype == np.float32 else TOL[dtype]
    assert_close(
        hist, finish_reference(votes_reference(x, centers, VL_BOVW_FLAG_SOFT, 0.5), 0), tol
    )
    assert hist.sum() == pytest.approx(200, rel=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("post", POST)
@pytest.mark.parametrize("soft", [False, True])
def test_gmm_codebook(dtype, post, soft):
    rng = np.random.default_rng(1)
    k, d = 6, 5
    means = rng.normal(size=(k, d)) * 2
    covs = rng.uniform(0.4, 2.0, size=(k, d))
    priors = rng.dirichlet(np.ones(k) * 2)
    priors[4] = 1e-7  # below 1e-6: never votes
    x = mixture_data(400, d, k, seed=2)
    sets = [x[:250], x[250:251], x[251:251], x[251:]]
    flags = post | (VL_BOVW_FLAG_SOFT if soft else 0)
    params = [a.astype(dtype) for a in (means, covs, priors)]
    out = bovw_encode_gmm_batch(*params, [s.astype(dtype) for s in sets], flags)
    assert out.shape == (4, k) and out.dtype == dtype
    for j, s in enumerate(sets):
        if len(s):
            q, _ = ref.posteriors(s.astype(dtype), *params)
            votes = q if soft else np.eye(k)[np.argmax(q, axis=1)]
        else:
            votes = np.zeros((0, k))
        expected = finish_reference(votes, flags)
        if len(s):
            assert_close(out[j], expected, TOL[dtype] * (100 if dtype == np.float32 else 1))
        else:
            assert np.all(out[j] == 0)
        assert out[j, 4] == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", range(16))
def test_batch_equals_single(dtype, flags, threads):
    centers, x = codebook(400, 5, 7, dtype, seed=5)
    cuts = [0, 1, 1, 30, 31, 250, 400]
    sets = [x[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    sigma = 0.8 if flags & VL_BOVW_FLAG_SOFT else None
    for n_threads in (1, 2, 0):
        pyvl.vl_set_num_threads(n_threads)
        batch = bovw_encode_batch(centers, sets, sigma, flags)
        assert batch.shape == (len(sets), 7) and batch.dtype == dtype
        for j, s in enumerate(sets):
            np.testing.assert_array_equal(batch[j], bovw_encode(centers, s, sigma, flags))
        assert np.all(batch[1] == 0)


def test_errors():
    centers, x = codebook(50, 3, 4, np.float64)
    with pytest.raises(ValueError, match="sigma"):
        bovw_encode(centers, x, None, VL_BOVW_FLAG_SOFT)
    with pytest.raises(ValueError, match="sigma"):
        bovw_encode(centers, x, 1.0, 0)
    for s in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="sigma"):
            bovw_encode(centers, x, s, VL_BOVW_FLAG_SOFT)
    with pytest.raises(ValueError, match="flag"):
        bovw_encode(centers, x, None, 16)
    with pytest.raises(ValueError, match="dimension"):
        bovw_encode(centers, x[:, :2])
    bad = x.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        bovw_encode(centers, bad)
    with pytest.raises(ValueError, match="covariance"):
        bovw_encode_gmm_batch(centers, np.zeros_like(centers), np.full(4, 0.25), [x])
