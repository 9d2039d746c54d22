"""libgmm's stateless functions: the E-step of given parameters and the encoders
(Fisher vectors, VLAD, bags of words), one image or a batch per call.

Signatures and argument orders are VLFeat's where VLFeat has the function;
``pyvl.gmm``, ``pyvl.fisher``, ``pyvl.vlad`` and ``pyvl.bovw`` export these
under VLFeat's names and document the formulas. Shapes (K components or
centers, D dimensions, N descriptors): means/centers/covariances (K, D),
priors (K,), data (N, D) or flat, any real dtype converted to the model's.
The model's dtype is float32 when its arrays are all float32, float64
otherwise. Batch calls take descriptor sets concatenated (``data``,
``offsets``; see :func:`pyvl._core.arrays.as_sets`); row j of a batch equals
the single-image call on image j, bit for bit.
"""

from __future__ import annotations

from ctypes import c_size_t
from typing import Any

import numpy as np

from .arrays import (
    SIZE_T,
    as_data,
    as_params,
    check_centers,
    check_flags,
    check_gmm,
    check_offsets,
    count,
    ptr,
    typed_ptr,
    vl_type_of,
)
from .enums import BovwFlag, FisherFlag, VladFlag, flag_bits
from .errors import InvalidArgumentError
from .lib import lib

FISHER_FLAGS = flag_bits(FisherFlag)
VLAD_FLAGS = flag_bits(VladFlag)
BOVW_FLAGS = flag_bits(BovwFlag)


def _sizes(arr: np.ndarray | None) -> Any:
    return typed_ptr(arr, c_size_t)


def gmm_arrays(means: Any, covariances: Any, priors: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.dtype]:
    """GMM parameters for the encoders: shapes and dtype checked here, values by libgmm."""
    return check_gmm(means, covariances, priors, values=False, what="the GMM")


# ---- the E-step of given parameters ---------------------------------------------------


def posteriors(
    dtype: np.dtype,
    out: np.ndarray | None,
    num_clusters: int,
    num_data: int | None,
    priors: Any,
    means: Any,
    dimension: int,
    covariances: Any,
    data: Any,
) -> tuple[np.ndarray, float]:
    """``vl_get_gmm_data_posteriors_f``/``_d``: fills ``out`` (N*K of ``dtype``;
    allocated if None) and returns ``(posteriors, loglikelihood)``, the
    log-likelihood summed over points."""
    k = count(num_clusters, "num_clusters")
    d = count(dimension, "dimension")
    if k == 0 or d == 0:
        raise InvalidArgumentError("num_clusters and dimension must be >= 1")
    x, n = as_data(data, d, dtype, num_data)
    p = as_params(priors, (k,), dtype, "priors")
    m = as_params(means, (k, d), dtype, "means")
    c = as_params(covariances, (k, d), dtype, "covariances")
    if out is None:
        out = np.empty(n * k, dtype=dtype)
    elif (
        not isinstance(out, np.ndarray)
        or out.dtype != dtype
        or not out.flags.c_contiguous
        or not out.flags.writeable
        or out.size < n * k
    ):
        raise ValueError(
            f"posteriors must be a writable C-contiguous {dtype} array of at least {n * k} values"
        )
    fn = lib.vl_get_gmm_data_posteriors_f if dtype == np.float32 else lib.vl_get_gmm_data_posteriors_d
    ll = float(fn(ptr(out), k, n, ptr(p), ptr(m), d, ptr(c), ptr(x)))
    return out, ll


# ---- Fisher vectors ----------------------------------------------------------------------


def fisher_encode(means: Any, covariances: Any, priors: Any, data: Any,
                  flags: int = 0) -> tuple[np.ndarray, int]:
    """One Fisher vector (2*K*D,) of the GMM's dtype, and the number of
    (descriptor, component) terms accumulated."""
    m, c, p, dtype = gmm_arrays(means, covariances, priors)
    k, d = m.shape
    f = check_flags(flags, FISHER_FLAGS, "VL_FISHER_FLAG")
    x, n = as_data(data, d, dtype)
    enc = np.empty(2 * k * d, dtype=dtype)
    terms = lib.vl_fisher_encode(ptr(enc), vl_type_of(dtype), ptr(m), d, k, ptr(c), ptr(p),
                                 ptr(x), n, f)
    return enc, int(terms)


def fisher_encode_sets(means: Any, covariances: Any, priors: Any, data: Any, offsets: Any,
                       flags: int = 0, num_terms: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Fisher vectors (n_images, 2*K*D) of concatenated descriptor sets, one C call;
    and the per-image term counts (uint64) if ``num_terms``."""
    m, c, p, dtype = gmm_arrays(means, covariances, priors)
    k, d = m.shape
    f = check_flags(flags, FISHER_FLAGS, "VL_FISHER_FLAG")
    x, total = as_data(data, d, dtype)
    off = check_offsets(offsets, total)
    n_images = off.size - 1
    enc = np.empty((n_images, 2 * k * d), dtype=dtype)
    terms = np.zeros(n_images, dtype=SIZE_T) if num_terms else None
    lib.vl_fisher_encode_batch(ptr(enc), vl_type_of(dtype), ptr(m), d, k, ptr(c), ptr(p), ptr(x),
                               _sizes(off), n_images, f, _sizes(terms))
    return enc, terms


# ---- VLAD ---------------------------------------------------------------------------------


def vlad_encode(means: Any, data: Any, assignments: Any, flags: int = 0) -> np.ndarray:
    """VLAD (K*D,) of one descriptor set with (N, K) assignment weights."""
    m, dtype = check_centers(means)
    k, d = m.shape
    f = check_flags(flags, VLAD_FLAGS, "VL_VLAD_FLAG")
    x, n = as_data(data, d, dtype)
    a, na = as_data(assignments, k, dtype, name="assignments")
    if na != n:
        raise ValueError(
            f"assignments has {na} rows for {n} descriptors: expected shape ({n}, {k})"
        )
    enc = np.zeros(k * d, dtype=dtype)
    lib.vl_vlad_encode(ptr(enc), vl_type_of(dtype), ptr(m), d, k, ptr(x), n, ptr(a), f)
    return enc


def vlad_encode_sets(means: Any, data: Any, offsets: Any, assignments: Any = None,
                     flags: int = 0) -> np.ndarray:
    """VLAD (n_images, K*D) of concatenated descriptor sets, one C call;
    ``assignments`` (N_total, K) or None (nearest center, in C)."""
    m, dtype = check_centers(means)
    k, d = m.shape
    f = check_flags(flags, VLAD_FLAGS, "VL_VLAD_FLAG")
    x, total = as_data(data, d, dtype)
    off = check_offsets(offsets, total)
    a = None
    if assignments is not None:
        a, na = as_data(assignments, k, dtype, name="assignments")
        if na != total:
            raise ValueError(f"assignments has {na} rows for {total} descriptors")
    n_images = off.size - 1
    enc = np.zeros((n_images, k * d), dtype=dtype)
    lib.vl_vlad_encode_batch(ptr(enc), vl_type_of(dtype), ptr(m), d, k, ptr(x), _sizes(off),
                             n_images, ptr(a), f)
    return enc


# ---- bags of words ------------------------------------------------------------------------


def bovw_sigma(sigma: float | None, flags: int) -> float:
    """The kernel width of soft votes (0 for hard votes)."""
    if flags & BovwFlag.SOFT:
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
    """Histogram (K,) of one descriptor set on k-means centers."""
    c, dtype = check_centers(centers, "centers")
    k, d = c.shape
    f = check_flags(flags, BOVW_FLAGS, "VL_BOVW_FLAG")
    s = bovw_sigma(sigma, f)
    x, n = as_data(data, d, dtype)
    enc = np.zeros(k, dtype=dtype)
    lib.vl_bovw_encode(ptr(enc), vl_type_of(dtype), ptr(c), d, k, ptr(x), n, s, f)
    return enc


def bovw_encode_sets(centers: Any, data: Any, offsets: Any, sigma: float | None = None,
                     flags: int = 0) -> np.ndarray:
    """Histograms (n_images, K) of concatenated descriptor sets on k-means centers."""
    c, dtype = check_centers(centers, "centers")
    k, d = c.shape
    f = check_flags(flags, BOVW_FLAGS, "VL_BOVW_FLAG")
    s = bovw_sigma(sigma, f)
    x, total = as_data(data, d, dtype)
    off = check_offsets(offsets, total)
    n_images = off.size - 1
    enc = np.zeros((n_images, k), dtype=dtype)
    lib.vl_bovw_encode_batch(ptr(enc), vl_type_of(dtype), ptr(c), d, k, ptr(x), _sizes(off),
                             n_images, s, f)
    return enc


def bovw_encode_gmm_sets(means: Any, covariances: Any, priors: Any, data: Any, offsets: Any,
                         flags: int = 0) -> np.ndarray:
    """Histograms (n_images, K) voted by a GMM (posteriors with SOFT, else the argmax)."""
    m, c, p, dtype = gmm_arrays(means, covariances, priors)
    k, d = m.shape
    f = check_flags(flags, BOVW_FLAGS, "VL_BOVW_FLAG")
    x, total = as_data(data, d, dtype)
    off = check_offsets(offsets, total)
    n_images = off.size - 1
    enc = np.zeros((n_images, k), dtype=dtype)
    lib.vl_bovw_encode_gmm_batch(ptr(enc), vl_type_of(dtype), ptr(m), d, k, ptr(c), ptr(p), ptr(x),
                                 _sizes(off), n_images, f)
    return enc
