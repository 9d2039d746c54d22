"""Which SIMD kernels libgmm uses, and forcing a level (tests and benchmarks).

Levels: "scalar", "sse2", "avx2" (AVX2+FMA), "avx512" (AVX-512F) on x86-64,
"neon" (Advanced SIMD) on aarch64. The best level this build and CPU support
is chosen at load; ``GMM_SIMD=scalar`` in the environment caps it (a level of
the other architecture is ignored). ``available_levels()`` lists the levels
``set_simd_level`` accepts here.
"""

from __future__ import annotations

from ._core.runtime import available_simd_levels as available_levels
from ._core.runtime import get_simd_enabled as vl_get_simd_enabled
from ._core.runtime import set_simd_enabled as vl_set_simd_enabled
from ._core.runtime import set_simd_level, simd_level

__all__ = ["available_levels", "set_simd_level", "simd_level", "vl_get_simd_enabled",
           "vl_set_simd_enabled"]
