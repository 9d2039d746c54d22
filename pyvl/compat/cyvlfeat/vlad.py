"""cyvlfeat.vlad: ``vlad``."""

from __future__ import annotations

import numpy as np

from ...vlad import (
    VL_VLAD_FLAG_NORMALIZE_COMPONENTS,
    VL_VLAD_FLAG_NORMALIZE_MASS,
    VL_VLAD_FLAG_SQUARE_ROOT,
    VL_VLAD_FLAG_UNNORMALIZED,
    vl_vlad_encode,
)
from ._common import (
    _matrix,
    _same_dtype,
)

__all__ = ["vlad"]


def vlad(
    x: np.ndarray,
    means: np.ndarray,
    assignments: np.ndarray,
    unnormalized: bool = False,
    square_root: bool = False,
    normalize_components: bool = False,
    normalize_mass: bool = False,
    verbose: bool = False,
) -> np.ndarray:
    """VLAD of the descriptors ``x`` for the centers ``means`` (cyvlfeat's ``vlad``).

    Parameters
    ----------
    x : (N, D) float32 or float64 ndarray
        Descriptors, one per row.
    means : (K, D) ndarray of x's dtype
        The cluster centers.
    assignments : (N, K) ndarray of x's dtype
        Weight of each descriptor for each center (one-hot rows for hard
        assignments; entries <= 0 are ignored).
    unnormalized : bool, optional
        Skip the final L2 normalisation of the whole vector (applied by default).
    square_root : bool, optional
        Signed square root of every entry.
    normalize_components : bool, optional
        L2-normalise each center's block.
    normalize_mass : bool, optional
        Divide each center's block by the total weight assigned to it.
    verbose : bool, optional
        Print the sizes and options.

    Returns
    -------
    enc : (K*D,) ndarray of x's dtype
        ``[v_0 .. v_{K-1}]``, blocks of D.
    """
    for name, value in (("x", x), ("means", means), ("assignments", assignments)):
        if value is None:
            raise ValueError(f"{name} is required, got None")
    x = _matrix(x, "x")
    m = _matrix(means, "means")
    a = _matrix(assignments, "assignments")
    k, d = m.shape
    if k == 0 or d == 0:
        raise ValueError(f"means must be a (K, D) array with K, D >= 1, got shape {m.shape}")
    if x.shape[1] != d:
        raise ValueError(
            f"x has {x.shape[1]} columns but means has {d}: they must have the same dimension"
        )
    n = x.shape[0]
    if a.shape != (n, k):
        raise ValueError(
            f"assignments must have shape ({n}, {k}) (one row per descriptor, one column per "
            f"center), got {a.shape}"
        )
    _same_dtype(m, "means", x.dtype, "x")
    _same_dtype(a, "assignments", x.dtype, "x")

    flags = 0
    if bool(unnormalized):
        flags |= VL_VLAD_FLAG_UNNORMALIZED
    if bool(normalize_components):
        flags |= VL_VLAD_FLAG_NORMALIZE_COMPONENTS
    if bool(normalize_mass):
        flags |= VL_VLAD_FLAG_NORMALIZE_MASS
    if bool(square_root):
        flags |= VL_VLAD_FLAG_SQUARE_ROOT
    if verbose:
        print(f"vl_vlad: num data:             {n}")
        print(f"vl_vlad: num clusters:         {k}")
        print(f"vl_vlad: data dimension:       {d}")
        print(f"vl_vlad: code dimension:       {k * d}")
        print(f"vl_vlad: unnormalized:         {int(bool(flags & VL_VLAD_FLAG_UNNORMALIZED))}")
        print(f"vl_vlad: normalize mass:       {int(bool(flags & VL_VLAD_FLAG_NORMALIZE_MASS))}")
        print(
            f"vl_vlad: normalize components: {int(bool(flags & VL_VLAD_FLAG_NORMALIZE_COMPONENTS))}"
        )
        print(f"vl_vlad: square root:          {int(bool(flags & VL_VLAD_FLAG_SQUARE_ROOT))}")
    return vl_vlad_encode(m, x, a, flags)


# ---- k-means -------------------------------------------------------------------------


