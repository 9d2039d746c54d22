"""The encoders as scikit-learn transformers: one row per image.

:class:`FisherVectorEncoder`, :class:`VladEncoder` and :class:`BovwEncoder`
turn images' local descriptors into a 2-D feature matrix, so an encoding can
be the first step of a :class:`sklearn.pipeline.Pipeline`::

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    clf = Pipeline([("fv", pyvl.FisherVectorEncoder(n_components=16, random_state=0)),
                    ("lr", LogisticRegression(max_iter=1000))])
    clf.fit(train_descriptors, train_labels)     # a list of (n_i, D) arrays, labels
    clf.score(test_descriptors, test_labels)

``X`` is a list (or tuple, or any sequence) of (n_i, D) arrays of any real
dtype, one per image; n_i may differ between images and may be 0 (an empty
image encodes to zeros). A 3-D array (n_images, n, D) is read as a list of its
(n, D) slices; a single 2-D (n, D) array is one image, as scikit-image's
``fisher_vector`` takes it (except with one-dimensional descriptors, where it
is ambiguous and refused). With a spatial ``pyramid`` each image is a tuple
``(descriptors (n_i, D), positions (n_i, 2), (width, height))``.

``fit`` learns the codebook from all training descriptors (concatenated) with
pyvl's estimators -- :class:`pyvl.GaussianMixture` for a GMM, :class:`pyvl.KMeans`
for k-means centers -- whose parameters these are, under the same names and
with the same meanings (``init_params``, ``covariance_lower_bound``, ``tol``,
``max_iter``, ``n_init``, ``init``, ``algorithm``, ``random_state``). Or pass
an already trained model as ``model``: a fitted pyvl or scikit-learn
``GaussianMixture`` (diagonal) or ``KMeans``; ``fit`` then only checks it (to
keep a fitted model through ``clone`` -- ``GridSearchCV`` clones -- wrap it in
``sklearn.frozen.FrozenEstimator``). ``transform`` returns (n_images,
output_dim) of ``dtype`` through the encoders' C batch call. The fitted
encoder is ``encoder_`` (a :class:`pyvl.encoders.Encoder`); its arrays are
also exposed as ``means_``/``covariances_``/``priors_`` or ``cluster_centers_``.

Because ``X`` is not a 2-D array of samples, scikit-learn's ``check_estimator``
does not apply; the transformers follow its conventions (parameters stored
unchanged by ``__init__`` and validated in ``fit``, learned attributes ending in
``_``, ``fit`` returning ``self``, ``get_params``/``set_params``/``clone``,
``get_feature_names_out``, pickling) and add ``save``/``load`` (:mod:`pyvl.io`).
This module needs scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import encoders as _enc
from . import io
from ._core.arrays import require_diagonal
from .encoders import Encoder
from .estimators import GaussianMixture, KMeans

__all__ = ["BovwEncoder", "FisherVectorEncoder", "VladEncoder"]


def _images(X: Any, pyramid: Any, fitted_dim: int | None) -> tuple[list[Any], Any, Any]:
    """``X`` as (descriptor arrays, positions or None, image sizes or None)."""
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype != object:
        if fitted_dim == 1:
            raise TypeError(
                "X is a single 2-D array and the descriptors are 1-dimensional: it could be "
                "one image or many; pass a list of per-image (n_i, 1) arrays"
            )
        X = [X]  # one image, as scikit-image's fisher_vector takes it
    if isinstance(X, (str, bytes)) or not hasattr(X, "__iter__"):
        raise TypeError(
            f"X must be a list of per-image (n_i, D) descriptor arrays, got {type(X).__name__}"
        )
    items = list(X)
    if not pyramid:
        return items, None, None
    descriptors, positions, sizes = [], [], []
    for j, item in enumerate(items):
        if not (isinstance(item, (tuple, list)) and len(item) == 3):
            raise TypeError(
                f"X[{j}]: with a spatial pyramid every image is a tuple (descriptors (n, D), "
                "positions (n, 2), (width, height))"
            )
        descriptors.append(item[0])
        positions.append(item[1])
        sizes.append(item[2])
    return descriptors, positions, sizes


def _model_state(model: Any, gmm: bool) -> dict[str, np.ndarray]:
    """The codebook arrays of a fitted (pyvl or scikit-learn) mixture or k-means."""
    inner = getattr(model, "estimator", None)  # sklearn.frozen.FrozenEstimator
    if inner is not None and type(model).__name__ == "FrozenEstimator":
        model = inner
    try:
        check_is_fitted(model)
    except Exception as exc:
        raise ValueError(
            f"model is a {type(model).__name__} that is not fitted (clone() unfits the models it "
            "copies: wrap a fitted model in sklearn.frozen.FrozenEstimator to keep it)"
        ) from exc
    if gmm:
        if not hasattr(model, "means_") or not hasattr(model, "weights_"):
            raise TypeError(f"model must be a fitted GaussianMixture, got {type(model).__name__}")
        require_diagonal(getattr(model, "covariance_type", "diag"), "model")
        return {"means": model.means_, "covariances": model.covariances_, "priors": model.weights_}
    if not hasattr(model, "cluster_centers_"):
        raise TypeError(f"model must be a fitted KMeans, got {type(model).__name__}")
    return {"centers": model.cluster_centers_}


class _EncodingTransformer(TransformerMixin, BaseEstimator):
    """Shared machinery: the subclasses define ``_encoder_class``,
    ``_encoder_options``, ``_gmm_codebook``, ``_train`` and ``_model_attributes``."""

    _encoder_class: ClassVar[type[Encoder]]
    _pyvl_name: ClassVar[str]
    #: old parameter names of model files written before they were renamed
    _LEGACY: ClassVar[dict[str, str]] = {}

    def _encoder_options(self) -> dict[str, Any]:
        raise NotImplementedError

    def _gmm_codebook(self) -> bool:
        raise NotImplementedError

    def _train(self, data: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _size_option(self) -> str:
        return "n_components" if self._encoder_class is _enc.FisherEncoder else "n_clusters"

    def _make_encoder(self, k: int | None = None) -> Encoder:
        """A new, unfitted encoder with this transformer's options (validated);
        ``k``: the codebook size of a given model."""
        options = self._encoder_options()
        if k is not None:
            options[self._size_option()] = k
        options["dtype"] = np.dtype(self.dtype).name if self.dtype is not None else None
        options["pyramid"] = self.pyramid
        return self._encoder_class(**options)

    def _set_fitted(self, encoder: Encoder) -> None:
        """Install a fitted encoder and the attributes derived from it."""
        self.encoder_ = encoder
        self.descriptor_dim_ = int(encoder.dimension or 0)
        self.output_dim_ = int(encoder.output_dim)
        for name, key in self._model_attributes(encoder).items():
            setattr(self, name, getattr(encoder, key))

    def _model_attributes(self, encoder: Encoder) -> dict[str, str]:
        raise NotImplementedError

    def fit(self, X: Any, y: Any = None) -> _EncodingTransformer:
        """Learn the codebook from all descriptors of all images (or take ``model``).

        ``X``: a list of (n_i, D) arrays (any real dtype), one (n, D) array for
        one image, or with a pyramid a list of (descriptors, positions, size)
        tuples; ``y`` is ignored. Returns ``self``.
        """
        descriptors, _, _ = _images(X, self.pyramid, None)
        if self.model is not None:
            state = _model_state(self.model, self._gmm_codebook())
            k = int(np.shape(state["means" if "means" in state else "centers"])[0])
            encoder = self._make_encoder(k)
            encoder.set_state(state)
        else:
            if not descriptors:
                raise ValueError("X is an empty list of images")
            encoder = self._make_encoder()
            data = encoder._training_data(descriptors, name="X")
            encoder.set_state(self._train(data))
        self._set_fitted(encoder)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Encode every image: (n_images, ``output_dim_``) of ``dtype`` (float32 by default).

        ``X``: as for :meth:`fit`, D = ``descriptor_dim_``, n_i >= 0. All images
        are encoded by one C batch call.
        """
        check_is_fitted(self, "encoder_")
        descriptors, positions, sizes = _images(X, self.pyramid, self.descriptor_dim_)
        return self.encoder_.encode_batch(descriptors, positions, sizes, name="X")

    def _estimator_options(self) -> dict[str, Any]:
        return dict(random_state=self.random_state, verbose=self.verbose, dtype=self.dtype)

    def _feature_suffixes(self, input_features: Any) -> list[str]:
        d = self.descriptor_dim_
        if input_features is None:
            return [f"d{j}" for j in range(d)]
        names = [str(n) for n in input_features]
        if len(names) != d:
            raise ValueError(
                f"input_features has {len(names)} names; the descriptors have {d} dimensions"
            )
        return names

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, (``output_dim_``,) object array of str.

        ``input_features``: optional names of the D descriptor dimensions
        (default ``d0 .. d{D-1}``), used in place of ``d<j>``; with a pyramid each
        cell's names end in ``_cell{c}``.
        """
        check_is_fitted(self, "encoder_")
        names = self._names(self._feature_suffixes(input_features))
        cells = self.output_dim_ // max(len(names), 1)
        if cells > 1:
            names = [f"{n}_cell{c}" for c in range(cells) for n in names]
        return np.asarray(names, dtype=object)

    def _names(self, dims: list[str]) -> list[str]:
        raise NotImplementedError

    # ---- model files (the pyvl.io protocol) --------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._pyvl_name = f"pyvl.transformers.{cls.__name__}"

    def save(self, path: Any) -> None:
        """Write the parameters and the learned arrays to a portable ``.npz`` file
        (:func:`pyvl.io.save`; a ``model`` parameter is not saved: its arrays are)."""
        io.save(self, path)

    @classmethod
    def load(cls, path: Any) -> Any:
        """Read a transformer written by :meth:`save`; raises
        :class:`pyvl.io.ModelFileError` (a ``ValueError``) for an invalid file."""
        return io.load(path, cls)

    def _pyvl_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        params["model"] = None  # the learned arrays carry it
        return params

    def _pyvl_arrays(self) -> dict[str, np.ndarray] | None:
        if not hasattr(self, "encoder_"):
            return None
        return {f"state.{k}": v for k, v in self.encoder_.get_state().items()}

    @classmethod
    def _pyvl_build(cls, params: dict[str, Any], m: io.Members | None) -> Any:
        params = dict(params)
        legacy = "covariance_bound" in params  # files written before the renaming
        for old, new in cls._LEGACY.items() if legacy else ():
            if old in params:
                value = params.pop(old)
                if new == "init_params":
                    value = {"rand": "k-means++", "kmeans": "kmeans"}.get(value, value)
                if new == "covariance_lower_bound" and value is None:
                    value = 1e-4
                params.setdefault(new, value)
        t = io.new(cls, params)
        try:
            enc = t._make_encoder()  # checks the options as fit would
        except (TypeError, ValueError) as exc:
            raise io.ModelFileError(f"invalid parameters for {cls.__name__}: {exc}") from exc
        if m is None:
            return t
        enc._restore(m, "state.")
        t._set_fitted(enc)
        return t

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a list of per-image descriptor arrays
        tags.transformer_tags.preserves_dtype = []  # the output dtype is the `dtype` option
        return tags


class FisherVectorEncoder(_EncodingTransformer):
    """Fisher vectors (VLFeat's ``vl_fisher_encode``) of a diagonal GMM: 2*K*D columns.

    Columns ``fv_mu_k{k}_d{j}`` (all mean blocks, component-major), then
    ``fv_sigma_k{k}_d{j}`` (the variance blocks), as
    :class:`pyvl.encoders.FisherEncoder`; with ``layout="skimage"``,
    scikit-image's: ``fv_pi_k{k}`` first, K + 2*K*D columns.

    Parameters
    ----------
    n_components : int, default 64
        K, the number of Gaussians (a given ``model``'s otherwise).
    improved : bool, default True
        Signed square root and L2 normalisation (implies the next two).
    square_root, normalized : bool, default False
        Each half of ``improved`` on its own.
    fast : bool, default False
        Hard-assign each descriptor to its most likely component.
    layout : {"vlfeat", "skimage"}, default "vlfeat"
        VLFeat's layout, or scikit-image's ``fisher_vector`` (with the weight
        block; see :class:`pyvl.encoders.FisherEncoder`).
    covariance_lower_bound, em, reg_covar, init_params, tol, max_iter, n_init
        As :class:`pyvl.GaussianMixture`: how ``fit`` trains the GMM, always
        diagonal (``covariance_type="diag"``: Fisher vectors need it). The
        defaults (``covariance_lower_bound=1e-4, em="vlfeat", reg_covar=0``)
        train VLFeat's GMM; ``em="sklearn"`` trains scikit-learn's diagonal one.
    model : fitted GaussianMixture or None
        A trained (pyvl or scikit-learn, diagonal) mixture to use instead.
    pyramid : list of (cols, rows) or None
        Spatial pyramid (images are then (descriptors, positions, size) tuples).
    dtype : {"float32", "float64"}, default "float32"
        Model, computation and output dtype.
    random_state : None, int or RandomState
        Seed of the GMM initialisation.
    verbose : int, default 0
        The GaussianMixture's ``verbose``.

    Attributes
    ----------
    encoder_ : pyvl.encoders.FisherEncoder
    means_, covariances_ : (K, D) ; priors_ : (K,)
    descriptor_dim_ : int (D) ; output_dim_ : int
    """

    _encoder_class = _enc.FisherEncoder
    _LEGACY = {"init": "init_params", "covariance_bound": "covariance_lower_bound"}

    def __init__(
        self,
        n_components: int = 64,
        *,
        improved: bool = True,
        square_root: bool = False,
        normalized: bool = False,
        fast: bool = False,
        layout: str = "vlfeat",
        covariance_lower_bound: Any = 1e-4,
        em: str = "vlfeat",
        reg_covar: float = 0.0,
        init_params: str = "kmeans",
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        model: Any = None,
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: Any = "float32",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_components = n_components
        self.improved = improved
        self.square_root = square_root
        self.normalized = normalized
        self.fast = fast
        self.layout = layout
        self.covariance_lower_bound = covariance_lower_bound
        self.em = em
        self.reg_covar = reg_covar
        self.init_params = init_params
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.model = model
        self.pyramid = pyramid
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def _encoder_options(self) -> dict[str, Any]:
        return dict(n_components=self.n_components, improved=self.improved,
                    square_root=self.square_root, normalized=self.normalized, fast=self.fast,
                    layout=self.layout)

    def _gmm_codebook(self) -> bool:
        return True

    def _train(self, data: np.ndarray) -> dict[str, np.ndarray]:
        gm = GaussianMixture(
            self.n_components, covariance_type="diag", em=self.em, reg_covar=self.reg_covar,
            covariance_lower_bound=self.covariance_lower_bound, init_params=self.init_params, tol=self.tol, max_iter=self.max_iter,
            n_init=self.n_init, **self._estimator_options(),
        ).fit(data)
        return {"means": gm.means_, "covariances": gm.covariances_, "priors": gm.weights_}

    def _model_attributes(self, encoder: Encoder) -> dict[str, str]:
        return {"means_": "means_", "covariances_": "covariances_", "priors_": "priors_"}

    def _names(self, dims: list[str]) -> list[str]:
        k = len(self.priors_)
        names = [f"fv_{part}_k{c}_{d}" for part in ("mu", "sigma") for c in range(k) for d in dims]
        if getattr(self.encoder_, "layout", "vlfeat") == "skimage":
            names = [f"fv_pi_k{c}" for c in range(k)] + names
        return names


class VladEncoder(_EncodingTransformer):
    """VLAD (VLFeat's ``vl_vlad_encode``, hard assignments) on k-means centers: K*D columns.

    Columns ``vlad_k{k}_d{j}``, as :class:`pyvl.encoders.VladEncoder` (whose
    options these are; L2-normalised unless ``unnormalized``).

    Parameters
    ----------
    n_clusters : int, default 64
        K (a given ``model``'s otherwise).
    normalize_components, square_root, normalize_mass, unnormalized : bool, default False
        ``VL_VLAD_FLAG_*``.
    init, n_init, max_iter, tol, algorithm : as :class:`pyvl.KMeans`
        How ``fit`` trains the centers.
    model : fitted KMeans or None
        Trained (pyvl or scikit-learn) k-means centers to use instead.
    pyramid, dtype, random_state, verbose
        As :class:`FisherVectorEncoder`.

    Attributes
    ----------
    encoder_ : pyvl.encoders.VladEncoder
    cluster_centers_ : (K, D)
    descriptor_dim_ : int (D) ; output_dim_ : int (K*D)
    """

    _encoder_class = _enc.VladEncoder

    def __init__(
        self,
        n_clusters: int = 64,
        *,
        normalize_components: bool = False,
        square_root: bool = False,
        normalize_mass: bool = False,
        unnormalized: bool = False,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        algorithm: str = "lloyd",
        model: Any = None,
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: Any = "float32",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.normalize_components = normalize_components
        self.square_root = square_root
        self.normalize_mass = normalize_mass
        self.unnormalized = unnormalized
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.model = model
        self.pyramid = pyramid
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def _encoder_options(self) -> dict[str, Any]:
        return dict(n_clusters=self.n_clusters, normalize_components=self.normalize_components,
                    square_root=self.square_root, normalize_mass=self.normalize_mass,
                    unnormalized=self.unnormalized, algorithm=self.algorithm)

    def _gmm_codebook(self) -> bool:
        return False

    def _train(self, data: np.ndarray) -> dict[str, np.ndarray]:
        km = KMeans(self.n_clusters, init=self.init, n_init=self.n_init, max_iter=self.max_iter,
                    tol=self.tol, algorithm=self.algorithm, **self._estimator_options()).fit(data)
        return {"centers": km.cluster_centers_}

    def _model_attributes(self, encoder: Encoder) -> dict[str, str]:
        return {"cluster_centers_": "centers_"}

    def _names(self, dims: list[str]) -> list[str]:
        return [f"vlad_k{c}_{d}" for c in range(len(self.cluster_centers_)) for d in dims]


class BovwEncoder(_EncodingTransformer):
    """Bag of visual words: a K-bin histogram per image (K columns ``bovw_k{k}``).

    As :class:`pyvl.encoders.BovwEncoder`: hard or soft votes on a k-means
    codebook (``sigma``: kernel width of soft votes) or a GMM codebook
    (posteriors or their argmax).

    Parameters
    ----------
    n_clusters : int, default 256
        K (a given ``model``'s otherwise).
    mode : {"hard", "soft"}, default "hard"
    sigma : float or None
        Required with ``mode="soft"`` and ``codebook="kmeans"``, rejected otherwise.
    codebook : {"kmeans", "gmm"}, default "kmeans"
    frequencies, square_root, normalized : bool, default False
    init, algorithm : as :class:`pyvl.KMeans` (``codebook="kmeans"``)
    init_params, covariance_lower_bound, em, reg_covar : as :class:`FisherVectorEncoder` (``codebook="gmm"``)
    tol, max_iter, n_init : float, int, int or "auto", default None
        Of the training estimator; None: its default.
    model : fitted KMeans or GaussianMixture, or None
        A trained codebook (of the ``codebook`` kind) to use instead.
    pyramid, dtype, random_state, verbose
        As :class:`FisherVectorEncoder`.

    Attributes
    ----------
    encoder_ : pyvl.encoders.BovwEncoder
    cluster_centers_ : (K, D) (k-means codebook) or
    means_, covariances_ : (K, D) and priors_ : (K,) (GMM codebook)
    descriptor_dim_ : int (D) ; output_dim_ : int (K)
    """

    _encoder_class = _enc.BovwEncoder
    _LEGACY = {"init": "init_params", "covariance_bound": "covariance_lower_bound"}

    def __init__(
        self,
        n_clusters: int = 256,
        *,
        mode: str = "hard",
        sigma: float | None = None,
        codebook: str = "kmeans",
        frequencies: bool = False,
        square_root: bool = False,
        normalized: bool = False,
        init: Any = "k-means++",
        algorithm: str = "lloyd",
        init_params: str = "kmeans",
        covariance_lower_bound: Any = 1e-4,
        em: str = "vlfeat",
        reg_covar: float = 0.0,
        tol: float | None = None,
        max_iter: int | None = None,
        n_init: Any = None,
        model: Any = None,
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: Any = "float32",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.mode = mode
        self.sigma = sigma
        self.codebook = codebook
        self.frequencies = frequencies
        self.square_root = square_root
        self.normalized = normalized
        self.init = init
        self.algorithm = algorithm
        self.init_params = init_params
        self.covariance_lower_bound = covariance_lower_bound
        self.em = em
        self.reg_covar = reg_covar
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.model = model
        self.pyramid = pyramid
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def _encoder_options(self) -> dict[str, Any]:
        return dict(n_clusters=self.n_clusters, mode=self.mode, sigma=self.sigma,
                    codebook=self.codebook, frequencies=self.frequencies,
                    square_root=self.square_root, normalized=self.normalized,
                    algorithm=self.algorithm)

    def _gmm_codebook(self) -> bool:
        return bool(self.codebook == "gmm")

    def _train(self, data: np.ndarray) -> dict[str, np.ndarray]:
        given: dict[str, Any] = {k: v for k, v in (("tol", self.tol), ("max_iter", self.max_iter),
                                                   ("n_init", self.n_init)) if v is not None}
        if self._gmm_codebook():
            gm = GaussianMixture(self.n_clusters, covariance_type="diag", em=self.em,
                                 reg_covar=self.reg_covar, init_params=self.init_params,
                                 covariance_lower_bound=self.covariance_lower_bound,
                                 **given, **self._estimator_options()).fit(data)
            return {"means": gm.means_, "covariances": gm.covariances_, "priors": gm.weights_}
        km = KMeans(self.n_clusters, init=self.init, algorithm=self.algorithm, **given,
                    **self._estimator_options()).fit(data)
        return {"centers": km.cluster_centers_}

    def _model_attributes(self, encoder: Encoder) -> dict[str, str]:
        if getattr(encoder, "codebook", "kmeans") == "gmm":
            return {"means_": "means_", "covariances_": "covariances_", "priors_": "priors_"}
        return {"cluster_centers_": "centers_"}

    def _names(self, dims: list[str]) -> list[str]:
        return [f"bovw_k{c}" for c in range(int(self.encoder_.cell_dim))]
