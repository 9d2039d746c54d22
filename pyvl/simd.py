"""Which SIMD kernels libgmm uses, and forcing a level (tests and benchmarks).

Levels: "scalar", "sse2", "avx2" (AVX2+FMA), "avx512" (AVX-512F). The best
level this build and CPU support is chosen at load; ``GMM_SIMD=scalar`` in the
environment caps it.
"""

from __future__ import annotations

from ._errors import InvalidArgumentError
from ._lib import lib

LEVELS = ("scalar", "sse2", "avx2", "avx512")


def simd_level() -> str:
    """Name of the level in use."""
    return LEVELS[lib.vl_get_simd_level()]


def available_levels() -> list[str]:
    """Levels this build and CPU can run, lowest first."""
    return list(LEVELS[: lib.vl_get_simd_max_level() + 1])


def set_simd_level(level: str) -> None:
    """Use ``level`` (one of :func:`available_levels`) from now on."""
    if level not in LEVELS:
        raise InvalidArgumentError(f"unknown SIMD level {level!r}; choose from {LEVELS}")
    lib.vl_set_simd_level(LEVELS.index(level))


def vl_set_simd_enabled(enabled: bool) -> None:
    """VLFeat's switch: False forces the scalar kernels, True restores SIMD."""
    lib.vl_set_simd_enabled(int(bool(enabled)))


def vl_get_simd_enabled() -> bool:
    return bool(lib.vl_get_simd_enabled())
