"""A corpus of calls through pyvl's public API and the hashes of their outputs.

Used to show that a change of structure leaves behaviour bit for bit as it was::

    python tools/corpus.py record tools/corpus-baseline.json   # before the change
    python tools/corpus.py check  tools/corpus-baseline.json   # after it

Every case runs at the machine's best SIMD level and at the scalar level, on
1 and 2 threads; each output (arrays, floats, labels) is hashed with its dtype
and shape. ``check`` prints the cases whose hash changed and exits 1 if any
did. Hashes are specific to the machine and the compiler (SIMD level, libm):
compare records made on one machine.

The cases use only public entry points that exist before and after the
redesign: VLFeat's API (``pyvl.gmm``, ``pyvl.kmeans``, ``pyvl.fisher``,
``pyvl.vlad``, ``pyvl.bovw``), the estimators (in memory, chunked, Dask), the
encoders and transformers, the cyvlfeat module, and model files.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

CASES: dict[str, Callable[[], Any]] = {}


def case(fn: Callable[[], Any]) -> Callable[[], Any]:
    CASES[fn.__name__] = fn
    return fn


def _data(n: int = 3000, d: int = 7, k: int = 5, seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 3
    lab = rng.integers(0, k, n)
    return (centers[lab] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[lab]).astype(dtype)


def _images(d: int = 7, count: int = 6, seed: int = 1, dtype: Any = np.float32) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(int(rng.integers(0, 300)), d)) * 2).astype(dtype) for _ in range(count)]


# ---- VLFeat's API ---------------------------------------------------------------------


def _vl_gmm(dtype: Any, init: int, reps: int = 1) -> Any:
    from pyvl import gmm as G

    x = _data(dtype=dtype)
    g = G.vl_gmm_new(G.VL_TYPE_FLOAT if dtype == np.float32 else G.VL_TYPE_DOUBLE, 7, 5)
    G.vl_gmm_set_initialization(g, init)
    G.vl_gmm_set_num_repetitions(g, reps)
    G.vl_gmm_set_max_num_iterations(g, 30)
    G.vl_rand_seed(G.vl_get_rand(), 7)
    ll = G.vl_gmm_cluster(g, x)
    return [ll, G.vl_gmm_get_means(g), G.vl_gmm_get_covariances(g), G.vl_gmm_get_priors(g),
            G.vl_gmm_get_posteriors(g)]


for _dt in (np.float32, np.float64):
    for _init, _iname in ((0, "kmeans"), (1, "rand")):
        for _reps in (1, 3):
            def _c(dt: Any = _dt, init: int = _init, reps: int = _reps) -> Any:
                return _vl_gmm(dt, init, reps)

            _c.__name__ = f"vl_gmm_cluster_{np.dtype(_dt).name}_{_iname}_reps{_reps}"
            case(_c)


@case
def vl_gmm_em_custom() -> Any:
    from pyvl import gmm as G

    x = _data(dtype=np.float64)
    g = G.vl_gmm_new(G.VL_TYPE_DOUBLE, 7, 5)
    rng = np.random.default_rng(3)
    G.vl_gmm_set_means(g, x[rng.choice(len(x), 5, replace=False)])
    G.vl_gmm_set_covariances(g, np.ones((5, 7)))
    G.vl_gmm_set_priors(g, np.full(5, 0.2))
    G.vl_gmm_set_max_num_iterations(g, 40)
    ll = G.vl_gmm_em(g, x)
    return [ll, G.vl_gmm_get_means(g), G.vl_gmm_get_covariances(g), G.vl_gmm_get_priors(g)]


@case
def vl_gmm_restarts() -> Any:
    """Components that empty out and restart (all means at one point)."""
    from pyvl import gmm as G

    x = _data(dtype=np.float32, k=3)
    g = G.vl_gmm_new(G.VL_TYPE_FLOAT, 7, 8)
    G.vl_gmm_set_means(g, np.tile(x[0], (8, 1)) + np.arange(8)[:, None] * 1e-3)
    G.vl_gmm_set_covariances(g, np.full((8, 7), 0.01))
    G.vl_gmm_set_priors(g, np.full(8, 1 / 8))
    G.vl_gmm_set_max_num_iterations(g, 20)
    ll = G.vl_gmm_em(g, x)
    return [ll, G.vl_gmm_get_means(g), G.vl_gmm_get_covariances(g), G.vl_gmm_get_priors(g)]


@case
def vl_get_gmm_data_posteriors() -> Any:
    from pyvl import gmm as G

    x = _data(dtype=np.float32)
    rng = np.random.default_rng(4)
    m, c, p = x[:5].copy(), rng.uniform(0.5, 2, (5, 7)).astype(np.float32), np.full(5, 0.2, np.float32)
    q, ll = G.vl_get_gmm_data_posteriors_f(None, 5, len(x), p, m, 7, c, x)
    qd, lld = G.vl_get_gmm_data_posteriors_d(None, 5, len(x), p, m, 7, c, x.astype(np.float64))
    return [q, ll, qd, lld]


def _vl_kmeans(dtype: Any, algorithm: int, init: int, distance: int = 1) -> Any:
    from pyvl import kmeans as KM
    from pyvl.random import vl_get_rand, vl_rand_seed

    x = _data(dtype=dtype)
    km = KM.vl_kmeans_new(KM.VL_TYPE_FLOAT if dtype == np.float32 else KM.VL_TYPE_DOUBLE, distance)
    KM.vl_kmeans_set_algorithm(km, algorithm)
    KM.vl_kmeans_set_initialization(km, init)
    KM.vl_kmeans_set_max_num_iterations(km, 25)
    KM.vl_kmeans_set_num_repetitions(km, 2)
    vl_rand_seed(vl_get_rand(), 11)
    e = KM.vl_kmeans_cluster(km, x, 7, len(x), 9)
    a, dist = KM.vl_kmeans_quantize(km, x)
    return [e, KM.vl_kmeans_get_centers(km), a, dist]


for _dt in (np.float32, np.float64):
    for _alg, _aname in ((0, "lloyd"), (1, "elkan"), (2, "ann")):
        for _init, _iname in ((0, "rand"), (1, "pp")):
            def _k(dt: Any = _dt, alg: int = _alg, init: int = _init) -> Any:
                return _vl_kmeans(dt, alg, init)

            _k.__name__ = f"vl_kmeans_{np.dtype(_dt).name}_{_aname}_{_iname}"
            case(_k)


@case
def vl_kmeans_l1() -> Any:
    return _vl_kmeans(np.float32, 0, 1, distance=0)


# ---- encoders: the VLFeat-style functions ---------------------------------------------


def _gmm_params(dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    m = (rng.normal(size=(5, 7)) * 2).astype(dtype)
    c = rng.uniform(0.5, 2, (5, 7)).astype(dtype)
    p = rng.dirichlet(np.ones(5)).astype(dtype)
    return m, c, p


@case
def fisher_all_flags() -> Any:
    from pyvl import fisher as F

    out = []
    for dt in (np.float32, np.float64):
        m, c, p = _gmm_params(dt)
        x = _images(dtype=dt)[1]
        for flags in range(8):
            out.append(F.vl_fisher_encode(m, c, p, x, flags))
        out.append(F.fisher_encode_batch(m, c, p, _images(dtype=dt), F.VL_FISHER_FLAG_IMPROVED))
    return out


@case
def vlad_all_flags() -> Any:
    from pyvl import vlad as V

    out = []
    for dt in (np.float32, np.float64):
        m, _, _ = _gmm_params(dt)
        x = _images(dtype=dt)[1]
        a = np.random.default_rng(6).random((len(x), 5)).astype(dt)
        for flags in range(16):
            out.append(V.vl_vlad_encode(m, x, a, flags))
        out.append(V.vlad_encode_batch(m, _images(dtype=dt)))
    return out


@case
def bovw_all() -> Any:
    from pyvl import bovw as B

    out = []
    for dt in (np.float32, np.float64):
        m, c, p = _gmm_params(dt)
        x = _images(dtype=dt)[1]
        out.append(B.bovw_encode(m, x))
        out.append(B.bovw_encode(m, x, sigma=1.5, flags=B.VL_BOVW_FLAG_SOFT))
        out.append(B.bovw_encode_batch(m, _images(dtype=dt)))
        out.append(B.bovw_encode_gmm_batch(m, c, p, _images(dtype=dt)))
        out.append(B.bovw_encode_gmm_batch(m, c, p, _images(dtype=dt), B.VL_BOVW_FLAG_SOFT))
    return out


# ---- estimators ----------------------------------------------------------------------


#: VLFeat's GMM (diagonal, VLFeat's EM): what pyvl.GaussianMixture fitted before its
#: defaults became scikit-learn's; the cases below pin it, so their hashes are those of
#: the VLFeat-compatible path. The scikit-learn defaults have their own cases.
VLFEAT_GMM = dict(covariance_type="diag", em="vlfeat", reg_covar=0.0)


def _gm_attrs(gm: Any) -> list[Any]:
    return [gm.weights_, gm.means_, gm.covariances_, gm.lower_bound_, gm.n_iter_, gm.converged_,
            list(gm.lower_bounds_)]


def _gm(dtype: Any, **kw: Any) -> Any:
    import pyvl

    x = _data(dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = pyvl.GaussianMixture(5, random_state=0, **{**VLFEAT_GMM, **kw}).fit(x)
    return _gm_attrs(gm) + [gm.predict(x), gm.predict_proba(x[:100]), gm.score_samples(x[:100])]


for _dt in (np.float32, np.float64):
    for _ip in ("kmeans", "k-means++", "random_from_data"):
        def _g(dt: Any = _dt, ip: str = _ip) -> Any:
            return _gm(dt, init_params=ip, n_init=2)

        _g.__name__ = f"GaussianMixture_{np.dtype(_dt).name}_{_ip}"
        case(_g)


for _ct in ("full", "tied", "diag", "spherical"):
    def _gs(ct: str = _ct) -> Any:  # scikit-learn's defaults (exact EM, reg_covar=1e-6)
        return _gm(np.float64, covariance_type=ct, em="sklearn", reg_covar=1e-6, max_iter=30)

    _gs.__name__ = f"GaussianMixture_sklearn_{_ct}"
    case(_gs)


@case
def GaussianMixture_user_init_bounds() -> Any:
    rng = np.random.default_rng(8)
    return _gm(np.float64, means_init=rng.normal(size=(5, 7)), covariance_lower_bound=np.full(7, 0.3),
               max_iter=7)


def _km(dtype: Any, **kw: Any) -> Any:
    import pyvl

    x = _data(dtype=dtype)
    km = pyvl.KMeans(6, random_state=0, **kw).fit(x)
    return [km.cluster_centers_, km.labels_, km.inertia_, km.n_iter_, km.predict(x[:50]),
            km.transform(x[:50]), km.score(x)]


for _dt in (np.float32, np.float64):
    for _alg in ("lloyd", "elkan", "ann"):
        def _kk(dt: Any = _dt, alg: str = _alg) -> Any:
            return _km(dt, algorithm=alg, n_init=2)

        _kk.__name__ = f"KMeans_{np.dtype(_dt).name}_{_alg}"
        case(_kk)


@case
def chunked_fits() -> Any:
    """Lists of chunks (the out-of-core path)."""
    import pyvl

    x = _data(dtype=np.float32, n=5000)
    chunks = [x[:1700], x[1700:3300], x[3300:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = pyvl.GaussianMixture(5, random_state=0, n_init=2, max_iter=20,
                                  **VLFEAT_GMM).fit(chunks)
        km = pyvl.KMeans(6, random_state=0, max_iter=20).fit(chunks)
    return _gm_attrs(gm) + [km.cluster_centers_, km.labels_, km.inertia_, km.n_iter_]


@case
def dask_fits() -> Any:
    import dask
    import dask.array as da

    import pyvl

    x = _data(dtype=np.float64, n=4000)
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = da.from_array(x, chunks=(1000, 7))
        gm = pyvl.GaussianMixture(5, random_state=0, max_iter=15, **VLFEAT_GMM).fit(X)
        km = pyvl.KMeans(6, random_state=0, max_iter=15).fit(X)
        labels = np.asarray(km.labels_.compute())
    return _gm_attrs(gm) + [km.cluster_centers_, labels, km.inertia_]


# ---- encoders, transformers, cyvlfeat ------------------------------------------------------


@case
def encoders_fit_encode() -> Any:
    import pyvl.encoders as E

    train = _data(dtype=np.float32)
    imgs = _images()
    out = []
    for name, opts in (("fisher", {"n_components": 4}), ("vlad", {"n_clusters": 4}),
                       ("bovw", {"n_clusters": 4}), ("bovw", {"n_clusters": 4, "mode": "soft", "codebook": "gmm"})):
        enc = E.get(name, random_state=0, **opts).fit(train)
        out.append(enc.encode_batch(imgs))
        out.append(enc.encode(imgs[1]))
    return out


@case
def transformers() -> Any:
    import pyvl

    train = [_data(dtype=np.float32, n=400, seed=s) for s in range(5)]
    out = []
    for cls, kw in ((pyvl.FisherVectorEncoder, {"n_components": 4}),
                    (pyvl.VladEncoder, {"n_clusters": 4}), (pyvl.BovwEncoder, {"n_clusters": 4})):
        t = cls(random_state=0, **kw).fit(train)
        out.append(t.transform(train))
    return out


@case
def cyvlfeat() -> Any:
    from pyvl.compat import cyvlfeat as C

    x = _data(dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        means, covs, priors, ll, post = C.gmm(x, n_clusters=5, max_num_iterations=20)
        centers = C.kmeans(x, 6, initialization="PLUSPLUS")
        a = C.kmeans_quantize(x, centers)
        fv = C.fisher(x[:200], means, covs, priors, improved=True)
        vl = C.vlad(x[:200], centers, np.eye(6, dtype=np.float32)[a[:200]])
    return [means, covs, priors, ll, post, centers, a, fv, vl]


@case
def model_files() -> Any:
    """Save and reload each saveable kind; the reloaded model's outputs."""
    import pyvl
    import pyvl.encoders as E

    x = _data(dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objs = [pyvl.GaussianMixture(5, random_state=0, **VLFEAT_GMM).fit(x),
                pyvl.KMeans(6, random_state=0).fit(x),
                E.get("fisher", n_components=4, random_state=0).fit(x)]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, o in enumerate(objs):
            path = os.path.join(tmp, f"m{i}.npz")
            o.save(path)
            back = type(o).load(path)
            out.append(back.predict(x[:50]) if hasattr(back, "predict") else back.encode(x[:50]))
    return out


# ---- recording ---------------------------------------------------------------------------


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, (list, tuple)):
        h.update(b"[")
        for v in value:
            _feed(h, v)
        h.update(b"]")
    elif value is None:
        h.update(b"None")
    elif isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(value, (bool, np.bool_)):
        h.update(b"T" if value else b"F")
    elif isinstance(value, (int, np.integer)):
        h.update(f"i{int(value)}".encode())
    elif isinstance(value, (float, np.floating)):
        h.update(np.float64(value).tobytes())
    else:
        raise TypeError(f"cannot hash {type(value).__name__}")


def run() -> dict[str, str]:
    import pyvl
    from pyvl import simd

    results: dict[str, str] = {}
    levels = sorted({simd.simd_level(), "scalar"}) if hasattr(simd, "simd_level") else ["default"]
    for level in levels:
        for threads in (1, 2):
            if level != "default":
                simd.set_simd_level(level)
            pyvl.vl_set_num_threads(threads)
            for name, fn in CASES.items():
                h = hashlib.sha256()
                try:
                    _feed(h, fn())
                except Exception as exc:  # an error is a result too
                    print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    h.update(f"{type(exc).__name__}: {exc}".encode())
                results[f"{name}@{level}/{threads}t"] = h.hexdigest()[:20]
    return results


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("record", "check"):
        print(__doc__)
        return 2
    got = run()
    if argv[1] == "record":
        with open(argv[2], "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
        print(f"{len(got)} results recorded in {argv[2]}")
        return 0
    with open(argv[2]) as f:
        want = json.load(f)
    changed = sorted(k for k in want if got.get(k) != want[k])
    missing = sorted(set(want) - set(got))
    for k in changed:
        print(f"CHANGED {k}" if k in got else f"MISSING {k}")
    print(f"{len(want) - len(changed)} of {len(want)} results identical"
          + (f"; {len(missing)} missing" if missing else ""))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
