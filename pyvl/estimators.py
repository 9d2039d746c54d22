"""scikit-learn estimators on libgmm: :class:`GaussianMixture` and :class:`KMeans`.

They follow scikit-learn's conventions (parameters stored by ``__init__``,
validated in ``fit``, learned attributes ending in ``_``, ``fit`` returns
``self``) and pass ``sklearn.utils.estimator_checks.check_estimator``. This
module needs scikit-learn (``pip install "pyvl[sklearn]"``); the rest of pyvl
does not. It is a facade: validation, training and the data sources are
``pyvl._training``'s, the C objects ``pyvl._core``'s, model files
``pyvl.io``'s (through the protocol the classes implement here).

Both keep the input's precision: float32 data is fitted in float32 and the
learned arrays are float32; anything else is fitted in float64. Training
never builds an N x K array. ``random_state`` makes fits bitwise repeatable:
it seeds libgmm's MT19937 generator for the duration of the fit (the
generator's previous state is restored afterwards).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import io
from ._core.arrays import FLOAT_DTYPES, c_array, work_dtype
from ._core.objects import GMM
from ._core.runtime import num_threads
from ._training import data as _data
from ._training import gmm as _gmm
from ._training import kmeans as _kmeans
from ._training.params import (
    check_sample_weight,
    gmm_params,
    kmeans_params,
    optional_positive,
    positive,
)
from ._training.params import covariances_shape as _covariances_shape

__all__ = ["GaussianMixture", "KMeans"]

_FLOAT_DTYPES = list(FLOAT_DTYPES[::-1])  # validate_data's order: float64 first


def _sample_count(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else 0


def _chunked_source(est: Any, X: Any, sample_weight: Any = None) -> _data.LocalPasses | _data.DaskPasses:
    """Passes over chunked X with the estimator's chunk size, dtype and threads
    (and X's sample weights)."""
    chunk_size = optional_positive(est.chunk_size, "chunk_size")
    optional_positive(est.init_sample_size, "init_sample_size")
    return _data.open_source(X, chunk_size, est.dtype, est.n_threads, sample_weight)


def _adopt_features(est: Any, d: int) -> None:
    """n_features_in_ of a chunked fit (validate_data sets it for arrays)."""
    est.n_features_in_ = d
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_


# ---- the model-file protocol shared by both estimators ------------------------------------


def _feature_names(obj: Any, out: dict[str, np.ndarray]) -> None:
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        out["feature_names_in_"] = np.asarray([str(n) for n in names], dtype=str)


def _restore_common(obj: Any, m: io.Members, d: int) -> None:
    """n_features_in_ (= D) and the optional feature_names_in_ of a fitted estimator."""
    n = m.integer("n_features_in_", 1)
    if n != d:
        raise io.ModelFileError(f"n_features_in_ is {n}, the model has dimension {d}")
    obj.n_features_in_ = n
    if m.has("feature_names_in_"):
        names = m.get("feature_names_in_")
        if names.dtype.kind != "U" or names.shape != (d,):
            raise io.ModelFileError(f"feature_names_in_ must be {d} strings")
        obj.feature_names_in_ = np.asarray(names.tolist(), dtype=object)


def _check_params(check: Any, est: Any, d: int | None) -> None:
    """The estimator's parameters as fit would check them (ModelFileError)."""
    try:
        check(est, d)
    except ValueError as exc:
        raise io.ModelFileError(f"invalid parameters for {type(est).__name__}: {exc}") from exc


def _check_model_dtype(dtype_param: Any, actual: np.dtype, what: str) -> None:
    if dtype_param is not None:
        try:
            wanted = np.dtype(dtype_param)
        except TypeError as exc:
            raise io.ModelFileError(f"{what}: invalid dtype parameter {dtype_param!r}") from exc
        if wanted != actual:
            raise io.ModelFileError(f"{what}: dtype parameter is {wanted}, the arrays are {actual}")


class _Persistent:
    """``save``/``load`` and the protocol's parameters, for scikit-learn estimators."""

    _pyvl_name: str

    def _pyvl_params(self) -> dict[str, Any]:
        return self.get_params(deep=False)  # type: ignore[attr-defined]

    def save(self, path: Any) -> None:
        """Write the parameters and the learned arrays to a portable ``.npz`` file
        (:func:`pyvl.io.save`; see ``docs/persistence.md``)."""
        io.save(self, path)

    @classmethod
    def load(cls, path: Any) -> Any:
        """Read an estimator written by :meth:`save`; raises
        :class:`pyvl.io.ModelFileError` (a ``ValueError``) for an invalid file."""
        return io.load(path, cls)


def _precisions(covariances: np.ndarray, covariance_type: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``(precisions_, precisions_cholesky_)`` of covariances in the
    type's layout, in their dtype (computed in float64): for full and tied, the
    Cholesky factor L of each covariance gives U = L^-T (upper triangular) and the
    precision U U^T; for diag and spherical 1 / v and 1 / sqrt(v). A covariance
    that is not positive definite is a ``ValueError``."""
    c = np.asarray(covariances)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / c, 1.0 / np.sqrt(c)
    d = int(c.shape[-1])
    mats = c.astype(np.float64).reshape(-1, d, d)
    prec = np.empty_like(mats)
    chol = np.empty_like(mats)
    eye = np.eye(d)
    for k, m in enumerate(mats):
        try:
            low = np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            raise ValueError(f"covariance {k} is not positive definite") from None
        chol[k] = np.triu(np.linalg.solve(low, eye).T)  # L^-T: upper triangular
        prec[k] = chol[k] @ chol[k].T
    return prec.reshape(c.shape).astype(c.dtype), chol.reshape(c.shape).astype(c.dtype)


class GaussianMixture(_Persistent, DensityMixin, BaseEstimator):
    """Gaussian mixture trained by libgmm's EM, with scikit-learn's defaults and results.

    The defaults follow scikit-learn's ``sklearn.mixture.GaussianMixture``:
    ``covariance_type="full"``, ``reg_covar=1e-6`` and scikit-learn's EM
    (``em="sklearn"``: libgmm's exact EM, every posterior counts, nothing is
    restarted), so ``GaussianMixture(n_components=8)`` copied from scikit-learn
    code gives scikit-learn's model. ``covariance_type="diag", em="vlfeat"`` is
    VLFeat's GMM (``vl_gmm``: posteriors below 1e-2/K ignored in the M-step,
    restarts of components that empty out, variances bounded below by 1e-4),
    the model the encoders and ``pyvl.gmm`` use.

    Parameters
    ----------
    n_components : int, default 1
        Number of mixture components K.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        scikit-learn's types: a (D, D) matrix per component, one (D, D) matrix
        shared by all, D variances per component, one variance per component.
    tol : float, default 1e-3
        EM stops when the average log-likelihood per sample changes by less
        than ``tol`` between iterations (scikit-learn's criterion).
    reg_covar : float, default 1e-6
        scikit-learn's regularisation: added to the diagonal of every
        covariance after every M-step (the initialisation's included).
    em : {"sklearn", "vlfeat"}, default "sklearn"
        "sklearn": scikit-learn's EM (libgmm's exact EM), every type.
        "vlfeat": VLFeat's EM, ``covariance_type="diag"`` only (a
        ``ValueError`` otherwise).
    covariance_lower_bound : None, float or array of shape (n_features,), default None
        Lower bound of the variances (the diagonal entries of the covariances;
        a spherical variance is raised to the largest bound). None: 0 (no
        bound) with em="sklearn", VLFeat's 1e-4 with em="vlfeat". After every
        M-step libgmm first adds ``reg_covar`` to the diagonals, then raises
        the diagonal entries that are still below their bound to it: a
        variance ends as ``max(v + reg_covar, bound)``.
    max_iter : int, default 100
        Maximum number of EM iterations (M-steps) per initialisation.
    n_init : int, default 1
        Number of initialisations; the best log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        "kmeans": one M-step on the labels of a k-means clustering (k-means++
        seeded Lloyd); "k-means++" (or "random", VLFeat's "rand"): means seeded
        by k-means++, the data's variances as (diagonal) covariances, uniform
        weights; "random_from_data": means at random data points, the data's
        variances, uniform weights.
    weights_init, means_init, precisions_init : arrays, optional
        Initial weights (K,), means (K, D) and precisions (the inverse
        covariances, in ``covariances_``'s shape for the type: (K, D, D),
        (D, D), (K, D) or (K,)); given ones replace those of the
        initialisation method. Full and tied precisions must be symmetric
        positive definite; they are inverted through their Cholesky factor.
    random_state : int, RandomState or None
        Seed of the initialisation. The same value gives bitwise the same model.
    warm_start : bool, default False
        Start from the previous fit's parameters (with ``n_init`` = 1).
    verbose : int, default 0
        1: scikit-learn's lines on stdout ("Initialization 0", "  Iteration
        10", "Initialization converged."), a progress bar on stderr (if tqdm
        is installed) and INFO logs on the ``pyvl`` logger; 2: the lines with
        times, changes and lower bounds, and DEBUG logs per iteration.
    verbose_interval : int, default 10
        Iterations between two "Iteration" lines.
    n_threads : int or None
        libgmm threads during fit/predict (None: libgmm's setting). Results do
        not depend on it.
    dtype : {None, float32, float64}
        Working precision; None keeps float32 input in float32, else float64.
    chunk_size : int or None
        Rows per chunk of an out-of-core fit. Given, an array or
        ``numpy.memmap`` is also trained out of core, ``chunk_size`` rows at
        a time; None: arrays (memmaps included) are trained in memory, and a
        list's arrays or a Dask array's blocks are the chunks as given.
    init_sample_size : int or None
        Out-of-core/Dask fits only: the initialisation runs on a uniform
        random sample of at most this many rows (None: max(100 K, 10000)).

    ``fit`` also takes data that is not one in-memory array: a list of 2-D
    arrays, a re-iterable or a callable returning a fresh iterator of 2-D
    chunks, a ``dask.array.Array`` (trained on the active
    ``dask.distributed`` cluster), or an array or ``numpy.memmap`` with
    ``chunk_size`` set. EM then runs by sufficient statistics, one pass per
    iteration, with in-memory EM's result up to rounding for the same
    initialisation, for every covariance type; see ``pyvl/_training/`` and
    ``docs/scaling.md``. The fitted estimator is the usual in-memory one. An
    array or memmap without ``chunk_size`` is trained in memory, so the same
    data and seed give the same model whichever way the data arrives.

    On degenerate data (a component collapsed on identical points or a
    subspace, with ``reg_covar=0``) scikit-learn's EM fails as scikit-learn's:
    a ``ValueError`` ("... ill-defined empirical covariance ..."), the
    estimator unchanged.

    Attributes
    ----------
    weights_ : (K,) ; means_ : (K, D)
    covariances_, precisions_ : (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical
    precisions_cholesky_ : the same shapes
        scikit-learn's: the upper triangular U with U U^T = precision (full,
        tied); 1 / sqrt(variance) (diag, spherical).
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
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        em: str = "sklearn",
        covariance_lower_bound: Any = None,
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
        self.reg_covar = reg_covar
        self.em = em
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

    _pyvl_name = "pyvl.GaussianMixture"

    # ---- fitting ---------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> GaussianMixture:
        """Fit the mixture to X of shape (n_samples, n_features). Returns self."""
        self._fit(X)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> Any:
        """Fit, then return the most likely component of every sample (n_samples,)."""
        X = self._fit(X)
        return self.predict(X) if isinstance(X, np.ndarray) else self._predict_chunks(X)

    def _fit(self, X: Any) -> Any:
        """Fit; returns X as validated (an array) or as given (chunked data)."""
        if _data.is_chunked(X, self.chunk_size):
            source: Any = _chunked_source(self, X)
            params = gmm_params(self, source.d)
            if source.n is not None and source.n < params.n_components:
                raise ValueError(
                    f"Expected n_samples >= n_components but got n_components = "
                    f"{params.n_components}, n_samples = {source.n}"
                )
        else:
            X = validate_data(self, X, dtype=_FLOAT_DTYPES,
                              ensure_min_samples=2 if self.n_components > 1 else 1)
            n, d = X.shape
            params = gmm_params(self, d)
            if n < params.n_components:
                raise ValueError(
                    f"Expected n_samples >= n_components but got n_components = "
                    f"{params.n_components}, n_samples = {n}"
                )
            X = c_array(X, dtype=work_dtype(X.dtype, self.dtype))
            source = _data.InMemory(X)
        warm, warm_bound = None, None
        if self.warm_start and hasattr(self, "means_"):
            warm = (self.weights_, self.means_, self.covariances_)
            warm_bound = getattr(self, "lower_bound_", None)
        fit = _gmm.fit(params, source, warm, warm_bound)
        if not source.in_memory:
            _adopt_features(self, source.d)
        self._adopt(fit)
        return X

    def _adopt(self, fit: _gmm.GMMFit) -> None:
        """Set the fitted attributes from the kept run; re-raise a Ctrl-C, or warn
        if EM did not converge."""
        n = fit.n
        self.weights_, self.means_, self.covariances_ = fit.weights, fit.means, fit.covariances
        self.precisions_, self.precisions_cholesky_ = _precisions(fit.covariances,
                                                                  self.covariance_type)
        self.converged_ = bool(fit.converged)
        self.n_iter_ = int(fit.n_iter)
        self.lower_bound_ = float(fit.loglikelihood) / n if n else float("nan")
        self.lower_bounds_ = [v / n for v in fit.loglikelihoods] if n else []
        if fit.interrupted:
            raise KeyboardInterrupt
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data. "
                f"(GaussianMixture: max_iter={self.max_iter}, tol={self.tol})",
                ConvergenceWarning,
                stacklevel=3,
            )

    # ---- using the fitted model ------------------------------------------------

    def _fitted_gmm(self) -> GMM:
        """The fitted mixture as a libgmm object (no variance bound: the E-step of
        exactly these parameters)."""
        check_is_fitted(self)
        k, d = self.means_.shape
        g = GMM.of_dtype(self.means_.dtype, d, k)
        g.covariance_type = self.covariance_type  # first: it resets the parameters
        if self.covariance_type == "diag":  # scikit-learn's E-step counts every component
            g.exact_em = self.em != "vlfeat"
        g.set_params(self.weights_, self.means_, self.covariances_)
        g.set_covariance_lower_bound(0.0)
        return g

    def _estep(self, X: Any, posteriors: bool = False, loglik: bool = False,
               labels: bool = False) -> tuple[Any, Any, Any]:
        with self._fitted_gmm() as g:
            X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
            with num_threads(self.n_threads):
                return g.estep(c_array(X, dtype=g.dtype), posteriors, loglik, labels)

    def _predict_chunks(self, X: Any) -> Any:
        """Labels of chunked data: numpy (chunk after chunk) or a lazy dask array."""
        chunk_size = optional_positive(self.chunk_size, "chunk_size")
        if _data.is_dask_array(X):
            with self._fitted_gmm() as g:
                snapshot = _data.gmm_snapshot(g)
            return _data.map_dask_blocks(X, chunk_size, _data._gmm_block_labels, p=snapshot)
        out = [self.predict(c) for c in _data.iter_chunks(X, chunk_size, self.means_.dtype)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def predict(self, X: Any) -> np.ndarray:
        """Most likely component of every sample: (n_samples,) int64."""
        return self._estep(X, labels=True)[2].astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probabilities (n_samples, n_components), in the model's dtype."""
        return self._estep(X, posteriors=True)[0]

    def score_samples(self, X: Any) -> np.ndarray:
        """log p(x) of every sample: (n_samples,) in the model's dtype (float32
        stays float32; computed in double)."""
        ll = self._estep(X, loglik=True)[1]
        return ll.astype(self.means_.dtype, copy=False)

    def score(self, X: Any, y: Any = None) -> float:
        """Average log-likelihood per sample (summed in double)."""
        return float(self._estep(X, loglik=True)[1].mean())

    def _n_parameters(self) -> int:
        """Free parameters (scikit-learn's count): covariances, means, K - 1 weights."""
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d,
               "spherical": k}[self.covariance_type]
        return int(cov + k * d + k - 1)

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
        if isinstance(n_samples, (int, np.integer)) and not isinstance(n_samples, bool) \
                and n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples} . The sampling "
                             "requires at least one sample.")
        n_samples = positive(n_samples, "n_samples")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_.astype(np.float64) / self.weights_.sum())
        xs, ys = [], []
        kind, d = self.covariance_type, self.means_.shape[1]
        for j, c in enumerate(counts):
            mean = self.means_[j].astype(np.float64)
            if kind in ("full", "tied"):
                cov = self.covariances_[j] if kind == "full" else self.covariances_
                xs.append(rng.multivariate_normal(mean, cov.astype(np.float64), int(c)))
            else:
                xs.append(mean + rng.standard_normal((c, d)) * np.sqrt(self.covariances_[j]))
            ys.append(np.full(c, j, dtype=np.int64))
        return np.vstack(xs).astype(self.means_.dtype), np.concatenate(ys)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # ---- scikit-learn's own class ------------------------------------------------

    _SKLEARN_INIT = {"kmeans": "kmeans", "k-means++": "k-means++", "random": "k-means++",
                     "random_from_data": "random_from_data"}

    def to_sklearn(self) -> SkGaussianMixture:
        """This fitted mixture as a fitted ``sklearn.mixture.GaussianMixture``:
        the same parameters (float64), attributes and settings, so that code
        that checks for scikit-learn's class (scikit-image's ``fisher_vector``)
        accepts a pyvl model. Refitting it runs scikit-learn's EM."""
        check_is_fitted(self)
        sk = SkGaussianMixture(
            n_components=int(self.n_components), covariance_type=self.covariance_type,
            tol=self.tol, reg_covar=float(self.reg_covar), max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self._SKLEARN_INIT[self.init_params], weights_init=self.weights_init,
            means_init=self.means_init, precisions_init=self.precisions_init,
            random_state=self.random_state, warm_start=self.warm_start,
            verbose_interval=self.verbose_interval,
        )
        for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
            setattr(sk, name, np.asarray(getattr(self, name), dtype=np.float64))
        sk.converged_, sk.n_iter_ = self.converged_, self.n_iter_
        sk.lower_bound_, sk.lower_bounds_ = self.lower_bound_, list(self.lower_bounds_)
        sk.n_features_in_ = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            sk.feature_names_in_ = self.feature_names_in_
        return sk

    @classmethod
    def from_sklearn(cls, gm: SkGaussianMixture, **params: Any) -> GaussianMixture:
        """A fitted pyvl mixture with the parameters of a fitted
        ``sklearn.mixture.GaussianMixture`` (any covariance type), its dtype, its
        ``precisions_`` and ``precisions_cholesky_``, and its settings where pyvl
        has them (``em="sklearn"``; ``params`` override them)."""
        check_is_fitted(gm)
        init = {"kmeans": "kmeans", "k-means++": "k-means++",
                "random_from_data": "random_from_data"}.get(gm.init_params, "kmeans")
        settings = dict(n_components=gm.n_components, covariance_type=gm.covariance_type,
                        tol=gm.tol, reg_covar=gm.reg_covar, em="sklearn",
                        max_iter=gm.max_iter, n_init=gm.n_init, init_params=init,
                        weights_init=gm.weights_init, means_init=gm.means_init,
                        precisions_init=gm.precisions_init, random_state=gm.random_state,
                        warm_start=gm.warm_start, verbose_interval=gm.verbose_interval)
        settings.update(params)
        g = cls(**settings)
        m = np.asarray(gm.means_)
        dtype = m.dtype if m.dtype in FLOAT_DTYPES else np.dtype(np.float64)
        for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
            setattr(g, name, np.array(np.asarray(getattr(gm, name)), dtype=dtype, order="C"))
        g.converged_, g.n_iter_ = bool(gm.converged_), int(gm.n_iter_)
        g.lower_bound_ = float(gm.lower_bound_)
        g.lower_bounds_ = [float(v) for v in getattr(gm, "lower_bounds_", [])]
        g.n_features_in_ = int(gm.n_features_in_)
        if hasattr(gm, "feature_names_in_"):
            g.feature_names_in_ = gm.feature_names_in_
        return g

    # ---- model files -------------------------------------------------------------

    def _pyvl_arrays(self) -> dict[str, np.ndarray] | None:
        if not hasattr(self, "means_"):
            return None
        out = {
            "weights_": self.weights_,
            "means_": self.means_,
            "covariances_": self.covariances_,
            "converged_": np.asarray(bool(self.converged_)),
            "n_iter_": np.asarray(int(self.n_iter_), dtype=np.int64),
            "lower_bound_": np.asarray(float(self.lower_bound_), dtype=np.float64),
            "lower_bounds_": np.asarray(self.lower_bounds_, dtype=np.float64).reshape(-1),
            "n_features_in_": np.asarray(int(self.n_features_in_), dtype=np.int64),
        }
        _feature_names(self, out)
        return out

    @classmethod
    def _pyvl_build(cls, params: dict[str, Any], m: io.Members | None) -> GaussianMixture:
        if "em" not in params:  # written before em and reg_covar existed: VLFeat's GMM
            params = {"covariance_type": "diag", "reg_covar": 0.0, **params, "em": "vlfeat"}
        g = io.new(cls, params)
        _check_params(gmm_params, g, None)
        if m is None:
            return g
        kind = g.covariance_type
        w = m.floats("weights_", 1)
        mu = m.floats("means_", 2)
        c = m.floats("covariances_", {"full": 3, "tied": 2, "diag": 2, "spherical": 1}[kind])
        if kind == "diag":
            io.check_gmm(mu, c, w, "GaussianMixture")
        k, d = mu.shape
        shape = _covariances_shape(kind, k, d)
        if c.shape != shape:
            raise io.ModelFileError(f"GaussianMixture: covariances_ must have shape {shape} for "
                                    f"covariance_type {kind!r}, got {c.shape}")
        # the variances (diagonal entries) as (K, D) for the common checks
        diag = {"full": lambda: np.diagonal(c, axis1=1, axis2=2),
                "tied": lambda: np.broadcast_to(np.diagonal(c), (k, d)),
                "diag": lambda: c,
                "spherical": lambda: np.broadcast_to(c[:, None], (k, d))}[kind]()
        io.check_gmm(mu, np.ascontiguousarray(diag, dtype=c.dtype), w, "GaussianMixture")
        if isinstance(g.n_components, bool) or g.n_components != k:
            raise io.ModelFileError(f"n_components is {g.n_components!r}, the model has {k} components")
        _check_model_dtype(g.dtype, mu.dtype, "GaussianMixture")
        _check_params(gmm_params, g, d)
        if kind in ("full", "tied"):
            mats = c.reshape(-1, d, d)
            if not np.allclose(mats, np.swapaxes(mats, 1, 2), rtol=1e-5, atol=0):
                raise io.ModelFileError("GaussianMixture: covariances_ are not symmetric")
        try:
            g.precisions_, g.precisions_cholesky_ = _precisions(c, kind)  # as fit computes them
        except ValueError as exc:
            raise io.ModelFileError(f"GaussianMixture: {exc}") from None
        g.weights_, g.means_, g.covariances_ = w, mu, c
        g.converged_ = m.boolean("converged_")
        g.n_iter_ = m.integer("n_iter_")
        g.lower_bound_ = m.real("lower_bound_")
        g.lower_bounds_ = [float(v) for v in m.floats("lower_bounds_", 1, np.dtype(np.float64))]
        _restore_common(g, m, d)
        return g


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


class KMeans(_Persistent, TransformerMixin, ClusterMixin, BaseEstimator):
    """k-means clustering on libgmm (scikit-learn's loop, VLFeat's kernels).

    The iterations are scikit-learn's, for every algorithm: assign every point
    to its nearest center, move every center to the (weighted) mean of its
    points, an empty cluster taking the point farthest from its center;
    stop when no label changed ("strict convergence"), when the total squared
    center shift is at most ``tol`` times the mean variance of the features,
    or after ``max_iter`` iterations; then, unless strictly converged, assign
    the points once more (``labels_``, ``inertia_``). ``n_iter_`` counts the
    center updates. From the same initial centers, Lloyd and Elkan give the
    same result, and both scikit-learn's (up to rounding).

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "random"}, callable or array (n_clusters, n_features), default "k-means++"
        Seeding: k-means++ or random selection of distinct points (both in
        proportion to ``sample_weight``), ``init(X, n_clusters,
        random_state)`` returning the centers (called on the initialisation
        sample for chunked data), or given centers.
    n_init : "auto" or int, default "auto"
        Seedings tried; the lowest inertia is kept. "auto" (as
        scikit-learn): 1 for k-means++ or given centers, 10 for random
        seeding or a callable. With given centers only one (a
        ``RuntimeWarning`` if ``n_init`` asks for more).
    max_iter : int, default 300
        Maximum number of iterations (center updates) per seeding.
    tol : float, default 1e-4
        Convergence when the sum over centers of the squared distance each
        moved in an iteration is at most ``tol`` times the mean over features
        of the data's variance (scikit-learn's tolerance: the variance of the
        rows, whatever their weights).
    algorithm : {"lloyd", "elkan", "ann"}, default "lloyd"
        Exact Lloyd, exact Elkan (triangle-inequality bounds), or approximate
        nearest neighbours with a randomised kd-forest (VLFeat's ANN; the
        labels and inertia of the fitted model are then those of the exact
        nearest centers).
    random_state : int, RandomState or None
    verbose : int, default 0
        1: scikit-learn's lines on stdout ("Initialization complete",
        "Iteration N, inertia X.", "Converged at iteration N: strict
        convergence." or "...: center shift S within tolerance T."), a
        progress bar on stderr (if tqdm is installed) and the ``pyvl``
        logger's messages.
    copy_x : bool, default True
        scikit-learn's switch to allow modifying X in place; pyvl never writes
        to X, whatever its value.
    n_threads : int or None
    dtype : {None, float32, float64}
    chunk_size, init_sample_size : int or None
        Out-of-core/Dask fits only, as in :class:`GaussianMixture`.

    Like scikit-learn, a ``ConvergenceWarning`` says when fewer distinct
    clusters than ``n_clusters`` were found (duplicate points), and
    ``algorithm="elkan"`` with one cluster runs Lloyd (a ``RuntimeWarning``).

    ``fit`` also takes a list of 2-D arrays, a re-iterable or callable chunk
    source, a ``dask.array.Array``, or an array or ``numpy.memmap`` with
    ``chunk_size`` set: the same loop then runs Lloyd's iterations by
    sufficient statistics, one pass per iteration (plus one for the variance,
    and one in the iterations where a cluster is empty), seeded on a random
    sample; ``sample_weight`` is then a 1-D array (a memmap, or for Dask a
    dask array) of one weight per row. ``labels_`` is then a numpy array (a
    lazy dask array for Dask input). See ``pyvl/_training/``.

    Attributes
    ----------
    cluster_centers_ : (n_clusters, n_features) ; labels_ : (n_samples,) int64
    inertia_ : float
        Sum over samples of the sample weight times the squared distance to
        the assigned center.
    n_iter_ : int ; n_features_in_ : int
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        algorithm: str = "lloyd",
        random_state: Any = None,
        verbose: int = 0,
        copy_x: bool = True,
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
        self.copy_x = copy_x
        self.n_threads = n_threads
        self.dtype = dtype
        self.chunk_size = chunk_size
        self.init_sample_size = init_sample_size

    _pyvl_name = "pyvl.KMeans"

    def _warn_distinct(self, labels: np.ndarray) -> None:
        distinct = len(np.unique(labels))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning, stacklevel=3,
            )

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Cluster X (n_samples, n_features) of float32/float64 (others become
        float64). ``sample_weight``: None (every sample weighs 1), a number, or
        (n_samples,) finite weights >= 0, not all 0 (scikit-learn's rules):
        sample i counts ``sample_weight[i]`` times in the seeding, the means and
        the inertia; it is read, never written. Returns self."""
        if _data.is_chunked(X, self.chunk_size):
            return self._fit_chunked(X, sample_weight)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES)
        n, d = X.shape
        p = kmeans_params(self, d)
        if n < p.n_clusters:
            raise ValueError(f"n_samples={n} should be >= n_clusters={p.n_clusters}.")
        X = c_array(X, dtype=work_dtype(X.dtype, self.dtype))
        w = check_sample_weight(sample_weight, n, X.dtype)
        fit = _kmeans.fit(p, _data.InMemory(X, w))
        self.cluster_centers_, self.n_iter_ = fit.centers, fit.n_iter
        if p.algorithm == "ann" or fit.labels is None:  # the exact nearest centers
            labels, inertia = self._labels_inertia(X, w)
        else:
            labels, inertia = fit.labels, fit.energy
        self.labels_ = labels.astype(np.int64)
        self.inertia_ = float(inertia)
        if fit.interrupted:
            raise KeyboardInterrupt
        self._warn_distinct(self.labels_)
        return self

    def _fit_chunked(self, X: Any, sample_weight: Any) -> KMeans:
        """scikit-learn's loop by passes over chunked X (see ``pyvl/_training/kmeans.py``)."""
        positive(self.n_clusters, "n_clusters")
        source = _chunked_source(self, X, sample_weight)
        p = kmeans_params(self, source.d)
        if source.n is not None and source.n < p.n_clusters:
            raise ValueError(f"n_samples={source.n} should be >= n_clusters={p.n_clusters}.")
        fit = _kmeans.fit(p, source)
        self.cluster_centers_, self.n_iter_ = fit.centers, fit.n_iter
        _adopt_features(self, source.d)
        if isinstance(source, _data.DaskPasses):
            self.labels_ = _data.map_dask_blocks(X, p.chunk_size, _data._kmeans_block_labels,
                                                 centers=fit.centers)
            self.inertia_ = float(fit.energy)
        else:
            labels, inertia = [], 0.0
            for c, w in source.weighted_chunks():
                a, e = self._labels_inertia(c, w)
                labels.append(a.astype(np.int64))
                inertia += e
            self.labels_ = np.concatenate(labels)
            self.inertia_ = inertia
        if fit.interrupted:
            raise KeyboardInterrupt
        if not isinstance(source, _data.DaskPasses):
            self._warn_distinct(self.labels_)
        return self

    def _labels_inertia(self, X: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, float]:
        """Nearest center (uint32) of every row of X and the weighted inertia."""
        return _kmeans.labels_inertia(c_array(self.cluster_centers_), X, w, self.n_threads)

    def _validated(self, X: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """X of the model's dtype and its checked weights, for prediction."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        X = c_array(X, dtype=self.cluster_centers_.dtype)
        return X, check_sample_weight(sample_weight, X.shape[0], X.dtype)

    def predict(self, X: Any, sample_weight: Any = None) -> np.ndarray:
        """Index of the nearest center of every sample: (n_samples,) int64.
        ``sample_weight`` is checked and ignored (a weight does not change the
        nearest center), as scikit-learn did."""
        X, _ = self._validated(X, sample_weight)
        return self._labels_inertia(X, None)[0].astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit (with ``sample_weight``), then ``labels_`` (n_samples,) int64."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit (with ``sample_weight``), then the distances to every center
        (n_samples, n_clusters)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances to every center: (n_samples, n_clusters)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return np.sqrt(_sq_distances(X, self.cluster_centers_)).astype(self.cluster_centers_.dtype)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the inertia of X (weighted with ``sample_weight``, (n_samples,))."""
        X, w = self._validated(X, sample_weight)
        return -self._labels_inertia(X, w)[1]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"kmeans{i}" for i in range(self.cluster_centers_.shape[0])], dtype=object)

    # ---- model files -------------------------------------------------------------

    def _pyvl_arrays(self) -> dict[str, np.ndarray] | None:
        if not hasattr(self, "cluster_centers_"):
            return None
        out = {
            "cluster_centers_": self.cluster_centers_,
            "labels_": np.asarray(self.labels_, dtype=np.int64),
            "inertia_": np.asarray(float(self.inertia_), dtype=np.float64),
            "n_iter_": np.asarray(int(self.n_iter_), dtype=np.int64),
            "n_features_in_": np.asarray(int(self.n_features_in_), dtype=np.int64),
        }
        _feature_names(self, out)
        return out

    @classmethod
    def _pyvl_build(cls, params: dict[str, Any], m: io.Members | None) -> KMeans:
        km = io.new(cls, params)
        _check_params(kmeans_params, km, None)
        if m is None:
            return km
        centers = m.floats("cluster_centers_", 2)
        io.check_centers(centers, "KMeans")
        k, d = centers.shape
        if isinstance(km.n_clusters, bool) or km.n_clusters != k:
            raise io.ModelFileError(f"n_clusters is {km.n_clusters!r}, the model has {k} centers")
        _check_model_dtype(km.dtype, centers.dtype, "KMeans")
        labels = m.get("labels_")
        if labels.dtype != np.int64 or labels.ndim != 1 or np.any(labels < 0) or np.any(labels >= k):
            raise io.ModelFileError(f"labels_ must be a 1-D int64 array of values in [0, {k})")
        km.cluster_centers_ = centers
        km.labels_ = labels
        km.inertia_ = m.real("inertia_", minimum=0.0)
        km.n_iter_ = m.integer("n_iter_")
        _restore_common(km, m, d)
        return km
