"""The container of a model file: a zip of ``.npy`` members, read and written
with every size bounded and nothing trusted.

Reading (:func:`read_members`): the path must be a regular file (a FIFO, a
device or a directory is refused before anything is read); the whole file is
read with a size limit; each member's ``.npy`` header is parsed (no pickles,
no object or structured dtypes) and the member's declared size must be the
header's ``shape x itemsize`` exactly; stored members together may not be
larger than the file, compressed members not more than :data:`MAX_INFLATION`
times the file (or :data:`MIN_INFLATED_BYTES`), and all of them not more than
:data:`MAX_TOTAL_BYTES` (a deflate bomb cannot inflate past what its headers
declare: zipfile stops at the declared size and checks the CRC).

Writing (:func:`atomic_write`): to a temporary file in the target's
directory, renamed over the target once complete; a symlink is written
through (its target is replaced, the link stays), and a target that exists
but is not a regular file (a device, a FIFO) is refused.
"""

from __future__ import annotations

import io as _stdio
import math
import os
import stat
import uuid
import zipfile
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, Union

import numpy as np

from .._core.errors import PyvlError

PathLike = Union[str, "os.PathLike[str]"]

#: Members of one archive at most.
MAX_MEMBERS = 4096
#: Bytes of a member's ``.npy`` header at most.
MAX_HEADER = 10_000
#: Bytes of a model file, and of all its members uncompressed, at most.
MAX_TOTAL_BYTES = 1 << 31
#: Compressed members may together declare at most this many times the file's
#: size, or :data:`MIN_INFLATED_BYTES` (model arrays compress by a few times at
#: most; a deflate bomb by a thousand).
MAX_INFLATION = 64
MIN_INFLATED_BYTES = 64 << 20
#: Characters of a string member (the JSON parameters) at most.
MAX_STRING = 1 << 24


class ModelFileError(PyvlError, ValueError):
    """A model file is not a valid pyvl model file: truncated, tampered with,
    of another format or version, for another class, or holding invalid values."""


def _names(names: list[str], limit: int = 8) -> str:
    """A short listing of member names for an error message."""
    shown = ", ".join(repr(n[:60]) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# ---- reading ------------------------------------------------------------------------------


def _read_file(path: PathLike) -> bytes:
    """The bytes of a regular file of at most MAX_TOTAL_BYTES (ModelFileError else)."""
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(name, flags)  # O_NONBLOCK: a FIFO without a writer must not block
    except IsADirectoryError:
        raise ModelFileError(f"{name}: is a directory, not a model file") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ModelFileError(f"{name}: is a directory, not a model file")
        raise ModelFileError(f"{name}: not a regular file (a device, FIFO or socket)")
    with os.fdopen(fd, "rb") as f:
        if st.st_size > MAX_TOTAL_BYTES:
            raise ModelFileError(f"{name}: {st.st_size} bytes, more than a model file can hold "
                                 f"({MAX_TOTAL_BYTES})")
        return f.read(MAX_TOTAL_BYTES + 1)


def _npy_header(name: str, fp: Any) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, header length) of a ``.npy`` stream, checked."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=MAX_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=MAX_HEADER)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as exc:  # any malformed header is a file error
        raise ModelFileError(f"member {name!r}: bad .npy header ({exc})") from exc
    dtype = np.dtype(dtype)
    if dtype.hasobject or dtype.kind not in "biufU" or dtype.fields is not None:
        raise ModelFileError(
            f"member {name!r} has dtype {dtype}: only numbers, booleans and strings are "
            "allowed (no objects, no pickles)"
        )
    if dtype.itemsize == 0 or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ModelFileError(f"member {name!r}: invalid shape {shape} or dtype {dtype}")
    return tuple(shape), bool(fortran), dtype, int(fp.tell())


def _read_npy(name: str, data: bytes) -> np.ndarray:
    """One ``.npy`` member: the exact data length its header announces. Returns a
    new, writable, native-order C-contiguous array."""
    shape, fortran, dtype, offset = _npy_header(name, _stdio.BytesIO(data))
    nbytes = math.prod(shape) * dtype.itemsize
    if len(data) - offset != nbytes:
        raise ModelFileError(
            f"member {name!r}: the header announces {nbytes} bytes of data, the member "
            f"holds {len(data) - offset} (truncated or tampered file)"
        )
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    arr = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return np.array(arr, dtype=dtype.newbyteorder("="), order="C")  # a copy, 0-d kept


def read_members(source: PathLike | BinaryIO) -> dict[str, np.ndarray]:
    """All members of a model file, each checked (see the module doc)."""
    if hasattr(source, "read"):
        raw = source.read(MAX_TOTAL_BYTES + 1)
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError("the file object must be opened in binary mode")
    else:
        raw = _read_file(source)
    if len(raw) > MAX_TOTAL_BYTES:
        raise ModelFileError(f"more than {MAX_TOTAL_BYTES} bytes: not a pyvl model file")
    try:
        with zipfile.ZipFile(_stdio.BytesIO(raw)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ModelFileError(f"the archive has {len(infos)} members (at most {MAX_MEMBERS})")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise ModelFileError("the archive has duplicate member names")
            stored = sum(i.file_size for i in infos if i.compress_type == zipfile.ZIP_STORED)
            if stored > len(raw):
                raise ModelFileError("the members are larger than the file (tampered sizes)")
            inflated = sum(i.file_size for i in infos if i.compress_type != zipfile.ZIP_STORED)
            if inflated > max(MIN_INFLATED_BYTES, MAX_INFLATION * len(raw)):
                raise ModelFileError(
                    f"the compressed members declare {inflated} bytes, more than "
                    f"{MAX_INFLATION} times the file's {len(raw)}: not a model file"
                )
            if stored + inflated > MAX_TOTAL_BYTES:
                raise ModelFileError(f"the members declare more than {MAX_TOTAL_BYTES} bytes")
            members: dict[str, np.ndarray] = {}
            for info in infos:
                if not info.filename.endswith(".npy") or info.is_dir():
                    raise ModelFileError(f"unexpected archive member {info.filename!r}")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise ModelFileError(f"member {info.filename!r}: unsupported compression")
                key = info.filename[: -len(".npy")]
                with zf.open(info) as f:  # bounded by the declared size; CRC checked at the end
                    shape, _, dtype, header = _npy_header(key, f)
                if info.file_size != header + math.prod(shape) * dtype.itemsize:
                    raise ModelFileError(
                        f"member {key!r}: the archive declares {info.file_size} bytes, its "
                        f".npy header {header + math.prod(shape) * dtype.itemsize} "
                        "(truncated or tampered file)"
                    )
                members[key] = _read_npy(key, zf.read(info))
    except ModelFileError:
        raise
    except Exception as exc:  # zipfile/struct/zlib errors of a damaged file
        raise ModelFileError(
            f"not a readable pyvl model file: {type(exc).__name__}: {exc}"
        ) from exc
    return members


class Members:
    """The members of a file, consumed by name; unused members are an error
    (:meth:`unused`). The typed getters raise :class:`ModelFileError`."""

    def __init__(self, members: Mapping[str, np.ndarray]) -> None:
        self._m = dict(members)
        self._used: set[str] = set()

    def has(self, key: str) -> bool:
        return key in self._m

    def keys(self, prefix: str = "") -> list[str]:
        """Names not read yet that start with ``prefix``, sorted."""
        return sorted(k for k in self._m if k.startswith(prefix) and k not in self._used)

    def get(self, key: str) -> np.ndarray:
        if key not in self._m:
            raise ModelFileError(f"the file has no {key!r} member (truncated or tampered file)")
        self._used.add(key)
        return self._m[key]

    def string(self, key: str) -> str:
        a = self.get(key)
        if a.dtype.kind != "U" or a.ndim != 0 or a.dtype.itemsize > 4 * MAX_STRING:
            raise ModelFileError(f"member {key!r} must be a string, got {a.dtype} {a.shape}")
        return str(a[()])

    def integer(self, key: str, minimum: int = 0) -> int:
        a = self.get(key)
        if a.dtype.kind not in "iu" or a.ndim != 0 or int(a[()]) < minimum:
            raise ModelFileError(f"member {key!r} must be an integer >= {minimum}")
        return int(a[()])

    def boolean(self, key: str) -> bool:
        a = self.get(key)
        if a.dtype.kind != "b" or a.ndim != 0:
            raise ModelFileError(f"member {key!r} must be a boolean")
        return bool(a[()])

    def real(self, key: str, *, finite: bool = True, minimum: float | None = None) -> float:
        a = self.get(key)
        if a.dtype.kind != "f" or a.ndim != 0:
            raise ModelFileError(f"member {key!r} must be a float")
        v = float(a[()])
        if finite and not math.isfinite(v):
            raise ModelFileError(f"member {key!r} is {v}, not a finite number")
        if minimum is not None and not v >= minimum:
            raise ModelFileError(f"member {key!r} is {v}, below {minimum}")
        return v

    def floats(self, key: str, ndim: int, dtype: np.dtype | None = None, *,
               finite: bool = True) -> np.ndarray:
        """A float32/float64 array of ``ndim`` dimensions (of ``dtype`` if given), finite."""
        a = self.get(key)
        if a.dtype not in (np.float32, np.float64) or a.ndim != ndim:
            raise ModelFileError(
                f"member {key!r} must be a {ndim}-D float32/float64 array, "
                f"got {a.dtype} of shape {a.shape}"
            )
        if dtype is not None and a.dtype != dtype:
            raise ModelFileError(f"member {key!r} is {a.dtype}, expected {np.dtype(dtype)}")
        if finite and not np.all(np.isfinite(a)):
            raise ModelFileError(f"member {key!r} contains NaN or Inf")
        return a

    def unused(self) -> list[str]:
        return sorted(set(self._m) - self._used)

    def check_all_used(self) -> None:
        extra = self.unused()
        if extra:
            raise ModelFileError(f"unexpected members in the file: {_names(extra)}")


# ---- writing ------------------------------------------------------------------------------


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> None:
    """``write(file)`` into a temporary file next to ``path``'s target, then rename it
    over the target (see the module doc). A crash never leaves a half-written file."""
    name = os.fspath(path)
    target = os.path.realpath(name) if os.path.islink(name) else name
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ModelFileError(f"{name}: {kind}; refusing to replace it")
    directory = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:  # open() applies the umask, as for a new target
            write(f)
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))  # an existing file keeps its mode
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_members(path_or_file: PathLike | BinaryIO, members: Mapping[str, np.ndarray]) -> None:
    """An ``np.savez`` archive of ``members`` to a file object or (atomically) a path."""
    if hasattr(path_or_file, "write"):
        np.savez(path_or_file, **members)  # type: ignore[arg-type]
    else:
        atomic_write(path_or_file, lambda f: np.savez(f, **members))  # type: ignore[arg-type]
