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

from ._core import encoding as _enc
from ._core.arrays import as_sets, check_centers
from ._core.enums import BovwFlag

__all__ = [
    "VL_BOVW_FLAG_SOFT",
    "VL_BOVW_FLAG_FREQUENCIES",
    "VL_BOVW_FLAG_SQUARE_ROOT",
    "VL_BOVW_FLAG_NORMALIZED",
    "bovw_encode",
    "bovw_encode_batch",
    "bovw_encode_gmm_batch",
]

VL_BOVW_FLAG_SOFT = BovwFlag.SOFT
VL_BOVW_FLAG_FREQUENCIES = BovwFlag.FREQUENCIES
VL_BOVW_FLAG_SQUARE_ROOT = BovwFlag.SQUARE_ROOT
VL_BOVW_FLAG_NORMALIZED = BovwFlag.NORMALIZED


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
    return _enc.bovw_encode(centers, data, sigma, flags)


def bovw_encode_batch(
    centers: Any, descriptor_sets: Sequence[Any], sigma: float | None = None, flags: int = 0
) -> np.ndarray:
    """Histograms of many images in one C call (``vl_bovw_encode_batch``).

    ``descriptor_sets`` is a list of (N_j, D) arrays. Returns (n_images, K)
    of the centers' dtype; row j equals :func:`bovw_encode` of image j.
    """
    c, dtype = check_centers(centers, "centers")
    data, offsets = as_sets(descriptor_sets, c.shape[1], dtype)
    return _enc.bovw_encode_sets(c, data, offsets, sigma, flags)


def encode_sets(
    centers: Any, data: np.ndarray, offsets: Any, sigma: float | None = None, flags: int = 0
) -> np.ndarray:
    """:func:`bovw_encode_batch` on sets already concatenated: ``data``
    (N_total, D), ``offsets`` (n_images + 1,)."""
    return _enc.bovw_encode_sets(centers, data, offsets, sigma, flags)


def bovw_encode_gmm_batch(
    means: Any, covariances: Any, priors: Any, descriptor_sets: Sequence[Any], flags: int = 0
) -> np.ndarray:
    """Histograms voted by a GMM, many images in one C call (``vl_bovw_encode_gmm_batch``).

    With ``VL_BOVW_FLAG_SOFT`` each descriptor votes its posteriors (the
    E-step of the GMM, priors below 1e-6 giving 0); without it, 1 for the
    most likely component. Returns (n_images, K) of the GMM's dtype.
    """
    m, c, p, dtype = _enc.gmm_arrays(means, covariances, priors)
    data, offsets = as_sets(descriptor_sets, m.shape[1], dtype)
    return _enc.bovw_encode_gmm_sets(m, c, p, data, offsets, flags)


def encode_gmm_sets(
    means: Any, covariances: Any, priors: Any, data: np.ndarray, offsets: Any, flags: int = 0
) -> np.ndarray:
    """:func:`bovw_encode_gmm_batch` on sets already concatenated."""
    return _enc.bovw_encode_gmm_sets(means, covariances, priors, data, offsets, flags)
