"""Argument checks shared by the cyvlfeat-compatible functions."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..._core.arrays import c_array
from ...gmm import (
    VlGMMCustom,
    VlGMMKMeans,
    VlGMMRand,
)
from ...kmeans import (
    VlDistanceL1,
    VlDistanceL2,
    VlKMeansANN,
    VlKMeansElkan,
    VlKMeansLloyd,
    VlKMeansPlusPlus,
    VlKMeansRandomSelection,
)

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_GMM_INITS = {"rand": VlGMMRand, "kmeans": VlGMMKMeans, "custom": VlGMMCustom}
_KMEANS_DISTANCES = {"l1": VlDistanceL1, "l2": VlDistanceL2}
_KMEANS_INITS = {"RANDSEL": VlKMeansRandomSelection, "PLUSPLUS": VlKMeansPlusPlus}
_KMEANS_ALGORITHMS = {"LLOYD": VlKMeansLloyd, "ELKAN": VlKMeansElkan, "ANN": VlKMeansANN}


class _DefaultInitMode(str):
    """The string ``'rand'`` used as ``gmm``'s default ``init_mode``.

    It behaves exactly like ``'rand'``; being a distinct object, it tells an
    ``init_mode`` left out (which the init arrays may override) from an
    explicit ``init_mode='rand'`` (which conflicts with them).
    """

    __slots__ = ()


_INIT_MODE_DEFAULT = _DefaultInitMode("rand")


# ---- argument checks ---------------------------------------------------------------


def _float_array(value: Any, name: str) -> np.ndarray:
    """``value`` as an ndarray that must be float32 or float64 (as cyvlfeat requires)."""
    if value is None:
        raise ValueError(f"{name} is required, got None")
    arr = np.asarray(value)
    if arr.dtype not in _FLOAT_DTYPES:
        raise ValueError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr


def _matrix(value: Any, name: str) -> np.ndarray:
    """A 2-D float32/float64 array (one row per point)."""
    arr = _float_array(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one row per point), got shape {arr.shape}")
    return arr


def _same_dtype(arr: np.ndarray, name: str, dtype: np.dtype, ref_name: str) -> None:
    if arr.dtype != dtype:
        raise ValueError(
            f"{name} has dtype {arr.dtype} but {ref_name} has dtype {dtype}: they must match"
        )


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or Inf values")


def _integer(value: Any, name: str, minimum: int) -> int:
    """An int (Python or numpy integer, not bool) >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v}")
    return v


def _option(value: Any, name: str, choices: Mapping[str, int], lower: bool) -> tuple[str, int]:
    """A string option (case-insensitive) as ``(canonical name, VLFeat enum value)``."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    key = value.lower() if lower else value.upper()
    if key not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return key, choices[key]


def _verbosity(verbose: Any) -> int:
    """VLFeat verbosity level: ``True`` is 1; an int gives that level."""
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    try:
        return max(0, operator.index(verbose))
    except TypeError:
        return int(bool(verbose))


def _format_bounds(bounds: np.ndarray) -> str:
    if bounds.size <= 3:
        return " ".join(f"{b:g}" for b in bounds)
    return f"{bounds[0]:g} {bounds[1]:g} ... {bounds[-1]:g}"



def _init_param(
    value: Any, shape: tuple[int, ...], dtype: np.dtype, name: str, nonnegative: bool
) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    arr = c_array(arr, dtype=dtype)
    _check_finite(arr, name)
    if nonnegative and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0")
    return arr


def _covariance_bound(value: Any, dimension: int) -> float | np.ndarray | None:
    """None, one bound for every dimension (a float) or D bounds (float64 array)."""
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise ValueError(
            f"covariance_bound must be a number or an array of {dimension} numbers, "
            f"got dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64)
    if arr.ndim == 0 or arr.shape == (1,):
        bound: float | np.ndarray = float(arr.reshape(()))
    elif arr.shape == (dimension,):
        bound = c_array(arr)
    else:
        raise ValueError(
            f"covariance_bound must be a number or have shape ({dimension},) "
            f"(one bound per dimension), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("covariance_bound must be finite and >= 0")
    return bound


