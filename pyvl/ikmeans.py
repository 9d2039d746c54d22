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

from typing import Any

import numpy as np

from ._core.enums import IKMAlgorithm
from ._core.ikmeans import IKMFilt as VlIKMFilt
from ._core.ikmeans import push_one
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

VL_IKM_LLOYD = IKMAlgorithm.LLOYD
VL_IKM_ELKAN = IKMAlgorithm.ELKAN
#: Largest value of a center (``vl_ikmacc_t`` is int32).
VL_IKMACC_MAX = 0x7FFFFFFF


def _f(f: Any) -> VlIKMFilt:
    if not isinstance(f, VlIKMFilt):
        raise TypeError(f"expected a VlIKMFilt from vl_ikm_new, got {type(f).__name__}")
    return f  # a deleted filter (or one of a dropped tree node) raises StateError when used


def vl_ikm_new(method: int = VL_IKM_LLOYD) -> VlIKMFilt:
    """New filter for ``VL_IKM_LLOYD`` or ``VL_IKM_ELKAN``: no centers, at most
    200 iterations, verbosity 0."""
    return VlIKMFilt.new(method)


def vl_ikm_delete(f: VlIKMFilt) -> None:
    """Free the filter now (using it afterwards raises :class:`~pyvl.StateError`)."""
    _f(f).close()


def vl_ikm_init(f: VlIKMFilt, centers: Any, M: int, K: int) -> None:
    """Set K centers of dimension M (K*M integers, flat or (K, M); copied)."""
    _f(f).init(centers, M, K)


def vl_ikm_init_rand(f: VlIKMFilt, M: int, K: int) -> None:
    """K x M centers from K*M draws of the default generator, each read as a
    signed 32-bit integer (VLFeat's values: anywhere in the int32 range)."""
    _f(f).init_rand(M, K)


def vl_ikm_init_rand_data(f: VlIKMFilt, data: Any, M: int, N: int | None, K: int) -> None:
    """K distinct points of ``data`` as centers, in VLFeat's random order
    (N draws of the default generator; 1 <= K <= N)."""
    _f(f).init_rand_data(data, M, N, K)


def vl_ikm_train(f: VlIKMFilt, data: Any, N: int | None = None) -> int:
    """Refine the centers on the points (Lloyd or VLFeat's Elkan); returns 0."""
    return _f(f).train(data, N)


def vl_ikm_push(f: VlIKMFilt, data: Any, N: int | None = None) -> np.ndarray:
    """Nearest center of each point: (N,) uint32."""
    return _f(f).push(data, N)


def vl_ikm_push_one(centers: Any, data: Any, M: int, K: int) -> int:
    """Index of the center (of K x M ``centers``) nearest to one point (M uint8 values)."""
    return push_one(centers, data, M, K)


def vl_ikm_get_centers(f: VlIKMFilt) -> np.ndarray | None:
    """The centers, flat (K*M,) int32 (a copy), or None before any are set."""
    return _f(f).centers


def vl_ikm_get_ndims(f: VlIKMFilt) -> int:
    """Dimension M of the centers (0 before any are set)."""
    return _f(f).ndims


def vl_ikm_get_K(f: VlIKMFilt) -> int:
    """Number of centers K (0 before any are set)."""
    return _f(f).K


def vl_ikm_get_verbosity(f: VlIKMFilt) -> int:
    return _f(f).verbosity


def vl_ikm_get_max_niters(f: VlIKMFilt) -> int:
    return _f(f).max_niters


def vl_ikm_set_verbosity(f: VlIKMFilt, verb: int) -> None:
    """At 1 or more, training prints its progress to ``sys.stdout``."""
    _f(f).verbosity = verb


def vl_ikm_set_max_niters(f: VlIKMFilt, max_niters: int) -> None:
    _f(f).max_niters = max_niters
