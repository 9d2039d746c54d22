"""threadpoolctl integration: libgmm's threads under ``threadpool_limits``.

Importing this module registers :class:`LibgmmController` with threadpoolctl
(version 3.5 or newer, which has ``threadpoolctl.register``); ``pyvl``
imports it when threadpoolctl is installed. Then::

    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_info()            # [..., {"user_api": "openmp", "internal_api": "libgmm",
                                 #        "num_threads": 2, "version": "0.1.0",
                                 #        "filepath": ".../libgmm.so.1", ...}]
    with threadpool_limits(1):   # also `user_api="openmp"`
        ...                      # pyvl.vl_get_max_threads() == 1 in here

libgmm has its own thread pool (no OpenMP runtime). Its user API is
``"openmp"`` all the same -- the family of thread pools that
``threadpool_limits(user_api="openmp")`` is meant to limit, as it did when
libgmm used OpenMP -- and its internal API is ``"libgmm"``. Its
thread count is process-wide (``vl_set_num_threads``), not per Python thread.
Results do not depend on it. threadpoolctl restores the previous count on
exit from a limit; a count of 0 (libgmm's default) comes back as the number
it stood for.

The controller talks to the library threadpoolctl found in the process (the
handle it opened), so two copies of libgmm loaded at once are each
controlled on their own.
"""

from __future__ import annotations

import ctypes
from typing import Any

import threadpoolctl  # ImportError if absent: pyvl then skips this module

__all__ = ["LibgmmController", "register"]


class LibgmmController(threadpoolctl.LibController):
    """threadpoolctl controller for libgmm (pyvl's C library)."""

    user_api = "openmp"
    internal_api = "libgmm"
    filename_prefixes = ("libgmm",)
    # symbols of libgmm alone (not of VLFeat's libvl): a libgmm* file without
    # them is some other library
    check_symbols = ("vl_get_abi_version", "vl_get_max_threads", "vl_set_num_threads")

    def _fn(self, name: str, restype: Any, argtypes: list[Any]) -> Any:
        fn = getattr(self.dynlib, name)
        fn.restype, fn.argtypes = restype, argtypes
        return fn

    def get_num_threads(self) -> int:
        """Threads libgmm will use (``vl_get_max_threads``)."""
        return int(self._fn("vl_get_max_threads", ctypes.c_size_t, [])())

    def set_num_threads(self, num_threads: int) -> None:
        """Set libgmm's thread count (``vl_set_num_threads``; process-wide)."""
        self._fn("vl_set_num_threads", None, [ctypes.c_size_t])(int(num_threads))

    def get_version(self) -> str | None:
        """libgmm's version string (equal to ``pyvl.__version__``)."""
        raw = self._fn("vl_get_version_string", ctypes.c_char_p, [])()
        return raw.decode() if raw else None

    def set_additional_attributes(self) -> None:
        """Also report the SIMD kernels in use (``simd_level``)."""
        try:
            level = self._fn("vl_get_simd_level", ctypes.c_int, [])()
            name = self._fn("vl_get_simd_level_name", ctypes.c_char_p, [ctypes.c_int])(level)
            self.simd_level = name.decode() if name else None
        except AttributeError:  # an older libgmm without the SIMD API
            self.simd_level = None


def register() -> bool:
    """Register :class:`LibgmmController` with threadpoolctl (once).

    Returns False if this threadpoolctl is too old to accept controllers
    (before 3.5); pyvl then works as before, unseen by threadpoolctl.
    """
    reg = getattr(threadpoolctl, "register", None)
    if reg is None:
        return False
    controllers = getattr(threadpoolctl, "_ALL_CONTROLLERS", None)
    if controllers is not None and any(
        getattr(c, "internal_api", None) == LibgmmController.internal_api for c in controllers
    ):
        return True  # already registered (e.g. a reload of pyvl)
    reg(LibgmmController)
    return True


register()
