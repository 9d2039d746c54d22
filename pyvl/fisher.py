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

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np

from ._core import encoding as _enc
from ._core.arrays import as_sets
from ._core.enums import FisherFlag

__all__ = [
    "VL_FISHER_FLAG_SQUARE_ROOT",
    "VL_FISHER_FLAG_NORMALIZED",
    "VL_FISHER_FLAG_IMPROVED",
    "VL_FISHER_FLAG_FAST",
    "vl_fisher_encode",
    "fisher_encode_batch",
]

VL_FISHER_FLAG_SQUARE_ROOT = FisherFlag.SQUARE_ROOT
VL_FISHER_FLAG_NORMALIZED = FisherFlag.NORMALIZED
VL_FISHER_FLAG_IMPROVED = FisherFlag.IMPROVED
VL_FISHER_FLAG_FAST = FisherFlag.FAST

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
    enc, terms = _enc.fisher_encode(means, covariances, priors, data, flags)
    return (enc, terms) if return_num_terms else enc


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
    m, c, p, dtype = _enc.gmm_arrays(means, covariances, priors)
    data, offsets = as_sets(descriptor_sets, m.shape[1], dtype)
    enc, terms = _enc.fisher_encode_sets(m, c, p, data, offsets, flags, return_num_terms)
    return (enc, terms) if terms is not None else enc


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
    enc, terms = _enc.fisher_encode_sets(means, covariances, priors, data, offsets, flags,
                                         return_num_terms)
    return (enc, terms) if terms is not None else enc
