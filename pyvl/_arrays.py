"""Turning user input into the arrays libgmm reads, and C arrays into numpy.

The rules, everywhere in pyvl:

* data may be a flat array of N*D values or an (N, D) array, of any real
  numeric dtype; it is converted to the object's dtype (float32 or float64)
  and made C-contiguous, copying only when one of those is needed;
* complex, object, string and other non-numeric arrays raise ``TypeError``;
* 0-d and more-than-2-d arrays, and sizes that do not match, raise
  ``ValueError`` saying what was expected;
* arrays returned to the caller are copies owned by numpy, never views into
  memory the C library owns.
"""

from __future__ import annotations

import ctypes
import operator
from typing import Any

import numpy as np
import numpy.typing as npt

from ._errors import InvalidArgumentError, SizeOverflowError

VL_TYPE_FLOAT = 1
VL_TYPE_DOUBLE = 2

_DTYPE_OF = {VL_TYPE_FLOAT: np.dtype(np.float32), VL_TYPE_DOUBLE: np.dtype(np.float64)}


def dtype_of(vl_type: int) -> np.dtype:
    try:
        return _DTYPE_OF[int(vl_type)]
    except (KeyError, TypeError, ValueError):
        raise InvalidArgumentError(
            f"data type {vl_type!r} is not supported (use VL_TYPE_FLOAT=1 or VL_TYPE_DOUBLE=2)"
        ) from None


def vl_type_of(dtype: npt.DTypeLike) -> int:
    dt = np.dtype(dtype)
    if dt == np.float32:
        return VL_TYPE_FLOAT
    if dt == np.float64:
        return VL_TYPE_DOUBLE
    raise TypeError(f"dtype {dt} is not supported (use float32 or float64)")


#: Largest value of C ``size_t`` (ctypes would silently wrap larger integers).
SIZE_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_size_t))) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1


def _numeric(x: Any, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"{name} is None; expected a real numeric array")
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{name} must be a real numeric array; got an object array that does not "
                    "convert to float"
                ) from None
        else:
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr


def c_array(x: Any, dtype: npt.DTypeLike = None) -> np.ndarray:
    """``x`` as a C-contiguous, aligned array (of ``dtype`` if given), copying
    only if it is not one already. Every array whose pointer goes to libgmm
    passes through here: ``np.ascontiguousarray`` keeps an array that starts
    at an odd byte offset (e.g. deserialised by Dask), and C must not read
    floats from a misaligned address."""
    return np.require(x, dtype=dtype, requirements=["C", "A"])


def as_array(x: Any, dtype: np.dtype, name: str) -> np.ndarray:
    """``x`` as a C-contiguous array of ``dtype`` (a copy only if needed)."""
    arr = _numeric(x, name)
    return c_array(arr, dtype)


def as_data(
    data: Any, dimension: int, dtype: np.dtype, num_data: int | None = None, name: str = "data"
) -> tuple[np.ndarray, int]:
    """Points as a C-contiguous (N, D) array of ``dtype`` and N.

    ``data`` is flat (N*D,) or (N, D). With ``num_data`` given, the first
    ``num_data`` points are used (as the C API reads ``num_data`` rows).
    """
    arr = _numeric(data, name)
    if arr.ndim == 1:
        if arr.size % dimension:
            raise ValueError(
                f"{name} has {arr.size} values, not a multiple of the dimension {dimension}"
            )
        arr = arr.reshape(-1, dimension)
    elif arr.ndim == 2:
        if arr.shape[1] != dimension:
            raise ValueError(
                f"{name} has shape {arr.shape}: expected (N, {dimension}) for dimension {dimension}"
            )
    else:
        raise ValueError(f"{name} must be 1-D (N*D,) or 2-D (N, D); got {arr.ndim}-D shape {arr.shape}")
    if num_data is not None:
        n = _count(num_data, "num_data")
        if n > arr.shape[0]:
            raise ValueError(f"num_data = {n} but {name} holds only {arr.shape[0]} points")
        arr = arr[:n]
    return c_array(arr, dtype), arr.shape[0]


def as_params(x: Any, shape: tuple[int, ...], dtype: np.dtype, name: str) -> np.ndarray:
    """A parameter array with exactly ``prod(shape)`` values (flat or shaped)."""
    arr = as_array(x, dtype, name)
    size = int(np.prod(shape))
    if arr.size != size or (arr.ndim > 1 and arr.shape != shape):
        raise ValueError(
            f"{name} must have {size} values (shape {shape} or flat); got shape {arr.shape}"
        )
    return arr.reshape(shape)


def _count(value: Any, name: str) -> int:
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if n < 0:
        raise ValueError(f"{name} must be >= 0, got {n}")
    if n > SIZE_MAX:
        raise SizeOverflowError(f"{name} = {n} does not fit in size_t (at most {SIZE_MAX})")
    return n


def count(value: Any, name: str) -> int:
    """A non-negative integer argument."""
    return _count(value, name)


def c_int(value: Any, name: str) -> int:
    """An integer argument passed as C ``int`` (ctypes would silently wrap others)."""
    if isinstance(value, bool):
        return int(value)
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if not _INT_MIN <= n <= _INT_MAX:
        raise InvalidArgumentError(f"{name} = {n} does not fit in a C int")
    return n


def ptr(arr: np.ndarray | None) -> Any:
    """``void*`` to the array's data (None for None); the array must come
    from :func:`c_array` (C-contiguous and aligned)."""
    if arr is None:
        return None
    if not (arr.flags.c_contiguous and arr.flags.aligned):
        raise ValueError("internal error: array passed to libgmm is not C-contiguous and aligned")
    return arr.ctypes.data_as(ctypes.c_void_p)


def copy_from_c(address: int | None, count_: int, dtype: np.dtype) -> np.ndarray:
    """A numpy-owned copy of ``count_`` elements at a (non-NULL) C address."""
    if count_ == 0:
        return np.zeros(0, dtype=dtype)
    buf = (ctypes.c_char * (count_ * dtype.itemsize)).from_address(address)
    return np.frombuffer(buf, dtype=dtype).copy()
