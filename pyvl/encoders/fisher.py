"""``fisher``: Fisher vectors on a diagonal GMM (VLFeat's ``vl_fisher_encode``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._core.encoding import bovw_encode_gmm_sets, fisher_encode_sets
from .._core.enums import BovwFlag, FisherFlag
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
    """Fisher vectors of a K-component diagonal GMM: 2*K*D values per cell
    (K + 2*K*D with ``layout="skimage"``).

    Layout ``[u_0 .. u_{K-1}, v_0 .. v_{K-1}]`` (mean blocks, then variance
    blocks, each D long), as :func:`pyvl.fisher.vl_fisher_encode`. With
    ``layout="skimage"``, scikit-image's ``fisher_vector``: ``[d_pi (K), u,
    -v]``, where d_pi_k = (mean posterior of k - pi_k) / sqrt(pi_k) is the
    weight block VLFeat leaves out and the variance block has the opposite
    sign; ``improved`` is then scikit-image's (signed square root and L2
    normalisation of the whole vector, weights included) and ``square_root``,
    ``normalized`` and ``fast`` are not used. The two agree to rounding except
    where posteriors below 1e-6, which VLFeat skips, matter.

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
    layout : {"vlfeat", "skimage"}, default "vlfeat"
        The output layout (see above).
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
        layout: str = "vlfeat",
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: str = "float32",
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(pyramid=pyramid, dtype=dtype, random_state=random_state,
                         verbose=verbose)
        self.layout = check_choice(layout, "layout", ("vlfeat", "skimage"))
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
            verbose=self.verbose,
        )
        self.set_state({"means": m, "covariances": c, "priors": p})

    @property
    def dimension(self) -> int | None:
        return None if self.means_ is None else int(self.means_.shape[1])

    @property
    def cell_dim(self) -> int:
        self._check_fitted()
        extra = self.n_components if self.layout == "skimage" else 0
        return 2 * self.n_components * int(self.dimension or 0) + extra

    def _encode_sets(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        if self.layout == "vlfeat":
            return fisher_encode_sets(self.means_, self.covariances_, self.priors_, data, offsets,
                                      self.flags)[0]
        # scikit-image's layout: the weight block from the mean posteriors (a soft
        # bag of words of the GMM), the mean and (negated) variance blocks from the
        # raw Fisher vector, then its "improved" normalisation over all of it
        raw = fisher_encode_sets(self.means_, self.covariances_, self.priors_, data, offsets, 0)[0]
        q = bovw_encode_gmm_sets(self.means_, self.covariances_, self.priors_, data, offsets,
                                 BovwFlag.SOFT | BovwFlag.FREQUENCIES)
        assert self.priors_ is not None
        w = self.priors_.astype(np.float64)
        kd = raw.shape[1] // 2
        out = np.empty((raw.shape[0], self.cell_dim), dtype=np.float64)
        empty = np.diff(offsets.astype(np.int64)) == 0
        out[:, : self.n_components] = np.where(empty[:, None], 0.0, (q - w) / np.sqrt(w))
        out[:, self.n_components : self.n_components + kd] = raw[:, :kd]
        out[:, self.n_components + kd :] = -raw[:, kd:].astype(np.float64)
        if self.improved:
            out = np.sign(out) * np.sqrt(np.abs(out))
            norm = np.linalg.norm(out, axis=1, keepdims=True)
            out = np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)
        return out.astype(self.np_dtype)

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
