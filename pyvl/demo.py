"""``python -m pyvl demo``: learn a GMM vocabulary of image patches.

Data ships with scikit-learn (the 8x8 handwritten digits), so nothing is
downloaded. Every image gives 25 dense 4x4 patches; the patches are reduced
with PCA and a Gaussian mixture is learned with VLFeat's API; the demo prints
the time of each stage and the log-likelihood per descriptor on training and
held-out images.
"""

from __future__ import annotations

import argparse
import time
from typing import Sequence

import numpy as np


def dense_patches(images: np.ndarray, size: int = 4) -> np.ndarray:
    """All size x size patches of every image: (n_images, n_patches, size*size)."""
    n, h, w = images.shape
    view = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    return view.reshape(n, (h - size + 1) * (w - size + 1), size * size)


def load_descriptors(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise SystemExit("the demo needs scikit-learn: pip install 'pyvl[demo]'") from exc
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    half = len(images) // 2
    train, test = order[:half], order[half:]
    desc = dense_patches(images)
    return desc[train], desc[test], digits.target[train], digits.target[test]


def pca(train: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    return mean, vt[:dims].T


def main(argv: Sequence[str] | None = None) -> int:
    from .gmm import (
        VL_TYPE_FLOAT,
        VlGMMKMeans,
        vl_get_gmm_data_posteriors_f,
        vl_get_rand,
        vl_gmm_cluster,
        vl_gmm_get_covariances,
        vl_gmm_get_means,
        vl_gmm_get_priors,
        vl_gmm_new,
        vl_gmm_set_initialization,
        vl_gmm_set_max_num_iterations,
        vl_rand_seed,
    )

    parser = argparse.ArgumentParser(prog="python -m pyvl demo", description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=32, help="GMM components (default 32)")
    parser.add_argument("--pca", type=int, default=12, help="PCA dimensions (default 12)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    train, test, _, _ = load_descriptors(args.seed)
    t1 = time.perf_counter()
    xtr = train.reshape(-1, train.shape[-1])
    xte = test.reshape(-1, test.shape[-1])
    mean, basis = pca(xtr, args.pca)
    ztr = ((xtr - mean) @ basis).astype(np.float32)
    zte = ((xte - mean) @ basis).astype(np.float32)
    t2 = time.perf_counter()
    print(f"descriptors: {len(ztr)} train / {len(zte)} test patches of {train.shape[-1]} pixels, "
          f"PCA to {args.pca} dims  ({t1 - t0:.2f} s load, {t2 - t1:.2f} s PCA)")

    k, d = args.components, args.pca
    gmm = vl_gmm_new(VL_TYPE_FLOAT, d, k)
    vl_gmm_set_initialization(gmm, VlGMMKMeans)
    vl_gmm_set_max_num_iterations(gmm, 100)
    vl_rand_seed(vl_get_rand(), args.seed)
    ll = vl_gmm_cluster(gmm, ztr)
    t3 = time.perf_counter()
    print(f"GMM: {k} components, log-likelihood {ll:.1f} ({ll / len(ztr):.3f} per descriptor)  "
          f"({t3 - t2:.2f} s)")
    priors = vl_gmm_get_priors(gmm)
    means = vl_gmm_get_means(gmm)
    covs = vl_gmm_get_covariances(gmm)
    _, ll_test = vl_get_gmm_data_posteriors_f(None, k, len(zte), priors, means, d, covs, zte)
    print(f"held-out log-likelihood per descriptor: {ll_test / len(zte):.3f}")
    print(f"largest component prior {priors.max():.3f}, smallest {priors.min():.4f}")
    return 0
