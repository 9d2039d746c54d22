"""Descriptor sets for libgmm's batch encoders.

A batch call reads every image's descriptors from one row-major
(N_total, D) array and an ``offsets`` array of ``n_images + 1`` ``size_t``:
image ``j`` owns rows ``offsets[j] .. offsets[j+1]-1`` (vl/encode.h). This
module builds that pair from a list of per-image arrays with a single
``np.concatenate`` (one copy, straight into the target dtype), and checks a
pair given directly.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._arrays import _numeric, c_array

#: numpy dtype of C ``size_t`` (``vl_size``): uint64 on LP64 platforms.
SIZE_T = np.dtype(f"u{ctypes.sizeof(ctypes.c_size_t)}")


def as_sets(
    descriptor_sets: Sequence[Any], dimension: int, dtype: np.dtype, name: str = "descriptor_sets"
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-image descriptor arrays.

    ``descriptor_sets`` is a sequence of (N_j, D) arrays (any real dtype; an
    image without descriptors may be an empty array of shape (0, D) or (0,)).
    Returns ``(data, offsets)``: data C-contiguous (sum N_j, D) of ``dtype``,
    offsets (n_images + 1,) :data:`SIZE_T`, the cumulative row counts.
    """
    if isinstance(descriptor_sets, np.ndarray) and descriptor_sets.ndim == 2:
        raise TypeError(
            f"{name} must be a list of per-image (N_j, D) arrays; got a single 2-D array "
            "(wrap it in a list to encode it as one image)"
        )
    try:
        sets = list(descriptor_sets)
    except TypeError:
        raise TypeError(
            f"{name} must be a list of per-image (N_j, D) arrays, "
            f"got {type(descriptor_sets).__name__}"
        ) from None
    arrays = [_set(s, dimension, f"{name}[{j}]") for j, s in enumerate(sets)]
    counts = np.fromiter((a.shape[0] for a in arrays), dtype=SIZE_T, count=len(arrays))
    offsets = np.zeros(len(arrays) + 1, dtype=SIZE_T)
    np.cumsum(counts, out=offsets[1:])
    if arrays:
        data = np.concatenate(arrays, axis=0, dtype=dtype)
    else:
        data = np.zeros((0, dimension), dtype=dtype)
    return c_array(data), offsets


def _set(x: Any, dimension: int, name: str) -> np.ndarray:
    arr = _numeric(x, name)
    if arr.ndim == 2 and arr.shape[1] == dimension:
        return arr
    if arr.size == 0 and arr.ndim in (1, 2):
        return arr.reshape(0, dimension)
    raise ValueError(
        f"{name} has shape {arr.shape}: expected (N, {dimension}) descriptors "
        f"of dimension {dimension}"
    )


def check_offsets(offsets: Any, num_rows: int, name: str = "offsets") -> np.ndarray:
    """``offsets`` as a C-contiguous :data:`SIZE_T` array: starts at 0, non-decreasing,
    ends at ``num_rows``."""
    arr = np.asarray(offsets)
    if arr.ndim != 1 or arr.size < 1 or arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array of n_images + 1 row offsets")
    if arr[0] != 0 or np.any(np.diff(arr.astype(np.int64)) < 0) or int(arr[-1]) != num_rows:
        raise ValueError(
            f"{name} must start at 0, never decrease and end at the number of rows ({num_rows})"
        )
    return c_array(arr, dtype=SIZE_T)


def size_ptr(arr: np.ndarray) -> Any:
    """``vl_size*`` to a :data:`SIZE_T` array."""
    return arr.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t))
