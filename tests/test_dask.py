"""Training on Dask (a real LocalCluster of 2 worker processes) equals
in-memory and chunked training; a worker killed mid-fit changes nothing;
pyvl.dask.encode equals the encoders' own batch path."""

from __future__ import annotations

import logging
import os
import signal
import threading
import warnings

import dask
import dask.array as da
import dask.bag as db
import distributed
import numpy as np
import pytest
from helpers import VLFEAT, assert_allclose_scaled, image_sizes, images, mixture_data
from sklearn.exceptions import ConvergenceWarning

import pyvl
import pyvl.dask
import pyvl.encoders as E

#: VLFeat's GMM (diagonal, VLFeat's EM with its restarts), which these tests check;
#: tests/test_gaussian_mixture_sklearn.py checks scikit-learn's EM on chunks and Dask.
N, D, K = 3000, 6, 5
# uneven blocks, one smaller than K
CHUNKS = (3, 997, 1000, 1000)




def data(dtype=np.float64):
    return mixture_data(N, D, K, dtype, seed=0, spread=4.0)


def far_init(X):
    m0 = X[:K].astype(np.float64)
    m0[0] = 1e3  # empties: restarted
    return dict(means_init=m0, weights_init=np.full(K, 1.0 / K), precisions_init=np.ones((K, D)))


def blocks(X):
    out, i = [], 0
    for c in CHUNKS:
        out.append(X[i : i + c])
        i += c
    return out


def fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gmm_on_dask_equals_in_memory_and_chunked(client, dtype):
    X = data(dtype)
    kw = dict(far_init(X), tol=0.0, max_iter=25)
    ref = fit(pyvl.GaussianMixture(K, **kw, **VLFEAT), X)
    chunked = fit(pyvl.GaussianMixture(K, **kw, **VLFEAT), blocks(X))
    got = fit(pyvl.GaussianMixture(K, **kw, **VLFEAT), da.from_array(X, chunks=(CHUNKS, D)))
    assert ref.means_[0, 0] < 100  # the far component was restarted
    rtol = 1e-5 if dtype == np.float32 else 1e-9
    for name in ("weights_", "means_", "covariances_"):
        assert getattr(got, name).dtype == dtype
        assert_allclose_scaled(getattr(got, name), getattr(ref, name), rtol)
        # the same blocks as the chunks, tree within one node: bit for bit
        np.testing.assert_array_equal(getattr(got, name), getattr(chunked, name))
    assert got.n_iter_ == ref.n_iter_ == 25
    assert got.lower_bound_ == pytest.approx(ref.lower_bound_, rel=rtol)
    assert got.n_features_in_ == D


def test_gmm_on_dask_with_the_sampling_initialisation(client):
    X = data()
    ref = pyvl.GaussianMixture(K, random_state=2, **VLFEAT).fit(X)
    dX = da.from_array(X, chunks=(700, D))
    got = pyvl.GaussianMixture(K, random_state=2, **VLFEAT).fit(dX)  # sample >= N: the in-memory init
    assert got.n_iter_ == ref.n_iter_
    assert_allclose_scaled(got.means_, ref.means_, 1e-9)
    # a real sample (500 of 3000 rows): reproducible
    a = pyvl.GaussianMixture(K, random_state=2, init_sample_size=500, **VLFEAT).fit(dX)
    b = pyvl.GaussianMixture(K, random_state=2, init_sample_size=500, **VLFEAT).fit(dX)
    np.testing.assert_array_equal(a.means_, b.means_)
    labels = pyvl.GaussianMixture(K, random_state=2, **VLFEAT).fit_predict(dX)
    np.testing.assert_array_equal(labels.compute(), ref.predict(X))


def test_dask_sample_is_a_uniform_subset(client):
    from pyvl._training.data import DaskPasses

    X = np.arange(2000, dtype=np.float64).reshape(1000, 2)
    passes = DaskPasses(da.from_array(X, chunks=(130, 2)), np.dtype(np.float64), None)
    s, n = passes.sample(100, 7)
    assert n == 1000 and s.shape == (100, 2)
    assert len(np.unique(s[:, 0])) == 100 and np.all(np.diff(s[:, 0]) > 0)  # rows, in order
    np.testing.assert_array_equal(s[:, 1], s[:, 0] + 1)  # whole rows
    np.testing.assert_array_equal(passes.sample(100, 7)[0], s)  # seeded
    assert not np.array_equal(passes.sample(100, 8)[0], s)
    everything, _ = passes.sample(5000, 7)
    np.testing.assert_array_equal(everything, X)  # m >= N: the data, in order


def test_default_scheduler_without_the_cluster(client):
    X = data(np.float32)
    kw = dict(far_init(X), tol=0.0, max_iter=10)
    ref = fit(pyvl.GaussianMixture(K, **kw, **VLFEAT), blocks(X))
    with dask.config.set(scheduler="threads"):
        got = fit(pyvl.GaussianMixture(K, **kw, **VLFEAT), da.from_array(X, chunks=(CHUNKS, D)))
    np.testing.assert_array_equal(got.means_, ref.means_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kmeans_on_dask_equals_in_memory(client, dtype):
    X = data(dtype)
    init = X[[0, 700, 1400, 2100, 2800]].copy()
    ref = pyvl.KMeans(K, init=init, max_iter=20, tol=0.0).fit(X)
    got = pyvl.KMeans(K, init=init, max_iter=20, tol=0.0).fit(da.from_array(X, chunks=(CHUNKS, D)))
    rtol = 1e-5 if dtype == np.float32 else 1e-9
    assert got.cluster_centers_.dtype == dtype
    assert_allclose_scaled(got.cluster_centers_, ref.cluster_centers_, rtol)
    assert got.n_iter_ == ref.n_iter_
    assert got.inertia_ == pytest.approx(ref.inertia_, rel=rtol)
    np.testing.assert_array_equal(got.labels_.compute(), ref.labels_)
    seeded = pyvl.KMeans(K, random_state=1).fit(da.from_array(X, chunks=(1000, D)))
    assert_allclose_scaled(seeded.cluster_centers_, pyvl.KMeans(K, random_state=1).fit(X).cluster_centers_,
                 rtol)


class _KillOnIteration(logging.Handler):
    """Kills a worker process shortly after EM reports iteration `at`, so the
    kill lands while the next pass runs."""

    def __init__(self, pid, at):
        super().__init__(logging.DEBUG)
        self.pid, self.at, self.done = pid, at, False

    def emit(self, record):
        if not self.done and f"iteration {self.at}:" in record.getMessage():
            self.done = True
            threading.Timer(0.02, os.kill, (self.pid, signal.SIGKILL)).start()


def test_a_worker_dying_mid_fit_changes_nothing(client):
    X = mixture_data(60000, 16, 8, np.float64, seed=4)
    dX = da.from_array(X, chunks=(5000, 16)).persist()  # blocks live on the workers
    distributed.wait(dX)
    kw = dict(init_params="k-means++", random_state=0, tol=0.0, max_iter=12)
    ref = fit(pyvl.GaussianMixture(8, **kw, **VLFEAT), dX)
    victim = min(client.run(os.getpid).values())
    killer = _KillOnIteration(victim, at=3)
    log = logging.getLogger("pyvl")
    level = log.level
    log.addHandler(killer)
    log.setLevel(logging.DEBUG)
    try:
        got = fit(pyvl.GaussianMixture(8, **kw, **VLFEAT), dX)
    finally:
        log.removeHandler(killer)
        log.setLevel(level)
    assert killer.done
    np.testing.assert_array_equal(got.means_, ref.means_)
    np.testing.assert_array_equal(got.covariances_, ref.covariances_)
    np.testing.assert_array_equal(got.weights_, ref.weights_)
    assert got.lower_bounds_ == ref.lower_bounds_
    client.wait_for_workers(2, timeout=30)  # the nanny restarted it
    assert victim not in client.run(os.getpid).values()


# ---- pyvl.dask.encode ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoders():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(K, D)).astype(np.float32)
    covs = rng.uniform(0.5, 2, size=(K, D)).astype(np.float32)
    priors = np.full(K, 1.0 / K, dtype=np.float32)
    return {
        "fisher": E.get_class("fisher").from_gmm(means, covs, priors),
        "vlad": E.get_class("vlad").from_centers(means),
        "bovw": E.get_class("bovw").from_centers(means),
    }


@pytest.mark.parametrize("name", ["fisher", "vlad", "bovw"])
def test_encode_lists_bags_and_delayed(client, encoders, name):
    enc = encoders[name]
    imgs = images(image_sizes(23, seed=0), D, seed=0, dtype=np.float32)
    expected = enc.encode_batch(imgs)
    got = pyvl.dask.encode(enc, imgs, batch_size=5)
    assert got.shape == (len(imgs), enc.output_dim) and got.dtype == enc.np_dtype
    np.testing.assert_array_equal(got.compute(), expected)
    bag = db.from_sequence(imgs, npartitions=4)
    np.testing.assert_array_equal(pyvl.dask.encode(enc, bag).compute(), expected)
    lazy = [dask.delayed(np.asarray)(x) for x in imgs]
    np.testing.assert_array_equal(pyvl.dask.encode(enc, lazy, batch_size=7).compute(), expected)
    assert pyvl.dask.encode(enc, []).shape == (0, enc.output_dim)


def test_encode_with_a_pyramid(client, encoders):
    rng = np.random.default_rng(3)
    means = encoders["vlad"].get_state()["centers"]
    enc = E.get_class("vlad").from_centers(means, pyramid=[(1, 1), (2, 2)])
    imgs = images(image_sizes(9, seed=0), D, seed=0, dtype=np.float32)
    pos = [rng.uniform(0, 100, size=(len(x), 2)) for x in imgs]
    expected = enc.encode_batch(imgs, pos, (100, 100))
    items = [(x, p, (100, 100)) for x, p in zip(imgs, pos)]
    got = pyvl.dask.encode(enc, db.from_sequence(items, npartitions=3)).compute()
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="pyramid"):
        pyvl.dask.encode(enc, imgs).compute()
