"""Helpers shared by the test files: test data, comparisons, the C encoders called directly.

Data
    :func:`mixture_data` (points from a random diagonal GMM), :func:`custom_init` (an EM
    starting point), :func:`images` (sets of descriptors of given sizes) and
    :func:`image_sizes` (random sizes with one empty image).

Comparisons -- two tolerances, with different meanings:
    :func:`assert_close` ``(a, b, rtol)``: ``max|a - b| <= rtol * max|b|``, the error relative
    to the scale of the reference ``b`` (entries of ``b`` near zero are not compared
    relatively: an encoding's small terms carry the rounding of its large ones).
    :func:`assert_allclose_scaled` ``(a, b, rtol)``: elementwise ``|a - b| <= rtol * |b| +
    rtol * max|b|`` (``np.testing.assert_allclose`` with an absolute floor at the scale of
    ``b``), at most twice as loose as :func:`assert_close`; for fitted models compared across
    data layouts (in memory, chunked, Dask).
    :func:`assert_state_close`: :func:`assert_close` on each array of two GMM states.

Bad-input tables (tests/test_errors_*.py)
    Their data (``N`` points of ``D`` dimensions, a ``K``-component model ``MU``, ``COV``,
    ``PRI``, ...), input variants (:func:`nan_at`, :func:`readonly`, :func:`strided`), the
    exact-exception check :func:`expect`, and the objects a failed call must leave usable
    (:func:`vl_objects`, :func:`check_usable`, :func:`fisher_encoder_f32`).

C encoders
    :func:`c_fisher` and :func:`c_vlad` call ``vl_fisher_encode`` / ``vl_vlad_encode`` of the
    library behind a :class:`vlapi.VLApi` (VLFeat, the oracle, or libgmm through the same
    ctypes code) with explicit flags.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from pyvl import gmm as G
from pyvl import kmeans as KM
from pyvl import random as R

# vl_type of VLFeat's vl/generic.h
VL_TYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 2}


# ---- data -------------------------------------------------------------------------------


# pyvl.GaussianMixture's settings that give VLFeat's model (diagonal covariances, VLFeat's
# EM, no reg_covar); its defaults are scikit-learn's (full, exact EM, reg_covar=1e-6)
VLFEAT = dict(covariance_type="diag", em="vlfeat", reg_covar=0.0)


def mixture_data(n: int, d: int, k: int, dtype=np.float64, seed: int = 0, spread: float = 3.0):
    """n points from a random diagonal GMM with k components in d dimensions."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * spread
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = centers[labels] + rng.normal(size=(n, d)) * scales[labels]
    return x.astype(dtype)


def custom_init(x: np.ndarray, k: int, seed: int = 1):
    """Means at k distinct data points, unit variances, uniform priors."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    means = x[rng.choice(n, size=k, replace=False)].copy()
    covs = np.ones((k, d), dtype=x.dtype)
    priors = np.full(k, 1.0 / k, dtype=x.dtype)
    return means, covs, priors


def images(sizes: Sequence[int], d: int, *, k: int = 4, seed: int = 1,
           dtype=np.float64) -> list[np.ndarray]:
    """One image (a (sizes[i], d) array of descriptors) per entry of ``sizes``: consecutive
    rows of one ``mixture_data(sum(sizes), d, k, seed=seed)`` draw."""
    cuts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
    x = mixture_data(int(cuts[-1]), d, k, dtype, seed=seed)
    return [x[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


def image_sizes(n: int, *, low: int = 0, high: int = 60, seed: int = 1,
                empty: int | None = 3) -> list[int]:
    """n random image sizes in [low, high); image ``empty`` (if not None) has none."""
    sizes = np.random.default_rng(seed).integers(low, high, size=n)
    if empty is not None:
        sizes[empty] = 0
    return [int(s) for s in sizes]


# ---- comparisons ------------------------------------------------------------------------


def assert_close(a: Any, b: Any, rtol: float, what: str = "") -> None:
    """``max|a - b| <= rtol * max|b|`` (same shapes; a NaN or infinity in ``a`` fails)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}shape {a.shape} != {b.shape}"
    if b.size == 0:
        return
    scale = max(float(np.max(np.abs(b))), 1e-30)
    err = float(np.max(np.abs(a - b))) / scale
    assert err <= rtol, f"{what}relative error {err:.2e} > {rtol:.0e}"


def assert_allclose_scaled(a: Any, b: Any, rtol: float) -> None:
    """Elementwise ``|a - b| <= rtol * |b| + rtol * max|b|``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(np.abs(b).max(), 1e-300))


def assert_state_close(a: dict, b: dict, rtol: float, keys=("means", "covariances", "priors")):
    """:func:`assert_close` on each of ``keys`` of two GMM states (dicts of arrays)."""
    for key in keys:
        assert_close(a[key], b[key], rtol, what=f"{key}: ")


# ---- the C encoders, called directly ----------------------------------------------------


def _pointers(dtype, *arrays):
    arrays = tuple(np.ascontiguousarray(a, dtype=dtype) for a in arrays)
    return arrays, [a.ctypes.data_as(ctypes.c_void_p) for a in arrays]


def c_fisher(api, means, covs, priors, x, flags: int) -> tuple[np.ndarray, int]:
    """``vl_fisher_encode`` of the library behind ``api`` (tests/vlapi.py), in the dtype of
    ``means``: the (2 K D,) encoding and the number of terms it returns."""
    dtype = means.dtype
    k, d = means.shape
    enc = np.full(2 * k * d, np.nan, dtype=dtype)
    _keep, p = _pointers(dtype, means, covs, priors, x)
    terms = api.lib.vl_fisher_encode(enc.ctypes.data_as(ctypes.c_void_p), VL_TYPES[np.dtype(dtype)],
                                     p[0], d, k, p[1], p[2], p[3], x.shape[0], flags)
    return enc, int(terms)


def c_vlad(api, means, x, assignments, flags: int) -> np.ndarray:
    """``vl_vlad_encode`` of the library behind ``api`` (tests/vlapi.py), in the dtype of
    ``means``: the (K D,) encoding."""
    dtype = means.dtype
    k, d = means.shape
    enc = np.full(k * d, np.nan, dtype=dtype)
    _keep, p = _pointers(dtype, means, x, assignments)
    api.lib.vl_vlad_encode(enc.ctypes.data_as(ctypes.c_void_p), VL_TYPES[np.dtype(dtype)],
                           p[0], d, k, p[1], x.shape[0], p[2], flags)
    return enc


# ---- the bad-input tables (tests/test_errors_*.py) -----------------------------------
# Their data (N points of D dimensions, a K-component model), the variants of an input,
# the exact-exception check and the VLFeat-API objects whose state a failed call must keep.

N, D, K = 120, 3, 4  # the tables' data: N points, D dimensions, K components
SIZE_MAX = 2**64 - 1
X = mixture_data(N, D, K, np.float64, seed=3)
XF = X.astype(np.float32)
MU = X[:K].copy()
COV = np.ones((K, D))
PRI = np.full(K, 1.0 / K)
ASSIGN = np.eye(K)[np.arange(N) % K]


def nan_at(a, where=(5, 1), value=np.nan):
    """A float64 copy of ``a`` with ``value`` at ``where``."""
    b = np.array(a, dtype=np.float64, copy=True)
    b[where] = value
    return b


def readonly(a):
    """A read-only copy of ``a``."""
    b = np.array(a, copy=True)
    b.flags.writeable = False
    return b


def strided(a):
    """The same values, not contiguous (every other column of a wider array)."""
    wide = np.zeros((a.shape[0], 2 * a.shape[1]), dtype=a.dtype)
    wide[:, ::2] = a
    view = wide[:, ::2]
    assert not view.flags.c_contiguous
    return view


def expect(exc, match, call, *args):
    """``call(*args)`` raises exactly ``exc`` (not merely a subclass) with ``match``."""
    with pytest.raises(exc, match=match) as info:
        call(*args)
    assert type(info.value) is exc, f"{type(info.value).__name__} is not {exc.__name__}"
    return info.value


def vl_objects():
    """A fitted VlGMM and VlKMeans (of ``X``) and a VlRand, through VLFeat's API."""
    g = G.vl_gmm_new(G.VL_TYPE_DOUBLE, D, K)
    G.vl_rand_seed(G.vl_get_rand(), 1)
    G.vl_gmm_set_max_num_iterations(g, 10)
    G.vl_gmm_cluster(g, X)
    km = KM.vl_kmeans_new(KM.VL_TYPE_DOUBLE, KM.VlDistanceL2)
    KM.vl_kmeans_cluster(km, X, D, None, K)
    return SimpleNamespace(gmm=g, km=km, rand=R.vl_rand_new(7))


def check_usable(o):
    """The objects of :func:`vl_objects` still work: EM on a copy, posteriors, quantization,
    random numbers."""
    g = G.vl_gmm_new_copy(o.gmm)
    G.vl_gmm_set_max_num_iterations(g, 2)
    assert np.isfinite(G.vl_gmm_em(g, X))
    post, ll = G.vl_get_gmm_data_posteriors_d(
        None,
        K,
        N,
        G.vl_gmm_get_priors(o.gmm),
        G.vl_gmm_get_means(o.gmm),
        D,
        G.vl_gmm_get_covariances(o.gmm),
        X,
    )
    assert np.isfinite(ll) and np.allclose(post.reshape(N, K).sum(1), 1)
    a, _ = KM.vl_kmeans_quantize(o.km, X)
    assert a.shape == (N,) and a.max() < K
    assert 0 <= R.vl_rand_uindex(o.rand, 10) < 10


def fisher_encoder_f32():
    """A float32 FisherEncoder of the tables' model (``MU``, ``COV``, ``PRI``)."""
    import pyvl.encoders as E

    return E.FisherEncoder.from_gmm(
        MU.astype(np.float32), COV.astype(np.float32), PRI.astype(np.float32)
    )


@contextlib.contextmanager
def sigint_at_log(text: str) -> Iterator[None]:
    """Ctrl-C from inside a fit: SIGINT to this process when pyvl logs a record containing
    ``text`` (e.g. "iteration 3:", logged from inside the C call), not after a delay that a
    busy machine would make meaningless. The logger is restored on exit."""

    class CtrlC(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if text in record.getMessage():
                os.kill(os.getpid(), signal.SIGINT)

    logger = logging.getLogger("pyvl")
    handler, level = CtrlC(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
