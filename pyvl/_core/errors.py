"""Exceptions raised by pyvl, and the mapping from libgmm's error codes.

Every exception derives from :class:`PyvlError` and from the builtin a caller
would expect (``ValueError`` for bad arguments, ``MemoryError`` for failed
allocations, ...), so ``except ValueError`` works as usual.
"""

from __future__ import annotations

from .enums import ErrorCode

# libgmm's error codes (vl/generic.h)
VL_ERR_OK = ErrorCode.OK
VL_ERR_OVERFLOW = ErrorCode.OVERFLOW
VL_ERR_ALLOC = ErrorCode.ALLOC
VL_ERR_BAD_ARG = ErrorCode.BAD_ARG
VL_ERR_IO = ErrorCode.IO
VL_ERR_EOF = ErrorCode.EOF
VL_ERR_BAD_STATE = ErrorCode.BAD_STATE
VL_ERR_INTERRUPTED = ErrorCode.INTERRUPTED


class PyvlError(Exception):
    """Base class of pyvl's errors. ``code`` is libgmm's error code (0 if the
    error was detected in Python)."""

    code: int = 0

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgumentError(PyvlError, ValueError):
    """An argument is invalid: a size, a value (NaN/Inf), an enum or a flag."""

    code = VL_ERR_BAD_ARG


class SizeOverflowError(PyvlError, ValueError):
    """Sizes whose product does not fit in memory addresses."""

    code = VL_ERR_OVERFLOW


class AllocationError(PyvlError, MemoryError):
    """libgmm could not allocate memory."""

    code = VL_ERR_ALLOC


class StateError(PyvlError, ValueError, RuntimeError):
    """The object is not ready for this call (for example, deleted, or no centers).

    A ``ValueError`` (as Python's own operation on a closed file and
    scikit-learn's ``NotFittedError`` are) and, for code written before it
    was one, a ``RuntimeError``."""

    code = VL_ERR_BAD_STATE


class TrainingInterrupted(PyvlError, RuntimeError):
    """An iteration callback stopped training; the model is in a valid state."""

    code = VL_ERR_INTERRUPTED


_BY_CODE: dict[int, type[PyvlError]] = {
    VL_ERR_OVERFLOW: SizeOverflowError,
    VL_ERR_ALLOC: AllocationError,
    VL_ERR_BAD_ARG: InvalidArgumentError,
    VL_ERR_BAD_STATE: StateError,
    VL_ERR_INTERRUPTED: TrainingInterrupted,
}


def error_for_code(code: int, message: str) -> PyvlError:
    """The exception instance for libgmm error ``code`` with the C message."""
    cls = _BY_CODE.get(code, PyvlError)
    return cls(message or f"libgmm error {code}", code)
