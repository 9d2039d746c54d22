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

C encoders
    :func:`c_fisher` and :func:`c_vlad` call ``vl_fisher_encode`` / ``vl_vlad_encode`` of the
    library behind a :class:`vlapi.VLApi` (VLFeat, the oracle, or libgmm through the same
    ctypes code) with explicit flags.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np

# vl_type of VLFeat's vl/generic.h
VL_TYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 2}


# ---- data -------------------------------------------------------------------------------


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
