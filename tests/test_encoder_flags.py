"""Every option of the encoders checked against the C function called with explicit flags.

An encoder option becomes a flag bit of a C call (``FisherEncoder(square_root=True)`` ->
``VL_FISHER_FLAG_SQUARE_ROOT``). Comparing two encoders, or an encoder with a transformer,
cannot see a wrong mapping: both go through it. Here the expected flags are built from the
bit values written in the C headers -- VLFeat's own ``vl/fisher.h`` and ``vl/vlad.h``
(Debian's libvlfeat-dev, the test oracle) and libgmm's ``vl/libgmm/encode.h`` for bags of words --
and the result of ``pyvl.encoders`` and of the scikit-learn transformers must equal
``pyvl.fisher.vl_fisher_encode`` / ``pyvl.vlad.vl_vlad_encode`` / ``pyvl.bovw.bovw_encode``
called with those flags, bit for bit, for every combination of options. A check that no
flag and each single flag give pairwise different encodings makes sure the equality has
teeth.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import image_sizes, images

import pyvl.encoders as E
from pyvl import bovw as B
from pyvl import fisher as F
from pyvl import vlad as V

VLFEAT_INCLUDE = Path("/usr/include/vl")
LIBGMM_INCLUDE = Path(__file__).resolve().parents[1] / "libgmm" / "include" / "vl"


def header_flags(path: Path, prefix: str) -> dict[str, int]:
    """The ``#define PREFIX_* <expr>`` flag values of a C header (shifts, ors, names)."""
    if not path.is_file():
        pytest.fail(f"{path} is missing (VLFeat's headers come with libvlfeat-dev, "
                    "libgmm's are in the repository)")
    values: dict[str, int] = {}
    for name, expr in re.findall(rf"#define\s+({prefix}_\w+)\s+(.+)", path.read_text()):
        expr = expr.split("/*")[0].strip()
        for known, v in values.items():
            expr = re.sub(rf"\b{known}\b", str(v), expr)
        assert re.fullmatch(r"[0-9xX|<() ]+", expr), f"{name}: cannot evaluate {expr!r}"
        values[name] = int(eval(expr, {"__builtins__": {}}))
    return {name[len(prefix) + 1 :]: v for name, v in values.items()}


FISHER = header_flags(VLFEAT_INCLUDE / "fisher.h", "VL_FISHER_FLAG")
VLAD = header_flags(VLFEAT_INCLUDE / "vlad.h", "VL_VLAD_FLAG")
BOVW = header_flags(LIBGMM_INCLUDE / "libgmm" / "encode.h", "VL_BOVW_FLAG")


def test_headers_define_the_expected_bits():
    assert set(FISHER) == {"SQUARE_ROOT", "NORMALIZED", "IMPROVED", "FAST"}
    assert FISHER["IMPROVED"] == FISHER["SQUARE_ROOT"] | FISHER["NORMALIZED"]
    assert set(VLAD) == {"NORMALIZE_COMPONENTS", "SQUARE_ROOT", "UNNORMALIZED", "NORMALIZE_MASS"}
    assert set(BOVW) == {"SOFT", "FREQUENCIES", "SQUARE_ROOT", "NORMALIZED"}


def test_python_constants_equal_the_headers():
    for name, value in FISHER.items():
        assert getattr(F, f"VL_FISHER_FLAG_{name}") == value, name
    for name, value in VLAD.items():
        assert getattr(V, f"VL_VLAD_FLAG_{name}") == value, name
    for name, value in BOVW.items():
        assert getattr(B, f"VL_BOVW_FLAG_{name}") == value, name


# ---- data ------------------------------------------------------------------------------


def gmm(k: int = 3, d: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 2
    covs = rng.uniform(0.3, 1.5, size=(k, d))
    priors = rng.dirichlet(np.ones(k) * 3)
    return means, covs, priors


def descriptors(n: int = 60, d: int = 5, seed: int = 1) -> np.ndarray:
    # offset so that the Fisher and VLAD components are not centred: square roots and
    # normalisations then change the values
    return np.random.default_rng(seed).normal(size=(n, d)) * 1.5 + 0.7


# 4 images of 20..59 descriptors
IMAGE_SIZES = image_sizes(4, low=20, seed=2, empty=None)


def nearest(centers: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One-hot rows of the nearest center (NumPy, squared L2, first minimum)."""
    d2 = ((x[:, None, :].astype(np.float64) - centers[None, :, :]) ** 2).sum(-1)
    a = np.zeros((x.shape[0], centers.shape[0]), dtype=centers.dtype)
    a[np.arange(x.shape[0]), np.argmin(d2, axis=1)] = 1
    return a


def fisher_flags(improved: bool, square_root: bool, normalized: bool, fast: bool) -> int:
    f = FISHER["IMPROVED"] if improved else 0
    f |= FISHER["SQUARE_ROOT"] if square_root else 0
    f |= FISHER["NORMALIZED"] if normalized else 0
    return f | (FISHER["FAST"] if fast else 0)


def vlad_flags(normalize_components, square_root, normalize_mass, unnormalized) -> int:
    f = VLAD["NORMALIZE_COMPONENTS"] if normalize_components else 0
    f |= VLAD["SQUARE_ROOT"] if square_root else 0
    f |= VLAD["NORMALIZE_MASS"] if normalize_mass else 0
    return f | (VLAD["UNNORMALIZED"] if unnormalized else 0)


def bovw_flags(mode, frequencies, square_root, normalized) -> int:
    f = BOVW["SOFT"] if mode == "soft" else 0
    f |= BOVW["FREQUENCIES"] if frequencies else 0
    f |= BOVW["SQUARE_ROOT"] if square_root else 0
    return f | (BOVW["NORMALIZED"] if normalized else 0)


FOUR_BOOLS = list(itertools.product([False, True], repeat=4))
THREE_BOOLS = list(itertools.product([False, True], repeat=3))


def bool_ids(names):
    return lambda v: "-".join(n for n, on in zip(names, v) if on) or "none"


# ---- the flags make a difference (so the comparisons below have teeth) -------------------
# Some combinations are equal by construction (per-component normalisation hides
# NORMALIZE_MASS; sqrt of frequencies already has norm 1), so the check is on no flag and
# each single flag, which is what a swapped or dropped flag turns one into another.


def assert_pairwise_different(encodings: dict[str, np.ndarray]) -> None:
    for (a, ea), (b, eb) in itertools.combinations(encodings.items(), 2):
        assert not np.allclose(ea, eb), f"{a} and {b} give the same encoding"


def test_each_fisher_flag_changes_the_encoding():
    m, c, p = gmm()
    x = descriptors()
    singles = {"none": 0, **{k: v for k, v in FISHER.items() if k != "IMPROVED"}}
    assert_pairwise_different({k: F.vl_fisher_encode(m, c, p, x, f) for k, f in singles.items()})


def test_each_vlad_flag_changes_the_encoding():
    centers = gmm()[0]
    x = descriptors()
    a = nearest(centers, x)
    singles = {"none": 0, **VLAD}
    assert_pairwise_different({k: V.vl_vlad_encode(centers, x, a, f) for k, f in singles.items()})


def test_each_bovw_flag_changes_the_histogram():
    centers = gmm()[0]
    x = descriptors()
    singles = {"none": 0, **BOVW}
    assert_pairwise_different(
        {k: B.bovw_encode(centers, x, 1.0 if f & BOVW["SOFT"] else None, f) for k, f in singles.items()}
    )


# ---- pyvl.encoders -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "options", FOUR_BOOLS, ids=bool_ids(["improved", "square_root", "normalized", "fast"])
)
def test_fisher_encoder_options(options, dtype):
    improved, square_root, normalized, fast = options
    m, c, p = (a.astype(dtype) for a in gmm())
    x = descriptors().astype(dtype)
    enc = E.FisherEncoder.from_gmm(
        m, c, p, improved=improved, square_root=square_root, normalized=normalized, fast=fast
    )
    expected = F.vl_fisher_encode(m, c, p, x, fisher_flags(*options))
    np.testing.assert_array_equal(enc.encode(x), expected)
    batch = enc.encode_batch([x, x[:7]])
    np.testing.assert_array_equal(batch[0], expected)
    np.testing.assert_array_equal(batch[1], F.vl_fisher_encode(m, c, p, x[:7], fisher_flags(*options)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "options",
    FOUR_BOOLS,
    ids=bool_ids(["normalize_components", "square_root", "normalize_mass", "unnormalized"]),
)
def test_vlad_encoder_options(options, dtype):
    nc, sq, nm, un = options
    centers = gmm()[0].astype(dtype)
    x = descriptors().astype(dtype)
    enc = E.VladEncoder.from_centers(
        centers, normalize_components=nc, square_root=sq, normalize_mass=nm, unnormalized=un
    )
    expected = V.vl_vlad_encode(centers, x, nearest(centers, x), vlad_flags(*options))
    np.testing.assert_array_equal(enc.encode(x), expected)


@pytest.mark.parametrize("codebook_mode", [("kmeans", "hard"), ("kmeans", "soft"), ("gmm", "hard"), ("gmm", "soft")], ids="-".join)
@pytest.mark.parametrize(
    "options", THREE_BOOLS, ids=bool_ids(["frequencies", "square_root", "normalized"])
)
def test_bovw_encoder_options(codebook_mode, options):
    codebook, mode = codebook_mode
    frequencies, square_root, normalized = options
    flags = bovw_flags(mode, *options)
    x = descriptors()
    m, c, p = gmm()
    common = dict(mode=mode, frequencies=frequencies, square_root=square_root, normalized=normalized)
    if codebook == "kmeans":
        sigma = 1.3 if mode == "soft" else None
        enc = E.BovwEncoder.from_centers(m, sigma=sigma, **common)
        expected = B.bovw_encode(m, x, sigma, flags)
    else:
        enc = E.BovwEncoder.from_gmm(m, c, p, **common)
        expected = B.bovw_encode_gmm_batch(m, c, p, [x], flags)[0]
    np.testing.assert_array_equal(enc.encode(x), expected)


# ---- the scikit-learn transformers --------------------------------------------------------

@pytest.mark.parametrize(
    "options", FOUR_BOOLS, ids=bool_ids(["improved", "square_root", "normalized", "fast"])
)
def test_fisher_transformer_options(options):
    from pyvl.transformers import FisherVectorEncoder

    improved, square_root, normalized, fast = options
    X = images(IMAGE_SIZES, 5, seed=2)
    t = FisherVectorEncoder(
        n_components=3, improved=improved, square_root=square_root, normalized=normalized,
        fast=fast, max_iter=5, dtype="float64", random_state=0,
    ).fit(X)
    out = t.transform(X)
    for row, img in zip(out, X):
        expected = F.vl_fisher_encode(t.means_, t.covariances_, t.priors_, img, fisher_flags(*options))
        np.testing.assert_array_equal(row, expected)


@pytest.mark.parametrize(
    "options",
    FOUR_BOOLS,
    ids=bool_ids(["normalize_components", "square_root", "normalize_mass", "unnormalized"]),
)
def test_vlad_transformer_options(options):
    from pyvl.transformers import VladEncoder

    nc, sq, nm, un = options
    X = images(IMAGE_SIZES, 5, seed=2)
    t = VladEncoder(
        n_clusters=3, normalize_components=nc, square_root=sq, normalize_mass=nm,
        unnormalized=un, max_iter=5, dtype="float64", random_state=0,
    ).fit(X)
    out = t.transform(X)
    centers = t.cluster_centers_
    for row, img in zip(out, X):
        expected = V.vl_vlad_encode(centers, img, nearest(centers, img), vlad_flags(*options))
        np.testing.assert_array_equal(row, expected)


@pytest.mark.parametrize("codebook_mode", [("kmeans", "hard"), ("kmeans", "soft"), ("gmm", "hard"), ("gmm", "soft")], ids="-".join)
@pytest.mark.parametrize(
    "options", THREE_BOOLS, ids=bool_ids(["frequencies", "square_root", "normalized"])
)
def test_bovw_transformer_options(codebook_mode, options):
    from pyvl.transformers import BovwEncoder

    codebook, mode = codebook_mode
    frequencies, square_root, normalized = options
    sigma = 1.3 if (codebook, mode) == ("kmeans", "soft") else None
    X = images(IMAGE_SIZES, 5, seed=2)
    t = BovwEncoder(
        n_clusters=3, mode=mode, sigma=sigma, codebook=codebook, frequencies=frequencies,
        square_root=square_root, normalized=normalized, max_iter=5, dtype="float64",
        random_state=0,
    ).fit(X)
    out = t.transform(X)
    flags = bovw_flags(mode, *options)
    if codebook == "kmeans":
        expected = B.bovw_encode_batch(t.cluster_centers_, X, sigma, flags)
    else:
        expected = B.bovw_encode_gmm_batch(t.means_, t.covariances_, t.priors_, X, flags)
    np.testing.assert_array_equal(out, expected)
