"""libgmm's own thread runtime, through the VLFeat-style Python API.

* Results are bit-identical for 1, 2, 3 and 8 threads on every parallel
  entry point: GMM EM and cluster (k-means++ and k-means initialisations),
  the stateless posteriors, k-means Lloyd/Elkan/ANN and quantization, Fisher,
  VLAD and bags of words, one image and batches.
* Many Python threads calling at once (ctypes releases the GIL, so the calls
  overlap and share the pool) get the serial results.
* fork: after 1- and 2-thread use, a child made by os.fork() and the workers
  of a multiprocessing 'fork' Pool compute the parent's results (libgomp
  deadlocked there). Each case runs in a subprocess with a timeout, so a
  hang fails the test instead of hanging the suite.
* Threads that cannot be created (the address space capped with RLIMIT_AS,
  then 1024 threads asked for): fewer threads, the same results, no exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import pyvl
from pyvl import bovw as B
from pyvl import fisher as F
from pyvl import gmm as G
from pyvl import kmeans as KM
from pyvl import vlad as V

N, D, K = 5000, 12, 16


def data(dtype=np.float32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(7, D)) * 3
    return (centers[rng.integers(0, 7, N)] + rng.normal(size=(N, D))).astype(dtype)


def workload(dtype=np.float32) -> list:
    """Every parallel entry point, at the current thread count."""
    x = data(dtype)
    vt = G.VL_TYPE_FLOAT if dtype == np.float32 else G.VL_TYPE_DOUBLE
    out: list = []
    for init in (G.VlGMMRand, G.VlGMMKMeans):
        g = G.vl_gmm_new(vt, D, K)
        G.vl_gmm_set_initialization(g, init)
        G.vl_gmm_set_max_num_iterations(g, 15)
        G.vl_rand_seed(G.vl_get_rand(), 3)
        out += [G.vl_gmm_cluster(g, x), G.vl_gmm_get_means(g), G.vl_gmm_get_covariances(g),
                G.vl_gmm_get_priors(g), G.vl_gmm_get_posteriors(g)]
    m, c, p = (G.vl_gmm_get_means(g).reshape(K, D), G.vl_gmm_get_covariances(g).reshape(K, D),
               G.vl_gmm_get_priors(g))
    G.vl_gmm_set_max_num_iterations(g, 5)
    out.append(G.vl_gmm_em(g, x))
    post = np.zeros((N, K), dtype=dtype)
    fn = G.vl_get_gmm_data_posteriors_f if dtype == np.float32 else G.vl_get_gmm_data_posteriors_d
    out += [fn(post, K, N, p, m, D, c, x), post]
    images = [x[:100], x[100:1900], x[1900:1900], x[1900:]]
    for flags in (0, F.VL_FISHER_FLAG_IMPROVED, F.VL_FISHER_FLAG_FAST):
        out += [F.vl_fisher_encode(m, c, p, x, flags), F.fisher_encode_batch(m, c, p, images, flags)]
    out += [V.vl_vlad_encode(m, x, post), V.vlad_encode_batch(m, images)]
    out += [B.bovw_encode(m, x), B.bovw_encode(m, x, sigma=2.0, flags=B.VL_BOVW_FLAG_SOFT),
            B.bovw_encode_batch(m, images), B.bovw_encode_gmm_batch(m, c, p, images, B.VL_BOVW_FLAG_SOFT)]
    for alg, dist in ((KM.VlKMeansLloyd, KM.VlDistanceL2), (KM.VlKMeansElkan, KM.VlDistanceL2),
                      (KM.VlKMeansANN, KM.VlDistanceL2), (KM.VlKMeansLloyd, KM.VlDistanceL1)):
        km = KM.vl_kmeans_new(vt, dist)
        KM.vl_kmeans_set_algorithm(km, alg)
        KM.vl_kmeans_set_initialization(km, KM.VlKMeansPlusPlus)
        KM.vl_kmeans_set_max_num_iterations(km, 10)
        G.vl_rand_seed(G.vl_get_rand(), 4)
        out += [KM.vl_kmeans_cluster(km, x, D, None, K), KM.vl_kmeans_get_centers(km)]
        out += list(KM.vl_kmeans_quantize(km, x)) + list(KM.vl_kmeans_quantize_ann(km, x))
    return out


def flat(values) -> list[bytes]:
    """The bytes of every array or number in a nested list."""
    out: list[bytes] = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out += flat(v)
        else:
            out.append(np.asarray(v).tobytes())
    return out


def same(a: list, b: list) -> bool:
    return flat(a) == flat(b)


@pytest.fixture
def restore_threads():
    before = pyvl.vl_get_max_threads()
    yield
    pyvl.vl_set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_for_any_thread_count(dtype, restore_threads):
    pyvl.vl_set_num_threads(1)
    ref = workload(dtype)
    for n in (2, 3, 8):
        pyvl.vl_set_num_threads(n)
        assert pyvl.vl_get_max_threads() == n
        assert same(workload(dtype), ref), f"{n} threads"


def test_many_python_threads_at_once(restore_threads):
    pyvl.vl_set_num_threads(1)
    ref = workload()
    pyvl.vl_set_num_threads(2)
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = workload()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert all(same(results[i], ref) for i in range(8))


def run_python(code: str, timeout: float = 240) -> str:
    """Runs code in a fresh interpreter (this test file's helpers imported);
    a hang or a crash fails the test."""
    prelude = f"import sys; sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})\n"
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.parametrize("threads", [1, 2])
def test_os_fork_after_use(threads):
    out = run_python(f"""
        import os, pickle, numpy as np, pyvl
        from test_runtime import workload, same
        pyvl.vl_set_num_threads({threads})
        ref = workload()                       # the pool (and its workers) in use
        for child_threads in (1, 2):
            pid = os.fork()
            if pid == 0:
                import signal
                signal.alarm(120)              # a deadlock kills the child
                pyvl.vl_set_num_threads(child_threads)
                os._exit(0 if same(workload(), ref) else 3)
            _, status = os.waitpid(pid, 0)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert same(workload(), ref)           # the parent's pool still works
        print("ok")
    """)
    assert out.strip() == "ok"


@pytest.mark.parametrize("threads", [1, 2])
def test_multiprocessing_fork_pool(threads):
    out = run_python(f"""
        import multiprocessing as mp, numpy as np, pyvl
        from pyvl import fisher as F, gmm as G
        from test_runtime import data, workload, same

        def encode(i):
            x = data(seed=i)
            g = G.vl_gmm_new(G.VL_TYPE_FLOAT, x.shape[1], 8)
            G.vl_gmm_set_max_num_iterations(g, 10)
            G.vl_rand_seed(G.vl_get_rand(), i)
            G.vl_gmm_cluster(g, x)
            m, c, p = (G.vl_gmm_get_means(g).reshape(8, -1), G.vl_gmm_get_covariances(g).reshape(8, -1),
                       G.vl_gmm_get_priors(g))
            return F.vl_fisher_encode(m, c, p, x, F.VL_FISHER_FLAG_IMPROVED).tobytes()

        if __name__ == "__main__":
            pyvl.vl_set_num_threads({threads})
            workload()                           # the pool in use before the fork
            want = [encode(i) for i in range(4)]
            with mp.get_context("fork").Pool(2) as pool:
                got = pool.map(encode, range(4), chunksize=1)
            assert got == want
            print("ok")
    """.replace('if __name__ == "__main__":', "if True:"))
    assert out.strip() == "ok"


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="an address-space limit and AddressSanitizer's shadow memory do not mix")
def test_thread_creation_failure_means_fewer_threads():
    # 1024 threads asked for, with the address space capped 16 MB above what
    # the process uses: 1 MB worker stacks fit about 15 times at most, so most
    # thread creations fail while the call runs. libgomp printed "Thread
    # creation failed" and exited here; libgmm runs with the threads it got
    # and gives the same results. Then the cap is lifted and everything runs.
    out = run_python("""
        import resource, numpy as np, pyvl
        from pyvl import bovw as B
        from test_runtime import data, workload, same
        x = data()
        images = [x[i * 50:(i + 1) * 50] for i in range(64)]   # 64 items: 63 helpers wanted
        m, c, p = x[:16].copy(), np.ones((16, x.shape[1]), np.float32), np.full(16, 1 / 16, np.float32)
        def call():
            return B.bovw_encode_gmm_batch(m, c, p, images, B.VL_BOVW_FLAG_SOFT)
        def status(key):
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))
        pyvl.vl_set_num_threads(1)
        ref_call, ref = call(), workload()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        threads_before = status("Threads")
        cap = status("VmSize") * 1024 + (16 << 20)
        pyvl.vl_set_num_threads(1024)
        # the call allocates before it starts threads; the stacks then take
        # what is left under the cap: the cap is lifted right after the call
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        try:
            got_call = call()
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        started = status("Threads") - threads_before
        assert started < 63, started                  # creations did fail
        assert same([got_call], [ref_call])
        assert same(workload(), ref)
        print("ok", started)
    """)
    assert out.split()[0] == "ok"
