"""pyvl.KMeans against scikit-learn's KMeans (the oracle) from the same explicit
start: n_iter_, labels_, inertia_ and cluster_centers_ for Lloyd and Elkan,
float32 and float64, weighted and not; the verbose lines; sample_weight in
memory, in chunks (lists, memmaps) and on Dask against the in-memory fit and
against repeated rows; its validation; the user's weights never written."""

from __future__ import annotations

import contextlib
import io
import re
import warnings

import numpy as np
import pytest
import sklearn.cluster
from helpers import mixture_data
from sklearn.exceptions import ConvergenceWarning

import pyvl

N, D, K = 2000, 5, 6


def data(dtype=np.float64, n=N, seed=0):
    return mixture_data(n, D, K, dtype, seed=seed, spread=2.5)


def weights(n=N, seed=1):
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


def start(X, seed=2):
    """K distinct rows of X: the explicit init both libraries start from."""
    return X[np.random.default_rng(seed).choice(X.shape[0], K, replace=False)].copy()


def quiet_fit(est, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, **kw)


RTOL = {np.float32: 2e-4, np.float64: 1e-9}


def assert_same_fit(got, ref, dtype):
    assert got.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(got.labels_, ref.labels_)
    assert got.inertia_ == pytest.approx(ref.inertia_, rel=RTOL[dtype])
    scale = float(np.abs(ref.cluster_centers_).max())
    np.testing.assert_allclose(got.cluster_centers_, ref.cluster_centers_, rtol=RTOL[dtype],
                               atol=RTOL[dtype] * scale)
    assert got.cluster_centers_.dtype == ref.cluster_centers_.dtype


# ---- the oracle: scikit-learn from the same start ------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
@pytest.mark.parametrize("tol", [1e-4, 0.0])
def test_same_as_sklearn_from_the_same_start(algorithm, dtype, weighted, tol):
    X = data(dtype)
    w = weights() if weighted else None
    init = start(X)
    kw = dict(n_clusters=K, init=init, n_init=1, tol=tol, max_iter=300, algorithm=algorithm)
    ref = sklearn.cluster.KMeans(**kw).fit(X, sample_weight=w)
    got = pyvl.KMeans(**kw).fit(X, sample_weight=w)
    assert ref.n_iter_ > 2  # the data makes the loop do some work
    assert_same_fit(got, ref, dtype)
    # score and predict of the fitted model, weighted as scikit-learn's
    assert got.score(X, sample_weight=w) == pytest.approx(ref.score(X, sample_weight=w),
                                                          rel=RTOL[dtype])
    np.testing.assert_array_equal(got.predict(X, sample_weight=w), ref.predict(X))


@pytest.mark.parametrize("max_iter", [1, 2, 3])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_iteration_limit_as_sklearn(algorithm, max_iter):
    X = data()
    w = weights()
    kw = dict(n_clusters=K, init=start(X), n_init=1, max_iter=max_iter, algorithm=algorithm)
    ref = sklearn.cluster.KMeans(**kw).fit(X, sample_weight=w)
    got = pyvl.KMeans(**kw).fit(X, sample_weight=w)
    assert got.n_iter_ == ref.n_iter_ == max_iter
    assert_same_fit(got, ref, np.float64)


@pytest.mark.parametrize("weighted", [False, True])
def test_empty_cluster_relocated_as_sklearn(weighted):
    X = data()
    w = weights() if weighted else None
    init = start(X)
    init[0] = 1e3  # no point is nearest to it: it takes the farthest point
    for algorithm in ("lloyd", "elkan"):
        kw = dict(n_clusters=K, init=init, n_init=1, algorithm=algorithm)
        ref = sklearn.cluster.KMeans(**kw).fit(X, sample_weight=w)
        got = pyvl.KMeans(**kw).fit(X, sample_weight=w)
        assert np.abs(got.cluster_centers_).max() < 100
        assert_same_fit(got, ref, np.float64)


def test_elkan_equals_lloyd_from_the_same_start():
    for dtype in (np.float32, np.float64):
        X = data(dtype, seed=3)
        w = weights(seed=4)
        init = start(X, seed=5)
        a = pyvl.KMeans(K, init=init, algorithm="lloyd").fit(X, sample_weight=w)
        b = pyvl.KMeans(K, init=init, algorithm="elkan").fit(X, sample_weight=w)
        assert a.n_iter_ == b.n_iter_
        np.testing.assert_array_equal(a.labels_, b.labels_)
        np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=RTOL[dtype])
        assert a.inertia_ == pytest.approx(b.inertia_, rel=RTOL[dtype])


# ---- verbose: scikit-learn's lines ---------------------------------------------------------


def _lines(est, X, w):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        est.fit(X, sample_weight=w)
    return out.getvalue().splitlines()


_NUMBER = re.compile(r"[-+0-9.e]+(?:e[-+][0-9]+)?")


def _shape(line):
    """The line without its numbers, and its numbers."""
    words = line.rstrip(".").replace(",", " ,").split()
    numbers = [float(x) for x in words if _NUMBER.fullmatch(x)]
    return " ".join("#" if _NUMBER.fullmatch(x) else x for x in words), numbers


@pytest.mark.parametrize("tol", [1e-4, 0.0])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_verbose_lines_as_sklearn(algorithm, tol):
    X = data()
    w = weights()
    kw = dict(n_clusters=K, init=start(X), n_init=1, algorithm=algorithm, tol=tol, verbose=1)
    ref = _lines(sklearn.cluster.KMeans(**kw), X, w)
    got = _lines(pyvl.KMeans(**kw), X, w)
    assert ref[0] == got[0] == "Initialization complete"
    assert len(got) == len(ref)
    assert re.match(r"Converged at iteration \d+: ", got[-1])
    for g, r in zip(got, ref):
        (gs, gn), (rs, rn) = _shape(g), _shape(r)
        assert gs == rs, (g, r)
        # iteration numbers exactly, inertia and shift to rounding, tolerance to rounding
        np.testing.assert_allclose(gn, rn, rtol=1e-9, atol=1e-12)
    assert got[-1].endswith(".") and ref[-1].endswith(".")


def test_verbose_lines_chunked_as_in_memory():
    X = data()
    w = weights()
    kw = dict(n_clusters=K, init=start(X), n_init=1, verbose=1)
    ref = _lines(pyvl.KMeans(**kw), X, w)
    got = _lines(pyvl.KMeans(**kw, chunk_size=400), [X[:900], X[900:]], w)
    assert len(got) == len(ref) > 3
    for g, r in zip(got, ref):
        (gs, gn), (rs, rn) = _shape(g), _shape(r)
        assert gs == rs, (g, r)
        np.testing.assert_allclose(gn, rn, rtol=1e-9, atol=1e-12)


def test_verbose_one_block_per_init():
    X = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _lines(pyvl.KMeans(K, n_init=3, random_state=0, verbose=1), X, None)
    assert sum(line == "Initialization complete" for line in got) == 3
    assert sum(line.startswith("Converged at iteration") for line in got) <= 3
    assert all(re.fullmatch(r"Initialization complete|Iteration \d+, inertia [-+0-9.e]+\.?|"
                            r"Converged at iteration \d+: .*\.", line) for line in got)


# ---- sample_weight semantics ---------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_integer_weights_equal_repeated_rows(algorithm):
    X = data(n=600)
    reps = np.random.default_rng(7).integers(0, 4, X.shape[0])
    init = start(X)
    kw = dict(n_clusters=K, init=init, algorithm=algorithm, tol=0.0)
    a = pyvl.KMeans(**kw).fit(X, sample_weight=reps.astype(np.float64))
    b = pyvl.KMeans(**kw).fit(np.repeat(X, reps, axis=0))
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-10)
    np.testing.assert_array_equal(np.repeat(a.labels_, reps), b.labels_)


def test_scalar_and_unit_weights_and_score():
    X = data()
    init = start(X)
    a = pyvl.KMeans(K, init=init).fit(X)
    b = pyvl.KMeans(K, init=init).fit(X, sample_weight=np.ones(N))
    c = pyvl.KMeans(K, init=init).fit(X, sample_weight=2.5)
    for m in (b, c):
        np.testing.assert_array_equal(m.labels_, a.labels_)
        np.testing.assert_allclose(m.cluster_centers_, a.cluster_centers_, rtol=1e-12)
        assert m.n_iter_ == a.n_iter_
    assert c.inertia_ == pytest.approx(2.5 * a.inertia_, rel=1e-12)
    # score: minus the weighted squared distance to the nearest center (numpy reference)
    w = weights()
    d2 = ((X[:, None, :] - a.cluster_centers_[None]) ** 2).sum(-1).min(1)
    assert a.score(X, sample_weight=w) == pytest.approx(-np.sum(w * d2), rel=1e-10)
    assert a.inertia_ == pytest.approx(np.sum(d2), rel=1e-10)


def test_fit_predict_and_fit_transform_take_weights():
    X = data()
    w = weights()
    init = start(X)
    ref = pyvl.KMeans(K, init=init).fit(X, sample_weight=w)
    np.testing.assert_array_equal(pyvl.KMeans(K, init=init).fit_predict(X, sample_weight=w),
                                  ref.labels_)
    np.testing.assert_allclose(pyvl.KMeans(K, init=init).fit_transform(X, sample_weight=w),
                               ref.transform(X), rtol=1e-12)


def test_weights_read_only_and_unchanged():
    X = data()
    for dtype in (np.float64, np.float32, np.int64):
        w = (weights() * 3).astype(dtype)
        w.setflags(write=False)  # pyvl would fail writing to it
        before = w.copy()
        km = pyvl.KMeans(K, init=start(X)).fit(X, sample_weight=w)
        km.score(X, sample_weight=w)
        km.predict(X, sample_weight=w)
        np.testing.assert_array_equal(w, before)


def test_zero_weight_rows_do_not_count():
    X = data()
    w = weights()
    w[::3] = 0
    init = start(X[w > 0])
    a = pyvl.KMeans(K, init=init, tol=0.0).fit(X, sample_weight=w)
    b = pyvl.KMeans(K, init=init, tol=0.0).fit(X[w > 0], sample_weight=w[w > 0])
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-12)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12)
    np.testing.assert_array_equal(a.labels_[w > 0], b.labels_)


BAD = [
    (np.full(N, -1.0), "Negative values"),
    (np.r_[np.nan, np.ones(N - 1)], "NaN"),
    (np.r_[np.inf, np.ones(N - 1)], "infinity"),
    (np.zeros(N), "at least one non-zero"),
    (np.ones(N - 1), "shape"),
    (np.ones((N, 1)), "1D"),
    (np.array(["a"] * N), "real numbers"),
]


@pytest.mark.parametrize("bad, words", BAD)
def test_bad_weights_rejected(bad, words, tmp_path):
    X = data()
    with pytest.raises(ValueError, match=words):
        pyvl.KMeans(K).fit(X, sample_weight=bad)
    with pytest.raises(ValueError, match=words):
        pyvl.KMeans(K, chunk_size=500).fit(X, sample_weight=bad)
    with pytest.raises(ValueError, match=words):
        pyvl.KMeans(K).fit([X[:1000], X[1000:]], sample_weight=bad)
    km = pyvl.KMeans(K, init=start(X)).fit(X)
    with pytest.raises(ValueError, match=words):
        km.score(X, sample_weight=bad)
    with pytest.raises(ValueError, match=words):
        km.predict(X, sample_weight=bad)


# ---- chunks, memmaps, Dask: the in-memory result ---------------------------------------------


def _memmap(X, tmp_path, name):
    path = tmp_path / name
    mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tol", [1e-4, 0.0])
def test_chunked_weighted_equals_in_memory(dtype, tol, tmp_path):
    X = data(dtype)
    w = weights()
    init = start(X)
    kw = dict(n_clusters=K, init=init, tol=tol)
    ref = pyvl.KMeans(**kw).fit(X, sample_weight=w)
    wmm = _memmap(w, tmp_path, "w.dat")
    fits = {
        "list": pyvl.KMeans(**kw, n_threads=1).fit([X[:700], X[700:1500], X[1500:]],
                                                   sample_weight=w),
        "memmap": pyvl.KMeans(**kw, chunk_size=333).fit(_memmap(X, tmp_path, "x.dat"),
                                                        sample_weight=wmm),
        "array": pyvl.KMeans(**kw, chunk_size=1999).fit(X, sample_weight=w),
    }
    for name, got in fits.items():
        assert got.n_iter_ == ref.n_iter_, name
        np.testing.assert_array_equal(got.labels_, ref.labels_, err_msg=name)
        scale = float(np.abs(ref.cluster_centers_).max())
        rtol = {np.float32: 1e-5, np.float64: 1e-9}[dtype]
        np.testing.assert_allclose(got.cluster_centers_, ref.cluster_centers_, rtol=rtol,
                                   atol=rtol * scale, err_msg=name)
        assert got.inertia_ == pytest.approx(ref.inertia_, rel=rtol), name


def test_chunked_weighted_relocation_equals_in_memory():
    X = data()
    w = weights()
    init = start(X)
    init[0] = 1e3
    ref = pyvl.KMeans(K, init=init).fit(X, sample_weight=w)
    got = pyvl.KMeans(K, init=init, chunk_size=256).fit([X], sample_weight=w)
    assert got.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(got.labels_, ref.labels_)
    np.testing.assert_allclose(got.cluster_centers_, ref.cluster_centers_, rtol=1e-9)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_chunked_weighted_seeding_on_a_sample_covering_the_data(init):
    """With the data no larger than the initialisation sample, the sample is
    the data in order, with its weights: the in-memory seeding and fit."""
    X = data()
    w = weights()
    ref = pyvl.KMeans(K, init=init, random_state=3).fit(X, sample_weight=w)
    got = pyvl.KMeans(K, init=init, random_state=3, chunk_size=300).fit(
        [X[:900], X[900:]], sample_weight=w)
    assert got.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(got.labels_, ref.labels_)
    np.testing.assert_allclose(got.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    unweighted = pyvl.KMeans(K, init=init, random_state=3).fit(X)
    assert not np.allclose(unweighted.cluster_centers_, ref.cluster_centers_)


def test_chunked_weights_sample_carries_weights():
    """A sample smaller than the data: the seeds are rows of positive weight
    (the sampled rows' weights reach the seeding)."""
    X = data()
    heavy = np.flatnonzero(X[:, 0] > np.median(X[:, 0]))
    w = np.zeros(N)
    w[heavy] = 1.0
    km = pyvl.KMeans(K, init="random", random_state=0, init_sample_size=500, chunk_size=250,
                     max_iter=0)
    quiet_fit(km, [X], sample_weight=w)
    # every seed is a row of positive weight
    d2 = ((km.cluster_centers_[:, None, :] - X[heavy][None]) ** 2).sum(-1).min(1)
    np.testing.assert_array_equal(d2, 0)


def test_dask_weighted_equals_in_memory():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    X = data()
    w = weights()
    init = start(X)
    ref = pyvl.KMeans(K, init=init).fit(X, sample_weight=w)
    with dask.config.set(scheduler="synchronous"):
        Xd = da.from_array(X, chunks=(450, D))
        for sw in (w, da.from_array(w, chunks=700)):
            got = pyvl.KMeans(K, init=init).fit(Xd, sample_weight=sw)
            assert got.n_iter_ == ref.n_iter_
            np.testing.assert_array_equal(np.asarray(got.labels_.compute()), ref.labels_)
            np.testing.assert_allclose(got.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
            assert got.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
        with pytest.raises(ValueError, match="Negative values"):
            pyvl.KMeans(K, init=init).fit(Xd, sample_weight=da.from_array(-w, chunks=500))
        with pytest.raises(ValueError, match="shape"):
            pyvl.KMeans(K, init=init).fit(Xd, sample_weight=w[:-1])
