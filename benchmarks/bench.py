"""pyvl against VLFeat, scikit-learn, scikit-image, faiss and numpy's SGEMM, in one run.

    python benchmarks/bench.py            # full run (< 15 min on 2 cores)
    python benchmarks/bench.py --quick    # smaller sizes, fewer repeats

Everything runs in this process on the same data (samples of a random
diagonal GMM, fixed seeds), float32 unless stated, all cores. Times are
medians; ratios are what count on a shared machine, so pyvl and its
yardstick or rival are timed in alternation (paired_times), in back-to-back
batches where the row is about calls that follow each other. The yardstick
for one EM iteration is numpy's float32 matmul of the E-step's shape,
(N x 2D) @ (2D x K): the distance computation written as one matrix product.
Results are appended to benchmarks/RESULTS.md with the machine, date and commit.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

from _common import (
    Table,
    clean_blas_environment,
    fmt_s,
    iteration_time,
    machine_info,
    median_time,
    paired_times,
    ratio,
)

clean_blas_environment()

import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the VLFeat ctypes binding shared with the tests

from vlapi import VLApi, _p, find_vlfeat  # noqa: E402

import pyvl  # noqa: E402
from pyvl import gmm as G  # noqa: E402
from pyvl._core.lib import lib  # noqa: E402


def gmm_data(n: int, d: int, k: int, seed: int = 0, dtype=np.float32):
    """n samples of a random diagonal GMM with k components, and its parameters."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 2.0
    stds = rng.uniform(0.5, 1.5, size=(k, d))
    weights = rng.dirichlet(np.full(k, 5.0))
    labels = rng.choice(k, size=n, p=weights)
    x = means[labels] + rng.normal(size=(n, d)) * stds[labels]
    return x.astype(dtype), means.astype(dtype), (stds**2).astype(dtype), weights.astype(dtype)


def start_params(x: np.ndarray, k: int, seed: int = 1, warmup: int = 8):
    """A steady-state starting point: `warmup` EM iterations from means at random
    points. Early iterations from such a start empty out and restart many
    components (each restart is an extra pass over the data in every library);
    the timed iterations start after that, where EM spends its time."""
    rng = np.random.default_rng(seed)
    means = x[rng.choice(len(x), k, replace=False)]
    covs, priors = np.ones_like(means), np.full(k, 1.0 / k, dtype=x.dtype)
    if warmup:
        vt = G.VL_TYPE_FLOAT if x.dtype == np.float32 else G.VL_TYPE_DOUBLE
        g = G.vl_gmm_new(vt, x.shape[1], k)
        G.vl_gmm_set_means(g, means)
        G.vl_gmm_set_covariances(g, covs)
        G.vl_gmm_set_priors(g, priors)
        G.vl_gmm_set_max_num_iterations(g, warmup)
        G.vl_gmm_em(g, x)
        d = x.shape[1]
        means = G.vl_gmm_get_means(g).reshape(k, d)
        covs = G.vl_gmm_get_covariances(g).reshape(k, d)
        priors = G.vl_gmm_get_priors(g)
    return means, covs, priors


# ---- EM ----------------------------------------------------------------------------


def em_time_vl_api(api_em, repeats: int) -> float:
    """Time of one EM iteration (an E-step and an M-step) of VLFeat's
    vl_gmm_em: t(1) - t(0), where max_num_iterations = 1 runs E, M, E and 0
    runs one E-step. (With more iterations VLFeat may stop early on its own
    convergence test, which has no switch, and the difference would undercount.)"""
    return iteration_time(api_em, 0, 1, repeats)


def pyvl_em_runner(x, start, store_posteriors: bool):
    k, d = start[0].shape
    vt = G.VL_TYPE_FLOAT if x.dtype == np.float32 else G.VL_TYPE_DOUBLE
    g = G.vl_gmm_new(vt, d, k)
    lib.vl_gmm_set_store_posteriors(g, int(store_posteriors))
    lib.vl_gmm_set_convergence_threshold(g, 0.0)

    def run(m: int) -> None:
        G.vl_gmm_set_means(g, start[0])
        G.vl_gmm_set_covariances(g, start[1])
        G.vl_gmm_set_priors(g, start[2])
        G.vl_gmm_set_max_num_iterations(g, m)
        G.vl_gmm_em(g, x)

    return run


def vlfeat_em_runner(vl: VLApi, x, start):
    k, d = start[0].shape
    n = len(x)
    g = vl.gmm_new(x.dtype, d, k)
    xp = np.ascontiguousarray(x)

    def run(m: int) -> None:
        vl._set_params(g, x.dtype, *start, None)
        vl.lib.vl_gmm_set_max_num_iterations(g, m)
        vl.lib.vl_gmm_em(g, _p(xp), n)

    return run


def sklearn_em_time(x, start, repeats: int) -> float:
    import warnings

    from sklearn.mixture import GaussianMixture

    def fit(iters: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GaussianMixture(
                len(start[2]), covariance_type="diag", max_iter=iters, tol=0.0,
                init_params="random_from_data", random_state=0, reg_covar=1e-6,
                means_init=start[0], weights_init=start[2], precisions_init=1.0 / start[1],
            ).fit(x)

    # two iterations' difference (one, timed one after the other, came out
    # <= 0 on a noisy machine)
    return iteration_time(fit, 1, 3, repeats)


# ---- main --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    quick = args.quick
    reps = 2 if quick else 5
    N = 20000 if quick else 100000
    K = 64 if quick else 256
    dims = [64] if quick else [64, 128]

    info = machine_info()
    print("machine:", json.dumps(info, indent=1))
    vl = VLApi(find_vlfeat()) if find_vlfeat() else None
    if vl is None:
        print("VLFeat (libvl.so.1) not found: apt-get install libvlfeat-dev; its columns are skipped")
    tables: list[tuple[Table, tuple[str, ...]]] = []
    summary: dict[str, float] = {}

    # 1. EM iteration vs the SGEMM yardstick, VLFeat, scikit-learn
    t_em = Table(f"EM: one iteration, N={N}, K={K}, float32")
    print("\n" + t_em.title)
    for d in dims:
        x, *_ = gmm_data(N, d, K)
        start = start_params(x, K)
        a = np.concatenate([x, x * x], axis=1)
        b = np.random.default_rng(0).normal(size=(2 * d, K)).astype(np.float32)
        # The yardstick and pyvl's runs in alternating batches (a call right
        # after an idle spell pays for waking thread pools: not counted). One
        # iteration = (t(4) - t(0)) / 4 (see em_time_vl_api: pyvl never stops
        # early with a zero threshold; four iterations quarter the noise of
        # the difference).
        run, runp = pyvl_em_runner(x, start, False), pyvl_em_runner(x, start, True)
        t_gemm, t_e0, t_e4, t_p0, t_p4 = paired_times(
            [lambda: a @ b, lambda: run(0), lambda: run(4), lambda: runp(0), lambda: runp(4)],
            reps * 2, pause=0.3, batch=2)
        t_ours = max((t_e4 - t_e0) / 4, 1e-9)
        t_ours_post = max((t_p4 - t_p0) / 4, 1e-9)
        x64 = x.astype(np.float64)
        start64 = tuple(p.astype(np.float64) for p in start)
        t_ours64 = iteration_time(pyvl_em_runner(x64, start64, False), 0, 4, reps)
        t_vl = em_time_vl_api(vlfeat_em_runner(vl, x, start), max(2, reps // 2)) if vl else float("nan")
        t_sk = sklearn_em_time(x, start, max(2, reps // 2))
        t_em.add(f"D={d}", "numpy sgemm (N x 2D)@(2D x K)", fmt_s(t_gemm), "1.00x (yardstick)")
        t_em.add(f"D={d}", "pyvl EM (no N x K array)", fmt_s(t_ours), f"{ratio(t_ours, t_gemm)} of sgemm")
        t_em.add(f"D={d}", "pyvl EM (vl_gmm API, posteriors kept)", fmt_s(t_ours_post), f"{ratio(t_ours_post, t_gemm)} of sgemm")
        t_em.add(f"D={d}", "pyvl EM float64", fmt_s(t_ours64), f"{ratio(t_ours64, t_ours)} of float32")
        t_em.add(f"D={d}", "VLFeat 0.9.21 vl_gmm_em", fmt_s(t_vl), f"pyvl {ratio(t_vl, t_ours)} faster")
        t_em.add(f"D={d}", "scikit-learn GaussianMixture(diag)", fmt_s(t_sk), f"pyvl {ratio(t_sk, t_ours)} faster")
        summary.update({f"em_d{d}_vs_sgemm": t_ours / t_gemm, f"em_d{d}_vs_vlfeat": t_vl / t_ours,
                        f"em_d{d}_vs_sklearn": t_sk / t_ours, f"em_d{d}_double_vs_float": t_ours64 / t_ours})
    tables.append((t_em, ("shape", "implementation", "median", "ratio")))

    # 2. Fisher vectors: one image, and a batch over the threads
    n_img = 2000
    t_fv = Table(f"Fisher vector (improved), one image of {n_img} descriptors, K={K}")
    print("\n" + t_fv.title)
    from pyvl.fisher import VL_FISHER_FLAG_IMPROVED, fisher_encode_batch, vl_fisher_encode

    for d in dims:
        x, means, covs, w = gmm_data(n_img, d, K, seed=2)
        enc = np.zeros(2 * K * d, np.float32)

        def ours_fv() -> None:
            vl_fisher_encode(means, covs, w, x, VL_FISHER_FLAG_IMPROVED)

        def vl_fv() -> None:
            vl.lib.vl_fisher_encode(_p(enc), 1, _p(means), d, K, _p(covs), _p(w), _p(x), n_img, 3)

        # back-to-back calls, in alternating batches: the ratio to VLFeat is
        # the figure that counts here (after an idle spell: the threads table)
        fns = [ours_fv, vl_fv] if vl else [ours_fv]
        t_ours, t_vl = (paired_times(fns, reps * 2, batch=5) + [float("nan")])[:2]
        t_sk = float("nan")
        try:
            from skimage.feature import fisher_vector
            from sklearn.mixture import GaussianMixture

            skg = GaussianMixture(K, covariance_type="diag")
            skg.weights_, skg.means_, skg.covariances_ = w.astype(np.float64), means.astype(np.float64), covs.astype(np.float64)
            skg.precisions_cholesky_ = 1 / np.sqrt(skg.covariances_)
            skg.precisions_ = 1 / skg.covariances_
            skg.converged_ = True
            t_sk = median_time(lambda: fisher_vector(x, skg, improved=True), reps * 2)
        except ImportError:
            pass
        t_fv.add(f"D={d}", "pyvl vl_fisher_encode", fmt_s(t_ours), "")
        t_fv.add(f"D={d}", "VLFeat vl_fisher_encode", fmt_s(t_vl), f"pyvl {ratio(t_vl, t_ours)} faster")
        t_fv.add(f"D={d}", "scikit-image fisher_vector", fmt_s(t_sk), f"pyvl {ratio(t_sk, t_ours)} faster")
        summary.update({f"fisher_d{d}_vs_vlfeat": t_vl / t_ours, f"fisher_d{d}_vs_skimage": t_sk / t_ours})
    # batch of many images: 1 thread vs all threads
    d = dims[0]
    n_images = 200 if quick else 1000
    sets = [gmm_data(n_img, d, K, seed=100 + i)[0] for i in range(n_images)]
    _, means, covs, w = gmm_data(10, d, K, seed=2)
    threads = pyvl.vl_get_max_threads()
    pyvl.vl_set_num_threads(1)
    t1 = median_time(lambda: fisher_encode_batch(means, covs, w, sets, VL_FISHER_FLAG_IMPROVED), max(1, reps // 2))
    pyvl.vl_set_num_threads(0)
    tn = median_time(lambda: fisher_encode_batch(means, covs, w, sets, VL_FISHER_FLAG_IMPROVED), max(1, reps // 2))
    t_fv.add(f"D={d}", f"pyvl batch of {n_images} images, 1 thread", fmt_s(t1), f"{n_images / t1:.0f} images/s")
    t_fv.add(f"D={d}", f"pyvl batch of {n_images} images, {threads} threads", fmt_s(tn),
             f"{n_images / tn:.0f} images/s, {ratio(t1, tn)} the 1-thread throughput")
    summary["fisher_batch_thread_speedup"] = t1 / tn
    tables.append((t_fv, ("shape", "implementation", "median", "ratio")))

    # 3. VLAD with the assignment
    t_vlad = Table(f"VLAD with hard assignment, one image of {n_img} descriptors, K={K}")
    print("\n" + t_vlad.title)
    from pyvl.vlad import vlad_encode_batch

    for d in dims:
        x, means, _, _ = gmm_data(n_img, d, K, seed=3)
        t_ours = median_time(lambda: vlad_encode_batch(means, [x]), reps * 4)

        def vl_vlad() -> None:
            km = vl.kmeans_new(np.float32)
            try:
                vl.lib.vl_kmeans_set_centers(km, _p(means), d, K)
                a = np.zeros(n_img, np.uint32)
                vl.lib.vl_kmeans_quantize(km, _p(a), None, _p(x), n_img)
                q = np.zeros((n_img, K), np.float32)
                q[np.arange(n_img), a] = 1
                enc = np.zeros(K * d, np.float32)
                vl.lib.vl_vlad_encode(_p(enc), 1, _p(means), d, K, _p(x), n_img, _p(q), 0)
            finally:
                vl.kmeans_delete(km)

        t_vl = median_time(vl_vlad, reps * 2) if vl else float("nan")
        t_vlad.add(f"D={d}", "pyvl vlad_encode_batch (C assignment)", fmt_s(t_ours), "")
        t_vlad.add(f"D={d}", "VLFeat vl_kmeans_quantize + vl_vlad_encode", fmt_s(t_vl), f"pyvl {ratio(t_vl, t_ours)} faster")
        summary[f"vlad_d{d}_vs_vlfeat"] = t_vl / t_ours
    tables.append((t_vlad, ("shape", "implementation", "median", "ratio")))

    # 4. k-means: one Lloyd iteration from the same centers
    t_km = Table(f"k-means: one Lloyd iteration, N={N}, K={K}, same initial centers")
    print("\n" + t_km.title)
    for d in dims:
        x, *_ = gmm_data(N, d, K, seed=4)
        c0 = np.ascontiguousarray(x[np.random.default_rng(5).choice(N, K, replace=False)])

        def ours(m: int, algo: int = 0) -> None:
            km = lib.vl_kmeans_new(1, 1)
            try:
                lib.vl_kmeans_set_algorithm(km, algo)
                lib.vl_kmeans_set_min_energy_variation(km, 0.0)
                lib.vl_kmeans_set_centers(km, _p(c0), d, K)
                lib.vl_kmeans_set_max_num_iterations(km, m)
                lib.vl_kmeans_refine_centers(km, _p(x), N)
            finally:
                lib.vl_kmeans_delete(km)

        # One iteration = one assignment of every point + one center update,
        # from the same initial centers: (t(4) - t(0)) / 4 for pyvl (0 runs
        # one assignment; a single difference t(1) - t(0) scattered by 15%
        # from run to run), t(1) - t(0) for VLFeat's API, (t(niter=5) -
        # t(niter=1)) / 4 for faiss and scikit-learn (iteration_time: a
        # one-iteration difference came out negative). The yardstick: numpy's matmul
        # of the iteration's distance GEMM, (N x D) @ (D x K); in alternation
        # with pyvl's two runs.
        c0t = np.ascontiguousarray(c0.T)
        t_dgemm, t_k0, t_k4 = paired_times([lambda: x @ c0t, lambda: ours(0), lambda: ours(4)], reps * 2,
                                           pause=0.3, batch=2)
        t_ours = max((t_k4 - t_k0) / 4, 1e-9)
        t_elkan = median_time(lambda: ours(20, 1), max(1, reps // 2))
        t_lloyd20 = median_time(lambda: ours(20, 0), max(1, reps // 2))

        def vlf(mm: int, algo: int) -> None:
            km = vl.kmeans_new(np.float32, algorithm=algo, min_energy_variation=0.0)
            try:
                vl.lib.vl_kmeans_set_centers(km, _p(c0), d, K)
                vl.kmeans_set(km, "max_num_iterations", mm)
                vl.lib.vl_kmeans_refine_centers(km, _p(x), N)
            finally:
                vl.kmeans_delete(km)

        # VLFeat's Elkan runs one update even with max_num_iterations = 0, so
        # its first iteration is the whole call (initial assignment and bounds included).
        t_vl = median_time(lambda: vlf(0, 1), 1) if vl else float("nan")
        t_vl_lloyd = iteration_time(lambda m: vlf(m, 0), 0, 1, 1) if vl else float("nan")
        t_faiss = float("nan")
        try:
            import faiss

            def fa(niter: int) -> None:
                cl = faiss.Clustering(d, K)
                cl.niter = niter
                cl.max_points_per_centroid = 10**9
                cl.centroids.resize(K * d)
                faiss.copy_array_to_vector(c0.ravel(), cl.centroids)
                cl.train(x, faiss.IndexFlatL2(d))

            t_faiss = iteration_time(fa, 1, 5, reps)
        except ImportError:
            pass
        import warnings

        from sklearn.cluster import KMeans as SkKMeans

        def sk(iters: int) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                SkKMeans(K, init=c0, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd").fit(x)

        t_sk = iteration_time(sk, 1, 5, reps)
        t_km.add(f"D={d}", "numpy sgemm (N x D)@(D x K)", fmt_s(t_dgemm), "1.00x (yardstick)")
        t_km.add(f"D={d}", "pyvl Lloyd", fmt_s(t_ours), f"{ratio(t_ours, t_dgemm)} of sgemm")
        t_km.add(f"D={d}", "faiss Clustering", fmt_s(t_faiss), f"pyvl {ratio(t_faiss, t_ours)} faster")
        t_km.add(f"D={d}", "scikit-learn KMeans (lloyd)", fmt_s(t_sk), f"pyvl {ratio(t_sk, t_ours)} faster")
        t_km.add(f"D={d}", "VLFeat Elkan, first iteration", fmt_s(t_vl), f"pyvl {ratio(t_vl, t_ours)} faster")
        t_km.add(f"D={d}", "VLFeat Lloyd", fmt_s(t_vl_lloyd), f"pyvl {ratio(t_vl_lloyd, t_ours)} faster")
        t_km.add(f"D={d}", "pyvl Elkan vs Lloyd, 20 iterations", f"{fmt_s(t_elkan)} vs {fmt_s(t_lloyd20)}",
                 f"Elkan {ratio(t_lloyd20, t_elkan)} faster")
        summary.update({f"kmeans_d{d}_lloyd_vs_sgemm": t_ours / t_dgemm, f"kmeans_d{d}_vs_faiss": t_faiss / t_ours, f"kmeans_d{d}_vs_vlfeat_elkan": t_vl / t_ours,
                        f"kmeans_d{d}_vs_vlfeat_lloyd": t_vl_lloyd / t_ours,
                        f"kmeans_d{d}_elkan_vs_lloyd": t_lloyd20 / t_elkan})
    tables.append((t_km, ("shape", "implementation", "median", "ratio")))

    # 6. Threads under contention: a busy core, BLAS threads still spinning,
    #    and the whole vl_gmm_em call (not a differenced iteration)
    t_thr = Table(f"Threads: 2 threads / 1 thread, and the whole vl_gmm_em call, K={K}")
    print("\n" + t_thr.title)
    d = dims[0]
    x, means, covs, w = gmm_data(n_img, d, K, seed=2)
    a_mm = np.random.default_rng(1).normal(size=(N, 2 * d)).astype(np.float32)
    b_mm = np.random.default_rng(2).normal(size=(2 * d, K)).astype(np.float32)

    def fv() -> None:
        vl_fisher_encode(means, covs, w, x, VL_FISHER_FLAG_IMPROVED)

    xe, *_ = gmm_data(N, d, K, seed=4)
    rng = np.random.default_rng(5)
    crude = (xe[rng.choice(N, K, replace=False)], np.ones((K, d), np.float32), np.full(K, 1 / K, np.float32))

    def em5() -> None:
        g = G.vl_gmm_new(G.VL_TYPE_FLOAT, d, K)
        G.vl_gmm_set_means(g, crude[0])
        G.vl_gmm_set_covariances(g, crude[1])
        G.vl_gmm_set_priors(g, crude[2])
        G.vl_gmm_set_max_num_iterations(g, 5)
        G.vl_gmm_em(g, xe)

    def after_matmul(fns, repeats: int) -> list[float]:
        # no pause: the matmul's BLAS threads are still spinning when fn starts
        times: list[list[float]] = [[] for _ in fns]
        for r in range(repeats + 1):
            for fn, ts in zip(fns, times):
                a_mm @ b_mm
                t = time.perf_counter()
                fn()
                if r:
                    ts.append(time.perf_counter() - t)
        return [statistics.median(ts) for ts in times]

    def threads(n: int, fn):
        def run() -> None:
            pyvl.vl_set_num_threads(n)
            fn()
        return run

    # 1 and 2 threads in alternation, as everywhere (the thread count is set
    # before each call: microseconds)
    one_two = [threads(1, fv), threads(2, fv)]
    fv_reps = reps * 4
    q1, q2 = paired_times(one_two, fv_reps, batch=5)
    # every call after 10 ms asleep (a pipeline that does other things between images)
    i1, i2 = paired_times(one_two, fv_reps * 5, pause=0.01)
    m1, m2 = after_matmul(one_two, fv_reps * 5)
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        b1, b2 = paired_times(one_two, fv_reps, batch=5)
        e1, e2 = (t / 5 for t in paired_times([threads(1, em5), threads(2, em5)], max(2, reps // 2), pause=0.3))
    finally:
        spin.kill()
        spin.wait()
        pyvl.vl_set_num_threads(0)
    # the yardstick is the bare SGEMM of the E-step's shape (its operand built beforehand)
    a_e = np.concatenate([xe, xe * xe], axis=1)
    t_em5, t_gemm = paired_times([em5, lambda: a_e @ b_mm], max(3, reps), pause=0.3, batch=2)
    t_em5 /= 5
    t_thr.add(f"D={d}", f"Fisher, one image of {n_img}, quiet", f"{fmt_s(q1)} / {fmt_s(q2)}", f"{q2 / q1:.2f}x")
    t_thr.add(f"D={d}", "Fisher, each call after 10 ms asleep", f"{fmt_s(i1)} / {fmt_s(i2)}", f"{i2 / i1:.2f}x")
    t_thr.add(f"D={d}", "Fisher, right after a numpy matmul", f"{fmt_s(m1)} / {fmt_s(m2)}", f"{m2 / m1:.2f}x")
    t_thr.add(f"D={d}", "Fisher, one core kept busy by another process", f"{fmt_s(b1)} / {fmt_s(b2)}", f"{b2 / b1:.2f}x")
    t_thr.add(f"D={d}, N={N}", "vl_gmm_em (5 iterations from a crude start) / 5, busy core",
              f"{fmt_s(e1)} / {fmt_s(e2)}", f"{e2 / e1:.2f}x")
    t_thr.add(f"D={d}, N={N}", "vl_gmm_em (5 iterations) / 5, all threads, vs numpy sgemm (N x 2D)@(2D x K)",
              f"{fmt_s(t_em5)} / {fmt_s(t_gemm)}", f"{ratio(t_em5, t_gemm)} of sgemm")
    summary.update({"fisher_2t_over_1t_quiet": q2 / q1, "fisher_2t_over_1t_after_idle": i2 / i1,
                    "fisher_2t_over_1t_after_matmul": m2 / m1,
                    "fisher_2t_over_1t_busy_core": b2 / b1, "em_2t_over_1t_busy_core": e2 / e1,
                    "em_whole_call_vs_sgemm": t_em5 / t_gemm})
    tables.append((t_thr, ("shape", "measurement", "1 thread / 2 threads (or pyvl / sgemm)", "ratio")))

    # 5. Peak memory of one EM fit (each in a fresh process)
    t_mem = Table(f"Peak RSS of EM (N={N}, D={dims[0]}, K={K}, 3 iterations), fresh processes")
    print("\n" + t_mem.title)
    for name in ("pyvl", "pyvl-vlapi", "vlfeat", "sklearn"):
        if name == "vlfeat" and vl is None:
            continue
        out = subprocess.run([sys.executable, str(HERE / "_memprobe.py"), name, str(N), str(dims[0]), str(K)],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            t_mem.add(name, "failed", out.stderr.strip()[-200:], "")
            continue
        peak = json.loads(out.stdout)
        t_mem.add(name, f"{peak['peak_mb']:.0f} MB peak", f"{peak['extra_mb']:.0f} MB above the data", "")
    tables.append((t_mem, ("implementation", "peak", "above data", "")))

    text = [f"## Run {info['date']} (commit {info['commit']}{', quick' if quick else ''})", ""]
    text += [f"- {k}: {v}" for k, v in info.items()]
    text.append("")
    for t, header in tables:
        text.append(t.markdown(header))
    text.append("Ratios: " + ", ".join(f"{k}={v:.2f}" for k, v in summary.items()) + "\n")
    report = "\n".join(text)
    if not args.no_record:
        with open(HERE / "RESULTS.md", "a") as f:
            f.write("\n" + report)
        print(f"\nappended to {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
