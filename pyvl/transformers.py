"""The encoders as scikit-learn transformers: one row per image.

:class:`FisherVectorEncoder`, :class:`VladEncoder` and :class:`BovwEncoder`
turn a list of per-image descriptor arrays into a 2-D feature matrix, so an
encoding can be the first step of a :class:`sklearn.pipeline.Pipeline`::

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    clf = Pipeline([("fv", pyvl.FisherVectorEncoder(n_components=16, random_state=0)),
                    ("lr", LogisticRegression(max_iter=1000))])
    clf.fit(train_descriptors, train_labels)     # a list of (n_i, D) arrays, labels
    clf.score(test_descriptors, test_labels)

``X`` is a list (or tuple, or any sequence) of (n_i, D) arrays of any real
dtype, one per image; n_i may differ between images and may be 0 (an empty
image encodes to zeros). A 3-D array (n_images, n, D) is read as a list of
its (n, D) slices; a single 2-D array is rejected (it is ambiguous). ``fit``
learns the GMM / k-means codebook from all training descriptors (concatenated)
with :mod:`pyvl.encoders` (VLFeat's EM / k-means), and ``transform`` returns
(n_images, output_dim) of ``dtype`` through the encoders' C batch call. The
fitted encoder is ``encoder_`` (a :class:`pyvl.encoders.Encoder`); its
arrays are also exposed as ``means_``/``covariances_``/``priors_`` or
``cluster_centers_``.

Options are those of the encoders (same names and meanings), except the
training options, which take scikit-learn's names: ``max_iter`` (the
encoders' ``max_num_iterations``), ``n_init`` (``num_repetitions``) and
``random_state`` (None, an int in [0, 2**32) used as the encoders' seed,
or a ``RandomState`` from which one seed is drawn per fit). Spatial
pyramids need descriptor positions: use :mod:`pyvl.encoders` directly for
them (``encoder_`` of a fitted transformer can be rebuilt with a pyramid:
``pyvl.encoders.from_config({**t.encoder_.get_config(), "pyramid": ...})``
then ``set_state(t.encoder_.get_state())``).

Because ``X`` is not a 2-D array, scikit-learn's ``check_estimator`` does not
apply; the transformers follow its conventions (parameters stored unchanged
by ``__init__`` and validated in ``fit``, learned attributes ending in ``_``,
``fit`` returning ``self``, ``get_params``/``set_params``/``clone``,
``get_feature_names_out``, pickling) and add ``save``/``load``
(:mod:`pyvl.io`). This module needs scikit-learn.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import encoders as _enc
from . import io
from .encoders import Encoder

__all__ = ["BovwEncoder", "FisherVectorEncoder", "VladEncoder"]


def _seed(random_state: Any) -> int | None:
    """An encoder seed (None or a uint32) from scikit-learn's ``random_state``."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= int(random_state) <= 0xFFFFFFFF:
            raise ValueError(f"random_state must be in [0, 2**32), got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**32, dtype=np.int64))
    raise ValueError(
        f"random_state must be None, an integer or a numpy RandomState, got {random_state!r}"
    )


def _as_images(X: Any) -> list[Any]:
    """``X`` as a list of per-image descriptor arrays."""
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype != object:
        raise TypeError(
            "X must be a list of per-image (n_i, D) descriptor arrays; got a single 2-D "
            "array (wrap it in a list to treat it as one image)"
        )
    if isinstance(X, (str, bytes)) or not hasattr(X, "__iter__"):
        raise TypeError(
            f"X must be a list of per-image (n_i, D) descriptor arrays, got {type(X).__name__}"
        )
    return list(X)


class _EncodingTransformer(TransformerMixin, BaseEstimator):
    """Shared machinery: the subclasses define ``_encoder_class``,
    ``_encoder_options`` and ``_model_attributes``."""

    _encoder_class: ClassVar[type[Encoder]]

    def _encoder_options(self) -> dict[str, Any]:
        raise NotImplementedError

    def _make_encoder(self) -> Encoder:
        """A new, unfitted encoder with this transformer's options (validated)."""
        options = self._encoder_options()
        options["dtype"] = np.dtype(self.dtype).name if self.dtype is not None else None
        options["random_state"] = _seed(self.random_state)
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

    def fit(self, X: Sequence[Any], y: Any = None) -> _EncodingTransformer:
        """Learn the codebook from all descriptors of all images.

        ``X``: a list of (n_i, D) arrays (any real dtype); ``y`` is ignored.
        Returns ``self``.
        """
        images = _as_images(X)
        if not images:
            raise ValueError("X is an empty list of images")
        encoder = self._make_encoder()
        encoder.fit(images)
        self._set_fitted(encoder)
        return self

    def transform(self, X: Sequence[Any]) -> np.ndarray:
        """Encode every image: (n_images, ``output_dim_``) of ``dtype`` (float32 by default).

        ``X``: a list of (n_i, D) arrays, D = ``descriptor_dim_``, n_i >= 0.
        All images are encoded by one C batch call.
        """
        check_is_fitted(self, "encoder_")
        return self.encoder_.encode_batch(_as_images(X))

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
        (default ``d0 .. d{D-1}``), used in place of ``d<j>``.
        """
        check_is_fitted(self, "encoder_")
        return np.asarray(self._names(self._feature_suffixes(input_features)), dtype=object)

    def _names(self, dims: list[str]) -> list[str]:
        raise NotImplementedError

    # ---- model files (the pyvl.io protocol) --------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._pyvl_name = f"pyvl.transformers.{cls.__name__}"

    def save(self, path: Any) -> None:
        """Write the parameters and the learned arrays to a portable ``.npz`` file
        (:func:`pyvl.io.save`)."""
        io.save(self, path)

    @classmethod
    def load(cls, path: Any) -> Any:
        """Read a transformer written by :meth:`save`; raises
        :class:`pyvl.io.ModelFileError` (a ``ValueError``) for an invalid file."""
        return io.load(path, cls)

    def _pyvl_params(self) -> dict[str, Any]:
        return self.get_params(deep=False)

    def _pyvl_arrays(self) -> dict[str, np.ndarray] | None:
        if not hasattr(self, "encoder_"):
            return None
        return {f"state.{k}": v for k, v in self.encoder_.get_state().items()}

    @classmethod
    def _pyvl_build(cls, params: dict[str, Any], m: io.Members | None) -> Any:
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
    :class:`pyvl.encoders.FisherEncoder`.

    Parameters
    ----------
    n_components : int, default 64
        K, the number of Gaussians.
    improved : bool, default True
        Signed square root and L2 normalisation (implies the next two).
    square_root, normalized : bool, default False
        Each half of ``improved`` on its own.
    fast : bool, default False
        Hard-assign each descriptor to its most likely component.
    init : {"rand", "kmeans"}, default "rand"
        GMM initialisation (VLFeat's VlGMMRand or VlGMMKMeans).
    max_iter : int, default 100
        EM iterations (``max_num_iterations``).
    n_init : int, default 1
        EM runs, the most likely kept (``num_repetitions``).
    covariance_bound : float or None
        Lower bound of the variances (None: libgmm's 1e-4).
    dtype : {"float32", "float64"}, default "float32"
        Model, computation and output dtype.
    random_state : None, int or RandomState
        Seed of the GMM initialisation.

    Attributes
    ----------
    encoder_ : pyvl.encoders.FisherEncoder
    means_, covariances_ : (K, D) ; priors_ : (K,)
    descriptor_dim_ : int (D) ; output_dim_ : int (2*K*D)
    """

    _encoder_class = _enc.FisherEncoder

    def __init__(
        self,
        n_components: int = 64,
        *,
        improved: bool = True,
        square_root: bool = False,
        normalized: bool = False,
        fast: bool = False,
        init: str = "rand",
        max_iter: int = 100,
        n_init: int = 1,
        covariance_bound: float | None = None,
        dtype: Any = "float32",
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.improved = improved
        self.square_root = square_root
        self.normalized = normalized
        self.fast = fast
        self.init = init
        self.max_iter = max_iter
        self.n_init = n_init
        self.covariance_bound = covariance_bound
        self.dtype = dtype
        self.random_state = random_state

    def _encoder_options(self) -> dict[str, Any]:
        return dict(
            n_components=self.n_components,
            improved=self.improved,
            square_root=self.square_root,
            normalized=self.normalized,
            fast=self.fast,
            init=self.init,
            max_num_iterations=self.max_iter,
            num_repetitions=self.n_init,
            covariance_bound=self.covariance_bound,
        )

    def _model_attributes(self, encoder: Encoder) -> dict[str, str]:
        return {"means_": "means_", "covariances_": "covariances_", "priors_": "priors_"}

    def _names(self, dims: list[str]) -> list[str]:
        k = int(cast(Any, self.encoder_).n_components)
        return [f"fv_{part}_k{c}_{d}" for part in ("mu", "sigma") for c in range(k) for d in dims]


class VladEncoder(_EncodingTransformer):
    """VLAD (VLFeat's ``vl_vlad_encode``, hard assignments) on k-means centers: K*D columns.

    Columns ``vlad_k{k}_d{j}``, as :class:`pyvl.encoders.VladEncoder` (whose
    options these are; L2-normalised unless ``unnormalized``).

    Parameters
    ----------
    n_clusters : int, default 64
    normalize_components, square_root, normalize_mass, unnormalized : bool, default False
        ``VL_VLAD_FLAG_*``.
    algorithm : {"lloyd", "elkan", "ann"}, default "lloyd"
        k-means algorithm (k-means++ seeding).
    max_iter : int, default 100
    n_init : int, default 1
    dtype : {"float32", "float64"}, default "float32"
    random_state : None, int or RandomState

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
        algorithm: str = "lloyd",
        max_iter: int = 100,
        n_init: int = 1,
        dtype: Any = "float32",
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.normalize_components = normalize_components
        self.square_root = square_root
        self.normalize_mass = normalize_mass
        self.unnormalized = unnormalized
        self.algorithm = algorithm
        self.max_iter = max_iter
        self.n_init = n_init
        self.dtype = dtype
        self.random_state = random_state

    def _encoder_options(self) -> dict[str, Any]:
        return dict(
            n_clusters=self.n_clusters,
            normalize_components=self.normalize_components,
            square_root=self.square_root,
            normalize_mass=self.normalize_mass,
            unnormalized=self.unnormalized,
            algorithm=self.algorithm,
            max_num_iterations=self.max_iter,
            num_repetitions=self.n_init,
        )

    def _model_attributes(self, encoder: Encoder) -> dict[str, str]:
        return {"cluster_centers_": "centers_"}

    def _names(self, dims: list[str]) -> list[str]:
        return [f"vlad_k{c}_{d}" for c in range(int(cast(Any, self.encoder_).n_clusters)) for d in dims]


class BovwEncoder(_EncodingTransformer):
    """Bag of visual words: a K-bin histogram per image (K columns ``bovw_k{k}``).

    As :class:`pyvl.encoders.BovwEncoder`: hard or soft votes on a k-means
    codebook (``sigma``: kernel width of soft votes) or a GMM codebook
    (posteriors or their argmax).

    Parameters
    ----------
    n_clusters : int, default 256
    mode : {"hard", "soft"}, default "hard"
    sigma : float or None
        Required with ``mode="soft"`` and ``codebook="kmeans"``, rejected otherwise.
    codebook : {"kmeans", "gmm"}, default "kmeans"
    frequencies, square_root, normalized : bool, default False
    algorithm : {"lloyd", "elkan", "ann"}, default "lloyd"
        k-means algorithm (``codebook="kmeans"``).
    init : {"rand", "kmeans"}, default "rand"
        GMM initialisation (``codebook="gmm"``).
    covariance_bound : float or None
        GMM variance lower bound (``codebook="gmm"``).
    max_iter : int, default 100
    n_init : int, default 1
    dtype : {"float32", "float64"}, default "float32"
    random_state : None, int or RandomState

    Attributes
    ----------
    encoder_ : pyvl.encoders.BovwEncoder
    cluster_centers_ : (K, D) (k-means codebook) or
    means_, covariances_ : (K, D) and priors_ : (K,) (GMM codebook)
    descriptor_dim_ : int (D) ; output_dim_ : int (K)
    """

    _encoder_class = _enc.BovwEncoder

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
        algorithm: str = "lloyd",
        init: str = "rand",
        covariance_bound: float | None = None,
        max_iter: int = 100,
        n_init: int = 1,
        dtype: Any = "float32",
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.mode = mode
        self.sigma = sigma
        self.codebook = codebook
        self.frequencies = frequencies
        self.square_root = square_root
        self.normalized = normalized
        self.algorithm = algorithm
        self.init = init
        self.covariance_bound = covariance_bound
        self.max_iter = max_iter
        self.n_init = n_init
        self.dtype = dtype
        self.random_state = random_state

    def _encoder_options(self) -> dict[str, Any]:
        return dict(
            n_clusters=self.n_clusters,
            mode=self.mode,
            sigma=self.sigma,
            codebook=self.codebook,
            frequencies=self.frequencies,
            square_root=self.square_root,
            normalized=self.normalized,
            algorithm=self.algorithm,
            init=self.init,
            covariance_bound=self.covariance_bound,
            max_num_iterations=self.max_iter,
            num_repetitions=self.n_init,
        )

    def _model_attributes(self, encoder: Encoder) -> dict[str, str]:
        if getattr(encoder, "codebook", "kmeans") == "gmm":
            return {"means_": "means_", "covariances_": "covariances_", "priors_": "priors_"}
        return {"cluster_centers_": "centers_"}

    def _names(self, dims: list[str]) -> list[str]:
        return [f"bovw_k{c}" for c in range(int(cast(Any, self.encoder_).n_clusters))]
