"""libgmm's process-wide settings: threads, SIMD level, version, where its
verbose messages go.

libgmm prints nothing unless an object's verbosity was raised; then each
message line is handed to a hook. pyvl installs one hook at import that
writes the line to ``sys.stdout`` (so it shows up in notebooks, where C's own
stdout does not).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .arrays import check_int, count
from .errors import InvalidArgumentError
from .lib import LogFunc, lib


def _emit(user: Any, message: bytes) -> None:
    try:
        sys.stdout.write(message.decode("utf-8", "replace") + "\n")
    except Exception:  # never let a broken stdout propagate into C
        pass


_HOOK = LogFunc(_emit)  # must stay referenced for as long as the library may call it


def install_log_hook() -> None:
    lib.vl_set_log_func(_HOOK, None)


# ---- version ------------------------------------------------------------------------------


def version() -> str:
    """Version string of the loaded libgmm."""
    return str(lib.vl_get_version_string().decode())


# ---- threads ------------------------------------------------------------------------------


def set_num_threads(n: int) -> None:
    """Threads libgmm uses (0: its default, normally the number of cores)."""
    lib.vl_set_num_threads(count(n, "n"))


def get_max_threads() -> int:
    """Threads libgmm will use."""
    return int(lib.vl_get_max_threads())


@contextmanager
def num_threads(n: int | None, name: str = "n_threads") -> Iterator[None]:
    """libgmm uses ``n`` threads inside the block (None: leave the setting as is);
    the previous count is restored after. ``n`` must be an integer >= 1
    (``ValueError`` otherwise, as scikit-learn checks parameters)."""
    if n is None:
        yield
        return
    n = check_int(n, name, 1, type_error=ValueError)
    before = get_max_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(before)


# ---- SIMD ---------------------------------------------------------------------------------
# libgmm's levels: "scalar", "sse2", "avx2" (AVX2+FMA), "avx512" (AVX-512F) on
# x86, "neon" on aarch64. Their numbers are not an order across architectures
# (neon is 4), so which levels exist here is asked level by level.


@functools.cache
def simd_level_names() -> tuple[str, ...]:
    """Every level libgmm knows, indexed by its number: ``vl_get_simd_level_name(i)``
    for i = 0, 1, ... up to the first unknown level (NULL and VL_ERR_BAD_ARG)."""
    names: list[str] = []
    while True:
        try:
            name = lib.vl_get_simd_level_name(len(names))
        except InvalidArgumentError:  # the first level libgmm does not know: the end
            break
        names.append(name.decode())
    return tuple(names)


def simd_level_name(level: int) -> str:
    """Name of SIMD level number ``level`` (InvalidArgumentError if libgmm does not know it)."""
    return str(lib.vl_get_simd_level_name(level).decode())


def simd_level() -> str:
    """Name of the SIMD level in use: "scalar", "sse2", "avx2", "avx512" (x86) or "neon"
    (aarch64)."""
    return simd_level_name(lib.vl_get_simd_level())


def available_simd_levels() -> list[str]:
    """Levels this build and CPU can run (the ones :func:`set_simd_level` accepts), in
    libgmm's order: "scalar" first, then e.g. "sse2", "avx2", "avx512" on x86-64 or "neon"
    on aarch64."""
    return [name for i, name in enumerate(simd_level_names()) if lib.vl_get_simd_level_available(i)]


def set_simd_level(level: str) -> None:
    """Use the kernels of the named level from now on (process-wide).

    ``level`` is one of libgmm's names ("scalar", "sse2", "avx2", "avx512", "neon");
    InvalidArgumentError for any other, and for a level this build or CPU cannot run
    (libgmm's error, e.g. "neon" on x86-64 or "avx2" on aarch64)."""
    names = simd_level_names()
    if level not in names:
        raise InvalidArgumentError(
            f"unknown SIMD level {level!r}; libgmm's levels are {names}, "
            f"available here: {tuple(available_simd_levels())}"
        )
    lib.vl_set_simd_level(names.index(level))


def set_simd_enabled(enabled: bool) -> None:
    lib.vl_set_simd_enabled(int(bool(enabled)))


def get_simd_enabled() -> bool:
    return bool(lib.vl_get_simd_enabled())
