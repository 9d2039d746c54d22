"""Peak RSS of one EM fit, in a fresh process: python _memprobe.py NAME N D K.

Prints JSON {"peak_mb": ..., "extra_mb": ...} where extra_mb is the peak minus
the RSS right after the data was created and the library imported (so the data
itself is excluded). The peak is VmHWM from /proc/self/status: ru_maxrss would
report the parent's peak, which a forked child inherits."""

from __future__ import annotations

import json
import os
import pathlib
import sys
import warnings

import numpy as np

name, N, D, K = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
x = (rng.normal(size=(N, D)) * 2).astype(np.float32)
means = x[:K].copy()
covs = np.ones((K, D), np.float32)
w = np.full(K, 1.0 / K, np.float32)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


if name.startswith("pyvl"):
    from pyvl import gmm as G
    from pyvl.estimators import GaussianMixture

    base = rss_mb()
    if name == "pyvl":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GaussianMixture(K, means_init=means, weights_init=w, precisions_init=1 / covs,
                            covariance_type="diag", em="vlfeat", reg_covar=0.0,
                            init_params="random_from_data", max_iter=3, tol=0.0).fit(x)
    else:
        g = G.vl_gmm_new(G.VL_TYPE_FLOAT, D, K)
        G.vl_gmm_set_means(g, means)
        G.vl_gmm_set_covariances(g, covs)
        G.vl_gmm_set_priors(g, w)
        G.vl_gmm_set_max_num_iterations(g, 3)
        G.vl_gmm_em(g, x)
elif name == "vlfeat":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
    from vlapi import VLApi, find_vlfeat

    vl = VLApi(find_vlfeat())
    base = rss_mb()
    vl.gmm_em(x, means, covs, w, 3)
else:
    from sklearn.mixture import GaussianMixture

    base = rss_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixture(K, covariance_type="diag", means_init=means, weights_init=w,
                        precisions_init=1 / covs, init_params="random_from_data",
                        max_iter=3, tol=0.0).fit(x)
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
print(json.dumps({"peak_mb": peak, "extra_mb": peak - base}))
