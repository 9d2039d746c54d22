"""``vlad``: VLAD on a k-means codebook (VLFeat's ``vl_vlad_encode``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._core.encoding import vlad_encode_sets
from .._core.enums import VladFlag
from .._training.kmeans import ALGORITHMS as KMEANS_ALGORITHMS
from .._training.kmeans import cluster_vlfeat
from ._base import Encoder, check_bool, check_choice, check_int
from ._models import centers_state, model_dtype


class VladEncoder(Encoder):
    """VLAD with hard assignments to the nearest of K centers: K*D values per cell.

    Layout ``[v_0 .. v_{K-1}]``, v_k = sum of (x_i - c_k) over the descriptors
    whose nearest center is c_k (squared L2, first minimum wins), then the
    options below in VLFeat's order; unless ``unnormalized``, the vector is
    L2-normalised (VLFeat's default).

    Parameters
    ----------
    n_clusters : int
        K, the number of centers.
    normalize_components, square_root, normalize_mass, unnormalized : bool
        ``VL_VLAD_FLAG_*`` (all off: VLFeat's default, global L2 only).
    algorithm : {"lloyd", "elkan", "ann"}
        k-means algorithm for :meth:`fit` (k-means++ seeding).
    max_num_iterations, num_repetitions : int
        k-means settings for :meth:`fit`.
    pyramid, dtype, random_state
        See :class:`pyvl.encoders.Encoder`.

    Learned state: ``centers_`` (K, D).
    """

    name = "vlad"

    def __init__(
        self,
        n_clusters: int = 64,
        *,
        normalize_components: bool = False,
        square_root: bool = False,
        normalize_mass: bool = False,
        unnormalized: bool = False,
        algorithm: str = "lloyd",
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
        self.normalize_components = check_bool(normalize_components, "normalize_components")
        self.square_root = check_bool(square_root, "square_root")
        self.normalize_mass = check_bool(normalize_mass, "normalize_mass")
        self.unnormalized = check_bool(unnormalized, "unnormalized")
        self.algorithm = check_choice(algorithm, "algorithm", tuple(KMEANS_ALGORITHMS))
        self.max_num_iterations = check_int(max_num_iterations, "max_num_iterations", 0)
        self.num_repetitions = check_int(num_repetitions, "num_repetitions")
        self.centers_: np.ndarray | None = None

    @property
    def flags(self) -> int:
        """The ``VL_VLAD_FLAG_*`` bits of the options."""
        f = VladFlag.NORMALIZE_COMPONENTS if self.normalize_components else 0
        f |= VladFlag.SQUARE_ROOT if self.square_root else 0
        f |= VladFlag.NORMALIZE_MASS if self.normalize_mass else 0
        f |= VladFlag.UNNORMALIZED if self.unnormalized else 0
        return int(f)

    @classmethod
    def from_centers(cls, centers: Any, **options: Any) -> VladEncoder:
        """VLAD on trained centers (K, D); ``n_clusters`` and ``dtype`` default to theirs."""
        options.setdefault("n_clusters", int(np.shape(centers)[0]))
        options.setdefault("dtype", model_dtype(centers))
        enc = cls(**options)
        enc.set_state({"centers": centers})
        return enc

    def _fit(self, data: np.ndarray) -> None:
        centers = cluster_vlfeat(
            data,
            self.n_clusters,
            algorithm=KMEANS_ALGORITHMS[self.algorithm],
            max_num_iterations=self.max_num_iterations,
            num_repetitions=self.num_repetitions,
            random_state=self.random_state,
            verbose=self.verbose,
        )
        self.set_state({"centers": centers})

    @property
    def dimension(self) -> int | None:
        return None if self.centers_ is None else int(self.centers_.shape[1])

    @property
    def cell_dim(self) -> int:
        self._check_fitted()
        return self.n_clusters * int(self.dimension or 0)

    def _encode_sets(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        return vlad_encode_sets(self.centers_, data, offsets, None, self.flags)

    def _state_schema(self) -> dict[str, int]:
        return {"centers": 2}

    def get_state(self) -> dict[str, np.ndarray]:
        return {} if self.centers_ is None else {"centers": self.centers_.copy()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.centers_ = centers_state(state, self.np_dtype, self.n_clusters, type(self).__name__)
