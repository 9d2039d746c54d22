"""cyvlfeat.fisher: ``fisher``."""

from __future__ import annotations

import numpy as np

from ...fisher import (
    VL_FISHER_FLAG_FAST,
    VL_FISHER_FLAG_IMPROVED,
    VL_FISHER_FLAG_NORMALIZED,
    VL_FISHER_FLAG_SQUARE_ROOT,
    vl_fisher_encode,
)
from ._common import (
    _float_array,
    _matrix,
    _same_dtype,
)

__all__ = ["fisher"]


def fisher(
    x: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    priors: np.ndarray,
    normalized: bool = False,
    square_root: bool = False,
    improved: bool = False,
    fast: bool = False,
    verbose: bool = False,
) -> np.ndarray:
    """Fisher vector of the descriptors ``x`` for a diagonal GMM (cyvlfeat's ``fisher``).

    Parameters
    ----------
    x : (N, D) float32 or float64 ndarray
        Descriptors, one per row (N may be 0: the encoding is then zeros).
    means : (K, D) ndarray of x's dtype
    covariances : (K, D) ndarray of x's dtype
        Diagonal covariances (variances), > 0.
    priors : (K,) ndarray of x's dtype
    normalized : bool, optional
        L2-normalise the vector.
    square_root : bool, optional
        Signed square root, before normalisation.
    improved : bool, optional
        The improved Fisher vector: ``square_root`` and ``normalized``.
    fast : bool, optional
        Hard-assign each descriptor to its most likely component.
    verbose : bool, optional
        Print the sizes, options and sparsity of the assignments.

    Returns
    -------
    enc : (2*K*D,) ndarray of x's dtype
        ``[u_0 .. u_{K-1}, v_0 .. v_{K-1}]`` (mean then variance blocks of D).
    """
    for name, value in (
        ("x", x),
        ("means", means),
        ("covariances", covariances),
        ("priors", priors),
    ):
        if value is None:
            raise ValueError(f"{name} is required, got None")
    x = _matrix(x, "x")
    m = _matrix(means, "means")
    c = _matrix(covariances, "covariances")
    p = _float_array(priors, "priors")
    k, d = m.shape
    if k == 0 or d == 0:
        raise ValueError(f"means must be a (K, D) array with K, D >= 1, got shape {m.shape}")
    if c.shape != m.shape:
        raise ValueError(f"covariances must have the shape of means {m.shape}, got {c.shape}")
    if p.shape != (k,):
        raise ValueError(f"priors must have shape ({k},) (one per component), got {p.shape}")
    if x.shape[1] != d:
        raise ValueError(
            f"x has {x.shape[1]} columns but means has {d}: they must have the same dimension"
        )
    for name, arr in (("means", m), ("covariances", c), ("priors", p)):
        _same_dtype(arr, name, x.dtype, "x")

    flags = 0
    if bool(normalized):
        flags |= VL_FISHER_FLAG_NORMALIZED
    if bool(square_root):
        flags |= VL_FISHER_FLAG_SQUARE_ROOT
    if bool(improved):
        flags |= VL_FISHER_FLAG_IMPROVED
    if bool(fast):
        flags |= VL_FISHER_FLAG_FAST
    n = x.shape[0]
    if verbose:
        print(f"vl_fisher: num data:       {n}")
        print(f"vl_fisher: num clusters:   {k}")
        print(f"vl_fisher: data dimension: {d}")
        print(f"vl_fisher: code dimension: {2 * k * d}")
        print(f"vl_fisher: square root:    {bool(flags & VL_FISHER_FLAG_SQUARE_ROOT)}")
        print(f"vl_fisher: normalized:     {bool(flags & VL_FISHER_FLAG_NORMALIZED)}")
        print(f"vl_fisher: fast:           {bool(flags & VL_FISHER_FLAG_FAST)}")
    enc, terms = vl_fisher_encode(m, c, p, x, flags, return_num_terms=True)
    if verbose:
        sparsity = 100.0 * (1.0 - terms / (n * k + 1e-12))
        print(
            f"vl_fisher: sparsity of assignments: {sparsity:.2f}% "
            f"({terms} non-negligible assignments)"
        )
    return enc


