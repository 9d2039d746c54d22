"""Encoders: Fisher vectors, VLAD and bags of words behind one interface.

::

    import pyvl.encoders as E

    enc = E.get("fisher", n_components=64, random_state=0).fit(training_descriptors)
    x = enc.encode(descriptors)                 # (enc.output_dim,)
    X = enc.encode_batch(list_of_descriptors)   # (n_images, enc.output_dim), one C call

    enc = E.get("vlad", n_clusters=64, pyramid=[(1, 1), (2, 2)]).fit(training_descriptors)
    x = enc.encode(descriptors, positions=xy, image_size=(width, height))

    E.from_config(enc.get_config())             # same options, not fitted
    E.available()                               # ['bovw', 'fisher', 'vlad', ...plugins]

Built-ins: ``fisher`` (:class:`FisherEncoder`), ``vlad`` (:class:`VladEncoder`),
``bovw`` (:class:`BovwEncoder`). Other packages add encoders through the
entry-point group ``pyvl.encoders`` (loaded on first use) or with
:func:`register`. See ``docs/encoders.md``.
"""

from __future__ import annotations

from ._base import (
    GROUP,
    Encoder,
    UnknownEncoderError,
    available,
    from_config,
    get,
    get_class,
    register,
)
from .bovw import BovwEncoder
from .fisher import FisherEncoder
from .vlad import VladEncoder

for _cls in (FisherEncoder, VladEncoder, BovwEncoder):
    register(_cls.name, _cls)
del _cls


def __getattr__(name: str) -> type[Encoder]:
    """A plugin encoder class by its class name (PEP 562), looked up among the
    registered encoders and the installed entry points: how a model file naming
    ``pyvl.encoders.<Class>`` finds a plugin's class (``pyvl.io``)."""
    if name.startswith("_"):
        raise AttributeError(f"module 'pyvl.encoders' has no attribute {name!r}")
    for registered in available():
        try:
            cls = get_class(registered)
        except (ImportError, TypeError, ValueError):  # a broken plugin hides no other
            continue
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module 'pyvl.encoders' has no attribute {name!r}")

__all__ = [
    "GROUP",
    "BovwEncoder",
    "Encoder",
    "FisherEncoder",
    "UnknownEncoderError",
    "VladEncoder",
    "available",
    "from_config",
    "get",
    "get_class",
    "register",
]
