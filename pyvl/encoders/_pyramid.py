"""Spatial pyramids: which cells a descriptor falls into, and the batch entries.

A pyramid is a list of levels ``(cols, rows)``; level ``(cols, rows)`` cuts
the image (width W, height H) into a grid of ``cols`` columns and ``rows``
rows. A descriptor at ``(x, y)`` lies in column ``min(floor(cols * x / W),
cols - 1)`` and row ``min(floor(rows * y / H), rows - 1)``: cells are
half-open ``[c W/cols, (c+1) W/cols)``, so a descriptor on the boundary
between two cells goes to the right (lower) one, and one on the image's right
(bottom) edge goes to the last column (row). Each descriptor is in exactly
one cell of every level. Positions must lie in ``[0, W] x [0, H]``.

Cells are numbered level by level (in the order given), and row-major inside
a level: cell ``(col, row)`` of level ``l`` is number
``sum(cols_m * rows_m for m < l) + row * cols_l + col``. The encoding of an
image is the concatenation of its cells' encodings in that order.

To encode many images with one batch call, every (image, cell) pair becomes
one batch entry: entry ``j * n_cells + cell``. :func:`pyramid_sets`
reorders the descriptor rows (one copy per level) so that each entry's rows
are contiguous, keeping the original order inside an entry.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core.arrays import SIZE_T

Level = tuple[int, int]


def normalize_pyramid(pyramid: Any) -> tuple[Level, ...] | None:
    """``None`` or a non-empty sequence of ``(cols, rows)`` positive integer pairs,
    as a tuple of tuples."""
    if pyramid is None:
        return None
    if isinstance(pyramid, (str, bytes)) or not hasattr(pyramid, "__iter__"):
        raise TypeError(f"pyramid must be a list of (cols, rows) pairs, got {pyramid!r}")
    levels = []
    for level in pyramid:
        try:
            cols, rows = level
            cols, rows = operator.index(cols), operator.index(rows)
        except (TypeError, ValueError):
            raise TypeError(
                f"each pyramid level must be a (cols, rows) pair of integers, got {level!r}"
            ) from None
        if cols < 1 or rows < 1:
            raise ValueError(f"pyramid level {level!r}: cols and rows must be >= 1")
        levels.append((cols, rows))
    if not levels:
        raise ValueError("pyramid must have at least one level (use None for no pyramid)")
    return tuple(levels)


def num_cells(pyramid: Sequence[Level]) -> int:
    """Cells per image: sum of cols * rows over the levels."""
    return sum(cols * rows for cols, rows in pyramid)


def cells(positions: np.ndarray, sizes: np.ndarray, pyramid: Sequence[Level]) -> np.ndarray:
    """Cell numbers (levels, N) int64 of N descriptors.

    ``positions`` (N, 2) float64 (x, y); ``sizes`` (N, 2) float64, the
    (width, height) of each descriptor's image.
    """
    out = np.empty((len(pyramid), positions.shape[0]), dtype=np.int64)
    start = 0
    for level, (cols, rows) in enumerate(pyramid):
        col = np.minimum(np.floor(cols * positions[:, 0] / sizes[:, 0]), cols - 1).astype(np.int64)
        row = np.minimum(np.floor(rows * positions[:, 1] / sizes[:, 1]), rows - 1).astype(np.int64)
        out[level] = start + row * cols + col
        start += cols * rows
    return out


def as_positions(positions: Sequence[Any], offsets: np.ndarray) -> np.ndarray:
    """Per-image (N_j, 2) positions, concatenated to (N_total, 2) float64,
    checked against the descriptor counts given by ``offsets``."""
    counts = offsets[1:].astype(np.int64) - offsets[:-1].astype(np.int64)
    if isinstance(positions, np.ndarray) or len(positions) != counts.size:
        raise ValueError(
            f"positions must be a list of {counts.size} per-image (N_j, 2) arrays, one per image"
        )
    arrays = []
    for j, (p, n) in enumerate(zip(positions, counts)):
        arr = np.asarray(p, dtype=np.float64)
        if arr.size == 0 and n == 0:
            arr = arr.reshape(0, 2)
        if arr.shape != (n, 2):
            raise ValueError(
                f"positions[{j}] has shape {arr.shape}: expected ({n}, 2) (x, y) "
                f"for its {n} descriptors"
            )
        arrays.append(arr)
    if not arrays:
        return np.zeros((0, 2))
    return np.concatenate(arrays, axis=0)


def as_sizes(image_sizes: Any, n_images: int) -> np.ndarray:
    """Image sizes as (n_images, 2) float64 (width, height) > 0; one (width, height)
    pair is used for every image."""
    arr = np.asarray(image_sizes, dtype=np.float64)
    if arr.shape == (2,):
        arr = np.broadcast_to(arr, (n_images, 2))
    if arr.shape != (n_images, 2):
        raise ValueError(
            f"image sizes must be one (width, height) pair or {n_images} of them, "
            f"got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError("image widths and heights must be finite and > 0")
    return arr


def pyramid_sets(
    data: np.ndarray,
    offsets: np.ndarray,
    positions: np.ndarray,
    sizes: np.ndarray,
    pyramid: Sequence[Level],
) -> tuple[np.ndarray, np.ndarray]:
    """Batch entries of a pyramid: ``(data, offsets)`` with ``n_images * n_cells``
    entries, entry ``j * n_cells + cell`` holding image j's descriptors in ``cell``.

    ``data`` (N_total, D), ``offsets`` (n_images + 1,), ``positions``
    (N_total, 2), ``sizes`` (n_images, 2).
    """
    n_images = offsets.size - 1
    counts = offsets[1:].astype(np.int64) - offsets[:-1].astype(np.int64)
    image = np.repeat(np.arange(n_images, dtype=np.int64), counts)
    row_sizes = sizes[image]
    bad = ~np.all(np.isfinite(positions), axis=1)
    bad |= np.any(positions < 0, axis=1) | np.any(positions > row_sizes, axis=1)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        j = int(image[i])
        raise ValueError(
            f"descriptor {i - int(offsets[j])} of image {j} is at {tuple(positions[i])}, "
            f"outside the image (width, height) = {tuple(sizes[j])}: positions must be "
            "(x, y) in [0, W] x [0, H]"
        )
    n_cells = num_cells(pyramid)
    entry = (image[None, :] * n_cells + cells(positions, row_sizes, pyramid)).ravel()
    source = np.tile(np.arange(positions.shape[0], dtype=np.int64), len(pyramid))
    order = np.argsort(entry, kind="stable")
    new_offsets = np.zeros(n_images * n_cells + 1, dtype=SIZE_T)
    np.cumsum(np.bincount(entry, minlength=n_images * n_cells), out=new_offsets[1:])
    return data[source[order]], new_offsets
