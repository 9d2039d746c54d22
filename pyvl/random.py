"""VLFeat's random number generator (MT19937), as in ``vl/random.h``.

Each thread has a default generator, used by every random initialisation
(k-means++, random selection, the GMM's VlGMMRand). Seeding it makes a run
repeatable and, for the same data and seed, equal to VLFeat's::

    vl_rand_seed(vl_get_rand(), 42)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core.rand import Rand as VlRand

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


def _rand(r: Any) -> VlRand:
    if not isinstance(r, VlRand):
        raise TypeError(f"expected a VlRand from vl_get_rand() or vl_rand_new(), got {type(r).__name__}")
    return r


def vl_get_rand() -> VlRand:
    """The calling thread's default generator."""
    return VlRand.default()


def vl_rand_new(seed: int | None = None) -> VlRand:
    """A private generator (seeded with ``seed``, or lazily with 5489)."""
    return VlRand.new(seed)


def vl_rand_init(rand: VlRand) -> None:
    """Back to the unseeded state (the next draw seeds with 5489)."""
    _rand(rand).init()


def vl_rand_seed(rand: VlRand, seed: int) -> None:
    """Seed with a 32-bit integer (MT19937 init_genrand)."""
    _rand(rand).seed(seed)


def vl_rand_seed_by_array(rand: VlRand, key: Any) -> None:
    """Seed with an array of 32-bit integers (MT19937 init_by_array)."""
    _rand(rand).seed_by_array(key)


def vl_rand_uint32(rand: VlRand) -> int:
    return _rand(rand).uint32()


def vl_rand_uint64(rand: VlRand) -> int:
    return _rand(rand).uint64()


def vl_rand_int31(rand: VlRand) -> int:
    return _rand(rand).int31()


def vl_rand_int63(rand: VlRand) -> int:
    return _rand(rand).int63()


def vl_rand_real1(rand: VlRand) -> float:
    """Uniform in [0, 1]."""
    return _rand(rand).real1()


def vl_rand_real2(rand: VlRand) -> float:
    """Uniform in [0, 1)."""
    return _rand(rand).real2()


def vl_rand_real3(rand: VlRand) -> float:
    """Uniform in (0, 1)."""
    return _rand(rand).real3()


def vl_rand_res53(rand: VlRand) -> float:
    """Uniform in [0, 1) with 53-bit resolution."""
    return _rand(rand).res53()


def vl_rand_uindex(rand: VlRand, range_: int) -> int:
    """Integer in [0, range_)."""
    return _rand(rand).uindex(range_)


def vl_rand_permute_indexes(rand: VlRand, size: int) -> np.ndarray:
    """A random permutation of 0..size-1 (VLFeat's shuffle), as an int64 array."""
    return _rand(rand).permute_indexes(size)
