"""Bag of visual words: histograms over a codebook (libgmm extension, vl/encode.h).

::

    from pyvl.bovw import *
    hist = bovw_encode(centers, data)                                  # hard counts
    hist = bovw_encode(centers, data, sigma=0.5, flags=VL_BOVW_FLAG_SOFT)

Shapes and dtypes (K codewords, D dimensions, N descriptors):

* ``centers`` (or the GMM ``means``/``covariances``): (K, D), ``priors`` (K,);
  float32 stays float32, anything else is computed in float64;
* ``data``: (N, D) (or flat (N*D,)), converted to that dtype;
* the histogram: (K,) per image.

Votes: hard (default), each descriptor adds 1 to its nearest center
(squared L2, the first minimum wins); ``VL_BOVW_FLAG_SOFT`` (kernel
codebook), each descriptor spreads one vote with weights proportional to
exp(-||x - c_k||^2 / (2 sigma^2)). The GMM variant votes with the posteriors
(SOFT) or with their argmax (hard). Then, in this order: FREQUENCIES divides
by N, SQUARE_ROOT takes square roots, NORMALIZED divides by the L2 norm.
No descriptors give zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._arrays import as_data, ptr, vl_type_of
from ._lib import lib
from ._sets import as_sets, check_offsets, size_ptr
from .fisher import check_flags, gmm_params
from .vlad import centers_array

__all__ = [
    "VL_BOVW_FLAG_SOFT",
    "VL_BOVW_FLAG_FREQUENCIES",
    "VL_BOVW_FLAG_SQUARE_ROOT",
    "VL_BOVW_FLAG_NORMALIZED",
    "bovw_encode",
    "bovw_encode_batch",
    "bovw_encode_gmm_batch",
]

VL_BOVW_FLAG_SOFT = 0x1
VL_BOVW_FLAG_FREQUENCIES = 0x2
VL_BOVW_FLAG_SQUARE_ROOT = 0x4
VL_BOVW_FLAG_NORMALIZED = 0x8
_ALL_FLAGS = 0xF


def _sigma(sigma: float | None, flags: int) -> float:
    if flags & VL_BOVW_FLAG_SOFT:
        if sigma is None:
            raise ValueError("VL_BOVW_FLAG_SOFT needs sigma > 0 (the kernel width)")
        s = float(sigma)
        if not s > 0 or not np.isfinite(s):
            raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
        return s
    if sigma is not None:
        raise ValueError("sigma is used only with VL_BOVW_FLAG_SOFT (hard votes have no width)")
    return 0.0


def bovw_encode(centers: Any, data: Any, sigma: float | None = None, flags: int = 0) -> np.ndarray:
    """Histogram of one descriptor set (``vl_bovw_encode``).

    Parameters
    ----------
    centers : (K, D) float32 or float64
    data : (N, D) or flat (N*D,)
    sigma : float, only with ``VL_BOVW_FLAG_SOFT``
        Kernel width (> 0).
    flags : int
        ``VL_BOVW_FLAG_*`` bits.

    Returns
    -------
    hist : (K,) ndarray of the centers' dtype
    """
    c, dtype = centers_array(centers, "centers")
    k, d = c.shape
    f = check_flags(flags, _ALL_FLAGS, "VL_BOVW_FLAG")
    s = _sigma(sigma, f)
    x, n = as_data(data, d, dtype)
    enc = np.zeros(k, dtype=dtype)
    lib.vl_bovw_encode(ptr(enc), vl_type_of(dtype), ptr(c), d, k, ptr(x), n, s, f)
    return enc


def bovw_encode_batch(
    centers: Any, descriptor_sets: Sequence[Any], sigma: float | None = None, flags: int = 0
) -> np.ndarray:
    """Histograms of many images in one C call (``vl_bovw_encode_batch``).

    ``descriptor_sets`` is a list of (N_j, D) arrays. Returns (n_images, K)
    of the centers' dtype; row j equals :func:`bovw_encode` of image j.
    """
    c, dtype = centers_array(centers, "centers")
    data, offsets = as_sets(descriptor_sets, c.shape[1], dtype)
    return encode_sets(c, data, offsets, sigma, flags)


def encode_sets(
    centers: Any, data: np.ndarray, offsets: Any, sigma: float | None = None, flags: int = 0
) -> np.ndarray:
    """:func:`bovw_encode_batch` on sets already concatenated: ``data``
    (N_total, D), ``offsets`` (n_images + 1,)."""
    c, dtype = centers_array(centers, "centers")
    k, d = c.shape
    f = check_flags(flags, _ALL_FLAGS, "VL_BOVW_FLAG")
    s = _sigma(sigma, f)
    x, total = as_data(data, d, dtype)
    off = check_offsets(offsets, total)
    n_images = off.size - 1
    enc = np.zeros((n_images, k), dtype=dtype)
    lib.vl_bovw_encode_batch(
        ptr(enc), vl_type_of(dtype), ptr(c), d, k, ptr(x), size_ptr(off), n_images, s, f
    )
    return enc


def bovw_encode_gmm_batch(
    means: Any, covariances: Any, priors: Any, descriptor_sets: Sequence[Any], flags: int = 0
) -> np.ndarray:
    """Histograms voted by a GMM, many images in one C call (``vl_bovw_encode_gmm_batch``).

    With ``VL_BOVW_FLAG_SOFT`` each descriptor votes its posteriors (the
    E-step of the GMM, priors below 1e-6 giving 0); without it, 1 for the
    most likely component. Returns (n_images, K) of the GMM's dtype.
    """
    m, c, p, dtype = gmm_params(means, covariances, priors)
    data, offsets = as_sets(descriptor_sets, m.shape[1], dtype)
    return encode_gmm_sets(m, c, p, data, offsets, flags)


def encode_gmm_sets(
    means: Any, covariances: Any, priors: Any, data: np.ndarray, offsets: Any, flags: int = 0
) -> np.ndarray:
    """:func:`bovw_encode_gmm_batch` on sets already concatenated."""
    m, c, p, dtype = gmm_params(means, covariances, priors)
    k, d = m.shape
    f = check_flags(flags, _ALL_FLAGS, "VL_BOVW_FLAG")
    x, total = as_data(data, d, dtype)
    off = check_offsets(offsets, total)
    n_images = off.size - 1
    enc = np.zeros((n_images, k), dtype=dtype)
    lib.vl_bovw_encode_gmm_batch(
        ptr(enc),
        vl_type_of(dtype),
        ptr(m),
        d,
        k,
        ptr(c),
        ptr(p),
        ptr(x),
        size_ptr(off),
        n_images,
        f,
    )
    return enc
