"""VLFeat's integer k-means API, function for function (``from pyvl.ikmeans import *``).

Integer k-means clusters 8-bit data (for example SIFT descriptors stored as
bytes) with integer centers, as VLFeat's ``vl_ikm_*`` functions do, with the
same results for the same data and seed::

    f = vl_ikm_new(VL_IKM_LLOYD)
    vl_rand_seed(vl_get_rand(), 0)
    vl_ikm_init_rand_data(f, data, M, N, K)   # K distinct points of data
    vl_ikm_train(f, data)
    assignments = vl_ikm_push(f, data)        # (N,) uint32
    centers = vl_ikm_get_centers(f)           # flat (K*M,) int32

* ``data`` is a **uint8** array, flat (N*M,) or (N, M); other dtypes raise
  ``TypeError`` (integer k-means is defined on bytes: convert explicitly,
  e.g. ``np.clip(x, 0, 255).astype(np.uint8)``); any memory layout is
  accepted (copied only when not C-contiguous);
* centers are 32-bit integers, flat (K*M,) or (K, M), of any integer dtype
  (values must fit int32) or floats holding integers (NaN/Inf, fractions and
  out-of-range values raise ``ValueError``);
* a filter that belongs to a tree node (:class:`pyvl.hikmeans.VlHIKMNode`)
  is read-only: its getters and :func:`vl_ikm_push` work, changing it raises
  :class:`~pyvl.StateError`.

Semantics (libgmm's ``vl/ikmeans.h``): trained centers are the integer part
of the mean of their points (0 for a center without points); the nearest
center is the first at the smallest squared distance; ``VL_IKM_ELKAN`` is
VLFeat's integer Elkan variant, whose pruning can differ from Lloyd's exact
assignment (reproduced as VLFeat computes it).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from ._arrays import _count, c_array, c_int, count, ptr
from ._errors import InvalidArgumentError, StateError
from ._handle import Handle
from ._lib import lib
from .random import vl_get_rand, vl_rand_seed

__all__ = [
    "VL_IKM_LLOYD",
    "VL_IKM_ELKAN",
    "VL_IKMACC_MAX",
    "VlIKMFilt",
    "vl_ikm_new",
    "vl_ikm_delete",
    "vl_ikm_init",
    "vl_ikm_init_rand",
    "vl_ikm_init_rand_data",
    "vl_ikm_train",
    "vl_ikm_push",
    "vl_ikm_push_one",
    "vl_ikm_get_ndims",
    "vl_ikm_get_K",
    "vl_ikm_get_verbosity",
    "vl_ikm_get_max_niters",
    "vl_ikm_get_centers",
    "vl_ikm_set_verbosity",
    "vl_ikm_set_max_niters",
    "vl_get_rand",
    "vl_rand_seed",
]

VL_IKM_LLOYD = 0
VL_IKM_ELKAN = 1
VL_IKMACC_MAX = 0x7FFFFFFF

_METHODS = {VL_IKM_LLOYD: "Lloyd", VL_IKM_ELKAN: "Elkan"}
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


# ---- arrays ------------------------------------------------------------------------------


def as_uint8_data(
    data: Any, dimension: int, num_data: int | None = None, name: str = "data"
) -> tuple[np.ndarray, int]:
    """Points as a C-contiguous (N, M) uint8 array and N.

    ``data`` is a uint8 array, flat (N*M,) or (N, M); with ``num_data`` the
    first ``num_data`` points are used. A copy is made only if the array is
    not C-contiguous.
    """
    if data is None:
        raise TypeError(f"{name} is None; expected a uint8 array")
    arr = np.asarray(data)
    if arr.dtype != np.uint8:
        raise TypeError(
            f"{name} must be a uint8 array (integer k-means works on 8-bit data), got dtype "
            f"{arr.dtype}; convert it explicitly, e.g. np.clip(x, 0, 255).astype(np.uint8)"
        )
    if dimension < 1:
        raise InvalidArgumentError(f"dimension must be >= 1, got {dimension}")
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
        raise ValueError(f"{name} must be 1-D (N*M,) or 2-D (N, M); got shape {arr.shape}")
    if num_data is not None:
        n = _count(num_data, "num_data")
        if n > arr.shape[0]:
            raise ValueError(f"num_data = {n} but {name} holds only {arr.shape[0]} points")
        arr = arr[:n]
    return c_array(arr), arr.shape[0]


def as_int32_centers(values: Any, shape: tuple[int, int], name: str = "centers") -> np.ndarray:
    """Centers as a C-contiguous int32 array of ``shape`` (K, M).

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
        raise ValueError(f"{name} must have {k * m} values (shape {(k, m)} or flat), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InvalidArgumentError(f"{name} contains NaN or Inf values")
        if (arr != np.floor(arr)).any():
            raise InvalidArgumentError(f"{name} must hold integers (the centers are int32)")
    if arr.size and (arr.min() < _INT32_MIN or arr.max() > _INT32_MAX):
        raise InvalidArgumentError(f"{name} has values outside the int32 range")
    if arr.dtype != np.int32:
        arr = arr.astype(np.int32)
    return c_array(arr).reshape(k, m)


def _method(method: Any, name: str = "method") -> int:
    m = c_int(method, name)
    if m not in _METHODS:
        raise InvalidArgumentError(f"unknown {name} {method!r} (VL_IKM_LLOYD = 0, VL_IKM_ELKAN = 1)")
    return m


# ---- the filter ----------------------------------------------------------------------------


class VlIKMFilt(Handle):
    """Handle to a libgmm ``VlIKMFilt``; create it with :func:`vl_ikm_new`.

    A filter obtained from a tree node (``node.filter``) does not own its C
    object: it keeps the tree alive, is valid until the tree is retrained,
    re-initialised or deleted, and is read-only.
    """

    _kind = "integer k-means filter"

    def __init__(self, ptr_: Any, method: int) -> None:
        super().__init__(ptr_, lib.vl_ikm_delete)
        self.method = method
        self._owner: Any = None

    @classmethod
    def _borrowed(cls, ptr_: Any, owner: Any, method: int) -> VlIKMFilt:
        """A view of a filter owned by a tree node; ``owner`` is the node."""
        self = cls.__new__(cls)
        self._ptr = ptr_
        self._finalizer = None
        self.method = method
        self._owner = owner
        return self

    @property
    def ptr(self) -> Any:
        if self._owner is not None:
            self._owner._check()  # raises if the tree dropped its nodes
        return super().ptr

    @property
    def closed(self) -> bool:
        if self._owner is not None:
            return not self._owner.valid
        return super().closed

    @property
    def read_only(self) -> bool:
        """True for a tree node's filter (changing it raises StateError)."""
        return self._owner is not None

    def close(self) -> None:
        if self._owner is not None:
            raise StateError("this filter belongs to a tree node: delete the tree instead")
        super().close()

    def __reduce__(self) -> Any:
        """Pickle (and copy) through the public API: a new, owned filter with
        the same method, settings and centers (also from a tree node's filter)."""
        centers = vl_ikm_get_centers(self)
        shape = (vl_ikm_get_K(self), vl_ikm_get_ndims(self))
        state = (self.method, vl_ikm_get_max_niters(self), vl_ikm_get_verbosity(self),
                 None if centers is None else centers.reshape(shape))
        return (_filter_from_state, state)

    def __repr__(self) -> str:
        if self.closed:
            return "<VlIKMFilt deleted>"
        return (
            f"<VlIKMFilt {_METHODS.get(self.method, self.method)} K={vl_ikm_get_K(self)} "
            f"M={vl_ikm_get_ndims(self)}{' (tree node)' if self.read_only else ''}>"
        )


def _filter_from_state(method: int, max_niters: int, verb: int, centers: Any) -> VlIKMFilt:
    f = vl_ikm_new(method)
    vl_ikm_set_max_niters(f, max_niters)
    vl_ikm_set_verbosity(f, verb)
    if centers is not None:
        c = np.asarray(centers)
        vl_ikm_init(f, c, c.shape[1], c.shape[0])
    return f


def _f(f: Any, write: bool = False) -> VlIKMFilt:
    if not isinstance(f, VlIKMFilt):
        raise TypeError(f"expected a VlIKMFilt from vl_ikm_new, got {type(f).__name__}")
    f.ptr  # noqa: B018 - raises StateError if deleted
    if write and f.read_only:
        raise StateError("this filter belongs to a tree node and is read-only")
    return f


def _dimension_of(f: VlIKMFilt) -> int:
    m = int(lib.vl_ikm_get_ndims(f))
    if m == 0:
        raise StateError(
            "the filter has no centers yet (call vl_ikm_init, vl_ikm_init_rand or "
            "vl_ikm_init_rand_data first)"
        )
    return m


def vl_ikm_new(method: int = VL_IKM_LLOYD) -> VlIKMFilt:
    """New filter for ``VL_IKM_LLOYD`` or ``VL_IKM_ELKAN``: no centers, at most
    200 iterations, verbosity 0."""
    m = _method(method)
    return VlIKMFilt(lib.vl_ikm_new(m), m)


def vl_ikm_delete(f: VlIKMFilt) -> None:
    """Free the filter now (using it afterwards raises :class:`~pyvl.StateError`)."""
    _f(f).close()


def vl_ikm_init(f: VlIKMFilt, centers: Any, M: int, K: int) -> None:
    """Set K centers of dimension M (K*M integers, flat or (K, M); copied)."""
    ff = _f(f, write=True)
    m, k = count(M, "M"), count(K, "K")
    c = as_int32_centers(centers, (k, m))
    lib.vl_ikm_init(ff, ptr(c), m, k)


def vl_ikm_init_rand(f: VlIKMFilt, M: int, K: int) -> None:
    """K x M centers from K*M draws of the default generator, each read as a
    signed 32-bit integer (VLFeat's values: anywhere in the int32 range)."""
    lib.vl_ikm_init_rand(_f(f, write=True), count(M, "M"), count(K, "K"))


def vl_ikm_init_rand_data(f: VlIKMFilt, data: Any, M: int, N: int | None, K: int) -> None:
    """K distinct points of ``data`` as centers, in VLFeat's random order
    (N draws of the default generator; 1 <= K <= N)."""
    ff = _f(f, write=True)
    x, n = as_uint8_data(data, count(M, "M"), N)
    lib.vl_ikm_init_rand_data(ff, ptr(x), x.shape[1], n, count(K, "K"))


def vl_ikm_train(f: VlIKMFilt, data: Any, N: int | None = None) -> int:
    """Refine the centers on the points (Lloyd or VLFeat's Elkan); returns 0."""
    ff = _f(f, write=True)
    x, n = as_uint8_data(data, _dimension_of(ff), N)
    return int(lib.vl_ikm_train(ff, ptr(x), n))


def vl_ikm_push(f: VlIKMFilt, data: Any, N: int | None = None) -> np.ndarray:
    """Nearest center of each point: (N,) uint32."""
    ff = _f(f)
    x, n = as_uint8_data(data, _dimension_of(ff), N)
    out = np.zeros(n, dtype=np.uint32)
    lib.vl_ikm_push(ff, ptr(out), ptr(x), n)
    return out


def vl_ikm_push_one(centers: Any, data: Any, M: int, K: int) -> int:
    """Index of the center (of K x M ``centers``) nearest to one point (M uint8 values)."""
    m, k = count(M, "M"), count(K, "K")
    c = as_int32_centers(centers, (k, m))
    x, n = as_uint8_data(data, m, None)
    if n != 1:
        raise ValueError(f"data must be one point of {m} values, got {n} points")
    return int(lib.vl_ikm_push_one(ptr(c), ptr(x), m, k))


def vl_ikm_get_centers(f: VlIKMFilt) -> np.ndarray | None:
    """The centers, flat (K*M,) int32 (a copy), or None before any are set."""
    ff = _f(f)
    address = lib.vl_ikm_get_centers(ff)
    n = int(lib.vl_ikm_get_K(ff)) * int(lib.vl_ikm_get_ndims(ff))
    if not address or n == 0:
        return None
    buf = (ctypes.c_char * (4 * n)).from_address(address)
    return np.frombuffer(buf, dtype=np.int32).copy()


def vl_ikm_get_ndims(f: VlIKMFilt) -> int:
    """Dimension M of the centers (0 before any are set)."""
    return int(lib.vl_ikm_get_ndims(_f(f)))


def vl_ikm_get_K(f: VlIKMFilt) -> int:
    """Number of centers K (0 before any are set)."""
    return int(lib.vl_ikm_get_K(_f(f)))


def vl_ikm_get_verbosity(f: VlIKMFilt) -> int:
    return int(lib.vl_ikm_get_verbosity(_f(f)))


def vl_ikm_get_max_niters(f: VlIKMFilt) -> int:
    return int(lib.vl_ikm_get_max_niters(_f(f)))


def vl_ikm_set_verbosity(f: VlIKMFilt, verb: int) -> None:
    """At 1 or more, training prints its progress to ``sys.stdout``."""
    lib.vl_ikm_set_verbosity(_f(f, write=True), c_int(verb, "verb"))


def vl_ikm_set_max_niters(f: VlIKMFilt, max_niters: int) -> None:
    lib.vl_ikm_set_max_niters(_f(f, write=True), count(max_niters, "max_niters"))
