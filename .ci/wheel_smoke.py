"""Smoke run of an installed pyvl wheel: a GMM fit and a Fisher vector.

    python wheel_smoke.py --write REF.npz   [--not-from DIR] [--expect-level NAME]
    python wheel_smoke.py --compare REF.npz [--not-from DIR] [--expect-level NAME]

Both runs fit the same GMM (VLFeat's API: random-data initialisation from the
seeded MT19937 stream, EM) on the same data and encode the same descriptors
as an improved Fisher vector, once with the best SIMD level the library picks
and once with the scalar kernels. ``--write`` stores the results (a reference
from one platform); ``--compare`` checks that another platform (the aarch64
wheel under qemu, another Python) gives the same numbers within float32
rounding: a different SIMD width sums in a different order, so the kernels are
not bit-identical across levels. Only numpy and pyvl are needed.

``--not-from DIR`` fails if pyvl was imported from DIR (a source tree) rather
than from the installed wheel; ``--expect-level`` fails if the level picked at
load is not NAME (checks the run-time dispatch of the wheel's library).
Exit status 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

K, D, N, N_ENCODE, ITERATIONS, SEED = 8, 16, 4000, 500, 30, 7
# Relative tolerances against the reference (float32 results of EM).
RTOL = {"means": 1e-4, "covariances": 1e-4, "priors": 1e-4, "loglikelihood": 1e-6, "fisher": 1e-4}


def make_data() -> np.ndarray:
    """(N, D) float32: K well-separated Gaussian clusters (EM is then stable,
    so rounding differences between platforms stay rounding differences)."""
    rng = np.random.default_rng(SEED)
    centers = rng.normal(scale=6.0, size=(K, D))
    labels = rng.integers(0, K, size=N)
    x = centers[labels] + rng.normal(scale=rng.uniform(0.5, 1.5, size=(K, D))[labels])
    return np.ascontiguousarray(x, dtype=np.float32)


def run(level: str) -> dict[str, np.ndarray]:
    """Fit and encode with the given SIMD level ("best": the one chosen at load)."""
    import pyvl.gmm as G
    from pyvl.fisher import VL_FISHER_FLAG_IMPROVED, vl_fisher_encode
    from pyvl.simd import available_levels, set_simd_level

    set_simd_level(available_levels()[-1] if level == "best" else level)
    data = make_data()
    gmm = G.vl_gmm_new(G.VL_TYPE_FLOAT, D, K)
    G.vl_gmm_set_initialization(gmm, G.VlGMMRand)
    G.vl_gmm_set_max_num_iterations(gmm, ITERATIONS)
    G.vl_rand_seed(G.vl_get_rand(), SEED)
    ll = G.vl_gmm_cluster(gmm, data)
    means = G.vl_gmm_get_means(gmm).reshape(K, D)
    covs = G.vl_gmm_get_covariances(gmm).reshape(K, D)
    priors = G.vl_gmm_get_priors(gmm)
    fisher = vl_fisher_encode(means, covs, priors, data[:N_ENCODE], VL_FISHER_FLAG_IMPROVED)
    G.vl_gmm_delete(gmm)
    return {"means": means.copy(), "covariances": covs.copy(), "priors": priors.copy(),
            "loglikelihood": np.array([ll]), "fisher": fisher}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", metavar="REF.npz")
    mode.add_argument("--compare", metavar="REF.npz")
    parser.add_argument("--not-from", metavar="DIR", help="fail if pyvl comes from DIR")
    parser.add_argument("--expect-level", metavar="NAME", help="the SIMD level picked at load")
    args = parser.parse_args()

    import pyvl
    from pyvl._core.lib import library_path
    from pyvl.simd import available_levels, simd_level

    here = os.path.realpath(pyvl.__file__)
    print(f"python {sys.version.split()[0]} ({sys.platform}), numpy {np.__version__}")
    print(f"pyvl {pyvl.__version__} from {os.path.dirname(here)}")
    print(f"library {library_path()}")
    print(f"SIMD level at load: {simd_level()}; available: {', '.join(available_levels())}")
    ok = True
    if args.not_from and here.startswith(os.path.realpath(args.not_from) + os.sep):
        print(f"FAILED: pyvl was imported from {args.not_from}, not from the installed wheel")
        ok = False
    if os.environ.get("PYVL_LIBRARY"):
        print("FAILED: PYVL_LIBRARY is set: the wheel's own library is not the one tested")
        ok = False
    if args.expect_level and simd_level() != args.expect_level:
        print(f"FAILED: expected the {args.expect_level} kernels at load")
        ok = False

    results = {f"{level}/{key}": value for level in ("best", "scalar")
               for key, value in run(level).items()}
    if args.write:
        np.savez(args.write, **results)
        print(f"wrote {args.write}: loglikelihood {results['best/loglikelihood'][0]:.6f}")
        return 0 if ok else 1

    with np.load(args.compare) as ref:
        for name, value in results.items():
            want = ref[name]
            key = name.split("/")[1]
            scale = float(np.max(np.abs(want))) or 1.0
            err = float(np.max(np.abs(value.astype(np.float64) - want))) / scale
            same = "bit-identical" if np.array_equal(value, want) else f"max rel diff {err:.2e}"
            bad = value.shape != want.shape or not err <= RTOL[key]
            print(f"{'FAILED ' if bad else ''}{name}: {same} (tolerance {RTOL[key]:g})")
            ok = ok and not bad
    print("smoke comparison: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
