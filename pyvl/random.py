"""VLFeat's random number generator (MT19937), as in ``vl/random.h``.

Each thread has a default generator, used by every random initialisation
(k-means++, random selection, the GMM's VlGMMRand). Seeding it makes a run
repeatable and, for the same data and seed, equal to VLFeat's::

    vl_rand_seed(vl_get_rand(), 42)
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from ._arrays import _numeric, c_array, count
from ._errors import InvalidArgumentError
from ._lib import VlRandStruct, lib

__all__ = [
    "VlRand",
    "vl_get_rand",
    "vl_rand_new",
    "vl_rand_init",
    "vl_rand_seed",
    "vl_rand_seed_by_array",
    "vl_rand_uint32",
    "vl_rand_uint64",
    "vl_rand_int31",
    "vl_rand_int63",
    "vl_rand_real1",
    "vl_rand_real2",
    "vl_rand_real3",
    "vl_rand_res53",
    "vl_rand_uindex",
    "vl_rand_permute_indexes",
]


class VlRand:
    """A generator: the calling thread's default one (:func:`vl_get_rand`) or
    a private state owned by Python (:func:`vl_rand_new`)."""

    def __init__(self, ref: Any, owner: VlRandStruct | None = None) -> None:
        self._ref = ref
        self._owner = owner  # keeps a Python-owned state alive

    @property
    def _as_parameter_(self) -> Any:
        return self._ref

    def __repr__(self) -> str:
        kind = "private" if self._owner is not None else "thread default"
        return f"<VlRand {kind}>"


def _rand(r: Any) -> VlRand:
    if not isinstance(r, VlRand):
        raise TypeError(f"expected a VlRand from vl_get_rand() or vl_rand_new(), got {type(r).__name__}")
    return r


def vl_get_rand() -> VlRand:
    """The calling thread's default generator."""
    return VlRand(lib.vl_get_rand())


def vl_rand_new(seed: int | None = None) -> VlRand:
    """A private generator (seeded with ``seed``, or lazily with 5489)."""
    state = VlRandStruct()
    r = VlRand(ctypes.pointer(state), owner=state)
    lib.vl_rand_init(r)
    if seed is not None:
        vl_rand_seed(r, seed)
    return r


def vl_rand_init(rand: VlRand) -> None:
    """Back to the unseeded state (the next draw seeds with 5489)."""
    lib.vl_rand_init(_rand(rand))


def _seed_value(seed: Any) -> int:
    s = count(seed, "seed")
    if s > 0xFFFFFFFF:
        raise InvalidArgumentError(f"seed must fit in 32 bits, got {s}")
    return s


def vl_rand_seed(rand: VlRand, seed: int) -> None:
    """Seed with a 32-bit integer (MT19937 init_genrand)."""
    lib.vl_rand_seed(_rand(rand), _seed_value(seed))


def vl_rand_seed_by_array(rand: VlRand, key: Any) -> None:
    """Seed with an array of 32-bit integers (MT19937 init_by_array)."""
    k = _numeric(key, "key")
    if k.size and k.dtype.kind not in "iub" and np.any(k != np.floor(k)):
        raise InvalidArgumentError("key must hold integers (32-bit unsigned)")
    if k.size and (np.any(k < 0) or np.any(k > 0xFFFFFFFF)):
        raise InvalidArgumentError("key values must be 32-bit unsigned integers, in [0, 2**32)")
    arr = c_array(k.ravel(), dtype=np.uint32)
    lib.vl_rand_seed_by_array(_rand(rand), arr.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)), arr.size)


def vl_rand_uint32(rand: VlRand) -> int:
    return int(lib.vl_rand_uint32(_rand(rand)))


def vl_rand_uint64(rand: VlRand) -> int:
    return int(lib.vl_rand_uint64(_rand(rand)))


def vl_rand_int31(rand: VlRand) -> int:
    return int(lib.vl_rand_int31(_rand(rand)))


def vl_rand_int63(rand: VlRand) -> int:
    return int(lib.vl_rand_int63(_rand(rand)))


def vl_rand_real1(rand: VlRand) -> float:
    """Uniform in [0, 1]."""
    return float(lib.vl_rand_real1(_rand(rand)))


def vl_rand_real2(rand: VlRand) -> float:
    """Uniform in [0, 1)."""
    return float(lib.vl_rand_real2(_rand(rand)))


def vl_rand_real3(rand: VlRand) -> float:
    """Uniform in (0, 1)."""
    return float(lib.vl_rand_real3(_rand(rand)))


def vl_rand_res53(rand: VlRand) -> float:
    """Uniform in [0, 1) with 53-bit resolution."""
    return float(lib.vl_rand_res53(_rand(rand)))


def vl_rand_uindex(rand: VlRand, range_: int) -> int:
    """Integer in [0, range_)."""
    return int(lib.vl_rand_uindex(_rand(rand), count(range_, "range")))


def vl_rand_permute_indexes(rand: VlRand, size: int) -> np.ndarray:
    """A random permutation of 0..size-1 (VLFeat's shuffle), as an int64 array."""
    n = count(size, "size")
    arr = np.arange(n, dtype=np.intp)
    lib.vl_rand_permute_indexes(_rand(rand), arr.ctypes.data_as(ctypes.POINTER(ctypes.c_ssize_t)), n)
    return arr
