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

from typing import Any

import numpy as np

from ._core import encoding as _enc
from ._core.enums import DataType, GMMInit
from ._core.errors import StateError
from ._core.objects import GMM as VlGMM
from ._core.objects import KMeans as VlKMeans
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

VL_TYPE_FLOAT = DataType.FLOAT
VL_TYPE_DOUBLE = DataType.DOUBLE
VlGMMKMeans = GMMInit.KMEANS
VlGMMRand = GMMInit.RAND
VlGMMCustom = GMMInit.CUSTOM


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
    return VlGMM.new(data_type, dimension, num_components)


def vl_gmm_new_copy(gmm: VlGMM) -> VlGMM:
    """Deep copy: parameters, bounds, posteriors and settings."""
    return _gmm(gmm).copy()


def vl_gmm_delete(gmm: VlGMM) -> None:
    """Free the GMM now; later use of the handle raises ``StateError``."""
    _gmm(gmm).close()


def vl_gmm_reset(gmm: VlGMM) -> None:
    """Drop the posteriors (and an owned k-means object); keep the parameters."""
    _gmm(gmm).reset()


# ---- processing ----------------------------------------------------------------


def vl_gmm_cluster(gmm: VlGMM, data: Any, num_data: int | None = None) -> float:
    """Initialise and run EM ``num_repetitions`` times, keep the best.

    ``data``: (N, D) or flat (N*D,). Returns the log-likelihood (a sum over
    points), which is also stored in the object.
    """
    return _gmm(gmm).cluster(data, num_data)


def vl_gmm_em(gmm: VlGMM, data: Any, num_data: int | None = None) -> float:
    """EM from the current parameters; returns (and stores) the log-likelihood."""
    return _gmm(gmm).em(data, num_data)


def vl_gmm_init_with_rand_data(gmm: VlGMM, data: Any, num_data: int | None = None) -> None:
    """k-means++ means, data variance as covariances, uniform priors."""
    _gmm(gmm).init_with_rand_data(data, num_data)


def vl_gmm_init_with_kmeans(
    gmm: VlGMM, data: Any, num_data: int | None = None, kmeans_init: VlKMeans | None = None
) -> None:
    """Initialise from a k-means clustering (``kmeans_init`` or a default ANN k-means)."""
    _gmm(gmm).init_with_kmeans(data, num_data, kmeans_init)


# ---- set parameters ------------------------------------------------------------


def vl_gmm_set_means(gmm: VlGMM, means: Any) -> None:
    """Means: K*D values, flat or (K, D)."""
    _gmm(gmm).set_means(means)


def vl_gmm_set_covariances(gmm: VlGMM, covariances: Any) -> None:
    """Diagonal covariances (variances): K*D values >= 0, flat or (K, D)."""
    _gmm(gmm).set_covariances(covariances)


def vl_gmm_set_priors(gmm: VlGMM, priors: Any) -> None:
    """Priors: K values >= 0 (not renormalised, as in VLFeat)."""
    _gmm(gmm).set_priors(priors)


def vl_gmm_set_num_repetitions(gmm: VlGMM, num_repetitions: int) -> None:
    """Number of initialise+EM runs of :func:`vl_gmm_cluster` (>= 1); the best is kept."""
    _gmm(gmm).num_repetitions = num_repetitions


def vl_gmm_set_max_num_iterations(gmm: VlGMM, max_num_iterations: int) -> None:
    """Maximum number of EM iterations (0: a single E-step)."""
    _gmm(gmm).max_num_iterations = max_num_iterations


def vl_gmm_set_verbosity(gmm: VlGMM, verbosity: int) -> None:
    """0 silent, 1 progress, 2 detailed (printed to sys.stdout)."""
    _gmm(gmm).verbosity = verbosity


def vl_gmm_set_initialization(gmm: VlGMM, init: int) -> None:
    """VlGMMKMeans, VlGMMRand or VlGMMCustom."""
    _gmm(gmm).initialization = init


def vl_gmm_set_kmeans_init_object(gmm: VlGMM, kmeans: VlKMeans | None) -> None:
    """k-means object used by the VlGMMKMeans initialisation (None: a default one).
    The GMM keeps it alive while it uses it."""
    _gmm(gmm).set_kmeans_init_object(kmeans)


def vl_gmm_set_covariance_lower_bounds(gmm: VlGMM, bounds: Any) -> None:
    """Per-dimension lower bounds of the variances: D values >= 0."""
    _gmm(gmm).set_covariance_lower_bounds(bounds)


def vl_gmm_set_covariance_lower_bound(gmm: VlGMM, bound: float) -> None:
    """The same lower bound (>= 0) for every dimension."""
    _gmm(gmm).set_covariance_lower_bound(bound)


# ---- get parameters ------------------------------------------------------------


def vl_gmm_get_means(gmm: VlGMM) -> np.ndarray:
    """Means, flat (K*D,) of the GMM's dtype (row k is ``means[k*D:(k+1)*D]``)."""
    return _gmm(gmm).means


def vl_gmm_get_covariances(gmm: VlGMM) -> np.ndarray:
    """Diagonal covariances, flat (K*D,)."""
    return _gmm(gmm).covariances


def vl_gmm_get_priors(gmm: VlGMM) -> np.ndarray:
    """Priors (K,)."""
    return _gmm(gmm).priors


def vl_gmm_get_posteriors(gmm: VlGMM) -> np.ndarray | None:
    """Posteriors of the last E-step, flat (N*K,) (row i is ``post[i*K:(i+1)*K]``);
    None before any initialisation or EM."""
    return _gmm(gmm).posteriors


def vl_gmm_get_data_type(gmm: VlGMM) -> int:
    return int(_gmm(gmm).data_type)


def vl_gmm_get_dimension(gmm: VlGMM) -> int:
    return _gmm(gmm).dimension


def vl_gmm_get_num_repetitions(gmm: VlGMM) -> int:
    return _gmm(gmm).num_repetitions


def vl_gmm_get_num_data(gmm: VlGMM) -> int:
    """N of the last initialisation or EM."""
    return _gmm(gmm).num_data


def vl_gmm_get_num_clusters(gmm: VlGMM) -> int:
    return _gmm(gmm).num_clusters


def vl_gmm_get_loglikelihood(gmm: VlGMM) -> float:
    """Log-likelihood (sum over points) of the last cluster/EM run (0 on a new GMM)."""
    return _gmm(gmm).loglikelihood


def vl_gmm_get_verbosity(gmm: VlGMM) -> int:
    return _gmm(gmm).verbosity


def vl_gmm_get_max_num_iterations(gmm: VlGMM) -> int:
    return _gmm(gmm).max_num_iterations


def vl_gmm_get_initialization(gmm: VlGMM) -> int:
    return _gmm(gmm).initialization


def vl_gmm_get_kmeans_init_object(gmm: VlGMM) -> VlKMeans | None:
    """The k-means object set with :func:`vl_gmm_set_kmeans_init_object` or passed to
    :func:`vl_gmm_init_with_kmeans`, or None (a default internal object is not exposed)."""
    return _gmm(gmm).kmeans_init


def vl_gmm_get_covariance_lower_bounds(gmm: VlGMM) -> np.ndarray:
    """Per-dimension covariance lower bounds (D,) float64."""
    return _gmm(gmm).covariance_lower_bounds


# ---- stateless E-step ------------------------------------------------------------


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
    return _enc.posteriors(np.dtype(np.float32), posteriors, num_clusters, num_data, priors,
                           means, dimension, covariances, data)


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
    return _enc.posteriors(np.dtype(np.float64), posteriors, num_clusters, num_data, priors,
                           means, dimension, covariances, data)
