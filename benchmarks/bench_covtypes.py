#!/usr/bin/env python3
"""One EM iteration of full, tied, diagonal and spherical GMMs: pyvl against scikit-learn.

N = 100 000 points, D = 64, K = 64 (float32 by default, --double for
float64), both libraries on the same data from the same parameters, in one
process. pyvl runs libgmm's exact EM (scikit-learn's algorithm) through
the object layer: one iteration is t(max_num_iterations = 1) -
t(max_num_iterations = 0), an E-step and an M-step. scikit-learn's is its own
EM loop body, ``_e_step`` then ``_m_step`` (fitting with max_iter = 1 and 2
would also run its initial M-step and final E-step, several times the cost).
The start: the parameters of the true labels (one M-step on them), so the
posteriors are those of a fit in progress.

The machine is usually shared: read the ratios (sklearn / pyvl, same run),
not the seconds. The table is appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import Table, clean_blas_environment, fmt_s, machine_info, median_time  # noqa: E402

from pyvl._core.objects import GMM  # noqa: E402

TYPES = ("full", "tied", "diag", "spherical")


def mixture(n: int, d: int, k: int, dtype, seed: int = 0):
    """n points of k Gaussians with random full covariances, and their labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 1.5
    mix = rng.normal(size=(k, d, d)) * (0.5 / np.sqrt(d)) + np.eye(d) * 0.7
    labels = rng.integers(0, k, size=n)
    x = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        x[rows] = centers[j] + rng.normal(size=(rows.sum(), d)) @ mix[j].T
    return x.astype(dtype), labels


def pyvl_iteration(x, labels, cov: str, k: int, repeats: int):
    """(seconds of one EM iteration, the start's parameters)."""
    g = GMM.of_dtype(x.dtype, x.shape[1], k)
    g.covariance_type = cov
    g.exact_em = True
    g.reg_covar = 1e-6
    g.set_covariance_lower_bound(0)
    g.store_posteriors = False
    g.convergence_threshold = 0
    g.init_with_labels(x, labels)
    start = g.params()

    def run(m: int) -> None:
        g.set_params(*start)
        g.max_num_iterations = m
        g.em(x)

    t0 = median_time(lambda: run(0), repeats)
    t1 = median_time(lambda: run(1), repeats)
    return max(t1 - t0, 1e-9), start


def sklearn_iteration(x, cov: str, start, repeats: int) -> float:
    from sklearn.mixture import GaussianMixture
    from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

    w, m, c = start
    c = c.astype(np.float64)
    prec = np.linalg.inv(c) if cov in ("full", "tied") else 1.0 / c
    gm = GaussianMixture(len(w), covariance_type=cov, max_iter=1, tol=0, reg_covar=1e-6,
                         weights_init=w, means_init=m, precisions_init=prec,
                         init_params="random_from_data", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(x[: 20 * len(w)])  # sets the attributes; the timed calls use all of x
        gm.weights_, gm.means_ = w.astype(x.dtype), m.astype(x.dtype)
        gm.precisions_cholesky_ = _compute_precision_cholesky(c.astype(x.dtype), cov)

        def iteration() -> None:
            _, log_resp = gm._e_step(x)
            gm._m_step(x, log_resp)

        return median_time(iteration, repeats, warmup=0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--double", action="store_true", help="float64 data (default float32)")
    ap.add_argument("--types", nargs="+", choices=TYPES, default=list(TYPES))
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("-d", type=int, default=64)
    ap.add_argument("-k", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-save", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    clean_blas_environment()
    dtype = np.float64 if args.double else np.float32
    info = machine_info()
    for key, value in info.items():
        print(f"{key}: {value}")
    x, labels = mixture(args.n, args.d, args.k, dtype)
    table = Table(f"One EM iteration by covariance type, N={args.n} D={args.d} K={args.k} "
                  f"{np.dtype(dtype).name} ({info['date']}, {info['commit']}, {info['cpu']}, "
                  f"{info['pyvl']})")
    for cov in args.types:
        t0 = time.perf_counter()
        t_ours, start = pyvl_iteration(x, labels, cov, args.k, args.repeats)
        t_sk = sklearn_iteration(x, cov, start, max(1, args.repeats - 1))
        table.add(cov, fmt_s(t_ours), fmt_s(t_sk), f"{t_sk / t_ours:.1f}x",
                  f"({time.perf_counter() - t0:.0f} s)")
    if not args.no_save:
        path = os.path.join(os.path.dirname(__file__), "RESULTS.md")
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n" + table.markdown(("covariance_type", "pyvl", "scikit-learn",
                                           "sklearn / pyvl", "wall")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
