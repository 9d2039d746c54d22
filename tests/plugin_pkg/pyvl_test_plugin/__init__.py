"""A third-party encoder for pyvl's plugin tests: centred mean pooling.

:meth:`MeanPoolEncoder.fit` learns the mean of the training descriptors; an
image encodes to the mean of its descriptors minus that (zeros for an image
without descriptors), D values per pyramid cell. It implements the
:class:`pyvl.encoders.Encoder` interface in NumPy and is found by pyvl through
the ``pyvl.encoders`` entry point ``mean-pool``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pyvl.encoders import Encoder

__all__ = ["MeanPoolEncoder"]


class MeanPoolEncoder(Encoder):
    """Mean of the descriptors minus the training mean: (D,) per cell.

    Parameters
    ----------
    center : bool, default True
        Subtract the training mean (False: plain mean pooling).
    pyramid, dtype, random_state
        See :class:`pyvl.encoders.Encoder`.
    """

    name = "mean-pool"

    def __init__(
        self,
        *,
        center: bool = True,
        pyramid: Sequence[tuple[int, int]] | None = None,
        dtype: str = "float32",
        random_state: int | None = None,
    ) -> None:
        super().__init__(pyramid=pyramid, dtype=dtype, random_state=random_state)
        if not isinstance(center, bool):
            raise TypeError(f"center must be True or False, got {center!r}")
        self.center = center
        self.mean_: np.ndarray | None = None

    def _fit(self, data: np.ndarray) -> None:
        self.set_state({"mean": data.mean(axis=0, dtype=np.float64)})

    @property
    def dimension(self) -> int | None:
        return None if self.mean_ is None else int(self.mean_.shape[0])

    @property
    def cell_dim(self) -> int:
        self._check_fitted()
        return int(self.dimension or 0)

    def _encode_sets(self, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        starts = offsets[:-1].astype(np.intp)
        counts = offsets[1:].astype(np.intp) - starts
        sums = np.zeros((counts.size, data.shape[1]), dtype=np.float64)
        nonempty = counts > 0
        if data.shape[0]:
            sums[nonempty] = np.add.reduceat(data.astype(np.float64), starts[nonempty], axis=0)
        out = np.zeros_like(sums)
        out[nonempty] = sums[nonempty] / counts[nonempty, None]
        if self.center and self.mean_ is not None:
            out[nonempty] -= self.mean_
        return out.astype(self.np_dtype)

    def get_state(self) -> dict[str, np.ndarray]:
        return {} if self.mean_ is None else {"mean": self.mean_.copy()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        if set(state) != {"mean"}:
            raise ValueError(
                f"MeanPoolEncoder state must be {{'mean': (D,) array}}, got {sorted(state)}"
            )
        mean = np.array(state["mean"], dtype=self.np_dtype)
        if mean.ndim != 1 or mean.size == 0:
            raise ValueError(f"mean must be a (D,) array, got shape {mean.shape}")
        self.mean_ = mean
