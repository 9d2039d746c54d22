"""cyvlfeat.kmeans' integer k-means: ``ikmeans`` and ``ikmeans_push``.

They make the calls cyvlfeat makes, through pyvl's VLFeat API
(:mod:`pyvl.ikmeans`), so for the same data and seed they return what
cyvlfeat on VLFeat 0.9.21 returns. Differences from cyvlfeat (see
``docs/compat.md``): numpy integers are accepted where cyvlfeat asserts a
Python ``int``, ``num_centers`` must be >= 1, any memory layout is accepted,
``ikmeans_push`` also takes centers of another integer dtype (or
integer-valued floats), and bad input raises ``ValueError`` naming the
argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._core.arrays import as_int32_centers, c_array
from ...ikmeans import (
    VL_IKM_ELKAN,
    VL_IKM_LLOYD,
    vl_ikm_delete,
    vl_ikm_get_centers,
    vl_ikm_init,
    vl_ikm_init_rand_data,
    vl_ikm_new,
    vl_ikm_push,
    vl_ikm_set_max_niters,
    vl_ikm_set_verbosity,
    vl_ikm_train,
)
from ._common import _integer, _option, _verbosity

__all__ = ["ikmeans", "ikmeans_push"]

_ALGORITHMS = {"LLOYD": VL_IKM_LLOYD, "ELKAN": VL_IKM_ELKAN}


def _uint8_matrix(value: Any, name: str) -> np.ndarray:
    """A 2-D uint8 ndarray (one point per row), C-contiguous (copied if needed)."""
    if value is None:
        raise ValueError(f"{name} is required, got None")
    arr = np.asarray(value)
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must be a uint8 array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one row per point), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column (dimension)")
    return c_array(arr)


def _num_centers(value: Any, n: int, minimum: int) -> int:
    k = _integer(value, "num_centers", minimum)
    if k > n:
        raise ValueError(
            f"num_centers must be no larger than the number of data points {n}, got {k}"
        )
    return k


def _algorithm(value: Any) -> int:
    """'LLOYD' or 'ELKAN' (case ignored) as VL_IKM_LLOYD / VL_IKM_ELKAN."""
    return _option(value, "algorithm", _ALGORITHMS, lower=False)[1]


def ikmeans(
    data: np.ndarray,
    num_centers: int,
    algorithm: str = "LLOYD",
    max_num_iterations: int = 200,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer k-means of 8-bit data (cyvlfeat's ``ikmeans``).

    Parameters
    ----------
    data : (N, D) uint8 ndarray
        The points, one per row.
    num_centers : int
        Number of centers K, 1 <= K <= N.
    algorithm : {'LLOYD', 'ELKAN'}, optional
        Lloyd, or VLFeat's integer Elkan variant (matched with case ignored).
    max_num_iterations : int, optional
        Maximum number of iterations (>= 1); training stops earlier when no
        point changes center.
    verbose : bool, optional
        Print VLFeat's progress messages to ``sys.stdout``.

    Returns
    -------
    centers : (K, D) int32 ndarray
        Integer centers (the integer part of the mean of their points).
    assignments : (N,) uint32 ndarray
        Index of the nearest center of each point.
    """
    x = _uint8_matrix(data, "data")
    n, d = x.shape
    k = _num_centers(num_centers, n, 1)
    method = _algorithm(algorithm)
    iterations = _integer(max_num_iterations, "max_num_iterations", 1)
    level = _verbosity(verbose)

    f = vl_ikm_new(method)
    try:
        vl_ikm_set_verbosity(f, level)
        vl_ikm_set_max_niters(f, iterations)
        vl_ikm_init_rand_data(f, x, d, n, k)
        vl_ikm_train(f, x, n)
        centers = vl_ikm_get_centers(f)
        assignments = vl_ikm_push(f, x, n)
    finally:
        vl_ikm_delete(f)
    if level:
        print("ikmeans: done")
    if centers is None:  # cannot happen after a successful vl_ikm_init_rand_data
        raise RuntimeError("vl_ikm_train produced no centers")
    return centers.reshape(k, d), assignments


def ikmeans_push(data: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Nearest integer center of every point (cyvlfeat's ``ikmeans_push``).

    Parameters
    ----------
    data : (N, D) uint8 ndarray
        The points, one per row.
    centers : (K, D) int32 ndarray
        The centers (K >= 1); another integer dtype, or floats holding
        integers, is converted when every value fits int32.

    Returns
    -------
    assignments : (N,) uint32 ndarray
        Index of the nearest center (the first one on ties).
    """
    x = _uint8_matrix(data, "data")
    if centers is None:
        raise ValueError("centers is required, got None")
    c = np.asarray(centers)
    if c.ndim != 2:
        raise ValueError(f"centers must be a 2-D array (one row per center), got shape {c.shape}")
    if c.shape[0] == 0:
        raise ValueError("centers must contain at least one row")
    if c.shape[1] != x.shape[1]:
        raise ValueError(
            f"data has {x.shape[1]} columns but centers has {c.shape[1]}: they must have the "
            "same dimension"
        )
    try:
        c32 = as_int32_centers(c, c.shape)
    except TypeError as e:
        raise ValueError(str(e)) from None
    k, d = c32.shape
    f = vl_ikm_new(VL_IKM_LLOYD)
    try:
        vl_ikm_init(f, c32, d, k)
        return vl_ikm_push(f, x, x.shape[0])
    finally:
        vl_ikm_delete(f)
