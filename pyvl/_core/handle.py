"""Owning handles for libgmm objects.

A handle owns one C object through a small holder that frees it when the
last reference to the holder goes away (garbage collection, or at once in
CPython). Closing a handle drops the handle's own reference: any later use
of the handle raises :class:`~pyvl.StateError` instead of touching freed
memory. Another handle that still points to the C object (a GMM using a
k-means object for its initialisation) keeps the holder with
:meth:`Handle.keep`, so the C object lives until both are gone.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any, Callable, TypeVar

from .errors import StateError

H = TypeVar("H", bound="Handle")


class _CObject:
    """Holds one C pointer; frees it with ``deleter`` when collected."""

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, ptr: Any, deleter: Callable[[Any], None]) -> None:
        self.ptr = ptr
        weakref.finalize(self, deleter, ptr)


class Handle:
    """Base class: owns a pointer returned by a ``*_new`` C function."""

    _kind = "object"

    def __init__(self, ptr: Any, deleter: Callable[[Any], None]) -> None:
        if not ptr:
            raise StateError(f"libgmm returned a NULL {self._kind}")
        self._obj: _CObject | None = _CObject(ptr, deleter)
        self._kept: dict[str, _CObject] = {}

    @property
    def ptr(self) -> Any:
        """The C pointer; raises :class:`StateError` after the object was deleted."""
        obj = self._obj
        if obj is None:
            raise StateError(f"this {self._kind} has been deleted")
        return obj.ptr

    @property
    def _as_parameter_(self) -> Any:
        return self.ptr

    @property
    def closed(self) -> bool:
        return self._obj is None

    def close(self) -> None:
        """Release this handle's C object: freed now unless another handle keeps it
        (:meth:`keep`), then when that one lets it go. A second close raises
        :class:`StateError`."""
        if self._obj is None:
            raise StateError(f"this {self._kind} has already been deleted")
        self._obj = None
        self._kept.clear()

    def keep(self, role: str, other: Handle | None) -> None:
        """Keep ``other``'s C object alive while this one points to it under ``role``
        (None: stop keeping the previous one)."""
        if other is None:
            self._kept.pop(role, None)
        else:
            assert other._obj is not None
            self._kept[role] = other._obj

    def __enter__(self: H) -> H:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._obj is not None:
            self.close()

    def address(self) -> int:
        """Integer address of the C object (for passing to other C code)."""
        return ctypes.cast(self.ptr, ctypes.c_void_p).value or 0
