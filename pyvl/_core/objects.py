"""libgmm's objects as Python objects: :class:`GMM` (``VlGMM``) and :class:`KMeans`
(``VlKMeans``).

Every method validates its arguments (dtype, shape, integers that must fit C
types) and makes one C call; the VLFeat-style modules (``pyvl.gmm``,
``pyvl.kmeans``), the training layer and the encoders all go through these.
Conventions: data is flat (N*D,) or (N, D) of any real dtype, converted to the
object's dtype (copied only if it must be); getters return numpy copies, flat
as VLFeat's C arrays (:meth:`GMM.params` gives them shaped); an object is
freed when garbage-collected or closed (see :mod:`pyvl._core.handle`).
Objects pickle through their state (:meth:`GMM.state`, :meth:`KMeans.state`):
a new C object with the same parameters and settings.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .arrays import (
    as_array,
    as_data,
    as_params,
    c_array,
    c_int,
    copy_from_c,
    count,
    dtype_of,
    numeric,
    ptr,
    typed_ptr,
)
from .enums import CovarianceType, DataType, Distance, GMMInit, KMeansAlgorithm, KMeansInit
from .errors import InvalidArgumentError, StateError
from .handle import Handle
from .lib import IterationCallback, lib

_NO_CALLBACK = IterationCallback()  # a NULL function pointer


def _c_callback(fn: Callable[[int, float], int] | None) -> Any:
    """A C iteration callback calling ``fn(iteration, value)`` (NULL for None). The
    caller must keep it referenced while C may call it."""
    if fn is None:
        return _NO_CALLBACK
    return IterationCallback(lambda user, iteration, value: int(fn(int(iteration), float(value))))


def _address(p: Any) -> int:
    return ctypes.cast(p, ctypes.c_void_p).value or 0


def _dp(a: np.ndarray | None) -> Any:
    """``double*`` of a float64 statistics array (aligned, C-contiguous)."""
    if a is not None and a.dtype != np.float64:
        raise ValueError("internal error: statistics buffer is not float64")
    return typed_ptr(a, ctypes.c_double)


class GMM(Handle):
    """A libgmm ``VlGMM`` (Gaussian mixture; diagonal covariances unless
    :attr:`covariance_type` says otherwise).

    Its fixed properties are cached: ``data_type`` (``DataType``), ``dtype``
    (numpy), ``dimension`` (D) and ``num_clusters`` (K). ``kmeans_init`` is the
    :class:`KMeans` the C object points to for its initialisation (kept alive
    while it does).

    Covariances are in the layout of the type (:attr:`covariances_shape`):
    (K, D) variances for ``DIAGONAL`` (VLFeat's model), (K, D, D) matrices for
    ``FULL``, one (D, D) matrix for ``TIED``, (K,) variances for ``SPHERICAL``.
    """

    _kind = "GMM"

    def __init__(self, ptr_: Any) -> None:
        super().__init__(ptr_, lib.vl_gmm_delete)
        self.data_type = DataType(int(lib.vl_gmm_get_data_type(ptr_)))
        self.dtype = self.data_type.dtype
        self.dimension = int(lib.vl_gmm_get_dimension(ptr_))
        self.num_clusters = int(lib.vl_gmm_get_num_clusters(ptr_))
        self._kmeans_init: KMeans | None = None
        self._callback: Any = None
        #: the log-likelihood of the state this object was restored from (see from_state)
        self.pickled_loglikelihood = 0.0

    @classmethod
    def new(cls, data_type: Any, dimension: int, num_components: int) -> GMM:
        """New GMM of ``num_components`` components in ``dimension`` dimensions.

        ``data_type``: ``DataType.FLOAT`` / ``DOUBLE`` (VL_TYPE_FLOAT=1,
        VL_TYPE_DOUBLE=2). Defaults as VLFeat: 50 EM iterations, 1 repetition,
        random initialisation, covariance lower bound 1e-4 in every dimension.
        """
        dtype_of(data_type)
        return cls(
            lib.vl_gmm_new(int(data_type), count(dimension, "dimension"),
                           count(num_components, "num_components"))
        )

    @classmethod
    def of_dtype(cls, dtype: Any, dimension: int, num_components: int) -> GMM:
        """:meth:`new` for a float32/float64 numpy dtype."""
        return cls.new(DataType.of(dtype), dimension, num_components)

    def __repr__(self) -> str:
        if self.closed:
            return f"<VlGMM {self.dtype} dimension={self.dimension} " \
                   f"num_clusters={self.num_clusters} at deleted>"
        kind = self.covariance_type
        covs = "" if kind is CovarianceType.DIAGONAL else f" covariance_type={kind.sklearn_name}"
        return (
            f"<VlGMM {self.dtype} dimension={self.dimension} "
            f"num_clusters={self.num_clusters}{covs} at 0x{self.address():x}>"
        )

    def copy(self) -> GMM:
        """Deep copy: parameters, bounds, posteriors and settings."""
        other = GMM(lib.vl_gmm_new_copy(self))
        other._kept.update(self._kept)  # the copy points to the same k-means object
        other._kmeans_init = self._kmeans_init
        return other

    def reset(self) -> None:
        """Drop the posteriors (and an owned k-means object); keep the parameters."""
        lib.vl_gmm_reset(self)

    # ---- processing ------------------------------------------------------------------

    def _data(self, data: Any, num_data: int | None) -> tuple[np.ndarray, int]:
        return as_data(data, self.dimension, self.dtype, num_data)

    def cluster(self, data: Any, num_data: int | None = None) -> float:
        """Initialise and run EM ``num_repetitions`` times, keep the best; returns
        the log-likelihood (a sum over points)."""
        x, n = self._data(data, num_data)
        return float(lib.vl_gmm_cluster(self, ptr(x), n))

    def em(self, data: Any, num_data: int | None = None) -> float:
        """EM from the current parameters; returns (and stores) the log-likelihood."""
        x, n = self._data(data, num_data)
        return float(lib.vl_gmm_em(self, ptr(x), n))

    def init_with_rand_data(self, data: Any, num_data: int | None = None) -> None:
        """k-means++ means, data variance as covariances, uniform priors."""
        x, n = self._data(data, num_data)
        lib.vl_gmm_init_with_rand_data(self, ptr(x), n)

    def init_with_labels(self, data: Any, labels: Any, num_data: int | None = None) -> None:
        """One M-step on the one-hot posteriors of ``labels`` ((N,) integers < K) for
        (N, D) ``data``: scikit-learn's initialisation from k-means labels."""
        x, n = self._data(data, num_data)
        lab = _labels(labels, n, self.num_clusters)
        lib.vl_gmm_init_with_labels(self, ptr(x), n, typed_ptr(lab, ctypes.c_uint32))

    def init_with_kmeans(self, data: Any, num_data: int | None = None,
                         kmeans: KMeans | None = None) -> None:
        """Initialise from a k-means clustering (``kmeans`` or a default ANN k-means)."""
        x, n = self._data(data, num_data)
        if kmeans is not None and not isinstance(kmeans, KMeans):
            raise TypeError("kmeans_init must be a VlKMeans from vl_kmeans_new, or None")
        if kmeans is not None and kmeans.closed:
            raise StateError("kmeans_init: this KMeans has been deleted")
        lib.vl_gmm_init_with_kmeans(self, ptr(x), n, kmeans)
        if kmeans is not None:
            self.kmeans_init = kmeans

    def estep(self, data: Any, posteriors: bool = False, loglik: bool = False,
              labels: bool = False) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """E-step of (N, D) data under the current parameters, no state kept:
        ``(posteriors (N, K) of the dtype, log p(x) (N,) float64, argmax (N,) uint32)``,
        each None unless asked for."""
        x, n = self._data(data, None)
        q = np.empty((n, self.num_clusters), dtype=self.dtype) if posteriors else None
        ll = np.empty(n, dtype=np.float64) if loglik else None
        lab = np.empty(n, dtype=np.uint32) if labels else None
        lib.vl_gmm_estep(self, ptr(x), n, ptr(q), typed_ptr(ll, ctypes.c_double),
                         typed_ptr(lab, ctypes.c_uint32))
        return q, ll, lab

    def set_iteration_callback(self, callback: Callable[[int, float], int] | None) -> None:
        """``callback(iteration, loglikelihood)`` after every EM iteration; a non-zero
        return stops EM with valid parameters (None: no callback)."""
        self._callback = _c_callback(callback)  # referenced while C may call it
        lib.vl_gmm_set_iteration_callback(self, self._callback, None)

    # ---- sufficient statistics (EM by passes over chunks) -----------------------------

    def stats_size(self) -> int:
        """Doubles in a statistics buffer: 2K + KD + S + 2 with S the second moments'
        size (KD for the diagonal and spherical types, KDD full, DD tied)."""
        return int(lib.vl_gmm_stats_size(self))

    def new_stats(self) -> np.ndarray:
        return np.zeros(self.stats_size())

    def stats_accumulate(self, stats: np.ndarray, data: np.ndarray, ref: np.ndarray | None = None,
                         splits: np.ndarray | None = None) -> None:
        """Add the E-step statistics of (n, D) ``data`` (C-contiguous, the GMM's
        dtype) to ``stats``: moments around ``ref`` (K, D), replaying ``splits``
        (m, 4) float64 restarts on the posteriors."""
        lib.vl_gmm_stats_accumulate(
            self, _dp(stats), ptr(data), data.shape[0], ptr(ref), _dp(splits),
            0 if splits is None else splits.shape[0],
        )

    def mstep_from_stats(self, stats: np.ndarray) -> None:
        """The M-step from a statistics buffer (raises ``InvalidArgumentError``, the
        parameters unchanged, when an exact M-step finds a covariance that is not
        positive definite)."""
        lib.vl_gmm_mstep_from_stats(self, _dp(stats), None)

    def plan_restart(self, mass: np.ndarray, n: int, start: int, split: np.ndarray) -> int:
        """The next restart of a nearly empty component (0: none left), into ``split``."""
        return int(lib.vl_gmm_plan_restart(self, _dp(mass), n, start, _dp(split)))

    # ---- parameters -----------------------------------------------------------------

    def set_means(self, means: Any) -> None:
        """Means: K*D values, flat or (K, D)."""
        arr = as_params(means, (self.num_clusters, self.dimension), self.dtype, "means")
        lib.vl_gmm_set_means(self, ptr(arr))

    def set_covariances(self, covariances: Any) -> None:
        """Covariances in the type's layout (:attr:`covariances_shape`), flat or shaped:
        variances >= 0 (diagonal, spherical), or symmetric matrices (full, tied;
        symmetric up to 1e-5 sqrt(a_ii a_jj), stored as (A + A^T) / 2)."""
        arr = as_params(covariances, self.covariances_shape, self.dtype, "covariances")
        lib.vl_gmm_set_covariances(self, ptr(arr))

    def set_priors(self, priors: Any) -> None:
        """Priors: K values >= 0 (not renormalised, as in VLFeat)."""
        arr = as_params(priors, (self.num_clusters,), self.dtype, "priors")
        lib.vl_gmm_set_priors(self, ptr(arr))

    def set_params(self, weights: Any, means: Any, covariances: Any) -> None:
        """Priors (K,), means (K, D) and covariances (:attr:`covariances_shape`) at once."""
        self.set_priors(weights)
        self.set_means(means)
        self.set_covariances(covariances)

    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of (priors (K,), means (K, D), covariances (:attr:`covariances_shape`))."""
        k, d = self.num_clusters, self.dimension
        return self.priors, self.means.reshape(k, d), self.covariances.reshape(self.covariances_shape)

    @property
    def means(self) -> np.ndarray:
        """Means, flat (K*D,) (row k is ``means[k*D:(k+1)*D]``)."""
        return copy_from_c(lib.vl_gmm_get_means(self), self.num_clusters * self.dimension,
                           self.dtype)

    @property
    def covariances(self) -> np.ndarray:
        """Covariances in the type's layout, flat (K*D, K*D*D, D*D or K values)."""
        return copy_from_c(lib.vl_gmm_get_covariances(self),
                           int(lib.vl_gmm_get_covariances_size(self)), self.dtype)

    @property
    def covariances_shape(self) -> tuple[int, ...]:
        """The covariances' shape: (K, D) diagonal, (K, D, D) full, (D, D) tied, (K,)
        spherical (scikit-learn's ``covariances_`` shapes)."""
        k, d = self.num_clusters, self.dimension
        return {
            CovarianceType.DIAGONAL: (k, d),
            CovarianceType.FULL: (k, d, d),
            CovarianceType.TIED: (d, d),
            CovarianceType.SPHERICAL: (k,),
        }[self.covariance_type]

    @property
    def covariance_type(self) -> CovarianceType:
        """The :class:`CovarianceType`. Setting it (a member, its integer or
        scikit-learn's name) resets the means, covariances, priors and posteriors to
        zero: set or initialise them afterwards."""
        return CovarianceType(int(lib.vl_gmm_get_covariance_type(self)))

    @covariance_type.setter
    def covariance_type(self, value: Any) -> None:
        kind = CovarianceType.of(value)
        lib.vl_gmm_set_covariance_type(self, int(kind))

    @property
    def reg_covar(self) -> float:
        """scikit-learn's ``reg_covar``: added to the covariances' diagonals after every
        M-step (>= 0; default 0)."""
        return float(lib.vl_gmm_get_reg_covar(self))

    @reg_covar.setter
    def reg_covar(self, value: float) -> None:
        lib.vl_gmm_set_reg_covar(self, float(value))

    @property
    def exact_em(self) -> bool:
        """Whether EM is the exact variant (scikit-learn's: every posterior, no
        restarts; always true for the non-diagonal types) rather than VLFeat's."""
        return bool(lib.vl_gmm_get_exact_em(self))

    @exact_em.setter
    def exact_em(self, value: bool) -> None:
        lib.vl_gmm_set_exact_em(self, int(bool(value)))

    @property
    def priors(self) -> np.ndarray:
        """Priors (K,)."""
        return copy_from_c(lib.vl_gmm_get_priors(self), self.num_clusters, self.dtype)

    @property
    def posteriors(self) -> np.ndarray | None:
        """Posteriors of the last E-step, flat (N*K,); None before any."""
        address = lib.vl_gmm_get_posteriors(self)
        if not address:
            return None
        return copy_from_c(address, self.num_data * self.num_clusters, self.dtype)

    @property
    def num_data(self) -> int:
        """N of the last initialisation or EM."""
        return int(lib.vl_gmm_get_num_data(self))

    @property
    def loglikelihood(self) -> float:
        """Log-likelihood (sum over points) of the last cluster/EM run (0 on a new GMM)."""
        return float(lib.vl_gmm_get_loglikelihood(self))

    @property
    def num_repetitions(self) -> int:
        return int(lib.vl_gmm_get_num_repetitions(self))

    @num_repetitions.setter
    def num_repetitions(self, value: int) -> None:
        lib.vl_gmm_set_num_repetitions(self, count(value, "num_repetitions"))

    @property
    def max_num_iterations(self) -> int:
        return int(lib.vl_gmm_get_max_num_iterations(self))

    @max_num_iterations.setter
    def max_num_iterations(self, value: int) -> None:
        lib.vl_gmm_set_max_num_iterations(self, count(value, "max_num_iterations"))

    @property
    def verbosity(self) -> int:
        return int(lib.vl_gmm_get_verbosity(self))

    @verbosity.setter
    def verbosity(self, value: int) -> None:
        lib.vl_gmm_set_verbosity(self, c_int(value, "verbosity"))

    @property
    def initialization(self) -> int:
        return int(lib.vl_gmm_get_initialization(self))

    @initialization.setter
    def initialization(self, init: int) -> None:
        if init not in set(GMMInit):
            raise InvalidArgumentError(
                f"unknown initialization {init!r} (use VlGMMKMeans=0, VlGMMRand=1 or VlGMMCustom=2)"
            )
        lib.vl_gmm_set_initialization(self, int(init))

    @property
    def store_posteriors(self) -> bool:
        return bool(lib.vl_gmm_get_store_posteriors(self))

    @store_posteriors.setter
    def store_posteriors(self, value: bool) -> None:
        lib.vl_gmm_set_store_posteriors(self, int(bool(value)))

    @property
    def convergence_threshold(self) -> float:
        return float(lib.vl_gmm_get_convergence_threshold(self))

    @convergence_threshold.setter
    def convergence_threshold(self, value: float) -> None:
        lib.vl_gmm_set_convergence_threshold(self, float(value))

    @property
    def covariance_lower_bounds(self) -> np.ndarray:
        """Per-dimension covariance lower bounds (D,) float64."""
        address = _address(lib.vl_gmm_get_covariance_lower_bounds(self))
        return copy_from_c(address, self.dimension, np.dtype(np.float64))

    def set_covariance_lower_bounds(self, bounds: Any) -> None:
        """Per-dimension lower bounds of the variances: D values >= 0."""
        arr = as_params(bounds, (self.dimension,), np.dtype(np.float64), "bounds")
        lib.vl_gmm_set_covariance_lower_bounds(self, _dp(arr))

    def set_covariance_lower_bound(self, bound: float) -> None:
        """The same lower bound (>= 0) for every dimension."""
        lib.vl_gmm_set_covariance_lower_bound(self, float(bound))

    def set_covariance_bound(self, bound: Any) -> None:
        """A float (every dimension) or D values (per dimension)."""
        b = np.asarray(bound, dtype=np.float64)
        if b.ndim == 0:
            self.set_covariance_lower_bound(float(b))
        else:
            self.set_covariance_lower_bounds(b)

    @property
    def kmeans_init(self) -> KMeans | None:
        """The :class:`KMeans` handle the C object points to for its initialisation,
        or None (a default internal object is not exposed)."""
        km = self._kmeans_init
        current = _address(lib.vl_gmm_get_kmeans_init_object(self))
        if km is not None and not km.closed and km.address() == current:
            return km
        return None

    @kmeans_init.setter
    def kmeans_init(self, kmeans: KMeans | None) -> None:
        # the C object keeps a pointer to it: its C object must outlive this one,
        # even if the handle is deleted (vl_kmeans_delete) in between
        self.keep("kmeans_init", kmeans)
        self._kmeans_init = kmeans

    def set_kmeans_init_object(self, kmeans: KMeans | None) -> None:
        """k-means object used by the k-means initialisation (None: a default one)."""
        if kmeans is not None and not isinstance(kmeans, KMeans):
            raise TypeError("kmeans must be a VlKMeans from vl_kmeans_new, or None")
        if kmeans is not None and kmeans.closed:
            raise StateError("kmeans: this KMeans has been deleted")
        lib.vl_gmm_set_kmeans_init_object(self, kmeans)
        self.kmeans_init = kmeans

    # ---- state (pickling, copies to workers) -------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the setters can restore, as plain values and numpy copies:
        ``data_type``, ``dimension``, ``num_clusters``, ``covariance_type``,
        ``reg_covar``, ``exact_em``, ``means``, ``covariances`` (flat, in the type's
        layout), ``priors`` (K,), ``covariance_lower_bounds`` (D,) float64,
        ``num_repetitions``, ``max_num_iterations``, ``verbosity``,
        ``initialization``, ``store_posteriors``, ``convergence_threshold``,
        ``kmeans_init`` (a :class:`KMeans` or None) and ``loglikelihood`` (that of
        the last run or, for an object restored from a state that has not run
        since, the one it was saved with)."""
        ll = self.loglikelihood
        return {
            "kind": "VlGMM",
            "data_type": int(self.data_type),
            "dimension": self.dimension,
            "num_clusters": self.num_clusters,
            "covariance_type": int(self.covariance_type),
            "reg_covar": self.reg_covar,
            "exact_em": int(self.exact_em),
            "means": self.means,
            "covariances": self.covariances,
            "priors": self.priors,
            "covariance_lower_bounds": self.covariance_lower_bounds,
            "num_repetitions": self.num_repetitions,
            "max_num_iterations": self.max_num_iterations,
            "verbosity": self.verbosity,
            "initialization": self.initialization,
            "store_posteriors": int(self.store_posteriors),
            "convergence_threshold": self.convergence_threshold,
            "kmeans_init": self.kmeans_init,
            "loglikelihood": ll if ll != 0.0 else self.pickled_loglikelihood,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> GMM:
        """A new GMM with :meth:`state`'s values, set through the setters. The
        log-likelihood has no setter: :attr:`loglikelihood` reads 0 until the next
        run; the saved value is kept in ``pickled_loglikelihood``. A state without
        ``covariance_type``, ``reg_covar`` or ``exact_em`` (written before they
        existed) is VLFeat's diagonal model."""
        g = cls.new(state["data_type"], state["dimension"], state["num_clusters"])
        g.covariance_type = state.get("covariance_type", CovarianceType.DIAGONAL)
        g.reg_covar = float(state.get("reg_covar", 0.0))
        if g.covariance_type is CovarianceType.DIAGONAL:
            g.exact_em = bool(state.get("exact_em", False))
        g.set_means(state["means"])
        g.set_covariances(state["covariances"])
        g.set_priors(state["priors"])
        g.set_covariance_lower_bounds(state["covariance_lower_bounds"])
        g.num_repetitions = state["num_repetitions"]
        g.max_num_iterations = state["max_num_iterations"]
        g.verbosity = state["verbosity"]
        g.initialization = state["initialization"]
        g.store_posteriors = bool(state["store_posteriors"])
        g.convergence_threshold = float(state["convergence_threshold"])
        if state["kmeans_init"] is not None:
            g.set_kmeans_init_object(state["kmeans_init"])
        g.pickled_loglikelihood = float(state["loglikelihood"])
        return g

    def __reduce__(self) -> Any:
        """Pickle (and copy) through the public getters and setters (docs/persistence.md)."""
        if self.closed:
            raise StateError(f"this {self._kind} has been deleted")
        return (from_state, (self.state(),))


class KMeans(Handle):
    """A libgmm ``VlKMeans``. ``data_type``/``dtype`` are cached.

    The training, energy and statistics methods take optional sample
    ``weights``: one float64 per point used (shape (N,), any real dtype,
    converted to float64, a copy only if it is not one already), finite and
    >= 0; None runs the unweighted call. Point i then counts ``weights[i]``
    times: weighted seeding, weighted means (medians for L1) and the energy
    ``sum_i w_i d(x_i, c)`` (``vl/libgmm/kmeans.h`` has the semantics).
    """

    _kind = "KMeans"

    def __init__(self, ptr_: Any) -> None:
        super().__init__(ptr_, lib.vl_kmeans_delete)
        self.data_type = DataType(int(lib.vl_kmeans_get_data_type(ptr_)))
        self.dtype = self.data_type.dtype
        self._callback: Any = None
        #: the energy of the state this object was restored from (see from_state)
        self.pickled_energy = 0.0

    @classmethod
    def new(cls, data_type: Any, distance: Any = Distance.L2) -> KMeans:
        """New k-means object for VL_TYPE_FLOAT/VL_TYPE_DOUBLE data and a distance
        (L2 or L1). Defaults: Lloyd, random selection, 100 iterations, 1 repetition."""
        dtype_of(data_type)
        return cls(lib.vl_kmeans_new(int(data_type), c_int(distance, "distance")))

    @classmethod
    def of_dtype(cls, dtype: Any, distance: Any = Distance.L2) -> KMeans:
        return cls.new(DataType.of(dtype), distance)

    @classmethod
    def with_centers(cls, centers: np.ndarray) -> KMeans:
        """An L2 k-means object holding ``centers`` (K, D) of float32/float64."""
        km = cls.of_dtype(centers.dtype)
        k, d = centers.shape
        km.set_centers(centers, d, k)
        return km

    def __repr__(self) -> str:
        if self.closed:
            return "<VlKMeans deleted>"
        return (
            f"<VlKMeans {self.dtype} distance={self.distance} "
            f"num_centers={self.num_centers} dimension={self.dimension}>"
        )

    def copy(self) -> KMeans:
        return KMeans(lib.vl_kmeans_new_copy(self))

    def reset(self) -> None:
        lib.vl_kmeans_reset(self)

    # ---- processing ------------------------------------------------------------------

    def _data(self, data: Any, dimension: int, num_data: int | None) -> tuple[np.ndarray, int]:
        d = count(dimension, "dimension")
        if d == 0:
            raise InvalidArgumentError("dimension must be >= 1")
        return as_data(data, d, self.dtype, num_data)

    def _fitted_dimension(self) -> int:
        d = self.dimension
        if d == 0:
            raise StateError(
                "the k-means object has no centers yet (cluster, set or initialise them first)"
            )
        return d

    def cluster(self, data: Any, dimension: int, num_data: int | None, num_centers: int,
                weights: Any = None) -> float:
        """Seed and refine ``num_repetitions`` times; returns the lowest energy
        (weighted with ``weights``, (N,))."""
        x, n = self._data(data, dimension, num_data)
        k = count(num_centers, "num_centers")
        if weights is None:
            return float(lib.vl_kmeans_cluster(self, ptr(x), x.shape[1], n, k))
        w = _weights(weights, n)
        return float(lib.vl_kmeans_cluster_weighted(self, ptr(x), x.shape[1], n, k, _dp(w)))

    def quantize(self, data: Any, num_data: int | None = None,
                 distances: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Nearest center of each point: ``(assignments uint32 (N,), distances (N,))``."""
        x, n = as_data(data, self._fitted_dimension(), self.dtype, num_data)
        a = np.zeros(n, dtype=np.uint32)
        dist = np.zeros(n, dtype=self.dtype) if distances else None
        lib.vl_kmeans_quantize(self, ptr(a), ptr(dist), ptr(x), n)
        return a, dist

    def quantize_energy(self, data: Any, num_data: int | None = None, weights: Any = None,
                        assignments: bool = True, distances: bool = True,
                        ) -> tuple[np.ndarray | None, np.ndarray | None, float]:
        """Nearest center of each point and the energy of the points under the
        centers: ``(assignments uint32 (N,) or None, distances (N,) of the dtype or
        None, energy)``, the energy being ``sum_i w_i d_i`` in float64 (``w_i = 1``
        without ``weights``; weights may all be 0)."""
        x, n = as_data(data, self._fitted_dimension(), self.dtype, num_data)
        w = None if weights is None else _weights(weights, n)
        a = np.zeros(n, dtype=np.uint32) if assignments else None
        dist = np.zeros(n, dtype=self.dtype) if distances else None
        e = float(lib.vl_kmeans_quantize_energy(self, ptr(a), ptr(dist), ptr(x), n, _dp(w)))
        return a, dist, e

    def quantize_ann(self, data: Any, num_data: int | None = None, update: bool = False,
                     assignments: Any = None, distances: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Approximate nearest center (kd-forest). With ``update``, the given
        ``assignments``/``distances`` are kept unless the ANN answer is strictly closer."""
        x, n = as_data(data, self._fitted_dimension(), self.dtype, num_data)
        a = np.zeros(n, dtype=np.uint32) if assignments is None else _given(assignments, n, "assignments")
        dist = (np.zeros(n, dtype=self.dtype) if distances is None
                else _given(distances, n, "distances", self.dtype))
        lib.vl_kmeans_quantize_ann(self, ptr(a), ptr(dist), ptr(x), n, int(bool(update)))
        return a, dist

    def set_centers(self, centers: Any, dimension: int, num_centers: int) -> None:
        """Set K centers (K*D values, flat or (K, D))."""
        d, k = count(dimension, "dimension"), count(num_centers, "num_centers")
        c = as_params(centers, (k, d), self.dtype, "centers")
        lib.vl_kmeans_set_centers(self, ptr(c), d, k)

    def init_centers_with_rand_data(self, data: Any, dimension: int, num_data: int | None,
                                    num_centers: int, weights: Any = None) -> None:
        """Random selection of ``num_centers`` distinct points (with ``weights``:
        drawn in proportion to the weights, without replacement)."""
        x, n = self._data(data, dimension, num_data)
        k = count(num_centers, "num_centers")
        if weights is None:
            lib.vl_kmeans_init_centers_with_rand_data(self, ptr(x), x.shape[1], n, k)
        else:
            lib.vl_kmeans_init_centers_with_rand_data_weighted(
                self, ptr(x), x.shape[1], n, k, _dp(_weights(weights, n)))

    def init_centers_plus_plus(self, data: Any, dimension: int, num_data: int | None,
                               num_centers: int, weights: Any = None) -> None:
        """k-means++ seeding (with ``weights``: D^2 sampling times the weights)."""
        x, n = self._data(data, dimension, num_data)
        k = count(num_centers, "num_centers")
        if weights is None:
            lib.vl_kmeans_init_centers_plus_plus(self, ptr(x), x.shape[1], n, k)
        else:
            lib.vl_kmeans_init_centers_plus_plus_weighted(
                self, ptr(x), x.shape[1], n, k, _dp(_weights(weights, n)))

    def refine_centers(self, data: Any, num_data: int | None = None,
                       weights: Any = None) -> float:
        """Run the configured algorithm from the current centers; returns the energy
        (weighted with ``weights``, (N,))."""
        x, n = as_data(data, self._fitted_dimension(), self.dtype, num_data)
        if weights is None:
            return float(lib.vl_kmeans_refine_centers(self, ptr(x), n))
        w = _weights(weights, n)
        return float(lib.vl_kmeans_refine_centers_weighted(self, ptr(x), n, _dp(w)))

    def set_iteration_callback(self, callback: Callable[[int, float], int] | None) -> None:
        """``callback(iteration, energy)`` after every iteration; a non-zero return
        stops with valid centers (None: no callback)."""
        self._callback = _c_callback(callback)
        lib.vl_kmeans_set_iteration_callback(self, self._callback, None)

    # ---- sufficient statistics (Lloyd by passes over chunks) ---------------------------

    def new_stats(self) -> np.ndarray:
        """A zeroed statistics buffer: K(D+1)+2 doubles."""
        return np.zeros(int(lib.vl_kmeans_stats_size(self)))

    def stats_accumulate(self, stats: np.ndarray, data: np.ndarray, weights: Any = None) -> None:
        """Add the statistics of (n, D) ``data`` (C-contiguous, the object's dtype)
        to ``stats``; with ``weights`` (n,): per-center weight sums, weighted sums
        and the weighted energy (the last entry still counts points)."""
        if weights is None:
            lib.vl_kmeans_stats_accumulate(self, _dp(stats), ptr(data), data.shape[0])
        else:
            w = _weights(weights, data.shape[0])
            lib.vl_kmeans_stats_accumulate_weighted(self, _dp(stats), ptr(data), data.shape[0],
                                                    _dp(w))

    def update_from_stats(self, stats: np.ndarray) -> None:
        lib.vl_kmeans_update_from_stats(self, _dp(stats))

    # ---- parameters -----------------------------------------------------------------

    @property
    def centers(self) -> np.ndarray | None:
        """Centers, flat (K*D,), or None if there are none."""
        address = lib.vl_kmeans_get_centers(self)
        if not address:
            return None
        return copy_from_c(address, self.num_centers * self.dimension, self.dtype)

    def centers_2d(self) -> np.ndarray:
        """Centers as a (K, D) copy."""
        c = self.centers
        if c is None:
            raise StateError("the k-means object has no centers yet")
        return c.reshape(self.num_centers, self.dimension)

    @property
    def distance(self) -> int:
        return int(lib.vl_kmeans_get_distance(self))

    @property
    def dimension(self) -> int:
        return int(lib.vl_kmeans_get_dimension(self))

    @property
    def num_centers(self) -> int:
        return int(lib.vl_kmeans_get_num_centers(self))

    @property
    def energy(self) -> float:
        return float(lib.vl_kmeans_get_energy(self))

    @property
    def algorithm(self) -> int:
        return int(lib.vl_kmeans_get_algorithm(self))

    @algorithm.setter
    def algorithm(self, algorithm: int) -> None:
        if algorithm not in set(KMeansAlgorithm):
            raise InvalidArgumentError(f"unknown algorithm {algorithm!r} (Lloyd=0, Elkan=1, ANN=2)")
        lib.vl_kmeans_set_algorithm(self, int(algorithm))

    @property
    def initialization(self) -> int:
        return int(lib.vl_kmeans_get_initialization(self))

    @initialization.setter
    def initialization(self, initialization: int) -> None:
        if initialization not in set(KMeansInit):
            raise InvalidArgumentError(
                f"unknown initialization {initialization!r} (RandomSelection=0, PlusPlus=1)"
            )
        lib.vl_kmeans_set_initialization(self, int(initialization))

    @property
    def num_repetitions(self) -> int:
        return int(lib.vl_kmeans_get_num_repetitions(self))

    @num_repetitions.setter
    def num_repetitions(self, value: int) -> None:
        lib.vl_kmeans_set_num_repetitions(self, count(value, "num_repetitions"))

    @property
    def max_num_iterations(self) -> int:
        return int(lib.vl_kmeans_get_max_num_iterations(self))

    @max_num_iterations.setter
    def max_num_iterations(self, value: int) -> None:
        lib.vl_kmeans_set_max_num_iterations(self, count(value, "max_num_iterations"))

    @property
    def min_energy_variation(self) -> float:
        return float(lib.vl_kmeans_get_min_energy_variation(self))

    @min_energy_variation.setter
    def min_energy_variation(self, value: float) -> None:
        lib.vl_kmeans_set_min_energy_variation(self, float(value))

    @property
    def verbosity(self) -> int:
        return int(lib.vl_kmeans_get_verbosity(self))

    @verbosity.setter
    def verbosity(self, value: int) -> None:
        lib.vl_kmeans_set_verbosity(self, c_int(value, "verbosity"))

    @property
    def max_num_comparisons(self) -> int:
        return int(lib.vl_kmeans_get_max_num_comparisons(self))

    @max_num_comparisons.setter
    def max_num_comparisons(self, value: int) -> None:
        lib.vl_kmeans_set_max_num_comparisons(self, count(value, "max_num_comparisons"))

    @property
    def num_trees(self) -> int:
        return int(lib.vl_kmeans_get_num_trees(self))

    @num_trees.setter
    def num_trees(self, value: int) -> None:
        lib.vl_kmeans_set_num_trees(self, count(value, "num_trees"))

    # ---- state (pickling) -------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the setters can restore (see :meth:`GMM.state`): ``data_type``,
        ``distance``, ``algorithm``, ``initialization``, ``num_repetitions``,
        ``verbosity``, ``max_num_iterations``, ``min_energy_variation``,
        ``max_num_comparisons``, ``num_trees``, ``centers`` ((K*D,) or None),
        ``dimension``, ``num_centers`` and ``energy``."""
        e = self.energy
        return {
            "kind": "VlKMeans",
            "data_type": int(self.data_type),
            "distance": self.distance,
            "algorithm": self.algorithm,
            "initialization": self.initialization,
            "num_repetitions": self.num_repetitions,
            "verbosity": self.verbosity,
            "max_num_iterations": self.max_num_iterations,
            "min_energy_variation": self.min_energy_variation,
            "max_num_comparisons": self.max_num_comparisons,
            "num_trees": self.num_trees,
            "centers": self.centers,
            "dimension": self.dimension,
            "num_centers": self.num_centers,
            "energy": e if e != 0.0 else self.pickled_energy,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> KMeans:
        k = cls.new(state["data_type"], state["distance"])
        k.algorithm = state["algorithm"]
        k.initialization = state["initialization"]
        k.num_repetitions = state["num_repetitions"]
        k.verbosity = state["verbosity"]
        k.max_num_iterations = state["max_num_iterations"]
        k.min_energy_variation = state["min_energy_variation"]
        k.max_num_comparisons = state["max_num_comparisons"]
        k.num_trees = state["num_trees"]
        if state["centers"] is not None:
            k.set_centers(state["centers"], state["dimension"], state["num_centers"])
        k.pickled_energy = float(state["energy"])
        return k

    def __reduce__(self) -> Any:
        if self.closed:
            raise StateError(f"this {self._kind} has been deleted")
        return (from_state, (self.state(),))


def from_state(state: Mapping[str, Any]) -> GMM | KMeans:
    """The object of a :meth:`GMM.state` / :meth:`KMeans.state` dict (unpickling)."""
    kind = state.get("kind")
    if kind == "VlGMM":
        return GMM.from_state(state)
    if kind == "VlKMeans":
        return KMeans.from_state(state)
    raise ValueError(f"not a handle state (kind {kind!r})")


def _weights(weights: Any, n: int) -> np.ndarray:
    """Sample weights as a C-contiguous float64 (n,) array (a copy only if needed;
    libgmm checks the values and never writes them)."""
    w = as_array(weights, np.dtype(np.float64), "weights")
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},) (one per point), got shape {w.shape}")
    return w


def _labels(labels: Any, n: int, k: int) -> np.ndarray:
    """(n,) integer labels in [0, k) as a uint32 array (a copy only if needed)."""
    arr = numeric(labels, "labels")
    if arr.size != n or arr.ndim > 1:
        raise ValueError(f"labels must have {n} values (one per point), got shape {arr.shape}")
    if arr.dtype.kind not in "iub":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)):
            raise InvalidArgumentError("labels must be integers")
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        raise InvalidArgumentError(f"labels must be in [0, {k}), got [{arr.min()}, {arr.max()}]")
    return c_array(arr.reshape(n), np.uint32)


def _given(values: Any, n: int, name: str, dtype: Any = None) -> np.ndarray:
    """A copy of the current assignments (uint32) or distances (``dtype``) of n points."""
    arr = as_array(values, np.dtype(np.float64) if dtype is None else dtype, name)
    if arr.size != n:
        raise ValueError(f"{name} must have {n} values (one per point), got shape {arr.shape}")
    arr = arr.reshape(n).copy()
    if dtype is None:
        if np.any(arr != np.floor(arr)) or np.any(arr < 0) or np.any(arr > 0xFFFFFFFF):
            raise InvalidArgumentError(f"{name} must be integers in [0, 2**32)")
        return arr.astype(np.uint32)
    return arr
