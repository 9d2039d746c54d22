"""libgmm's process-wide settings: threads, SIMD level, version, where its
verbose messages go.

libgmm prints nothing unless an object's verbosity was raised; then each
message line is handed to a hook. pyvl installs one hook at import that
writes the line to ``sys.stdout`` (so it shows up in notebooks, where C's own
stdout does not).
"""

from __future__ import annotations

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


def simd_level_name(level: int) -> str:
    return str(lib.vl_get_simd_level_name(level).decode())


def simd_level() -> str:
    """Name of the SIMD level in use."""
    return simd_level_name(lib.vl_get_simd_level())


def available_simd_levels() -> list[str]:
    """Levels this build and CPU can run, lowest first."""
    return [simd_level_name(i) for i in range(lib.vl_get_simd_max_level() + 1)]


def set_simd_level(level: str) -> None:
    """Use the kernels of the named level from now on."""
    names = [simd_level_name(i) for i in range(4)]
    if level not in names:
        raise InvalidArgumentError(f"unknown SIMD level {level!r}; choose from {tuple(names)}")
    lib.vl_set_simd_level(names.index(level))


def set_simd_enabled(enabled: bool) -> None:
    lib.vl_set_simd_enabled(int(bool(enabled)))


def get_simd_enabled() -> bool:
    return bool(lib.vl_get_simd_enabled())
