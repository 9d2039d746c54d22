"""``bovw``: bag of visual words (hard or kernel-codebook histograms)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._core.encoding import bovw_encode_gmm_sets, bovw_encode_sets
from .._core.enums import BovwFlag
from .._training import gmm as _gmm
from .._training import kmeans as _kmeans
from ._base import Encoder, check_bool, check_choice, check_int, check_positive
from ._models import CENTERS_KEYS, GMM_KEYS, centers_state, gmm_state, model_dtype
from .fisher import check_bound

GMM_INITS = _gmm.VLFEAT_INITS
KMEANS_ALGORITHMS = _kmeans.ALGORITHMS


class BovwEncoder(Encoder):
    """A histogram of K bins per cell.

    Parameters
    ----------
    n_clusters : int
        K, the codebook size.
    mode : {"hard", "soft"}
        ``"hard"``: each descriptor votes 1 for its nearest codeword (k-means
        codebook, squared L2) or its most likely component (GMM codebook).
        ``"soft"``: each descriptor spreads one vote, with weights
        proportional to exp(-||x - c_k||^2 / (2 sigma^2)) (k-means codebook,
        needs ``sigma``) or equal to the GMM posteriors (GMM codebook).
    sigma : float or None
        Kernel width of soft votes on a k-means codebook (not used otherwise).
    codebook : {"kmeans", "gmm"}
        How :meth:`fit` learns the codewords.
    frequencies, square_root, normalized : bool
        Divide by the number of descriptors, take square roots, L2-normalise
        (in this order).
    algorithm : {"lloyd", "elkan", "ann"}
        k-means algorithm (``codebook="kmeans"``).
    init : {"rand", "kmeans"}
        GMM initialisation (``codebook="gmm"``).
    covariance_bound : float or None
        GMM variance lower bound (``codebook="gmm"``; None: 1e-4).
    max_num_iterations, num_repetitions : int
        Training settings for :meth:`fit`.
    pyramid, dtype, random_state
        See :class:`pyvl.encoders.Encoder`.

    Learned state: ``centers_`` (K, D) for a k-means codebook; ``means_``,
    ``covariances_`` (K, D) and ``priors_`` (K,) for a GMM codebook.
    """

    name = "bovw"

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
        max_num_iterations: int = 100,
        num_repetitions: int = 1,
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: str = "float32",
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(pyramid=pyramid, dtype=dtype, random_state=random_state,
                         verbose=verbose)
        self.n_clusters = check_int(n_clusters, "n_clusters")
        self.mode = check_choice(mode, "mode", ("hard", "soft"))
        self.codebook = check_choice(codebook, "codebook", ("kmeans", "gmm"))
        self.sigma = check_positive(sigma, "sigma")
        if self.sigma is not None and not (self.mode == "soft" and self.codebook == "kmeans"):
            raise ValueError('sigma is used only with mode="soft" and codebook="kmeans"')
        if self.mode == "soft" and self.codebook == "kmeans" and self.sigma is None:
            raise ValueError('mode="soft" with codebook="kmeans" needs sigma, the kernel width')
        self.frequencies = check_bool(frequencies, "frequencies")
        self.square_root = check_bool(square_root, "square_root")
        self.normalized = check_bool(normalized, "normalized")
        self.algorithm = check_choice(algorithm, "algorithm", tuple(KMEANS_ALGORITHMS))
        self.init = check_choice(init, "init", tuple(GMM_INITS))
        self.covariance_bound = check_bound(covariance_bound)
        self.max_num_iterations = check_int(max_num_iterations, "max_num_iterations", 0)
        self.num_repetitions = check_int(num_repetitions, "num_repetitions")
        self.centers_: np.ndarray | None = None
        self.means_: np.ndarray | None = None
        self.covariances_: np.ndarray | None = None
        self.priors_: np.ndarray | None = None

    @property
    def flags(self) -> int:
        """The ``VL_BOVW_FLAG_*`` bits of the options."""
        f = BovwFlag.SOFT if self.mode == "soft" else 0
        f |= BovwFlag.FREQUENCIES if self.frequencies else 0
        f |= BovwFlag.SQUARE_ROOT if self.square_root else 0
        f |= BovwFlag.NORMALIZED if self.normalized else 0
        return int(f)

    @classmethod
    def from_centers(cls, centers: Any, **options: Any) -> BovwEncoder:
        """Histograms over trained k-means centers (K, D)."""
        options.setdefault("n_clusters", int(np.shape(centers)[0]))
        options.setdefault("dtype", model_dtype(centers))
        options.setdefault("codebook", "kmeans")
        enc = cls(**options)
        enc.set_state({"centers": centers})
        return enc

    @classmethod
    def from_gmm(cls, means: Any, covariances: Any, priors: Any, **options: Any) -> BovwEncoder:
        """Histograms voted by a trained GMM (means, covariances (K, D), priors (K,))."""
        options.setdefault("n_clusters", int(np.shape(means)[0]))
        options.setdefault("dtype", model_dtype(means, covariances, priors))
        options.setdefault("codebook", "gmm")
        enc = cls(**options)
        enc.set_state({"means": means, "covariances": covariances, "priors": priors})
        return enc

    def _fit(self, data: np.ndarray) -> None:
        if self.codebook == "kmeans":
            centers = _kmeans.cluster_vlfeat(
                data,
                self.n_clusters,
                algorithm=KMEANS_ALGORITHMS[self.algorithm],
                max_num_iterations=self.max_num_iterations,
                num_repetitions=self.num_repetitions,
                random_state=self.random_state,
                verbose=self.verbose,
            )
            self.set_state({"centers": centers})
        else:
            m, c, p = _gmm.cluster_vlfeat(
                data,
                self.n_clusters,
                init=GMM_INITS[self.init],
                covariance_bound=self.covariance_bound,
                max_num_iterations=self.max_num_iterations,
                num_repetitions=self.num_repetitions,
                random_state=self.random_state,
                verbose=self.verbose,
            )
            self.set_state({"means": m, "covariances": c, "priors": p})

    @property
    def dimension(self) -> int | None:
        model = self.centers_ if self.codebook == "kmeans" else self.means_
        return None if model is None else int(model.shape[1])

    @property
    def cell_dim(self) -> int:
        self._check_fitted()
        return self.n_clusters

    def _encode_sets(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        if self.codebook == "kmeans":
            return bovw_encode_sets(self.centers_, data, offsets, self.sigma, self.flags)
        return bovw_encode_gmm_sets(self.means_, self.covariances_, self.priors_, data, offsets,
                                    self.flags)

    def _state_schema(self) -> dict[str, int]:
        if self.codebook == "kmeans":
            return {"centers": 2}
        return {"covariances": 2, "means": 2, "priors": 1}

    def get_state(self) -> dict[str, np.ndarray]:
        keys = CENTERS_KEYS if self.codebook == "kmeans" else GMM_KEYS
        if self.dimension is None:
            return {}
        return {key: getattr(self, key + "_").copy() for key in keys}

    def set_state(self, state: Mapping[str, Any]) -> None:
        owner = f'{type(self).__name__}(codebook="{self.codebook}")'
        if self.codebook == "kmeans":
            self.centers_ = centers_state(state, self.np_dtype, self.n_clusters, owner)
        else:
            self.means_, self.covariances_, self.priors_ = gmm_state(
                state, self.np_dtype, self.n_clusters, owner
            )
