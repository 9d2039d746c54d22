"""scikit-learn estimators on libgmm: :class:`GaussianMixture` and :class:`KMeans`.

They follow scikit-learn's conventions (parameters stored by ``__init__``,
validated in ``fit``, learned attributes ending in ``_``, ``fit`` returns
``self``) and pass ``sklearn.utils.estimator_checks.check_estimator``. This
module needs scikit-learn (``pip install "pyvl[sklearn]"``); the rest of pyvl
does not.

Both keep the input's precision: float32 data is fitted in float32 and the
learned arrays are float32; anything else is fitted in float64. Training
never builds an N x K array. ``random_state`` makes fits bitwise repeatable:
it seeds libgmm's MT19937 generator for the duration of the fit (the
generator's previous state is restored afterwards).
"""

from __future__ import annotations

import ctypes
import numbers
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _chunked
from ._arrays import c_array, ptr
from ._errors import TrainingInterrupted
from ._lib import VlRandStruct, lib
from ._progress import IterationCallback, Monitor

__all__ = ["GaussianMixture", "KMeans"]

_VL_TYPE = {np.dtype(np.float32): 1, np.dtype(np.float64): 2}
_FLOAT_DTYPES = [np.float64, np.float32]


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed the calling thread's libgmm generator; restore its state after."""
    rand = lib.vl_get_rand()
    saved = VlRandStruct()
    ctypes.memmove(ctypes.byref(saved), rand, ctypes.sizeof(VlRandStruct))
    lib.vl_rand_seed(rand, seed)
    try:
        yield
    finally:
        ctypes.memmove(rand, ctypes.byref(saved), ctypes.sizeof(VlRandStruct))


@contextmanager
def _threads(n_threads: int | None) -> Iterator[None]:
    """Use n_threads libgmm threads inside the block (None: leave as is)."""
    if n_threads is None:
        yield
        return
    _check_positive_int(n_threads, "n_threads")
    before = int(lib.vl_get_max_threads())
    lib.vl_set_num_threads(int(n_threads))
    try:
        yield
    finally:
        lib.vl_set_num_threads(before)


def _seed_from(random_state: Any) -> int:
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _variance(X: np.ndarray, block: int = 4096) -> np.ndarray:
    """Unbiased per-feature variance in float64, two passes over row blocks
    (no full-size temporary; 0 for a single row)."""
    n = X.shape[0]
    if n < 2:
        return np.zeros(X.shape[1])
    mean = X.mean(axis=0, dtype=np.float64)
    ss = np.zeros(X.shape[1])
    for i in range(0, n, block):
        z = X[i : i + block] - mean
        ss += np.einsum("ij,ij->j", z, z)
    return ss / (n - 1)


def _work_dtype(X: np.ndarray, dtype: Any) -> np.dtype:
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt not in _VL_TYPE:
            raise ValueError(f"dtype must be float32, float64 or None, got {dtype!r}")
        return dt
    return X.dtype if X.dtype in _VL_TYPE else np.dtype(np.float64)


class _Gmm:
    """A libgmm VlGMM owned by Python (freed on garbage collection)."""

    def __init__(self, dtype: np.dtype, d: int, k: int) -> None:
        self.dtype, self.d, self.k = dtype, d, k
        self.ptr = lib.vl_gmm_new(_VL_TYPE[dtype], d, k)
        self._free = lib.vl_gmm_delete

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            self._free(self.ptr)
            self.ptr = None

    def set_params(self, weights, means, covariances) -> None:
        for fn, a in (
            (lib.vl_gmm_set_priors, weights),
            (lib.vl_gmm_set_means, means),
            (lib.vl_gmm_set_covariances, covariances),
        ):
            fn(self.ptr, ptr(c_array(a, dtype=self.dtype)))

    def get(self, getter, shape) -> np.ndarray:
        n = int(np.prod(shape))
        buf = (ctypes.c_char * (n * self.dtype.itemsize)).from_address(getter(self.ptr))
        return np.frombuffer(buf, dtype=self.dtype).copy().reshape(shape)

    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            self.get(lib.vl_gmm_get_priors, (self.k,)),
            self.get(lib.vl_gmm_get_means, (self.k, self.d)),
            self.get(lib.vl_gmm_get_covariances, (self.k, self.d)),
        )


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture with diagonal covariances, trained by libgmm's EM.

    The EM of VLFeat (posteriors below 1e-2/K ignored in the M-step, restart
    of components that empty out, variances bounded below), with
    scikit-learn's interface. Only ``covariance_type="diag"`` exists.

    Parameters
    ----------
    n_components : int, default 1
        Number of mixture components K.
    covariance_type : {"diag"}, default "diag"
        Kept for scikit-learn compatibility; libgmm's components are diagonal.
    tol : float, default 1e-3
        EM stops when the average log-likelihood per sample changes by less
        than ``tol`` between iterations (scikit-learn's criterion).
    covariance_lower_bound : float or array of shape (n_features,), default 1e-4
        Lower bound of every variance (VLFeat's default). scikit-learn's
        ``reg_covar`` adds to the variances instead; this bounds them.
    max_iter : int, default 100
        Maximum number of EM iterations (M-steps) per initialisation.
    n_init : int, default 1
        Number of initialisations; the best log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        "kmeans": one M-step on a k-means clustering (k-means++ seeded Lloyd);
        "k-means++" (or "random", VLFeat's "rand"): means seeded by k-means++,
        variances of the data, uniform weights; "random_from_data": means at
        random data points, variances of the data, uniform weights.
    weights_init, means_init, precisions_init : arrays, optional
        Initial weights (K,), means (K, D), precisions 1/variance (K, D);
        given ones replace those of the initialisation method.
    random_state : int, RandomState or None
        Seed of the initialisation. The same value gives bitwise the same model.
    warm_start : bool, default False
        Start from the previous fit's parameters (with ``n_init`` = 1).
    verbose : int, default 0
        1: a progress bar (if tqdm is installed) and INFO logs on the
        ``pyvl`` logger; 2: also DEBUG logs per iteration.
    verbose_interval : int, default 10
        Kept for scikit-learn compatibility.
    n_threads : int or None
        libgmm threads during fit/predict (None: libgmm's setting). Results do
        not depend on it.
    dtype : {None, float32, float64}
        Working precision; None keeps float32 input in float32, else float64.
    chunk_size : int or None
        Out-of-core/Dask fits only: rows per chunk (None: about 32 MiB per
        chunk of a memmap; a list's arrays or a Dask array's blocks as given).
    init_sample_size : int or None
        Out-of-core/Dask fits only: the initialisation runs on a uniform
        random sample of at most this many rows (None: max(100 K, 10000)).

    ``fit`` also takes data that is not one in-memory array: a
    ``numpy.memmap``, a list of 2-D arrays, a re-iterable or a callable
    returning a fresh iterator of 2-D chunks, or a ``dask.array.Array``
    (trained on the active ``dask.distributed`` cluster). EM then runs by
    sufficient statistics, one pass per iteration, with in-memory EM's result
    up to rounding for the same initialisation; see ``pyvl/_chunked.py`` and
    ``docs/scaling.md``. The fitted estimator is the usual in-memory one.

    Attributes
    ----------
    weights_ : (K,) ; means_ : (K, D) ; covariances_ : (K, D)
    precisions_ : (K, D) ; precisions_cholesky_ : (K, D)
    converged_ : bool ; n_iter_ : int ; lower_bound_ : float
        Average log-likelihood per sample of the kept fit.
    lower_bounds_ : list of float
        Average log-likelihood after each E-step of the kept fit.
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "diag",
        tol: float = 1e-3,
        covariance_lower_bound: Any = 1e-4,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        n_threads: int | None = None,
        dtype: Any = None,
        chunk_size: int | None = None,
        init_sample_size: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.covariance_lower_bound = covariance_lower_bound
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.dtype = dtype
        self.chunk_size = chunk_size
        self.init_sample_size = init_sample_size

    # ---- fitting ---------------------------------------------------------------

    def _validate_params(self, n_features: int) -> None:
        _check_positive_int(self.n_components, "n_components")
        _check_positive_int(self.max_iter, "max_iter", 0)
        _check_positive_int(self.n_init, "n_init")
        if self.covariance_type != "diag":
            raise ValueError(
                f"covariance_type must be 'diag' (libgmm fits diagonal covariances), "
                f"got {self.covariance_type!r}"
            )
        if self.init_params not in ("kmeans", "k-means++", "random", "random_from_data"):
            raise ValueError(
                "init_params must be 'kmeans', 'k-means++', 'random' or 'random_from_data', "
                f"got {self.init_params!r}"
            )
        if not (isinstance(self.tol, numbers.Real) and self.tol >= 0):
            raise ValueError(f"tol must be a float >= 0, got {self.tol!r}")
        bound = np.asarray(self.covariance_lower_bound, dtype=np.float64)
        if bound.ndim > 1 or (bound.ndim == 1 and bound.shape[0] != n_features):
            raise ValueError(
                f"covariance_lower_bound must be a float or an array of {n_features} values"
            )
        if not np.all(np.isfinite(bound)) or np.any(bound < 0):
            raise ValueError("covariance_lower_bound must be finite and >= 0")

    def _user_init(self, k: int, d: int, dtype: np.dtype) -> dict:
        out = {}
        for name, shape in (("weights_init", (k,)), ("means_init", (k, d)), ("precisions_init", (k, d))):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
            out[name] = arr
        if "weights_init" in out:
            w = out["weights_init"]
            if np.any(w < 0):
                raise ValueError(f"weights_init must be non-negative, got min {w.min():.6g}")
            if not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(
                    f"weights_init must be non-negative and sum to 1, got sum {w.sum():.6g}"
                )
        if "precisions_init" in out and np.any(out["precisions_init"] <= 0):
            raise ValueError("precisions_init must be positive")
        return out

    def fit(self, X: Any, y: Any = None) -> GaussianMixture:
        """Fit the mixture to X of shape (n_samples, n_features). Returns self."""
        if _chunked.is_chunk_source(X):  # memmap, chunks, Dask array: EM by statistics
            return _chunked.fit_gaussian_mixture(self, X)
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit, then return the most likely component of every sample (n_samples,)."""
        if _chunked.is_chunk_source(X):
            _chunked.fit_gaussian_mixture(self, X)
            return _chunked.predict_gaussian_mixture(self, X)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, ensure_min_samples=2 if self.n_components > 1 else 1)
        n, d = X.shape
        self._validate_params(d)
        k = int(self.n_components)
        if n < k:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {k}, n_samples = {n}"
            )
        dtype = _work_dtype(X, self.dtype)
        X = c_array(X, dtype=dtype)
        user = self._user_init(k, d, dtype)
        warm = self.warm_start and hasattr(self, "means_")
        n_init = 1 if warm else int(self.n_init)
        rng = check_random_state(self.random_state)

        gmm = _Gmm(dtype, d, k)
        bound = np.asarray(self.covariance_lower_bound, dtype=np.float64)
        if bound.ndim == 0:
            lib.vl_gmm_set_covariance_lower_bound(gmm.ptr, float(bound))
        else:
            lib.vl_gmm_set_covariance_lower_bounds(gmm.ptr, bound.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
        lib.vl_gmm_set_store_posteriors(gmm.ptr, 0)
        lib.vl_gmm_set_convergence_threshold(gmm.ptr, 0.0)
        lib.vl_gmm_set_max_num_iterations(gmm.ptr, int(self.max_iter))
        tol = float(self.tol)
        monitor = Monitor("gmm", int(self.max_iter), self.verbose,
                          converged=lambda a, b: abs(b - a) / n < tol)
        lib.vl_gmm_set_iteration_callback(gmm.ptr, monitor.c_callback, None)

        best = None
        interrupted = False
        with _threads(self.n_threads):
            for trial in range(n_init):
                seed = int(rng.randint(np.iinfo(np.int32).max))
                with _seeded(seed):
                    self._initialize(gmm, X, k, d, user, warm, dtype)
                monitor.start(f"GaussianMixture init {trial + 1}/{n_init}")
                try:
                    with monitor.catching_sigint():
                        ll = lib.vl_gmm_em(gmm.ptr, ptr(X), n)
                except TrainingInterrupted:
                    ll = float(lib.vl_gmm_get_loglikelihood(gmm.ptr))
                finally:
                    monitor.close()
                values = list(monitor.values)
                result = (ll, gmm.params(), monitor.converged, max(len(values) - 1, 0), values)
                if best is None or ll > best[0]:
                    best = result
                if monitor.interrupted:
                    interrupted = True
                    break
        lib.vl_gmm_set_iteration_callback(gmm.ptr, _NO_CALLBACK, None)

        self._adopt(best, n, interrupted)
        return self.predict(X)

    def _adopt(self, best: tuple, n: int, interrupted: bool) -> None:
        """Set the fitted attributes from the kept run (ll, (weights, means,
        covariances), converged, n_iter, per-iteration log-likelihoods) over n
        points; re-raise a Ctrl-C, or warn if EM did not converge."""
        ll, (w, m, c), converged, n_iter, values = best
        self.weights_, self.means_, self.covariances_ = w, m, c
        self.precisions_ = 1.0 / c
        self.precisions_cholesky_ = 1.0 / np.sqrt(c)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        self.lower_bound_ = float(ll) / n if n else float("nan")
        self.lower_bounds_ = [v / n for v in values] if n else []
        if interrupted:
            raise KeyboardInterrupt
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                f"GaussianMixture did not converge in {self.max_iter} iterations "
                f"(tol={self.tol}); try a larger max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _initialize(self, gmm: _Gmm, X, k, d, user, warm, dtype) -> None:
        n = X.shape[0]
        if warm:
            gmm.set_params(self.weights_, self.means_, self.covariances_)
        elif self.init_params == "kmeans":
            km = lib.vl_kmeans_new(_VL_TYPE[dtype], 1)  # L2
            try:
                lib.vl_kmeans_set_algorithm(km, 0)  # Lloyd
                lib.vl_kmeans_set_initialization(km, 1)  # k-means++
                lib.vl_kmeans_set_max_num_iterations(km, 20)
                lib.vl_gmm_init_with_kmeans(gmm.ptr, ptr(X), n, km)
            finally:
                lib.vl_gmm_set_kmeans_init_object(gmm.ptr, None)
                lib.vl_kmeans_delete(km)
        elif self.init_params in ("k-means++", "random"):
            lib.vl_gmm_init_with_rand_data(gmm.ptr, ptr(X), n)
        else:  # random_from_data: indices from libgmm's seeded generator
            rand = lib.vl_get_rand()
            idx = [int(lib.vl_rand_uindex(rand, n)) for _ in range(k)]
            gmm.set_params(np.full(k, 1.0 / k), X[idx], np.tile(_variance(X), (k, 1)))
        if user:
            w, m, c = gmm.params()
            w = user.get("weights_init", w)
            m = user.get("means_init", m)
            if "precisions_init" in user:
                c = 1.0 / user["precisions_init"]
            gmm.set_params(w, m, c)

    # ---- using the fitted model ------------------------------------------------

    def _fitted_gmm(self) -> _Gmm:
        check_is_fitted(self)
        k, d = self.means_.shape
        g = _Gmm(self.means_.dtype, d, k)
        g.set_params(self.weights_, self.means_, self.covariances_)
        lib.vl_gmm_set_covariance_lower_bound(g.ptr, 0.0)
        return g

    def _estep(self, X: Any, posteriors: bool = False, loglik: bool = False, labels: bool = False):
        g = self._fitted_gmm()
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        X = c_array(X, dtype=g.dtype)
        n = X.shape[0]
        q = np.empty((n, g.k), dtype=g.dtype) if posteriors else None
        ll = np.empty(n, dtype=np.float64) if loglik else None
        lab = np.empty(n, dtype=np.uint32) if labels else None
        with _threads(self.n_threads):
            lib.vl_gmm_estep(
                g.ptr, ptr(X), n, ptr(q),
                None if ll is None else ll.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                None if lab is None else lab.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)),
            )
        return q, ll, lab

    def predict(self, X: Any) -> np.ndarray:
        """Most likely component of every sample: (n_samples,) int64."""
        return self._estep(X, labels=True)[2].astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probabilities (n_samples, n_components), in the model's dtype."""
        return self._estep(X, posteriors=True)[0]

    def score_samples(self, X: Any) -> np.ndarray:
        """log p(x) of every sample: (n_samples,) float64."""
        return self._estep(X, loglik=True)[1]

    def score(self, X: Any, y: Any = None) -> float:
        """Average log-likelihood per sample."""
        return float(self.score_samples(X).mean())

    def _n_parameters(self) -> int:
        k, d = self.means_.shape
        return int(2 * k * d + k - 1)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion (lower is better)."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return float(-2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0]))

    def aic(self, X: Any) -> float:
        """Akaike information criterion (lower is better)."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return float(-2 * self.score(X) * X.shape[0] + 2 * self._n_parameters())

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples: (X (n_samples, D) in the model's dtype, component labels)."""
        check_is_fitted(self)
        n_samples = _check_positive_int(n_samples, "n_samples")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_.astype(np.float64) / self.weights_.sum())
        xs, ys = [], []
        for j, c in enumerate(counts):
            xs.append(self.means_[j] + rng.standard_normal((c, self.means_.shape[1])) * np.sqrt(self.covariances_[j]))
            ys.append(np.full(c, j, dtype=np.int64))
        return np.vstack(xs).astype(self.means_.dtype), np.concatenate(ys)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def save(self, path: Any) -> None:
        """Write the parameters and the learned arrays to a portable ``.npz`` file
        (:func:`pyvl.io.save`; see ``docs/persistence.md``)."""
        from . import io

        io.save(self, path)

    @classmethod
    def load(cls, path: Any) -> GaussianMixture:
        """Read a GaussianMixture written by :meth:`save`; raises
        :class:`pyvl.io.ModelFileError` (a ``ValueError``) for an invalid file."""
        from . import io

        return io.load(path, cls)  # type: ignore[no-any-return]


_NO_CALLBACK = IterationCallback()  # a NULL function pointer


def _sq_distances(X: Any, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, k) in float64, accurate far from the origin.

    The expanded form |x|^2 - 2 x.c + |c|^2 (one matrix product) is taken around
    the centers' mean, so its rounding error, at most about (D + 2) 2^-53
    (|x'| + |c'|)^2 with x' = x - mean and c' = c - mean, does not grow with a
    common offset of the data; entries too small to be trusted to 1e-10
    (points very close to a center) are recomputed directly as sum (x - c)^2.
    """
    c = np.asarray(centers, dtype=np.float64)
    shift = c.mean(axis=0)
    xs = np.asarray(X, dtype=np.float64) - shift
    cs = c - shift
    xn = np.einsum("ij,ij->i", xs, xs)
    cn = np.einsum("ij,ij->i", cs, cs)
    d2 = xn[:, None] - 2 * (xs @ cs.T) + cn[None, :]
    err = (xs.shape[1] + 2) * 2.0**-53 * (np.sqrt(xn)[:, None] + np.sqrt(cn)[None, :]) ** 2
    rows, cols = np.nonzero(d2 <= 1e10 * err)
    if rows.size:
        diff = xs[rows] - cs[cols]
        d2[rows, cols] = np.einsum("ij,ij->i", diff, diff)
    return np.maximum(d2, 0.0)


class KMeans(TransformerMixin, ClusterMixin, BaseEstimator):
    """k-means clustering on libgmm (VLFeat's k-means, with SIMD kernels).

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "random"} or array (n_clusters, n_features), default "k-means++"
        Seeding: k-means++ or VLFeat's random selection of distinct points,
        or given centers.
    n_init : int, default 1
        Seedings tried; the lowest energy (inertia) is kept. Ignored with an
        array ``init``.
    max_iter : int, default 300
    tol : float, default 1e-4
        Lloyd stops when the energy's relative decrease (VLFeat's criterion,
        (E_prev - E) / (E_0 - E)) falls below ``tol``; Elkan stops when no
        point changes cluster.
    algorithm : {"lloyd", "elkan", "ann"}, default "lloyd"
        Exact Lloyd, exact Elkan (triangle-inequality bounds), or approximate
        nearest neighbours with a randomised kd-forest (VLFeat's ANN).
    random_state : int, RandomState or None
    verbose : int, default 0
    n_threads : int or None
    dtype : {None, float32, float64}
    chunk_size, init_sample_size : int or None
        Out-of-core/Dask fits only, as in :class:`GaussianMixture`.

    ``fit`` also takes a ``numpy.memmap``, a list of 2-D arrays, a
    re-iterable or callable chunk source, or a ``dask.array.Array``: Lloyd
    then runs by sufficient statistics, one pass per iteration, seeded on a
    random sample; a center that receives no point keeps its place (in-memory
    Lloyd restarts it). ``labels_`` is then a numpy array (a lazy dask array
    for Dask input). See ``pyvl/_chunked.py``.

    Attributes
    ----------
    cluster_centers_ : (n_clusters, n_features) ; labels_ : (n_samples,) int64
    inertia_ : float (sum of squared distances to the nearest center)
    n_iter_ : int ; n_features_in_ : int
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        algorithm: str = "lloyd",
        random_state: Any = None,
        verbose: int = 0,
        n_threads: int | None = None,
        dtype: Any = None,
        chunk_size: int | None = None,
        init_sample_size: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.dtype = dtype
        self.chunk_size = chunk_size
        self.init_sample_size = init_sample_size

    _ALGORITHMS = {"lloyd": 0, "elkan": 1, "ann": 2}

    def _new(self, dtype: np.dtype) -> Any:
        km = lib.vl_kmeans_new(_VL_TYPE[dtype], 1)
        return km

    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Cluster X (n_samples, n_features). Returns self."""
        if _chunked.is_chunk_source(X):  # memmap, chunks, Dask array: Lloyd by statistics
            return _chunked.fit_kmeans(self, X)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES)
        n, d = X.shape
        k = _check_positive_int(self.n_clusters, "n_clusters")
        _check_positive_int(self.max_iter, "max_iter", 0)
        _check_positive_int(self.n_init, "n_init")
        if self.algorithm not in self._ALGORITHMS:
            raise ValueError(f"algorithm must be 'lloyd', 'elkan' or 'ann', got {self.algorithm!r}")
        if not (isinstance(self.tol, numbers.Real) and self.tol >= 0):
            raise ValueError(f"tol must be a float >= 0, got {self.tol!r}")
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        dtype = _work_dtype(X, self.dtype)
        X = c_array(X, dtype=dtype)
        centers_init = None
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(f"init must be 'k-means++', 'random' or an array, got {self.init!r}")
        else:
            centers_init = np.asarray(self.init, dtype=np.float64)
            if centers_init.shape != (k, d) or not np.all(np.isfinite(centers_init)):
                raise ValueError(
                    f"init array must be finite with shape ({k}, {d}), got {centers_init.shape}"
                )
        km = self._new(dtype)
        monitor = Monitor("kmeans", int(self.max_iter), self.verbose)
        interrupted = False
        try:
            lib.vl_kmeans_set_algorithm(km, self._ALGORITHMS[self.algorithm])
            lib.vl_kmeans_set_initialization(km, 1 if isinstance(self.init, str) and self.init == "k-means++" else 0)
            lib.vl_kmeans_set_max_num_iterations(km, int(self.max_iter))
            lib.vl_kmeans_set_min_energy_variation(km, float(self.tol))
            lib.vl_kmeans_set_num_repetitions(km, 1 if centers_init is not None else int(self.n_init))
            lib.vl_kmeans_set_iteration_callback(km, monitor.c_callback, None)
            monitor.start("KMeans")
            with _threads(self.n_threads), _seeded(_seed_from(self.random_state)), \
                    monitor.catching_sigint():
                try:
                    if centers_init is None:
                        lib.vl_kmeans_cluster(km, ptr(X), d, n, k)
                    else:
                        c0 = c_array(centers_init, dtype=dtype)
                        lib.vl_kmeans_set_centers(km, ptr(c0), d, k)
                        lib.vl_kmeans_refine_centers(km, ptr(X), n)
                except TrainingInterrupted:
                    interrupted = monitor.interrupted
            monitor.close()
            buf = (ctypes.c_char * (k * d * dtype.itemsize)).from_address(lib.vl_kmeans_get_centers(km))
            self.cluster_centers_ = np.frombuffer(buf, dtype=dtype).copy().reshape(k, d)
            # Lloyd and ANN report the energy before every update and once after the
            # last one; Elkan reports before every update only
            updates = len(monitor.values) - (self.algorithm != "elkan")
            self.n_iter_ = max(updates, 1 if self.max_iter > 0 else 0)
            labels, dist = self._quantize(km, X)
        finally:
            lib.vl_kmeans_set_iteration_callback(km, _NO_CALLBACK, None)
            lib.vl_kmeans_delete(km)
        self.labels_ = labels.astype(np.int64)
        self.inertia_ = float(np.sum(dist, dtype=np.float64))
        if interrupted:
            raise KeyboardInterrupt
        return self

    def _quantize(self, km: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = X.shape[0]
        a = np.empty(n, dtype=np.uint32)
        dist = np.empty(n, dtype=X.dtype)
        with _threads(self.n_threads):
            lib.vl_kmeans_quantize(km, ptr(a), ptr(dist), ptr(X), n)
        return a, dist

    def _assign(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        dtype = self.cluster_centers_.dtype
        X = c_array(X, dtype=dtype)
        km = self._new(dtype)
        try:
            k, d = self.cluster_centers_.shape
            lib.vl_kmeans_set_centers(km, ptr(c_array(self.cluster_centers_)), d, k)
            return self._quantize(km, X)
        finally:
            lib.vl_kmeans_delete(km)

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest center of every sample: (n_samples,) int64."""
        return self._assign(X)[0].astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).labels_

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances to every center: (n_samples, n_clusters)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return np.sqrt(_sq_distances(X, self.cluster_centers_)).astype(self.cluster_centers_.dtype)

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the inertia of X."""
        return -float(np.sum(self._assign(X)[1], dtype=np.float64))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"kmeans{i}" for i in range(self.cluster_centers_.shape[0])], dtype=object)

    def save(self, path: Any) -> None:
        """Write the parameters and the learned arrays to a portable ``.npz`` file
        (:func:`pyvl.io.save`; see ``docs/persistence.md``)."""
        from . import io

        io.save(self, path)

    @classmethod
    def load(cls, path: Any) -> KMeans:
        """Read a KMeans written by :meth:`save`; raises
        :class:`pyvl.io.ModelFileError` (a ``ValueError``) for an invalid file."""
        from . import io

        return io.load(path, cls)  # type: ignore[no-any-return]
