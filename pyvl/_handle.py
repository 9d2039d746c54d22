"""Owning handles for libgmm objects.

A handle owns one C object: it frees it when garbage-collected or when
closed explicitly, after which the pointer is gone and any use raises
:class:`~pyvl.StateError` instead of touching freed memory.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any, Callable

from ._errors import StateError


class Handle:
    """Base class: owns a pointer returned by a ``*_new`` C function."""

    _kind = "object"

    def __init__(self, ptr: Any, deleter: Callable[[Any], None]) -> None:
        if not ptr:
            raise StateError(f"libgmm returned a NULL {self._kind}")
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, deleter, ptr)

    @property
    def ptr(self) -> Any:
        """The C pointer; raises :class:`StateError` after the object was deleted."""
        ptr = self._ptr
        if ptr is None:
            raise StateError(f"this {self._kind} has been deleted")
        return ptr

    @property
    def _as_parameter_(self) -> Any:
        return self.ptr

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def close(self) -> None:
        """Free the C object now. A second close raises :class:`StateError`."""
        if self._ptr is None:
            raise StateError(f"this {self._kind} has already been deleted")
        self._ptr = None
        self._finalizer()

    def address(self) -> int:
        """Integer address of the C object (for passing to other C code)."""
        return ctypes.cast(self.ptr, ctypes.c_void_p).value or 0
