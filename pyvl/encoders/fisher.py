"""``fisher``: Fisher vectors on a diagonal GMM (VLFeat's ``vl_fisher_encode``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._core.encoding import fisher_encode_sets
from .._core.enums import FisherFlag
from .._training.gmm import VLFEAT_INITS as GMM_INITS
from .._training.gmm import cluster_vlfeat
from ._base import Encoder, check_bool, check_choice, check_int
from ._models import GMM_KEYS, gmm_state, model_dtype


def check_bound(value: Any) -> float | None:
    """``covariance_bound``: None (libgmm's default 1e-4) or a finite float >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"covariance_bound must be None or a number, got {value!r}")
    v = float(value)
    if not (v >= 0 and np.isfinite(v)):
        raise ValueError(f"covariance_bound must be finite and >= 0, got {value!r}")
    return v


class FisherEncoder(Encoder):
    """Fisher vectors of a K-component diagonal GMM: 2*K*D values per cell.

    Layout ``[u_0 .. u_{K-1}, v_0 .. v_{K-1}]`` (mean blocks, then variance
    blocks, each D long), as :func:`pyvl.fisher.vl_fisher_encode`.

    Parameters
    ----------
    n_components : int
        K, the number of Gaussians.
    improved : bool, default True
        Signed square root and L2 normalisation (``VL_FISHER_FLAG_IMPROVED``);
        implies ``square_root`` and ``normalized``.
    square_root, normalized : bool
        The two halves of ``improved``, on their own.
    fast : bool
        Hard-assign each descriptor to its most likely component.
    init : {"rand", "kmeans"}
        GMM initialisation for :meth:`fit` (VlGMMRand: k-means++ means; or
        VlGMMKMeans).
    max_num_iterations, num_repetitions : int
        EM settings for :meth:`fit`.
    covariance_bound : float or None
        Lower bound of the variances (None: libgmm's default, 1e-4).
    pyramid, dtype, random_state
        See :class:`pyvl.encoders.Encoder`.

    Learned state: ``means_``, ``covariances_`` (K, D) and ``priors_`` (K,).
    """

    name = "fisher"

    def __init__(
        self,
        n_components: int = 64,
        *,
        improved: bool = True,
        square_root: bool = False,
        normalized: bool = False,
        fast: bool = False,
        init: str = "rand",
        max_num_iterations: int = 100,
        num_repetitions: int = 1,
        covariance_bound: float | None = None,
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: str = "float32",
        random_state: int | None = None,
    ) -> None:
        super().__init__(pyramid=pyramid, dtype=dtype, random_state=random_state)
        self.n_components = check_int(n_components, "n_components")
        self.improved = check_bool(improved, "improved")
        self.square_root = check_bool(square_root, "square_root")
        self.normalized = check_bool(normalized, "normalized")
        self.fast = check_bool(fast, "fast")
        self.init = check_choice(init, "init", tuple(GMM_INITS))
        self.max_num_iterations = check_int(max_num_iterations, "max_num_iterations", 0)
        self.num_repetitions = check_int(num_repetitions, "num_repetitions")
        self.covariance_bound = check_bound(covariance_bound)
        self.means_: np.ndarray | None = None
        self.covariances_: np.ndarray | None = None
        self.priors_: np.ndarray | None = None

    @property
    def flags(self) -> int:
        """The ``VL_FISHER_FLAG_*`` bits of the options."""
        f = FisherFlag.IMPROVED if self.improved else 0
        f |= FisherFlag.SQUARE_ROOT if self.square_root else 0
        f |= FisherFlag.NORMALIZED if self.normalized else 0
        f |= FisherFlag.FAST if self.fast else 0
        return int(f)

    @classmethod
    def from_gmm(cls, means: Any, covariances: Any, priors: Any, **options: Any) -> FisherEncoder:
        """Fisher vectors on a trained GMM (means, covariances (K, D), priors (K,)).
        ``n_components`` and ``dtype`` default to the GMM's."""
        options.setdefault("n_components", int(np.shape(means)[0]))
        options.setdefault("dtype", model_dtype(means, covariances, priors))
        enc = cls(**options)
        enc.set_state({"means": means, "covariances": covariances, "priors": priors})
        return enc

    def _fit(self, data: np.ndarray) -> None:
        m, c, p = cluster_vlfeat(
            data,
            self.n_components,
            init=GMM_INITS[self.init],
            max_num_iterations=self.max_num_iterations,
            num_repetitions=self.num_repetitions,
            covariance_bound=self.covariance_bound,
            random_state=self.random_state,
        )
        self.set_state({"means": m, "covariances": c, "priors": p})

    @property
    def dimension(self) -> int | None:
        return None if self.means_ is None else int(self.means_.shape[1])

    @property
    def cell_dim(self) -> int:
        self._check_fitted()
        return 2 * self.n_components * int(self.dimension or 0)

    def _encode_sets(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        return fisher_encode_sets(self.means_, self.covariances_, self.priors_, data, offsets,
                                  self.flags)[0]

    def _state_schema(self) -> dict[str, int]:
        return {"covariances": 2, "means": 2, "priors": 1}

    def get_state(self) -> dict[str, np.ndarray]:
        if self.means_ is None:
            return {}
        return {key: getattr(self, key + "_").copy() for key in GMM_KEYS}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.means_, self.covariances_, self.priors_ = gmm_state(
            state, self.np_dtype, self.n_components, type(self).__name__
        )
