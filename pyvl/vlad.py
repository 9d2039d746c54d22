"""VLAD: VLFeat's ``vl_vlad_encode`` and libgmm's batch encoder.

::

    from pyvl.vlad import *
    enc = vl_vlad_encode(centers, data, assignments, VL_VLAD_FLAG_SQUARE_ROOT)

Shapes and dtypes (K centers, D dimensions, N descriptors):

* ``means`` (the centers): (K, D) float32 or float64 — it sets the dtype of
  the computation and of the result (float32 stays float32, anything else
  is computed in float64);
* ``data``: (N, D) (or flat (N*D,)), converted to that dtype;
* ``assignments``: (N, K) non-negative weights (one-hot rows for hard
  assignments); entries <= 0 or NaN are ignored, rows need not sum to 1;
* the encoding: (K*D,), ``enc[k*D + d]`` = v_k[d].

v_k = sum_i a_ik (x_i - mu_k) (with NORMALIZE_MASS: divided by sum_i a_ik),
then in this order: signed square root (SQUARE_ROOT), L2 normalisation of
each v_k (NORMALIZE_COMPONENTS), and, unless UNNORMALIZED, L2 normalisation
of the whole vector (on by default, unlike Fisher vectors). A center with no
weight encodes to zeros; so do no descriptors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._core import encoding as _enc
from ._core.arrays import as_data, as_sets, check_centers
from ._core.enums import VladFlag

__all__ = [
    "VL_VLAD_FLAG_NORMALIZE_COMPONENTS",
    "VL_VLAD_FLAG_SQUARE_ROOT",
    "VL_VLAD_FLAG_UNNORMALIZED",
    "VL_VLAD_FLAG_NORMALIZE_MASS",
    "vl_vlad_encode",
    "vlad_encode_batch",
]

VL_VLAD_FLAG_NORMALIZE_COMPONENTS = VladFlag.NORMALIZE_COMPONENTS
VL_VLAD_FLAG_SQUARE_ROOT = VladFlag.SQUARE_ROOT
VL_VLAD_FLAG_UNNORMALIZED = VladFlag.UNNORMALIZED
VL_VLAD_FLAG_NORMALIZE_MASS = VladFlag.NORMALIZE_MASS


def vl_vlad_encode(means: Any, data: Any, assignments: Any, flags: int = 0) -> np.ndarray:
    """VLAD of one descriptor set (VLFeat's ``vl_vlad_encode``).

    Parameters
    ----------
    means : (K, D) float32 or float64
        The centers.
    data : (N, D) or flat (N*D,)
        Descriptors (N may be 0).
    assignments : (N, K) or flat (N*K,)
        Weights of each descriptor for each center.
    flags : int
        ``VL_VLAD_FLAG_*`` bits.

    Returns
    -------
    enc : (K*D,) ndarray of the centers' dtype
    """
    return _enc.vlad_encode(means, data, assignments, flags)


def vlad_encode_batch(
    means: Any,
    descriptor_sets: Sequence[Any],
    assignments: Sequence[Any] | np.ndarray | None = None,
    flags: int = 0,
) -> np.ndarray:
    """VLAD of many images in one C call (``vl_vlad_encode_batch``).

    Parameters
    ----------
    means : (K, D) float32 or float64
    descriptor_sets : list of (N_j, D) arrays
    assignments : None, a list of (N_j, K) arrays, or one (sum N_j, K) array
        None assigns every descriptor to its nearest center (squared L2, the
        first minimum wins), in C.
    flags : int
        ``VL_VLAD_FLAG_*`` bits.

    Returns
    -------
    enc : (n_images, K*D) ndarray of the centers' dtype
        Row j equals ``vl_vlad_encode`` of image j, bit for bit.
    """
    m, dtype = check_centers(means)
    k, d = m.shape
    data, offsets = as_sets(descriptor_sets, d, dtype)
    a: np.ndarray | None = None
    if assignments is not None:
        if isinstance(assignments, np.ndarray):
            a, na = as_data(assignments, k, dtype, name="assignments")
        else:
            a, offsets_a = as_sets(assignments, k, dtype, name="assignments")
            if not np.array_equal(offsets_a, offsets):
                raise ValueError(
                    "assignments must have one (N_j, K) array per image, with N_j rows"
                )
            na = a.shape[0]
        if na != data.shape[0]:
            raise ValueError(
                f"assignments has {na} rows for {data.shape[0]} descriptors in all images"
            )
    return encode_sets(m, data, offsets, a, flags)


def encode_sets(
    means: Any, data: np.ndarray, offsets: Any, assignments: Any = None, flags: int = 0
) -> np.ndarray:
    """:func:`vlad_encode_batch` on descriptor sets already concatenated:
    ``data`` (N_total, D), ``offsets`` (n_images + 1,), ``assignments``
    (N_total, K) or None (nearest center)."""
    return _enc.vlad_encode_sets(means, data, offsets, assignments, flags)
