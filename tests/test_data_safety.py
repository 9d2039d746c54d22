"""pyvl never changes memory it does not own.

Every kind of array a user may hand to pyvl -- plain arrays, memmaps in every
mode (with edits made in 'c' and 'r+' before the call), the heap-allocated
memmaps that .astype()/np.require()/np.asarray(..., dtype=) return, slices,
transposed views, np.frombuffer over mmap.mmap, multiprocessing shared
memory -- is bit for bit the same after fits (in memory and out of core),
encoders, transformers and the command line, and so is the file behind a
memmap. The truth is a copy taken before the call.
"""

from __future__ import annotations

import hashlib
import mmap
import subprocess
import sys
import warnings
from multiprocessing import shared_memory

import numpy as np
import pytest

import pyvl
import pyvl.encoders as E
from pyvl import fisher as F
from pyvl import vlad as V

N, D, K = 1200, 6, 3


def _values(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(K, D)) * 4
    return (centers[rng.integers(0, K, N)] + rng.normal(size=(N, D))).astype(np.float32)


def _file(tmp_path, arr: np.ndarray, name: str = "x.dat") -> str:
    path = str(tmp_path / name)
    arr.tofile(path)
    return path


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _kinds(tmp_path):
    """(name, array, keep-alive objects, file path or None) for every kind of array."""
    x = _values()
    out = []
    out.append(("ndarray", x.copy(), [], None))
    out.append(("ndarray_f64", x.astype(np.float64), [], None))
    out.append(("ndarray_uint8", np.clip(x * 10 + 128, 0, 255).astype(np.uint8), [], None))
    for mode in ("r", "r+", "c"):
        path = _file(tmp_path, x, f"m_{mode.replace('+', 'p')}.dat")
        mm = np.memmap(path, dtype=np.float32, mode=mode, shape=(N, D))
        if mode != "r":
            mm[3, 2] = 99.0  # an edit in memory ('c': private; 'r+': written through)
        out.append((f"memmap_{mode}", mm, [], path))
    path = _file(tmp_path, x, "src.dat")
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=(N, D))
    out.append(("memmap_astype_f64", mm.astype(np.float64), [mm], path))
    out.append(("memmap_require_f32", np.require(mm, np.float32, ["C", "A"]), [mm], path))
    out.append(("memmap_asarray_f64", np.asarray(mm, dtype=np.float64), [mm], path))
    out.append(("memmap_slice", mm[100:900:2], [mm], path))
    path_t = _file(tmp_path, np.ascontiguousarray(x.T), "t.dat")
    mmt = np.memmap(path_t, dtype=np.float32, mode="r", shape=(D, N))
    out.append(("memmap_transposed", mmt.T, [mmt], path_t))
    raw = mmap.mmap(-1, x.nbytes)
    fb = np.frombuffer(raw, dtype=np.float32).reshape(N, D)
    fb[...] = x
    out.append(("frombuffer_mmap", fb, [raw], None))
    shm = shared_memory.SharedMemory(create=True, size=x.nbytes)
    sh = np.ndarray((N, D), dtype=np.float32, buffer=shm.buf)
    sh[...] = x
    out.append(("shared_memory", sh, [shm], None))
    return out


@pytest.fixture
def kinds(tmp_path):
    items = _kinds(tmp_path)
    yield items
    for _, arr, keep, _ in items:
        for obj in keep:
            if isinstance(obj, shared_memory.SharedMemory):
                del arr
                obj.close()
                obj.unlink()


def _uses(arr: np.ndarray) -> None:
    """Every public consumer of training data or descriptors, on ``arr``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = pyvl.GaussianMixture(K, random_state=0, max_iter=5, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(arr)
        pyvl.GaussianMixture(K, random_state=0, max_iter=5, chunk_size=256, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(arr)
        # scikit-learn's defaults (full covariances, exact EM), and another type by chunks
        pyvl.GaussianMixture(K, random_state=0, max_iter=3).fit(arr)
        pyvl.GaussianMixture(K, random_state=0, max_iter=3, covariance_type="tied",
                             chunk_size=256).fit(arr)
        pyvl.KMeans(K, random_state=0, max_iter=5).fit(arr)
        pyvl.KMeans(K, random_state=0, max_iter=5, chunk_size=300).fit(arr)
        gm.predict_proba(arr), gm.score_samples(arr)
        E.get("fisher", n_components=K, random_state=0, max_num_iterations=3).fit(arr).encode(arr)
        E.get("vlad", n_clusters=K, random_state=0, max_num_iterations=3).fit(arr)
        m = gm.means_.astype(np.float32)
        F.vl_fisher_encode(m, gm.covariances_.astype(np.float32), gm.weights_.astype(np.float32), arr)
        V.vlad_encode_batch(m, [arr, arr[:10]])
        pyvl.FisherVectorEncoder(n_components=K, random_state=0, max_iter=3).fit([arr]).transform([arr])


def test_no_array_changes(kinds):
    for name, arr, _, path in kinds:
        before = np.array(arr, copy=True)
        file_before = _digest(path) if path else None
        _uses(arr)
        np.testing.assert_array_equal(arr, before, err_msg=name)
        if path:
            assert _digest(path) == file_before, name
        if name == "memmap_c":  # the private edit is still there; the file never saw it
            assert arr[3, 2] == 99.0


def test_sample_weight_arrays_are_not_changed(tmp_path):
    """sample_weight of every kind (memmaps in each mode, with an edit in 'c' and 'r+', an
    astype copy, shared memory, a buffer over mmap) is read-only to KMeans, in memory and by
    chunks: the same bytes in memory and in the file afterwards."""
    x = _values(3)
    w = np.random.default_rng(4).uniform(0.5, 2.0, N)
    kinds = []
    for mode in ("r", "r+", "c"):
        path = _file(tmp_path, w, f"w_{mode}.dat")
        mm = np.memmap(path, dtype=np.float64, mode=mode, shape=(N,))
        if mode != "r":
            mm[7] = 3.0
        kinds.append((f"memmap_{mode}", mm, path))
    path = _file(tmp_path, w.astype(np.float32), "w32.dat")
    kinds.append(("memmap_astype", np.memmap(path, dtype=np.float32, mode="r", shape=(N,))
                  .astype(np.float64), path))
    raw = mmap.mmap(-1, w.nbytes)
    fb = np.frombuffer(raw, dtype=np.float64)
    fb[...] = w
    kinds.append(("frombuffer_mmap", fb, None))
    shm = shared_memory.SharedMemory(create=True, size=w.nbytes)
    try:
        sh = np.ndarray((N,), dtype=np.float64, buffer=shm.buf)
        sh[...] = w
        kinds.append(("shared_memory", sh, None))
        for name, arr, path in kinds:
            before = np.array(arr, copy=True)
            file_before = _digest(path) if path else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                km = pyvl.KMeans(K, random_state=0, max_iter=5).fit(x, sample_weight=arr)
                pyvl.KMeans(K, random_state=0, max_iter=5, chunk_size=300).fit(
                    [x[:500], x[500:]], sample_weight=arr)
                km.score(x, sample_weight=arr)
            np.testing.assert_array_equal(arr, before, err_msg=name)
            if path:
                assert _digest(path) == file_before, name
        del sh, kinds
    finally:
        shm.close()
        shm.unlink()


def test_memmap_and_array_give_the_same_model(tmp_path):
    """A memmap (or its astype copy) is fitted in memory: the same model as the array."""
    x = _values(1)
    mm = np.memmap(_file(tmp_path, x), dtype=np.float32, mode="r", shape=(N, D))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pyvl.GaussianMixture(K, random_state=2, max_iter=30, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(x)
        for arr in (mm, mm.astype(np.float32), np.require(mm, np.float32)):
            got = pyvl.GaussianMixture(K, random_state=2, max_iter=30, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(arr)
            np.testing.assert_array_equal(got.means_, ref.means_)
            assert got.n_iter_ == ref.n_iter_


def _resident_kib(arr: np.ndarray) -> int:
    """KiB of ``arr``'s pages resident in this process (mincore-free: /proc/self/smaps)."""
    start = arr.ctypes.data
    with open("/proc/self/smaps") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        head = line.split()
        if "-" in head[0] and len(head) >= 5:
            lo, hi = (int(v, 16) for v in head[0].split("-"))
            if lo <= start < hi:
                for extra in lines[i + 1 : i + 30]:
                    if extra.startswith("Rss:"):
                        return int(extra.split()[1])
    raise AssertionError("mapping not found")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/smaps")
def test_pages_are_released_only_from_read_only_file_maps(tmp_path):
    x = np.random.default_rng(3).normal(size=(200_000, 8)).astype(np.float32)  # 6.4 MB
    path = _file(tmp_path, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mode, released in (("r", True), ("r+", False), ("c", False)):
            mm = np.memmap(path, dtype=np.float32, mode=mode, shape=x.shape)
            pyvl.KMeans(2, random_state=0, max_iter=1, chunk_size=20_000).fit(mm)
            rss = _resident_kib(mm)
            if released:
                assert rss < 2 * 20_000 * 8 * 4 / 1024 + 64, (mode, rss)
            else:
                assert rss > 6000, (mode, rss)  # every page read stays: nothing was dropped
            np.testing.assert_array_equal(mm, x)


CLI_DTYPES = ["uint8", "float16", "uint64", ">f4", "float64"]


@pytest.mark.parametrize("kind", CLI_DTYPES + ["fortran", "dtype-float64", "two-files"])
def test_cli_fit_leaves_files_and_trains_on_the_data(tmp_path, kind):
    x = np.abs(_values(4)) * 10
    if kind in CLI_DTYPES:
        arr = x.astype(kind)
    elif kind == "fortran":
        arr = np.asfortranarray(x)
    else:
        arr = x
    paths = [str(tmp_path / "d.npy")]
    np.save(paths[0], arr)
    if kind == "two-files":
        np.save(paths[0], arr[:500])
        paths.append(str(tmp_path / "e.npy"))
        np.save(paths[1], arr[500:])
    digests = [_digest(p) for p in paths]
    extra = ["--dtype", "float64"] if kind == "dtype-float64" else []
    out = str(tmp_path / "m.npz")
    proc = subprocess.run(
        [sys.executable, "-m", "pyvl", "fit", *paths, "-k", "3", "-o", out, "-q", *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [_digest(p) for p in paths] == digests
    model = pyvl.io.load(out)
    data = np.concatenate([np.load(p) for p in paths]).astype(model.means_.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pyvl.GaussianMixture(3, random_state=0, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(data)
    np.testing.assert_array_equal(model.means_, ref.means_)


def test_same_data_one_file_or_two_gives_the_same_model(tmp_path):
    x = _values(5)
    np.save(tmp_path / "all.npy", x)
    np.save(tmp_path / "a.npy", x[:700])
    np.save(tmp_path / "b.npy", x[700:])
    models = []
    for files in (["all.npy"], ["a.npy", "b.npy"]):
        out = str(tmp_path / f"m{len(files)}.npz")
        proc = subprocess.run(
            [sys.executable, "-m", "pyvl", "fit", *[str(tmp_path / f) for f in files],
             "-k", "4", "-o", out, "-q", "--seed", "3"],
            capture_output=True, text=True, timeout=300, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        models.append(pyvl.io.load(out))
    np.testing.assert_array_equal(models[0].means_, models[1].means_)
    assert models[0].n_iter_ == models[1].n_iter_


def test_read_only_memmap_is_never_written(tmp_path):
    """A read-only memmap stays read-only: pyvl never tries to write into it."""
    x = _values(6)
    mm = np.memmap(_file(tmp_path, x), dtype=np.float32, mode="r", shape=(N, D))
    assert not mm.flags.writeable
    _uses(mm)
    assert not mm.flags.writeable


@pytest.mark.parametrize("name", ["encoders", "io", "gmm", "kmeans", "fisher", "vlad", "bovw",
                                  "random", "simd", "estimators", "transformers", "compat"])
def test_documented_submodules_are_attributes_of_a_fresh_import(name):
    """`import pyvl; pyvl.encoders.get(...)` works without importing pyvl.encoders first."""
    code = f"import pyvl, importlib; m = pyvl.{name}; assert m is importlib.import_module('pyvl.{name}')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_state_error_is_a_value_error():
    from pyvl import gmm as G

    g = G.vl_gmm_new(G.VL_TYPE_FLOAT, 2, 2)
    G.vl_gmm_delete(g)
    with pytest.raises(ValueError, match="deleted"):
        G.vl_gmm_get_means(g)
    assert issubclass(pyvl.StateError, RuntimeError)  # kept for code written before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_score_samples_keeps_the_dtype(dtype):
    x = _values(7).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = pyvl.GaussianMixture(K, random_state=0, covariance_type="diag", em="vlfeat", reg_covar=0.0).fit(x)
    got = gm.score_samples(x)
    assert got.dtype == dtype
    # against a float64 numpy reference of log p(x) for a diagonal GMM
    m, c, w = (a.astype(np.float64) for a in (gm.means_, gm.covariances_, gm.weights_))
    xx = x.astype(np.float64)
    logp = (np.log(w) - 0.5 * np.sum(np.log(2 * np.pi * c), axis=1)
            - 0.5 * (((xx[:, None, :] - m[None]) ** 2) / c[None]).sum(-1))
    top = logp.max(1)
    ref = top + np.log(np.exp(logp - top[:, None]).sum(1))
    np.testing.assert_allclose(got, ref, rtol=1e-5 if dtype == np.float32 else 1e-10)
    assert gm.score(x) == pytest.approx(ref.mean(), rel=1e-6)
