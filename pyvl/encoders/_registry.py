"""The registry of encoders: name -> class, plus lazy entry points.

Built-in encoders are registered when :mod:`pyvl.encoders` is imported.
Other distributions add encoders through the entry-point group
``pyvl.encoders``; in their ``pyproject.toml``::

    [project.entry-points."pyvl.encoders"]
    mean-pool = "my_package:MeanPoolEncoder"

An entry point is imported only when its name is first asked for
(:func:`get`, :func:`from_config`); :func:`available` lists it without
importing it. A registered name always wins over an entry point of the same
name.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from ._base import Encoder

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
