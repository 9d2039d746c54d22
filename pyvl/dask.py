"""pyvl on Dask: what has no estimator form.

Training needs nothing from here: :class:`pyvl.GaussianMixture` and
:class:`pyvl.KMeans` train on the active ``dask.distributed`` cluster when
``fit`` is given a ``dask.array.Array`` of descriptors (rows)::

    from dask.distributed import Client
    import dask.array as da, pyvl, pyvl.encoders as E, pyvl.dask

    client = Client(...)                      # or none: Dask's default scheduler
    X = da.from_zarr("descriptors.zarr")      # (N, D), N possibly > memory
    gmm = pyvl.GaussianMixture(256, max_iter=50, random_state=0).fit(X)
    enc = E.get("fisher").from_gmm(gmm.means_, gmm.covariances_, gmm.weights_)
    codes = pyvl.dask.encode(enc, images)     # (n_images, 2 K D) dask array

:func:`encode` turns per-image descriptor sets (a ``dask.bag.Bag``, or a
list of arrays or ``dask.delayed`` objects) into a dask array of encodings,
one task per partition running the encoder's batch path (one C call per
partition). Install with ``pip install "pyvl[dask]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["encode"]


def _encode_partition(encoder: Any, items: Sequence[Any]) -> np.ndarray:
    """Encodings of one partition's images, with one batch call."""
    items = list(items)
    if not items:
        return np.zeros((0, encoder.output_dim), dtype=encoder.np_dtype)
    if encoder.pyramid is None:
        return encoder.encode_batch([_descriptors(x) for x in items])
    if not all(isinstance(x, tuple) and len(x) == 3 for x in items):
        raise ValueError(
            "this encoder has a spatial pyramid: every image must be a tuple "
            "(descriptors, positions, (width, height))"
        )
    descs, positions, sizes = zip(*items)
    return encoder.encode_batch(list(descs), list(positions), np.asarray(sizes, dtype=np.float64))


def _descriptors(x: Any) -> Any:
    return x[0] if isinstance(x, tuple) else x


def encode(encoder: Any, images: Any, *, batch_size: int = 256) -> Any:
    """Encodings of many images as a dask array (n_images, ``encoder.output_dim``).

    ``encoder``: a fitted :class:`pyvl.encoders.Encoder` (it is shipped once
    to the workers). ``images``:

    * a ``dask.bag.Bag`` whose elements are per-image (N_j, D) descriptor
      arrays: one block per partition (the number of rows of each block is
      unknown until computed: ``.compute_chunk_sizes()`` finds it);
    * a list/tuple of per-image arrays or ``dask.delayed`` objects computing
      them: blocks of ``batch_size`` images (known shape).

    With a spatial pyramid every element is instead a tuple
    ``(descriptors, positions (N_j, 2), (width, height))``. Row j equals
    ``encoder.encode(...)`` of image j (the batch path computes it the same
    way); the dtype is the encoder's.
    """
    import dask
    import dask.array as da
    import dask.bag as db

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    encoder._check_fitted()
    out_dim, dtype = int(encoder.output_dim), encoder.np_dtype
    enc = dask.delayed(encoder, pure=False)  # one key: sent once, not per task
    task = dask.delayed(_encode_partition, pure=True)
    if isinstance(images, db.Bag):
        blocks = [
            da.from_delayed(task(enc, part), shape=(np.nan, out_dim), dtype=dtype)
            for part in images.to_delayed()
        ]
    else:
        if isinstance(images, np.ndarray) or not isinstance(images, (list, tuple)):
            raise TypeError(
                "images must be a dask.bag.Bag or a list of per-image descriptor arrays "
                f"(or delayed objects), got {type(images).__name__}"
            )
        items = list(images)
        blocks = [
            da.from_delayed(task(enc, items[i : i + batch_size]),
                            shape=(len(items[i : i + batch_size]), out_dim), dtype=dtype)
            for i in range(0, len(items), batch_size)
        ]
    if not blocks:
        return da.zeros((0, out_dim), dtype=dtype)
    return da.concatenate(blocks, axis=0)
