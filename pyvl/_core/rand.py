"""libgmm's random number generator (VLFeat's MT19937, ``vl/random.h``) as an object.

Each thread has a default generator, used by every random initialisation
(k-means++, random selection, the GMM's VlGMMRand); :meth:`Rand.default` is
the calling thread's. :meth:`Rand.seeded` seeds it for the duration of a
block and restores its state after.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .arrays import c_array, count, numeric, typed_ptr
from .errors import InvalidArgumentError
from .lib import VlRandStruct, lib


def _seed_value(seed: Any) -> int:
    s = count(seed, "seed")
    if s > 0xFFFFFFFF:
        raise InvalidArgumentError(f"seed must fit in 32 bits, got {s}")
    return s


class Rand:
    """A generator: a thread's default one (:meth:`default`) or a private state
    owned by Python (:meth:`new`)."""

    def __init__(self, ref: Any, owner: VlRandStruct | None = None) -> None:
        self._ref = ref
        self._owner = owner  # keeps a Python-owned state alive

    @classmethod
    def default(cls) -> Rand:
        """The calling thread's default generator."""
        return cls(lib.vl_get_rand())

    @classmethod
    def new(cls, seed: int | None = None) -> Rand:
        """A private generator (seeded with ``seed``, or lazily with 5489)."""
        state = VlRandStruct()
        r = cls(ctypes.pointer(state), owner=state)
        r.init()
        if seed is not None:
            r.seed(seed)
        return r

    @property
    def _as_parameter_(self) -> Any:
        return self._ref

    def __repr__(self) -> str:
        kind = "private" if self._owner is not None else "thread default"
        return f"<VlRand {kind}>"

    def init(self) -> None:
        """Back to the unseeded state (the next draw seeds with 5489)."""
        lib.vl_rand_init(self)

    def seed(self, seed: int) -> None:
        """Seed with a 32-bit integer (MT19937 init_genrand)."""
        lib.vl_rand_seed(self, _seed_value(seed))

    def seed_by_array(self, key: Any) -> None:
        """Seed with an array of 32-bit integers (MT19937 init_by_array)."""
        k = numeric(key, "key")
        if k.size and k.dtype.kind not in "iub" and np.any(k != np.floor(k)):
            raise InvalidArgumentError("key must hold integers (32-bit unsigned)")
        if k.size and (np.any(k < 0) or np.any(k > 0xFFFFFFFF)):
            raise InvalidArgumentError("key values must be 32-bit unsigned integers, in [0, 2**32)")
        arr = c_array(k.ravel(), dtype=np.uint32)
        lib.vl_rand_seed_by_array(self, typed_ptr(arr, ctypes.c_uint32), arr.size)

    def uint32(self) -> int:
        return int(lib.vl_rand_uint32(self))

    def uint64(self) -> int:
        return int(lib.vl_rand_uint64(self))

    def int31(self) -> int:
        return int(lib.vl_rand_int31(self))

    def int63(self) -> int:
        return int(lib.vl_rand_int63(self))

    def real1(self) -> float:
        return float(lib.vl_rand_real1(self))

    def real2(self) -> float:
        return float(lib.vl_rand_real2(self))

    def real3(self) -> float:
        return float(lib.vl_rand_real3(self))

    def res53(self) -> float:
        return float(lib.vl_rand_res53(self))

    def uindex(self, range_: int) -> int:
        """Integer in [0, range_)."""
        return int(lib.vl_rand_uindex(self, count(range_, "range")))

    def permute_indexes(self, size: int) -> np.ndarray:
        """A random permutation of 0..size-1 (VLFeat's shuffle), as an intp array."""
        n = count(size, "size")
        arr = np.arange(n, dtype=np.intp)
        lib.vl_rand_permute_indexes(self, typed_ptr(arr, ctypes.c_ssize_t), n)
        return arr


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed the calling thread's default generator inside the block; restore its
    state after (so a seeded fit does not disturb the caller's stream)."""
    rand = lib.vl_get_rand()
    saved = VlRandStruct()
    ctypes.memmove(ctypes.byref(saved), rand, ctypes.sizeof(VlRandStruct))
    lib.vl_rand_seed(rand, _seed_value(seed))
    try:
        yield
    finally:
        ctypes.memmove(rand, ctypes.byref(saved), ctypes.sizeof(VlRandStruct))
