"""VLFeat's GMM API, function for function (``from pyvl.gmm import *``).

Names, argument order and constants are VLFeat's, so code written for
VLFeat's C API or its old Python wrappers ports by changing the import::

    gmm = vl_gmm_new(VL_TYPE_FLOAT, dimension, num_clusters)
    vl_gmm_set_max_num_iterations(gmm, 100)
    vl_gmm_set_initialization(gmm, VlGMMRand)
    vl_gmm_cluster(gmm, data, num_data)
    means = vl_gmm_get_means(gmm)            # flat, K*D values

Conventions:

* ``data`` is flat (N*D,) or (N, D), any real dtype (converted to the GMM's
  float32/float64, copied only if it must be); non-contiguous input is fine.
* Getters return numpy copies: means and covariances flat (K*D,), priors
  (K,), posteriors flat (N*K,), covariance lower bounds (D,) float64.
* Errors raise :class:`pyvl.InvalidArgumentError` (a ``ValueError``),
  :class:`pyvl.AllocationError` (a ``MemoryError``), ... with libgmm's message.
* A GMM handle frees its C object when garbage-collected or on
  :func:`vl_gmm_delete`; using it afterwards raises :class:`pyvl.StateError`.
* Verbose messages (``vl_gmm_set_verbosity``) are printed to ``sys.stdout``
  (so they appear in notebooks).

Differences from VLFeat are listed in ``docs/vlfeat-differences.md``.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from ._arrays import (
    VL_TYPE_DOUBLE,
    VL_TYPE_FLOAT,
    as_data,
    as_params,
    c_int,
    copy_from_c,
    count,
    dtype_of,
    ptr,
)
from ._errors import InvalidArgumentError, StateError
from ._handle import Handle
from ._lib import lib
from .kmeans import VlKMeans
from .random import vl_get_rand, vl_rand_seed

__all__ = [
    "VL_TYPE_FLOAT",
    "VL_TYPE_DOUBLE",
    "VlGMMKMeans",
    "VlGMMRand",
    "VlGMMCustom",
    "VlGMM",
    "vl_gmm_new",
    "vl_gmm_new_copy",
    "vl_gmm_delete",
    "vl_gmm_reset",
    "vl_gmm_cluster",
    "vl_gmm_em",
    "vl_gmm_init_with_rand_data",
    "vl_gmm_init_with_kmeans",
    "vl_gmm_set_means",
    "vl_gmm_set_covariances",
    "vl_gmm_set_priors",
    "vl_gmm_set_num_repetitions",
    "vl_gmm_set_max_num_iterations",
    "vl_gmm_set_verbosity",
    "vl_gmm_set_initialization",
    "vl_gmm_set_kmeans_init_object",
    "vl_gmm_set_covariance_lower_bounds",
    "vl_gmm_set_covariance_lower_bound",
    "vl_gmm_get_means",
    "vl_gmm_get_covariances",
    "vl_gmm_get_priors",
    "vl_gmm_get_posteriors",
    "vl_gmm_get_data_type",
    "vl_gmm_get_dimension",
    "vl_gmm_get_num_repetitions",
    "vl_gmm_get_num_data",
    "vl_gmm_get_num_clusters",
    "vl_gmm_get_loglikelihood",
    "vl_gmm_get_verbosity",
    "vl_gmm_get_max_num_iterations",
    "vl_gmm_get_initialization",
    "vl_gmm_get_kmeans_init_object",
    "vl_gmm_get_covariance_lower_bounds",
    "vl_get_gmm_data_posteriors_f",
    "vl_get_gmm_data_posteriors_d",
    "vl_get_rand",
    "vl_rand_seed",
]

VlGMMKMeans = 0
VlGMMRand = 1
VlGMMCustom = 2
_INIT_NAMES = {VlGMMKMeans: "VlGMMKMeans", VlGMMRand: "VlGMMRand", VlGMMCustom: "VlGMMCustom"}


class VlGMM(Handle):
    """Handle to a libgmm ``VlGMM`` (diagonal-covariance Gaussian mixture).

    Create it with :func:`vl_gmm_new`. Its fixed properties are cached:
    ``data_type`` (VL_TYPE_*), ``dtype`` (numpy), ``dimension`` (D) and
    ``num_clusters`` (K). ``kmeans_init`` keeps a k-means object given to
    :func:`vl_gmm_set_kmeans_init_object` alive while the GMM uses it.
    """

    _kind = "GMM"

    def __init__(self, ptr_: Any) -> None:
        super().__init__(ptr_, lib.vl_gmm_delete)
        self.data_type = int(lib.vl_gmm_get_data_type(ptr_))
        self.dtype = dtype_of(self.data_type)
        self.dimension = int(lib.vl_gmm_get_dimension(ptr_))
        self.num_clusters = int(lib.vl_gmm_get_num_clusters(ptr_))
        self._kmeans_init: VlKMeans | None = None

    @property
    def kmeans_init(self) -> VlKMeans | None:
        """The k-means handle the C object points to for its initialisation."""
        return self._kmeans_init

    @kmeans_init.setter
    def kmeans_init(self, kmeans: VlKMeans | None) -> None:
        # the C object keeps a pointer to it: its C object must outlive this one,
        # even if the handle is deleted (vl_kmeans_delete) in between
        self.keep("kmeans_init", kmeans)
        self._kmeans_init = kmeans

    def __repr__(self) -> str:
        state = "deleted" if self.closed else f"0x{self.address():x}"
        return (
            f"<VlGMM {self.dtype} dimension={self.dimension} "
            f"num_clusters={self.num_clusters} at {state}>"
        )

    def __reduce__(self) -> Any:
        """Pickle (and copy) through the public getters and setters: a new C object
        with the same parameters, bounds and settings (see docs/persistence.md)."""
        from .io import handle_from_state, handle_state

        return (handle_from_state, (handle_state(self),))


def _gmm(gmm: Any) -> VlGMM:
    if not isinstance(gmm, VlGMM):
        raise TypeError(f"expected a VlGMM from vl_gmm_new, got {type(gmm).__name__}")
    if gmm.closed:
        raise StateError(f"this {gmm._kind} has been deleted")
    return gmm


# ---- create and destroy ------------------------------------------------------


def vl_gmm_new(data_type: int, dimension: int, num_components: int) -> VlGMM:
    """New GMM of ``num_components`` components in ``dimension`` dimensions.

    ``data_type`` is VL_TYPE_FLOAT (float32) or VL_TYPE_DOUBLE (float64).
    Defaults as VLFeat: 50 EM iterations, 1 repetition, VlGMMRand
    initialisation, covariance lower bound 1e-4 in every dimension.
    """
    dtype_of(data_type)
    return VlGMM(
        lib.vl_gmm_new(int(data_type), count(dimension, "dimension"), count(num_components, "num_components"))
    )


def vl_gmm_new_copy(gmm: VlGMM) -> VlGMM:
    """Deep copy: parameters, bounds, posteriors and settings."""
    src = _gmm(gmm)
    copy = VlGMM(lib.vl_gmm_new_copy(src))
    copy._kept.update(src._kept)  # the copy points to the same k-means object
    copy._kmeans_init = src._kmeans_init
    return copy


def vl_gmm_delete(gmm: VlGMM) -> None:
    """Free the GMM now; later use of the handle raises ``StateError``."""
    _gmm(gmm).close()


def vl_gmm_reset(gmm: VlGMM) -> None:
    """Drop the posteriors (and an owned k-means object); keep the parameters."""
    lib.vl_gmm_reset(_gmm(gmm))


# ---- processing ----------------------------------------------------------------


def vl_gmm_cluster(gmm: VlGMM, data: Any, num_data: int | None = None) -> float:
    """Initialise and run EM ``num_repetitions`` times, keep the best.

    ``data``: (N, D) or flat (N*D,). Returns the log-likelihood (a sum over
    points), which is also stored in the object.
    """
    g = _gmm(gmm)
    x, n = as_data(data, g.dimension, g.dtype, num_data)
    return float(lib.vl_gmm_cluster(g, ptr(x), n))


def vl_gmm_em(gmm: VlGMM, data: Any, num_data: int | None = None) -> float:
    """EM from the current parameters; returns (and stores) the log-likelihood."""
    g = _gmm(gmm)
    x, n = as_data(data, g.dimension, g.dtype, num_data)
    return float(lib.vl_gmm_em(g, ptr(x), n))


def vl_gmm_init_with_rand_data(gmm: VlGMM, data: Any, num_data: int | None = None) -> None:
    """k-means++ means, data variance as covariances, uniform priors."""
    g = _gmm(gmm)
    x, n = as_data(data, g.dimension, g.dtype, num_data)
    lib.vl_gmm_init_with_rand_data(g, ptr(x), n)


def vl_gmm_init_with_kmeans(
    gmm: VlGMM, data: Any, num_data: int | None = None, kmeans_init: VlKMeans | None = None
) -> None:
    """Initialise from a k-means clustering (``kmeans_init`` or a default ANN k-means)."""
    g = _gmm(gmm)
    x, n = as_data(data, g.dimension, g.dtype, num_data)
    if kmeans_init is not None and not isinstance(kmeans_init, VlKMeans):
        raise TypeError("kmeans_init must be a VlKMeans from vl_kmeans_new, or None")
    if kmeans_init is not None and kmeans_init.closed:
        raise StateError("kmeans_init: this KMeans has been deleted")
    lib.vl_gmm_init_with_kmeans(g, ptr(x), n, kmeans_init)
    if kmeans_init is not None:
        g.kmeans_init = kmeans_init


# ---- set parameters ------------------------------------------------------------


def vl_gmm_set_means(gmm: VlGMM, means: Any) -> None:
    """Means: K*D values, flat or (K, D)."""
    g = _gmm(gmm)
    arr = as_params(means, (g.num_clusters, g.dimension), g.dtype, "means")
    lib.vl_gmm_set_means(g, ptr(arr))


def vl_gmm_set_covariances(gmm: VlGMM, covariances: Any) -> None:
    """Diagonal covariances (variances): K*D values >= 0, flat or (K, D)."""
    g = _gmm(gmm)
    arr = as_params(covariances, (g.num_clusters, g.dimension), g.dtype, "covariances")
    lib.vl_gmm_set_covariances(g, ptr(arr))


def vl_gmm_set_priors(gmm: VlGMM, priors: Any) -> None:
    """Priors: K values >= 0 (not renormalised, as in VLFeat)."""
    g = _gmm(gmm)
    arr = as_params(priors, (g.num_clusters,), g.dtype, "priors")
    lib.vl_gmm_set_priors(g, ptr(arr))


def vl_gmm_set_num_repetitions(gmm: VlGMM, num_repetitions: int) -> None:
    """Number of initialise+EM runs of :func:`vl_gmm_cluster` (>= 1); the best is kept."""
    lib.vl_gmm_set_num_repetitions(_gmm(gmm), count(num_repetitions, "num_repetitions"))


def vl_gmm_set_max_num_iterations(gmm: VlGMM, max_num_iterations: int) -> None:
    """Maximum number of EM iterations (0: a single E-step)."""
    lib.vl_gmm_set_max_num_iterations(_gmm(gmm), count(max_num_iterations, "max_num_iterations"))


def vl_gmm_set_verbosity(gmm: VlGMM, verbosity: int) -> None:
    """0 silent, 1 progress, 2 detailed (printed to sys.stdout)."""
    lib.vl_gmm_set_verbosity(_gmm(gmm), c_int(verbosity, "verbosity"))


def vl_gmm_set_initialization(gmm: VlGMM, init: int) -> None:
    """VlGMMKMeans, VlGMMRand or VlGMMCustom."""
    if init not in _INIT_NAMES:
        raise InvalidArgumentError(
            f"unknown initialization {init!r} (use VlGMMKMeans=0, VlGMMRand=1 or VlGMMCustom=2)"
        )
    lib.vl_gmm_set_initialization(_gmm(gmm), int(init))


def vl_gmm_set_kmeans_init_object(gmm: VlGMM, kmeans: VlKMeans | None) -> None:
    """k-means object used by the VlGMMKMeans initialisation (None: a default one)."""
    g = _gmm(gmm)
    if kmeans is not None and not isinstance(kmeans, VlKMeans):
        raise TypeError("kmeans must be a VlKMeans from vl_kmeans_new, or None")
    if kmeans is not None and kmeans.closed:
        raise StateError("kmeans: this KMeans has been deleted")
    lib.vl_gmm_set_kmeans_init_object(g, kmeans)
    g.kmeans_init = kmeans  # keeps the C object alive while the GMM points to it


def vl_gmm_set_covariance_lower_bounds(gmm: VlGMM, bounds: Any) -> None:
    """Per-dimension lower bounds of the variances: D values >= 0."""
    g = _gmm(gmm)
    arr = as_params(bounds, (g.dimension,), np.dtype(np.float64), "bounds")
    lib.vl_gmm_set_covariance_lower_bounds(g, arr.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))


def vl_gmm_set_covariance_lower_bound(gmm: VlGMM, bound: float) -> None:
    """The same lower bound (>= 0) for every dimension."""
    lib.vl_gmm_set_covariance_lower_bound(_gmm(gmm), float(bound))


# ---- get parameters ------------------------------------------------------------


def vl_gmm_get_means(gmm: VlGMM) -> np.ndarray:
    """Means, flat (K*D,) of the GMM's dtype (row k is ``means[k*D:(k+1)*D]``)."""
    g = _gmm(gmm)
    return copy_from_c(lib.vl_gmm_get_means(g), g.num_clusters * g.dimension, g.dtype)


def vl_gmm_get_covariances(gmm: VlGMM) -> np.ndarray:
    """Diagonal covariances, flat (K*D,)."""
    g = _gmm(gmm)
    return copy_from_c(lib.vl_gmm_get_covariances(g), g.num_clusters * g.dimension, g.dtype)


def vl_gmm_get_priors(gmm: VlGMM) -> np.ndarray:
    """Priors (K,)."""
    g = _gmm(gmm)
    return copy_from_c(lib.vl_gmm_get_priors(g), g.num_clusters, g.dtype)


def vl_gmm_get_posteriors(gmm: VlGMM) -> np.ndarray | None:
    """Posteriors of the last E-step, flat (N*K,) (row i is ``post[i*K:(i+1)*K]``);
    None before any initialisation or EM."""
    g = _gmm(gmm)
    address = lib.vl_gmm_get_posteriors(g)
    if not address:
        return None
    n = int(lib.vl_gmm_get_num_data(g))
    return copy_from_c(address, n * g.num_clusters, g.dtype)


def vl_gmm_get_data_type(gmm: VlGMM) -> int:
    return int(lib.vl_gmm_get_data_type(_gmm(gmm)))


def vl_gmm_get_dimension(gmm: VlGMM) -> int:
    return int(lib.vl_gmm_get_dimension(_gmm(gmm)))


def vl_gmm_get_num_repetitions(gmm: VlGMM) -> int:
    return int(lib.vl_gmm_get_num_repetitions(_gmm(gmm)))


def vl_gmm_get_num_data(gmm: VlGMM) -> int:
    """N of the last initialisation or EM."""
    return int(lib.vl_gmm_get_num_data(_gmm(gmm)))


def vl_gmm_get_num_clusters(gmm: VlGMM) -> int:
    return int(lib.vl_gmm_get_num_clusters(_gmm(gmm)))


def vl_gmm_get_loglikelihood(gmm: VlGMM) -> float:
    """Log-likelihood (sum over points) of the last cluster/EM run (0 on a new GMM)."""
    return float(lib.vl_gmm_get_loglikelihood(_gmm(gmm)))


def vl_gmm_get_verbosity(gmm: VlGMM) -> int:
    return int(lib.vl_gmm_get_verbosity(_gmm(gmm)))


def vl_gmm_get_max_num_iterations(gmm: VlGMM) -> int:
    return int(lib.vl_gmm_get_max_num_iterations(_gmm(gmm)))


def vl_gmm_get_initialization(gmm: VlGMM) -> int:
    return int(lib.vl_gmm_get_initialization(_gmm(gmm)))


def vl_gmm_get_kmeans_init_object(gmm: VlGMM) -> VlKMeans | None:
    """The k-means object set with :func:`vl_gmm_set_kmeans_init_object` or passed to
    :func:`vl_gmm_init_with_kmeans`, or None (a default internal object is not exposed)."""
    g = _gmm(gmm)
    current = _address(lib.vl_gmm_get_kmeans_init_object(g))
    if g.kmeans_init is not None and not g.kmeans_init.closed and g.kmeans_init.address() == current:
        return g.kmeans_init
    return None


def _address(p: Any) -> int:
    return ctypes.cast(p, ctypes.c_void_p).value or 0


def vl_gmm_get_covariance_lower_bounds(gmm: VlGMM) -> np.ndarray:
    """Per-dimension covariance lower bounds (D,) float64."""
    g = _gmm(gmm)
    address = _address(lib.vl_gmm_get_covariance_lower_bounds(g))
    return copy_from_c(address, g.dimension, np.dtype(np.float64))


# ---- stateless E-step ------------------------------------------------------------


def _posteriors(
    dtype: np.dtype,
    fn: Any,
    posteriors: np.ndarray | None,
    num_clusters: int,
    num_data: int,
    priors: Any,
    means: Any,
    dimension: int,
    covariances: Any,
    data: Any,
) -> tuple[np.ndarray, float]:
    k = count(num_clusters, "num_clusters")
    d = count(dimension, "dimension")
    if k == 0 or d == 0:
        raise InvalidArgumentError("num_clusters and dimension must be >= 1")
    x, n = as_data(data, d, dtype, num_data)
    p = as_params(priors, (k,), dtype, "priors")
    m = as_params(means, (k, d), dtype, "means")
    c = as_params(covariances, (k, d), dtype, "covariances")
    if posteriors is None:
        out = np.empty(n * k, dtype=dtype)
    else:
        out = posteriors
        if (
            not isinstance(out, np.ndarray)
            or out.dtype != dtype
            or not out.flags.c_contiguous
            or not out.flags.writeable
            or out.size < n * k
        ):
            raise ValueError(
                f"posteriors must be a writable C-contiguous {dtype} array of at least "
                f"{n * k} values"
            )
    ll = float(fn(ptr(out), k, n, ptr(p), ptr(m), d, ptr(c), ptr(x)))
    return out, ll


def vl_get_gmm_data_posteriors_f(
    posteriors: np.ndarray | None,
    num_clusters: int,
    num_data: int,
    priors: Any,
    means: Any,
    dimension: int,
    covariances: Any,
    data: Any,
) -> tuple[np.ndarray, float]:
    """Stateless E-step in float32, VLFeat's argument order.

    Fills ``posteriors`` (N*K float32; allocated if None) and returns
    ``(posteriors, loglikelihood)`` where the log-likelihood is a sum over points.
    """
    return _posteriors(
        np.dtype(np.float32), lib.vl_get_gmm_data_posteriors_f, posteriors, num_clusters,
        num_data, priors, means, dimension, covariances, data,
    )


def vl_get_gmm_data_posteriors_d(
    posteriors: np.ndarray | None,
    num_clusters: int,
    num_data: int,
    priors: Any,
    means: Any,
    dimension: int,
    covariances: Any,
    data: Any,
) -> tuple[np.ndarray, float]:
    """Stateless E-step in float64 (see :func:`vl_get_gmm_data_posteriors_f`)."""
    return _posteriors(
        np.dtype(np.float64), lib.vl_get_gmm_data_posteriors_d, posteriors, num_clusters,
        num_data, priors, means, dimension, covariances, data,
    )
