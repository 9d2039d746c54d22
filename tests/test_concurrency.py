"""Many Python threads training and encoding with separate objects at once
give the serial results bit for bit (libgmm releases the GIL, so the calls
really overlap; every object is used by one thread at a time, as documented)."""

from __future__ import annotations

import threading

import numpy as np
from helpers import mixture_data

import pyvl
import pyvl.encoders as E
from pyvl.fisher import VL_FISHER_FLAG_IMPROVED, fisher_encode_batch
from pyvl.kmeans import (
    VL_TYPE_FLOAT,
    VlDistanceL2,
    vl_kmeans_cluster,
    vl_kmeans_get_centers,
    vl_kmeans_new,
)
from pyvl.vlad import vlad_encode_batch


def job(i: int) -> list[np.ndarray]:
    """Training and encoding work of thread i (its own data and objects)."""
    x = mixture_data(4000, 16, 8, np.float32, seed=100 + i)
    images = [x[j : j + 300] for j in range(0, 3000, 300)]
    gm = pyvl.GaussianMixture(8, random_state=i, max_iter=30, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(x)
    km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2)
    pyvl.random.vl_rand_seed(pyvl.random.vl_get_rand(), i)  # each thread has its own generator
    vl_kmeans_cluster(km, x, 16, None, 8)
    centers = vl_kmeans_get_centers(km).reshape(8, 16)
    fv = fisher_encode_batch(gm.means_, gm.covariances_, gm.weights_, images, VL_FISHER_FLAG_IMPROVED)
    vlad = vlad_encode_batch(centers, images)
    enc = E.get("vlad", n_clusters=4, random_state=i).fit(x[:2000]).encode_batch(images)
    return [gm.means_, gm.covariances_, gm.weights_, centers, fv, vlad, enc]


def test_threads_give_the_serial_results():
    n = 6
    serial = [job(i) for i in range(n)]
    parallel: dict[int, list[np.ndarray]] = {}
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            parallel[i] = job(i)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    for i in range(n):
        for a, b in zip(parallel[i], serial[i]):
            assert a.tobytes() == b.tobytes()
