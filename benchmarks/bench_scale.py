"""Throughput of EM training in memory, in chunks, and on Dask (1 and 2 workers).

    PYTHONPATH=. python benchmarks/bench_scale.py [--n 2000000 --d 64 --k 256]
        [--iters 3] [--chunk 65536] [--workers 1 2] [--record]

The same data (N x D float32 from a K-component mixture, generated block by
block from seeded generators: locally for the in-memory and chunked runs, on
the workers for Dask, where it is persisted) and the same initialisation
(means at K data points, unit variances, uniform weights; tol=0, a fixed
number of iterations). Per EM iteration (E-step pass + M-step) the time is
the median gap between consecutive iteration reports of the estimator; the
throughput is N / that time (points per second per iteration).

Also measured, for docs/scaling.md's projection: the E-step of one chunk
(``vl_gmm_stats_accumulate``) with 1 thread and with all threads; the message
each chunk sends per iteration (its statistics, K(2D+2)+2 doubles); adding
two messages (the reduction); the driver's M-step from statistics; and the
per-task overhead of a Dask pass (a pass over many one-row blocks).

``--record`` appends the tables, with machine, date and commit, to
benchmarks/RESULTS.md under "## Scale".
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import Table, machine_info

import pyvl
from pyvl._core.objects import GMM
from pyvl._core.runtime import num_threads
from pyvl._training import data as C


def make_block(i: int, rows: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """Block i of the benchmark data (the same wherever it is generated)."""
    centers = np.random.default_rng([seed, 10**6]).normal(size=(k, d)) * 2.0
    rng = np.random.default_rng([seed, i])
    labels = rng.integers(0, k, size=rows)
    x = centers[labels] + rng.normal(size=(rows, d))
    return x.astype(np.float32)


def block_rows(n: int, chunk: int) -> list[int]:
    return [min(chunk, n - i) for i in range(0, n, chunk)]


class IterationClock(logging.Handler):
    """Timestamps of the estimator's per-iteration reports ("gmm: iteration t: ...")."""

    PATTERN = re.compile(r"^gmm: iteration (\d+):")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stamps: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.PATTERN.match(record.getMessage()):
            self.stamps.append(time.perf_counter())

    def per_iteration(self) -> float:
        gaps = np.diff(self.stamps)
        return float(statistics.median(gaps)) if len(gaps) else float("nan")


def timed_fit(X, init: dict, iters: int, **kw) -> float:
    clock = IterationClock()
    log = logging.getLogger("pyvl")
    level = log.level
    log.addHandler(clock)
    log.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pyvl.GaussianMixture(init["means_init"].shape[0], tol=0.0, max_iter=iters, **init,
                                 **{"covariance_type": "diag", "em": "vlfeat",
                                    "reg_covar": 0.0, **kw}).fit(X)
    finally:
        log.removeHandler(clock)
        log.setLevel(level)
    return clock.per_iteration()


def estep_chunk_time(chunk: np.ndarray, init: dict, threads: int, repeats: int = 3) -> float:
    k, d = init["means_init"].shape
    g = GMM.of_dtype(np.float32, d, k)
    g.set_params(init["weights_init"], init["means_init"], 1 / init["precisions_init"])
    st = g.new_stats()
    times = []
    with num_threads(threads):
        for _ in range(repeats):
            t = time.perf_counter()
            g.stats_accumulate(st, chunk)
            times.append(time.perf_counter() - t)
    return float(statistics.median(times))


def mstep_time(st: np.ndarray, init: dict) -> float:
    k, d = init["means_init"].shape
    g = GMM.of_dtype(np.float32, d, k)
    g.set_means(init["means_init"])
    times = []
    for _ in range(20):
        t = time.perf_counter()
        g.mstep_from_stats(st)
        times.append(time.perf_counter() - t)
    return float(statistics.median(times))


def dask_run(n: int, d: int, k: int, chunk: int, workers: int, init: dict, iters: int,
             overhead_tasks: int) -> tuple[float, float, float]:
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        rows = block_rows(n, chunk)
        parts = [da.from_delayed(dask.delayed(make_block)(i, r, d, k), shape=(r, d), dtype=np.float32)
                 for i, r in enumerate(rows)]
        X = da.concatenate(parts).persist()
        wait(X)
        t_iter = timed_fit(X, init, iters)
        # scheduler overhead: a pass over one-row blocks (compute is negligible)
        tiny = da.from_array(np.zeros((overhead_tasks, d), np.float32) + 1, chunks=(1, d)).persist()
        wait(tiny)
        passes = C.DaskPasses(tiny, np.dtype(np.float32), None)
        g = GMM.of_dtype(np.float32, d, k)
        g.set_params(np.full(k, 1.0 / k), init["means_init"], np.ones((k, d)))
        passes.gmm_stats(g)  # warm-up
        t = time.perf_counter()
        passes.gmm_stats(g)
        per_task = (time.perf_counter() - t) / overhead_tasks
        snapshot = C.gmm_snapshot(g)
        t = time.perf_counter()
        passes.stats_graph(C._gmm_block_stats, snapshot)
        build = (time.perf_counter() - t) / overhead_tasks
        client.cancel([X, tiny])
    return t_iter, per_task, build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--iters", type=int, default=3, help="EM iterations per run (>= 2)")
    ap.add_argument("--chunk", type=int, default=65536, help="rows per chunk / Dask block")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--overhead-tasks", type=int, default=256)
    ap.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = ap.parse_args()
    n, d, k, chunk = args.n, args.d, args.k, args.chunk

    info = machine_info()
    try:
        info["load average (1, 5, 15 min)"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        pass
    for key, value in info.items():
        print(f"{key}: {value}")
    rows = block_rows(n, chunk)
    print(f"\ndata: N={n} D={d} K={k} float32 ({n * d * 4 / 2**20:.0f} MiB), "
          f"{len(rows)} chunks of {chunk} rows", flush=True)
    X = np.concatenate([make_block(i, r, d, k) for i, r in enumerate(rows)])
    pick = np.random.default_rng(1).choice(n, size=k, replace=False)
    init = dict(means_init=X[pick].astype(np.float64), weights_init=np.full(k, 1.0 / k),
                precisions_init=np.ones((k, d)))
    threads = pyvl.vl_get_max_threads()

    table = Table(f"EM iteration throughput, N={n} D={d} K={k} float32, chunks of {chunk} rows")
    results: dict[str, float] = {}
    t_mem = timed_fit(X, init, args.iters)
    results["in-memory"] = t_mem
    table.add("in-memory (vl_gmm_em)", f"1 process, {threads} threads", f"{t_mem:.3f} s",
              f"{n / t_mem:,.0f}", "1.00x")
    chunks = [X[i * chunk : i * chunk + r] for i, r in enumerate(rows)]
    t_chunk = timed_fit(chunks, init, args.iters)
    results["chunked"] = t_chunk
    table.add("chunked (list of chunks)", f"1 process, {threads} threads", f"{t_chunk:.3f} s",
              f"{n / t_chunk:,.0f}", f"{t_mem / t_chunk:.2f}x")
    per_task, build = {}, {}
    for w in args.workers:
        t_dask, per_task[w], build[w] = dask_run(n, d, k, chunk, w, init, args.iters,
                                                 args.overhead_tasks)
        results[f"dask-{w}"] = t_dask
        table.add("Dask LocalCluster", f"{w} worker(s) x 1 thread", f"{t_dask:.3f} s",
                  f"{n / t_dask:,.0f}", f"{t_mem / t_dask:.2f}x")

    one = np.ascontiguousarray(X[:chunk])
    t1 = estep_chunk_time(one, init, 1)
    tall = estep_chunk_time(one, init, threads)
    s = (2 * d + 2) * k + 2
    g = GMM.of_dtype(np.float32, d, k)
    g.set_params(np.full(k, 1.0 / k), init["means_init"], np.ones((k, d)))
    st = g.new_stats()
    assert st.size == s
    g.stats_accumulate(st, one)
    a, b = st.copy(), st.copy()
    t = time.perf_counter()
    for _ in range(200):
        C._sum_in_order(a, b)
    t_merge = (time.perf_counter() - t) / 200
    t_mstep = mstep_time(st, init)

    parts = Table("Per-chunk and per-message costs (inputs of docs/scaling.md)")
    parts.add("E-step of one chunk (vl_gmm_stats_accumulate)", f"{chunk} rows, 1 thread",
              f"{t1 * 1e3:.1f} ms", f"{chunk / t1:,.0f} points/s per core")
    parts.add("E-step of one chunk (vl_gmm_stats_accumulate)", f"{chunk} rows, {threads} threads",
              f"{tall * 1e3:.1f} ms", f"{chunk / tall:,.0f} points/s")
    parts.add("message per chunk per iteration", f"K(2D+2)+2 = {s} doubles",
              f"{s * 8 / 1024:.0f} KiB", "")
    parts.add("adding two messages (reduction step)", "numpy, driver/worker",
              f"{t_merge * 1e6:.0f} us", "")
    parts.add("M-step from statistics (driver)", f"K={k} D={d}", f"{t_mstep * 1e6:.0f} us", "")
    for w, t in per_task.items():
        parts.add("Dask overhead per task (pass over 1-row blocks)", f"{w} worker(s)",
                  f"{t * 1e3:.2f} ms", "graph build + scheduling + transfer + tree")
    for w, t in build.items():
        parts.add("driver: building the pass graph, per task", f"{w} worker(s)",
                  f"{t * 1e6:.0f} us", "(included in the line above)")

    header = ("run", "where", "s / iteration", "points/s per iteration", "vs in-memory")
    text = table.markdown(header) + "\n" + parts.markdown(("quantity", "setting", "value", "note"))
    print("\n" + text)
    if args.record:
        lines = ["", "## Scale", ""]
        lines += [f"- {key}: {value}" for key, value in info.items()]
        lines += ["- command: `python benchmarks/bench_scale.py " + " ".join(sys.argv[1:]) + "`", ""]
        with open(HERE / "RESULTS.md", "a") as f:
            f.write("\n".join(lines) + "\n" + text)
        print(f"appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
