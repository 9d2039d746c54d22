"""pyvl: Gaussian mixtures, k-means and feature encodings on libgmm.

* ``pyvl.gmm`` / ``pyvl.kmeans``: VLFeat's C API, function for function
  (``from pyvl.gmm import *``);
* ``pyvl.random``: VLFeat's MT19937 generator, for repeatable runs;
* ``pyvl.simd``: the SIMD level in use;
* ``pyvl.fisher`` / ``pyvl.vlad`` / ``pyvl.bovw``: the encodings, one image
  or a batch per C call;
* ``pyvl.encoders``: encoders by name (``get("fisher")``), with fitting,
  configs, spatial pyramids and plugins;
* ``pyvl.GaussianMixture`` / ``pyvl.KMeans``: scikit-learn estimators
  (imported on first use; they need scikit-learn);
* ``pyvl.FisherVectorEncoder`` / ``pyvl.VladEncoder`` / ``pyvl.BovwEncoder``:
  the encoders as scikit-learn transformers of lists of descriptor arrays;
* ``pyvl.io``: portable ``.npz`` model files (``save`` / ``load``).
"""

from __future__ import annotations

from . import _log
from ._errors import (
    AllocationError,
    InvalidArgumentError,
    PyvlError,
    SizeOverflowError,
    StateError,
    TrainingInterrupted,
)
from ._lib import lib as _clib
from ._lib import version as _version

__version__ = _version()

_log.install()

try:  # threadpoolctl.threadpool_limits/threadpool_info also see libgmm (pyvl/_threadpool.py)
    from . import _threadpool  # noqa: F401
except ImportError:  # threadpoolctl is optional
    pass


def vl_set_num_threads(n: int) -> None:
    """Threads used by libgmm (0: the OpenMP default, normally the number of cores).
    Results do not depend on it."""
    from ._arrays import count

    _clib.vl_set_num_threads(count(n, "n"))


def vl_get_max_threads() -> int:
    """Threads libgmm will use."""
    return int(_clib.vl_get_max_threads())


_LAZY = {"GaussianMixture": "estimators", "KMeans": "estimators"}
# scikit-learn transformers over the encoders (pyvl.VladEncoder is the transformer;
# pyvl.encoders.VladEncoder is the encoder it wraps)
_LAZY.update(
    FisherVectorEncoder="transformers", VladEncoder="transformers", BovwEncoder="transformers"
)


# Submodules reachable as attributes (``import pyvl; pyvl.encoders.get(...)``),
# imported on first use (PEP 562): the estimators and transformers need
# scikit-learn, the rest is imported only by those who use it.
_SUBMODULES = frozenset(
    {"bovw", "cli", "compat", "dask", "demo", "encoders", "estimators", "fisher", "gmm", "io",
     "kmeans", "plot", "random", "simd", "transformers", "vlad"}
)


def __getattr__(name: str):  # PEP 562
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'pyvl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    "GaussianMixture",
    "KMeans",
    "FisherVectorEncoder",
    "VladEncoder",
    "BovwEncoder",
    "AllocationError",
    "InvalidArgumentError",
    "PyvlError",
    "SizeOverflowError",
    "StateError",
    "TrainingInterrupted",
    "vl_get_max_threads",
    "vl_set_num_threads",
]
