"""The :class:`Encoder` interface every encoder implements.

An encoder turns a set of local descriptors (an (N, D) array, N varying from
image to image) into one fixed-length vector. Its life:

1. construct it with options (``FisherEncoder(n_components=64)``, or
   ``pyvl.encoders.get("fisher", n_components=64)``);
2. learn its model with :meth:`Encoder.fit`, or wrap a model trained
   elsewhere (:meth:`Encoder.from_gmm`, :meth:`Encoder.from_centers`), or
   restore one (:meth:`Encoder.set_state`);
3. :meth:`Encoder.encode` one image, or :meth:`Encoder.encode_batch` many
   (the built-ins make one C batch call for all images).

Options are the constructor's keyword arguments, stored under the same
names; :meth:`Encoder.get_config` returns them as a JSON-serialisable dict
with the registry ``name`` and :meth:`Encoder.from_config` rebuilds the
encoder (not its learned arrays: :meth:`Encoder.get_state` /
:meth:`Encoder.set_state` move those). ``repr(encoder)`` is a constructor
call with the options that differ from their defaults.

Options every encoder has:

* ``pyramid``: ``None`` or a list of levels ``(cols, rows)``, e.g.
  ``[(1, 1), (2, 2), (3, 1)]``. The encoding is then the concatenation of the
  encodings of every cell (level by level, cells row-major), each computed by
  the encoder as if the cell were an image; descriptors need their (x, y)
  positions and the image's (width, height). The cell rule is in
  ``pyvl/encoders/_pyramid.py`` and ``docs/encoders.md``.
* ``dtype``: ``"float32"`` (default) or ``"float64"``: the dtype of the
  learned model, of the computation and of the encodings.
* ``random_state``: ``None`` or a 32-bit seed for :meth:`Encoder.fit`.
* ``verbose``: 0 (silent) or 1 (a progress bar of the training iterations,
  if tqdm is installed, and log records on the ``pyvl`` logger).

Writing an encoder (a plugin, registered through the entry-point group
``pyvl.encoders``): subclass :class:`Encoder`, set ``name``, store the
constructor options as attributes of the same names, and implement
:meth:`Encoder._fit`, :meth:`Encoder._encode_sets`, :attr:`Encoder.cell_dim`,
:attr:`Encoder.dimension`, :meth:`Encoder.get_state` and
:meth:`Encoder.set_state`. Pyramids, batching, configs and repr come from the
base class.
"""

from __future__ import annotations

import abc
import inspect
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any, ClassVar, TypeVar

import numpy as np

from .. import io
from .._core.arrays import as_sets, c_array
from .._core.arrays import check_int as _check_int
from .._core.arrays import numeric as _numeric
from .._core.errors import StateError
from ._pyramid import Level, as_positions, as_sizes, normalize_pyramid, num_cells, pyramid_sets

E = TypeVar("E", bound="Encoder")

_DTYPES: dict[str, np.dtype] = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}


class Encoder(abc.ABC):
    """Base class of pyvl's encoders (see the module documentation)."""

    #: Registry id (``pyvl.encoders.get(name)``); also the ``"name"`` of the config.
    name: ClassVar[str] = ""
    #: The class's name in model files (``pyvl.io``): ``pyvl.encoders.<Class>``.
    _pyvl_name: ClassVar[str] = "pyvl.encoders.Encoder"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._pyvl_name = f"pyvl.encoders.{cls.__name__}"

    def __init__(
        self,
        *,
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: str = "float32",
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.pyramid: tuple[Level, ...] | None = normalize_pyramid(pyramid)
        self.verbose: int = _check_int(verbose, "verbose", 0, allow_bool=True)
        if str(dtype) not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype: str = str(np.dtype(dtype))
        if random_state is not None:
            if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
                raise TypeError(f"random_state must be None or an integer, got {random_state!r}")
            if not 0 <= int(random_state) <= 0xFFFFFFFF:
                raise ValueError(f"random_state must be a 32-bit unsigned seed, got {random_state}")
            random_state = int(random_state)
        self.random_state: int | None = random_state

    # ---- what a concrete encoder provides ------------------------------------------

    @abc.abstractmethod
    def _fit(self, data: np.ndarray) -> None:
        """Learn the model from all training descriptors, (N, D) of :attr:`np_dtype`."""

    @abc.abstractmethod
    def _encode_sets(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Encode concatenated descriptor sets.

        ``data`` (N_total, D) C-contiguous of :attr:`np_dtype`; ``offsets``
        (n_sets + 1,) uint64: set j is ``data[offsets[j]:offsets[j+1]]`` (it may
        be empty). Returns (n_sets, :attr:`cell_dim`) of :attr:`np_dtype`.
        """

    @property
    @abc.abstractmethod
    def cell_dim(self) -> int:
        """Length of the encoding of one set (one pyramid cell); needs a model."""

    @property
    @abc.abstractmethod
    def dimension(self) -> int | None:
        """Descriptor dimension D of the model, or None before it has one."""

    @abc.abstractmethod
    def get_state(self) -> dict[str, np.ndarray]:
        """The learned arrays (copies), by name; empty before fitting."""

    @abc.abstractmethod
    def set_state(self, state: Mapping[str, Any]) -> None:
        """Install learned arrays (as returned by :meth:`get_state`), validated."""

    # ---- training -------------------------------------------------------------------

    def fit(self: E, descriptors: Any) -> E:
        """Learn the model.

        ``descriptors``: one (N, D) array, or a list of per-image (N_j, D)
        arrays (concatenated). Any real dtype (converted to :attr:`dtype`).
        ``random_state`` makes the run repeatable. Returns ``self``.
        """
        self._fit(self._training_data(descriptors))
        return self

    def _training_data(self, descriptors: Any, name: str = "descriptors") -> np.ndarray:
        """All training descriptors as one C-contiguous (N, D) array of :attr:`np_dtype`
        (``name``: what the caller called them, for messages)."""
        if isinstance(descriptors, np.ndarray) or not isinstance(descriptors, (list, tuple)):
            arr = _numeric(descriptors, name)
            if arr.ndim != 2:
                raise ValueError(
                    f"{name} must be an (N, D) array or a list of them, got shape {arr.shape}"
                )
            return c_array(arr, dtype=self.np_dtype)
        if not descriptors:
            raise ValueError(f"{name} is an empty list")
        dims = {int(np.shape(d)[-1]) if np.ndim(d) == 2 else -1 for d in descriptors}
        if len(dims) != 1 or -1 in dims:
            raise ValueError(f"{name} must be (N_j, D) arrays with the same D")
        data, _ = as_sets(descriptors, dims.pop(), self.np_dtype, name)
        return data

    # ---- wrapping trained models -----------------------------------------------------

    @classmethod
    def from_gmm(cls: type[E], means: Any, covariances: Any, priors: Any, **options: Any) -> E:
        """An encoder on a trained GMM: means and covariances (K, D), priors (K,)."""
        raise TypeError(f"{cls.__name__} does not use a GMM (try from_centers)")

    @classmethod
    def from_centers(cls: type[E], centers: Any, **options: Any) -> E:
        """An encoder on trained k-means centers (K, D)."""
        raise TypeError(f"{cls.__name__} does not use k-means centers (try from_gmm)")

    # ---- encoding -----------------------------------------------------------------

    @property
    def np_dtype(self) -> np.dtype:
        """:attr:`dtype` as a numpy dtype."""
        return _DTYPES[self.dtype]

    @property
    def is_fitted(self) -> bool:
        """Whether the encoder has a model."""
        return self.dimension is not None

    @property
    def output_dim(self) -> int:
        """Length of an encoding: :attr:`cell_dim` times the number of pyramid cells."""
        self._check_fitted()
        return self.cell_dim * (1 if self.pyramid is None else num_cells(self.pyramid))

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise StateError(
                f"this {type(self).__name__} has no model yet: call fit(), set_state() or "
                "build it with from_gmm()/from_centers()"
            )

    def encode(
        self,
        descriptors: Any,
        positions: Any = None,
        image_size: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """Encoding of one image: (:attr:`output_dim`,) of :attr:`dtype`.

        ``descriptors`` (N, D), N >= 0 (no descriptors encode to zeros). With
        a pyramid, ``positions`` (N, 2) are the descriptors' (x, y) and
        ``image_size`` the image's (width, height); without one they are
        not used.
        """
        pos = None if positions is None else [positions]
        return self.encode_batch([descriptors], pos, image_size)[0]

    def encode_batch(
        self,
        descriptor_sets: Sequence[Any],
        positions: Sequence[Any] | None = None,
        image_sizes: Any = None,
        name: str = "descriptor_sets",
    ) -> np.ndarray:
        """Encodings of many images: (n_images, :attr:`output_dim`) of :attr:`dtype`.

        ``descriptor_sets``: a list of (N_j, D) arrays. With a pyramid,
        ``positions`` is a list of (N_j, 2) (x, y) arrays and ``image_sizes``
        an (n_images, 2) array of (width, height), or one pair for all.
        Row j equals ``encode(descriptor_sets[j], ...)``. Every (image, cell)
        is one entry of a single batch call.
        """
        self._check_fitted()
        dimension = self.dimension
        assert dimension is not None
        data, offsets = as_sets(descriptor_sets, dimension, self.np_dtype, name)
        n_images = offsets.size - 1
        if self.pyramid is None:
            return self._encode_sets(data, offsets)
        if positions is None or image_sizes is None:
            raise ValueError(
                "this encoder has a spatial pyramid: pass the descriptors' positions and the "
                "image size(s)"
            )
        pos = as_positions(positions, offsets)
        sizes = as_sizes(image_sizes, n_images)
        cell_data, cell_offsets = pyramid_sets(data, offsets, pos, sizes, self.pyramid)
        enc = self._encode_sets(cell_data, cell_offsets)
        return enc.reshape(n_images, num_cells(self.pyramid) * self.cell_dim)

    # ---- persistence (the pyvl.io model-file protocol) -------------------------------

    def save(self, path: Any) -> None:
        """Write the config and the learned arrays to a portable ``.npz`` file
        (:func:`pyvl.io.save`; see ``docs/persistence.md``)."""
        io.save(self, path)

    @classmethod
    def load(cls: type[E], path: Any) -> E:
        """Read an encoder written by :meth:`save` (:func:`pyvl.io.load`); the file must
        hold a ``cls`` (any encoder for ``Encoder.load``). Raises
        :class:`pyvl.io.ModelFileError` (a ``ValueError``) for an invalid file."""
        return io.load(path, cls)

    def _state_schema(self) -> dict[str, int] | None:
        """The learned arrays a fitted encoder has, name -> ndim, checked strictly
        when loading a file (GMMs and centers get the model checks); None (a plugin
        that does not say) checks only that they are finite numbers."""
        return None

    def _pyvl_params(self) -> dict[str, Any]:
        try:
            registered = get_class(self.name)
        except ValueError:
            registered = None
        if registered is not type(self):
            raise TypeError(
                f"{type(self).__name__} is not the encoder registered as {self.name!r}; "
                "register it (pyvl.encoders.register) to save it"
            )
        return self.get_config()

    def _pyvl_arrays(self) -> dict[str, np.ndarray] | None:
        if not self.is_fitted:
            return None
        return {f"state.{k}": v for k, v in self.get_state().items()}

    @classmethod
    def _pyvl_build(cls: type[E], params: dict[str, Any], m: io.Members | None) -> E:
        name = params.get("name")
        if not isinstance(name, str):
            raise io.ModelFileError("an encoder file needs the registry 'name' in its parameters")
        try:
            registered = get_class(name)
        except ValueError as exc:
            raise io.ModelFileError(f"the file holds an unknown encoder: {exc}") from exc
        if registered is not cls:
            raise io.ModelFileError(
                f"the file's class {cls._pyvl_name!r} is not the encoder registered as "
                f"{name!r} ({registered._pyvl_name})"
            )
        try:
            enc = cls.from_config(params)
        except (TypeError, ValueError) as exc:
            raise io.ModelFileError(f"invalid parameters for {cls.__name__}: {exc}") from exc
        if m is not None:
            enc._restore(m, "state.")
        return enc

    def _restore(self, m: io.Members, prefix: str) -> None:
        """Read the ``<prefix><key>`` members of a model file into :meth:`set_state`."""
        what = type(self).__name__
        keys = m.keys(prefix)
        state = {k[len(prefix):]: m.get(k) for k in keys}
        schema = self._state_schema()
        if schema is not None:
            if sorted(state) != sorted(schema):
                raise io.ModelFileError(
                    f"{what}: the learned arrays must be {sorted(schema)}, got {sorted(state)}"
                )
            for key, ndim in schema.items():
                m.floats(prefix + key, ndim, self.np_dtype)
            if "means" in state:
                io.check_gmm(state["means"], state["covariances"], state["priors"], what)
            else:
                io.check_centers(state["centers"], what)
        else:
            for key, a in state.items():
                if a.dtype.kind not in "biuf":
                    raise io.ModelFileError(f"{what}: state array {key!r} is {a.dtype}")
                if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                    raise io.ModelFileError(f"{what}: state array {key!r} contains NaN or Inf")
        try:
            self.set_state(state)
        except (TypeError, ValueError) as exc:
            raise io.ModelFileError(f"{what}: invalid learned arrays: {exc}") from exc
        if not self.is_fitted:
            raise io.ModelFileError(f"{what}: the learned arrays do not make a fitted encoder")

    # ---- configuration ------------------------------------------------------------

    @classmethod
    def _option_names(cls) -> list[str]:
        params = inspect.signature(cls.__init__).parameters.values()
        return [
            p.name
            for p in params
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_config(self) -> dict[str, Any]:
        """The options as a JSON-serialisable dict, with the registry ``name`` first."""
        config: dict[str, Any] = {"name": self.name}
        for key in self._option_names():
            config[key] = _jsonable(getattr(self, key), key)
        return config

    @classmethod
    def from_config(cls: type[E], config: Mapping[str, Any]) -> E:
        """A new (unfitted) encoder from :meth:`get_config`'s dict."""
        options = dict(config)
        name = options.pop("name", cls.name)
        if name != cls.name:
            raise ValueError(f"config is for encoder {name!r}, not {cls.name!r}")
        return cls(**options)

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        parts = []
        for key, value in self.get_config().items():
            if key == "name":
                continue
            default = defaults.get(key, inspect.Parameter.empty)
            if default is not inspect.Parameter.empty and _jsonable(default, key) == value:
                continue
            parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _jsonable(value: Any, key: str) -> Any:
    """An option value as plain JSON types (tuples become lists)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, key) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, key) for k, v in value.items()}
    try:
        json.dumps(value)
    except TypeError:
        raise TypeError(f"option {key}={value!r} is not JSON-serialisable") from None
    return value


# ---- option validation shared by the built-in encoders -----------------------------


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer option >= ``minimum`` (TypeError if not an integer, ValueError if
    smaller)."""
    return _check_int(value, name, minimum)


def check_bool(value: Any, name: str) -> bool:
    """A boolean option (True/False only)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """A string option among ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return str(value)


def check_positive(value: Any, name: str, allow_none: bool = True) -> float | None:
    """A finite float option > 0 (or None)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not (v > 0 and np.isfinite(v)):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


# ---- the registry of encoders ----------------------------------------------------
#
# The registry of encoders: name -> class, plus lazy entry points.
#
# Built-in encoders are registered when :mod:`pyvl.encoders` is imported.
# Other distributions add encoders through the entry-point group
# ``pyvl.encoders``; in their ``pyproject.toml``::
#
# [project.entry-points."pyvl.encoders"]
# mean-pool = "my_package:MeanPoolEncoder"
#
# An entry point is imported only when its name is first asked for
# (:func:`get`, :func:`from_config`); :func:`available` lists it without
# importing it. A registered name always wins over an entry point of the same
# name.
#

GROUP = "pyvl.encoders"

_log = logging.getLogger("pyvl.encoders")
_REGISTRY: dict[str, type[Encoder]] = {}


class UnknownEncoderError(ValueError):
    """No encoder is registered, and no entry point is installed, under this name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"unknown encoder {name!r}; available encoders: {', '.join(available()) or 'none'}"
        )


def register(name: str, cls: type[Encoder]) -> None:
    """Register ``cls`` under ``name`` (replacing a previous registration).

    ``cls`` must subclass :class:`Encoder`; its ``name`` attribute is set to
    ``name`` if empty and must otherwise equal it (configs carry the name).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"an encoder name must be a non-empty string, got {name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Encoder)):
        raise TypeError(f"{cls!r} is not a subclass of pyvl.encoders.Encoder")
    if not cls.name:
        cls.name = name
    elif cls.name != name:
        raise ValueError(
            f"{cls.__name__}.name is {cls.name!r}; it cannot be registered as {name!r}"
        )
    _REGISTRY[name] = cls


def _entry_points() -> dict[str, metadata.EntryPoint]:
    if sys.version_info >= (3, 10):
        selected = metadata.entry_points(group=GROUP)
    else:  # Python 3.9: a dict of groups
        selected = metadata.entry_points().get(GROUP, [])
    return {ep.name: ep for ep in selected}


def _lookup(name: str) -> type[Encoder]:
    cls = _REGISTRY.get(name)
    if cls is not None:
        return cls
    ep = _entry_points().get(name)
    if ep is None:
        raise UnknownEncoderError(name)
    _log.debug("loading encoder %r from entry point %s", name, ep.value)
    loaded = ep.load()
    if not (isinstance(loaded, type) and issubclass(loaded, Encoder)):
        raise TypeError(
            f"entry point {name!r} ({ep.value}) in group {GROUP!r} is not a "
            "pyvl.encoders.Encoder subclass"
        )
    register(name, loaded)
    return loaded


def get_class(name: str) -> type[Encoder]:
    """The encoder class registered (or installed as an entry point) under ``name``."""
    return _lookup(name)


def get(name: str, **options: Any) -> Encoder:
    """A new encoder: ``get("fisher", n_components=64)``.

    Raises :class:`UnknownEncoderError` (a ``ValueError``) listing the
    available names if ``name`` is unknown.
    """
    return _lookup(name)(**options)


def from_config(config: Mapping[str, Any]) -> Encoder:
    """A new (unfitted) encoder from a config dict with a ``"name"``
    (:meth:`Encoder.get_config`)."""
    if "name" not in config:
        raise ValueError("an encoder config needs a 'name'")
    return _lookup(config["name"]).from_config(config)


def available() -> list[str]:
    """Sorted names of the registered encoders and of the installed entry points."""
    return sorted(set(_REGISTRY) | set(_entry_points()))
