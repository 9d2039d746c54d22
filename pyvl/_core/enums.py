"""libgmm's constants as named enums (the values of vl/*.h).

Members are ``IntEnum``/``IntFlag`` members: they compare equal to the C
integers, so VLFeat's names (``VlGMMRand``, ``VL_TYPE_FLOAT``, ...) are
aliases of these members and code written with plain integers keeps working.
"""

from __future__ import annotations

import enum

import numpy as np


class DataType(enum.IntEnum):
    """``vl_type``: the element type of data and parameters."""

    FLOAT = 1
    DOUBLE = 2

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32) if self is DataType.FLOAT else np.dtype(np.float64)

    @classmethod
    def of(cls, dtype: object) -> DataType:
        """The data type of a float32/float64 numpy dtype (TypeError for others)."""
        dt = np.dtype(dtype)  # type: ignore[call-overload]
        if dt == np.float32:
            return cls.FLOAT
        if dt == np.float64:
            return cls.DOUBLE
        raise TypeError(f"dtype {dt} is not supported (use float32 or float64)")


class Distance(enum.IntEnum):
    """``VlVectorComparisonType`` (k-means)."""

    L1 = 0
    L2 = 1


class KMeansAlgorithm(enum.IntEnum):
    """``VlKMeansAlgorithm``."""

    LLOYD = 0
    ELKAN = 1
    ANN = 2


class KMeansInit(enum.IntEnum):
    """``VlKMeansInitialization``."""

    RANDOM_SELECTION = 0
    PLUS_PLUS = 1


class IKMAlgorithm(enum.IntEnum):
    """``VlIKMAlgorithms`` (integer k-means, vl/ikmeans.h)."""

    LLOYD = 0
    ELKAN = 1


class GMMInit(enum.IntEnum):
    """``VlGMMInitialization``."""

    KMEANS = 0
    RAND = 1
    CUSTOM = 2


class CovarianceType(enum.IntEnum):
    """``VlGMMCovarianceType``: the shape of a GMM's covariances (vl/libgmm/gmm.h)."""

    DIAGONAL = 0
    FULL = 1
    TIED = 2
    SPHERICAL = 3

    @property
    def sklearn_name(self) -> str:
        """scikit-learn's name: ``"diag"``, ``"full"``, ``"tied"`` or ``"spherical"``."""
        return _SKLEARN_COVARIANCE_NAMES[self]

    @classmethod
    def of(cls, value: object) -> CovarianceType:
        """A member from itself, its integer, or scikit-learn's name (``"diag"``,
        ``"full"``, ``"tied"``, ``"spherical"``); ``ValueError`` for anything else."""
        if isinstance(value, str):
            for member, name in _SKLEARN_COVARIANCE_NAMES.items():
                if value == name:
                    return member
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            try:
                return cls(int(value))
            except ValueError:
                pass
        raise ValueError(
            f"covariance_type must be 'full', 'tied', 'diag' or 'spherical' (or VlGMMFull=1, "
            f"VlGMMTied=2, VlGMMDiagonal=0, VlGMMSpherical=3), got {value!r}"
        )


_SKLEARN_COVARIANCE_NAMES = {
    CovarianceType.DIAGONAL: "diag",
    CovarianceType.FULL: "full",
    CovarianceType.TIED: "tied",
    CovarianceType.SPHERICAL: "spherical",
}


class FisherFlag(enum.IntFlag):
    """``VL_FISHER_FLAG_*``."""

    SQUARE_ROOT = 0x1
    NORMALIZED = 0x2
    IMPROVED = 0x3
    FAST = 0x4


class VladFlag(enum.IntFlag):
    """``VL_VLAD_FLAG_*``."""

    NORMALIZE_COMPONENTS = 0x1
    SQUARE_ROOT = 0x2
    UNNORMALIZED = 0x4
    NORMALIZE_MASS = 0x8


class BovwFlag(enum.IntFlag):
    """``VL_BOVW_FLAG_*``."""

    SOFT = 0x1
    FREQUENCIES = 0x2
    SQUARE_ROOT = 0x4
    NORMALIZED = 0x8


class ErrorCode(enum.IntEnum):
    """``VL_ERR_*``."""

    OK = 0
    OVERFLOW = 1
    ALLOC = 2
    BAD_ARG = 3
    IO = 4
    EOF = 5
    BAD_STATE = 16
    INTERRUPTED = 17


def flag_bits(flag_type: type[enum.IntFlag]) -> int:
    """Every bit of a flag enum."""
    bits = 0
    for member in flag_type:
        bits |= int(member)
    return bits
