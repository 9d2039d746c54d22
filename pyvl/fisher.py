"""Fisher vectors: VLFeat's ``vl_fisher_encode`` and libgmm's batch encoder.

::

    from pyvl.fisher import *
    enc = vl_fisher_encode(means, covariances, priors, data, VL_FISHER_FLAG_IMPROVED)

Shapes and dtypes (K components, D dimensions, N descriptors):

* ``means``, ``covariances`` (diagonal variances): (K, D); ``priors``: (K,);
* ``data``: (N, D) (or flat (N*D,)), any real dtype, converted to the GMM's;
* the encoding: (2*K*D,) — the K mean blocks u_0..u_{K-1} first, then the K
  variance blocks v_0..v_{K-1}, each of length D (``enc[k*D + d]`` is
  u_k[d], ``enc[K*D + k*D + d]`` is v_k[d]).

The dtype of the computation and of the result is float32 when all three GMM
parameter arrays are float32, float64 otherwise (data is converted to it,
copied only if it must be).

u_k = 1/(N sqrt(pi_k)) sum_i q_ik (x_i - mu_k)/sigma_k and
v_k = 1/(N sqrt(2 pi_k)) sum_i q_ik ((x_i - mu_k)^2/sigma_k^2 - 1), with q the
GMM posteriors; components with a prior below 1e-6 and posteriors below 1e-6
are skipped. Flags: signed square root, then L2 normalisation (IMPROVED is
both); FAST uses a hard assignment to the most likely component. No
descriptors (N = 0) encode to zeros, whatever the flags.

Errors (NaN/Inf values, covariances <= 0, negative priors, unknown flags,
shapes that do not match) raise :class:`pyvl.InvalidArgumentError` (a
``ValueError``); non-numeric arrays raise ``TypeError``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np

from ._arrays import _numeric, as_array, as_data, ptr, vl_type_of
from ._errors import InvalidArgumentError
from ._lib import lib
from ._sets import SIZE_T, as_sets, check_offsets, size_ptr

__all__ = [
    "VL_FISHER_FLAG_SQUARE_ROOT",
    "VL_FISHER_FLAG_NORMALIZED",
    "VL_FISHER_FLAG_IMPROVED",
    "VL_FISHER_FLAG_FAST",
    "vl_fisher_encode",
    "fisher_encode_batch",
]

VL_FISHER_FLAG_SQUARE_ROOT = 0x1
VL_FISHER_FLAG_NORMALIZED = 0x2
VL_FISHER_FLAG_IMPROVED = VL_FISHER_FLAG_SQUARE_ROOT | VL_FISHER_FLAG_NORMALIZED
VL_FISHER_FLAG_FAST = 0x4
_ALL_FLAGS = VL_FISHER_FLAG_SQUARE_ROOT | VL_FISHER_FLAG_NORMALIZED | VL_FISHER_FLAG_FAST


def check_flags(flags: Any, known: int, prefix: str) -> int:
    """``flags`` as an int made only of the ``known`` bits (shared by the encoders)."""
    if isinstance(flags, bool):
        raise TypeError(f"flags must be an integer combination of {prefix}_* constants, got a bool")
    try:
        value = operator.index(flags)
    except TypeError:
        raise TypeError(
            f"flags must be an integer combination of {prefix}_* constants, got {flags!r}"
        ) from None
    if value < 0 or value & ~known:
        unknown = value & ~known if value >= 0 else value
        raise InvalidArgumentError(
            f"unknown flag bits {unknown:#x} in flags={value} (known {prefix}_* bits: {known:#x})"
        )
    return value


def gmm_params(
    means: Any, covariances: Any, priors: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.dtype]:
    """GMM parameters as C-contiguous arrays of one dtype.

    ``means`` and ``covariances`` must be (K, D), ``priors`` (K,). The dtype
    is float32 if all three are float32, float64 otherwise. Returns
    ``(means, covariances, priors, dtype)``.
    """
    m = _numeric(means, "means")
    c = _numeric(covariances, "covariances")
    p = _numeric(priors, "priors")
    if m.ndim != 2:
        raise ValueError(f"means must be a (K, D) array, got shape {m.shape}")
    if c.shape != m.shape:
        raise ValueError(
            f"covariances must have the shape of means {m.shape} (diagonal variances), "
            f"got {c.shape}"
        )
    if p.shape != (m.shape[0],):
        raise ValueError(f"priors must have shape ({m.shape[0]},), got {p.shape}")
    if m.shape[0] == 0 or m.shape[1] == 0:
        raise ValueError(f"the GMM needs K >= 1 components in D >= 1 dimensions, got {m.shape}")
    dtype = np.dtype(np.float32 if np.result_type(m, c, p) == np.float32 else np.float64)
    return (
        as_array(m, dtype, "means"),
        as_array(c, dtype, "covariances"),
        as_array(p, dtype, "priors"),
        dtype,
    )


@overload
def vl_fisher_encode(
    means: Any,
    covariances: Any,
    priors: Any,
    data: Any,
    flags: int = ...,
    *,
    return_num_terms: Literal[False] = ...,
) -> np.ndarray: ...
@overload
def vl_fisher_encode(
    means: Any,
    covariances: Any,
    priors: Any,
    data: Any,
    flags: int = ...,
    *,
    return_num_terms: Literal[True],
) -> tuple[np.ndarray, int]: ...


def vl_fisher_encode(
    means: Any,
    covariances: Any,
    priors: Any,
    data: Any,
    flags: int = 0,
    *,
    return_num_terms: bool = False,
) -> np.ndarray | tuple[np.ndarray, int]:
    """Fisher vector of one descriptor set (VLFeat's ``vl_fisher_encode``).

    Parameters
    ----------
    means, covariances : (K, D) float32 or float64
        Component means and diagonal variances (> 0).
    priors : (K,)
        Mixture weights (>= 0; not renormalised).
    data : (N, D) or flat (N*D,)
        Descriptors; converted to the GMM's dtype. N may be 0.
    flags : int
        ``VL_FISHER_FLAG_*`` bits (SQUARE_ROOT, NORMALIZED, IMPROVED, FAST).
    return_num_terms : bool
        Also return the number of (descriptor, component) pairs accumulated
        (the C function's return value).

    Returns
    -------
    enc : (2*K*D,) ndarray of the GMM's dtype
        ``[u_0 .. u_{K-1}, v_0 .. v_{K-1}]``; or ``(enc, num_terms)``.
    """
    m, c, p, dtype = gmm_params(means, covariances, priors)
    k, d = m.shape
    f = check_flags(flags, _ALL_FLAGS, "VL_FISHER_FLAG")
    x, n = as_data(data, d, dtype)
    enc = np.empty(2 * k * d, dtype=dtype)
    terms = lib.vl_fisher_encode(
        ptr(enc), vl_type_of(dtype), ptr(m), d, k, ptr(c), ptr(p), ptr(x), n, f
    )
    if return_num_terms:
        return enc, int(terms)
    return enc


@overload
def fisher_encode_batch(
    means: Any,
    covariances: Any,
    priors: Any,
    descriptor_sets: Sequence[Any],
    flags: int = ...,
    *,
    return_num_terms: Literal[False] = ...,
) -> np.ndarray: ...
@overload
def fisher_encode_batch(
    means: Any,
    covariances: Any,
    priors: Any,
    descriptor_sets: Sequence[Any],
    flags: int = ...,
    *,
    return_num_terms: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def fisher_encode_batch(
    means: Any,
    covariances: Any,
    priors: Any,
    descriptor_sets: Sequence[Any],
    flags: int = 0,
    *,
    return_num_terms: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Fisher vectors of many images in one C call (``vl_fisher_encode_batch``).

    ``descriptor_sets`` is a list of per-image (N_j, D) arrays (N_j may be 0).
    Row j of the result is ``vl_fisher_encode(means, covariances, priors,
    descriptor_sets[j], flags)``, bit for bit; images are spread over threads.

    Returns
    -------
    enc : (n_images, 2*K*D) ndarray of the GMM's dtype
        or ``(enc, num_terms)`` with num_terms (n_images,) uint64.
    """
    m, c, p, dtype = gmm_params(means, covariances, priors)
    data, offsets = as_sets(descriptor_sets, m.shape[1], dtype)
    if return_num_terms:
        return encode_sets(m, c, p, data, offsets, flags, return_num_terms=True)
    return encode_sets(m, c, p, data, offsets, flags)


@overload
def encode_sets(
    means: Any,
    covariances: Any,
    priors: Any,
    data: np.ndarray,
    offsets: Any,
    flags: int = ...,
    *,
    return_num_terms: Literal[False] = ...,
) -> np.ndarray: ...
@overload
def encode_sets(
    means: Any,
    covariances: Any,
    priors: Any,
    data: np.ndarray,
    offsets: Any,
    flags: int = ...,
    *,
    return_num_terms: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def encode_sets(
    means: Any,
    covariances: Any,
    priors: Any,
    data: np.ndarray,
    offsets: Any,
    flags: int = 0,
    *,
    return_num_terms: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """:func:`fisher_encode_batch` on descriptor sets already concatenated:
    ``data`` (N_total, D) and ``offsets`` (n_images + 1,) row offsets."""
    m, c, p, dtype = gmm_params(means, covariances, priors)
    k, d = m.shape
    f = check_flags(flags, _ALL_FLAGS, "VL_FISHER_FLAG")
    x, total = as_data(data, d, dtype)
    off = check_offsets(offsets, total)
    n_images = off.size - 1
    enc = np.empty((n_images, 2 * k * d), dtype=dtype)
    terms = np.zeros(n_images, dtype=SIZE_T) if return_num_terms else None
    lib.vl_fisher_encode_batch(
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
        None if terms is None else size_ptr(terms),
    )
    if terms is not None:
        return enc, terms
    return enc
