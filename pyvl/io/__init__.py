"""Saving and loading pyvl models: portable ``.npz`` files.

:func:`save` writes any object that implements the model-file protocol
(below) to a NumPy ``.npz`` archive (a zip of ``.npy`` members, no pickle
inside); :func:`load` reads one back as its class. :class:`pyvl.GaussianMixture`,
:class:`pyvl.KMeans`, the encoders of :mod:`pyvl.encoders` (built-in or
plugin) and the transformers of :mod:`pyvl.transformers` implement it, and
each has ``obj.save(path)`` and ``Class.load(path)``.

Members of a file (each a ``.npy`` array):

* ``__format__`` ``"pyvl-model"`` and ``__version__`` (int, :data:`VERSION`);
* ``__class__``: the class's public name (``"pyvl.GaussianMixture"``,
  ``"pyvl.encoders.FisherEncoder"``, ``"pyvl.transformers.VladEncoder"``, ...);
* ``__params__``: the constructor parameters as a JSON string; parameters that
  are arrays, dtypes or ``RandomState`` objects are JSON references to
  ``param.<name>`` members (:mod:`pyvl.io.params`);
* ``__fitted__`` (bool) and ``__pyvl_version__`` (informational);
* the learned arrays, named by the class.

The protocol
------------
A saveable class has ``_pyvl_name`` (its public dotted name, under
``pyvl.``), ``_pyvl_params(self) -> dict`` (constructor parameters),
``_pyvl_arrays(self) -> dict | None`` (the learned arrays, None when not
fitted) and a classmethod ``_pyvl_build(params, members) -> obj`` that checks
everything it reads (``members`` is a :class:`~pyvl.io.archive.Members`, or
None for an unfitted file) and raises :class:`ModelFileError`. :func:`load`
finds the class from ``__class__`` by importing the module of that dotted
name (only modules of ``pyvl``; a package may resolve class names itself with
a module ``__getattr__``, as :mod:`pyvl.encoders` does for plugins) and
accepts it only if it implements the protocol under exactly that name; this
module names no model class.

:func:`load` validates everything before building anything: the container
(:mod:`pyvl.io.archive`), the format name and version, the class, then the
class's own checks of its parameters and arrays. Any failure raises
:class:`ModelFileError` (a ``ValueError``), never another exception, never
code execution. :func:`save` runs the same checks before writing, so a file
it writes always loads.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from .._core.arrays import check_gmm as _check_gmm
from .._core.objects import from_state as _from_state
from .._core.runtime import version as _version
from .archive import Members, ModelFileError, PathLike, atomic_write, read_members, write_members
from .params import decode_params, encode_params

__all__ = [
    "FORMAT",
    "VERSION",
    "Members",
    "ModelFileError",
    "atomic_write",
    "describe",
    "handle_from_state",
    "load",
    "save",
]

#: Value of the ``__format__`` member.
FORMAT = "pyvl-model"
#: Version of the format this pyvl writes (and the only one it reads).
VERSION = 1

_META = ("__format__", "__version__", "__class__", "__params__", "__fitted__", "__pyvl_version__")
_PROTOCOL = ("_pyvl_name", "_pyvl_params", "_pyvl_arrays", "_pyvl_build")


def _is_saveable(cls: Any) -> bool:
    return isinstance(cls, type) and all(hasattr(cls, a) for a in _PROTOCOL)


def model_class(name: str) -> Any:
    """The class a file names: ``pyvl.<module>.<Class>`` or ``pyvl.<Class>``,
    imported from pyvl and required to implement the protocol under that name."""
    module, _, attr = name.rpartition(".")
    if not (module == "pyvl" or module.startswith("pyvl.")) or not attr.isidentifier():
        raise ModelFileError(f"the file holds an unknown class {name[:100]!r}")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == "pyvl" or exc.name.startswith("pyvl.")):
            raise ModelFileError(f"the file holds an unknown class {name!r}") from None
        raise  # a missing dependency (scikit-learn): ImportError
    except AttributeError:
        raise ModelFileError(f"the file holds an unknown class {name!r}") from None
    if not _is_saveable(cls) or cls._pyvl_name != name:
        raise ModelFileError(f"the file holds an unknown class {name!r}")
    return cls


def _members_of(obj: Any) -> dict[str, np.ndarray]:
    cls = type(obj)
    if not _is_saveable(cls):
        raise TypeError(
            f"pyvl.io cannot save a {cls.__module__}.{cls.__qualname__}: it saves pyvl's models "
            "(GaussianMixture, KMeans, the encoders and transformers)"
        )
    arrays: dict[str, np.ndarray] = {}
    params = encode_params(obj._pyvl_params(), arrays)
    learned = obj._pyvl_arrays()
    members: dict[str, np.ndarray] = {
        "__format__": np.asarray(FORMAT),
        "__version__": np.asarray(VERSION, dtype=np.int64),
        "__class__": np.asarray(cls._pyvl_name),
        "__params__": np.asarray(params),
        "__fitted__": np.asarray(learned is not None),
        "__pyvl_version__": np.asarray(_version()),
    }
    members.update(arrays)
    for key, value in (learned or {}).items():
        members[key] = np.array(value, order="C")
    return members


def _decode(members: Mapping[str, np.ndarray], expected: type | None) -> Any:
    m = Members(members)
    fmt = m.string("__format__")
    if fmt != FORMAT:
        raise ModelFileError(f"not a pyvl model file (format {fmt[:100]!r}, expected {FORMAT!r})")
    version = m.integer("__version__")
    if version != VERSION:
        raise ModelFileError(
            f"pyvl model file version {version}; this pyvl reads version {VERSION} only"
        )
    m.string("__pyvl_version__")
    cls = model_class(m.string("__class__"))
    params = decode_params(m.string("__params__"), m)
    if expected is not None and not issubclass(cls, expected):
        wanted = getattr(expected, "_pyvl_name", f"{expected.__module__}.{expected.__qualname__}")
        raise ModelFileError(f"the file holds a {cls._pyvl_name}, not a {wanted}")
    fitted = m.boolean("__fitted__")
    obj = cls._pyvl_build(params, m if fitted else None)
    m.check_all_used()
    return obj


def save(obj: Any, path: PathLike | BinaryIO) -> None:
    """Write ``obj`` to a portable ``.npz`` model file.

    ``obj``: a :class:`pyvl.GaussianMixture`, :class:`pyvl.KMeans`, an encoder of
    :mod:`pyvl.encoders` or a transformer of :mod:`pyvl.transformers`, fitted or
    not. ``path``: a file name (written atomically through a temporary file in
    the same directory; a symlink is written through; no ``.npz`` suffix is
    added) or a binary file object.

    Raises ``TypeError`` for other objects and for parameters with no portable
    form (use pickle for those), and ``ValueError`` (:class:`ModelFileError`) if
    the model does not pass the checks :func:`load` applies (for example priors
    that do not sum to 1), so that every file written loads.
    """
    members = _members_of(obj)
    try:
        _decode(members, None)  # the loader's checks: never write what cannot be read
    except ModelFileError as exc:
        raise ModelFileError(f"this {type(obj).__name__} cannot be saved: {exc}") from exc
    write_members(path, members)


def load(path: PathLike | BinaryIO, expected: type | None = None) -> Any:
    """Read a model written by :func:`save`, as an object of its class.

    ``path``: a file name or a binary file object. ``expected``: if given, the
    file must hold an instance of this class (or a subclass), e.g.
    ``load(p, pyvl.GaussianMixture)``. No pickle is ever loaded.

    Raises :class:`ModelFileError` (a ``ValueError``) for anything wrong in the
    file, including a path that is not a regular file; ``OSError`` if it cannot
    be opened; ``ImportError`` if the class needs a missing dependency (the
    estimators and transformers need scikit-learn).
    """
    members = read_members(path)
    try:
        return _decode(members, expected)
    except (ModelFileError, ImportError):
        raise
    except Exception as exc:  # a file must never crash the loader
        raise ModelFileError(f"invalid pyvl model file: {type(exc).__name__}: {exc}") from exc


def describe(path: PathLike | BinaryIO) -> dict[str, Any]:
    """What a model file holds, without building the object: ``format``, ``version``,
    ``class``, ``params`` (the raw JSON object), ``fitted``, ``pyvl_version`` and
    ``arrays`` (member name -> (shape, dtype string)). Raises :class:`ModelFileError`
    if the archive or a member is damaged."""
    members = read_members(path)
    m = Members(members)
    try:
        params = json.loads(m.string("__params__"))
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"__params__ is not valid JSON: {str(exc)[:200]}") from None
    return {
        "format": m.string("__format__"),
        "version": m.integer("__version__"),
        "class": m.string("__class__"),
        "params": params,
        "fitted": m.boolean("__fitted__"),
        "pyvl_version": m.string("__pyvl_version__"),
        "arrays": {
            k: (tuple(v.shape), str(v.dtype)) for k, v in members.items() if k not in _META
        },
    }


def handle_from_state(state: Mapping[str, Any]) -> Any:
    """A :class:`~pyvl.gmm.VlGMM` / :class:`~pyvl.kmeans.VlKMeans` from its state
    (kept for pickles written by pyvl 0.1, which name this function)."""
    return _from_state(state)


# ---- checks the classes' _pyvl_build share ----------------------------------------------


def new(cls: type, params: Mapping[str, Any]) -> Any:
    """``cls(**params)``; invalid parameters are a :class:`ModelFileError`."""
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"invalid parameters for {cls.__name__}: {exc}") from exc


def check_gmm(means: np.ndarray, covariances: np.ndarray, priors: np.ndarray, what: str) -> None:
    """A stored diagonal GMM: one dtype, (K, D), (K, D), (K,), covariances > 0, priors
    >= 0 summing to 1."""
    if not (means.dtype == covariances.dtype == priors.dtype):
        raise ModelFileError(
            f"{what}: means, covariances and priors have different dtypes "
            f"({means.dtype}, {covariances.dtype}, {priors.dtype})"
        )
    try:
        _check_gmm(means, covariances, priors, dtype=means.dtype, normalized=True, what=what)
    except ValueError as exc:
        raise ModelFileError(str(exc)) from None


def check_centers(centers: np.ndarray, what: str) -> None:
    if centers.ndim != 2 or centers.shape[0] == 0 or centers.shape[1] == 0:
        raise ModelFileError(f"{what}: centers must be (K, D) with K, D >= 1, got {centers.shape}")
