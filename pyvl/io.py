"""Saving and loading pyvl models: a portable ``.npz`` format, and pickling of handles.

Portable files
--------------
:func:`save` writes :class:`pyvl.GaussianMixture`, :class:`pyvl.KMeans`, any
encoder of :mod:`pyvl.encoders` (built-in or registered plugin) and the
scikit-learn transformers of :mod:`pyvl.transformers` to a NumPy ``.npz``
archive (``np.savez``: a zip of ``.npy`` members, no pickle inside);
:func:`load` reads one back as the right class. Every class also has
``obj.save(path)`` and ``Class.load(path)``.

Members of a file (each a ``.npy`` array):

* ``__format__`` ``"pyvl-model"`` and ``__version__`` (int, :data:`VERSION`);
* ``__class__``: the public class name (``"pyvl.GaussianMixture"``,
  ``"pyvl.encoders.FisherEncoder"``, ``"pyvl.transformers.VladEncoder"``, ...);
* ``__params__``: the constructor parameters as a JSON string (an encoder's
  :meth:`~pyvl.encoders.Encoder.get_config`, an estimator's ``get_params``);
  parameters that are arrays, dtypes or ``RandomState`` objects are JSON
  references to ``param.<name>`` members;
* ``__fitted__`` (bool) and ``__pyvl_version__`` (informational);
* the learned arrays, by attribute name (``means_``, ``weights_``, ... or
  ``state.<key>`` for an encoder's :meth:`~pyvl.encoders.Encoder.get_state`).

:func:`load` opens the archive with ``allow_pickle=False`` semantics and
validates everything it reads before building the object: the zip
structure (stored members only, no duplicates, sizes and CRCs), each
``.npy`` header (no object or structured dtypes, the data length the header
announces), the format name and version, the class (only pyvl's classes, or
an encoder registered under the name in the config), the parameters (the
class's constructor checks them), and the learned arrays (exact key set,
dtypes, shapes, finite values, covariances > 0, priors >= 0 summing to 1,
labels in range). Any failure raises :class:`ModelFileError` (a
``ValueError``), never another exception, never code execution. :func:`save`
runs the same validation before writing, so a file it writes always loads.

Pickling
--------
Estimators, encoders and transformers pickle as usual (they hold NumPy
arrays). The C handles of :mod:`pyvl.gmm` (:class:`~pyvl.gmm.VlGMM`) and
:mod:`pyvl.kmeans` (:class:`~pyvl.kmeans.VlKMeans`) pickle (and ``copy``)
through :func:`handle_state` / :func:`handle_from_state`: the state is read
with the public getters and restored with the setters into a new C object.
What no setter can restore is documented in ``docs/persistence.md``.
"""

from __future__ import annotations

import io as _stdio
import json
import math
import numbers
import os
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Union

import numpy as np

from ._errors import PyvlError

__all__ = [
    "FORMAT",
    "VERSION",
    "ModelFileError",
    "describe",
    "handle_from_state",
    "handle_state",
    "load",
    "save",
]

#: Value of the ``__format__`` member.
FORMAT = "pyvl-model"
#: Version of the format this pyvl writes (and the only one it reads).
VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]

_META = ("__format__", "__version__", "__class__", "__params__", "__fitted__", "__pyvl_version__")
_MAX_MEMBERS = 4096
_MAX_HEADER = 10_000
_MAX_STRING = 1 << 24  # characters of a string member (the JSON parameters)


class ModelFileError(PyvlError, ValueError):
    """A model file is not a valid pyvl model file: truncated, tampered with,
    of another format or version, for another class, or holding invalid values."""


# =====================================================================================
# Reading and writing the archive
# =====================================================================================


def _read_npy(name: str, data: bytes) -> np.ndarray:
    """One ``.npy`` member, checked: no pickles, no object or structured dtypes, the
    exact data length its header announces. Returns a new, writable, native-order
    C-contiguous array."""
    fp = _stdio.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                fp, max_header_size=_MAX_HEADER
            )
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                fp, max_header_size=_MAX_HEADER
            )
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
    offset = fp.tell()
    nbytes = math.prod(shape) * dtype.itemsize
    if len(data) - offset != nbytes:
        raise ModelFileError(
            f"member {name!r}: the header announces {nbytes} bytes of data, the member "
            f"holds {len(data) - offset} (truncated or tampered file)"
        )
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    arr = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return np.array(arr, dtype=dtype.newbyteorder("="), order="C")  # a copy, 0-d kept


def _read_members(source: PathLike | BinaryIO) -> dict[str, np.ndarray]:
    """All members of a pyvl archive, each checked by :func:`_read_npy`."""
    if hasattr(source, "read"):
        raw = source.read()  # type: ignore[union-attr]
    else:
        with open(os.fspath(source), "rb") as f:  # type: ignore[arg-type]
            raw = f.read()
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError("the file object must be opened in binary mode")
    try:
        with zipfile.ZipFile(_stdio.BytesIO(raw)) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if len(infos) > _MAX_MEMBERS:
                raise ModelFileError(f"the archive has {len(infos)} members")
            if len(set(names)) != len(names):
                raise ModelFileError("the archive has duplicate member names")
            if sum(i.file_size for i in infos) > len(raw):
                raise ModelFileError("the members are larger than the file (tampered sizes)")
            members: dict[str, np.ndarray] = {}
            for info in infos:
                if not info.filename.endswith(".npy") or info.is_dir():
                    raise ModelFileError(f"unexpected archive member {info.filename!r}")
                if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                    raise ModelFileError(
                        f"member {info.filename!r} is compressed or has inconsistent sizes "
                        "(pyvl writes stored members with np.savez)"
                    )
                key = info.filename[: -len(".npy")]
                members[key] = _read_npy(key, zf.read(info))  # zipfile checks the CRC
    except ModelFileError:
        raise
    except Exception as exc:  # zipfile/struct/zlib errors of a damaged file
        raise ModelFileError(
            f"not a readable pyvl model file: {type(exc).__name__}: {exc}"
        ) from exc
    return members


def _write(path_or_file: PathLike | BinaryIO, members: Mapping[str, np.ndarray]) -> None:
    if hasattr(path_or_file, "write"):
        np.savez(path_or_file, **members)  # type: ignore[arg-type]
        return
    path = os.fspath(path_or_file)  # type: ignore[arg-type]
    # a temporary file next to the target (open() applies the umask, as for the target),
    # renamed over it once complete: a crash never leaves a half-written model
    tmp = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(tmp, "xb") as f:
            np.savez(f, **members)  # a file object: np.savez adds no ".npz" suffix
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# =====================================================================================
# Reading members: typed accessors that raise ModelFileError
# =====================================================================================


class _Members:
    """The members of a file, consumed by name; unused members are an error."""

    def __init__(self, members: Mapping[str, np.ndarray]) -> None:
        self._m = dict(members)
        self._used: set[str] = set()

    def has(self, key: str) -> bool:
        return key in self._m

    def get(self, key: str) -> np.ndarray:
        if key not in self._m:
            raise ModelFileError(f"the file has no {key!r} member (truncated or tampered file)")
        self._used.add(key)
        return self._m[key]

    def string(self, key: str) -> str:
        a = self.get(key)
        if a.dtype.kind != "U" or a.ndim != 0 or a.dtype.itemsize > 4 * _MAX_STRING:
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

    def floats(
        self, key: str, ndim: int, dtype: np.dtype | None = None, *, finite: bool = True
    ) -> np.ndarray:
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


def _check_gmm(means: np.ndarray, covariances: np.ndarray, priors: np.ndarray, what: str) -> None:
    """A diagonal GMM: (K, D), (K, D), (K,), one dtype, covariances > 0, priors >= 0
    summing to 1."""
    if not (means.dtype == covariances.dtype == priors.dtype):
        raise ModelFileError(
            f"{what}: means, covariances and priors have different dtypes "
            f"({means.dtype}, {covariances.dtype}, {priors.dtype})"
        )
    k, d = means.shape
    if k == 0 or d == 0 or covariances.shape != (k, d) or priors.shape != (k,):
        raise ModelFileError(
            f"{what}: means and covariances must be (K, D) and priors (K,) with K, D >= 1; "
            f"got {means.shape}, {covariances.shape}, {priors.shape}"
        )
    if np.any(covariances <= 0):
        raise ModelFileError(f"{what}: covariances must be > 0")
    if np.any(priors < 0):
        raise ModelFileError(f"{what}: priors must be >= 0")
    total = float(np.sum(priors, dtype=np.float64))
    tolerance = max(1e-6, 16 * k * float(np.finfo(priors.dtype).eps))
    if abs(total - 1.0) > tolerance:
        raise ModelFileError(f"{what}: priors sum to {total!r}, not 1")


def _check_centers(centers: np.ndarray, what: str) -> None:
    if centers.shape[0] == 0 or centers.shape[1] == 0:
        raise ModelFileError(f"{what}: centers must be (K, D) with K, D >= 1, got {centers.shape}")


# =====================================================================================
# Parameters as JSON
# =====================================================================================


def _encode_params(params: Mapping[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """Parameters as a JSON object; arrays, dtypes and RandomState objects become
    references to ``param.<name>`` members added to ``arrays``."""

    def enc(value: Any, name: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"parameter {name}: a {value.dtype} array cannot be saved")
            key = f"param.{name}"
            if key in arrays:
                raise TypeError(f"parameter {name}: only one array per parameter can be saved")
            arrays[key] = np.array(value, order="C")
            return {"__ndarray__": key}
        if isinstance(value, np.random.RandomState):
            _, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            key = f"param.{name}"
            arrays[key] = np.asarray(keys, dtype=np.uint32)
            return {
                "__random_state__": key,
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            }
        is_type = isinstance(value, type) and issubclass(value, np.generic)
        if isinstance(value, np.dtype) or is_type:
            return {"__dtype__": np.dtype(value).name, "as_type": is_type}
        if isinstance(value, (list, tuple)):
            return [enc(v, name) for v in value]
        raise TypeError(
            f"parameter {name}={value!r} cannot be written to a portable file "
            "(use pickle for such objects)"
        )

    return json.dumps({str(k): enc(v, str(k)) for k, v in params.items()}, allow_nan=True)


def _decode_params(text: str, members: _Members) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"__params__ is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ModelFileError("__params__ must be a JSON object")

    def dec(value: Any, name: str) -> Any:
        if isinstance(value, list):
            return [dec(v, name) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"__ndarray__"}:
            key = value["__ndarray__"]
            if key != f"param.{name}":
                raise ModelFileError(f"parameter {name}: bad array reference {key!r}")
            a = members.get(key)
            if a.dtype.kind not in "biuf":
                raise ModelFileError(f"parameter {name}: a {a.dtype} array")
            return a
        if set(value) == {"__random_state__", "pos", "has_gauss", "cached_gaussian"}:
            key = value["__random_state__"]
            if key != f"param.{name}":
                raise ModelFileError(f"parameter {name}: bad RandomState reference {key!r}")
            keys = members.get(key)
            pos, has_gauss, cached = value["pos"], value["has_gauss"], value["cached_gaussian"]
            if (
                keys.dtype != np.uint32
                or keys.shape != (624,)
                or not isinstance(pos, int)
                or not 0 <= pos <= 624
                or has_gauss not in (0, 1)
                or not isinstance(cached, (int, float))
            ):
                raise ModelFileError(f"parameter {name}: invalid RandomState")
            rs = np.random.RandomState()
            rs.set_state(("MT19937", keys, pos, has_gauss, float(cached)))
            return rs
        if set(value) == {"__dtype__", "as_type"}:
            if value["__dtype__"] not in ("float32", "float64"):
                raise ModelFileError(f"parameter {name}: unsupported dtype {value['__dtype__']!r}")
            dt = np.dtype(value["__dtype__"])
            return dt.type if value["as_type"] else dt
        raise ModelFileError(f"parameter {name}: unexpected JSON object {sorted(value)}")

    return {k: dec(v, k) for k, v in raw.items()}


# =====================================================================================
# The classes a file can hold
# =====================================================================================


@dataclass(frozen=True)
class _Kind:
    """How one class is written and rebuilt."""

    name: str  # the __class__ member
    get_class: Callable[[], type]
    params: Callable[[Any], dict[str, Any]]
    arrays: Callable[[Any], dict[str, np.ndarray]]  # the learned arrays (fitted objects)
    is_fitted: Callable[[Any], bool]
    build: Callable[[dict[str, Any], _Members | None], Any]


def _new(cls: type, params: dict[str, Any]) -> Any:
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"invalid parameters for {cls.__name__}: {exc}") from exc


def _sk_params(obj: Any) -> dict[str, Any]:
    return obj.get_params(deep=False)


def _feature_names(obj: Any, out: dict[str, np.ndarray]) -> None:
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        out["feature_names_in_"] = np.asarray([str(n) for n in names], dtype=str)


def _restore_common(obj: Any, m: _Members, d: int) -> None:
    """n_features_in_ (= D) and the optional feature_names_in_ of a scikit-learn estimator."""
    n = m.integer("n_features_in_", 1)
    if n != d:
        raise ModelFileError(f"n_features_in_ is {n}, the model has dimension {d}")
    obj.n_features_in_ = n
    if m.has("feature_names_in_"):
        names = m.get("feature_names_in_")
        if names.dtype.kind != "U" or names.shape != (d,):
            raise ModelFileError(f"feature_names_in_ must be {d} strings")
        obj.feature_names_in_ = np.asarray(names.tolist(), dtype=object)


# ---- pyvl.GaussianMixture ------------------------------------------------------------


def _gm_arrays(g: Any) -> dict[str, np.ndarray]:
    out = {
        "weights_": g.weights_,
        "means_": g.means_,
        "covariances_": g.covariances_,
        "converged_": np.asarray(bool(g.converged_)),
        "n_iter_": np.asarray(int(g.n_iter_), dtype=np.int64),
        "lower_bound_": np.asarray(float(g.lower_bound_), dtype=np.float64),
        "lower_bounds_": np.asarray(g.lower_bounds_, dtype=np.float64).reshape(-1),
        "n_features_in_": np.asarray(int(g.n_features_in_), dtype=np.int64),
    }
    _feature_names(g, out)
    return out


def _check_model_dtype(dtype_param: Any, actual: np.dtype, what: str) -> None:
    if dtype_param is not None:
        try:
            wanted = np.dtype(dtype_param)
        except TypeError as exc:
            raise ModelFileError(f"{what}: invalid dtype parameter {dtype_param!r}") from exc
        if wanted != actual:
            raise ModelFileError(f"{what}: dtype parameter is {wanted}, the arrays are {actual}")


def _gm_build(params: dict[str, Any], m: _Members | None) -> Any:
    from .estimators import GaussianMixture

    g = _new(GaussianMixture, params)
    if m is None:
        return g
    w = m.floats("weights_", 1)
    mu = m.floats("means_", 2)
    c = m.floats("covariances_", 2)
    _check_gmm(mu, c, w, "GaussianMixture")
    k, d = mu.shape
    if isinstance(g.n_components, bool) or g.n_components != k:
        raise ModelFileError(f"n_components is {g.n_components!r}, the model has {k} components")
    _check_model_dtype(g.dtype, mu.dtype, "GaussianMixture")
    g.weights_, g.means_, g.covariances_ = w, mu, c
    g.precisions_ = 1.0 / c  # as fit computes them
    g.precisions_cholesky_ = 1.0 / np.sqrt(c)
    g.converged_ = m.boolean("converged_")
    g.n_iter_ = m.integer("n_iter_")
    g.lower_bound_ = m.real("lower_bound_")
    g.lower_bounds_ = [float(v) for v in m.floats("lower_bounds_", 1, np.dtype(np.float64))]
    _restore_common(g, m, d)
    return g


# ---- pyvl.KMeans -----------------------------------------------------------------------


def _km_arrays(km: Any) -> dict[str, np.ndarray]:
    out = {
        "cluster_centers_": km.cluster_centers_,
        "labels_": np.asarray(km.labels_, dtype=np.int64),
        "inertia_": np.asarray(float(km.inertia_), dtype=np.float64),
        "n_iter_": np.asarray(int(km.n_iter_), dtype=np.int64),
        "n_features_in_": np.asarray(int(km.n_features_in_), dtype=np.int64),
    }
    _feature_names(km, out)
    return out


def _km_build(params: dict[str, Any], m: _Members | None) -> Any:
    from .estimators import KMeans

    km = _new(KMeans, params)
    if m is None:
        return km
    centers = m.floats("cluster_centers_", 2)
    _check_centers(centers, "KMeans")
    k, d = centers.shape
    if isinstance(km.n_clusters, bool) or km.n_clusters != k:
        raise ModelFileError(f"n_clusters is {km.n_clusters!r}, the model has {k} centers")
    _check_model_dtype(km.dtype, centers.dtype, "KMeans")
    labels = m.get("labels_")
    if labels.dtype != np.int64 or labels.ndim != 1 or np.any(labels < 0) or np.any(labels >= k):
        raise ModelFileError(f"labels_ must be a 1-D int64 array of values in [0, {k})")
    km.cluster_centers_ = centers
    km.labels_ = labels
    km.inertia_ = m.real("inertia_", minimum=0.0)
    km.n_iter_ = m.integer("n_iter_")
    _restore_common(km, m, d)
    return km


# ---- pyvl.encoders -----------------------------------------------------------------------


def _encoder_kind_name(cls: type) -> str:
    return f"pyvl.encoders.{cls.__name__}"


def _restore_encoder_state(enc: Any, m: _Members, prefix: str) -> None:
    """Read ``<prefix><key>`` members into ``enc.set_state`` (built-ins: strict GMM /
    centers checks and the encoder's dtype)."""
    from .encoders import BovwEncoder, FisherEncoder, VladEncoder

    what = type(enc).__name__
    keys = sorted(k[len(prefix):] for k in m.unused() if k.startswith(prefix))
    state = {key: m.get(prefix + key) for key in keys}
    builtin = type(enc) in (FisherEncoder, VladEncoder, BovwEncoder)
    if builtin:
        gmm = isinstance(enc, FisherEncoder) or getattr(enc, "codebook", "") == "gmm"
        expected = ["covariances", "means", "priors"] if gmm else ["centers"]
        if keys != expected:
            raise ModelFileError(f"{what}: the learned arrays must be {expected}, got {keys}")
        for key in keys:
            m.floats(prefix + key, 1 if key == "priors" else 2, enc.np_dtype)
        if gmm:
            _check_gmm(state["means"], state["covariances"], state["priors"], what)
        else:
            _check_centers(state["centers"], what)
    else:
        for key, a in state.items():
            if a.dtype.kind not in "biuf":
                raise ModelFileError(f"{what}: state array {key!r} is {a.dtype}")
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise ModelFileError(f"{what}: state array {key!r} contains NaN or Inf")
    try:
        enc.set_state(state)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{what}: invalid learned arrays: {exc}") from exc
    if not enc.is_fitted:
        raise ModelFileError(f"{what}: the learned arrays do not make a fitted encoder")


def _encoder_kind(class_name: str, config_name: Any) -> _Kind:
    from .encoders import get_class
    from .encoders._registry import UnknownEncoderError

    if not isinstance(config_name, str):
        raise ModelFileError("an encoder file needs the registry 'name' in its parameters")
    try:
        cls = get_class(config_name)
    except UnknownEncoderError as exc:
        raise ModelFileError(f"the file holds an unknown encoder: {exc}") from exc
    if _encoder_kind_name(cls) != class_name:
        raise ModelFileError(
            f"the file's class {class_name!r} is not the encoder registered as "
            f"{config_name!r} ({_encoder_kind_name(cls)})"
        )

    def build(params: dict[str, Any], m: _Members | None) -> Any:
        try:
            enc = cls.from_config(params)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"invalid parameters for {cls.__name__}: {exc}") from exc
        if m is not None:
            _restore_encoder_state(enc, m, "state.")
        return enc

    return _Kind(
        name=class_name,
        get_class=lambda: cls,
        params=lambda e: e.get_config(),
        arrays=lambda e: {f"state.{k}": v for k, v in e.get_state().items()},
        is_fitted=lambda e: bool(e.is_fitted),
        build=build,
    )


# ---- pyvl.transformers -----------------------------------------------------------------------


def _transformer_kind(name: str) -> _Kind:
    def get_class() -> type:
        from . import transformers

        return getattr(transformers, name)

    def arrays(t: Any) -> dict[str, np.ndarray]:
        return {f"state.{k}": v for k, v in t.encoder_.get_state().items()}

    def build(params: dict[str, Any], m: _Members | None) -> Any:
        t = _new(get_class(), params)
        if m is None:
            return t
        try:
            enc = t._make_encoder()
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"invalid parameters for {name}: {exc}") from exc
        _restore_encoder_state(enc, m, "state.")
        t._set_fitted(enc)
        return t

    return _Kind(
        name=f"pyvl.transformers.{name}",
        get_class=get_class,
        params=_sk_params,
        arrays=arrays,
        is_fitted=lambda t: hasattr(t, "encoder_"),
        build=build,
    )


def _estimator_kind(name: str, arrays: Callable, build: Callable, learned: str) -> _Kind:
    def get_class() -> type:
        from . import estimators

        return getattr(estimators, name)

    def is_fitted(obj: Any) -> bool:
        return hasattr(obj, learned)

    return _Kind(f"pyvl.{name}", get_class, _sk_params, arrays, is_fitted, build)


_FIXED_KINDS: dict[str, _Kind] = {
    k.name: k
    for k in (
        _estimator_kind("GaussianMixture", _gm_arrays, _gm_build, "means_"),
        _estimator_kind("KMeans", _km_arrays, _km_build, "cluster_centers_"),
        _transformer_kind("FisherVectorEncoder"),
        _transformer_kind("VladEncoder"),
        _transformer_kind("BovwEncoder"),
    )
}


def _fixed_kind_of_class(cls: type) -> _Kind | None:
    """The kind of an estimator or transformer class (exactly that class), or None."""
    for kind in _FIXED_KINDS.values():
        transformer = kind.name.startswith("pyvl.transformers.")
        module = "pyvl.transformers" if transformer else "pyvl.estimators"
        if cls.__module__ == module and kind.name.rsplit(".", 1)[1] == cls.__name__:
            return kind
    return None


def _kind_of(obj: Any) -> _Kind:
    """The kind that writes ``obj`` (exact classes only: a subclass would be loaded as
    its base class)."""
    from .encoders import Encoder, get_class

    if isinstance(obj, Encoder):
        try:
            registered = get_class(obj.name)
        except ValueError:
            registered = None
        if registered is not type(obj):
            raise TypeError(
                f"{type(obj).__name__} is not the encoder registered as {obj.name!r}; "
                "register it (pyvl.encoders.register) to save it"
            )
        return _encoder_kind(_encoder_kind_name(type(obj)), obj.name)
    cls = type(obj)
    kind = _fixed_kind_of_class(cls)
    if kind is not None:
        return kind
    raise TypeError(
        f"pyvl.io cannot save a {cls.__module__}.{cls.__qualname__}: it saves "
        "pyvl.GaussianMixture, pyvl.KMeans, pyvl.encoders encoders and pyvl.transformers"
    )


def _kind_by_name(class_name: str, params: Mapping[str, Any]) -> _Kind:
    if class_name in _FIXED_KINDS:
        return _FIXED_KINDS[class_name]
    if class_name.startswith("pyvl.encoders.") and class_name.count(".") == 2:
        return _encoder_kind(class_name, params.get("name"))
    raise ModelFileError(f"the file holds an unknown class {class_name!r}")


# =====================================================================================
# Public API
# =====================================================================================


def _public_name(cls: type) -> str:
    """The name a file would give ``cls`` (``pyvl.KMeans``, ``pyvl.encoders.VladEncoder``)."""
    from .encoders import Encoder

    if issubclass(cls, Encoder):
        return _encoder_kind_name(cls)
    kind = _fixed_kind_of_class(cls)
    return kind.name if kind is not None else f"{cls.__module__}.{cls.__qualname__}"


def _members_of(obj: Any) -> dict[str, np.ndarray]:
    from . import __version__

    kind = _kind_of(obj)
    arrays: dict[str, np.ndarray] = {}
    params = _encode_params(kind.params(obj), arrays)
    fitted = bool(kind.is_fitted(obj))
    members: dict[str, np.ndarray] = {
        "__format__": np.asarray(FORMAT),
        "__version__": np.asarray(VERSION, dtype=np.int64),
        "__class__": np.asarray(kind.name),
        "__params__": np.asarray(params),
        "__fitted__": np.asarray(fitted),
        "__pyvl_version__": np.asarray(str(__version__)),
    }
    members.update(arrays)
    if fitted:
        for key, value in kind.arrays(obj).items():
            members[key] = np.array(value, order="C")
    return members


def _decode(members: Mapping[str, np.ndarray], expected: type | None) -> Any:
    m = _Members(members)
    fmt = m.string("__format__")
    if fmt != FORMAT:
        raise ModelFileError(f"not a pyvl model file (format {fmt!r}, expected {FORMAT!r})")
    version = m.integer("__version__")
    if version != VERSION:
        raise ModelFileError(
            f"pyvl model file version {version}; this pyvl reads version {VERSION} only"
        )
    m.string("__pyvl_version__")
    class_name = m.string("__class__")
    params = _decode_params(m.string("__params__"), m)
    kind = _kind_by_name(class_name, params)
    if expected is not None:
        cls = kind.get_class()
        if not (isinstance(cls, type) and issubclass(cls, expected)):
            raise ModelFileError(f"the file holds a {class_name}, not a {_public_name(expected)}")
    fitted = m.boolean("__fitted__")
    obj = kind.build(params, m if fitted else None)
    extra = m.unused()
    if extra:
        raise ModelFileError(f"unexpected members in the file: {extra}")
    return obj


def save(obj: Any, path: PathLike | BinaryIO) -> None:
    """Write ``obj`` to a portable ``.npz`` model file.

    ``obj``: a :class:`pyvl.GaussianMixture`, :class:`pyvl.KMeans`, an encoder of
    :mod:`pyvl.encoders` (built-in, or a plugin registered under its ``name``) or a
    transformer of :mod:`pyvl.transformers`, fitted or not. ``path``: a file name
    (written atomically through a temporary file in the same directory, and used
    as given: no ``.npz`` suffix is added) or a binary file object.

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
    _write(path, members)


def load(path: PathLike | BinaryIO, expected: type | None = None) -> Any:
    """Read a model written by :func:`save`, as an object of its class.

    ``path``: a file name or a binary file object. ``expected``: if given, the
    file must hold an instance of this class (or a subclass), e.g.
    ``load(p, pyvl.GaussianMixture)``. No pickle is ever loaded.

    Raises :class:`ModelFileError` (a ``ValueError``) for anything wrong in the
    file; ``OSError`` if it cannot be opened.
    """
    members = _read_members(path)
    try:
        return _decode(members, expected)
    except (ModelFileError, ImportError):  # ImportError: scikit-learn is not installed
        raise
    except Exception as exc:  # a file must never crash the loader
        raise ModelFileError(
            f"invalid pyvl model file: {type(exc).__name__}: {exc}"
        ) from exc


def describe(path: PathLike | BinaryIO) -> dict[str, Any]:
    """What a model file holds, without building the object: ``format``, ``version``,
    ``class``, ``params`` (the raw JSON object), ``fitted``, ``pyvl_version`` and
    ``arrays`` (member name -> (shape, dtype string)). Raises :class:`ModelFileError`
    if the archive or a member is damaged."""
    members = _read_members(path)
    m = _Members(members)
    try:
        params = json.loads(m.string("__params__"))
    except ValueError as exc:
        raise ModelFileError(f"__params__ is not valid JSON: {exc}") from exc
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


# =====================================================================================
# Pickling the C handles of pyvl.gmm and pyvl.kmeans
# =====================================================================================


def _last_value(current: float, handle: Any, attribute: str) -> float:
    """The C object's log-likelihood/energy, or, while it reads 0 on a restored handle
    that has not run since, the value it was pickled with (so it survives re-pickling)."""
    if current == 0.0:
        return float(getattr(handle, attribute, 0.0))
    return current


def handle_state(handle: Any) -> dict[str, Any]:
    """The state of a :class:`~pyvl.gmm.VlGMM` or :class:`~pyvl.kmeans.VlKMeans`,
    read through the public getters (a dict of plain values and NumPy copies).

    VlGMM: ``data_type``, ``dimension``, ``num_clusters``, ``means``,
    ``covariances`` (K*D,), ``priors`` (K,), ``covariance_lower_bounds`` (D,)
    float64, ``num_repetitions``, ``max_num_iterations``, ``verbosity``,
    ``initialization``, ``store_posteriors``, ``convergence_threshold``,
    ``kmeans_init`` (the :class:`VlKMeans` set with
    ``vl_gmm_set_kmeans_init_object``, or None) and ``loglikelihood``.
    VlKMeans: ``data_type``, ``distance``, ``algorithm``, ``initialization``,
    ``num_repetitions``, ``verbosity``, ``max_num_iterations``,
    ``min_energy_variation``, ``max_num_comparisons``, ``num_trees``,
    ``centers`` ((K*D,) or None), ``dimension``, ``num_centers`` and ``energy``.
    ``loglikelihood`` / ``energy`` are those of the last run, or, for a restored
    handle that has not run since, those it was pickled with.
    """
    from . import gmm as G
    from . import kmeans as KM
    from ._lib import lib

    if isinstance(handle, G.VlGMM):
        g = G._gmm(handle)
        return {
            "kind": "VlGMM",
            "data_type": G.vl_gmm_get_data_type(g),
            "dimension": G.vl_gmm_get_dimension(g),
            "num_clusters": G.vl_gmm_get_num_clusters(g),
            "means": G.vl_gmm_get_means(g),
            "covariances": G.vl_gmm_get_covariances(g),
            "priors": G.vl_gmm_get_priors(g),
            "covariance_lower_bounds": G.vl_gmm_get_covariance_lower_bounds(g),
            "num_repetitions": G.vl_gmm_get_num_repetitions(g),
            "max_num_iterations": G.vl_gmm_get_max_num_iterations(g),
            "verbosity": G.vl_gmm_get_verbosity(g),
            "initialization": G.vl_gmm_get_initialization(g),
            "store_posteriors": int(lib.vl_gmm_get_store_posteriors(g)),
            "convergence_threshold": float(lib.vl_gmm_get_convergence_threshold(g)),
            "kmeans_init": G.vl_gmm_get_kmeans_init_object(g),
            "loglikelihood": _last_value(
                G.vl_gmm_get_loglikelihood(g), g, "pickled_loglikelihood"
            ),
        }
    if isinstance(handle, KM.VlKMeans):
        k = KM._km(handle)
        return {
            "kind": "VlKMeans",
            "data_type": KM.vl_kmeans_get_data_type(k),
            "distance": KM.vl_kmeans_get_distance(k),
            "algorithm": KM.vl_kmeans_get_algorithm(k),
            "initialization": KM.vl_kmeans_get_initialization(k),
            "num_repetitions": KM.vl_kmeans_get_num_repetitions(k),
            "verbosity": KM.vl_kmeans_get_verbosity(k),
            "max_num_iterations": KM.vl_kmeans_get_max_num_iterations(k),
            "min_energy_variation": KM.vl_kmeans_get_min_energy_variation(k),
            "max_num_comparisons": KM.vl_kmeans_get_max_num_comparisons(k),
            "num_trees": KM.vl_kmeans_get_num_trees(k),
            "centers": KM.vl_kmeans_get_centers(k),
            "dimension": KM.vl_kmeans_get_dimension(k),
            "num_centers": KM.vl_kmeans_get_num_centers(k),
            "energy": _last_value(KM.vl_kmeans_get_energy(k), k, "pickled_energy"),
        }
    raise TypeError(f"expected a VlGMM or a VlKMeans, got {type(handle).__name__}")


def handle_from_state(state: Mapping[str, Any]) -> Any:
    """A new handle with the state of :func:`handle_state`, set through the setters.

    The log-likelihood (VlGMM) and the energy (VlKMeans) have no setter: the new
    object's ``vl_gmm_get_loglikelihood`` / ``vl_kmeans_get_energy`` return 0 until
    its next training run; the saved values are kept in its
    ``pickled_loglikelihood`` / ``pickled_energy`` attribute. Posteriors and
    iteration callbacks are not restored.
    """
    from . import gmm as G
    from . import kmeans as KM
    from ._lib import lib

    kind = state.get("kind")
    if kind == "VlGMM":
        g = G.vl_gmm_new(state["data_type"], state["dimension"], state["num_clusters"])
        G.vl_gmm_set_means(g, state["means"])
        G.vl_gmm_set_covariances(g, state["covariances"])
        G.vl_gmm_set_priors(g, state["priors"])
        G.vl_gmm_set_covariance_lower_bounds(g, state["covariance_lower_bounds"])
        G.vl_gmm_set_num_repetitions(g, state["num_repetitions"])
        G.vl_gmm_set_max_num_iterations(g, state["max_num_iterations"])
        G.vl_gmm_set_verbosity(g, state["verbosity"])
        G.vl_gmm_set_initialization(g, state["initialization"])
        lib.vl_gmm_set_store_posteriors(g, int(state["store_posteriors"]))
        lib.vl_gmm_set_convergence_threshold(g, float(state["convergence_threshold"]))
        if state["kmeans_init"] is not None:
            G.vl_gmm_set_kmeans_init_object(g, state["kmeans_init"])
        g.pickled_loglikelihood = float(state["loglikelihood"])
        return g
    if kind == "VlKMeans":
        k = KM.vl_kmeans_new(state["data_type"], state["distance"])
        KM.vl_kmeans_set_algorithm(k, state["algorithm"])
        KM.vl_kmeans_set_initialization(k, state["initialization"])
        KM.vl_kmeans_set_num_repetitions(k, state["num_repetitions"])
        KM.vl_kmeans_set_verbosity(k, state["verbosity"])
        KM.vl_kmeans_set_max_num_iterations(k, state["max_num_iterations"])
        KM.vl_kmeans_set_min_energy_variation(k, state["min_energy_variation"])
        KM.vl_kmeans_set_max_num_comparisons(k, state["max_num_comparisons"])
        KM.vl_kmeans_set_num_trees(k, state["num_trees"])
        if state["centers"] is not None:
            KM.vl_kmeans_set_centers(k, state["centers"], state["dimension"], state["num_centers"])
        k.pickled_energy = float(state["energy"])
        return k
    raise ValueError(f"not a handle state (kind {kind!r})")
