"""pyvl: Gaussian mixtures, k-means and feature encodings on libgmm.

* ``pyvl.gmm`` / ``pyvl.kmeans`` / ``pyvl.ikmeans`` / ``pyvl.hikmeans``:
  VLFeat's C API, function for function (``from pyvl.gmm import *``);
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

import importlib
from typing import Any

from ._core import runtime as _runtime
from ._core.errors import (
    AllocationError,
    InvalidArgumentError,
    PyvlError,
    SizeOverflowError,
    StateError,
    TrainingInterrupted,
)

__version__ = _runtime.version()

_runtime.install_log_hook()

try:  # threadpoolctl.threadpool_limits/threadpool_info also see libgmm (pyvl/_core/threadpool.py)
    from ._core import threadpool as _threadpool  # noqa: F401
except ImportError:  # threadpoolctl is optional
    pass


def vl_set_num_threads(n: int) -> None:
    """Threads used by libgmm (0: its default, normally the number of cores).
    Results do not depend on it."""
    _runtime.set_num_threads(n)


def vl_get_max_threads() -> int:
    """Threads libgmm will use."""
    return _runtime.get_max_threads()


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
     "kmeans", "plot", "random", "simd", "transformers", "vlad", "ikmeans", "hikmeans"}
)


def __getattr__(name: str) -> Any:  # PEP 562
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
