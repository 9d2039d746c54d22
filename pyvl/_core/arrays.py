"""Turning user input into the arrays libgmm reads, and C arrays into numpy.

The rules, everywhere in pyvl:

* data may be a flat array of N*D values or an (N, D) array, of any real
  numeric dtype; it is converted to the object's dtype (float32 or float64)
  and made C-contiguous and aligned, copying only when one of those is
  needed (never writing to the caller's array);
* complex, object, string and other non-numeric arrays raise ``TypeError``;
  masked arrays with masked values raise ``ValueError`` (their mask would be
  lost);
* 0-d and more-than-2-d arrays, and sizes that do not match, raise
  ``ValueError`` saying what was expected;
* arrays returned to the caller are copies owned by numpy, never views into
  memory the C library owns.

Integer arguments go through :func:`check_int` (the one integer validator),
GMM parameters through :func:`check_gmm`; descriptor sets for the batch
encoders through :func:`as_sets` / :func:`check_offsets`; integer k-means'
8-bit data and int32 centers through :func:`as_uint8_data` /
:func:`as_int32_centers`.
"""

from __future__ import annotations

import ctypes
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .enums import DataType
from .errors import InvalidArgumentError, SizeOverflowError

VL_TYPE_FLOAT = DataType.FLOAT
VL_TYPE_DOUBLE = DataType.DOUBLE

#: Largest value of C ``size_t`` (ctypes would silently wrap larger integers).
SIZE_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_size_t))) - 1
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
#: numpy dtype of C ``size_t`` (``vl_size``): uint64 on LP64 platforms.
SIZE_T = np.dtype(f"u{ctypes.sizeof(ctypes.c_size_t)}")
#: The dtypes libgmm computes in.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def dtype_of(vl_type: Any) -> np.dtype:
    """The numpy dtype of a ``VL_TYPE_*`` value (InvalidArgumentError for others)."""
    try:
        return DataType(int(vl_type)).dtype
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"data type {vl_type!r} is not supported (use VL_TYPE_FLOAT=1 or VL_TYPE_DOUBLE=2)"
        ) from None


def vl_type_of(dtype: npt.DTypeLike) -> DataType:
    """The ``VL_TYPE_*`` of float32/float64 (TypeError for other dtypes)."""
    return DataType.of(dtype)


def work_dtype(native: npt.DTypeLike, dtype: Any = None) -> np.dtype:
    """The estimators' precision rule: ``dtype`` if given (float32 or float64), else
    float32 stays float32 and everything else is computed in float64."""
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt not in FLOAT_DTYPES:
            raise ValueError(f"dtype must be float32, float64 or None, got {dtype!r}")
        return dt
    return np.dtype(native) if np.dtype(native) in FLOAT_DTYPES else np.dtype(np.float64)


# ---- integers -------------------------------------------------------------------------


def check_int(
    value: Any,
    name: str,
    minimum: int = 0,
    maximum: int = SIZE_MAX,
    *,
    type_error: type[Exception] = TypeError,
    allow_bool: bool = False,
) -> int:
    """``value`` as a Python int in [minimum, maximum].

    Not an integer (floats, strings, and bools unless ``allow_bool``):
    ``type_error``. Below ``minimum``: ``ValueError``. Above ``maximum``:
    :class:`SizeOverflowError` if the bound is C's ``SIZE_MAX`` (the value
    would wrap in ctypes), :class:`InvalidArgumentError` for a C ``int``,
    ``ValueError`` otherwise. The message names the argument and the range."""
    if isinstance(value, (bool, np.bool_)) and not allow_bool:
        raise type_error(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise type_error(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n}")
    if n > maximum:
        if maximum == SIZE_MAX:
            raise SizeOverflowError(f"{name} = {n} does not fit in size_t (at most {SIZE_MAX})")
        if maximum == INT_MAX:
            raise InvalidArgumentError(f"{name} = {n} does not fit in a C int")
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {n}")
    return n


def count(value: Any, name: str) -> int:
    """A non-negative integer argument passed as C ``size_t``."""
    return check_int(value, name, 0, SIZE_MAX, allow_bool=True)


def c_int(value: Any, name: str) -> int:
    """An integer argument passed as C ``int`` (ctypes would silently wrap others)."""
    return check_int(value, name, INT_MIN, INT_MAX, allow_bool=True)


def check_real(value: Any, name: str, minimum: float | None = None, *,
               type_error: type[Exception] = TypeError, strict: bool = False,
               allow_none: bool = False) -> float | None:
    """A finite real number (> ``minimum`` if ``strict``, else >= it)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise type_error(f"{name} must be a number, got {value!r}")
    v = float(value)
    if minimum is None:
        if not np.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    elif not (np.isfinite(v) and (v > minimum if strict else v >= minimum)):
        raise ValueError(
            f"{name} must be finite and {'>' if strict else '>='} {minimum:g}, got {value!r}"
        )
    return v


# ---- arrays -------------------------------------------------------------------------------


def numeric(x: Any, name: str) -> np.ndarray:
    """``x`` as a real numeric ndarray (a view when it already is one)."""
    if x is None:
        raise TypeError(f"{name} is None; expected a real numeric array")
    if isinstance(x, np.ma.MaskedArray):
        if np.ma.is_masked(x):
            raise ValueError(
                f"{name} is a masked array with masked values: pyvl would use the values under "
                "the mask; drop them (x.compressed() / x[~x.mask.any(1)]) or fill them first"
            )
        x = x.data
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


def c_array(x: Any, dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """``x`` as a C-contiguous, aligned array (of ``dtype`` if given), copying
    only if it is not one already. Every array whose pointer goes to libgmm
    passes through here: ``np.ascontiguousarray`` keeps an array that starts
    at an odd byte offset (e.g. deserialised by Dask), and C must not read
    floats from a misaligned address."""
    return np.require(x, dtype=dtype, requirements=["C", "A"])


def as_array(x: Any, dtype: np.dtype, name: str) -> np.ndarray:
    """``x`` as a C-contiguous array of ``dtype`` (a copy only if needed)."""
    return c_array(numeric(x, name), dtype)


def as_data(
    data: Any, dimension: int, dtype: np.dtype, num_data: int | None = None, name: str = "data"
) -> tuple[np.ndarray, int]:
    """Points as a C-contiguous (N, D) array of ``dtype`` and N.

    ``data`` is flat (N*D,) or (N, D). With ``num_data`` given, the first
    ``num_data`` points are used (as the C API reads ``num_data`` rows).
    """
    arr = numeric(data, name)
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
        n = count(num_data, "num_data")
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


def as_uint8_data(
    data: Any, dimension: int, num_data: int | None = None, name: str = "data"
) -> tuple[np.ndarray, int]:
    """8-bit points (integer k-means) as a C-contiguous (N, M) uint8 array and N.

    As :func:`as_data`, except that ``data`` must already be uint8 (other
    dtypes raise ``TypeError``: converting them would silently wrap or round).
    """
    if data is None:
        raise TypeError(f"{name} is None; expected a uint8 array")
    dt = np.asarray(data).dtype
    if dt != np.uint8:
        raise TypeError(
            f"{name} must be a uint8 array (integer k-means works on 8-bit data), got dtype "
            f"{dt}; convert it explicitly, e.g. np.clip(x, 0, 255).astype(np.uint8)"
        )
    if dimension < 1:
        raise InvalidArgumentError(f"dimension must be >= 1, got {dimension}")
    return as_data(data, dimension, np.dtype(np.uint8), num_data, name)


def as_int32_centers(values: Any, shape: tuple[int, int], name: str = "centers") -> np.ndarray:
    """Integer centers as a C-contiguous int32 array of ``shape`` (K, M), flat or shaped.

    Integer arrays of any dtype are accepted when every value fits int32;
    float arrays when every value is a finite integer in that range.
    """
    if values is None:
        raise TypeError(f"{name} is None; expected an integer array")
    arr = np.asarray(values)
    k, m = shape
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an integer array (int32 values), got dtype {arr.dtype}")
    if arr.size != k * m or (arr.ndim > 1 and arr.shape != (k, m)):
        raise ValueError(
            f"{name} must have {k * m} values (shape {(k, m)} or flat), got shape {arr.shape}"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InvalidArgumentError(f"{name} contains NaN or Inf values")
        if (arr != np.floor(arr)).any():
            raise InvalidArgumentError(f"{name} must hold integers (the centers are int32)")
    if arr.size and (arr.min() < INT_MIN or arr.max() > INT_MAX):
        raise InvalidArgumentError(f"{name} has values outside the int32 range")
    return c_array(arr, np.int32).reshape(k, m)


def ptr(arr: np.ndarray | None) -> int | None:
    """The address of the array's data, for a ``void*`` parameter (None for
    None: NULL); the array must come from :func:`c_array` (C-contiguous and
    aligned) and the caller keeps it alive during the call. (A plain int:
    ``arr.ctypes.data_as`` builds a ctypes object, 2.5 us a pointer.)"""
    if arr is None:
        return None
    if not (arr.flags.c_contiguous and arr.flags.aligned):
        raise ValueError("internal error: array passed to libgmm is not C-contiguous and aligned")
    return int(arr.ctypes.data)


def typed_ptr(arr: np.ndarray | None, ctype: Any) -> Any:
    """``ctype*`` to an aligned C-contiguous array of the matching dtype (None for None)."""
    if arr is None:
        return None
    if not (arr.flags.c_contiguous and arr.flags.aligned and arr.itemsize == ctypes.sizeof(ctype)):
        raise ValueError("internal error: array passed to libgmm has the wrong layout")
    return arr.ctypes.data_as(ctypes.POINTER(ctype))


def copy_from_c(address: int | None, count_: int, dtype: np.dtype) -> np.ndarray:
    """A numpy-owned copy of ``count_`` elements at a (non-NULL) C address."""
    if count_ == 0:
        return np.zeros(0, dtype=dtype)
    assert address, "copy_from_c: NULL address"
    buf = (ctypes.c_char * (count_ * dtype.itemsize)).from_address(address)
    return np.frombuffer(memoryview(buf), dtype=dtype).copy()


# ---- GMM parameters ---------------------------------------------------------------------


def _other_covariance_type(shape: tuple[int, ...], means_shape: tuple[int, ...]) -> str | None:
    """The non-diagonal covariance type whose layout ``shape`` is, for means of
    ``means_shape`` (K, D): "full" (K, D, D), "tied" (D, D) or "spherical" (K,);
    None otherwise (a tied (D, D) with K = D looks diagonal: see require_diagonal)."""
    k, d = means_shape
    if shape == (k, d, d):
        return "full"
    if shape == (d, d) and d != k:
        return "tied"
    if shape == (k,):
        return "spherical"
    return None


def require_diagonal(covariance_type: Any, what: str = "the GMM") -> None:
    """``ValueError`` unless ``covariance_type`` (scikit-learn's name, or a
    ``CovarianceType``) is the diagonal one: Fisher vectors, VLAD, bags of words and
    VLFeat's functions need diagonal covariances."""
    name = getattr(covariance_type, "sklearn_name", covariance_type)
    if name != "diag":
        raise ValueError(
            f"{what} must have diagonal covariances (covariance_type='diag': Fisher vectors, "
            f"VLAD, bags of words and VLFeat's functions need them); its covariance_type is "
            f"{name!r}"
        )


def check_gmm(
    means: Any,
    covariances: Any,
    priors: Any,
    *,
    dtype: np.dtype | None = None,
    values: bool = True,
    normalized: bool = False,
    n_components: int | None = None,
    what: str = "the GMM",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.dtype]:
    """Diagonal-GMM parameters as C-contiguous arrays of one dtype (the one
    validator of GMM parameters).

    ``means`` and ``covariances`` (K, D), ``priors`` (K,), K, D >= 1. The dtype
    is ``dtype`` if given, else float32 if all three are float32, float64
    otherwise. With ``values``: finite, covariances > 0, priors >= 0 (and
    summing to 1 within rounding if ``normalized``); without, the values are
    left to libgmm's checks. ``n_components``: the K expected. Returns
    ``(means, covariances, priors, dtype)``; raises ``ValueError``."""
    m = numeric(means, "means")
    c = numeric(covariances, "covariances")
    p = numeric(priors, "priors")
    if m.ndim != 2:
        raise ValueError(f"{what}: means must be a (K, D) array, got shape {m.shape}")
    other = _other_covariance_type(c.shape, m.shape)
    if other:
        require_diagonal(other, what)
    if c.shape != m.shape:
        raise ValueError(
            f"{what}: covariances must have the shape of means {m.shape} (diagonal variances), "
            f"got {c.shape}"
        )
    if p.shape != (m.shape[0],):
        raise ValueError(f"{what}: priors must have shape ({m.shape[0]},), got {p.shape}")
    if m.shape[0] == 0 or m.shape[1] == 0:
        raise ValueError(f"{what} needs K >= 1 components in D >= 1 dimensions, got {m.shape}")
    if n_components is not None and m.shape[0] != n_components:
        raise ValueError(f"{what} has {m.shape[0]} components, n_components is {n_components}")
    if dtype is None:
        dtype = np.dtype(np.float32 if np.result_type(m, c, p) == np.float32 else np.float64)
    m, c, p = (c_array(a, dtype) for a in (m, c, p))
    if values:
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(c)) and np.all(np.isfinite(p))):
            raise ValueError(f"{what}: the parameters contain NaN or Inf")
        if np.any(c <= 0):
            raise ValueError(f"{what}: covariances must be > 0")
        if np.any(p < 0):
            raise ValueError(f"{what}: priors must be >= 0")
        if normalized:
            total = float(np.sum(p, dtype=np.float64))
            tolerance = max(1e-6, 16 * p.size * float(np.finfo(dtype).eps))
            if abs(total - 1.0) > tolerance:
                raise ValueError(f"{what}: priors sum to {total!r}, not 1")
    return m, c, p, dtype


def check_centers(centers: Any, name: str = "means") -> tuple[np.ndarray, np.dtype]:
    """(K, D) centers as a C-contiguous float32 (if given float32) or float64 array."""
    arr = numeric(centers, name)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a (K, D) array with K, D >= 1, got shape {arr.shape}")
    dtype = np.dtype(np.float32 if arr.dtype == np.float32 else np.float64)
    return as_array(arr, dtype, name), dtype


# ---- descriptor sets for the batch encoders -------------------------------------------------
#
# A batch call reads every image's descriptors from one row-major (N_total, D)
# array and an ``offsets`` array of ``n_images + 1`` ``size_t``: image ``j``
# owns rows ``offsets[j] .. offsets[j+1]-1`` (vl/encode.h).


def as_sets(
    descriptor_sets: Sequence[Any], dimension: int, dtype: np.dtype, name: str = "descriptor_sets"
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-image descriptor arrays (one copy, straight into ``dtype``).

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
    arr = numeric(x, name)
    if arr.ndim == 2 and arr.shape[1] == dimension:
        return arr
    if arr.size == 0 and arr.ndim in (1, 2):
        return arr.reshape(0, dimension)
    raise ValueError(
        f"{name} has shape {arr.shape}: expected (N, {dimension}) descriptors "
        f"of dimension {dimension}"
    )


def check_offsets(offsets: Any, num_rows: int, name: str = "offsets") -> np.ndarray:
    """A private copy of ``offsets`` as a C-contiguous :data:`SIZE_T` array,
    checked: starts at 0, never decreases, ends at ``num_rows``. The copy is
    what goes to C, so another thread changing the caller's array during the
    call cannot change what was checked."""
    arr = np.array(offsets, copy=True)
    if arr.ndim != 1 or arr.size < 1 or arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array of n_images + 1 row offsets")
    if arr[0] != 0 or np.any(np.diff(arr.astype(np.int64)) < 0) or int(arr[-1]) != num_rows:
        raise ValueError(
            f"{name} must start at 0, never decrease and end at the number of rows ({num_rows})"
        )
    return c_array(arr, dtype=SIZE_T)


def check_flags(flags: Any, known: int, prefix: str) -> int:
    """``flags`` as an int made only of the ``known`` bits."""
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
